"""AES-256-GCM envelopes: format, associated data, tampering, key rotation, settings."""

from __future__ import annotations

import base64
import os

import msgspec
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import news_config
import news_security
from news_config import Secret
from news_security import (
    DecryptionError,
    EncryptionSettings,
    Encryptor,
    SecurityConfigError,
    UnknownKeyError,
    generate_key,
)

K1, K2 = generate_key(), generate_key()


def box(current: str = "k1", **keys: str) -> Encryptor:
    """An Encryptor with ``keys`` (id=base64) whose current key is ``current``."""
    keys = keys or {"k1": K1}
    return Encryptor(
        EncryptionSettings(keys={k: Secret(v) for k, v in keys.items()}, current_key_id=current)
    )


class TestEnvelope:
    """encrypt() makes a versioned envelope that decrypt() opens."""

    def test_round_trip(self):
        """Bytes come back as they went in, empty ones included."""
        b = box()
        for plaintext in (b"", b"x", b"555-0100", os.urandom(5000)):
            assert b.decrypt(b.encrypt(plaintext)) == plaintext

    def test_layout(self):
        """Version 1, the key id's length and bytes, a 12-byte nonce, ciphertext and 16-byte tag."""
        envelope = box("key-2026", **{"key-2026": K1}).encrypt(b"abc")
        assert envelope[0] == 1
        assert envelope[1] == len(b"key-2026")
        assert envelope[2:10] == b"key-2026"
        assert len(envelope) == 2 + 8 + 12 + 3 + 16

    def test_envelope_is_standard_aes_gcm(self):
        """The envelope opens with plain AES-GCM: key, nonce, and header + AD as associated data."""
        envelope = box().encrypt(b"secret", associated_data=b"ad")
        header, nonce, sealed = envelope[:4], envelope[4:16], envelope[16:]
        key = base64.b64decode(K1)
        assert AESGCM(key).decrypt(nonce, sealed, header + b"ad") == b"secret"

    def test_random_nonces(self):
        """Encrypting the same plaintext twice gives different envelopes (and nonces)."""
        b = box()
        one, two = b.encrypt(b"same"), b.encrypt(b"same")
        assert one != two
        assert one[4:16] != two[4:16]

    def test_text_round_trip(self):
        """encrypt_text/decrypt_text carry text as URL-safe base64 without padding."""
        b = box()
        token = b.encrypt_text("Zürich ✓", associated_data=b"ad")
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        assert set(token) <= set(alphabet)
        assert b.decrypt_text(token, associated_data=b"ad") == "Zürich ✓"

    def test_text_without_associated_data(self):
        """The text variants default to no associated data, like encrypt and decrypt."""
        b = box()
        token = b.encrypt_text("plain")
        assert b.decrypt_text(token) == "plain"
        assert b.decrypt_text(token, associated_data=b"") == "plain"
        envelope = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert b.decrypt(envelope) == b"plain"

    @pytest.mark.parametrize("length", range(10))
    def test_tokens_of_every_padding_length_open(self, length):
        """Unpadded tokens of any length (0-3 padding characters dropped) decrypt."""
        b = box()
        text = "x" * length
        assert b.decrypt_text(b.encrypt_text(text)) == text

    def test_text_token_that_is_not_base64(self):
        """A token with characters outside base64 raises DecryptionError."""
        with pytest.raises(DecryptionError, match="base64"):
            box().decrypt_text("not*base64!")

    def test_text_that_is_not_utf8(self):
        """A decrypted value that is not UTF-8 raises DecryptionError from decrypt_text."""
        b = box()
        token = base64.urlsafe_b64encode(b.encrypt(b"\xff\xfe")).decode().rstrip("=")
        with pytest.raises(DecryptionError, match="UTF-8"):
            b.decrypt_text(token)


class TestTampering:
    """Any change, another key or other associated data: DecryptionError."""

    def test_every_byte_flip_is_detected(self):
        """Flipping any single byte of the envelope makes decryption fail."""
        b = box()
        envelope = b.encrypt(b"payload", associated_data=b"ad")
        for index in range(len(envelope)):
            changed = bytearray(envelope)
            changed[index] ^= 0x01
            with pytest.raises(DecryptionError):
                b.decrypt(bytes(changed), associated_data=b"ad")

    def test_other_associated_data(self):
        """Other or missing associated data is refused."""
        b = box()
        envelope = b.encrypt(b"payload", associated_data=b"users/7/phone")
        with pytest.raises(DecryptionError, match="does not authenticate"):
            b.decrypt(envelope, associated_data=b"users/8/phone")
        with pytest.raises(DecryptionError):
            b.decrypt(envelope)

    def test_other_key_with_the_same_id(self):
        """A different key under the same id fails to authenticate."""
        envelope = box().encrypt(b"payload")
        with pytest.raises(DecryptionError, match="does not authenticate") as info:
            box(k1=K2).decrypt(envelope)
        assert not isinstance(info.value, UnknownKeyError)

    def test_key_id_swapped_in_header(self):
        """Relabelling an envelope with another configured key id fails (the id is signed)."""
        b = box("k1", k1=K1, k2=K1)  # the same key under two ids
        envelope = b.encrypt(b"payload")
        relabelled = envelope[:3] + b"2" + envelope[4:]
        with pytest.raises(DecryptionError):
            b.decrypt(relabelled)

    def test_truncated_and_foreign_data(self):
        """Short data, another version byte, an empty key id: DecryptionError, not a crash."""
        b = box()
        good = b.encrypt(b"x")
        for bad in (
            b"",
            b"\x01",
            b"\x01\x02",
            b"\x02" + good[1:],
            b"\x01\x00" + good[2:],
            good[: 4 + 12 + 15],
        ):
            with pytest.raises(DecryptionError):
                b.decrypt(bad)

    def test_key_id_of_checks_the_header_without_decrypting(self):
        """key_id_of refuses another version, an empty key id and short data, naming which."""
        b = box()
        good = b.encrypt(b"")
        assert b.key_id_of(good) == "k1"
        cases = [
            (b"\x02" + good[1:], "not a news-security envelope"),
            (b"\x01\x00" + good[2:] + b"\x00", "truncated"),
            (good[:-1], "truncated"),
            (good[: 4 + 12], "truncated"),
            (good[:4], "truncated"),
            (b"\x01\x05k1", "truncated"),
            (b"\x01\x01k", "truncated"),
        ]
        for bad, message in cases:
            with pytest.raises(DecryptionError, match=message):
                b.key_id_of(bad)
            with pytest.raises(DecryptionError, match=message):
                b.decrypt(bad)

    def test_minimal_valid_length_is_accepted(self):
        """An envelope of an empty plaintext (header, nonce, tag only) decrypts."""
        b = box()
        envelope = b.encrypt(b"")
        assert len(envelope) == 4 + 12 + 16
        assert b.decrypt(envelope) == b""

    def test_non_ascii_key_id_in_envelope(self):
        """A key id that is not ASCII is refused as not an envelope."""
        b = box()
        envelope = b.encrypt(b"x")
        with pytest.raises(DecryptionError, match="ASCII"):
            b.decrypt(envelope[:2] + b"\xff" + envelope[3:])

    def test_errors_are_value_errors_under_the_root(self):
        """DecryptionError is a CryptoError, a ValueError and a NewsSecurityError."""
        assert issubclass(DecryptionError, news_security.CryptoError)
        assert issubclass(DecryptionError, ValueError)
        assert issubclass(news_security.CryptoError, news_security.NewsSecurityError)


class TestRotation:
    """The current key encrypts; every listed key decrypts."""

    def test_old_envelopes_open_after_rotation(self):
        """An envelope of the old key opens once a new key is current."""
        old = box("k1", k1=K1).encrypt(b"data", associated_data=b"ad")
        rotated = box("k2", k1=K1, k2=K2)
        assert rotated.decrypt(old, associated_data=b"ad") == b"data"
        assert rotated.key_id_of(old) == "k1"
        assert rotated.needs_reencrypt(old) is True

    def test_new_envelopes_use_the_current_key(self):
        """encrypt() names the current key; needs_reencrypt is False for it."""
        rotated = box("k2", k1=K1, k2=K2)
        envelope = rotated.encrypt(b"data")
        assert rotated.key_id_of(envelope) == "k2" == rotated.current_key_id
        assert rotated.needs_reencrypt(envelope) is False
        with pytest.raises(UnknownKeyError):
            box("k1", k1=K1).decrypt(envelope)

    def test_retired_key_raises_unknown_key(self):
        """After the old key is removed, its envelopes raise UnknownKeyError naming it."""
        old = box("k1", k1=K1).encrypt(b"data")
        with pytest.raises(UnknownKeyError, match="'k1'") as info:
            box("k2", k2=K2).decrypt(old)
        assert info.value.key_id == "k1"
        assert isinstance(info.value, DecryptionError)


class TestSettings:
    """EncryptionSettings refuses keys and ids that cannot work."""

    def test_generate_key_is_32_random_bytes(self):
        """generate_key() gives base64 of 32 bytes, different each time."""
        assert len(base64.b64decode(K1)) == 32
        assert K1 != K2

    def test_urlsafe_and_unpadded_keys_are_accepted(self):
        """Keys in URL-safe base64, with or without padding, work."""
        raw = bytes(range(250, 256)) * 5 + b"\xfb\xff"
        urlsafe = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        assert "-" in urlsafe or "_" in urlsafe
        b = box(k1=urlsafe)
        assert b.decrypt(b.encrypt(b"x")) == b"x"
        standard = base64.b64encode(raw).decode()
        assert box(k1=standard).decrypt(b.encrypt(b"y")) == b"y"
        unpadded = standard.rstrip("=")
        assert unpadded != standard
        assert "+" in unpadded or "/" in unpadded
        assert box(k1=unpadded).decrypt(b.encrypt(b"z")) == b"z"

    def test_keys_with_stray_characters_are_refused(self):
        """A key with quotes, spaces or other characters inside is refused, not cleaned up."""
        raw = bytes(range(250, 256)) * 5 + b"\xfb\xff"
        standard = base64.b64encode(raw).decode()
        urlsafe = base64.urlsafe_b64encode(raw).decode()
        for key in (f'"{standard}"', f'"{urlsafe}"', standard[:20] + " " + standard[20:]):
            with pytest.raises(SecurityConfigError, match="not 32 bytes"):
                EncryptionSettings(keys={"k1": Secret(key)}, current_key_id="k1")
        assert box(k1=f"  {standard}\n").decrypt(box(k1=urlsafe).encrypt(b"w")) == b"w"

    @pytest.mark.parametrize(
        "key",
        [
            "",
            "short",
            base64.b64encode(b"x" * 16).decode(),
            base64.b64encode(b"x" * 33).decode(),
            "*" * 44,
        ],
    )
    def test_bad_keys_are_refused(self, key):
        """A key that is not 32 bytes of base64 fails, naming the key id, not the key."""
        with pytest.raises(SecurityConfigError, match="key 'k1' is not 32 bytes") as info:
            EncryptionSettings(keys={"k1": Secret(key)}, current_key_id="k1")
        assert key not in str(info.value) or not key

    def test_no_keys(self):
        """Settings without keys are refused."""
        with pytest.raises(SecurityConfigError, match="no keys"):
            EncryptionSettings()

    def test_current_key_must_be_listed(self):
        """current_key_id must name one of the keys."""
        message = r"current_key_id 'k9' is not one of the keys \(k1\)"
        with pytest.raises(SecurityConfigError, match=message):
            EncryptionSettings(keys={"k1": Secret(K1)}, current_key_id="k9")

    @pytest.mark.parametrize("key_id", ["", "a b", "é", "x" * 65, "a/b"])
    def test_bad_key_ids(self, key_id):
        """Key ids are 1-64 of A-Z a-z 0-9 . _ -."""
        with pytest.raises(SecurityConfigError, match="key id"):
            EncryptionSettings(keys={key_id: Secret(K1)}, current_key_id=key_id)

    def test_longest_key_id_is_fine(self):
        """A 64-character id works end to end."""
        key_id = "a" * 64
        b = box(key_id, **{key_id: K1})
        assert b.key_id_of(b.encrypt(b"x")) == key_id

    def test_loaded_from_the_environment(self):
        """news-config fills the keys (as Secrets) and the current id from variables."""
        settings = news_config.load(
            EncryptionSettings,
            prefix="ENC_",
            env_file=None,
            environ={"ENC_KEYS": f'{{"k1": "{K1}", "k2": "{K2}"}}', "ENC_CURRENT_KEY_ID": "k2"},
        )
        assert isinstance(settings.keys["k1"], Secret)
        assert K1 not in repr(settings)
        assert Encryptor(settings).current_key_id == "k2"

    def test_settings_are_frozen_msgspec(self):
        """The Struct is frozen."""
        settings = EncryptionSettings(keys={"k1": Secret(K1)}, current_key_id="k1")
        with pytest.raises(AttributeError):
            settings.current_key_id = "x"  # type: ignore[misc]
        assert msgspec.structs.fields(EncryptionSettings)[0].name == "keys"
