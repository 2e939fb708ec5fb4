"""Secret never shows its value, and the structural ``__news_secret__`` protocol."""

from __future__ import annotations

import copy
import io
import json
import logging
import pickle

import msgspec
import pytest

from news_config import ConfigError, Secret, explain, is_secret_type, load

VALUE = "hunter2-s3cr3t"
MASK = "**********"


class ApiKey:
    """A secret type from another package: no news-config import, just the marker."""

    __news_secret__ = True

    def __init__(self, raw: str) -> None:
        if not raw.startswith("key-"):
            raise ValueError(f"{raw!r} is not an API key")
        self._raw = raw

    def __repr__(self) -> str:
        return "ApiKey(***)"


class NotSecret:
    __news_secret__ = "yes"  # only the value True counts

    def __init__(self, raw: str) -> None:
        self.raw = raw


class Db(msgspec.Struct, frozen=True, kw_only=True):
    user: str = "news"
    password: Secret


class Partner(msgspec.Struct, frozen=True, kw_only=True):
    key: ApiKey
    backup: ApiKey | None = None
    tokens: list[Secret] = []


class TestSecret:
    def test_masked_everywhere_it_prints(self) -> None:
        """str, repr, format and f-strings (with a spec) all give the mask."""
        secret = Secret(VALUE)
        assert str(secret) == MASK
        assert repr(secret) == f"Secret('{MASK}')"
        assert f"{secret}" == MASK
        assert f"{secret:>12}" == f"{MASK:>12}"
        assert "%s %r" % (secret, secret) == f"{MASK} Secret('{MASK}')"  # noqa: UP031

    def test_reveal(self) -> None:
        """reveal() gives the value itself."""
        assert Secret(VALUE).reveal() == VALUE

    def test_logging_shows_the_mask(self) -> None:
        """A secret passed to a stdlib logger is rendered masked."""
        stream = io.StringIO()
        logger = logging.getLogger("news_config.tests.secret")
        handler = logging.StreamHandler(stream)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        try:
            logger.info("connecting with %s / %r", Secret(VALUE), Secret(VALUE))
        finally:
            logger.removeHandler(handler)
        assert stream.getvalue() == f"connecting with {MASK} / Secret('{MASK}')\n"

    def test_equality_by_value(self) -> None:
        """Secrets with the same value are equal; different values or plain str are not."""
        assert Secret(VALUE) == Secret(VALUE)
        assert Secret(VALUE) != Secret("other")
        assert Secret(VALUE) != VALUE

    def test_hashable(self) -> None:
        """Equal secrets hash alike, so they work in sets and frozen Structs."""
        assert hash(Secret("a")) == hash(Secret("a"))
        assert len({Secret("a"), Secret("a"), Secret("b")}) == 2

    def test_truthiness_and_no_len(self) -> None:
        """bool() tells an empty secret; len() is deliberately not supported."""
        assert Secret("x")
        assert not Secret("")
        with pytest.raises(TypeError):
            len(Secret("x"))  # type: ignore[arg-type]

    def test_immutable_and_str_only(self) -> None:
        """A secret cannot be changed and only wraps a str."""
        secret = Secret("x")
        with pytest.raises(AttributeError):
            secret._value = "y"  # type: ignore[misc]
        with pytest.raises(TypeError, match="takes a str"):
            Secret(b"bytes")  # type: ignore[arg-type]

    def test_pickle_and_copy_keep_the_value(self) -> None:
        """Pickling and copying keep the value (and stay masked)."""
        secret = Secret(VALUE)
        clone = pickle.loads(pickle.dumps(secret))
        assert clone.reveal() == VALUE
        assert copy.deepcopy(secret) == secret
        assert copy.copy(secret) == secret

    def test_marks_itself_a_secret(self) -> None:
        """Secret follows the protocol; is_secret_type only accepts classes with True."""
        assert is_secret_type(Secret)
        assert is_secret_type(ApiKey)
        assert not is_secret_type(NotSecret)
        assert not is_secret_type(str)
        assert not is_secret_type(Secret("x"))


class TestNoLeakFromSettings:
    def settings(self) -> Db:
        """Settings with a secret loaded from the environment."""
        return load(Db, environ={"PASSWORD": VALUE}, env_file=None)

    def test_struct_repr(self) -> None:
        """repr() of a settings Struct shows the mask, not the value."""
        text = repr(self.settings())
        assert VALUE not in text
        assert MASK in text

    def test_msgspec_json_refuses(self) -> None:
        """msgspec.json.encode raises for a Secret instead of revealing it."""
        with pytest.raises(TypeError):
            msgspec.json.encode(self.settings())

    def test_encoders_that_str_unknown_types_get_the_mask(self) -> None:
        """An enc_hook/default of str (as news-log uses) encodes the mask."""
        settings = self.settings()
        encoded = msgspec.json.decode(msgspec.json.encode(settings, enc_hook=str))
        assert encoded == {"user": "news", "password": MASK}
        assert VALUE not in json.dumps(msgspec.structs.asdict(settings), default=str)


class TestSecretProtocol:
    def test_foreign_secret_type_is_built_from_the_string(self) -> None:
        """A class with __news_secret__ = True is built by calling it with the raw string."""
        loaded = load(Partner, environ={"KEY": "key-123"}, env_file=None)
        assert isinstance(loaded.key, ApiKey)
        assert loaded.key._raw == "key-123"

    def test_foreign_secret_errors_are_masked(self) -> None:
        """Its constructor's error (which quotes the value) is not passed on."""
        with pytest.raises(ConfigError) as info:
            load(Partner, environ={"KEY": "nope-123", "BACKUP": "bad-9"}, env_file=None)
        found = {item.env_name: (item.found, item.detail) for item in info.value.errors}
        assert found == {"KEY": ("<secret, 8 chars>", None), "BACKUP": ("<secret, 5 chars>", None)}
        assert "nope-123" not in str(info.value)

    def test_optional_foreign_secret(self) -> None:
        """`ApiKey | None` is None when empty and an ApiKey when set."""
        loaded = load(Partner, environ={"KEY": "key-1", "BACKUP": ""}, env_file=None)
        assert loaded.backup is None
        loaded = load(Partner, environ={"KEY": "key-1", "BACKUP": "key-2"}, env_file=None)
        assert isinstance(loaded.backup, ApiKey)

    def test_containers_of_secrets_are_masked(self) -> None:
        """A list of secrets is loaded, and masked in errors as a whole."""
        loaded = load(Partner, environ={"KEY": "key-1", "TOKENS": "a,b"}, env_file=None)
        assert [token.reveal() for token in loaded.tokens] == ["a", "b"]
        with pytest.raises(ConfigError) as info:
            load(Partner, environ={"KEY": "key-1", "TOKENS": "[1, 2"}, env_file=None)
        (item,) = info.value.errors
        assert item.found == "<secret, 5 chars>"

    def test_explain_marks_secret_rows(self) -> None:
        """explain() flags secret rows, and their value prints masked."""
        rows = {r.env_name: r for r in explain(Db, environ={"PASSWORD": VALUE}, env_file=None)}
        assert rows["PASSWORD"].secret
        assert str(rows["PASSWORD"].value) == MASK
        assert not rows["USER"].secret
