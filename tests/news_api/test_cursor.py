import base64

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import news_api

SECRET = b"0123456789abcdef0123456789abcdef"


class Clock:
    def __init__(self, now=1_800_000_000.0):
        self.now = now

    def __call__(self):
        """Return the fake time."""
        return self.now


class FakeSecret:
    __news_secret__ = True

    def __init__(self, value):
        self._value = value

    def reveal(self):
        """Return the value."""
        return self._value


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TestRoundTrip:
    @pytest.mark.parametrize(
        "value", [1, "x", None, [1, "2", 3.5], {"after": 1234, "sort": "-published"}]
    )
    def test_values_round_trip(self, value):
        """JSON-able values come back equal."""
        codec = news_api.CursorCodec(SECRET)
        assert codec.decode(codec.encode(value)) == value

    def test_struct_round_trip_with_type(self):
        """A Struct encodes as an object and decodes back with type_."""

        class After(msgspec.Struct):
            id: int

        codec = news_api.CursorCodec(SECRET)
        assert codec.decode(codec.encode(After(5)), After) == After(5)

    def test_url_safe(self):
        """Cursors only use URL-safe characters and one dot."""
        token = news_api.CursorCodec(SECRET).encode({"k": "ü/+=?&" * 5})
        assert all(c.isalnum() or c in "-_." for c in token)
        assert token.count(".") == 1

    def test_value_is_readable_not_encrypted(self):
        """The payload is base64url JSON (signed, not encrypted): documented behaviour."""
        token = news_api.CursorCodec(SECRET).encode({"after": 5})
        assert _unb64(token.split(".")[0]) == b'[{"after":5}]'

    def test_str_secret_and_reveal_secret(self):
        """Text secrets and objects with reveal() (news_config.Secret) are accepted alike."""
        a = news_api.CursorCodec(SECRET.decode())
        b = news_api.CursorCodec(FakeSecret(SECRET.decode()))
        assert b.decode(a.encode(1)) == 1

    def test_repr_hides_secret(self):
        """repr() shows no key material."""
        assert SECRET.decode() not in repr(news_api.CursorCodec(SECRET))


class TestTamperEvidence:
    def test_modified_payload(self):
        """A payload changed by the client fails the signature check."""
        codec = news_api.CursorCodec(SECRET)
        token = codec.encode({"after": 5})
        forged = _b64(b'[{"after":6}]') + "." + token.split(".")[1]
        with pytest.raises(news_api.InvalidCursor) as info:
            codec.decode(forged)
        assert info.value.detail == "cursor signature does not match: altered, or not issued here"
        assert info.value.to_response().status == 400

    def test_other_secret(self):
        """A cursor signed with another secret is refused."""
        token = news_api.CursorCodec(b"x" * 32).encode(1)
        with pytest.raises(news_api.InvalidCursor, match="signature"):
            news_api.CursorCodec(SECRET).decode(token)

    def test_other_salt(self):
        """A cursor made for another salt (endpoint) is refused."""
        token = news_api.CursorCodec(SECRET, salt="articles").encode(1)
        with pytest.raises(news_api.InvalidCursor, match="signature"):
            news_api.CursorCodec(SECRET, salt="comments").decode(token)

    def test_non_canonical_base64_refused(self):
        """Changing unused trailing bits of the tag (same bytes decoded) is refused."""
        codec = news_api.CursorCodec(SECRET)
        token = codec.encode(1)
        body, tag = token.split(".")
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        last = alphabet.index(tag[-1])
        twin = tag[:-1] + alphabet[last ^ 1]
        assert _unb64(twin) == _unb64(tag)
        with pytest.raises(news_api.InvalidCursor, match="malformed"):
            codec.decode(f"{body}.{twin}")

    @pytest.mark.parametrize(
        "token",
        ["", ".", "abc", "abc.", ".abc", "a.b.c", "abc.d!f", "abc.def", "é.é", "x" * 5000],
    )
    def test_malformed(self, token):
        """Malformed strings are InvalidCursor "cursor is malformed"."""
        with pytest.raises(news_api.InvalidCursor) as info:
            news_api.CursorCodec(SECRET).decode(token)
        assert info.value.detail == "cursor is malformed"

    def test_signed_but_wrong_shape_for_type(self):
        """A genuine cursor holding another shape fails conversion to type_ as InvalidCursor."""
        codec = news_api.CursorCodec(SECRET)
        with pytest.raises(news_api.InvalidCursor, match="position for this listing"):
            codec.decode(codec.encode("text"), int)

    @settings(max_examples=300, deadline=None)
    @given(token=st.text(max_size=80))
    def test_fuzz_only_invalid_cursor(self, token):
        """Arbitrary strings only ever raise InvalidCursor."""
        codec = news_api.CursorCodec(SECRET)
        with pytest.raises(news_api.InvalidCursor):
            codec.decode(token)

    @settings(max_examples=200, deadline=None)
    @given(position=st.integers(min_value=0, max_value=200), flip=st.integers(1, 255))
    def test_fuzz_bit_flips(self, position, flip):
        """Any single-byte change to a genuine cursor's bytes is detected."""
        codec = news_api.CursorCodec(SECRET)
        token = codec.encode({"after": 123456, "sort": "-published"})
        body, tag = (_unb64(p) for p in token.split("."))
        raw = bytearray(body + tag)
        raw[position % len(raw)] ^= flip
        forged = _b64(bytes(raw[: len(body)])) + "." + _b64(bytes(raw[len(body) :]))
        with pytest.raises(news_api.InvalidCursor):
            codec.decode(forged)


class TestExpiry:
    def test_valid_until_max_age(self):
        """A cursor decodes until max_age seconds have passed, then is refused."""
        clock = Clock()
        codec = news_api.CursorCodec(SECRET, max_age=60, clock=clock)
        token = codec.encode({"after": 1})
        clock.now += 59
        assert codec.decode(token) == {"after": 1}
        clock.now += 1
        with pytest.raises(news_api.InvalidCursor) as info:
            codec.decode(token)
        assert info.value.detail == "cursor has expired; start again from the first page"

    def test_per_cursor_max_age(self):
        """encode(max_age=) overrides the codec's default lifetime."""
        clock = Clock()
        codec = news_api.CursorCodec(SECRET, clock=clock)
        token = codec.encode(1, max_age=10)
        clock.now += 11
        with pytest.raises(news_api.InvalidCursor, match="expired"):
            codec.decode(token)

    def test_no_expiry_by_default(self):
        """Without max_age a cursor never expires."""
        clock = Clock()
        codec = news_api.CursorCodec(SECRET, clock=clock)
        token = codec.encode(1)
        clock.now += 10 * 365 * 86400
        assert codec.decode(token) == 1

    def test_bad_max_age(self):
        """A non-positive max_age is refused."""
        with pytest.raises(ValueError, match="positive"):
            news_api.CursorCodec(SECRET, max_age=0)
        with pytest.raises(ValueError, match="positive"):
            news_api.CursorCodec(SECRET).encode(1, max_age=-5)


class TestKeys:
    def test_short_secret_refused(self):
        """Secrets under 16 bytes are refused with advice."""
        with pytest.raises(ValueError, match="at least 16 bytes"):
            news_api.CursorCodec("short")

    def test_rotation(self):
        """Cursors signed with a previous secret still decode; new ones use the new secret."""
        old = news_api.CursorCodec(b"o" * 32)
        token = old.encode(1)
        rotated = news_api.CursorCodec(SECRET, previous_secrets=[b"o" * 32])
        assert rotated.decode(token) == 1
        with pytest.raises(news_api.InvalidCursor):
            old.decode(rotated.encode(2))
