"""The API error catalogue: exceptions that know their HTTP problem response.

The tree::

    Exception
     └── NewsAPIError                        root of everything news-api raises (news_api._base)
          └── APIError                  500  internal_error      an HTTP problem: renders as one
          ├── BadRequest                400  bad_request
          │    ├── MalformedJSON        400  malformed_json      `decode`: not JSON / not UTF-8
          │    ├── MissingBody          400  body_required       `decode`: empty body, one required
          │    └── InvalidCursor        400  invalid_cursor      `CursorCodec.decode`
          ├── Unauthorized              401  unauthorized        + WWW-Authenticate
          ├── Forbidden                 403  forbidden
          ├── NotFound                  404  not_found
          ├── MethodNotAllowed          405  method_not_allowed  + Allow
          ├── Conflict                  409  conflict
          ├── PayloadTooLarge           413  payload_too_large
          ├── UnsupportedMediaType      415  unsupported_media_type
          ├── ValidationFailed          422  validation_failed   + errors: [{field, message}]
          ├── TooManyRequests           429  too_many_requests   + Retry-After
          ├── InternalServerError       500  internal_error
          ├── ServiceUnavailable        503  service_unavailable + Retry-After (optional)
          └── GatewayTimeout            504  gateway_timeout

Every class carries ``status``, ``title``, ``code`` (stable, machine-readable) and ``type`` (a URI)
as class attributes; an instance carries ``detail`` (safe to show clients), ``headers`` and
extension members. A service adds its own by subclassing::

    class ArticleLocked(Conflict):
        code = "article_locked"
        title = "Article is locked"


    raise ArticleLocked("locked by another editor until 10:30", locked_by=12)

``type`` URIs: a class that sets ``type`` keeps it; otherwise its type is the problem-type base
followed by its ``code`` (``https://problems.news.example/article_locked``). Set the base once at
startup with `set_problem_type_base` (for example to your API documentation's problem pages).
`problem` without a ``type`` uses ``about:blank``.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import TYPE_CHECKING, Any, ClassVar, Final

from news_api._base import APITypeError, APIUsageError, NewsAPIError
from news_api._problem import RESERVED_MEMBERS, FieldError, problem, status_title

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from news_api._response import Response

__all__ = [
    "DEFAULT_PROBLEM_TYPE_BASE",
    "APIError",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "GatewayTimeout",
    "InternalServerError",
    "InvalidCursor",
    "MalformedJSON",
    "MethodNotAllowed",
    "MissingBody",
    "NotFound",
    "PayloadTooLarge",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "from_exception",
    "problem_type_base",
    "set_problem_type_base",
]

DEFAULT_PROBLEM_TYPE_BASE: Final = "https://problems.news.example/"
"""The base of derived problem ``type`` URIs until `set_problem_type_base` changes it.

``.example`` is reserved (RFC 2606): the URIs are stable identifiers that never resolve to a
third party. Point the base at real documentation when you have it.
"""

_type_base: str = DEFAULT_PROBLEM_TYPE_BASE


class APIError(NewsAPIError):
    """Root of the API errors: an exception that renders as an RFC 9457 problem response.

    Class attributes (set them in subclasses):
        status: HTTP status code (400-599).
        title: Short, human summary of the problem type (the same for every occurrence).
        code: Stable machine-readable code clients may switch on (``"article_locked"``).
        type: URI of the problem type; derived from `problem_type_base` and ``code`` unless set.

    Args:
        detail: Explanation of this occurrence, shown to the client (never put secrets or
            internal exception text here).
        headers: Extra response headers.
        **extensions: Extra problem members (``locked_by=12``); JSON-encodable values, not
            named like a standard member (``type``, ``title``, ``status``, ``detail``,
            ``instance``, ``code``, ``request_id``, ``errors``).

    Raises:
        APITypeError: (a TypeError) An extension is named like a standard member.

    Attributes:
        detail: As given.
        headers: Response headers this error adds (names lower case).
        extensions: Extra problem members.
    """

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal Server Error"
    code: ClassVar[str] = "internal_error"
    type: ClassVar[str] = DEFAULT_PROBLEM_TYPE_BASE + "internal_error"
    _auto_type: ClassVar[bool] = True

    detail: str | None
    headers: dict[str, str]
    extensions: dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__
        if not 400 <= cls.status <= 599:
            raise APITypeError(f"{cls.__name__}.status must be an HTTP error status (400-599)")
        if "status" in own and "title" not in own:
            cls.title = status_title(cls.status)
        if not cls.code:
            raise APITypeError(f"{cls.__name__}.code must be a non-empty string")
        if "type" in own:
            cls._auto_type = False
        elif "code" in own or cls._auto_type:
            cls._auto_type = True
            cls.type = _type_base + cls.code
        # else: the code is inherited from a parent with an explicit type: inherit that type too.

    def __init__(
        self,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        clash = RESERVED_MEMBERS.intersection(extensions)
        if clash:
            raise APITypeError(
                f"{type(self).__name__}: extension member(s) {', '.join(sorted(clash))} would "
                "replace standard problem members; set status, title, code and type as class "
                "attributes, pass detail as the first argument, and choose another name for "
                "extra members"
            )
        super().__init__(*(() if detail is None else (detail,)))
        self.detail = detail
        self.headers = {k.lower(): v for k, v in headers.items()} if headers else {}
        self.extensions = extensions

    def __str__(self) -> str:
        return self.detail if self.detail is not None else self.title

    def to_response(
        self, *, request_id: str | None = None, instance: str | None = None
    ) -> Response:
        """Render this error as an ``application/problem+json`` response.

        Args:
            request_id: The current request id, written as the ``request_id`` member.
            instance: URI reference of the occurrence, usually the request path.

        Raises:
            TypeError: An extension member cannot be JSON-encoded.
        """
        return problem(
            self.status,
            title=self.title,
            detail=self.detail,
            type=self.type,
            instance=instance,
            request_id=request_id,
            code=self.code,
            errors=self._field_errors(),
            headers=self.headers,
            **self.extensions,
        )

    def _field_errors(self) -> list[FieldError] | None:
        return None


def set_problem_type_base(base: str) -> None:
    """Set the URI prefix of derived problem types, for every `APIError` class (also existing ones).

    Classes that set ``type`` themselves keep it. Call once at startup::

        news_api.set_problem_type_base("https://developer.newsroom.example/problems/")

    Raises:
        APIUsageError: (a ValueError) ``base`` is empty.
    """
    global _type_base  # noqa: PLW0603 - one process-wide setting, documented
    if not base:
        raise APIUsageError("the problem type base must be a non-empty URI prefix")
    _type_base = base
    stack: list[type[APIError]] = [APIError]
    while stack:
        cls = stack.pop()
        if cls.__dict__.get("_auto_type", cls is APIError):
            cls.type = base + cls.code
        stack.extend(cls.__subclasses__())


def problem_type_base() -> str:
    """The current URI prefix of derived problem types."""
    return _type_base


ApiError = APIError
"""The spelling of ``APIError`` that ARCHITECTURE.md's public surface uses (same class)."""


class BadRequest(APIError):  # noqa: N818 - HTTP status names, per the cross-package contract
    """400: the request is malformed (syntax, missing body, bad cursor, bad query value)."""

    status = 400
    title = "Bad Request"
    code = "bad_request"


class MalformedJSON(BadRequest):
    """400: the body is not valid JSON (or not UTF-8); ``detail`` says where."""

    title = "Malformed JSON"
    code = "malformed_json"


class MissingBody(BadRequest):
    """400: the request needs a body and has none."""

    title = "Request body required"
    code = "body_required"


class InvalidCursor(BadRequest):
    """400: a pagination cursor is malformed, tampered with, or expired."""

    title = "Invalid cursor"
    code = "invalid_cursor"


class Unauthorized(APIError):  # noqa: N818 - HTTP status names, per the cross-package contract
    """401: missing or invalid credentials; sends a ``WWW-Authenticate`` challenge.

    Args:
        detail: Explanation for the client.
        challenge: The ``WWW-Authenticate`` value; defaults to the class' ``challenge``
            (``"Bearer"``). None sends no challenge header.
        headers: Extra response headers.
        **extensions: Extra problem members.
    """

    status = 401
    title = "Unauthorized"
    code = "unauthorized"
    challenge: ClassVar[str | None] = "Bearer"

    def __init__(
        self,
        detail: str | None = None,
        *,
        challenge: str | None = "",
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail, headers=headers, **extensions)
        value = type(self).challenge if challenge == "" else challenge
        if value:
            self.headers.setdefault("www-authenticate", value)


class Forbidden(APIError):  # noqa: N818 - HTTP status names, per the cross-package contract
    """403: authenticated, but not allowed to do this."""

    status = 403
    title = "Forbidden"
    code = "forbidden"


class NotFound(APIError):  # noqa: N818 - HTTP status names, per the cross-package contract
    """404: no such resource (or route)."""

    status = 404
    title = "Not Found"
    code = "not_found"


class MethodNotAllowed(APIError):  # noqa: N818 - HTTP status names, per the cross-package contract
    """405: the resource exists but not with this method; sends the ``Allow`` header.

    Args:
        detail: Explanation for the client.
        allow: The methods the resource supports (``["GET", "PUT"]``).
        headers: Extra response headers.
        **extensions: Extra problem members.
    """

    status = 405
    title = "Method Not Allowed"
    code = "method_not_allowed"

    def __init__(
        self,
        detail: str | None = None,
        *,
        allow: Iterable[str] = (),
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail, headers=headers, **extensions)
        methods = list(dict.fromkeys(m.upper() for m in allow))
        self.allow = methods
        self.headers.setdefault("allow", ", ".join(methods))


class Conflict(APIError):  # noqa: N818 - HTTP status names, per the cross-package contract
    """409: the request conflicts with the resource's current state (version, uniqueness)."""

    status = 409
    title = "Conflict"
    code = "conflict"


class PayloadTooLarge(APIError):  # noqa: N818 - HTTP status names, per the cross-package contract
    """413: the request body exceeds the accepted size."""

    status = 413
    title = "Payload Too Large"
    code = "payload_too_large"


class UnsupportedMediaType(APIError):  # noqa: N818 - HTTP status names, per the cross-package contract
    """415: the body's content type is not one the endpoint accepts."""

    status = 415
    title = "Unsupported Media Type"
    code = "unsupported_media_type"


class ValidationFailed(APIError):  # noqa: N818 - HTTP status names, per the cross-package contract
    """422: the body is well-formed JSON but fails the schema; ``errors`` names each field.

    Args:
        detail: Explanation for the client; derived from the first field error when omitted.
        errors: The failing fields, as `FieldError` or ``(field, message)`` pairs.
        headers: Extra response headers.
        **extensions: Extra problem members.

    Attributes:
        errors: The failing fields.
    """

    status = 422
    title = "Validation failed"
    code = "validation_failed"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Iterable[FieldError | tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        items = [e if isinstance(e, FieldError) else FieldError(*e) for e in errors]
        if detail is None and items:
            first = items[0]
            detail = f"{first.field}: {first.message}" if first.field else first.message
            if len(items) > 1:
                detail += f" (and {len(items) - 1} more)"
        super().__init__(detail, headers=headers, **extensions)
        self.errors = items

    @classmethod
    def for_field(cls, field: str, message: str, **extensions: Any) -> ValidationFailed:
        """One failing field: ``raise ValidationFailed.for_field("slug", "already taken")``."""
        return cls(errors=[FieldError(field, message)], **extensions)

    def _field_errors(self) -> list[FieldError] | None:
        return self.errors


_DAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS: Final = (
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
)


def _retry_after_value(retry_after: float | _dt.datetime) -> str:
    if isinstance(retry_after, _dt.datetime):
        if retry_after.tzinfo is None:
            raise APIUsageError("retry_after datetime must be timezone-aware")
        t = retry_after.astimezone(_dt.UTC)  # IMF-fixdate (RFC 9110), locale-independent
        return (
            f"{_DAYS[t.weekday()]}, {t.day:02d} {_MONTHS[t.month - 1]} {t.year:04d} "
            f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} GMT"
        )
    if retry_after < 0 or math.isnan(retry_after):
        raise APIUsageError("retry_after must be a number of seconds >= 0")
    return str(math.ceil(retry_after))


class TooManyRequests(APIError):  # noqa: N818 - HTTP status names, per the cross-package contract
    """429: rate limited; ``retry_after`` becomes the ``Retry-After`` header.

    Args:
        detail: Explanation for the client.
        retry_after: Seconds to wait (rounded up) or an aware datetime (sent as an HTTP date).
        headers: Extra response headers.
        **extensions: Extra problem members.

    Raises:
        APIUsageError: (a ValueError) ``retry_after`` is negative or a naive datetime.
    """

    status = 429
    title = "Too Many Requests"
    code = "too_many_requests"

    def __init__(
        self,
        detail: str | None = None,
        *,
        retry_after: float | _dt.datetime | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail, headers=headers, **extensions)
        self.retry_after = retry_after
        if retry_after is not None:
            self.headers["retry-after"] = _retry_after_value(retry_after)


class InternalServerError(APIError):
    """500: the service failed; ``detail`` must not carry internal exception text."""

    status = 500
    title = "Internal Server Error"
    code = "internal_error"


class ServiceUnavailable(APIError):  # noqa: N818 - HTTP status names, per the cross-package contract
    """503: temporarily unable to serve (dependency down, shutting down); optional Retry-After.

    Args:
        detail: Explanation for the client.
        retry_after: Seconds to wait (rounded up) or an aware datetime (sent as an HTTP date).
        headers: Extra response headers.
        **extensions: Extra problem members.

    Raises:
        APIUsageError: (a ValueError) ``retry_after`` is negative or a naive datetime.
    """

    status = 503
    title = "Service Unavailable"
    code = "service_unavailable"

    def __init__(
        self,
        detail: str | None = None,
        *,
        retry_after: float | _dt.datetime | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail, headers=headers, **extensions)
        self.retry_after = retry_after
        if retry_after is not None:
            self.headers["retry-after"] = _retry_after_value(retry_after)


class GatewayTimeout(APIError):  # noqa: N818 - HTTP status names, per the cross-package contract
    """504: the request took longer than the service allows (or an upstream did)."""

    status = 504
    title = "Gateway Timeout"
    code = "gateway_timeout"


def from_exception(
    exc: BaseException, *, request_id: str | None = None, instance: str | None = None
) -> Response:
    """Turn any exception into a problem response without leaking internals.

    An `APIError` renders as its own problem. Anything else becomes a generic 500
    (``detail: "internal error"``, code ``internal_error``): its type, message and traceback
    are for the log line, never for the client. If an `APIError`'s own rendering fails (an
    extension that cannot be encoded), the generic 500 is returned as well.
    """
    if isinstance(exc, APIError):
        try:
            return exc.to_response(request_id=request_id, instance=instance)
        except (TypeError, ValueError):
            pass
    return InternalServerError("internal error").to_response(
        request_id=request_id, instance=instance
    )
