"""Standard API responses for news platform services: envelopes, problem details, errors, decoding.

Responses are framework-free values (`Response`: status, headers, body bytes); news-http turns
them into Robyn responses, and Kafka workers or other frameworks can use them as they are::

    import msgspec
    import news_api


    class ArticleIn(msgspec.Struct, forbid_unknown_fields=True):
        title: str
        tags: list[str] = []


    def create_article(body: bytes) -> news_api.Response:
        article = news_api.decode(body, ArticleIn)  # MissingBody/MalformedJSON 400, 422
        return news_api.created({"id": 7, "title": article.title}, location="/v1/articles/7")


    try:
        response = create_article(b'{"title": 1}')
    except Exception as exc:
        response = news_api.from_exception(exc, request_id="r-1")  # never leaks internals
    response.status  # 422
    response.json()["errors"]  # [{"field": "title", "message": "Expected `str`, got `int`"}]

Success bodies are ``{"data": ..., "meta": ..., "links": ...}`` (``application/json``; meta and
links only when given). Errors are RFC 9457 problems (``application/problem+json``) with
``type``, ``title``, ``status``, ``detail``, ``instance``, ``code``, ``request_id`` and, for 422,
``errors``. Raise an `APIError` subclass (`NotFound`, `Conflict`, `TooManyRequests`...) or
subclass one with your own ``code``. Pagination: `offset_page` / `page_params` and
`cursor_page` / `cursor_params` with a signed `CursorCodec`; they read a query string, a mapping
or a framework's query object as it is (Robyn's ``request.query_params``).

Everything news-api raises is a `NewsAPIError`: the HTTP problems (`APIError`) and, for calling
news-api wrongly, `APIUsageError` (a ValueError) and `APITypeError` (a TypeError).
"""

from __future__ import annotations

from news_api.__about__ import __version__
from news_api._base import APITypeError, APIUsageError, NewsAPIError
from news_api._cursor import CursorCodec
from news_api._decode import decode
from news_api._errors import (
    DEFAULT_PROBLEM_TYPE_BASE,
    APIError,
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    GatewayTimeout,
    InternalServerError,
    InvalidCursor,
    MalformedJSON,
    MethodNotAllowed,
    MissingBody,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
    from_exception,
    problem_type_base,
    set_problem_type_base,
)
from news_api._pagination import (
    CursorParams,
    GetAllQuery,
    MultiItemsQuery,
    PageMeta,
    PageParams,
    Query,
    cursor_page,
    cursor_params,
    offset_links,
    offset_page,
    page_params,
)
from news_api._problem import FieldError, problem
from news_api._response import (
    JSON_MEDIA_TYPE,
    PROBLEM_MEDIA_TYPE,
    Response,
    created,
    encode_json,
    no_content,
    ok,
    to_asgi,
    to_wsgi,
)
from news_api._secret import SecretLike

# Tracebacks, reprs and docs name the public home (news_api.NotFound), not the private module.
# Not the Structs (Response, PageMeta, PageParams, CursorParams, FieldError): msgspec resolves
# their annotations in the module they name.
for _public in (
    APIError,
    APITypeError,
    APIUsageError,
    BadRequest,
    Conflict,
    CursorCodec,
    Forbidden,
    GatewayTimeout,
    GetAllQuery,
    InternalServerError,
    InvalidCursor,
    MalformedJSON,
    MethodNotAllowed,
    MissingBody,
    MultiItemsQuery,
    NewsAPIError,
    NotFound,
    PayloadTooLarge,
    SecretLike,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
    created,
    cursor_page,
    cursor_params,
    decode,
    encode_json,
    from_exception,
    no_content,
    offset_links,
    offset_page,
    ok,
    page_params,
    problem,
    problem_type_base,
    set_problem_type_base,
    to_asgi,
    to_wsgi,
):
    _public.__module__ = __name__
del _public

__all__ = [
    "DEFAULT_PROBLEM_TYPE_BASE",
    "JSON_MEDIA_TYPE",
    "PROBLEM_MEDIA_TYPE",
    "APIError",
    "APITypeError",
    "APIUsageError",
    "ApiError",
    "BadRequest",
    "Conflict",
    "CursorCodec",
    "CursorParams",
    "FieldError",
    "Forbidden",
    "GatewayTimeout",
    "GetAllQuery",
    "InternalServerError",
    "InvalidCursor",
    "MalformedJSON",
    "MethodNotAllowed",
    "MissingBody",
    "MultiItemsQuery",
    "NewsAPIError",
    "NotFound",
    "PageMeta",
    "PageParams",
    "PayloadTooLarge",
    "Query",
    "Response",
    "SecretLike",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "__version__",
    "created",
    "cursor_page",
    "cursor_params",
    "decode",
    "encode_json",
    "from_exception",
    "no_content",
    "offset_links",
    "offset_page",
    "ok",
    "page_params",
    "problem",
    "problem_type_base",
    "set_problem_type_base",
    "to_asgi",
    "to_wsgi",
]
