"""`HTTPClient`: one dependency over aiohttp, with deadlines, retries, a breaker and a bulkhead.

One call, from the outside in::

    deadline (total_timeout) ─ retry loop (backoff, Retry-After, budget)
        └ attempt: breaker permit ─ bulkhead slot ─ [attempt_timeout] ─ token ─ aiohttp
                   request ─ whole body read ─ outcome to the breaker ─ metrics

Every error leaves as a news-client error, marked ``retryable`` for the retry loop: connect
failures always (nothing was sent), timeouts, resets and `retry_statuses` answers only for
idempotent requests (GET, HEAD, OPTIONS, PUT, DELETE, or any with an ``Idempotency-Key``).
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar, runtime_checkable

import msgspec

import news_log
from news_client._breaker import CircuitBreaker, CircuitBreakers
from news_client._bulkhead import Bulkhead
from news_client._errors import (
    BreakerOpenError,
    BulkheadFullError,
    CallTimeoutError,
    ClientClosedError,
    ClientConfigError,
    ConnectError,
    HTTPStatusError,
    NewsClientError,
    TransportError,
    status_error_class,
)
from news_client._metrics import resolve_metrics
from news_client._problem import parse_problem
from news_client._retry import Retry

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import TracebackType

    import aiohttp

    from news_client._metrics import ClientMetricsHook
    from news_client._settings import ClientSettings

__all__ = ["HTTPClient", "Response", "TokenSource", "default_is_failure"]

T = TypeVar("T")
E = TypeVar("E", bound=BaseException)

IDEMPOTENT_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_NO_JSON: Final[Any] = object()
_log: Final = news_log.get_logger("news_client")


@runtime_checkable
class TokenSource(Protocol):
    """Hands out a bearer token for outgoing requests (news-auth's `ClientCredentials` is one)."""

    async def token(self) -> str:
        """Return a valid access token (fetching or refreshing it when needed)."""
        ...

    def invalidate(self) -> None:
        """Forget the cached token (the dependency answered 401 with it)."""
        ...


class Response:
    """A complete answer: status, headers and the whole body (read before the call returns).

    Attributes:
        status: The HTTP status code (2xx or 3xx: errors are raised).
        headers: The response headers (case-insensitive).
        content: The body, as bytes.
    """

    __slots__ = ("content", "headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str], content: bytes) -> None:
        self.status = status
        self.headers = headers
        self.content = content

    def __repr__(self) -> str:
        return f"<Response {self.status} {len(self.content)} bytes>"

    def json(self, type: type[T] = Any) -> T:  # type: ignore[assignment]
        """Decode the body as JSON with msgspec, into ``type`` when given (a Struct...).

        Raises:
            msgspec.ValidationError: The body does not match ``type``.
            msgspec.DecodeError: The body is not JSON.
        """
        return msgspec.json.decode(self.content, type=type)

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (invalid bytes replaced)."""
        return self.content.decode("utf-8", "replace")


def default_is_failure(failure_statuses: frozenset[int]) -> Callable[[BaseException], bool]:
    """The breaker's failure predicate of a client: what says the dependency is unwell.

    Timeouts, connection errors and answers with a status in ``failure_statuses`` (5xx) are
    failures; 4xx answers (a 404, a 422) are successes: the dependency answered correctly.
    Bulkhead rejections and programming errors are neither.
    """

    def is_failure(exc: BaseException) -> bool:
        if isinstance(exc, HTTPStatusError):
            return exc.status in failure_statuses
        return isinstance(exc, (TransportError, CallTimeoutError, TimeoutError, OSError))

    return is_failure


class HTTPClient:
    """An HTTP client for one dependency: resilient calls, errors from problem details.

    Start it (``async with HTTPClient(settings, name="enrichment") as client:``, or hand it
    to news-http's ``app.manage(client)``), then call it with route templates::

        article = await client.get("/v1/articles/{id}", path_params={"id": 7})
        tags = (await client.post("/v1/tags", json=body, idempotency_key=key)).json()

    The route template (never the filled-in URL) labels metrics and errors.

    Args:
        settings: The dependency's settings (`ClientSettings`; ``base_url`` is required).
        name: The dependency's name in metrics, logs, errors and the breaker (default: the
            base URL's host).
        token_source: Adds ``Authorization: Bearer <token>`` to every request (news-auth's
            ``ClientCredentials``, or any `TokenSource`); a 401 invalidates the token and the
            request is sent once more with a new one.
        metrics: A `ClientMetricsHook` (default per ``settings.metrics``).
        breakers: A `CircuitBreakers` to take this client's breaker from (shared between
            clients of one host, say); default: a breaker of its own.
        is_failure: What counts as a failure for the breaker (default `default_is_failure`).
    """

    def __init__(
        self,
        settings: ClientSettings,
        *,
        name: str | None = None,
        token_source: TokenSource | None = None,
        metrics: ClientMetricsHook | None = None,
        breakers: CircuitBreakers | None = None,
        is_failure: Callable[[BaseException], bool] | None = None,
    ) -> None:
        if not settings.base_url:
            raise ClientConfigError(
                "base_url is empty: set the dependency's URL (e.g. "
                "NEWSROOM_ENRICHMENT__BASE_URL=http://enrichment:8080)"
            )
        parts = urllib.parse.urlsplit(settings.base_url)
        self.settings = settings
        self.name = name or parts.hostname or settings.base_url
        self.health_name = f"client:{self.name}"
        self._base = settings.base_url.rstrip("/")
        self._token_source = token_source
        self._metrics = resolve_metrics(metrics, settings.metrics)
        failure = is_failure or default_is_failure(settings.failure_statuses)
        self.breaker: CircuitBreaker | None = None
        if settings.breaker.enabled:
            if breakers is None:
                breakers = CircuitBreakers(settings.breaker, is_failure=failure)
            self.breaker = breakers.get(self.name)
            if self._metrics is not None:
                self.breaker.add_listener(self._metrics.breaker_state)
        self._is_failure = failure
        self.bulkhead = Bulkhead(settings.bulkhead, name=self.name)
        self.retry = Retry(settings.retry, name=self.name)
        self._static_headers = {
            "user-agent": settings.user_agent,
            **{k.lower(): v for k, v in settings.headers.items()},
        }
        self._rid_header = settings.request_id_header.lower()
        self._session: aiohttp.ClientSession | None = None
        self._timeout: aiohttp.ClientTimeout | None = None
        self._closing = False
        self._in_flight = 0
        self._idle: asyncio.Event | None = None
        # one line per error type per LogSettings.repeat_interval (10 s), with the count left out
        self._failures = _log.limited()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<HTTPClient {self.name!r} {self._base} {state}>"

    @property
    def running(self) -> bool:
        """Whether calls are accepted (started, not stopping)."""
        return self._session is not None and not self._closing

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the connection pool (no connection is made until the first call)."""
        if self._session is not None:
            return
        import aiohttp

        s = self.settings
        connector = aiohttp.TCPConnector(
            limit=s.pool_size,
            limit_per_host=0,
            keepalive_timeout=s.keepalive_timeout if s.keepalive_timeout > 0 else None,
            force_close=s.keepalive_timeout == 0,
            ttl_dns_cache=s.dns_cache_ttl or None,
            use_dns_cache=s.dns_cache_ttl > 0,
            ssl=self._ssl_context(),
        )
        # One timer per call is ours (the deadline). aiohttp adds one per new connection
        # (sock_connect; a pooled connection needs none, and a wait for the pool counts against
        # the deadline) and, only when read_timeout is shorter than the deadline, one per read.
        self._timeout = aiohttp.ClientTimeout(
            total=None,
            sock_connect=s.connect_timeout,
            sock_read=s.read_timeout if s.read_timeout < s.total_timeout else None,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            auto_decompress=True,
            raise_for_status=False,
            trust_env=False,
        )
        self._closing = False
        if self._metrics is not None and self.breaker is not None:
            state = self.breaker.state
            self._metrics.breaker_state(self.breaker.name, state, state)  # publish it now

    async def stop(self) -> None:
        """Refuse new calls, let in-flight ones finish (``stop_timeout``), close the pool.

        Bounded: calls still running after ``stop_timeout`` are cut off by the pool's closing
        (they fail with `TransportError`), and it is logged.
        """
        session = self._session
        if session is None:
            return
        self._closing = True
        try:
            if self._in_flight:
                self._idle = asyncio.Event()
                try:
                    async with asyncio.timeout(self.settings.stop_timeout):
                        await self._idle.wait()
                except TimeoutError:
                    _log.warning(
                        "stopping with calls in flight",
                        dependency=self.name,
                        in_flight=self._in_flight,
                        waited=self.settings.stop_timeout,
                    )
        finally:
            self._session = None
            try:
                async with asyncio.timeout(2.0):
                    await session.close()
            except BaseException as exc:
                _log.warning(
                    "connection pool did not close cleanly",
                    dependency=self.name,
                    error=f"{type(exc).__name__}: {exc}",
                )
                if isinstance(exc, asyncio.CancelledError):
                    raise

    async def __aenter__(self) -> HTTPClient:
        """Start."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop."""
        await self.stop()

    async def health_check(self) -> str:
        """Readiness: running; with ``health_path``, that route answers 2xx in time.

        Without ``health_path`` an open breaker does not fail the check (the service degrades
        instead of leaving the load balancer); the output names the breaker's state.

        Raises:
            ClientClosedError: The client is not running.
            NewsClientError: ``health_path`` did not answer 2xx in time.
        """
        if not self.running:
            raise ClientClosedError(f"client {self.name!r} is not running")
        state = self.breaker.state if self.breaker is not None else "off"
        if not self.settings.health_path:
            return f"breaker {state}"
        started = time.perf_counter()
        timeout = min(self.settings.total_timeout, 2.0)
        response = await self.request("GET", self.settings.health_path, timeout=timeout)
        millis = (time.perf_counter() - started) * 1000
        return f"{response.status} in {millis:.0f} ms, breaker {state}"

    # -- calls ----------------------------------------------------------------------------------

    async def get(self, route: str, **kwargs: Any) -> Response:
        """``request("GET", route, ...)``."""
        return await self.request("GET", route, **kwargs)

    async def post(self, route: str, **kwargs: Any) -> Response:
        """``request("POST", route, ...)`` (retried only with an ``idempotency_key``)."""
        return await self.request("POST", route, **kwargs)

    async def put(self, route: str, **kwargs: Any) -> Response:
        """``request("PUT", route, ...)``."""
        return await self.request("PUT", route, **kwargs)

    async def patch(self, route: str, **kwargs: Any) -> Response:
        """``request("PATCH", route, ...)`` (retried only with an ``idempotency_key``)."""
        return await self.request("PATCH", route, **kwargs)

    async def delete(self, route: str, **kwargs: Any) -> Response:
        """``request("DELETE", route, ...)``."""
        return await self.request("DELETE", route, **kwargs)

    async def request(
        self,
        method: str,
        route: str,
        *,
        path_params: Mapping[str, object] | None = None,
        params: Mapping[str, str | int | float] | None = None,
        json: Any = _NO_JSON,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> Response:
        """Send one request (retried per the settings) and return the complete answer.

        Args:
            method: GET, POST, ...
            route: A path template under the base URL, ``/v1/articles/{id}``: it names the
                call in metrics and errors; never put values in it, use ``path_params``.
            path_params: Values for the template's ``{names}`` (percent-encoded).
            params: Query parameters.
            json: A value to send as JSON (encoded with msgspec: Structs, dicts, lists...).
            data: A raw body instead.
            headers: Extra headers for this request.
            idempotency_key: Sent as ``Idempotency-Key``; makes POST and PATCH retryable.
            timeout: This call's total time limit (default ``total_timeout``).

        Raises:
            HTTPStatusError: A 4xx/5xx answer (its subclass for the status, with ``problem``).
            CallTimeoutError: The call's time limit passed.
            BreakerOpenError: The dependency's breaker is open; nothing was sent.
            BulkheadFullError: Too many calls to the dependency are in flight.
            TransportError: No answer (refused, reset); `ConnectError` when nothing was sent.
            ClientClosedError: The client is not running.
        """
        session = self._session
        if session is None or self._closing:
            raise ClientClosedError(
                f"client {self.name!r} is not running: start() it (or use async with, or "
                "app.manage(client)) before calling"
            )
        method = method.upper()
        url = self._url(route, path_params)
        sent = self._headers(headers, idempotency_key)
        if json is not _NO_JSON:
            body: bytes | str | None = msgspec.json.encode(json)
            sent.setdefault("content-type", "application/json")
        else:
            body = data
        retry_safe = method in IDEMPOTENT_METHODS or "idempotency-key" in sent
        limit = self.settings.total_timeout if timeout is None else timeout
        deadline = asyncio.get_running_loop().time() + limit
        state = _Call(self, session, method, route, url, params, sent, body, retry_safe, deadline)
        self._in_flight += 1
        try:
            return await self.retry.call(state.attempt, deadline=deadline)
        except NewsClientError as exc:
            self._failed(route, exc)
            raise
        finally:
            self._in_flight -= 1
            if not self._in_flight and self._idle is not None:
                self._idle.set()

    # -- internals ------------------------------------------------------------------------------

    def _url(self, route: str, path_params: Mapping[str, object] | None) -> str:
        if not route.startswith("/"):
            raise ClientConfigError(
                f"route {route!r} must start with '/' (a path under base_url {self._base!r})"
            )
        if path_params:
            try:
                route = route.format_map(
                    {k: urllib.parse.quote(str(v), safe="") for k, v in path_params.items()}
                )
            except (KeyError, IndexError, ValueError) as exc:
                raise ClientConfigError(
                    f"route {route!r}: path_params {sorted(path_params)} do not fill it ({exc})"
                ) from exc
        return self._base + route

    def _headers(
        self, extra: Mapping[str, str] | None, idempotency_key: str | None
    ) -> dict[str, str]:
        sent = dict(self._static_headers)
        context = news_log.get_context()
        if context:
            request_id = context.get("request_id")
            if request_id is not None:
                sent[self._rid_header] = str(request_id)
            traceparent = context.get("traceparent")
            if traceparent is not None:
                sent["traceparent"] = str(traceparent)
                tracestate = context.get("tracestate")
                if tracestate is not None:
                    sent["tracestate"] = str(tracestate)
        if extra:
            for key, value in extra.items():
                sent[key.lower()] = value
        if idempotency_key is not None:
            sent["idempotency-key"] = idempotency_key
        return sent

    def _failed(self, route: str, exc: NewsClientError) -> None:
        if isinstance(exc, HTTPStatusError) and exc.status < 500:
            return  # the dependency answered; the caller decides what a 404 means
        self._failures.warning(
            "call failed",
            repeat_key=(self.name, type(exc).__name__),
            dependency=self.name,
            route=route,
            error=f"{type(exc).__name__}: {exc}",
        )

    def _ssl_context(self) -> Any:
        s = self.settings
        if not s.base_url.startswith("https:"):
            return None
        import ssl

        tls = s.tls
        if not tls.verify:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            context = ssl.create_default_context(cafile=tls.ca_file)
        if tls.cert_file:
            password = tls.key_password.reveal() if tls.key_password else None
            context.load_cert_chain(tls.cert_file, tls.key_file, password=password)
        return context


class _Call:
    """One call's state across its attempts (the retry loop calls `attempt` for each)."""

    __slots__ = (
        "attempts",
        "body",
        "client",
        "deadline",
        "headers",
        "method",
        "params",
        "retry_safe",
        "route",
        "session",
        "url",
    )

    def __init__(  # noqa: PLR0917 - one call's state, built in one place
        self,
        client: HTTPClient,
        session: aiohttp.ClientSession,
        method: str,
        route: str,
        url: str,
        params: Mapping[str, str | int | float] | None,
        headers: dict[str, str],
        body: bytes | str | None,
        retry_safe: bool,
        deadline: float,
    ) -> None:
        self.client = client
        self.deadline = deadline
        self.session = session
        self.method = method
        self.route = route
        self.url = url
        self.params = params
        self.headers = headers
        self.body = body
        self.retry_safe = retry_safe
        self.attempts = 0

    async def attempt(self) -> Response:
        """Make one attempt: breaker permit, bulkhead slot, the exchange, its outcome."""
        client = self.client
        self.attempts += 1
        if self.attempts > 1:
            self._retrying()
        permit = self._permit()
        if not client.bulkhead.try_acquire():  # a free slot is the common case: no await
            await self._wait_for_slot(permit)
        started = time.perf_counter()
        try:
            if client.settings.attempt_timeout is None:
                response = await self._exchange(retry_on_401=True)
            else:
                response = await self._send()
        except asyncio.CancelledError:
            # Cancelled by the call's deadline: the dependency was too slow, a failure. By
            # anything else (the caller gave up): no outcome, the permit goes back.
            if asyncio.get_running_loop().time() >= self.deadline:
                self._settle(permit, started, "timeout", failed=True)
            elif client.breaker is not None:
                client.breaker.release(permit)
            raise
        except NewsClientError as exc:
            self._settle(permit, started, _label(exc), failed=client._is_failure(exc))
            raise
        except BaseException:
            if client.breaker is not None:
                client.breaker.release(permit)
            raise
        finally:
            client.bulkhead.release()
        self._settle(permit, started, str(response.status), failed=False)
        return response

    def _retrying(self) -> None:
        """Count a retry; refuse it when the client stopped meanwhile."""
        client = self.client
        if client._session is None:
            raise self._mark(
                ClientClosedError(f"client {client.name!r} stopped before this call retried"),
                False,
            )
        if client._metrics is not None:
            client._metrics.retried(client.name, self.route)

    def _permit(self) -> int:
        """The breaker's permit, or `BreakerOpenError` (counted, not retryable)."""
        client = self.client
        breaker = client.breaker
        if breaker is None:
            return 0
        try:
            return breaker.acquire()
        except BreakerOpenError as exc:
            if client._metrics is not None:
                client._metrics.rejected(client.name, "breaker_open")
            self._mark(exc, False)
            raise

    async def _wait_for_slot(self, permit: int) -> None:
        """Wait for a bulkhead slot, or give the permit back and raise (not retryable)."""
        client = self.client
        try:
            await client.bulkhead.acquire()
        except BaseException as exc:
            if client.breaker is not None:
                client.breaker.release(permit)
            if isinstance(exc, BulkheadFullError):
                if client._metrics is not None:
                    client._metrics.rejected(client.name, "bulkhead_full")
                self._mark(exc, False)
            raise

    def _settle(self, permit: int, started: float, status: str, *, failed: bool) -> None:
        """Give the attempt's outcome to the breaker and the metrics."""
        client = self.client
        seconds = time.perf_counter() - started
        if client.breaker is not None:
            if failed:
                client.breaker.failure(permit, seconds)
            else:
                client.breaker.success(permit, seconds)
        if client._metrics is not None:
            client._metrics.request(client.name, self.method, self.route, status, seconds)

    async def _send(self) -> Response:
        client = self.client
        attempt_timeout = client.settings.attempt_timeout
        if attempt_timeout is None:
            return await self._exchange(retry_on_401=True)
        try:
            async with asyncio.timeout(attempt_timeout):
                return await self._exchange(retry_on_401=True)
        except TimeoutError as exc:
            if isinstance(exc, NewsClientError):
                raise
            raise self._mark(
                CallTimeoutError(
                    f"{self.method} {client.name}{self.route}: no answer within the attempt "
                    f"timeout ({attempt_timeout:g}s)",
                    dependency=client.name,
                    timeout=attempt_timeout,
                ),
                self.retry_safe,
            ) from exc

    async def _exchange(self, *, retry_on_401: bool) -> Response:
        aiohttp = _aiohttp()
        client = self.client
        headers = self.headers
        source = client._token_source
        if source is not None:
            headers["authorization"] = f"Bearer {await source.token()}"
        try:
            async with self.session.request(
                self.method, self.url, params=self.params, data=self.body, headers=headers
            ) as answer:
                content = await answer.read()
                status = answer.status
                answer_headers = answer.headers
        except aiohttp.ClientConnectorError as exc:
            raise self._mark(
                ConnectError(
                    f"{self.method} {client.name}{self.route}: cannot connect to "
                    f"{client._base}: {exc.os_error}",
                    dependency=client.name,
                ),
                True,
            ) from exc
        except aiohttp.ConnectionTimeoutError as exc:
            raise self._mark(
                ConnectError(
                    f"{self.method} {client.name}{self.route}: no connection to {client._base} "
                    f"within {client.settings.connect_timeout:g}s",
                    dependency=client.name,
                ),
                True,
            ) from exc
        except aiohttp.ServerTimeoutError as exc:
            raise self._mark(
                CallTimeoutError(
                    f"{self.method} {client.name}{self.route}: the dependency went silent for "
                    f"{client.settings.read_timeout:g}s (read_timeout)",
                    dependency=client.name,
                    timeout=client.settings.read_timeout,
                ),
                self.retry_safe,
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise self._mark(
                TransportError(
                    f"{self.method} {client.name}{self.route}: no complete answer: "
                    f"{type(exc).__name__}: {exc}",
                    dependency=client.name,
                ),
                self.retry_safe,
            ) from exc
        if status < 400:
            return Response(status, answer_headers, content)
        if status == 401 and source is not None and retry_on_401:
            source.invalidate()
            return await self._exchange(retry_on_401=False)
        raise self._status_error(status, answer_headers, content)

    def _status_error(
        self, status: int, headers: Mapping[str, str], content: bytes
    ) -> HTTPStatusError:
        client = self.client
        problem = parse_problem(content, headers.get("Content-Type", ""))
        cls = status_error_class(status)
        message = f"{self.method} {client.name}{self.route}: {status}"
        title = problem.title if problem is not None else None
        message += f" {title}" if title else ""
        if problem is not None and problem.detail:
            message += f": {problem.detail}"
        extras = [
            f"{key} {value}"
            for key, value in (
                ("code", problem.code if problem else None),
                ("request_id", problem.request_id if problem else None),
            )
            if value
        ]
        if extras:
            message += f" ({', '.join(extras)})"
        error = cls(
            message,
            status=status,
            method=self.method,
            dependency=client.name,
            route=self.route,
            headers=headers,
            body=content,
            problem=problem,
        )
        return self._mark(error, self.retry_safe and status in client.settings.retry_statuses)

    @staticmethod
    def _mark(error: E, retryable: bool) -> E:
        error.retryable = retryable  # type: ignore[attr-defined]
        return error


_AIOHTTP: list[Any] = []


def _aiohttp() -> Any:
    """The aiohttp module, imported on first use (``import news_client`` stays light)."""
    if not _AIOHTTP:
        import aiohttp

        _AIOHTTP.append(aiohttp)
    return _AIOHTTP[0]


def _label(exc: BaseException) -> str:
    if isinstance(exc, HTTPStatusError):
        return str(exc.status)
    if isinstance(exc, ConnectError):
        return "connect_error"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "transport_error"
