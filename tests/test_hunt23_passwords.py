"""A password in a stream's URI is never printed (hunt of 2026-12-02): every message names the input
by its URI, and ``rtsp://user:secret@camera/live`` put the password into the terminal and any log."""

from __future__ import annotations

import io
import socket

import pytest
from adversarial import RUN_FAST, cli

from deepphoto.commands.console import GuardedStream, without_password


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("rtsp://admin:s3cret@10.0.0.5:554/live: refused", "rtsp://admin:***@10.0.0.5:554/live: refused"),
        ("a http://u:p%40ss@host/x and https://v:w@h2/ b", "a http://u:***@host/x and https://v:***@h2/ b"),
        ("RTSP://Admin:X@cam/", "RTSP://Admin:***@cam/"),
    ],
)
def test_the_password_of_a_uri_is_hidden(text: str, shown: str) -> None:
    assert without_password(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "rtsp://camera:554/live",  # a port is not a password
        "rtsp://user@camera/live",  # a user name alone is kept
        "mail me: someone@example.org",
        "http://host:8000/?token=abc",  # the studio's address keeps its token
        "clip@2x.mp4: no such file or folder",
    ],
)
def test_text_without_a_password_is_unchanged(text: str) -> None:
    assert without_password(text) == text


def test_the_guarded_stream_writes_without_the_password_and_counts_what_it_was_given() -> None:
    sink = io.StringIO()
    text = "deepphoto: error: rtsp://u:topsecret@cam/live: stream not reachable\n"
    assert GuardedStream(sink).write(text) == len(text)
    assert "topsecret" not in sink.getvalue() and "rtsp://u:***@cam/live" in sink.getvalue()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_stream_with_a_password_is_named_without_it(capsys, tmp_path) -> None:
    uri = f"http://viewer:topsecret@127.0.0.1:{_closed_port()}/live.mp4"
    done = cli(capsys, "run", uri, tmp_path / "out.mp4", "--max-frames", "1", *RUN_FAST)
    assert done.status == 2
    assert "topsecret" not in done.err + done.out
    assert "viewer:***@127.0.0.1" in done.err, done.err
    assert not (tmp_path / "out.mp4").exists()
