"""``deepphoto serve`` over https (hunt 29, https).

A phone on the same Wi-Fi opened the studio (``--host 0.0.0.0``, with its token) but had no camera:
browsers give it only to secure pages, and the page's only advice was an SSH tunnel. Now ``--https``
serves with a self-signed certificate made once in the user's data folder (this computer's names and
network address, a year), or ``--certfile`` / ``--keyfile`` with the user's own; the https
addresses and the certificate's SHA-256 fingerprint are printed; a bad certificate or key is one
line, exit status 2; over plain http from another computer the page suggests ``--https``.
"""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from adversarial import refused

pytest.importorskip("fastapi", reason="needs the web extra: pip install -e '.[web]'")
pytest.importorskip("uvicorn", reason="needs the web extra: pip install -e '.[web]'")
pytest.importorskip("cryptography", reason="needs the web extra: pip install -e '.[web]'")

from deepphoto.web.tls import load, self_signed  # noqa: E402

WAIT = 180_000  # ms: the test machines are shared and slow


@pytest.fixture
def served(monkeypatch) -> list:
    """What the studio would be served with; nothing is served."""
    import deepphoto.web.server as server

    seen: list = []
    monkeypatch.setattr(server, "serve", lambda config, port, open_browser=False, tls=None: seen.append(tls))
    return seen


@pytest.fixture
def cert(tmp_path) -> tuple[Path, Path]:
    made = self_signed(["192.0.2.77"], folder=tmp_path / "a")
    return made.certfile, made.keyfile


def test_own_certificate_is_used_and_https_makes_one_in_the_data_folder(served, capsys, cert, tmp_path, monkeypatch):
    from adversarial import cli

    assert cli(capsys, "serve", "--certfile", cert[0], "--keyfile", cert[1]).status == 0
    assert served[-1].certfile == cert[0] and len(served[-1].fingerprint) == 95
    monkeypatch.setenv("DEEPPHOTO_DATA_DIR", str(tmp_path / "data"))
    assert cli(capsys, "serve", "--host", "0.0.0.0", "--https").status == 0
    assert served[-1].certfile == tmp_path / "data" / "https" / "studio-cert.pem"
    assert oct(served[-1].keyfile.stat().st_mode & 0o777) == "0o600"


def test_the_certificate_is_made_once_and_again_for_a_new_address(tmp_path):
    first = self_signed(["192.0.2.77"], folder=tmp_path)
    assert self_signed(["192.0.2.77"], folder=tmp_path).fingerprint == first.fingerprint
    moved = self_signed(["192.0.2.78"], folder=tmp_path)  # the laptop got another address on the Wi-Fi
    assert moved.fingerprint != first.fingerprint
    from cryptography import x509

    made = x509.load_pem_x509_certificate(moved.certfile.read_bytes())
    names = made.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "192.0.2.78" in map(str, names.get_values_for_type(x509.IPAddress))
    assert socket.gethostname() in names.get_values_for_type(x509.DNSName)
    assert 360 <= (made.not_valid_after_utc - made.not_valid_before_utc).days <= 366


def test_a_missing_certificate_or_key_is_one_line(served, capsys, cert, tmp_path):
    refused(capsys, "serve", "--certfile", tmp_path / "none.pem", "--keyfile", cert[1], says="none.pem: no such file")
    refused(capsys, "serve", "--certfile", cert[0], "--keyfile", tmp_path / "no.pem", says="no.pem: no such file")
    refused(capsys, "serve", "--keyfile", cert[1], says="--keyfile needs --certfile")
    refused(capsys, "serve", "--certfile", cert[0], says="give the key with --keyfile")  # a certificate alone
    assert served == []


def test_a_key_of_another_certificate_is_one_line(served, capsys, cert, tmp_path):
    other = self_signed(["192.0.2.99"], folder=tmp_path / "b")
    refused(capsys, "serve", "--certfile", cert[0], "--keyfile", other.keyfile, says="not the key of the certificate")
    assert served == []


def test_a_file_that_is_no_certificate_is_one_line(served, capsys, cert, tmp_path):
    junk = tmp_path / "photo.jpg"
    junk.write_bytes(b"\xff\xd8\xff\xe0 not a certificate")
    refused(capsys, "serve", "--certfile", junk, "--keyfile", cert[1], says="not a PEM certificate")
    refused(capsys, "serve", "--certfile", cert[0], "--keyfile", junk, says="not a PEM certificate")
    assert served == []


def test_an_encrypted_key_is_one_line_and_asks_for_nothing(served, capsys, cert, tmp_path):
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(cert[1].read_bytes(), None)
    locked = tmp_path / "locked.pem"
    locked.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    refused(capsys, "serve", "--certfile", cert[0], "--keyfile", locked, says="encrypted with a passphrase")
    assert served == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_key_is_one_line(served, capsys, cert):
    cert[1].chmod(0)
    refused(capsys, "serve", "--certfile", cert[0], "--keyfile", cert[1], says="cannot be read")


def test_serve_https_prints_the_https_addresses_and_the_fingerprint(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1", "DEEPPHOTO_DATA_DIR": str(tmp_path)}
    cmd = [sys.executable, "-m", "deepphoto", "serve", "--port", "0", "--host", "0.0.0.0", "--https"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("DeepPhoto Studio: https://127.0.0.1:") and "?token=" in lines[0], lines
        assert "from another computer: https://" in lines[1] and "--https" not in lines[1], lines
        fingerprint = load(tmp_path / "https" / "studio-cert.pem", tmp_path / "https" / "studio-key.pem").fingerprint
        assert fingerprint in lines[2], lines
        unchecked = ssl.create_default_context()
        unchecked.check_hostname, unchecked.verify_mode = False, ssl.CERT_NONE
        with urllib.request.urlopen(lines[0].split()[2], timeout=60, context=unchecked) as reply:
            assert reply.status == 200 and "DeepPhoto Studio" in reply.read().decode()
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=90)
    assert proc.returncode in (0, 130) and "Traceback" not in err, err


def test_over_https_from_another_computer_the_page_is_secure_and_paints(tmp_path):
    """Opened by this computer's network address (as a phone opens it), over https: the browser
    counts the page as secure (it may have the camera) and a photo gets its preview."""
    from studio_page import chromium, studio_page
    from test_hunt29_studio import jpeg, photo

    from deepphoto.web.app import StudioConfig
    from deepphoto.web.server import BackgroundServer, outward_address

    address = outward_address()
    args = () if address else ("--host-resolver-rules=MAP studio.test 127.0.0.1",)
    tls = self_signed([address] if address else [], folder=tmp_path)
    config = StudioConfig(host="0.0.0.0", token="hunt29", warm=False)
    with BackgroundServer(config, tls=tls) as studio, chromium(args=args) as browser:
        port = studio.url.split(":")[2].split("/")[0]
        url = f"https://{address or 'studio.test'}:{port}/?token=hunt29"
        with studio_page(browser, url, wait=WAIT, ignore_https_errors=True) as page:
            assert page.evaluate("window.isSecureContext") is True
            assert page.evaluate("location.protocol") == "https:"
            assert page.evaluate("location.hostname") not in ("localhost", "127.0.0.1")
            data = jpeg(photo(320, 240, 3))
            page.set_input_files("#photo-file", files=[{"name": "p.jpg", "mimeType": "image/jpeg", "buffer": data}])
            page.wait_for_function("document.getElementById('photo-status').textContent.includes('preview 320x240')")
            assert page.is_visible("#after")


def test_over_plain_http_from_another_computer_the_page_suggests_https():
    from studio_page import chromium, studio_page

    from deepphoto.web.app import StudioConfig
    from deepphoto.web.server import BackgroundServer

    rules = "--host-resolver-rules=MAP studio.test 127.0.0.1"
    with BackgroundServer(StudioConfig(host="0.0.0.0", token="hunt29", warm=False)) as studio:
        port = studio.url.split(":")[2].split("/")[0]
        url = f"http://studio.test:{port}/?token=hunt29"
        with chromium(args=(rules,)) as browser, studio_page(browser, url) as page:
            assert page.evaluate("window.isSecureContext") is False
            assert "deepphoto serve --https" in page.inner_text("#live-status")
