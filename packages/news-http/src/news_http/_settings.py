"""Settings of news-http: plain frozen msgspec Structs that news-config (or code) fills.

A service nests `HTTPSettings` in its own settings Struct; news-config then reads
``NEWSROOM_HTTP__PORT``, ``NEWSROOM_HTTP__CORS__ORIGINS`` and so on from the environment.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from news_http._errors import HTTPConfigError

__all__ = ["CORSSettings", "HTTPSettings", "SecurityHeaders"]


class CORSSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Cross-origin resource sharing, per the Fetch standard; off while no origin is allowed."""

    origins: Annotated[
        tuple[str, ...],
        msgspec.Meta(
            description="Allowed origins, exactly as browsers send them "
            "('https://news.example', scheme and host and port, no path), or '*' for any "
            "origin (not together with credentials). Empty (with no patterns): CORS is off."
        ),
    ] = ()
    origin_patterns: Annotated[
        tuple[str, ...],
        msgspec.Meta(
            description="Regular expressions an origin must match in full to be allowed, "
            r"e.g. 'https://[a-z0-9-]+\.news\.example'."
        ),
    ] = ()
    methods: Annotated[
        tuple[str, ...],
        msgspec.Meta(description="Methods a cross-origin request may use (preflight answer)."),
    ] = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
    headers: Annotated[
        tuple[str, ...],
        msgspec.Meta(
            description="Request headers a cross-origin request may send; '*' allows any."
        ),
    ] = ("Authorization", "Content-Type", "X-Request-ID", "traceparent", "tracestate")
    expose_headers: Annotated[
        tuple[str, ...],
        msgspec.Meta(description="Response headers browser scripts may read."),
    ] = ("X-Request-ID",)
    credentials: Annotated[
        bool,
        msgspec.Meta(
            description="Allow cookies and HTTP auth on cross-origin requests "
            "(Access-Control-Allow-Credentials). Needs explicit origins, never '*'."
        ),
    ] = False
    max_age: Annotated[
        int,
        msgspec.Meta(
            ge=0, le=86_400, description="Seconds a browser may cache a preflight answer."
        ),
    ] = 600


class SecurityHeaders(msgspec.Struct, frozen=True, kw_only=True):
    """Static security headers set on every response (Rust side); an empty value drops one."""

    enabled: Annotated[bool, msgspec.Meta(description="Send the security headers at all.")] = True
    content_type_options: Annotated[
        str, msgspec.Meta(description="X-Content-Type-Options value; empty: not sent.")
    ] = "nosniff"
    frame_options: Annotated[
        str, msgspec.Meta(description="X-Frame-Options value; empty: not sent.")
    ] = "DENY"
    referrer_policy: Annotated[
        str, msgspec.Meta(description="Referrer-Policy value; empty: not sent.")
    ] = "no-referrer"
    content_security_policy: Annotated[
        str,
        msgspec.Meta(
            description="Content-Security-Policy value (the default suits a JSON API); "
            "empty: not sent."
        ),
    ] = "default-src 'none'; frame-ancestors 'none'"
    hsts: Annotated[
        bool,
        msgspec.Meta(
            description="Send Strict-Transport-Security (only when every client reaches the "
            "service over HTTPS, e.g. behind a TLS-terminating proxy)."
        ),
    ] = False
    hsts_max_age: Annotated[
        int, msgspec.Meta(ge=0, description="Strict-Transport-Security max-age, in seconds.")
    ] = 31_536_000
    hsts_include_subdomains: Annotated[
        bool, msgspec.Meta(description="Add includeSubDomains to Strict-Transport-Security.")
    ] = True
    hsts_preload: Annotated[
        bool, msgspec.Meta(description="Add preload to Strict-Transport-Security.")
    ] = False
    extra: Annotated[
        dict[str, str],
        msgspec.Meta(
            description='More static response headers, e.g. {"Cache-Control": "no-store"}.'
        ),
    ] = {}


class HTTPSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How a service serves HTTP: address, processes, limits, CORS, headers, logging, shutdown."""

    host: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            description="Address to listen on: 0.0.0.0 (all IPv4 interfaces, the container "
            "default) or 127.0.0.1 (this machine only).",
        ),
    ] = "0.0.0.0"  # noqa: S104 - a service in a container listens on all interfaces
    port: Annotated[int, msgspec.Meta(ge=1, le=65_535, description="TCP port.")] = 8080
    processes: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=256,
            description="Worker processes sharing the port. 1 serves in the calling process; "
            "more fork workers supervised by the calling process.",
        ),
    ] = 1
    workers: Annotated[
        int,
        msgspec.Meta(
            ge=1, le=256, description="Server threads per process (Robyn's actix workers)."
        ),
    ] = 1
    request_id_header: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            pattern=r"^[A-Za-z0-9-]+$",
            description="Header carrying the request id in and out.",
        ),
    ] = "X-Request-ID"
    max_body_bytes: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            description="Largest request body accepted; larger ones get 413 before the "
            "handler runs, but only once Robyn has read them into memory: enforce the same "
            "limit in the fronting proxy. 0 accepts no body at all.",
        ),
    ] = 1024 * 1024
    request_timeout: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            description="Seconds a handler may take before the client gets 504; 0 disables. "
            "Async handlers are cancelled; sync handlers cannot be interrupted and get 504 "
            "when they overrun.",
        ),
    ] = 30.0
    shutdown_grace: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            description="Seconds in-flight requests may take to finish after SIGTERM/SIGINT; "
            "then the connections still open are closed and the shutdown hooks run.",
        ),
    ] = 25.0
    hook_timeout: Annotated[
        float,
        msgspec.Meta(
            gt=0.0,
            description="Seconds each startup or shutdown hook (and managed resource's "
            "start or stop) may take; one that overruns is cancelled or left behind. A "
            "resource's stop gets its own stop_timeout when longer (a Kafka consumer's "
            "stop_timeout_ms, a publisher's close_timeout_ms).",
        ),
    ] = 10.0
    access_log: Annotated[
        bool, msgspec.Meta(description="Write one structured log line per request.")
    ] = True
    trusted_proxies: Annotated[
        tuple[str, ...],
        msgspec.Meta(
            description="Addresses or CIDR networks of proxies whose X-Forwarded-For is "
            "believed when logging the client address (e.g. '10.0.0.0/8'). Empty: the peer "
            "address is the client."
        ),
    ] = ()
    compression: Annotated[
        bool,
        msgspec.Meta(
            description="Compress text/JSON responses (gzip; brotli when enabled) for clients "
            "that accept it."
        ),
    ] = True
    compression_min_bytes: Annotated[
        int,
        msgspec.Meta(ge=0, description="Smallest body worth compressing, in bytes."),
    ] = 1024
    compression_level: Annotated[
        int, msgspec.Meta(ge=1, le=9, description="gzip level (1 fastest, 9 smallest).")
    ] = 6
    brotli: Annotated[
        bool,
        msgspec.Meta(
            description="Also offer brotli (needs: pip install 'news-http[brotli]'); "
            "preferred over gzip when the client accepts both."
        ),
    ] = False
    docs: Annotated[
        bool,
        msgspec.Meta(description="Serve Robyn's /docs and /openapi.json (off in production)."),
    ] = False
    cors: Annotated[
        CORSSettings,
        msgspec.Meta(
            description="Cross-origin resource sharing (changes live: NewsApp.set_cors).",
            extra={"live": True},
        ),
    ] = CORSSettings()
    security_headers: Annotated[
        SecurityHeaders, msgspec.Meta(description="Static security response headers.")
    ] = SecurityHeaders()
    metrics: Annotated[
        Literal["auto", "on", "off"],
        msgspec.Meta(
            description="Prometheus metrics (needs: pip install 'news-http[metrics]'): record "
            "every request with news-metrics' HTTPMetrics and serve metrics_path. auto: on when "
            "news-metrics is installed; on: fail at start-up without it; off: neither (a hook "
            "passed to create_app is still called)."
        ),
    ] = "auto"
    metrics_path: Annotated[
        str, msgspec.Meta(description="Path of the Prometheus exposition endpoint (GET).")
    ] = "/metrics"
    health: Annotated[
        Literal["auto", "on", "off"],
        msgspec.Meta(
            description="Liveness and readiness endpoints backed by app.health, a news-health "
            "HealthRegistry (needs: pip install 'news-http[health]'). auto: on when news-health "
            "is installed; on: fail at start-up without it; off: no endpoints, app.health is None."
        ),
    ] = "auto"
    liveness_path: Annotated[
        str,
        msgspec.Meta(
            description="Path of the liveness probe (GET): 200 while the process is not wedged, "
            "503 otherwise; application/health+json."
        ),
    ] = "/health/live"
    readiness_path: Annotated[
        str,
        msgspec.Meta(
            description="Path of the readiness probe (GET): 200 once startup hooks ran and the "
            "critical checks pass; 503 while starting, failing or shutting down."
        ),
    ] = "/health/ready"
    internal_port: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            le=65535,
            description="Port of a separate listener for metrics_path, liveness_path and "
            "readiness_path (the usual Prometheus setup: a port that only the cluster reaches, "
            "e.g. 9090); they are then not served on the public port. 0: they are served on the "
            "public port, without authentication, to anyone who can reach it.",
        ),
    ] = 0
    internal_host: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            description="Address of the internal listener (internal_port): 0.0.0.0 lets "
            "Prometheus and the kubelet reach it on the pod's address; 127.0.0.1 keeps it to "
            "this machine.",
        ),
    ] = "0.0.0.0"  # noqa: S104 - the pod's address, where Prometheus and the kubelet connect
    shutdown_delay: Annotated[
        float,
        msgspec.Meta(
            ge=0.0,
            description="Seconds readiness answers 503 after SIGTERM/SIGINT while the server "
            "still accepts requests, before it stops accepting and drains (lets Kubernetes "
            "take the pod out of its endpoints first; about 5 s there). 0: stop at once.",
        ),
    ] = 0.0

    def __post_init__(self) -> None:
        """Check the endpoint paths and ports (HTTPConfigError, a ValueError, names the field)."""
        if self.internal_port and self.internal_port == self.port:
            raise HTTPConfigError(
                f"internal_port {self.internal_port} is also the public port: choose another "
                "internal_port (e.g. 9090), or 0 to serve metrics and probes on the public port"
            )
        seen: dict[str, str] = {}
        for field in ("metrics_path", "liveness_path", "readiness_path"):
            path: str = getattr(self, field)
            if not path.startswith("/"):
                raise HTTPConfigError(f"{field} must start with '/', e.g. '/metrics'; got {path!r}")
            if any(ch in path for ch in "?# \t\r\n") or (path != "/" and path.endswith("/")):
                raise HTTPConfigError(
                    f"{field} must be a plain path without query, fragment, whitespace or "
                    f"trailing slash; got {path!r}"
                )
            if ":" in path or "*" in path:
                raise HTTPConfigError(
                    f"{field} must be a fixed path without ':param' or '*catch-all' segments; "
                    f"got {path!r}"
                )
            if path in seen:
                raise HTTPConfigError(
                    f"{field} and {seen[path]} are both {path!r}; give each endpoint its own path"
                )
            seen[path] = field
