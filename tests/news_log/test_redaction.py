from pathlib import Path

import msgspec
import pytest

import news_log


class TestRedaction:
    def test_secret_looking_keys_are_masked_at_any_depth(self, read_lines):
        """password/token/authorization/api_key/cookie/secret values become *** however deep."""
        news_log.get_logger("r").info(
            "request",
            password="p",
            headers={"Authorization": "Bearer x", "X-Api-Key": "k", "Accept": "json"},
            nested={"level1": {"level2": [{"db_password": "p2", "keep": 1}]}},
            cookies=["a=b"],
            client_secret="s",
            refresh_token="t",
        )
        (line,) = read_lines()
        assert line["password"] == "***"
        assert line["headers"] == {"Authorization": "***", "X-Api-Key": "***", "Accept": "json"}
        assert line["nested"] == {"level1": {"level2": [{"db_password": "***", "keep": 1}]}}
        assert line["cookies"] == "***"
        assert line["client_secret"] == "***"
        assert line["refresh_token"] == "***"

    def test_bound_context_is_redacted_too(self, read_lines):
        """Secrets bound into the context are masked on every line."""
        with news_log.bind(request_id="r", session_token="abc"):
            news_log.get_logger("r").info("x")
        (line,) = read_lines()
        assert line["session_token"] == "***"
        assert line["request_id"] == "r"

    def test_redact_keys_are_configurable(self, tmp_path):
        """LogSettings.redact_keys replaces the default list."""
        path = tmp_path / "custom.log"
        news_log.setup(news_log.LogSettings(format="json", output=str(path), redact_keys=("ssn",)))
        try:
            news_log.get_logger("r").info("x", customer_ssn="123", password="visible-now")
            news_log.flush()
            line = msgspec.json.decode(path.read_bytes())
        finally:
            news_log.setup(news_log.LogSettings(format="json"))
        assert line["customer_ssn"] == "***"
        assert line["password"] == "visible-now"

    def test_news_config_secret_is_never_revealed(self, read_lines):
        """A news_config.Secret logged under any key, or inside a settings Struct, is masked."""
        from news_config import Secret

        class DbSettings(msgspec.Struct, frozen=True):
            dsn: str
            credential: Secret

        secret = Secret("hunter2")
        news_log.get_logger("r").info(
            "connecting", value=secret, settings=DbSettings(dsn="pg://x", credential=secret)
        )
        news_log.get_logger("r").info("plain text of %s" % secret)  # noqa: UP031
        lines = read_lines()
        assert "hunter2" not in repr(lines)
        assert lines[0]["settings"]["dsn"] == "pg://x"


class TestRedactionHoldsEveryTime:
    def test_a_secret_key_is_masked_on_every_call(self, read_lines):
        """The second and third `password=` are masked too (the per-key verdict is cached)."""
        log = news_log.get_logger("r")
        for n in range(3):
            log.info("login", user="ada", password=f"p{n}")
        log.info("login", password="p3")
        lines = read_lines()
        assert [line["password"] for line in lines] == ["***"] * 4
        assert all("_password" not in line for line in lines)  # not also kept aside
        assert "p1" not in repr(lines)
        assert [line.get("user") for line in lines] == ["ada", "ada", "ada", None]

    def test_a_key_seen_plain_stays_plain_and_secrets_next_to_it_are_masked(self, read_lines):
        """Known plain keys beside a secret one: the secret is masked, the rest kept as is."""
        log = news_log.get_logger("r")
        log.info("a", user="ada", section="world")
        log.info("b", user="ada", section="world", api_key="k1")
        log.info("c", user="ada", section="world", api_key="k2")
        with news_log.bind(user="ada", session_token="t1"):
            log.info("d")
            log.info("e")
        lines = read_lines()
        assert [line.get("api_key") for line in lines] == [None, "***", "***", None, None]
        assert [line.get("session_token") for line in lines] == [None, None, None, "***", "***"]
        assert all(line["user"] == "ada" for line in lines)

    def test_bound_loggers_mask_on_every_line(self, read_lines):
        """Logger.bind() masks secret fields once and for all lines of that logger."""
        log = news_log.get_logger("r").bind(token="t", user="ada")
        log.info("one")
        log.info("two", token="again")
        lines = read_lines()
        assert [line["token"] for line in lines] == ["***", "***"]
        assert lines[0]["user"] == "ada"

    def test_field_named_like_a_core_key_is_kept_aside(self, read_lines):
        """A field named like a core key (msg, level...) is written as `_<name>`, every time."""
        log = news_log.get_logger("r")
        for _ in range(2):
            log.info("real", msg="field", level=3, logger={"password": "p"})
        lines = read_lines()
        for line in lines:
            assert (line["msg"], line["level"], line["logger"]) == ("real", "info", "r")
            assert line["_msg"] == "field"
            assert line["_level"] == 3
            assert line["_logger"] == {"password": "***"}


class TestRedactionOfContainers:
    def test_dict_subclasses_are_walked(self, read_lines):
        """OrderedDict, defaultdict and other dict subclasses are masked like dicts."""
        from collections import OrderedDict, defaultdict

        class Headers(dict):
            pass

        default: defaultdict[str, list[str]] = defaultdict(list)
        default["Cookie"].append("sid=1")
        default["accept"].append("json")
        news_log.get_logger("r").info(
            "x",
            ordered=OrderedDict([("password", "p"), ("keep", 1)]),
            default=default,
            custom=Headers({"Authorization": "Bearer t", "nested": Headers(token="t")}),
        )
        (line,) = read_lines()
        assert line["ordered"] == {"password": "***", "keep": 1}
        assert line["default"] == {"Cookie": "***", "accept": ["json"]}
        assert line["custom"] == {"Authorization": "***", "nested": {"token": "***"}}

    def test_sequences_and_sets_are_walked(self, read_lines):
        """Lists, tuples, sets and frozensets are walked for nested secrets."""
        news_log.get_logger("r").info(
            "x",
            as_tuple=({"token": "t"}, 1),
            as_set=frozenset({("a", 1)}),
            mixed=[[{"secret": "s", "ok": True}]],
        )
        (line,) = read_lines()
        assert line["as_tuple"] == [{"token": "***"}, 1]
        assert line["as_set"] == [["a", 1]]
        assert line["mixed"] == [[{"secret": "***", "ok": True}]]

    def test_non_string_keys_are_kept_and_rendered(self, read_lines):
        """Int keys stay keys; other keys become their str(); values under them are walked."""
        news_log.get_logger("r").info("x", by_id={7: {"token": "t"}, (1, 2): "pair"})
        (line,) = read_lines()
        assert line["by_id"] == {"7": {"token": "***"}, "(1, 2)": "pair"}

    def test_a_self_referencing_value_is_cut_at_the_depth_cap(self, read_lines):
        """A value containing itself is written up to 20 levels, then "<too deep>"."""
        loop: dict[str, object] = {"name": "loop"}
        loop["self"] = loop
        chain: list[object] = []
        chain.append(chain)
        news_log.get_logger("r").info("x", loop=loop, chain=chain)
        (line,) = read_lines()
        node = line["loop"]
        for _ in range(20):
            assert node["name"] == "loop"
            node = node["self"]
        assert node == {"name": "loop", "self": "<too deep>"}
        seq = line["chain"]
        for _ in range(20):
            seq = seq[0]
        assert seq == ["<too deep>"]

    def test_secrets_below_deep_plain_nesting_are_masked(self, read_lines):
        """Secrets nested 20 levels deep (the cap) are still masked, not cut or shown."""
        value: object = {"password": "deep", "keep": "k"}
        for _ in range(19):
            value = {"wrap": value}
        news_log.get_logger("r").info("x", deep=value)
        (line,) = read_lines()
        node = line["deep"]
        for _ in range(19):
            node = node["wrap"]
        assert node == {"password": "***", "keep": "k"}

    def test_structs_are_walked_with_their_field_names(self, read_lines):
        """A msgspec Struct's fields are walked like a dict's keys."""

        class Credentials(msgspec.Struct):
            user: str
            password: str
            extra: dict[str, str]

        news_log.get_logger("r").info(
            "x", creds=Credentials("ada", "p", {"api-key": "k", "region": "eu"})
        )
        (line,) = read_lines()
        assert line["creds"] == {
            "user": "ada",
            "password": "***",
            "extra": {"api-key": "***", "region": "eu"},
        }

    def test_bytes_and_exceptions_are_rendered(self, read_lines):
        """Bytes are decoded (bad bytes escaped), exceptions written as "Type: message"."""
        news_log.get_logger("r").info(
            "x",
            raw=b"ok\xff",
            buf=bytearray(b"b"),
            view=memoryview(b"v"),
            err=ValueError("bad"),
            nested=[b"n"],
        )
        (line,) = read_lines()
        assert line["raw"] == "ok\\xff"
        assert (line["buf"], line["view"], line["nested"]) == ("b", "v", ["n"])
        assert line["err"] == "ValueError: bad"


class LeakySecret:
    """Follows the structural secret protocol; its str() and repr() reveal the value."""

    __news_secret__ = True

    def __init__(self, value: str) -> None:
        self.value = value

    def __str__(self) -> str:
        return self.value

    __repr__ = __str__


class UnprintableStr(str):
    """A str whose repr() raises."""

    __slots__ = ()

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class NotASecret:
    """`__news_secret__` set to something other than True: not a secret (the platform's rule)."""

    __news_secret__ = "yes"

    def __str__(self) -> str:
        return "shown"


class TestStructuralSecrets:
    def test_a_secret_whose_str_reveals_it_is_masked_everywhere(self, read_lines):
        """An object with `__news_secret__ = True` is masked whatever its str() says."""
        leak = LeakySecret("hunter2")

        class Settings(msgspec.Struct):
            dsn: str
            credential: object

        class Dictish(dict):
            __news_secret__ = True

        news_log.get_logger("r").info(
            "x",
            plain_key=leak,
            in_list=[leak, "ok"],
            in_dict={"note": leak},
            in_struct=Settings("pg://x", leak),
            wrapped=Dictish(visible="hunter2"),
        )
        with news_log.bind(ctx_value=leak):
            news_log.get_logger("r").info("y")
        news_log.get_logger("r").bind(bound_value=leak).info("z")
        lines = read_lines()
        assert "hunter2" not in repr(lines)
        first = lines[0]
        assert first["plain_key"] == "***"
        assert first["in_list"] == ["***", "ok"]
        assert first["in_dict"] == {"note": "***"}
        assert first["in_struct"] == {"dsn": "pg://x", "credential": "***"}
        assert first["wrapped"] == "***"
        assert lines[1]["ctx_value"] == "***"
        assert lines[2]["bound_value"] == "***"

    def test_a_truthy_marker_other_than_true_is_not_a_secret(self, read_lines):
        """Only `__news_secret__ is True` makes a secret; such objects are logged as str()."""
        news_log.get_logger("r").info("x", value=NotASecret())
        (line,) = read_lines()
        assert line["value"] == "shown"


class TestKeyMatching:
    @pytest.mark.parametrize(
        "key",
        [
            "password",
            "db_passwd",
            "client_secret",
            "refresh_token",
            "proxy_authorization",
            "stripe_api_key",
            "APIKEY",
            "set_cookie",
        ],
    )
    def test_each_default_pattern_masks(self, read_lines, key):
        """Every default redact key masks a field containing it, in any case."""
        news_log.get_logger("r").info("x", **{key: "v"})
        (line,) = read_lines()
        assert line[key] == "***"

    def test_dashes_and_underscores_are_the_same(self, tmp_path):
        """Configured patterns and keys match with `-` read as `_`, in any case, both ways."""
        path = tmp_path / "custom.log"
        settings = news_log.LogSettings(
            format="json", output=str(path), redact_keys=("session_id", "Card-Number", "")
        )
        news_log.setup(settings)
        try:
            news_log.get_logger("r").info(
                "x",
                headers={"X-Session-Id": "s", "x-card-number": "c", "X-Other": "o"},
                user_session_id="s2",
                card_number="c2",
                cardnumber="visible",
            )
            news_log.flush()
            line = msgspec.json.decode(path.read_bytes())
        finally:
            news_log.setup(news_log.LogSettings(format="json"))
        assert line["headers"] == {"X-Session-Id": "***", "x-card-number": "***", "X-Other": "o"}
        assert line["user_session_id"] == "***"
        assert line["card_number"] == "***"
        assert line["cardnumber"] == "visible"

    def test_many_distinct_keys_keep_their_verdicts(self, read_lines):
        """Past the verdict cache's size, keys are still judged: secrets masked, others kept."""
        fields = {f"field_{n}": n for n in range(10_050)}
        fields["late_password"] = "p"
        news_log.get_logger("r").info("x", **fields)
        news_log.get_logger("r").info("y", field_10049=1, other_password="p")
        first, second = read_lines()
        assert first["field_10049"] == 10049
        assert first["late_password"] == "***"
        assert second["field_10049"] == 1
        assert second["other_password"] == "***"


class TestFastPathNeverSkipsRedaction:
    def test_nested_secrets_under_a_known_plain_key_are_masked_every_time(self, read_lines):
        """A plain key seen before, now holding a dict with a secret: still walked and masked."""
        log = news_log.get_logger("r")
        log.info("a", user="ada")
        log.info("b", user={"name": "ada", "password": "p"})
        with news_log.bind(user="ada"):
            log.info("c")
        with news_log.bind(user={"token": "t"}):
            log.info("d")
        lines = read_lines()
        assert [line["user"] for line in lines] == [
            "ada",
            {"name": "ada", "password": "***"},
            "ada",
            {"token": "***"},
        ]

    def test_plain_context_is_written_on_every_line(self, read_lines):
        """Bound plain scalars (the fast path) appear on each line, next to the call's fields."""
        with news_log.bind(request_id="r-1", attempt=2):
            news_log.get_logger("r").info("one")
            news_log.get_logger("r").info("two", extra=True)
        lines = read_lines()
        assert [(x["request_id"], x["attempt"]) for x in lines] == [("r-1", 2), ("r-1", 2)]
        assert lines[1]["extra"] is True


class TestObjectsWrittenFieldByField:
    def test_dataclass_fields_are_redacted_by_name(self, read_lines):
        """A dataclass is walked like a dict: its secret-looking fields are masked."""
        import dataclasses

        @dataclasses.dataclass
        class Login:
            user: str
            password: str
            leak: object
            meta: dict[str, str]

        news_log.get_logger("r").info(
            "x",
            login=Login("ada", "hunter2", LeakySecret("hunter3"), {"api_key": "hunter4"}),
            cls=Login,
        )
        (line,) = read_lines()
        assert line["login"] == {
            "user": "ada",
            "password": "***",
            "leak": "***",
            "meta": {"api_key": "***"},
        }
        assert "hunter" not in repr(line)
        assert "Login" in line["cls"]

    def test_capture_logs_holds_what_the_json_line_holds(self):
        """news_log.testing.capture_logs sees masked values, and every field."""
        from news_log.testing import capture_logs

        with capture_logs() as events:
            news_log.get_logger("r").info(
                "x", password="p", keep=1, nested={"token": "t"}, leak=LeakySecret("hunter2")
            )
        (event,) = events
        assert event["password"] == "***"
        assert event["keep"] == 1
        assert event["nested"] == {"token": "***"}
        assert event["leak"] == "***"
        assert "hunter2" not in repr(events)

    def test_values_json_cannot_hold_are_written_as_repr(self, read_lines):
        """A string with a lone surrogate (an undecodable file name) is written as its repr."""
        log = news_log.get_logger("r")
        log.info("x", path="a\udcffb", ok=1, password="p")
        log.info("y", path=UnprintableStr("b\udcff"), ok=2)
        first, second = read_lines()
        assert first["path"] == "'a\\udcffb'"
        assert (first["ok"], first["password"]) == (1, "***")
        assert second["path"] == "<unprintable UnprintableStr>"
        assert second["ok"] == 2


class TestExceptionField:
    def test_no_exception_in_flight_means_no_exception_field(self, read_lines):
        """log.exception() outside an except block, or exc_info=False, adds no exception."""
        log = news_log.get_logger("r")
        log.exception("nothing raised")  # noqa: LOG004 - the case under test
        log.error("explicitly none", exc_info=False)
        log.error("none either", exc_info=None)
        lines = read_lines()
        assert len(lines) == 3
        assert all("exception" not in line for line in lines)


class AttrsLike:
    """An object with the attrs protocol (``__attrs_attrs__``), which msgspec encodes by field."""

    class _Attribute:
        def __init__(self, name: str) -> None:
            self.name = name

    __attrs_attrs__ = (_Attribute("user"), _Attribute("api_key"))

    def __init__(self, user: str, api_key: str) -> None:
        self.user = user
        self.api_key = api_key


class Opaque:
    """No JSON form: written as its str()."""

    def __str__(self) -> str:
        return "opaque!"


class BrokenStr:
    """Its str() raises."""

    def __str__(self) -> str:
        raise RuntimeError("no str")


class TestOtherPlacesASecretCanHide:
    def test_attrs_instances_are_redacted_by_field(self, read_lines):
        """An attrs-style instance is walked like a dict: its secret-looking fields are masked."""
        news_log.get_logger("r").info("x", account=AttrsLike("ada", "hunter2"))
        (line,) = read_lines()
        assert line["account"] == {"user": "ada", "api_key": "***"}

    def test_a_secret_used_as_a_dict_key_is_masked(self, read_lines):
        """A secret as a mapping key is written as the mask; a key whose str() raises is kept."""
        news_log.get_logger("r").info(
            "x", index={LeakySecret("hunter2"): 1, BrokenStr(): 2, Opaque(): 3}
        )
        (line,) = read_lines()
        assert line["index"] == {"***": 1, "<unprintable BrokenStr>": 2, "opaque!": 3}

    def test_a_secret_passed_as_the_message_is_masked(self, read_lines):
        """log.info(secret) writes the mask as msg, not the secret's str()."""
        news_log.get_logger("r").info(LeakySecret("hunter2"))  # type: ignore[arg-type]
        (line,) = read_lines()
        assert line["msg"] == "***"

    def test_capture_logs_renders_objects_as_the_json_line_does(self):
        """capture_logs renders an object without JSON form as its str(), secrets as the mask."""
        from news_log.testing import capture_logs

        with capture_logs() as events:
            news_log.get_logger("r").info(LeakySecret("hunter2"), thing=Opaque())  # type: ignore[arg-type]
        (event,) = events
        assert event["thing"] == "opaque!"
        assert event["msg"] == "***"


class TestVerdictCacheIsBounded:
    def test_keys_made_of_data_do_not_grow_memory(self, read_lines):
        """Tens of thousands of distinct keys: news-log's per-key memory stops growing."""
        import tracemalloc

        log = news_log.get_logger("r")
        render = str(Path(news_log.__file__).with_name("_render.py"))
        only_render = [tracemalloc.Filter(True, render)]

        def log_keys(start: int, count: int) -> None:
            for n in range(start, start + count, 500):
                log.info("x", **{f"k{m}": m for m in range(n, n + 500)})
            assert news_log.flush(10.0)

        tracemalloc.start()
        try:
            log_keys(0, 12_000)  # past the bound
            before = tracemalloc.take_snapshot().filter_traces(only_render)
            log_keys(12_000, 40_000)
            after = tracemalloc.take_snapshot().filter_traces(only_render)
        finally:
            tracemalloc.stop()
        grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
        assert grown < 256 * 1024, f"news_log/_render.py kept {grown} more bytes"
        lines = read_lines()
        assert lines[-1]["k51999"] == 51999
