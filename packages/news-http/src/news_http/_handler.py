"""The innermost layer: call the route's handler with what it asks for, convert what it returns.

Arguments are resolved from the handler's signature once, at start-up, into one small getter per
parameter (Robyn's own resolution runs on every request and halves throughput):

==============================================  ==============================================
parameter                                       value
==============================================  ==============================================
annotated ``robyn.Request`` or named            the request
``request`` / ``req`` / ``r``
annotated with a ``msgspec.Struct`` (any name)  the JSON body, decoded with ``news_api.decode``
                                                (400 malformed/missing, 422 naming the field)
``body`` (other annotations)                    the raw body (str, or bytes if not UTF-8)
``news_http.FromQuery[SomeStruct]``             the query parameters named like its fields,
                                                converted (``list[...]`` fields take every
                                                value); 422 naming the one that does not fit
``path_params``, ``query_params``, ``headers``,  those attributes of the request
``method``, ``url``, ``ip_addr``, ``identity``,
``form_data``, ``files``
``global_dependencies``,                        Robyn's injected dependencies
``router_dependencies``
named like a route parameter (``:id``)          that path segment, percent-decoded, converted to
                                                the annotation (422 naming it when it cannot be)
any other name                                  the query parameter of that name, decoded and
                                                converted; ``list[...]`` gets every value; its
                                                default when absent, else 422 naming it
==============================================  ==============================================

A handler that takes a JSON body (a Struct parameter, or ``body`` decoded) refuses a non-empty body
of any other media type with 415 before it is called: ``application/json`` and
``application/*+json`` pass, whatever their parameters (``charset``); a body without
``Content-Type`` does not. So a web page cannot reach such a route with a "simple" cross-origin
request (``text/plain``, forms, ``no-cors``), which browsers send without a CORS preflight.
``@news_http.accepts(...)`` under the route decorator names the media types a route takes
instead (``accepts("*/*")``: any), for JSON routes and for routes that read the raw body.

Path and query parameters are converted with msgspec to their annotation as written, so
``Annotated[int, msgspec.Meta(ge=1, le=100)]`` (and ``Meta`` on ``str``, ``float``, lists...)
is enforced: a value outside it is a 422 naming the parameter.

Return values: a Robyn ``Response`` as is; a ``news_api.Response`` converted; ``dict``, ``list``
and msgspec Structs as JSON (``application/json``); ``str`` as ``text/plain; charset=utf-8``;
``bytes`` as ``application/octet-stream``; ``None`` as 204.
"""

from __future__ import annotations

import functools
import inspect
import re
import types
import typing
from typing import TYPE_CHECKING, Any, Final, cast
from urllib.parse import unquote, unquote_plus

import msgspec
from robyn import Request, Response

import news_api
from news_http._chain import is_async
from news_http._errors import HTTPConfigError
from news_http._types import QUERY

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from news_http._types import Handler

__all__ = ["JSON_MEDIA_TYPES", "accepts", "adapt_handler", "to_response"]

_ENCODER: Final = msgspec.json.Encoder()
_JSON: Final = "application/json"
_REQUEST_NAMES: Final = frozenset({"r", "req", "request"})
_ATTRIBUTE_NAMES: Final = frozenset(
    {
        "path_params",
        "query_params",
        "headers",
        "method",
        "url",
        "ip_addr",
        "identity",
        "form_data",
        "files",
    }
)
_DEPENDENCY_NAMES: Final = frozenset({"global_dependencies", "router_dependencies"})
_ACCEPTS_ATTR: Final = "__news_http_accepts__"
_MEDIA_TYPE: Final = re.compile(r"^[a-z0-9!#$&^_.+*-]+/[a-z0-9!#$&^_.+*-]+$")

#: What a route whose handler takes a JSON body accepts unless `accepts` says otherwise.
JSON_MEDIA_TYPES: Final = ("application/json", "application/*+json")


def accepts(*media_types: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Name the media types a route's request body may have; others get 415 problem+json.

    Put it under the route decorator::

        @app.post("/v1/images")
        @news_http.accepts("image/png", "image/jpeg")
        def upload(request: robyn.Request) -> news_api.Response: ...

    A route whose handler takes a JSON body accepts `JSON_MEDIA_TYPES` without it. Patterns may
    use ``*`` in the subtype (``application/*+json``, ``text/*``); ``"*/*"`` accepts anything,
    a missing ``Content-Type`` included. An empty body is never refused for its type. The 415
    answer lists the accepted types in ``Accept-Post`` (and ``Accept-Patch`` for PATCH).

    Raises:
        HTTPConfigError: No media type, or one that is not ``type/subtype``.
    """
    if not media_types:
        raise HTTPConfigError("accepts() needs at least one media type, e.g. 'application/json'")
    normalized = tuple(media_type.strip().lower() for media_type in media_types)
    for media_type in normalized:
        kind = media_type.partition("/")[0]
        if (
            not _MEDIA_TYPE.fullmatch(media_type)
            or media_type.count("*") > (2 if media_type == "*/*" else 1)
            or ("*" in kind and media_type != "*/*")
        ):
            raise HTTPConfigError(
                f"accepts({media_type!r}): a media type is 'type/subtype' without parameters, "
                "e.g. 'application/json', 'application/*+json', 'text/*' or '*/*'"
            )

    def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
        setattr(handler, _ACCEPTS_ATTR, normalized)
        return handler

    return decorate


def _media_matcher(media_types: tuple[str, ...]) -> Callable[[str], bool] | None:
    """A predicate over a lower-case ``type/subtype``; None when everything is accepted."""
    if "*/*" in media_types:
        return None
    exact = frozenset(m for m in media_types if "*" not in m)
    patterns = [
        re.compile("^" + ".*".join(re.escape(part) for part in m.split("*")) + "$")
        for m in media_types
        if "*" in m
    ]

    def matches(media_type: str) -> bool:
        return media_type in exact or any(p.match(media_type) for p in patterns)

    return matches


def _media_check(media_types: tuple[str, ...]) -> Callable[[Request], None] | None:
    """The check run before the handler: 415 for a body of a media type not accepted."""
    matches = _media_matcher(media_types)
    if matches is None:
        return None
    listed = ", ".join(media_types)
    detail = f"the request body must be one of: {listed}"

    def check(request: Request) -> None:
        if not request.body:
            return
        raw = request.headers.get("content-type")
        media_type = raw.split(";", 1)[0].strip().lower() if raw else ""
        if media_type and matches(media_type):
            return
        headers = {"accept-post": listed}
        if request.method == "PATCH":
            headers["accept-patch"] = listed
        raise news_api.UnsupportedMediaType(
            detail if media_type else f"the request body has no Content-Type; {detail}",
            headers=headers,
            accepted=list(media_types),
        )

    return check


def _the_request(request: Request) -> Request:
    return request


def to_response(result: Any, status: int = 200) -> Response:  # noqa: PLR0911 - one per kind
    """Convert a handler's return value into Robyn's `Response` (see the module docstring).

    ``status`` applies to values that carry none (dicts, Structs, text...): the route's
    ``status_code=`` in Robyn's decorators.

    Raises:
        TypeError: The value cannot be sent (it is logged as a 500 by the recovery layer).
    """
    kind = type(result)
    if kind is dict or kind is list:  # the common case first
        return Response(status, {"content-type": _JSON}, _ENCODER.encode(result))
    if kind is Response:
        return cast("Response", result)
    if isinstance(result, news_api.Response):
        return Response(result.status, dict(result.headers), result.body)
    if isinstance(result, dict | list | msgspec.Struct):
        return Response(status, {"content-type": _JSON}, _ENCODER.encode(result))
    if result is None:
        return Response(204, {}, b"")
    if isinstance(result, str):
        return Response(status, {"content-type": "text/plain; charset=utf-8"}, result.encode())
    if isinstance(result, bytes | bytearray | memoryview):
        return Response(status, {"content-type": "application/octet-stream"}, bytes(result))
    if isinstance(result, Response):  # a subclass
        return result
    try:
        body = _ENCODER.encode(result)  # dataclasses, attrs, tuples, datetimes...
    except TypeError:
        raise TypeError(
            f"handler returned a {type(result).__qualname__}, which news-http cannot send; "
            "return a dict, list, msgspec Struct, str, bytes, None, a news_api.Response "
            "or a robyn.Response"
        ) from None
    return Response(status, {"content-type": _JSON}, body)


def _unannotated(annotation: Any) -> Any:
    """``T`` of ``Annotated[T, ...]`` (the constraints stay on the annotation used to convert)."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _from_query(annotation: Any) -> bool:
    """Whether the parameter is ``FromQuery[...]`` (``news_http.QUERY`` in its metadata)."""
    return typing.get_origin(annotation) is typing.Annotated and any(
        meta is QUERY for meta in getattr(annotation, "__metadata__", ())
    )


def _is_struct_type(annotation: Any) -> bool:
    annotation = _unannotated(annotation)
    return isinstance(annotation, type) and issubclass(annotation, msgspec.Struct)


def _wants_body_decoding(annotation: Any) -> bool:
    annotation = _unannotated(annotation)
    if annotation is inspect.Parameter.empty or annotation is Any:
        return False
    return annotation not in (str, bytes, bytes | str, str | bytes)


def _converter(annotation: Any, field: str, where: str) -> Callable[[str], Any]:
    """Return a function turning the raw text of a parameter into the annotated type."""
    if annotation is inspect.Parameter.empty or annotation is str or annotation is Any:
        return lambda raw: raw

    def convert(raw: str) -> Any:
        try:
            return msgspec.convert(raw, annotation, strict=False)
        except msgspec.ValidationError as exc:
            message = str(exc).split(" - at `", 1)[0]
            raise news_api.ValidationFailed(
                errors=[(field, f"{where} parameter: {message}")]
            ) from None

    try:
        msgspec.inspect.type_info(annotation)
    except TypeError as exc:
        raise HTTPConfigError(
            f"parameter {field!r}: msgspec cannot convert text to {annotation!r}: {exc}"
        ) from exc
    return convert


def _is_list_annotation(annotation: Any) -> bool:
    """Whether a query parameter wants every value: ``list[int]``, ``list[str] | None``..."""
    annotation = _unannotated(annotation)
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_is_list_annotation(arg) for arg in typing.get_args(annotation))
    return False


def _takes_json(name: str, annotation: Any) -> bool:
    """Whether a parameter is the request body decoded from JSON."""
    if _from_query(annotation):
        return False
    return _is_struct_type(annotation) or (name == "body" and _wants_body_decoding(annotation))


_MISSING_FIELD: Final = re.compile(r"^Object missing required field `([^`]+)`")
_UNKNOWN_FIELD: Final = re.compile(r"^Object contains unknown field `([^`]+)`")


def _query_struct_getter(param: inspect.Parameter, annotation: Any) -> Callable[[Request], Any]:
    """``FromQuery[SomeStruct]``: the query parameters named like its fields, converted."""
    struct_type = _unannotated(annotation)
    if not _is_struct_type(struct_type):
        raise HTTPConfigError(
            f"parameter {param.name!r}: FromQuery[...] takes a msgspec.Struct, got {struct_type!r}"
        )
    fields = [
        (field.encode_name, field.name, _is_list_annotation(field.type))
        for field in msgspec.structs.fields(struct_type)
    ]
    forbid_unknown = bool(getattr(struct_type.__struct_config__, "forbid_unknown_fields", False))
    known = frozenset(encoded for encoded, _, _ in fields)

    def query_struct(request: Request) -> Any:
        query = request.query_params
        data: dict[str, Any] = {}
        for encoded, _, many in fields:
            if many:
                values = query.get_all(encoded)
                if values:
                    data[encoded] = [unquote_plus(v) for v in values]
            else:
                raw = query.get(encoded, None)
                if raw is not None:
                    data[encoded] = unquote_plus(raw)
        if forbid_unknown:
            for key in query.to_dict():
                if key not in known:
                    data[key] = ""  # msgspec names it as unknown below
        try:
            return msgspec.convert(data, struct_type, strict=False)
        except msgspec.ValidationError as exc:
            raise news_api.ValidationFailed(errors=[_query_error(str(exc))]) from None

    return query_struct


def _query_error(text: str) -> tuple[str, str]:
    """A msgspec validation message about a query Struct as (parameter, message)."""
    missing = _MISSING_FIELD.match(text)
    if missing is not None:
        return missing.group(1), "query parameter is required"
    unknown = _UNKNOWN_FIELD.match(text)
    if unknown is not None:
        return unknown.group(1), "unknown query parameter"
    message, _, where = text.partition(" - at `$.")
    name = re.split(r"[.\[`]", where, maxsplit=1)[0] if where else "query"
    return name, f"query parameter: {message}"


def _getter(  # noqa: PLR0911 - one getter per kind of parameter
    param: inspect.Parameter,
    annotation: Any,
    route_params: frozenset[str],
    dependencies: Mapping[str, Any],
) -> Callable[[Request], Any]:
    name = param.name
    if _unannotated(annotation) is Request or (
        name in _REQUEST_NAMES and annotation in (inspect.Parameter.empty, Any)
    ):
        return _the_request
    if _from_query(annotation):
        return _query_struct_getter(param, annotation)
    if _takes_json(name, annotation):
        required = param.default is inspect.Parameter.empty
        decode = news_api.decode

        def body(request: Request) -> Any:
            value = decode(request.body, annotation, required=required)
            return param.default if value is None and not required else value

        return body
    if name == "body":
        return lambda request: request.body
    if name in _ATTRIBUTE_NAMES:
        return lambda request: getattr(request, name)
    if name in _DEPENDENCY_NAMES:
        value = dependencies.get(name)
        return lambda request: value
    if name in route_params:
        convert = _converter(annotation, name, "path")
        return lambda request: convert(unquote(request.path_params[name]))
    return _query_getter(param, annotation)


def _query_getter(param: inspect.Parameter, annotation: Any) -> Callable[[Request], Any]:
    name = param.name
    default = param.default
    if _is_list_annotation(annotation):
        convert_all: Callable[[Any], Any] = _converter(annotation, name, "query")

        def many(request: Request) -> Any:
            values = request.query_params.get_all(name)
            if not values:
                if default is not inspect.Parameter.empty:
                    return default
                raise news_api.ValidationFailed(errors=[(name, "query parameter is required")])
            return convert_all([unquote_plus(v) for v in values])

        return many
    convert = _converter(annotation, name, "query")

    def one(request: Request) -> Any:
        raw = request.query_params.get(name, None)
        if raw is None:
            if default is not inspect.Parameter.empty:
                return default
            raise news_api.ValidationFailed(errors=[(name, "query parameter is required")])
        return convert(unquote_plus(raw))

    return one


def _route_params(route: str) -> frozenset[str]:
    return frozenset(
        segment[1:] for segment in route.split("/") if segment[:1] in (":", "*") and segment[1:]
    )


def adapt_handler(
    handler: Callable[..., Any],
    route: str,
    dependencies: Mapping[str, Any],
    *,
    status: int | None = None,
) -> Handler:
    """Return ``handler`` as a chain `Handler`: request in, Robyn `Response` out.

    Raises:
        HTTPConfigError: A parameter cannot be resolved (``*args``, positional-only...).
    """
    try:
        # include_extras: Annotated[int, msgspec.Meta(ge=1, le=100)] keeps its constraints
        # (without it they were stripped, and a query or path value out of range got through).
        hints = typing.get_type_hints(handler, include_extras=True)
    except Exception:  # noqa: BLE001 - unresolvable annotations: fall back to the raw ones
        hints = {}
    signature = inspect.signature(handler)
    route_params = _route_params(route)
    getters: list[tuple[str, Callable[[Request], Any]]] = []
    only_request = False
    takes_json = False
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise HTTPConfigError(
                f"handler {handler.__qualname__} for {route}: *args/**kwargs cannot be "
                "resolved; name the parameters you need"
            )
        if param.kind is param.POSITIONAL_ONLY:
            raise HTTPConfigError(
                f"handler {handler.__qualname__} for {route}: positional-only parameter "
                f"{param.name!r} cannot be passed by name"
            )
        annotation = hints.get(param.name, param.annotation)
        takes_json = takes_json or _takes_json(param.name, annotation)
        getter = _getter(param, annotation, route_params, dependencies)
        getters.append((param.name, getter))
        only_request = getter is _the_request and param.kind is not param.KEYWORD_ONLY

    call: Any = handler
    convert: Callable[[Any], Response] = (
        to_response if status is None else functools.partial(to_response, status=status)
    )
    asynchronous = is_async(handler)
    only_request = only_request and len(getters) == 1

    if asynchronous:
        if not getters:

            async def async_none(request: Request) -> Response:
                return convert(await call())

            adapted: Any = async_none
        elif only_request:

            async def async_request(request: Request) -> Response:
                return convert(await call(request))

            adapted = async_request
        else:

            async def async_kwargs(request: Request) -> Response:
                return convert(await call(**{name: get(request) for name, get in getters}))

            adapted = async_kwargs
    elif not getters:

        def sync_none(request: Request) -> Response:
            return convert(call())

        adapted = sync_none
    elif only_request:

        def sync_request(request: Request) -> Response:
            return convert(call(request))

        adapted = sync_request
    else:

        def sync_kwargs(request: Request) -> Response:
            return convert(call(**{name: get(request) for name, get in getters}))

        adapted = sync_kwargs
    declared: tuple[str, ...] | None = getattr(handler, _ACCEPTS_ATTR, None)
    media_types = declared if declared is not None else JSON_MEDIA_TYPES if takes_json else None
    check = _media_check(media_types) if media_types is not None else None
    if check is not None:
        adapted = _checked(adapted, check, asynchronous=asynchronous)
    result: Handler = functools.wraps(handler)(adapted)
    return result


def _checked(adapted: Any, check: Callable[[Request], None], *, asynchronous: bool) -> Any:
    """``adapted`` with the media-type ``check`` run first."""
    if asynchronous:

        async def async_checked(request: Request) -> Response:
            check(request)
            response: Response = await adapted(request)
            return response

        return async_checked

    def sync_checked(request: Request) -> Response:
        check(request)
        response: Response = adapted(request)
        return response

    return sync_checked
