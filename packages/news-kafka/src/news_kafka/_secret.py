"""`Secret`: a password that never shows itself (news-config's structural secret protocol).

news-kafka must not depend on news-config, yet its settings hold passwords. news-config (and
news-log) recognise secret types structurally: a class with ``__news_secret__ = True``,
constructible from the raw string, masked in ``str``/``repr``, with ``.reveal()``. This is the
minimal implementation of that protocol; news-config fills fields of this type from the
environment or from secret files like its own ``Secret``.
"""

from __future__ import annotations

import hmac
from typing import Any, ClassVar, Final

__all__ = ["Secret"]

_MASK: Final = "**********"


class Secret:
    """A secret string (a SASL or key password): masked when printed, ``.reveal()`` gives it.

    Example:
        >>> password = Secret("hunter2")
        >>> print(password, repr(password))
        ********** Secret('**********')
        >>> password.reveal()
        'hunter2'
    """

    __slots__ = ("_value",)
    __news_secret__: ClassVar[bool] = True

    _value: str

    def __init__(self, value: str) -> None:
        checked: object = value
        if not isinstance(checked, str):
            msg = f"Secret() takes a str, not {type(checked).__name__}"
            raise TypeError(msg)
        object.__setattr__(self, "_value", value)

    def reveal(self) -> str:
        """Return the secret value; call it only where the value is really needed."""
        return self._value

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Secret is immutable")

    def __str__(self) -> str:
        return _MASK

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    def __format__(self, format_spec: str) -> str:
        return format(_MASK, format_spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
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
