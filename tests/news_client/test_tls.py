"""TLS: an https dependency with a private CA, verification on, and mutual TLS."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import news_client
import news_config

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None = None,
    *,
    ca: bool = False,
    ip: str | None = None,
) -> x509.Certificate:
    """A certificate for ``subject``, signed by ``issuer`` (self-signed without one)."""
    now = dt.datetime.now(dt.UTC)
    issuer_name, signing_key = issuer if issuer is not None else (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ip is not None:
        san = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip))])
        builder = builder.add_extension(san, critical=False)
    return builder.sign(signing_key, hashes.SHA256())


class PKI:
    """A private CA, a server certificate for 127.0.0.1 and a client certificate, as files."""

    def __init__(self, folder: Path) -> None:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _issue("test CA", ca_key, ca=True)
        issuer = (ca.subject, ca_key)
        server_key = ec.generate_private_key(ec.SECP256R1())
        client_key = ec.generate_private_key(ec.SECP256R1())
        self.ca_file = self._write(folder / "ca.pem", ca)
        self.server_cert = self._write(
            folder / "server.pem", _issue("127.0.0.1", server_key, issuer, ip="127.0.0.1")
        )
        self.server_key = self._key(folder / "server.key", server_key, None)
        self.client_cert = self._write(
            folder / "client.pem", _issue("newsroom", client_key, issuer)
        )
        self.client_key = self._key(folder / "client.key", client_key, b"k3y-pass")

    @staticmethod
    def _write(path: Path, cert: x509.Certificate) -> str:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return str(path)

    @staticmethod
    def _key(path: Path, key: ec.EllipticCurvePrivateKey, password: bytes | None) -> str:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
            )
        )
        return str(path)


@pytest.fixture
def pki(tmp_path: Path) -> PKI:
    """Certificates in tmp_path."""
    return PKI(tmp_path)


async def _serve(pki: PKI, *, client_certs: bool) -> tuple[web.AppRunner, str, list[Any]]:
    peers: list[Any] = []

    async def hello(request: web.Request) -> web.Response:
        transport = request.transport
        assert transport is not None
        peers.append(transport.get_extra_info("peercert"))
        return web.json_response({"ok": True})

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    if client_certs:
        context.load_verify_locations(pki.ca_file)
        context.verify_mode = ssl.CERT_REQUIRED
    app = web.Application()
    app.router.add_get("/hello", hello)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
    return runner, f"https://127.0.0.1:{runner.addresses[0][1]}", peers


@pytest.fixture
async def https(pki: PKI) -> AsyncIterator[str]:
    """An https server whose certificate the private CA signed."""
    runner, url, _ = await _serve(pki, client_certs=False)
    try:
        yield url
    finally:
        await runner.cleanup()


class TestTLS:
    async def test_a_private_ca_is_trusted_with_ca_file(self, https: str, pki: PKI) -> None:
        """With tls.ca_file the server's certificate verifies and the call succeeds."""
        settings = news_client.ClientSettings(
            base_url=https, metrics="off", tls=news_client.TLSSettings(ca_file=pki.ca_file)
        )
        async with news_client.HTTPClient(settings) as client:
            assert (await client.get("/hello")).json() == {"ok": True}

    async def test_an_unknown_ca_is_refused(self, https: str) -> None:
        """Without the CA, verification fails: ConnectError, nothing sent."""
        settings = news_client.ClientSettings(
            base_url=https, metrics="off", retry=news_client.RetrySettings(attempts=1)
        )
        async with news_client.HTTPClient(settings) as client:
            with pytest.raises(news_client.ConnectError, match="certificate"):
                await client.get("/hello")

    async def test_mutual_tls_with_an_encrypted_key(self, pki: PKI) -> None:
        """cert_file/key_file (key_password a Secret) present a client certificate."""
        runner, url, peers = await _serve(pki, client_certs=True)
        try:
            settings = news_client.ClientSettings(
                base_url=url,
                metrics="off",
                tls=news_client.TLSSettings(
                    ca_file=pki.ca_file,
                    cert_file=pki.client_cert,
                    key_file=pki.client_key,
                    key_password=news_config.Secret("k3y-pass"),
                ),
            )
            async with news_client.HTTPClient(settings) as client:
                assert (await client.get("/hello")).status == 200
        finally:
            await runner.cleanup()
        subject = dict(item[0] for item in peers[0]["subject"])
        assert subject["commonName"] == "newsroom"
