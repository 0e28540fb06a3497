"""Custom link domains: name rules and TLS certificate checks (F-LINK-4, F-LINK-10).

No I/O: text in, a checked value or a ``DomainInputError`` naming the problem out. The
API turns the error into a 400 and writes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

_LABEL: Final = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_TLD: Final = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_PEM_BLOCK: Final = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\r?\n.*?-----END \1-----", re.DOTALL)
_PREFIX: Final = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")


class DomainInputError(ValueError):
    """Bad domain name, prefix, certificate or key; ``field`` is the API parameter."""

    def __init__(self, field: str, rule: str):
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


@dataclass(frozen=True)
class CheckedCertificate:
    cert_pem: str
    key_pem: str
    names: tuple[str, ...]
    not_before: datetime
    not_after: datetime


def normalize_domain(value: str) -> str:
    """A lower-case ASCII (IDNA) host name of two or more labels, or ``DomainInputError``.

    No scheme, port, path, IP address or trailing junk: ``links.acme.com``,
    ``bücher.de`` (stored as ``xn--bcher-kva.de``).
    """
    name = value.strip().lower().rstrip(".")
    if not name or any(ch in name for ch in "/:@ \t?#[]\\%"):
        raise DomainInputError("DomainName", "must be a bare host name such as links.acme.com")
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise DomainInputError("DomainName", "is not a valid internationalised name") from None
    labels = name.split(".")
    if len(name) > 253 or len(labels) < 2:
        raise DomainInputError("DomainName", "must have at least two labels, 253 characters max")
    if not all(_LABEL.match(label) for label in labels[:-1]) or not _TLD.match(labels[-1]):
        raise DomainInputError(
            "DomainName", "labels are letters, digits and inner hyphens; the TLD is alphabetic"
        )
    return name


def normalize_prefix(value: str) -> str | None:
    """A single-word subdomain prefix (``promo``), ``None`` for empty, else an error."""
    prefix = value.strip().lower()
    if not prefix:
        return None
    if not _PREFIX.match(prefix):
        raise DomainInputError("LinkPrefix", "must be one word: letters, digits, inner hyphens")
    return prefix


def split_pem(text: str) -> tuple[list[str], list[str]]:
    """The certificate blocks and the private-key blocks of a PEM bundle."""
    certs: list[str] = []
    keys: list[str] = []
    for match in _PEM_BLOCK.finditer(text):
        kind = match.group(1)
        if kind == "CERTIFICATE":
            certs.append(match.group(0))
        elif kind.endswith("PRIVATE KEY"):
            keys.append(match.group(0))
    return certs, keys


def covers(names: tuple[str, ...], domain: str) -> bool:
    """Whether a certificate for ``names`` is valid for ``domain`` (one-label wildcards)."""
    for name in names:
        name = name.lower().rstrip(".")
        if name == domain:
            return True
        if name.startswith("*.") and domain.partition(".")[2] == name[2:]:
            return True
    return False


def check_certificate(
    cert_text: str, key_text: str | None, domain: str, now: datetime
) -> CheckedCertificate:
    """Check a PEM certificate and its PKCS#8 private key for ``domain`` at ``now``.

    ``cert_text`` may carry the key too (Twilio's ``TlsCert`` holds both). The first
    certificate is the leaf; others are kept as its chain.
    """
    certs, keys = split_pem(cert_text)
    if key_text:
        _, more = split_pem(key_text)
        if not more:
            raise DomainInputError("PrivateKey", "is not a PEM private key")
        keys += more
    if not certs:
        raise DomainInputError("TlsCert", "no PEM certificate (-----BEGIN CERTIFICATE-----)")
    if len(keys) != 1:
        raise DomainInputError("TlsCert", f"expected one PEM private key, found {len(keys)}")
    try:
        leaf = x509.load_pem_x509_certificate(certs[0].encode())
    except ValueError:
        raise DomainInputError("TlsCert", "the certificate is not valid PEM/X.509") from None
    key_pem = keys[0]
    if not key_pem.startswith("-----BEGIN PRIVATE KEY-----"):
        raise DomainInputError(
            "TlsCert", "the private key must be unencrypted PKCS#8 (-----BEGIN PRIVATE KEY-----)"
        )
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise DomainInputError("TlsCert", "the private key is not valid PKCS#8") from None
    if _spki(leaf.public_key()) != _spki(key.public_key()):
        raise DomainInputError("TlsCert", "the private key does not match the certificate")
    names = subject_names(leaf)
    if not covers(names, domain):
        raise DomainInputError(
            "TlsCert", f"the certificate is for {', '.join(names) or 'no name'}, not {domain}"
        )
    if leaf.not_valid_after_utc <= now:
        raise DomainInputError("TlsCert", f"the certificate expired on {leaf.not_valid_after_utc}")
    if leaf.not_valid_before_utc > now:
        raise DomainInputError(
            "TlsCert", f"the certificate is not valid before {leaf.not_valid_before_utc}"
        )
    return CheckedCertificate(
        cert_pem="\n".join(certs) + "\n",
        key_pem=key_pem + "\n",
        names=names,
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
    )


def subject_names(cert: x509.Certificate) -> tuple[str, ...]:
    """DNS names in the subjectAltName, else the subject's common name."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        common = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return tuple(str(a.value) for a in common)
    names: list[str] = san.value.get_values_for_type(x509.DNSName)
    return tuple(names)


def _spki(key: object) -> bytes:
    public_bytes = getattr(key, "public_bytes", None)
    if public_bytes is None:
        return b""
    data: bytes = public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data


def self_signed(name: str, days: int = 90) -> tuple[str, str]:
    """A self-signed certificate for ``name`` and its PKCS#8 key, as PEM: for local domains
    (``textwire demo``) that no public CA will sign."""
    from datetime import UTC, timedelta

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()
