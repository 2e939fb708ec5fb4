"""`Secret`, the platform's one secret type, and the one rule that recognises a secret.

`Secret` is the only secret type: every package whose settings hold a password, key or token
depends on news-config and uses it. The packages that may not import news-config (news-log,
news-api) recognise a secret by the same rule, `is_secret`: the object's *class* has the attribute
``__news_secret__`` set to ``True`` (`Secret` and its subclasses do). They give the value only
through ``reveal()`` and show `MASK` (or their own mask) otherwise. The loader also treats any
class following that rule as secret (never echoes its value), so nothing marked secret can leak
through news-config either.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

__all__ = ["MASK", "Secret", "enc_hook", "is_secret", "is_secret_type"]

MASK: Final = "**********"
"""What a secret looks like wherever it is printed, logged or encoded via ``str()``."""


def is_secret_type(tp: object) -> bool:
    """Tell whether *tp* is a secret class: its ``__news_secret__`` attribute is ``True``."""
    return isinstance(tp, type) and getattr(tp, "__news_secret__", False) is True


def is_secret(value: object) -> bool:
    """Tell whether *value* is a secret: its class's ``__news_secret__`` attribute is ``True``.

    This is the platform's one definition (news-log's redaction and news-api's cursors apply the
    same test, since they may not import news-config). An attribute set on an instance, or any
    value other than ``True``, does not count.
    """
    return getattr(type(value), "__news_secret__", False) is True


def enc_hook(obj: Any) -> Any:
    """A msgspec ``enc_hook`` that encodes every secret as `MASK` and refuses anything else.

    ``msgspec.json.encode(settings)`` raises for a `Secret` (msgspec has no way for a type to
    encode itself); with ``enc_hook=news_config.enc_hook`` a settings tree encodes, secrets
    redacted::

        msgspec.json.encode(settings, enc_hook=news_config.enc_hook)  # "password": "**********"

    Raises:
        TypeError: *obj* is not a secret (as msgspec raises for unsupported types).
    """
    if is_secret(obj):
        return MASK
    raise TypeError(f"Encoding objects of type {type(obj).__qualname__} is unsupported")


class Secret:
    """A secret string: masked in ``str``, ``repr``, ``format`` and logs; ``.reveal()`` gives it.

    Two secrets are equal when their values are (compared in constant time), so a `Secret` is
    hashable and usable in frozen settings Structs. ``bool(secret)`` is False for an empty value.
    There is deliberately no ``len()``: a secret is not a sequence; use ``len(s.reveal())``.

    Copies are the same object (it is immutable), pickling keeps the value, and attributes can be
    neither set nor deleted. JSON: ``msgspec.json.encode`` raises for it rather than guess;
    ``enc_hook=news_config.enc_hook`` (or any hook that calls ``str()``, as news-log does)
    encodes the mask. The value can only be had through `reveal`.

    Example:
        >>> password = Secret("hunter2")
        >>> print(password, repr(password), f"{password}")
        ********** Secret('**********') **********
        >>> password.reveal()
        'hunter2'
    """

    __slots__ = ("_value",)
    __news_secret__: ClassVar[bool] = True

    _value: str

    def __init__(self, value: str) -> None:
        checked: object = value  # callers without type checking may pass anything
        if not isinstance(checked, str):
            msg = f"Secret() takes a str, not {type(checked).__name__}"
            raise TypeError(msg)
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """Return the secret value itself; call it only where the value is really needed."""
        return self._value

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Secret is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Secret is immutable")

    def __str__(self) -> str:
        return MASK

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{MASK}')"

    def __format__(self, format_spec: str) -> str:
        return format(MASK, format_spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        import hmac  # here, not at the top: keeps `import news_config` quick

        return hmac.compare_digest(
            self._value.encode("utf-8", "surrogatepass"),
            other._value.encode("utf-8", "surrogatepass"),
        )

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._value,))

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self
