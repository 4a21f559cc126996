"""Development TLS for ``thalovant hub --tls-self-signed``: a private CA and a hub certificate.

Both live in ``<state_dir>/tls/`` (mode 0600) and are reused on later runs until they near
expiry, so a client told to trust ``ca.pem`` keeps trusting the hub. The CA's private key is
discarded right after it signs the hub certificate: this CA can never sign anything else, and
a renewal simply makes a new CA. Tests use ``trustme`` instead (:mod:`thalovant.testing`);
this module only needs ``cryptography``.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from thalovant.hub.state.files import ensure_private_dir, write_private_text

__all__ = ["DevCertificates", "dev_certificates"]

_VALID_DAYS = 365
_RENEW_BEFORE = datetime.timedelta(days=7)


class DevCertificates:
    """Paths of the development CA and hub certificate, and a server context using them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ca_file = folder / "ca.pem"
        """The CA certificate clients should trust (``SSL_CERT_FILE``, ``cafile=``)."""
        self.cert_file = folder / "hub-cert.pem"
        self.key_file = folder / "hub-key.pem"

    def server_context(self) -> ssl.SSLContext:
        """A server context presenting the hub certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting only the development CA."""
        return ssl.create_default_context(cafile=str(self.ca_file))


def dev_certificates(state_dir: Path, hosts: tuple[str, ...]) -> DevCertificates:
    """Load (or create) the development CA and a certificate for ``hosts`` in ``state_dir``."""
    ensure_private_dir(state_dir)
    certs = DevCertificates(ensure_private_dir(state_dir / "tls"))
    if not _usable(certs, hosts):
        _create(certs, hosts)
    return certs


def _usable(certs: DevCertificates, hosts: tuple[str, ...]) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(certs.cert_file.read_bytes())
        certs.key_file.stat()
        certs.ca_file.stat()
    except (OSError, ValueError):
        return False
    now = datetime.datetime.now(datetime.timezone.utc)
    if cert.not_valid_after_utc - now < _RENEW_BEFORE:
        return False
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    present = {str(v) for v in names.get_values_for_type(x509.IPAddress)}
    present |= set(names.get_values_for_type(x509.DNSName))
    return all(host in present for host in hosts)


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _create(certs: DevCertificates, hosts: tuple[str, ...]) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "thalovant local hub dev CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([_san(h) for h in hosts]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    write_private_text(certs.key_file, key_pem)
    write_private_text(certs.cert_file, cert.public_bytes(pem).decode("ascii"))
    write_private_text(certs.ca_file, ca_cert.public_bytes(pem).decode("ascii"))


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )
