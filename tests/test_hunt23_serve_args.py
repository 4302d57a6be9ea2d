"""``deepphoto serve`` given odd addresses (bug hunt 23):

- ``--host ''`` listened on every network and printed ``http://:8000/``: now one line;
- ``--host '[::1]'`` (as a URL writes it) failed with "Name or service not known", after a warning
  that ``[::1]`` is beyond this computer: now it is ``::1``;
- an address that cannot be listened on printed the "beyond this computer" warning before its error;
- ``--camera abc`` was refused as "--control 'abc'", an option ``serve`` does not have.
"""

from __future__ import annotations

import pytest
from adversarial import cli, refused

pytest.importorskip("fastapi", reason="needs the web extra: pip install -e '.[web]'")
pytest.importorskip("uvicorn", reason="needs the web extra: pip install -e '.[web]'")


@pytest.fixture
def served(monkeypatch) -> list[str]:
    """The hosts the studio would be served on; nothing is served (a refusal that regressed would
    otherwise serve for ever in the test's process)."""
    import deepphoto.web.server as server

    seen: list[str] = []
    monkeypatch.setattr(server, "serve", lambda config, port, open_browser=False, tls=None: seen.append(config.host))
    return seen


@pytest.mark.parametrize("host", ["", "  ", "[]"])
def test_an_empty_host_is_one_line(capsys, served, host):
    refused(capsys, "serve", "--host", host, "--port", "0", says="--host")
    assert served == []


def test_a_bracketed_ipv6_host_is_the_address_inside(capsys, served):
    done = cli(capsys, "serve", "--host", "[::1]", "--port", "0")
    assert done.status == 0, done.err
    assert served == ["::1"]


def test_an_address_that_cannot_be_listened_on_gives_no_warning_first(capsys):
    done = refused(capsys, "serve", "--host", "192.0.2.1", "--port", "0", says="192.0.2.1:0 cannot be used")
    assert "warning" not in done.err, done.err


@pytest.mark.parametrize("camera", ["abc", "70000", "10.0.0.1:8765"])
def test_a_bad_camera_address_names_camera(capsys, camera):
    said = refused(capsys, "serve", "--camera", camera, "--port", "0", says=f"--camera {camera!r}").errors[0]
    assert "--control" not in said, said
