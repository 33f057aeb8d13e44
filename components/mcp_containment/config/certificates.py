"""The decryption CA's public certificate, checked before anything is declared.

The gateway signs a certificate for every decrypted tool call with this CA, and agents accept
those only if they trust it; the controller refuses a certificate that is not a CA (the
provider's ``ValidateCertificates`` rejects ``!cert.IsCA``). So the committed certificate must
be a CA (basicConstraints CA:TRUE), allowed to sign certificates when it restricts its key
usage, and valid now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes


@dataclass(frozen=True, slots=True)
class CaCertificate:
    subject: str
    not_after: datetime
    sha256: str
    """Hex fingerprint: what an operator compares with the certificate in Key Vault."""


class CertificateError(ValueError):
    pass


def load_ca_certificate(pem: str, now: datetime | None = None) -> CaCertificate:
    """The CA certificate in ``pem``; :class:`CertificateError` saying why it cannot serve."""
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise CertificateError("is not a PEM certificate (-----BEGIN CERTIFICATE----- ...)")
    try:
        certs = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as exc:
        raise CertificateError(f"is not a readable PEM certificate ({exc})") from exc
    if len(certs) != 1:
        raise CertificateError(
            f"holds {len(certs)} certificates; give the CA certificate alone (the controller "
            "signs with exactly this one)"
        )
    cert = certs[0]
    subject = cert.subject.rfc4514_string() or "(empty subject)"
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise CertificateError(
            f"{subject} is not a CA certificate (basicConstraints CA:TRUE is required; the "
            "controller refuses it, and agents would reject every certificate it signs)"
        )
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        usage = None
    if usage is not None and not usage.key_cert_sign:
        raise CertificateError(f"{subject} restricts its key usage and excludes keyCertSign")
    moment = now or datetime.now(UTC)
    if cert.not_valid_after_utc <= moment:
        raise CertificateError(
            f"{subject} expired on {cert.not_valid_after_utc:%Y-%m-%d}; issue a new CA"
        )
    if cert.not_valid_before_utc > moment:
        raise CertificateError(
            f"{subject} is not valid before {cert.not_valid_before_utc:%Y-%m-%d}"
        )
    return CaCertificate(
        subject=subject,
        not_after=cert.not_valid_after_utc,
        sha256=cert.fingerprint(hashes.SHA256()).hex(),
    )
