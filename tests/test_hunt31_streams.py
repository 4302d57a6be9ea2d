"""Hunt 31 (streams): inputs named by a network URI.

- A password typed with an '@' in it (``rtsp://admin:p@ss@camera/live``, which FFmpeg reads as the
  password 'p@ss') was printed in part: ``rtsp://admin:***@ss@camera/live``.
"""

from __future__ import annotations

import socket

import pytest
from adversarial import RUN_FAST, cli

from deepphoto.commands.console import without_password


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- passwords


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("rtsp://admin:p@ss@cam/live: refused", "rtsp://admin:***@cam/live: refused"),
        ("rtsp://admin:a@b@c@10.0.0.5:554/live", "rtsp://admin:***@10.0.0.5:554/live"),
        ("rtsp://cam:554/live, mail me at a@b.org", "rtsp://cam:554/live, mail me at a@b.org"),
    ],
)
def test_a_password_with_an_at_sign_is_hidden_whole(text: str, shown: str) -> None:
    assert without_password(text) == shown


def test_an_unreachable_stream_never_shows_a_password_with_an_at_sign(capsys, tmp_path) -> None:
    uri = f"rtsp://viewer:top@secret@127.0.0.1:{_closed_port()}/live"
    done = cli(capsys, "run", uri, tmp_path / "out.mp4", "--max-frames", "1", *RUN_FAST)
    assert done.status == 2
    assert "secret" not in done.err + done.out, done.err
    assert "viewer:***@127.0.0.1" in done.err, done.err
