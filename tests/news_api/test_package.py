"""news-api's surface: one error root, public modules, and the pinned API snapshot.

After a deliberate API change, say it in packages/news-api/CHANGELOG.md and regenerate:

    hatch run python tools/api_surface.py news_api --update
"""

from __future__ import annotations

import inspect
import runpy
from pathlib import Path

import msgspec
import pytest

import news_api

SURFACE = runpy.run_path(str(Path(__file__).parents[2] / "tools" / "api_surface.py"))


class TestErrors:
    def test_everything_raised_is_a_news_api_error(self):
        """HTTP problems and misuse share the root NewsAPIError; misuse keeps its stdlib base."""
        assert issubclass(news_api.APIError, news_api.NewsAPIError)
        assert issubclass(news_api.NotFound, news_api.NewsAPIError)
        assert issubclass(news_api.APIUsageError, ValueError)
        assert issubclass(news_api.APITypeError, TypeError)

    @pytest.mark.parametrize(
        "call",
        [
            lambda: news_api.CursorCodec("short"),
            lambda: news_api.CursorCodec("0123456789abcdef", max_age=0),
            lambda: news_api.offset_links(page=0, per_page=1, total=0, base_url="/"),
            lambda: news_api.ok({}, headers={"x": "a\nb"}),
            lambda: news_api.TooManyRequests(retry_after=-1),
            lambda: news_api.set_problem_type_base(""),
        ],
    )
    def test_misuse_raises_api_usage_error(self, call):
        """Library misuse raises APIUsageError (never a plain ValueError)."""
        with pytest.raises(news_api.APIUsageError):
            call()

    def test_bad_subclass_raises_api_type_error(self):
        """An APIError subclass with a bad status is an APITypeError."""
        with pytest.raises(news_api.APITypeError, match="400-599"):

            class Bad(news_api.APIError):
                status = 200


class TestSurface:
    def test_public_names_report_the_package(self):
        """Every public class and function but the Structs says news_api is its module."""
        for name in news_api.__all__:
            obj = getattr(news_api, name)
            if isinstance(obj, type) and issubclass(obj, msgspec.Struct):
                # msgspec resolves a Struct's annotations in the module it names
                assert msgspec.json.decode(b"{}", type=dict[str, obj] | None) == {}  # type: ignore[valid-type]
                continue
            if inspect.isclass(obj) or inspect.isfunction(obj):
                assert obj.__module__ == "news_api", name

    def test_public_api_matches_the_snapshot(self):
        """news_api's public names and signatures are those of tests/news_api/api_surface.txt."""
        previous = news_api.problem_type_base()  # problem types derive from it: the default
        news_api.set_problem_type_base(news_api.DEFAULT_PROBLEM_TYPE_BASE)
        try:
            SURFACE["assert_matches"]("news_api")
        finally:
            news_api.set_problem_type_base(previous)
