"""Compression negotiation: gzip and brotli for large textual bodies the client accepts."""

from __future__ import annotations

import gzip
from typing import TYPE_CHECKING, Any

import brotli
import httpx
import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from news_testing.http import ServerProcess


@pytest.fixture(scope="module")
def brotli_server(serve: Any, local: Any) -> Iterator[ServerProcess]:
    """Brotli offered next to gzip."""
    with serve(settings=local(brotli=True)) as server:
        yield server


@pytest.fixture(scope="module")
def uncompressed_server(serve: Any, local: Any) -> Iterator[ServerProcess]:
    """Compression off."""
    with serve(settings=local(compression=False)) as server:
        yield server


class TestGzip:
    def test_large_json_is_gzipped_when_accepted(self, standard_server: ServerProcess) -> None:
        """A JSON body above the threshold is gzipped for Accept-Encoding: gzip."""
        client = standard_server.client(headers={"Accept-Encoding": "gzip"})
        response = client.get("/big")
        assert response.headers["content-encoding"] == "gzip"
        assert "accept-encoding" in response.headers["vary"].lower()
        assert response.json()["text"].startswith("news news")  # httpx decoded it
        assert int(response.headers["content-length"]) < 1000

    def test_the_raw_bytes_are_gzip(self, standard_server: ServerProcess) -> None:
        """What goes on the wire is a gzip stream of the JSON body."""
        with (
            httpx.Client(base_url=standard_server.url) as client,
            client.stream("GET", "/big", headers={"Accept-Encoding": "gzip"}) as response,
        ):
            raw = b"".join(response.iter_raw())
        assert gzip.decompress(raw).startswith(b'{"text":"news ')

    def test_small_bodies_are_not_compressed(self, standard_server: ServerProcess) -> None:
        """A body below compression_min_bytes is sent as is."""
        response = standard_server.client(headers={"Accept-Encoding": "gzip"}).get("/")
        assert "content-encoding" not in response.headers

    @pytest.mark.parametrize("accept", ["identity", "gzip;q=0", "deflate", "br"])
    def test_no_acceptable_coding_means_identity(
        self, standard_server: ServerProcess, accept: str
    ) -> None:
        """Without an acceptable coding (gzip refused, br not enabled) the body is plain."""
        response = standard_server.client(headers={"Accept-Encoding": accept}).get("/big")
        assert "content-encoding" not in response.headers
        assert "accept-encoding" in response.headers["vary"].lower()
        assert response.json()["text"].startswith("news")

    def test_text_is_compressed_binary_is_not(self, standard_server: ServerProcess) -> None:
        """text/plain is compressed; application/octet-stream is left alone."""
        client = standard_server.client(headers={"Accept-Encoding": "gzip"})
        assert client.get("/big-text").headers["content-encoding"] == "gzip"
        binary = client.get("/binary")
        assert "content-encoding" not in binary.headers
        assert binary.content == bytes(range(256)) * 20

    def test_wildcard_accepts_gzip(self, standard_server: ServerProcess) -> None:
        """Accept-Encoding: * allows gzip."""
        response = standard_server.client(headers={"Accept-Encoding": "*"}).get("/big")
        assert response.headers["content-encoding"] == "gzip"


class TestBrotli:
    def test_brotli_is_preferred_when_enabled(self, brotli_server: ServerProcess) -> None:
        """With brotli=True, br wins over gzip at equal preference."""
        with (
            httpx.Client(base_url=brotli_server.url) as client,
            client.stream("GET", "/big", headers={"Accept-Encoding": "gzip, br"}) as response,
        ):
            raw = b"".join(response.iter_raw())
            assert response.headers["content-encoding"] == "br"
        assert brotli.decompress(raw).startswith(b'{"text":"news ')

    def test_a_higher_gzip_preference_wins(self, brotli_server: ServerProcess) -> None:
        """Explicit q-values are honoured: gzip;q=1 beats br;q=0.5."""
        response = brotli_server.client(headers={"Accept-Encoding": "br;q=0.5, gzip"}).get("/big")
        assert response.headers["content-encoding"] == "gzip"


class TestDisabled:
    def test_compression_off(self, uncompressed_server: ServerProcess) -> None:
        """compression=False never compresses."""
        response = uncompressed_server.client(headers={"Accept-Encoding": "gzip"}).get("/big")
        assert "content-encoding" not in response.headers
