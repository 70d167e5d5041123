"""Our server over HTTPS (``--certfile``/``--keyfile``) and the client's TLS settings."""

from __future__ import annotations

import datetime as dt
import ipaddress
import subprocess
import sys

import pytest
from compat_servers import PROJECT_ROOT, start_our_server
from compat_support import StreamWatch

from app.services.connection import (
    AUTH,
    REST,
    ConnectionSetupError,
    ConnectionTarget,
    check_connection,
    tls_context,
)
from app.services.stream import ConnectionState

x509 = pytest.importorskip("cryptography.x509")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

pytestmark = pytest.mark.timeout(300)
API_KEY = "tls-test-key"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    """A test CA and a certificate for 127.0.0.1 that it signed, as PEM files."""
    folder = tmp_path_factory.mktemp("tls")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Overseer test CA"))
        .issuer_name(_name("Overseer test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = {
        "ca": folder / "ca.pem",
        "cert": folder / "server.pem",
        "key": folder / "server-key.pem",
    }
    paths["ca"].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    paths["key"].write_bytes(_pem_key(server_key))
    return paths


@pytest.fixture(scope="module")
def tls_server(certificates, tmp_path_factory):
    server = start_our_server(
        tmp_path_factory.mktemp("tls-server"),
        API_KEY,
        extra=[
            "--certfile",
            str(certificates["cert"]),
            "--keyfile",
            str(certificates["key"]),
        ],
    )
    yield server
    server.stop()


def test_server_prints_https_url(tls_server):
    assert tls_server.url.startswith("https://127.0.0.1:")


def test_check_passes_with_ca_bundle(tls_server, certificates, run_async):
    target = ConnectionTarget(
        tls_server.url, API_KEY, ca_bundle=str(certificates["ca"])
    )
    report = run_async(check_connection(target, timeout=10.0), 30_000)
    assert report.ok, report.text()
    assert target.uses_tls


def test_check_rejects_untrusted_certificate(tls_server, run_async):
    target = ConnectionTarget(tls_server.url, API_KEY)
    report = run_async(check_connection(target, timeout=10.0), 30_000)
    rest = report.results[0]
    assert rest.name == REST
    assert rest.ok is False
    assert "not trusted" in rest.detail
    assert report.results[1].ok is None


def test_check_passes_without_verification(tls_server, run_async):
    target = ConnectionTarget(tls_server.url, API_KEY, verify_tls=False)
    report = run_async(check_connection(target, timeout=10.0), 30_000)
    assert report.ok, report.text()


def test_stream_connects_over_wss(tls_server, certificates, run_async):
    target = ConnectionTarget(
        tls_server.url, API_KEY, ca_bundle=str(certificates["ca"])
    )

    async def scenario():
        api = target.make_api()
        try:
            info = await api.server_info()
        finally:
            await api.aclose()
        stream = target.make_stream(info, initial_backoff=0.05)
        watch = StreamWatch(stream)
        stream.start()
        try:
            await watch.wait_until(
                lambda: (
                    watch.state is ConnectionState.CONNECTED
                    and stream.last_seq is not None
                ),
                what="connection:status",
            )
            return info, stream.last_seq
        finally:
            await stream.stop()

    info, last_seq = run_async(scenario(), 30_000)
    assert not info.is_stock
    assert last_seq is not None  # connection:status arrived over wss


def test_missing_ca_bundle_is_reported(tmp_path, run_async):
    missing = tmp_path / "nope.pem"
    with pytest.raises(ConnectionSetupError, match="does not exist"):
        tls_context(True, str(missing))
    target = ConnectionTarget("https://127.0.0.1:9", API_KEY, ca_bundle=str(missing))
    report = run_async(check_connection(target, timeout=5.0), 10_000)
    assert report.results[0].ok is False
    assert "does not exist" in report.results[0].detail
    assert report.results[1].name == AUTH
    assert report.results[1].ok is None


def test_certfile_without_keyfile_is_rejected(certificates):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "embedded_server",
            "--certfile",
            str(certificates["cert"]),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--keyfile" in result.stderr
