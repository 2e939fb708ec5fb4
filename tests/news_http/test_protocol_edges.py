"""Protocol edges: what the stack answers, and what Robyn 0.88's Rust layer answers before Python.

The cases Robyn answers itself are pinned here as they are (docs/news-http.md, "Robyn 0.88
traps", says why and which proxy setting covers each): a change in Robyn makes these fail, and
then news-http can take them over.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from news_testing.http import ServerProcess

pytestmark = pytest.mark.slow


def _exchange(server: ServerProcess, request: bytes, wait: float = 2.0) -> tuple[bytes, bool]:
    """Send raw bytes; return what came back within ``wait`` s and whether it was closed."""
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.settimeout(wait)
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            return received, False
        return received, True


def _head(raw: bytes) -> tuple[int, dict[str, str]]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(head[0].split(" ")[1])
    fields = dict(line.split(": ", 1) for line in head[1:])
    return status, {name.lower(): value for name, value in fields.items()}


class TestAnsweredByTheStack:
    def test_content_length_with_transfer_encoding_is_refused(
        self, standard_server: ServerProcess
    ) -> None:
        """Both framing headers: 400 problem+json with a request id (actix keeps the connection)."""
        raw, closed = _exchange(
            standard_server,
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        )
        status, headers = _head(raw)
        assert status == 400
        assert headers["content-type"] == "application/problem+json"
        assert b"Content-Length and Transfer-Encoding" in raw
        assert headers["x-request-id"]
        assert not closed  # pinned: actix keeps it open (a proxy must not forward such requests)


class TestAnsweredByRobyn:
    def test_multipart_content_type_with_another_body_is_a_bare_500(
        self, standard_server: ServerProcess
    ) -> None:
        """Robyn's multipart parser fails before Python: bare text 500, no request id."""
        raw, _ = _exchange(
            standard_server,
            b"GET / HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 5\r\n\r\nhello",
        )
        status, headers = _head(raw)
        assert (status, headers["content-type"]) == (500, "text/plain")
        assert "x-request-id" not in headers
        assert "x-content-type-options" not in headers

    def test_an_unknown_method_is_a_bare_405_without_allow(
        self, standard_server: ServerProcess
    ) -> None:
        """A method Robyn does not know: bare text 405, no Allow header, no request id."""
        raw, _ = _exchange(standard_server, b"FOO / HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers = _head(raw)
        assert (status, headers["content-type"]) == (405, "text/plain")
        assert "allow" not in headers
        assert "x-request-id" not in headers

    def test_connect_gets_no_answer(self, standard_server: ServerProcess) -> None:
        """CONNECT: actix waits for a tunnel body that never ends; other clients are served."""
        raw, closed = _exchange(
            standard_server, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
        )
        assert (raw, closed) == (b"", False)
        assert standard_server.client().get("/").status_code == 200

    def test_http11_without_host_is_served(self, standard_server: ServerProcess) -> None:
        """HTTP/1.1 without Host: served (Python cannot tell HTTP/1.0 or HTTP/2 apart)."""
        raw, _ = _exchange(standard_server, b"GET / HTTP/1.1\r\n\r\n")
        assert _head(raw)[0] == 200


class TestBodyLimit:
    def test_an_oversized_body_is_read_in_full_before_the_413(
        self, serve: object, local: object
    ) -> None:
        """Robyn buffers the whole body before Python runs: 413, but the memory was spent."""
        size = 48 * 1024 * 1024
        with serve(settings=local(max_body_bytes=1024)) as server:  # type: ignore[operator]
            before = _peak_rss(server.process.pid)
            response = server.client().post("/echo", content=b"x" * size)
            after = _peak_rss(server.process.pid)
        assert response.status_code == 413
        assert after - before >= size  # pinned: see docs/news-http.md, the fronting proxy


def _peak_rss(pid: int) -> int:
    """The process's peak resident memory (VmHWM), in bytes."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for {pid}")
