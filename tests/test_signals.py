"""Signals during a job: Ctrl-C (SIGINT), SIGTERM and SIGHUP (the terminal closed, ssh dropped)
end it alike: status 130, the output finalised with every frame so far, no temporary file left,
no traceback; a burst of them is one ending. The real console script, in a process of its own."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from adversarial import DEEPPHOTO, FAST, RUN_FAST, leftovers, write_png
from media import make_clip, probe

SLOW_LOOK = ["--effect", "cartoon"]  # slow enough per frame to be caught in the middle


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("clips") / "long.mkv", frames=200, size=(320, 240), audio=True)


def start(*argv: object) -> subprocess.Popen:
    return subprocess.Popen([*DEEPPHOTO, *map(str, argv)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(found: callable, job: subprocess.Popen, seconds: float = 180) -> None:
    """Until ``found()`` (the first frames are written), failing if the job ends first."""
    deadline = time.monotonic() + seconds
    while not found():
        assert job.poll() is None, f"the job ended before it was signalled: {job.communicate()}"
        assert time.monotonic() < deadline, "no frame was written in time"
        time.sleep(0.05)


def partial_video(folder: Path) -> bool:
    """The temporary video file exists: the muxer makes it with the first packet, so frames have
    been encoded and written."""
    return any(p.is_file() for p in folder.glob(".*.partial.*"))


def finish(job: subprocess.Popen) -> tuple[int, str, str]:
    out, err = job.communicate(timeout=120)
    return job.returncode, out, err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_signal_finalises_a_video_with_audio(tmp_path, long_clip, sig):
    out = tmp_path / "out.mkv"
    job = start("run", long_clip, out, *RUN_FAST, *SLOW_LOOK)
    wait_for(lambda: partial_video(tmp_path), job)
    job.send_signal(sig)
    status, stdout, stderr = finish(job)
    assert status == 130, stderr
    assert "Traceback" not in stderr and stdout.startswith("interrupted: ")
    got = probe(out)
    assert 0 < got["frames"] < 200 and got["audio"]
    assert leftovers(tmp_path) == []


def test_sighup_finalises_a_folder_of_frames(tmp_path, long_clip):
    out = tmp_path / "frames"
    out.mkdir()
    job = start("run", long_clip, f"{out}/", *RUN_FAST, *SLOW_LOOK)
    wait_for(lambda: any(out.glob(".*.partial/*.png")), job)
    job.send_signal(signal.SIGHUP)
    status, stdout, stderr = finish(job)
    assert status == 130 and "Traceback" not in stderr, stderr
    frames = sorted(out.glob("*.png"))
    assert 0 < len(frames) < 200 and frames[0].name == "000000.png"
    assert (out / ".deepphoto-frames").read_text().split() == [p.name for p in frames]
    assert leftovers(tmp_path) == []


def test_a_burst_of_ctrl_c_is_one_ending(tmp_path, long_clip):
    out = tmp_path / "out.mp4"
    job = start("run", long_clip, out, *RUN_FAST, *SLOW_LOOK)
    wait_for(lambda: partial_video(tmp_path), job)
    burst = [signal.SIGINT] * 6 + [signal.SIGTERM, signal.SIGHUP]
    sent, deadline = 0, time.monotonic() + 60
    while job.poll() is None and time.monotonic() < deadline:  # until it has ended, to its last moment
        job.send_signal(burst[sent % len(burst)])
        sent += 1
        time.sleep(0.005)
    status, stdout, stderr = finish(job)
    assert sent > 3
    assert status == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    assert stdout.count("interrupted") == 1
    assert probe(out)["frames"] > 0 and leftovers(tmp_path) == []


def catches(pid: int, sig: signal.Signals) -> bool:
    """Whether the process has its own handler for ``sig`` (Linux: SigCgt in /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    return False


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc to see the handlers installed")
def test_signal_before_the_first_frame_leaves_nothing(tmp_path, long_clip):
    out = tmp_path / "out.mp4"
    job = start("run", long_clip, out, *RUN_FAST, *SLOW_LOOK)
    wait_for(lambda: catches(job.pid, signal.SIGTERM), job)  # DeepPhoto's, from its first moments
    job.send_signal(signal.SIGTERM)  # still starting: opening the networks
    status, stdout, stderr = finish(job)
    assert status == 130 and "Traceback" not in stderr, stderr
    lines = [line for line in (stderr + stdout).splitlines() if "interrupted" in line]
    assert len(lines) == 1
    if not out.exists():  # it may have got as far as a few frames; if not, nothing at all
        assert list(tmp_path.iterdir()) == []
    else:
        assert probe(out)["frames"] > 0
    assert leftovers(tmp_path) == []


@pytest.mark.slow
def test_sighup_during_the_photo_optimiser(tmp_path):
    photo = write_png(tmp_path / "in.png", np.full((96, 128, 3), 120, np.uint8))
    out = tmp_path / "out.png"
    job = start("edit", photo, out, *FAST, "--method", "optimize", "--style", "wave", "--size", "1024")
    time.sleep(10)  # PyTorch loaded, the optimiser at work (a minute or more at 1024 pixels)
    assert job.poll() is None, job.communicate()
    job.send_signal(signal.SIGHUP)
    status, _, stderr = finish(job)
    assert status == 130 and "Traceback" not in stderr, stderr
    assert stderr.strip().splitlines()[-1] == "deepphoto: interrupted"
    assert not out.exists() and leftovers(tmp_path) == []


@pytest.mark.slow
def test_sigterm_ends_a_soak(tmp_path):
    job = start("soak", "--minutes", "5", "--size", "160x120", *FAST)
    time.sleep(8)
    job.send_signal(signal.SIGTERM)
    status, stdout, stderr = finish(job)
    assert status == 130 and "Traceback" not in stderr, stderr
    assert "resident memory" in stdout


@pytest.mark.parametrize("error", [ImportError, RuntimeError])
def test_a_stop_that_comes_out_as_another_error_is_an_interruption(monkeypatch, capsys, error):
    """A signal that lands while a C extension is being imported comes out of the import as an
    ImportError (numpy: 'PyCapsule_Import could not import module "datetime"'), not as the
    KeyboardInterrupt the handler raised: it is still an interruption, status 130, one line."""
    import os

    from deepphoto.commands import cli, styles

    def stopped_mid_import(args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)
        except KeyboardInterrupt as exc:
            raise error("PyCapsule_Import could not import module") from exc

    monkeypatch.setattr(styles, "run", stopped_mid_import)
    assert cli.main(["styles"]) == 130
    err = capsys.readouterr().err
    assert err.count("interrupted") == 1 and "Traceback" not in err and "PyCapsule" not in err


def test_the_same_error_without_a_stop_is_not_an_interruption(monkeypatch):
    from deepphoto.commands import cli, styles

    def broken(args):
        raise ImportError("PyCapsule_Import could not import module")

    monkeypatch.setattr(styles, "run", broken)
    with pytest.raises(ImportError):
        cli.main(["styles"])


def test_a_signal_ends_a_benchmark_of_many_clips(tmp_path, long_clip):
    """Each clip's run ends at the signal and finalises its file; the benchmark must then stop
    too (it used to go on to the next clip, with every later signal ignored, and write its report):
    status 130, one line, and no report written."""
    clips = tmp_path / "clips"
    clips.mkdir()
    for name in ("a", "b", "c"):
        (clips / f"{name}.mkv").symlink_to(long_clip)
    out, log = tmp_path / "report", tmp_path / "stderr.txt"
    argv = [*DEEPPHOTO, "bench", "--clips", str(clips), "--sizes", "320x240", "--frames", "200", "--out", str(out)]
    with open(log, "w") as err:
        job = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True)
        wait_for(lambda: "1/3" in log.read_text(), job)  # the first clip done (it takes 10-25 s here)
        time.sleep(3)  # past the first clip's measuring: inside the second one's run
        assert job.poll() is None
        job.send_signal(signal.SIGTERM)
        stdout, _ = job.communicate(timeout=120)
    stderr = log.read_text()
    assert job.returncode == 130 and "Traceback" not in stderr, stderr
    assert (stderr + stdout).count("interrupted") == 1
    assert not (out / "report.json").exists()


def test_a_signal_while_an_output_is_finalised_is_acted_on_after_it() -> None:
    """A stop asked for while an output was being finalised was ignored (the signal dropped), so a
    benchmark of many clips went on to the next clip and ended with status 0."""
    import os

    from deepphoto.stream.stopping import ending_signals, signals_held

    finished = False
    with pytest.raises(KeyboardInterrupt), ending_signals():
        with signals_held():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            finished = True  # the finalising is never cut short
    assert finished


def test_a_stop_while_the_output_is_finalised_ends_the_stream_as_interrupted() -> None:
    """The stop held during finalising came out of ``run_stream`` as an exception: no summary, so
    ``run`` could not say which (complete) file it wrote. It is an interrupted run now."""
    import os

    from deepphoto.stream.loop import run_stream
    from deepphoto.stream.processor import StageTimes
    from deepphoto.stream.sinks import NullSink
    from deepphoto.stream.sources import Synthetic
    from deepphoto.stream.stopping import ending_signals

    class Passing:
        times = StageTimes()

        def __call__(self, image: np.ndarray) -> np.ndarray:
            return image

    class StoppedWhileClosing(NullSink):
        def close(self):  # type: ignore[no-untyped-def]
            os.kill(os.getpid(), signal.SIGTERM)
            return super().close()

    with ending_signals():
        summary = run_stream(Synthetic((64, 48), fps=30, frames=5), StoppedWhileClosing(), Passing(), progress=False)
    assert summary.interrupted
