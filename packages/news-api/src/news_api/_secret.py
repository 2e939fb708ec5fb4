"""Secrets in news-api: the platform's one rule, applied without importing news-config.

A secret is an object whose *class* has ``__news_secret__ = True`` (``news_config.Secret``, the
platform's one secret type). news-api imports no sibling, so it applies that test itself
(`is_secret`, the same test as ``news_config.is_secret`` and news-log's redaction): a cursor
secret is revealed once with ``reveal()``, and a secret inside a response body or a cursor value
is encoded as `MASK`, never as its value.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final, Protocol, TypeGuard

__all__ = ["MASK", "SecretLike", "enc_hook", "is_secret"]

MASK: Final = "**********"
"""What a secret inside a response body looks like (news-config's mask)."""


class SecretLike(Protocol):
    """A secret, such as ``news_config.Secret``: ``reveal()`` gives the raw value.

    For type checkers; at run time news-api tells a secret by `is_secret`, not by the presence
    of a ``reveal`` method.
    """

    __news_secret__: ClassVar[bool]

    def reveal(self) -> str:
        """Return the secret value."""
        ...


def is_secret(value: object) -> TypeGuard[SecretLike]:
    """Tell whether *value* is a secret: its class's ``__news_secret__`` attribute is ``True``."""
    return getattr(type(value), "__news_secret__", False) is True


def enc_hook(obj: Any) -> Any:
    """Msgspec ``enc_hook`` of news-api's encoders: a secret becomes `MASK`; nothing else is known.

    Raises:
        TypeError: *obj* is not a secret (msgspec's own message for unsupported types).
    """
    if is_secret(obj):
        return MASK
    raise TypeError(f"Encoding objects of type {type(obj).__qualname__} is unsupported")
