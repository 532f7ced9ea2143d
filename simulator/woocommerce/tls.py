"""A throw-away certificate authority and server certificate for the simulator's HTTPS listener.

WooCommerce is reached over HTTPS with HTTP Basic auth in production, so the simulator serves its Woo
front over TLS too. Clients keep certificate verification on by trusting the simulator's own CA:
`SimulatorServer.tls_cert_path` is that CA's PEM file (pass it as `verify=`). The server certificate is
valid for 127.0.0.1, ::1 and localhost.

Generating keys takes a few milliseconds (EC P-256), and the files are made once per process in a
temporary directory (removed at exit) unless a directory is given.
"""

from __future__ import annotations

import atexit
import ipaddress
import shutil
import ssl
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "acorn-simulator-ca.pem"
CERT_FILE = "acorn-simulator-server.pem"  # server certificate followed by the CA certificate
KEY_FILE = "acorn-simulator-server.key"

_lock = threading.Lock()
_default: TlsFiles | None = None


@dataclass(frozen=True)
class TlsFiles:
    """Where the PEM files are: `ca` is what clients trust, `cert` and `key` are what the server loads."""

    ca: Path
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert, self.key)
        return context


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ACORN channel simulator"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write(directory: Path) -> TlsFiles:
    now = datetime.now(UTC)
    # Valid ten years either side: the test suite's clock check (make test-clock) moves Python's clock ahead,
    # while OpenSSL verifies against the machine's, so a certificate starting yesterday would not be valid yet.
    not_before, not_after = now - timedelta(days=3650), now + timedelta(days=3650)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("ACORN simulator test CA")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
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
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1"))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(directory / CA_FILE, directory / CERT_FILE, directory / KEY_FILE)
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    files.ca.write_bytes(ca_pem)
    files.cert.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM) + ca_pem)
    files.key.touch(mode=0o600)
    files.key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return files


def tls_files(directory: str | Path | None = None) -> TlsFiles:
    """The CA and server certificate: in `directory` (reused when already there), or made once per process
    in a temporary directory."""
    global _default
    with _lock:
        if directory is not None:
            path = Path(directory)
            files = TlsFiles(path / CA_FILE, path / CERT_FILE, path / KEY_FILE)
            if files.ca.exists() and files.cert.exists() and files.key.exists():
                return files
            return _write(path)
        if _default is None or not _default.ca.exists():
            temporary = Path(tempfile.mkdtemp(prefix="acorn-simulator-tls-"))
            atexit.register(shutil.rmtree, temporary, ignore_errors=True)
            _default = _write(temporary)
        return _default
