"""HTTPS for ``deepphoto serve``: a browser gives the camera only to a secure page (https://, or
http://localhost), so a phone on the same Wi-Fi needs https to use the Live tab and "take one".

- ``--certfile`` / ``--keyfile``: the user's own certificate and key (PEM), checked here so that a
  missing, unreadable, encrypted or mismatched one is one line, not uvicorn's traceback;
- ``--https`` alone: a self-signed certificate made once and kept in the user's data folder
  (``<data>/https/``, never the package), for this computer's names and addresses, valid a year;
  made again when it expires or this computer's address changed. The browser warns about it: the
  SHA-256 fingerprint printed at start-up is the one its warning page shows.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

from deepphoto.errors import DeepPhotoError
from deepphoto.models.user_styles import data_dir

VALID_DAYS = 365
RENEW_DAYS = 7  # made again this close to its end


@dataclass(frozen=True)
class Certificate:
    certfile: Path
    keyfile: Path | None  # None: the key is in certfile
    fingerprint: str  # SHA-256 of the certificate, 'AB:CD:...', as browsers show it

    def context(self) -> ssl.SSLContext:
        """The server's TLS context with this certificate and key."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certfile, self.keyfile)
        return context


def _no_passphrase() -> str:
    raise DeepPhotoError("encrypted")


def load(certfile: Path, keyfile: Path | None = None) -> Certificate:
    """The user's certificate, checked as uvicorn will load it; one-line errors."""
    for option, path in (("--certfile", certfile), ("--keyfile", keyfile)):
        if path is None:
            continue
        if not path.is_file():
            raise DeepPhotoError(f"{option} {path}: {'not a file' if path.exists() else 'no such file'}")
        if not os.access(path, os.R_OK):
            raise DeepPhotoError(f"{option} {path}: cannot be read (permission denied)")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certfile, keyfile, password=_no_passphrase)
    except DeepPhotoError:
        raise DeepPhotoError(
            f"--keyfile {keyfile or certfile}: the key is encrypted with a passphrase: give one without "
            "(openssl pkey -in KEY -out PLAIN-KEY)"
        ) from None
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        if "MISMATCH" in reason.upper():
            raise DeepPhotoError(f"--keyfile {keyfile}: not the key of the certificate in {certfile}") from None
        if keyfile is None:
            raise DeepPhotoError(
                f"--certfile {certfile}: no PEM certificate and key in it (give the key with --keyfile)"
            ) from None
        raise DeepPhotoError(
            f"--certfile {certfile} / --keyfile {keyfile}: not a PEM certificate and its key ({reason})"
        ) from None
    return Certificate(certfile, keyfile, fingerprint(certfile))


def fingerprint(certfile: Path) -> str:
    """The SHA-256 fingerprint of the first certificate in ``certfile``."""
    text = certfile.read_text(errors="replace")
    begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    start = text.index(begin)
    der = ssl.PEM_cert_to_DER_cert(text[start : text.index(end, start) + len(end)])
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())


def names_of_this_computer(addresses: list[str]) -> list[str]:
    """The names and addresses a browser may open the studio by: localhost, the host name (and
    name.local, as phones resolve it by mDNS), 127.0.0.1, ::1 and ``addresses``."""
    host = socket.gethostname()
    names = ["localhost", host, f"{host}.local", "127.0.0.1", "::1", *addresses]
    return list(dict.fromkeys(n for n in names if n))


def self_signed(addresses: list[str], folder: Path | None = None) -> Certificate:
    """A self-signed certificate for this computer and ``addresses``: the one in ``folder``
    (default ``<data>/https``) when it is still valid for them, else a new one kept there."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = folder or data_dir() / "https"
    certfile, keyfile = folder / "studio-cert.pem", folder / "studio-key.pem"
    names = names_of_this_computer(addresses)
    now = datetime.datetime.now(datetime.timezone.utc)  # (datetime.UTC: Python 3.11)
    try:
        old = x509.load_pem_x509_certificate(certfile.read_bytes())
        covered = set(map(str, old.extensions.get_extension_for_class(x509.SubjectAlternativeName).value))
        wanted = {str(san(n)) for n in names}
        if wanted <= covered and old.not_valid_after_utc - now > datetime.timedelta(days=RENEW_DAYS):
            return load(certfile, keyfile)
    except (OSError, ValueError, x509.ExtensionNotFound, DeepPhotoError):
        pass  # none yet, damaged, or for another address: a new one
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"DeepPhoto Studio on {socket.gethostname()}")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([san(n) for n in names]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        write_private(keyfile, key_pem)
        write_private(certfile, cert.public_bytes(serialization.Encoding.PEM))
    except OSError as exc:
        raise DeepPhotoError(f"--https: the certificate cannot be kept in {folder} ({exc.strerror or exc})") from None
    return load(certfile, keyfile)


def san(name: str) -> object:
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def write_private(path: Path, data: bytes) -> None:
    """``data`` into ``path``, readable by this user only, whole or not at all."""
    part = path.with_name(path.name + ".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(part, path)
