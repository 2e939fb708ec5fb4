import datetime as dt
import decimal
import enum
import re
import uuid

import msgspec

import news_log

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class Colour(enum.Enum):
    RED = "red"


class Author(msgspec.Struct):
    name: str
    password: str


class TestJsonLines:
    def test_line_has_core_keys_then_fields(self, read_lines):
        """A line is one JSON object with ts, level, logger, msg first and the call's fields."""
        news_log.get_logger("newsroom.api").info("article published", article_id=7, section="w")
        (line,) = read_lines()
        assert list(line)[:4] == ["ts", "level", "logger", "msg"]
        assert line["level"] == "info"
        assert line["logger"] == "newsroom.api"
        assert line["msg"] == "article published"
        assert line["article_id"] == 7
        assert line["section"] == "w"

    def test_timestamp_is_rfc3339_utc_milliseconds(self, read_lines):
        """The timestamp is RFC 3339 in UTC with milliseconds and close to now."""
        before = dt.datetime.now(dt.UTC)
        news_log.get_logger("t").info("x")
        (line,) = read_lines()
        assert TS.match(line["ts"]), line["ts"]
        parsed = dt.datetime.fromisoformat(line["ts"].replace("Z", "+00:00"))
        assert abs((parsed - before).total_seconds()) < 5

    def test_every_level_has_its_name(self, read_lines):
        """Each method writes its own level name."""
        log = news_log.get_logger("levels")
        log.debug("d")
        log.info("i")
        log.warning("w")
        log.error("e")
        log.critical("c")
        log.log("warning", "l")
        assert [(x["level"], x["msg"]) for x in read_lines()] == [
            ("debug", "d"),
            ("info", "i"),
            ("warning", "w"),
            ("error", "e"),
            ("critical", "c"),
            ("warning", "l"),
        ]

    def test_exception_is_type_message_stack(self, read_lines):
        """log.exception() adds {"type", "message", "stack"} of the exception being handled."""
        log = news_log.get_logger("errors")
        try:
            raise KeyError("article 7")
        except KeyError:
            log.exception("lookup failed", article_id=7)
        (line,) = read_lines()
        assert line["level"] == "error"
        exc = line["exception"]
        assert exc["type"] == "KeyError"
        assert exc["message"] == "'article 7'"
        assert "Traceback (most recent call last)" in exc["stack"]
        assert 'raise KeyError("article 7")' in exc["stack"]

    def test_exc_info_accepts_an_exception_object(self, read_lines):
        """error(exc_info=exc) renders that exception with its module-qualified type."""
        news_log.get_logger("e").error("failed", exc_info=msgspec.ValidationError("bad"))
        (line,) = read_lines()
        assert line["exception"]["type"] == "msgspec.ValidationError"
        assert line["exception"]["message"] == "bad"

    def test_non_json_values_are_rendered(self, read_lines):
        """datetime, UUID, Decimal, Enum, Struct, bytes, sets and arbitrary objects are rendered."""
        ident = uuid.UUID("12345678-1234-5678-1234-567812345678")

        class Opaque:
            def __str__(self) -> str:
                return "opaque!"

        news_log.get_logger("v").info(
            "values",
            when=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
            day=dt.date(2026, 1, 2),
            ident=ident,
            price=decimal.Decimal("1.50"),
            colour=Colour.RED,
            author=Author(name="Ada", password="pw"),
            raw=b"caf\xc3\xa9 \xff",
            tags={"a"},
            thing=Opaque(),
        )
        (line,) = read_lines()
        assert line["when"] == "2026-01-02T03:04:05Z"
        assert line["day"] == "2026-01-02"
        assert line["ident"] == str(ident)
        assert line["price"] == "1.50"
        assert line["colour"] == "red"
        assert line["author"] == {"name": "Ada", "password": "***"}
        assert line["raw"] == "café \\xff"
        assert line["tags"] == ["a"]
        assert line["thing"] == "opaque!"

    def test_logging_never_raises_on_broken_values(self, read_lines):
        """A value whose __str__ raises, or a dict with unencodable keys, still gives a line."""

        class Broken:
            def __str__(self) -> str:
                raise RuntimeError("no")

        log = news_log.get_logger("broken")
        log.info("first", value=Broken())
        log.info("second", mapping={(1, 2): "tuple key"})
        lines = read_lines()
        assert [x["msg"] for x in lines] == ["first", "second"]
        assert lines[0]["value"] == "<unprintable Broken>"
        assert lines[1]["mapping"] == {"(1, 2)": "tuple key"}

    def test_fields_named_like_core_keys_are_kept_aside(self, read_lines):
        """A field called msg/level/ts/logger cannot overwrite the line's own; it becomes _name."""
        news_log.get_logger("core").info("real", msg="fake", level="fake", ts=1, logger="x")
        (line,) = read_lines()
        assert line["msg"] == "real"
        assert line["level"] == "info"
        assert line["logger"] == "core"
        assert (line["_msg"], line["_level"], line["_ts"], line["_logger"]) == (
            "fake",
            "fake",
            1,
            "x",
        )

    def test_static_fields_are_on_every_line(self, tmp_path):
        """LogSettings.fields (service name, version) appear on every line."""
        path = tmp_path / "static.log"
        news_log.setup(
            news_log.LogSettings(format="json", output=str(path), fields={"service": "newsroom"})
        )
        try:
            news_log.get_logger("s").info("one")
            news_log.get_logger("s").info("two", service="override")
            news_log.flush()
            lines = [msgspec.json.decode(x) for x in path.read_bytes().splitlines()]
        finally:
            news_log.setup(news_log.LogSettings(format="json"))
        assert lines[0]["service"] == "newsroom"
        assert lines[1]["service"] == "override"

    def test_logger_bind_adds_fields_to_its_lines(self, read_lines):
        """Logger.bind() returns a logger whose lines carry the bound fields."""
        log = news_log.get_logger("pub").bind(topic="articles", api_key="k")
        log.info("sent", offset=3)
        news_log.get_logger("pub").info("plain")
        first, second = read_lines()
        assert (first["topic"], first["offset"], first["api_key"]) == ("articles", 3, "***")
        assert "topic" not in second

    def test_get_logger_caches_by_name(self):
        """get_logger returns the same instance for the same name."""
        assert news_log.get_logger("same") is news_log.get_logger("same")
        assert news_log.get_logger("same") is not news_log.get_logger("other")
