"""Hunt 33 (interrupts): signals, full disks and sources that die, at every moment of a job."""

from __future__ import annotations

import os
import signal
import time

import pytest


@pytest.fixture
def sighup_ignored():
    """SIGHUP ignored, as ``nohup`` starts a command; put back afterwards."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    yield
    signal.signal(signal.SIGHUP, previous)


def test_a_signal_the_process_was_started_to_ignore_does_not_stop_a_job(sighup_ignored) -> None:
    """'nohup deepphoto run long.mp4 out.mp4 &', then the terminal closed: the job was stopped by
    the SIGHUP nohup had set it to ignore (82 of 150 frames, status 130). It stays ignored now;
    the other signals still stop it."""
    from deepphoto.stream.stopping import ending_signals, stop_asked

    stopped = False
    try:
        with ending_signals():
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.05)  # a handler raises KeyboardInterrupt here
    except KeyboardInterrupt:
        stopped = True
    assert not stopped and not stop_asked()
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    with pytest.raises(KeyboardInterrupt), ending_signals():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)


def test_nohup_serve_outlives_its_terminal(sighup_ignored, monkeypatch) -> None:
    """'nohup deepphoto serve --host 0.0.0.0 &': closing the terminal stopped the studio, whose
    own SIGHUP handler replaced the one nohup left (ignore)."""
    import deepphoto.web.server as server
    from deepphoto.web.app import StudioConfig

    class Served:
        should_exit = False

        def run(self, sockets: list) -> None:
            os.kill(os.getpid(), signal.SIGHUP)  # the terminal closed while it serves
            time.sleep(0.05)

    served = Served()
    monkeypatch.setattr(server, "uvicorn_server", lambda app, tls=None: served)
    server.serve(StudioConfig(warm=False), 0)
    assert not served.should_exit
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
