"""The gRPC endpoint's certificates when none is given: a private CA and a server
certificate for the loopback names, made once in `<home>/tls/` and kept across restarts.

A client trusts them with one setting, `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH=<home>/tls/ca.pem`.
The server certificate is made again (by the same CA) when it lacks a name or nears its end."""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
CA_DAYS = 3650
SERVER_DAYS = 825
RENEW_BEFORE = datetime.timedelta(days=30)
PRIVATE = serialization.PrivateFormat.PKCS8
PEM = serialization.Encoding.PEM


@dataclass(frozen=True)
class ServerTls:
    cert_pem: bytes
    key_pem: bytes
    ca_path: Path | None  # the CA a client trusts; None when the user gave the certificate


def load_given(cert: Path, key: Path) -> ServerTls:
    """The certificate and key of `--tls-cert/--tls-key`."""
    return ServerTls(cert.read_bytes(), key.read_bytes(), None)


def private_tls(directory: Path, extra_names: tuple[str, ...] = ()) -> ServerTls:
    """The CA and server certificate in `directory`, made when missing or out of date."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _certificate_authority(directory)
    names = tuple(dict.fromkeys((*LOOPBACK_NAMES, *extra_names)))
    cert_path, key_path = directory / "server.pem", directory / "server-key.pem"
    if not (key_path.exists() and cert_path.exists() and _still_good(cert_path, names)):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _server_certificate(key, names, ca_key, ca_cert)
        _write_private(key_path, key)
        cert_path.write_bytes(cert.public_bytes(PEM))
    return ServerTls(cert_path.read_bytes(), key_path.read_bytes(), directory / "ca.pem")


def _certificate_authority(directory: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    cert_path, key_path = directory / "ca.pem", directory / "ca-key.pem"
    if cert_path.exists() and key_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return key, x509.load_pem_x509_certificate(cert_path.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "vertexd local CA")])
    cert = (
        _builder(name, name, key.public_key(), CA_DAYS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, key)
    cert_path.write_bytes(cert.public_bytes(PEM))
    return key, cert


def _server_certificate(
    key: ec.EllipticCurvePrivateKey,
    names: tuple[str, ...],
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    authority = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())
    return (
        _builder(subject, ca_cert.subject, key.public_key(), SERVER_DAYS)
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(authority, critical=False)
        .sign(ca_key, hashes.SHA256())
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey, days: int
) -> x509.CertificateBuilder:
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
    )


def _usage(cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not cert_sign,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _still_good(cert_path: Path, names: tuple[str, ...]) -> bool:
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    if cert.not_valid_after_utc - RENEW_BEFORE < datetime.datetime.now(datetime.UTC):
        return False
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return all(_general_name(name) in san for name in names)


def _write_private(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    """A private key readable by this user only (mode 0600)."""
    path.unlink(missing_ok=True)
    data = key.private_bytes(PEM, PRIVATE, serialization.NoEncryption())
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
