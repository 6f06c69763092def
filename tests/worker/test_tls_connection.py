"""mTLS for real: connect_temporal() through a TLS-terminating proxy in front of a dev server.

The dev server speaks only plain gRPC, so a small asyncio proxy terminates TLS (requiring a client
certificate from a test CA) and forwards the bytes. What is under test is ours and the SDK's:
the settings read the PEM files, build the TLSConfig, and the SDK's TLS handshake succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from temporalio.testing import WorkflowEnvironment

from client.connection import connect_temporal
from config.settings import TemporalSettings
from emulator.tls import CA_FILE, CA_KEY_FILE, ensure_certificates, server_ssl_context

# A real dev server behind a TLS proxy.
pytestmark = pytest.mark.slow


def _issue_client_cert(certs: Path) -> tuple[Path, Path]:
    """A client certificate signed by the test CA (ensure_certificates made it)."""
    ca = x509.load_pem_x509_certificate((certs / CA_FILE).read_bytes())
    ca_key = serialization.load_pem_private_key((certs / CA_KEY_FILE).read_bytes(), None)
    assert isinstance(ca_key, rsa.RSAPrivateKey)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cmk-worker")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = certs / "client.pem", certs / "client-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@pytest.fixture
async def mtls_proxy(
    dev_server: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[tuple[str, Path]]:
    """127.0.0.1:<port> serving TLS as localhost, client certificate required; the certs dir."""
    certs = tmp_path / "certs"
    ensure_certificates(certs)
    context = server_ssl_context(certs)
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(certs / CA_FILE)
    context.set_alpn_protocols(["h2"])  # gRPC runs on HTTP/2
    upstream_host, upstream_port = dev_server.client.service_client.config.target_host.split(":")

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(upstream_host, int(upstream_port))
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server = await asyncio.start_server(forward, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    yield f"127.0.0.1:{port}", certs
    server.close()


async def test_mtls_settings_complete_a_real_handshake(mtls_proxy: tuple[str, Path]) -> None:
    """Cert, key, CA and server name from the standard TEMPORAL_TLS_* variables reach a TLS
    server that checks them."""
    address, certs = mtls_proxy
    cert, key = _issue_client_cert(certs)
    settings = TemporalSettings.from_env(
        {
            "TEMPORAL_ADDRESS": address,
            "TEMPORAL_TLS_CLIENT_CERT_PATH": str(cert),
            "TEMPORAL_TLS_CLIENT_KEY_PATH": str(key),
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(certs / CA_FILE),
            "TEMPORAL_TLS_SERVER_NAME": "localhost",
        }
    )
    client = await connect_temporal(settings)
    assert (await client.count_workflows()).count >= 0


async def test_mtls_without_a_client_certificate_is_refused(
    mtls_proxy: tuple[str, Path],
) -> None:
    """The same server refuses a client that trusts it but shows no certificate: the test
    above passes because of the certificate, not because the proxy lets anything through."""
    address, certs = mtls_proxy
    settings = TemporalSettings.from_env(
        {"TEMPORAL_ADDRESS": address, "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(certs / CA_FILE)}
    )
    with pytest.raises(RuntimeError):
        client = await connect_temporal(settings)
        await client.count_workflows()
