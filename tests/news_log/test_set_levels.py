"""Levels that change while the process runs: `set_levels`, and `setup` with only levels changed."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

import news_log

if TYPE_CHECKING:
    from pathlib import Path

    from conftest import ReadLines  # type: ignore[import-not-found]


class TestSetLevels:
    def test_new_level_applies_to_existing_loggers(
        self, log_path: Path, read_lines: ReadLines
    ) -> None:
        """A logger made before the change follows it from its next line."""
        log = news_log.get_logger("svc.live")
        news_log.set_levels("warning")
        log.info("hidden")
        log.warning("shown")
        news_log.set_levels("debug")
        log.debug("debug now")
        events = [line["msg"] for line in read_lines() if line["logger"] == "svc.live"]
        assert events == ["shown", "debug now"]

    def test_per_logger_levels_replace_the_old_ones(
        self, log_path: Path, read_lines: ReadLines
    ) -> None:
        """levels= replaces the per-logger map, for news-log and captured stdlib loggers."""
        news_log.set_levels("info", {"noisy": "error"})
        news_log.get_logger("noisy.part").warning("hidden")
        logging.getLogger("noisy.lib").warning("hidden too")
        news_log.set_levels(levels={"other": "error"})
        news_log.get_logger("noisy.part").warning("shown")
        logging.getLogger("noisy.lib").warning("shown too")
        events = [line["msg"] for line in read_lines() if line["logger"].startswith("noisy")]
        assert events == ["shown", "shown too"]
        assert logging.getLogger("noisy").level == logging.NOTSET

    def test_the_writer_stays(self, log_path: Path, read_lines: ReadLines) -> None:
        """Changing levels keeps the output: lines before and after land in order, none lost."""
        log = news_log.get_logger("svc.order")
        for i in range(200):
            log.info("line", i=i)
            if i % 50 == 0:
                news_log.set_levels("debug" if i % 100 == 0 else "info")
        settings = news_log.LogSettings(
            format="json", output=str(log_path), level="warning", levels={"asyncio": "warning"}
        )
        news_log.setup(settings)  # only the level differs: a level switch, not a new writer
        log.warning("after setup")
        lines = [line for line in read_lines() if line["logger"] == "svc.order"]
        assert [line.get("i") for line in lines[:-1]] == list(range(200))
        assert lines[-1]["msg"] == "after setup"

    def test_unknown_level_is_refused(self, log_path: Path) -> None:
        """A level name that does not exist raises ValueError and changes nothing."""
        with pytest.raises(ValueError, match="'loud' is not one of"):
            news_log.set_levels("loud")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="'verbose'"):
            news_log.set_levels(levels={"x": "verbose"})  # type: ignore[dict-item]
        assert news_log.get_logger("svc").is_enabled("debug")

    def test_live_fields_are_marked(self) -> None:
        """LogSettings marks level and levels live for news_config.watch, and nothing else."""
        import msgspec
        from msgspec import inspect as mi

        live = set()
        for field in msgspec.structs.fields(news_log.LogSettings):
            info = mi.type_info(field.type)
            if isinstance(info, mi.Metadata) and (info.extra or {}).get("live") is True:
                live.add(field.name)
        assert live == {"level", "levels"}
