"""MetricsServer: the standalone exposition for Kafka-only workers, over real sockets."""

from __future__ import annotations

import asyncio
import socket

import pytest

import news_metrics

OPENMETRICS = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"


async def exchange(port: int, *requests: bytes) -> list[tuple[str, dict[str, str], bytes]]:
    """Send *requests* on one connection; return (status line, headers, body) for each."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    out = []
    try:
        for request in requests:
            writer.write(request)
            await writer.drain()
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            headers = {
                k.lower(): v.strip()
                for k, _, v in (line.partition(":") for line in head[1:] if line)
            }
            body = b""
            if not request.startswith(b"HEAD"):
                body = await reader.readexactly(int(headers["content-length"]))
            out.append((head[0], headers, body))
    finally:
        writer.close()
        await writer.wait_closed()
    return out


def get(path: str = "/metrics", accept: str | None = None, extra: str = "") -> bytes:
    """A GET request head."""
    accept_line = f"Accept: {accept}\r\n" if accept else ""
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{accept_line}{extra}\r\n".encode()


def settings(**overrides):
    """Loopback settings on a free port."""
    return news_metrics.MetricsSettings(host="127.0.0.1", port=0, **overrides)


class TestMetricsServer:
    async def test_serves_the_exposition_at_the_path(self, registry):
        """GET /metrics returns the registry's metrics in the text format."""
        news_metrics.KafkaMetrics(registry=registry).consumed("articles", "indexer")
        async with news_metrics.MetricsServer(settings(), registry=registry) as server:
            assert server.running
            assert server.url == f"http://127.0.0.1:{server.port}/metrics"
            [(status, headers, body)] = await exchange(server.port, get())
        assert status == "HTTP/1.1 200 OK"
        assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        assert b'kafka_messages_consumed_total{group="indexer",topic="articles"} 1.0' in body
        assert not server.running

    async def test_negotiates_openmetrics_and_keeps_the_connection(self, registry):
        """Two scrapes on one kept-alive connection; OpenMetrics when the Accept header asks."""
        async with news_metrics.MetricsServer(settings(), registry=registry) as server:
            first, second = await exchange(server.port, get(accept=OPENMETRICS), get())
        assert first[1]["content-type"].startswith("application/openmetrics-text; version=1.0.0")
        assert first[2].endswith(b"# EOF\n")
        assert second[1]["content-type"].startswith("text/plain")

    async def test_other_paths_and_methods_are_refused(self, registry):
        """Unknown paths get 404, POST gets 405 with Allow, HEAD gets headers only."""
        news_metrics.KafkaMetrics(registry=registry).published("articles", 1)
        async with news_metrics.MetricsServer(
            settings(path="/internal/metrics"), registry=registry
        ) as server:
            not_found, post, head = await exchange(
                server.port,
                get("/metrics"),
                b"POST /internal/metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi",
                b"HEAD /internal/metrics HTTP/1.1\r\n\r\n",
            )
        assert not_found[0] == "HTTP/1.1 404 Not Found"
        assert b"/internal/metrics" in not_found[2]
        assert post[0] == "HTTP/1.1 405 Method Not Allowed"
        assert post[1]["allow"] == "GET, HEAD"
        assert head[0] == "HTTP/1.1 200 OK"
        assert int(head[1]["content-length"]) > 0

    async def test_connection_close_is_honoured(self, registry):
        """A request with Connection: close gets its answer, then the server closes."""
        async with news_metrics.MetricsServer(settings(), registry=registry) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(get(extra="Connection: close\r\n"))
            data = await asyncio.wait_for(reader.read(), timeout=5)  # EOF after the response
            writer.close()
        assert data.startswith(b"HTTP/1.1 200 OK")
        assert b"Connection: close" in data

    async def test_garbage_gets_400(self, registry):
        """A malformed request line is answered with 400 and the connection closed."""
        async with news_metrics.MetricsServer(settings(), registry=registry) as server:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"hello there\r\n\r\n")
            data = await asyncio.wait_for(reader.read(), timeout=5)
            writer.close()
        assert data.startswith(b"HTTP/1.1 400 Bad Request")

    async def test_a_busy_port_is_a_server_error(self, registry):
        """Binding a port another socket holds raises ServerError (an OSError) naming the fix."""
        holder = socket.socket()
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        try:
            port = holder.getsockname()[1]
            server = news_metrics.MetricsServer(
                news_metrics.MetricsSettings(host="127.0.0.1", port=port), registry=registry
            )
            with pytest.raises(news_metrics.ServerError, match=r"MetricsSettings\.port") as info:
                await server.start()
            assert isinstance(info.value, OSError)
        finally:
            holder.close()

    async def test_stop_waits_for_a_scrape_in_progress(self, registry):
        """stop() lets an answered connection finish, then the port is closed."""
        server = news_metrics.MetricsServer(settings(), registry=registry)
        await server.start()
        port = server.port
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(get())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        assert head.startswith(b"HTTP/1.1 200 OK")
        await server.stop(timeout=1.0)
        writer.close()
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)

    async def test_stop_closes_idle_kept_alive_connections_at_once(self, registry):
        """A scraper's idle kept-alive connection does not hold stop() for its timeout."""
        server = news_metrics.MetricsServer(settings(), registry=registry)
        await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(get())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        await asyncio.sleep(0.05)  # the connection now waits for its next request
        started = asyncio.get_running_loop().time()
        await server.stop(timeout=10.0)
        assert asyncio.get_running_loop().time() - started < 2.0
        assert await asyncio.wait_for(reader.read(), timeout=5) == b""  # closed by the server
        writer.close()
