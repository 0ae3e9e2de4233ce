"""A local certificate authority and a server certificate, so tablets and phones on the clinic network reach
``cadenza serve`` over HTTPS (which service workers, the microphone and passkeys require off ``localhost``).

:func:`local_certificate` makes, once, in one private folder:

- ``cadenza-local-ca.pem``: the authority's certificate. Install it on each device that will use Cadenza
  (it is the only file that leaves the server);
- ``cadenza-local-ca.key``: its private key (0600), kept to issue a new server certificate when the
  names change;
- ``server.pem`` and ``server.key`` (0600): what ``cadenza serve`` presents, valid for the given host names
  and addresses.

A clinic with its own certificate passes it to ``cadenza serve --cert FILE --key FILE`` instead.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cadenza.errors import ParameterError

CA_NAME = "cadenza-local-ca"
CA_DAYS = 3650
SERVER_DAYS = 825  # the longest server certificate lifetime Apple devices accept


@dataclass(frozen=True)
class LocalCertificate:
    ca_pem: Path
    cert_pem: Path
    key_pem: Path
    names: tuple[str, ...]  # DNS names and IP addresses the server certificate is valid for
    created: bool  # False when valid files for these names were already there


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)


def _check_names(names: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(n.strip().lower() for n in names if n and n.strip()))
    if not cleaned:
        raise ParameterError("names must hold at least one host name or address for the certificate")
    for name in cleaned:
        if len(name) > 253 or any(c.isspace() for c in name) or "/" in name:
            raise ParameterError(f"names: {name[:60]!r} is not a host name or an IP address")
    return cleaned


def _alt_names(names: list[str]):
    from cryptography import x509

    out = []
    for name in names:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            out.append(x509.DNSName(name))
    return out


def _covers(cert_path: Path, names: list[str], now: dt.datetime) -> bool:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    have = {str(v).lower() for v in sans.get_values_for_type(x509.DNSName)}
    have |= {str(v) for v in sans.get_values_for_type(x509.IPAddress)}
    return set(names) <= have and cert.not_valid_after_utc > now + dt.timedelta(days=30)


def local_certificate(folder: str | Path, names: list[str], *, now: dt.datetime | None = None) -> LocalCertificate:
    """The local authority and a server certificate for ``names`` in ``folder`` (made if missing, expiring
    within 30 days, or not covering every name; the authority is kept so devices trust it once)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    names = _check_names(names)
    now = now or dt.datetime.now(dt.UTC)
    folder = Path(folder).expanduser()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_pem, ca_key = folder / f"{CA_NAME}.pem", folder / f"{CA_NAME}.key"
    cert_pem, key_pem = folder / "server.pem", folder / "server.key"
    if cert_pem.exists() and key_pem.exists() and ca_pem.exists() and _covers(cert_pem, names, now):
        return LocalCertificate(ca_pem, cert_pem, key_pem, tuple(names), created=False)
    pem = serialization.Encoding.PEM
    private = (serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    if ca_pem.exists() and ca_key.exists():
        ca_cert = x509.load_pem_x509_certificate(ca_pem.read_bytes())
        ca_private = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
    else:
        ca_private = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Cadenza local authority"),
                             x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Cadenza (this clinic's server)")])
        ca_cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                   .public_key(ca_private.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=CA_DAYS))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                content_commitment=False, key_encipherment=False,
                                                data_encipherment=False, key_agreement=False, encipher_only=False,
                                                decipher_only=False), critical=True)
                   .sign(ca_private, hashes.SHA256()))
        _write_private(ca_key, ca_private.private_bytes(pem, *private))
        ca_pem.write_bytes(ca_cert.public_bytes(pem))
    server_private = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(ca_cert.subject).public_key(server_private.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
            .add_extension(x509.SubjectAlternativeName(_alt_names(names)), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_private, hashes.SHA256()))
    _write_private(key_pem, server_private.private_bytes(pem, *private))
    cert_pem.write_bytes(cert.public_bytes(pem))
    return LocalCertificate(ca_pem, cert_pem, key_pem, tuple(names), created=True)
