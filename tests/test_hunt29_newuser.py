"""Hunt 29 (newuser): what a new user hits copying the README's commands on a plain machine
(no camera, no display, a read-only home, a stream that does not answer)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def deepphoto_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def test_onnx_runtime_telemetry_is_off(tmp_path):
    """ONNX Runtime 1.32 reports usage to Microsoft unless ORT_DISABLE_TELEMETRY is set, keeps a
    device id in ~/.cache/Microsoft, and printed a coloured 'Failed to persist telemetry device ID'
    line on every command where the home folder cannot be written. Importing deepphoto turns it off."""
    pytest.importorskip("onnxruntime")
    code = (
        "import deepphoto, os\n"
        "from deepphoto.models.shipped import shipped_onnx\n"
        "import onnxruntime as ort\n"
        "ort.InferenceSession(str(shipped_onnx('lightnet')), providers=['CPUExecutionProvider'])\n"
        "print(os.environ['ORT_DISABLE_TELEMETRY'])\n"
    )
    env = deepphoto_env(HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
    assert not (tmp_path / ".cache" / "Microsoft").exists()
    assert not (tmp_path / "cache" / "Microsoft").exists()
    assert "telemetry" not in done.stderr.lower()


def test_a_telemetry_choice_of_the_users_own_is_kept():
    code = "import deepphoto, os; print(os.environ['ORT_DISABLE_TELEMETRY'])"
    env = deepphoto_env(ORT_DISABLE_TELEMETRY="0")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "0", done.stderr


@pytest.mark.parametrize("command", ["run", "edit", "batch"])
def test_background_alone_replaces_the_background(command, tmp_path):
    """``--background beach.jpg`` without ``--effect replace`` was taken, checked and left unused:
    the background came out blurred, without a word."""
    from deepphoto.commands.cli import build_parser
    from deepphoto.commands.run import settings_from_args

    out = ["--out", str(tmp_path / "styled")] if command == "batch" else [str(tmp_path / "out.png")]
    args = build_parser(command).parse_args([command, "in.jpg", *out, "--background", "beach.jpg"])
    args.smooth = 0.7 if args.smooth is None else args.smooth  # edit and batch fill these in first
    args.style_scale = 1.0 if args.style_scale is None else args.style_scale
    settings = settings_from_args(args)
    assert settings.effect == "replace"
    assert settings.background == Path("beach.jpg")


@pytest.mark.parametrize("look", [["--style", "wave"], ["--style-image", "painting.jpg"]])
def test_background_with_a_style_is_refused(look, tmp_path):
    from deepphoto.commands.cli import build_parser
    from deepphoto.commands.run import settings_from_args
    from deepphoto.errors import DeepPhotoError, command_line

    args = build_parser("edit").parse_args(["edit", "in.jpg", "out.png", "--background", "beach.jpg", *look])
    with command_line(), pytest.raises(DeepPhotoError, match="--background goes with --effect replace"):
        settings_from_args(args)


def test_ctrl_c_while_a_stream_does_not_answer_stops_at_once():
    """``deepphoto run rtsp://camera/ ...`` with a camera that accepts the connection and says
    nothing: Ctrl-C was acted on only when FFmpeg's connection timed out (up to 10 s), since the
    wait never came back to Python. Now the stop comes while the connection is still waiting."""
    import os
    import signal
    import socket
    import threading

    from deepphoto.stream.stopping import ending_signals
    from deepphoto.stream.video_container import open_input

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    connected, closed = threading.Event(), threading.Event()

    def silent_server() -> None:
        conn, _ = server.accept()
        connected.set()
        with conn:
            while conn.recv(4096):  # the request, then nothing back until the client hangs up
                pass
        closed.set()

    threading.Thread(target=silent_server, daemon=True).start()

    def stop_when_connected() -> None:
        connected.wait(30)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=stop_when_connected, daemon=True).start()
    try:
        with ending_signals(), pytest.raises(KeyboardInterrupt):
            open_input(f"http://127.0.0.1:{port}/clip.mp4", network=True)
        assert connected.is_set()
        # still connected: the stop did not wait for the connection to time out
        assert not closed.wait(1.0), "the stop came only after the connection had timed out"
    finally:
        server.close()


def cli(*argv: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "deepphoto", *map(str, argv)],
        env=deepphoto_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", ["run", "edit"])
@pytest.mark.parametrize("name", ["/dev/stdout", "/dev/stderr"])
def test_standard_output_named_as_a_path_is_refused_as_such(command, name, tmp_path):
    """``deepphoto run clip.mp4 /dev/stdout > out.mp4``: with the standard output redirected to a
    file, the output was refused as 'is a file, not a folder (a folder output ends with /)'; edit
    said 'unknown image type'."""
    import cv2
    from conftest import stand_in_photo

    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), stand_in_photo())
    with open(tmp_path / "captured", "w") as out, open(tmp_path / "errors", "w") as err:
        done = subprocess.run(
            [sys.executable, "-m", "deepphoto", command, str(photo), name],
            env=deepphoto_env(),
            stdout=out,
            stderr=err if name == "/dev/stdout" else subprocess.PIPE,
            text=True,
            timeout=120,
        )
    message = (tmp_path / "errors").read_text() if name == "/dev/stdout" else done.stderr
    stream = "standard output" if name == "/dev/stdout" else "standard error"
    assert done.returncode == 2
    assert message.count("\n") == 1 and "Traceback" not in message
    assert f"{name}: " in message and f"cannot be written to {stream}" in message
    assert (tmp_path / "captured").read_text() == ""


def test_a_camera_given_as_a_number_is_named_as_a_camera(tmp_path):
    """``deepphoto run 0 vcam://``, as OpenCV opens camera 0: '0: no such file or folder' said
    nothing of how a camera is named."""
    done = cli("run", "0", "out.mp4", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "deepphoto: error: 0: no such file or folder (a camera is /dev/video0 or v4l2://0)"
    )


def test_the_optimisers_progress_bar_is_not_drawn_into_a_log(tmp_path, monkeypatch):
    """``deepphoto edit ... --method optimize 2> edit.log``: the bar's redraws (carriage returns,
    block characters) filled the log, as run's and batch's did before they were kept to a terminal."""
    pytest.importorskip("torch", reason="the photo optimiser needs torch")
    import cv2
    from conftest import stand_in_photo

    from deepphoto import optimizer
    from deepphoto.commands import edit
    from deepphoto.commands.cli import build_parser

    asked = {}

    def paint_photo(image, style, painting, size, **options):  # the optimiser's call, not its minutes
        asked.update(options)
        return image

    monkeypatch.setattr(optimizer, "paint_photo", paint_photo)
    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), stand_in_photo(96, 72))
    argv = ["edit", str(photo), str(tmp_path / "out.png"), "--style", "wave", "--method", "optimize"]
    assert edit.run(build_parser("edit").parse_args(argv)) == 0  # standard error here: not a terminal
    assert asked["progress"] is False


def test_a_phone_video_on_a_server_that_cannot_seek_says_why(tmp_path):
    """``deepphoto run http://laptop:8000/clip.mp4 out.mp4`` with the clip shared by ``python -m
    http.server`` (no Range requests) and written as phones write it, its index at the end: FFmpeg
    reads the index, cannot go back for the frames, and the run said only 'no frame could be
    decoded'."""
    import functools
    import http.server
    import threading
    from fractions import Fraction

    import av
    import numpy as np

    from deepphoto.errors import DeepPhotoError
    from deepphoto.stream.video_file import VideoFileSource

    clip = tmp_path / "clip.mp4"  # PyAV writes the index last, as a phone does
    rng = np.random.default_rng(0)
    with av.open(str(clip), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        stream.options = {"crf": "10"}
        for i in range(30):  # noise: several buffers' worth of bytes before the index
            frame = av.VideoFrame.from_ndarray(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, 30)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    assert clip.stat().st_size > 1 << 20

    class Quiet(http.server.SimpleHTTPRequestHandler):  # as http.server serves: no Range requests
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        source = VideoFileSource(f"http://127.0.0.1:{server.server_port}/clip.mp4", network=True)
        try:
            assert source.finite
            with pytest.raises(DeepPhotoError, match=r"allows seeking \(HTTP Range requests\): download it first"):
                list(source)
        finally:
            source.close()
    finally:
        server.shutdown()
        server.server_close()


def test_a_relative_xdg_cache_home_is_ignored(tmp_path, monkeypatch):
    """``XDG_CACHE_HOME=cache``: the cache followed the current folder, so 'deepphoto assets' fetched
    into one folder and a run in another said its files were not in the cache (and built the INT8
    engines again, minutes each). The XDG specification says to ignore a relative path, as the
    user data folder already does."""
    from deepphoto.assets import cache_dir

    monkeypatch.delenv("DEEPPHOTO_CACHE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", "cache")
    assert cache_dir() == tmp_path / "home" / ".cache" / "deepphoto"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "deepphoto"


@pytest.mark.parametrize("command", ["run", "edit", "batch"])
def test_every_option_with_a_default_says_it_in_its_help(command):
    """``deepphoto batch --help`` gave no default for --chunk-seconds (60), --warmup-seconds (3),
    --retries (2), --seg-every or --skip-still, which the README states; a default said in the help
    is the parser's own."""
    import re

    from deepphoto.commands.cli import build_parser

    parser = build_parser(command)
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    for action in sub._actions:
        if not action.option_strings or action.help in (None, "==SUPPRESS==") or action.nargs == 0:
            continue
        if isinstance(action.default, (int, float)) and not isinstance(action.default, bool):
            said = re.findall(r"default ([0-9.]+)", action.help)
            assert said, f"{command} {action.option_strings[0]}: no default in its help ({action.help!r})"
            if action.dest not in ("style_scale",):  # style-scale states both: 0.75 for video, 1 for photos
                assert float(said[0]) == float(action.default), f"{command} {action.option_strings[0]}"


def test_demo_out_keeps_a_file_of_the_users_own(tmp_path, monkeypatch):
    """``deepphoto demo --out talk.mp4`` wrote over the user's own talk.mp4 without a word: the demo
    always ran with --overwrite. Its own default video is still replaced run after run."""
    import cv2
    from conftest import stand_in_photo

    from deepphoto import assets
    from deepphoto.commands import demo
    from deepphoto.commands.cli import build_parser
    from deepphoto.errors import DeepPhotoError

    footage = tmp_path / "footage.png"  # stands in for the demo clip: one frame is enough here
    cv2.imwrite(str(footage), stand_in_photo(64, 48))
    monkeypatch.setattr(assets, "demo_clip", lambda: footage)
    mine = tmp_path / "talk.mp4"
    mine.write_bytes(b"the user's own recording")
    args = build_parser("demo").parse_args(["demo", "--out", str(mine), "--effect", "grey"])
    with pytest.raises(DeepPhotoError, match="already exists"):
        demo.run(args)
    assert mine.read_bytes() == b"the user's own recording"

    monkeypatch.chdir(tmp_path)
    for _ in range(2):  # the demo's own video: replaced
        assert demo.run(build_parser("demo").parse_args(["demo", "--effect", "grey"])) == 0
    assert (tmp_path / demo.DEMO_OUT).is_file()


def test_a_misspelt_option_points_at_the_commands_own_help(tmp_path):
    """``deepphoto run clip.mp4 out.mp4 --stlye wave`` said '(see deepphoto --help)', which lists the
    commands, not run's options."""
    done = cli("run", "clip.mp4", "out.mp4", "--stlye", "wave", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        "deepphoto: error: unrecognized arguments: --stlye wave; did you mean --style? (see deepphoto run --help)\n"
    )


def test_strength_with_an_effect_is_said_to_be_unused(tmp_path, capsys):
    """``edit photo.jpg out.png --effect grey --strength 0.3`` wrote the whole effect and said
    'grey on the background, strength 0.3': strength blends a style's painting, and an effect is
    applied whole. Now a warning says so, and the summary does not claim it."""
    import cv2
    from conftest import stand_in_photo

    from deepphoto.commands import edit
    from deepphoto.commands.cli import build_parser

    photo = tmp_path / "photo.png"
    cv2.imwrite(str(photo), stand_in_photo(96, 72))
    argv = ["edit", str(photo), str(tmp_path / "out.png"), "--effect", "grey", "--strength", "0.3"]
    assert edit.run(build_parser("edit").parse_args([*argv, "--keep-exposure", "1"])) == 0
    out, err = capsys.readouterr()
    assert "grey on the background)" in out and "strength 0.3" not in out
    assert "--strength 0.3 left unused" in err and "--keep-exposure 1 left unused" in err


def test_strength_with_a_style_is_used_without_a_warning(capsys):
    from deepphoto.commands.cli import build_parser
    from deepphoto.commands.run import settings_from_args

    args = build_parser("run").parse_args(["run", "a.mp4", "b.mp4", "--style", "wave", "--strength", "0.3"])
    assert settings_from_args(args).strength == 0.3
    assert capsys.readouterr().err == ""


def test_batch_says_a_stream_or_camera_is_not_a_file(tmp_path):
    """``deepphoto batch rtsp://cam/ --out styled/`` (or /dev/video0 on a machine without a camera,
    or a URL in a .txt list, where it became 'rtsp:/cam/' beside the list) said 'no such file or
    folder'."""
    from deepphoto.batch.inputs import expand_inputs

    listed = tmp_path / "list.txt"
    listed.write_text("rtsp://cam.local/live\n")
    items, problems = expand_inputs(["http://host/clip.mp4", "/dev/video97", str(listed)], tmp_path / "out")
    assert items == []
    assert [(p.source, p.reason) for p in problems] == [
        (name, f"a stream or a camera: batch styles files ('deepphoto run {name} OUT')")
        for name in ("http://host/clip.mp4", "/dev/video97", "rtsp://cam.local/live")
    ]


def gui_opencv(monkeypatch) -> None:
    """OpenCV as its GUI build reports itself (the tests run the headless one)."""
    from deepphoto.stream import sinks

    monkeypatch.setattr(sinks.cv2, "getBuildInformation", lambda: "  GUI:                           QT5\n")
    monkeypatch.setattr(sinks, "_displays_reached", set(), raising=False)


def test_a_window_on_a_display_that_cannot_be_reached_is_refused_in_one_line(monkeypatch):
    """``deepphoto run clip.mp4 display://0`` with a stale $DISPLAY (tmux, ssh without -X) or a
    Wayland session for OpenCV's Qt build: the first frame's window aborted the process (status
    134, a core dump) after a screenful of Qt messages."""
    from deepphoto.errors import DeepPhotoError
    from deepphoto.stream import sinks

    gui_opencv(monkeypatch)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("DISPLAY", ":99")
    # what OpenCV's Qt build does there: a message, then abort()
    qt = "import os, sys; print('qt.qpa.xcb: could not connect to display :99', file=sys.stderr); os.abort()"
    monkeypatch.setattr(sinks, "DISPLAY_PROBE", qt, raising=False)
    with pytest.raises(DeepPhotoError, match=r"cannot open a window on \$DISPLAY=:99 \(qt.qpa.xcb: could not conn"):
        sinks.DisplaySink()


def test_a_window_needs_no_display_variable_on_macos(monkeypatch):
    """macOS opens windows without $DISPLAY: display:// said 'needs a display ($DISPLAY is not set)'."""
    from deepphoto.stream import sinks

    gui_opencv(monkeypatch)
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    sinks.DisplaySink()


def test_edit_help_does_not_offer_smooth_as_a_control():
    """``deepphoto edit --help`` described --smooth as run's ('hold the mask ... default 0.7'), and
    edit then warned that it was left unused."""
    from deepphoto.commands.cli import build_parser

    sub = next(a for a in build_parser("edit")._actions if a.dest == "command").choices["edit"]
    smooth = next(a for a in sub._actions if a.dest == "smooth")
    assert smooth.help.startswith("left unused") and "default" not in smooth.help


@pytest.mark.parametrize("name", ["-", "/dev/stdout"])
def test_batch_out_is_not_standard_output(name, tmp_path):
    """``deepphoto batch clips/ --out -`` made a folder named '-' (as run refuses '-'), and
    ``--out /dev/stdout > log`` said that the log file 'exists and is not a folder'."""
    done = cli("batch", "clips/", "--out", name, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        f"deepphoto: error: --out {name}: names the standard output; give a folder to write into (e.g. styled/)\n"
    )
    assert not (tmp_path / "-").exists()
