"""Rate limits on news-http routes (``pip install "news-redis[http]"``).

A news-http middleware (a handler wrapper, composed once per route) that checks a
`RateLimiter` before the handler runs::

    from news_redis.http import by_client_address, rate_limit

    limiter = news_redis.RateLimiter(redis)
    per_client = rate_limit(limiter, "100/minute", key=by_client_address(app), name="writes")


    @app.post("/v1/articles")
    @news_http.with_middleware(per_client)  # one route; or create_app(middleware=[...])
    async def create_article(article: ArticleIn) -> news_api.Response: ...

Admitted responses carry the IETF ``RateLimit-Policy`` and ``RateLimit`` headers
(draft-ietf-httpapi-ratelimit-headers: ``"writes";q=100;w=60`` and ``"writes";r=42;t=17``).
A refused request gets a 429 ``application/problem+json`` with ``Retry-After`` and the same
headers; a ``fail="closed"`` limit whose Redis is unavailable answers 503 with
``Retry-After: 1``. Keys: `by_client_address` (honouring the app's ``trusted_proxies``),
`by_header` (an API key, hashed), `by_identity` (the authenticated subject), `first_of`.
The limit's rate can change while serving: ``per_client.set_rate("200/minute")``.

This module imports news-http and news-api; ``import news_redis`` does not.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import ipaddress
import math
from typing import TYPE_CHECKING, Any

try:
    import news_api
except ModuleNotFoundError as _missing:  # pragma: no cover - depends on the install
    if _missing.name is None or not _missing.name.startswith("news_api"):
        raise
    raise ModuleNotFoundError(
        'news_redis.http needs news-http: pip install "news-redis[http]"', name="news_api"
    ) from _missing

from news_redis._errors import RateLimitUnavailableError, RedisConfigError
from news_redis._limiter import Rate, RateLimiter

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from robyn import Request, Response

    from news_http import Handler, NewsApp
    from news_redis._limiter import FailMode, RateLimitResult

__all__ = [
    "KeyFunc",
    "RateLimit",
    "by_client_address",
    "by_header",
    "by_identity",
    "first_of",
    "rate_limit",
]

KeyFunc = "Callable[[Request], str | None]"
"""Makes a request's limit key (``ip:203.0.113.7``); None: this policy does not apply."""

_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class _ClientAddress:
    """The client's address: the peer, or X-Forwarded-For's first untrusted hop from the right.

    The same rule as news-http's access log (``HTTPSettings.trusted_proxies``): hops added by
    trusted proxies are skipped right to left; anything left of the first untrusted address
    may be forged by the client and is ignored.
    """

    __slots__ = ("_app", "_networks", "_proxies", "_seen")

    def __init__(self, trusted: Iterable[str] | NewsApp) -> None:
        self._app: Any = None
        self._seen: Any = None
        self._proxies: tuple[str, ...] | None = None
        self._networks: tuple[_Network, ...] = ()
        if hasattr(trusted, "settings"):
            self._app = trusted
        else:
            self._use(tuple(trusted))

    def _use(self, proxies: tuple[str, ...]) -> None:
        try:
            self._networks = tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies)
        except ValueError as exc:
            raise RedisConfigError(f"trusted proxies: {exc}") from exc
        self._proxies = proxies

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in network for network in self._networks)

    def __call__(self, request: Request) -> str | None:
        app = self._app
        if app is not None and app.settings is not self._seen:  # replaced until it serves
            self._seen = app.settings
            self._use(tuple(app.settings.trusted_proxies))
        peer: str | None = request.ip_addr
        address = peer
        if self._networks and peer is not None and self._trusted(peer):
            forwarded = request.headers.get("x-forwarded-for")
            if forwarded:
                hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
                address = hops[0] if hops else peer
                for hop in reversed(hops):
                    if not self._trusted(hop):
                        try:
                            address = str(ipaddress.ip_address(hop))
                        except ValueError:
                            address = peer
                        break
        return f"ip:{address}" if address else None


def by_client_address(
    trusted_proxies: Iterable[str] | NewsApp = (),
) -> Callable[[Request], str | None]:
    """Key by the client's address, believing X-Forwarded-For only from trusted proxies.

    Pass the app (``by_client_address(app)``) to use its ``HTTPSettings.trusted_proxies``
    (the rule of its access log's ``client_ip``), or the proxies' addresses and networks.

    Raises:
        RedisConfigError: A trusted proxy is not an address or a network.
    """
    return _ClientAddress(trusted_proxies)


def by_header(name: str, *, prefix: str = "key") -> Callable[[Request], str | None]:
    """Key by a request header, e.g. an API key (``x-api-key``); absent: not limited here.

    The value is hashed (SHA-256, 128 bits) so that Redis never holds the key itself.
    """
    header = name.lower()

    def key(request: Request) -> str | None:
        value = request.headers.get(header)
        if not value:
            return None
        return f"{prefix}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"

    return key


def by_identity(claim: str = "sub", *, prefix: str = "sub") -> Callable[[Request], str | None]:
    """Key by the authenticated caller (``request.identity.claims[claim]``); none: not limited."""

    def key(request: Request) -> str | None:
        identity = getattr(request, "identity", None)
        claims = getattr(identity, "claims", None) if identity is not None else None
        value = claims.get(claim) if isinstance(claims, dict) else None
        return f"{prefix}:{value}" if value else None

    return key


def first_of(*keys: Callable[[Request], str | None]) -> Callable[[Request], str | None]:
    """The first key that applies: ``first_of(by_identity(), by_client_address(app))``."""
    if not keys:
        raise RedisConfigError("first_of() needs at least one key function")

    def key(request: Request) -> str | None:
        for make in keys:
            value = make(request)
            if value is not None:
                return value
        return None

    return key


def _is_async(handler: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__func__", None)
    )


def _sf_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Policy:
    """What one rate means on the wire; replaced as a whole by `RateLimit.set_rate`."""

    __slots__ = ("limit_detail", "policy_header", "rate")

    def __init__(self, rate: Rate, name: str) -> None:
        self.rate = rate
        self.policy_header = f"{_sf_string(name)};q={rate.limit};w={math.ceil(rate.period)}"
        self.limit_detail = f"more than {rate.limit} requests in {rate.period:g} s"


class RateLimit:
    """A news-http middleware admitting at most `rate` requests per key; made by `rate_limit`.

    Use it like any middleware (``news_http.with_middleware(limit)``, or in
    ``create_app(middleware=[...])``). `set_rate` changes the rate of every route it wraps
    while serving (for settings that change live, ``news_config.watch``).
    """

    __slots__ = ("_policy", "cost", "fail", "key", "limiter", "name")

    def __init__(  # noqa: PLR0917 - rate_limit's arguments, checked there
        self,
        limiter: RateLimiter,
        rate: Rate,
        key: Callable[[Request], str | None],
        fail: FailMode,
        name: str,
        cost: int,
    ) -> None:
        self.limiter = limiter
        self.key = key
        self.fail: FailMode = fail
        self.name = name
        self.cost = cost
        self._policy = _Policy(rate, name)

    @property
    def rate(self) -> Rate:
        """The rate in force."""
        return self._policy.rate

    def set_rate(self, rate: Rate | str) -> None:
        """Admit at most *rate* from the next request on, on every route this limit wraps.

        The windows already counted stay (in Redis or in memory): a lower limit refuses at
        once a key that is over it; a higher one admits it again.

        Raises:
            RedisConfigError: *rate* is not a rate (the rate in force stays).
        """
        self._policy = _Policy(Rate.parse(rate), self.name)

    def __repr__(self) -> str:
        return f"<RateLimit {self.name!r} {self.rate}>"

    def __call__(self, next_handler: Handler) -> Handler:
        """Wrap *next_handler* (a news-http middleware)."""
        limiter, make_key, name, cost, fail = (
            self.limiter,
            self.key,
            self.name,
            self.cost,
            self.fail,
        )
        label = _sf_string(name)

        def refuse(result: RateLimitResult, policy: _Policy) -> news_api.APIError:
            retry = result.retry_after
            return news_api.TooManyRequests(
                f"rate limit {name!r} exceeded: {policy.limit_detail}",
                retry_after=None if math.isinf(retry) else max(1, math.ceil(retry)),
                headers={
                    "ratelimit-policy": policy.policy_header,
                    "ratelimit": (
                        f"{label};r={max(0, result.remaining)};t={math.ceil(result.reset_after)}"
                    ),
                },
            )

        def unavailable(exc: RateLimitUnavailableError) -> news_api.APIError:
            return news_api.ServiceUnavailable(
                "the rate limit cannot be checked right now; retry shortly", retry_after=1
            )

        def decorate(response: Response, result: RateLimitResult, policy: _Policy) -> Response:
            # append: stacked limits each add their item (several field lines form one list)
            headers = response.headers
            headers.append("ratelimit-policy", policy.policy_header)
            headers.append(
                "ratelimit",
                f"{label};r={max(0, result.remaining)};t={math.ceil(result.reset_after)}",
            )
            return response

        if _is_async(next_handler):
            call_async: Any = next_handler

            @functools.wraps(next_handler)
            async def async_handler(request: Request) -> Response:
                subject = make_key(request)
                if subject is None:
                    response: Response = await call_async(request)
                    return response
                policy = self._policy
                try:
                    result = await limiter.check(
                        subject, policy.rate, cost=cost, fail=fail, policy=name
                    )
                except RateLimitUnavailableError as exc:
                    raise unavailable(exc) from exc
                if not result.allowed:
                    raise refuse(result, policy)
                return decorate(await call_async(request), result, policy)

            return async_handler

        call: Any = next_handler

        @functools.wraps(next_handler)
        def sync_handler(request: Request) -> Response:
            subject = make_key(request)
            if subject is None:
                response: Response = call(request)
                return response
            policy = self._policy
            try:
                result = limiter.check_sync(subject, policy.rate, cost=cost, fail=fail, policy=name)
            except RateLimitUnavailableError as exc:
                raise unavailable(exc) from exc
            if not result.allowed:
                raise refuse(result, policy)
            return decorate(call(request), result, policy)

        return sync_handler


def rate_limit(
    limiter: RateLimiter,
    rate: Rate | str,
    *,
    key: Callable[[Request], str | None] | None = None,
    fail: FailMode = "open",
    name: str = "default",
    cost: int = 1,
) -> RateLimit:
    """A news-http middleware that admits at most ``rate`` requests per key.

    Args:
        limiter: Where the windows are kept (Redis, or in memory).
        rate: ``"100/minute"`` or a `Rate`; `RateLimit.set_rate` changes it while serving.
        key: Whom to count (default: `by_client_address` without trusted proxies; pass
            ``by_client_address(app)`` behind a proxy). A key of None skips the limit.
        fail: When Redis is unavailable: ``open`` (the limiter's in-process fallback decides)
            or ``closed`` (503).
        name: The policy's name, in the headers, the Redis key, logs and metrics.
        cost: Units each request takes.

    Returns:
        The middleware, a `RateLimit`.

    Raises:
        RedisConfigError: ``rate`` is not a rate, ``fail`` is neither open nor closed, or
            ``name`` is empty.
    """
    parsed = Rate.parse(rate)
    if fail not in {"open", "closed"}:
        raise RedisConfigError(f"fail must be 'open' or 'closed', not {fail!r}")
    if not name:
        raise RedisConfigError("a rate limit needs a name (name='writes')")
    return RateLimit(limiter, parsed, key or by_client_address(), fail, name, cost)
