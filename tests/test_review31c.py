"""Review 31c: the Studio's guard against connections held open (hunt 31, websec), checked on a
real server with real sockets.

- A request answered before its body was read (a 401 to anyone without the token, a 413) whose
  body then came in pieces left its connection waiting for the next request with no clock at all:
  uvicorn's keep-alive timer is cancelled by the body's data and the headers' deadline had been
  disarmed when the headers came, so anyone on the network could hold it for ever.
- Over ``--https`` the per-address cap was counted once a connection's TLS handshake was done:
  connections that never began one were not counted, and a few hundred from one address used up
  the server's open files (the owner's page timed out, the log filled with 'Too many open files').
"""

from __future__ import annotations

import socket
import time

import pytest

pytest.importorskip("fastapi", reason="needs the web extra: pip install -e '.[web]'")
pytest.importorskip("uvicorn", reason="needs the web extra: pip install -e '.[web]'")

from studio_page import background_studio  # noqa: E402
from test_hunt31_websec import closed_by_server as closed_while_dripping  # noqa: E402


def port_of(url: str) -> int:
    return int(url.split(":")[2].split("/")[0])


def closed_by_server(sock: socket.socket, tries: int = 120) -> bool:
    """Whether the server closes ``sock`` (read until it does, or ``tries`` quarter seconds pass)."""
    return closed_while_dripping(sock, drip=False, tries=tries)


def test_a_body_that_ends_after_its_401_does_not_hold_the_connection_for_ever(monkeypatch):
    import deepphoto.web.server as server

    monkeypatch.setattr(server, "HEADERS_WITHIN_S", 1.0)
    with background_studio(host="0.0.0.0", token="review31c") as studio:
        with socket.create_connection(("127.0.0.1", port_of(studio.url))) as sock:
            # no token: answered 401 at once, before the body is read
            sock.sendall(b"POST /api/uploads/photo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 30\r\n\r\n" + b"a")
            sock.settimeout(30)
            assert sock.recv(65536).startswith(b"HTTP/1.1 401")
            for piece in (b"b" * 10, b"c" * 19):  # the body's rest, in two pieces
                time.sleep(0.3)
                sock.sendall(piece)
            assert closed_by_server(sock)


def test_over_https_one_address_cannot_hold_every_connection(monkeypatch, tmp_path):
    """Over https the per-address cap was counted when the TLS handshake was done: connections that
    never began one (held 60 s each) were not counted, and a few hundred from one address used up
    the server's open files (the owner's own page timed out, the log filled with 'Too many open
    files'). Checked now as the connection is accepted."""
    pytest.importorskip("cryptography", reason="needs the web extra: pip install -e '.[web]'")
    import deepphoto.web.server as server
    from deepphoto.web.app import StudioConfig
    from deepphoto.web.tls import self_signed

    address = server.outward_address()
    if address is None:
        pytest.skip("needs a network address of this computer (not loopback) to connect from")
    monkeypatch.setattr(server, "MAX_CONNECTIONS_PER_ADDRESS", 4)
    tls = self_signed([], folder=tmp_path)
    config = StudioConfig(host="0.0.0.0", token="review31c", warm=False)
    with server.BackgroundServer(config, tls=tls) as studio:
        port = port_of(studio.url)
        held = [socket.create_connection((address, port)) for _ in range(4)]  # no handshake begun
        try:
            with socket.create_connection((address, port)) as fifth:
                assert closed_by_server(fifth)
            assert not closed_by_server(held[0], tries=2)  # those within the cap are kept
        finally:
            for sock in held:
                sock.close()
        for _ in range(100):  # the closed ones are forgotten: the address is served again
            with socket.create_connection((address, port)) as again:
                if not closed_by_server(again, tries=2):
                    break
        else:
            pytest.fail("the address was not served again after its connections closed")
