"""`Secret`, a string that never shows itself, and the structural secret protocol.

Other packages must not depend on news-config, yet their settings have password fields. So
news-config recognises secret types *structurally*: any class with the class attribute
``__news_secret__ = True`` is a secret type. The loader builds it from the raw string by calling
``cls(raw)`` and never echoes its value in errors or in the CLI's output. `Secret` is the
ready-made implementation.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

__all__ = ["MASK", "Secret", "is_secret_type"]

MASK: Final = "**********"
"""What a secret looks like wherever it is printed, logged or encoded via ``str()``."""


def is_secret_type(tp: object) -> bool:
    """Tell whether *tp* is a class that follows the ``__news_secret__ = True`` protocol."""
    return isinstance(tp, type) and getattr(tp, "__news_secret__", False) is True


class Secret:
    """A secret string: masked in ``str``, ``repr``, ``format`` and logs; ``.reveal()`` gives it.

    Two secrets are equal when their values are (compared in constant time), so a `Secret` is
    hashable and usable in frozen settings Structs. ``bool(secret)`` is False for an empty value.
    There is deliberately no ``len()``: a secret is not a sequence; use ``len(s.reveal())``.

    JSON encoders do not know this type: ``msgspec.json.encode`` raises for it unless an
    ``enc_hook`` is given, and an ``enc_hook=str`` (as news-log uses) encodes the mask. The value
    can only be had through `reveal`.

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
        import hmac

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
