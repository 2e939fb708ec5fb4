from urllib.parse import parse_qsl

import msgspec
import pytest

import news_api

SECRET = "s3cret-for-tests-0123456789"


class TestOffsetPage:
    def test_middle_page_envelope(self):
        """A middle page has meta with computed pages and all five links."""
        response = news_api.offset_page(
            [{"id": 3}, {"id": 4}], page=2, per_page=2, total=5, base_url="/v1/articles"
        )
        assert response.status == 200
        assert response.json() == {
            "data": [{"id": 3}, {"id": 4}],
            "meta": {"page": 2, "per_page": 2, "total": 5, "pages": 3},
            "links": {
                "self": "/v1/articles?page=2&per_page=2",
                "first": "/v1/articles?page=1&per_page=2",
                "prev": "/v1/articles?page=1&per_page=2",
                "next": "/v1/articles?page=3&per_page=2",
                "last": "/v1/articles?page=3&per_page=2",
            },
        }

    def test_other_query_parameters_are_preserved_in_place(self):
        """Filters stay, in their order; page and per_page are replaced where they were."""
        links = news_api.offset_links(
            page=1,
            per_page=10,
            total=30,
            base_url="https://api.example/v1/articles",
            query="section=world&page=1&tag=a&tag=b&q=climate%20change",
        )
        assert links["next"] == (
            "https://api.example/v1/articles?section=world&page=2&tag=a&tag=b"
            "&q=climate%20change&per_page=10"
        )

    def test_query_as_mapping_with_lists(self):
        """A mapping query (values str or list) is accepted."""
        links = news_api.offset_links(
            page=1, per_page=5, total=6, base_url="/a", query={"tag": ["x", "y"], "q": "z"}
        )
        assert links["next"] == "/a?tag=x&tag=y&q=z&page=2&per_page=5"

    def test_base_url_query_and_fragment(self):
        """A query in base_url is kept and a fragment is dropped."""
        links = news_api.offset_links(
            page=1, per_page=5, total=6, base_url="/a?lang=en#top", query=[("q", "z")]
        )
        assert links["next"] == "/a?lang=en&q=z&page=2&per_page=5"

    def test_duplicate_page_parameters_collapse(self):
        """A repeated page parameter appears once in links."""
        links = news_api.offset_links(
            page=1, per_page=5, total=6, base_url="/a", query="page=1&page=9"
        )
        assert links["self"] == "/a?page=1&per_page=5"

    def test_first_page_has_no_prev(self):
        """Page 1 has no prev link."""
        links = news_api.offset_links(page=1, per_page=10, total=25, base_url="/a")
        assert "prev" not in links
        assert links["next"] == "/a?page=2&per_page=10"

    def test_last_page_has_no_next(self):
        """The last page has no next link."""
        links = news_api.offset_links(page=3, per_page=10, total=25, base_url="/a")
        assert "next" not in links
        assert links["last"] == "/a?page=3&per_page=10"

    def test_empty_collection(self):
        """An empty collection has 0 pages, links to page 1, no prev/next."""
        response = news_api.offset_page([], page=1, per_page=10, total=0, base_url="/a")
        body = response.json()
        assert body["meta"] == {"page": 1, "per_page": 10, "total": 0, "pages": 0}
        assert body["links"] == {
            "self": "/a?page=1&per_page=10",
            "first": "/a?page=1&per_page=10",
            "last": "/a?page=1&per_page=10",
        }

    def test_page_past_the_end(self):
        """Past the end, prev points at the last page and there is no next."""
        links = news_api.offset_links(page=9, per_page=10, total=25, base_url="/a")
        assert links["prev"] == "/a?page=3&per_page=10"
        assert "next" not in links

    def test_exact_multiple(self):
        """A total that is a multiple of per_page gives exactly total/per_page pages."""
        body = news_api.offset_page([], page=1, per_page=10, total=30, base_url="/a").json()
        assert body["meta"]["pages"] == 3

    def test_custom_parameter_names(self):
        """page_param / per_page_param rename the link parameters."""
        links = news_api.offset_links(
            page=1, per_page=5, total=6, base_url="/a", page_param="p", per_page_param="size"
        )
        assert links["next"] == "/a?p=2&size=5"

    @pytest.mark.parametrize(("page", "per_page", "total"), [(0, 10, 5), (1, 0, 5), (1, 10, -1)])
    def test_bad_arguments(self, page, per_page, total):
        """page/per_page below 1 or a negative total are programming errors."""
        with pytest.raises(ValueError, match=">= 1"):
            news_api.offset_page([], page=page, per_page=per_page, total=total, base_url="/a")

    def test_special_characters_are_escaped(self):
        """Values with &, = and non-ASCII are percent-encoded in links."""
        links = news_api.offset_links(
            page=1, per_page=1, total=2, base_url="/a", query={"q": "a&b=c ü"}
        )
        assert links["next"] == "/a?q=a%26b%3Dc%20%C3%BC&page=2&per_page=1"


class TestPageParams:
    def test_defaults(self):
        """No parameters give page 1 and the default size."""
        params = news_api.page_params("")
        assert params == news_api.PageParams(page=1, per_page=20)
        assert (params.offset, params.limit) == (0, 20)

    def test_values_and_offset(self):
        """Given values are parsed; offset is (page-1)*per_page."""
        params = news_api.page_params({"page": "3", "per_page": "25"})
        assert (params.page, params.per_page, params.offset, params.limit) == (3, 25, 50, 25)

    def test_empty_values_take_defaults(self):
        """Empty values count as absent."""
        assert news_api.page_params("page=&per_page=") == news_api.PageParams(1, 20)

    def test_invalid_values_are_reported_together(self):
        """Non-integers and out-of-range values are one ValidationFailed naming each parameter."""
        with pytest.raises(news_api.ValidationFailed) as info:
            news_api.page_params("page=0&per_page=500", max_per_page=100)
        assert info.value.errors == [
            news_api.FieldError("page", "must be an integer >= 1"),
            news_api.FieldError("per_page", "must be an integer between 1 and 100"),
        ]

    @pytest.mark.parametrize("raw", ["abc", "-1", "1.5", "\u0661", "99999999999999999999999"])
    def test_garbage_is_rejected(self, raw):
        """Signs, decimals, non-ASCII digits and huge numbers are rejected."""
        with pytest.raises(news_api.ValidationFailed):
            news_api.page_params({"page": raw})


class TestCursorPage:
    def test_envelope_with_next(self):
        """A cursor page has meta.next_cursor and links.self/next keeping other params."""
        response = news_api.cursor_page(
            [{"id": 9}],
            next_cursor="abc.def",
            base_url="/v1/articles",
            query="section=world&cursor=old.tag&limit=1",
            meta={"limit": 1},
        )
        assert response.json() == {
            "data": [{"id": 9}],
            "meta": {"next_cursor": "abc.def", "limit": 1},
            "links": {
                "self": "/v1/articles?section=world&cursor=old.tag&limit=1",
                "next": "/v1/articles?section=world&cursor=abc.def&limit=1",
            },
        }

    def test_last_page(self):
        """On the last page next_cursor is null and there is no next link."""
        body = news_api.cursor_page([], next_cursor=None, base_url="/a").json()
        assert body == {"data": [], "meta": {"next_cursor": None}, "links": {"self": "/a"}}

    def test_prev_cursor(self):
        """A prev cursor adds meta.prev_cursor and links.prev."""
        body = news_api.cursor_page(
            [], next_cursor=None, prev_cursor="p.q", base_url="/a", query="limit=5"
        ).json()
        assert body["meta"] == {"next_cursor": None, "prev_cursor": "p.q"}
        assert body["links"]["prev"] == "/a?limit=5&cursor=p.q"


class Position(msgspec.Struct, frozen=True):
    published: str
    id: int


class TestCursorParams:
    def test_first_page(self):
        """Without a cursor, position is None and limit the default."""
        codec = news_api.CursorCodec(SECRET)
        assert news_api.cursor_params("", codec) == news_api.CursorParams(None, 20)

    def test_round_trip_through_a_link(self):
        """A cursor from cursor_page's next link decodes back to the typed position."""
        codec = news_api.CursorCodec(SECRET)
        token = codec.encode(Position("2026-11-24", 7))
        next_link = news_api.cursor_page(
            [], next_cursor=token, base_url="/a", query="limit=5"
        ).json()["links"]["next"]
        query = next_link.split("?", 1)[1]
        params = news_api.cursor_params(query, codec, type_=Position)
        assert params == news_api.CursorParams(Position("2026-11-24", 7), 5)

    def test_bad_limit(self):
        """A bad limit is ValidationFailed naming limit."""
        codec = news_api.CursorCodec(SECRET)
        with pytest.raises(news_api.ValidationFailed) as info:
            news_api.cursor_params({"limit": "1000"}, codec, max_limit=50)
        assert info.value.errors == [
            news_api.FieldError("limit", "must be an integer between 1 and 50")
        ]

    def test_tampered_cursor(self):
        """A tampered cursor in the query is InvalidCursor (400)."""
        codec = news_api.CursorCodec(SECRET)
        with pytest.raises(news_api.InvalidCursor):
            news_api.cursor_params({"cursor": "WzFd.AAAAAAAAAAAAAAAAAAAAAA"}, codec)


class TestFrameworkQueries:
    """Robyn's QueryParams (the real one, from the installed robyn) works as it is."""

    @staticmethod
    def robyn_query(*pairs: tuple[str, str]):
        """A robyn QueryParams holding *pairs*, as a handler's request.query_params would."""
        from robyn.robyn import QueryParams

        query = QueryParams()
        for name, value in pairs:
            query.set(name, value)
        return query

    def test_page_params_reads_robyn_query_params(self):
        """page_params takes request.query_params; bad values are 422s naming the parameter."""
        query = self.robyn_query(("page", "3"), ("per_page", "5"), ("tag", "a"))
        assert news_api.page_params(query) == news_api.PageParams(3, 5)
        with pytest.raises(news_api.ValidationFailed) as info:
            news_api.page_params(self.robyn_query(("per_page", "500")))
        assert [e.field for e in info.value.errors] == ["per_page"]

    def test_cursor_params_reads_robyn_query_params(self):
        """cursor_params decodes the cursor and the limit from request.query_params."""
        codec = news_api.CursorCodec(b"0123456789abcdef0123456789abcdef")
        query = self.robyn_query(("cursor", codec.encode(42)), ("limit", "7"))
        assert news_api.cursor_params(query, codec) == news_api.CursorParams(42, 7)

    def test_links_keep_every_other_parameter(self):
        """Repeated and other parameters of a Robyn query are carried into every link."""
        query = self.robyn_query(("tag", "a"), ("page", "2"), ("tag", "b"), ("q", "x y"))
        body = news_api.offset_page(
            [1], page=2, per_page=1, total=3, base_url="/v1/items", query=query
        ).json()
        path, _, next_query = body["links"]["next"].partition("?")
        assert path == "/v1/items"
        assert sorted(parse_qsl(next_query)) == [
            ("page", "3"),
            ("per_page", "1"),
            ("q", "x y"),
            ("tag", "a"),
            ("tag", "b"),
        ]
        page = news_api.cursor_page([1], next_cursor="n", base_url="/v1/items", query=query)
        _, _, cursor_query = page.json()["links"]["next"].partition("?")
        assert sorted(parse_qsl(cursor_query)) == [
            ("cursor", "n"),
            ("page", "2"),
            ("q", "x y"),
            ("tag", "a"),
            ("tag", "b"),
        ]

    def test_get_all_shaped_queries_work_too(self):
        """An object with keys() and get_all() (and no multi_items) is read the same way."""

        class Multi:
            def keys(self):
                """The names."""
                return ["page", "tag"]

            def get_all(self, key):
                """Every value of a name."""
                return {"page": ["2"], "tag": ["a", "b"]}[key]

        assert news_api.page_params(Multi()) == news_api.PageParams(2, 20)

    def test_other_objects_are_refused_clearly(self):
        """Something that is no query says what a query may be."""
        with pytest.raises(news_api.APITypeError, match="multi_items"):
            news_api.page_params(42)  # type: ignore[arg-type]


class TestOffsetPageMeta:
    def test_extra_meta_members_follow_the_page_meta(self):
        """offset_page(meta=) adds members after page, per_page, total and pages."""
        body = news_api.offset_page(
            [], page=1, per_page=10, total=0, base_url="/x", meta={"sort": "-published"}
        ).json()
        assert body["meta"] == {
            "page": 1,
            "per_page": 10,
            "total": 0,
            "pages": 0,
            "sort": "-published",
        }

    @pytest.mark.parametrize("name", ["page", "per_page", "total", "pages"])
    def test_meta_cannot_overwrite_the_page_members(self, name):
        """A meta member named like a PageMeta field is a usage error, not a silent overwrite."""
        with pytest.raises(news_api.APIUsageError, match=name):
            news_api.offset_page([], page=1, per_page=10, total=0, base_url="/x", meta={name: 0})

    def test_cursor_page_meta_cannot_overwrite_next_cursor(self):
        """cursor_page's meta= cannot replace next_cursor either."""
        with pytest.raises(news_api.APIUsageError, match="next_cursor"):
            news_api.cursor_page([], next_cursor=None, base_url="/x", meta={"next_cursor": "x"})
