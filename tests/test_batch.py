"""``deepphoto batch`` on a local Ray with two workers: a folder with a broken file, output equal to
``run``, a worker killed mid-batch, an interrupted batch resumed; and the parts below it (inputs,
manifest, the cut and its warm-up) without Ray."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from media import encode_into

from deepphoto import Pipeline, Settings
from deepphoto.assets import demo_clip
from deepphoto.batch.chunks import plan_video, render_chunk
from deepphoto.batch.inputs import WorkItem, expand_inputs
from deepphoto.batch.manifest import MANIFEST_NAME, Manifest, settings_hash
from deepphoto.commands.cli import main
from deepphoto.errors import DeepPhotoError

ray = pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
from deepphoto.batch.runner import BatchOptions, BatchRunner  # noqa: E402  (after the skip)

# Small segmenter input: these tests are about the batch, not the masks' quality (and 2 cores are shared).
LOOK = ["--style", "wave", "--backend", "onnx", "--precision", "fp32", "--seg-input", "160x128"]
SETTINGS = Settings(style="wave", backend="onnx", precision="fp32", seg_input=(160, 128))
CUT = {"chunk_seconds": 0.5, "warmup_seconds": 1.0}  # 30 fps footage, a keyframe every 10 frames


def footage(path: Path, frames: int, start: int = 0, audio: bool = False) -> Path:
    """``frames`` frames of the bundled demo clip (a person in a car, 176x144 at 29.97 fps) from
    ``start``, H.264 with a keyframe every 10 frames, optionally with a tone as audio."""
    with av.open(str(demo_clip())) as src:
        stream = src.streams.video[0]
        rate = stream.average_rate
        images = [f.to_ndarray(format="bgr24") for i, f in enumerate(src.decode(stream)) if i < start + frames]
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=rate)
        v.width, v.height, v.pix_fmt = images[0].shape[1], images[0].shape[0], "yuv420p"
        v.codec_context.gop_size = 10
        v.options = {"crf": "18", "preset": "veryfast"}
        a = None
        if audio:
            a = out.add_stream("aac", rate=44100)
            a.layout = "mono"
        encode_into(out, v, (_video_frame(image, i, rate) for i, image in enumerate(images[start:])))
        if a is not None:
            n = int(44100 * frames / float(rate))
            tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(n) / 44100)).astype(np.float32)[None]
            encode_into(out, a, (_tone_chunk(tone, s) for s in range(0, n, 1024)))
    return path


def _video_frame(image: np.ndarray, pts: int, rate: Fraction) -> av.VideoFrame:
    frame = av.VideoFrame.from_ndarray(image, format="bgr24")
    frame.pts, frame.time_base = pts, 1 / Fraction(rate)
    return frame


def _tone_chunk(tone: np.ndarray, start: int) -> av.AudioFrame:
    samples = np.ascontiguousarray(tone[:, start : start + 1024])
    chunk = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
    chunk.sample_rate, chunk.pts = 44100, start
    return chunk


def decoded(path: Path) -> tuple[list[int], list[np.ndarray], bool]:
    """Timestamps (seconds * 1e6, rounded) and BGR frames of the first video stream; audio present."""
    with av.open(str(path)) as c:
        frames = list(c.decode(c.streams.video[0]))
        return (
            [round(float(f.time) * 1e6) for f in frames],
            [f.to_ndarray(format="bgr24") for f in frames],
            bool(c.streams.audio),
        )


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def leftovers(folder: Path) -> list[Path]:
    """Temporary files or chunk folders anywhere under ``folder``."""
    return [p for p in folder.rglob("*") if p.name.startswith(".") or ".partial" in p.name]


ANIMATION = hasattr(cv2, "imencodeanimation")  # OpenCV 4.11+ reads and writes animated images


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch-in")
    (root / "photos").mkdir()
    (root / "sub").mkdir()
    footage(root / "a.mp4", 60, audio=True)  # four chunks of half a second
    footage(root / "short.mp4", 12, start=40)  # shorter than a chunk: one
    footage(root / "sub" / "c.mkv", 30, start=70)  # Matroska in, Matroska out
    _, frames, _ = decoded(root / "short.mp4")
    cv2.imwrite(str(root / "photos" / "face.jpg"), frames[5])
    # the bad file: noise, the same every run (os.urandom's probed as a sound file about once in 300:
    # "has no video stream", a fair reason too, but not the one asserted; a CI run met it)
    (root / "photos" / "broken.mp4").write_bytes(np.random.default_rng(0).bytes(4000))
    if ANIMATION:  # an animated image: a photo to the batch, whose report says only its first frame was
        anim = cv2.Animation()
        anim.frames, anim.durations = [frames[2], frames[8]], [100, 100]
        (root / "photos" / "anim.webp").write_bytes(cv2.imencodeanimation(".webp", anim)[1].tobytes())
    (root / "notes.md").write_text("not media: ignored")
    return root


def options(out: Path, **changes) -> BatchOptions:
    values = {"out": out, "workers": 2, "cpus_per_worker": 0.5, "progress": False, **CUT, **changes}
    return BatchOptions(**values)


@pytest.fixture(scope="module")
def first_batch(media, local_ray, tmp_path_factory):
    out = tmp_path_factory.mktemp("batch-out")
    report = BatchRunner([str(media)], SETTINGS, options(out)).run()
    return out, report


# ---------------------------------------------------------------------- without Ray


def test_plan_cuts_at_keyframes_with_warmup_before_each_cut(media):
    plan = plan_video(media / "a.mp4", **CUT)
    assert plan.frames == 60 and plan.has_audio
    chunks = plan.chunks
    assert len(chunks) >= 3
    assert chunks[0].first == 0 and chunks[-1].stop == 60
    assert all(a.stop == b.first for a, b in zip(chunks, chunks[1:]))  # contiguous, nothing twice
    assert all(c.first % 10 == 0 for c in chunks)  # at keyframes
    assert chunks[0].warm_frames == 0 and chunks[0].shift == 0
    for c in chunks[1:]:
        assert c.warm_frames == min(c.first, 30)  # one second of warm-up where there is one
        assert c.shift == c.start_pts
    whole = plan_video(media / "short.mp4", **CUT)
    assert len(whole.chunks) == 1 and whole.frames == 12


def test_joined_recordings_are_read_whole_not_cut(tmp_path):
    """Sorted by their times, the frames of two recordings joined end to end (the second's clock
    back at zero) were cut into chunks that mixed the two: chunk 0 got no frame at all."""
    from media import ts_part

    joined = tmp_path / "joined.ts"
    joined.write_bytes(ts_part(tmp_path / "a.ts", 0, 30, 300) + ts_part(tmp_path / "b.ts", 30, 30, 0))
    plan = plan_video(joined, chunk_seconds=0.3, warmup_seconds=0.1)
    assert plan.frames == 60 and len(plan.chunks) == 1 and plan.chunks[0].stop == 60


def test_cut_frames_equal_one_run_before_encoding(media, tmp_path):
    """The lossless path: frames a cut render hands to the encoder against those of one run. The
    first chunk is the run's beginning exactly; later ones differ only by what warm-up does not
    recover of the smoothing state (PSNR > 40 dB), and far less than without warm-up."""
    clip = media / "a.mp4"
    with Pipeline(SETTINGS) as pipe:
        reference: list[tuple[int, np.ndarray]] = []
        pipe.run(str(clip), "null://", progress=False, observe=lambda im, fr: reference.append((fr.pts, im.copy())))

        def render(warmup: float) -> list[tuple[int, np.ndarray]]:
            got: list[tuple[int, np.ndarray]] = []
            plan = plan_video(clip, CUT["chunk_seconds"], warmup)
            for c in plan.chunks:
                render_chunk(
                    pipe,
                    plan,
                    c,
                    tmp_path / f"w{warmup}-{c.index}.mp4",
                    observe=lambda im, fr: got.append((fr.pts, im.copy())),
                )
            return got

        warm = render(1.0)
        cold = render(0.0)
    assert [p for p, _ in warm] == [p for p, _ in reference] == [p for p, _ in cold]
    first = plan_video(clip, **CUT).chunks[0]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(warm[: first.stop], reference[: first.stop]))
    warm_psnr = [psnr(a, b) for (_, a), (_, b) in zip(warm, reference)]
    cold_psnr = [psnr(a, b) for (_, a), (_, b) in zip(cold, reference)]
    assert min(warm_psnr) > 40.0, min(warm_psnr)
    assert min(cold_psnr) < min(warm_psnr)  # the warm-up is what makes the cut invisible


def test_inputs_folders_lists_clashes_and_the_output_folder(tmp_path):
    (tmp_path / "in" / "deep").mkdir(parents=True)
    for name in ("in/x.mp4", "in/x.mkv", "in/deep/y.jpg", "in/.hidden.mp4", "in/readme.txt", "z.png"):
        (tmp_path / name).write_bytes(b"1")
    out = tmp_path / "in" / "out"  # an output folder inside an input folder is never read
    out.mkdir()
    (out / "old.mp4").write_bytes(b"1")
    listing = tmp_path / "list.txt"
    listing.write_text("# inputs\nin\n\nz.png\nmissing.mp4\nin/x.mp4\n")
    items, problems = expand_inputs([str(listing)], out)
    names = {i.source.name: i for i in items}
    assert set(names) == {"x.mp4", "x.mkv", "y.jpg", "z.png"}  # hidden, text, duplicates and outputs left out
    assert names["x.mp4"].output == out.resolve() / "x.mp4"
    assert names["x.mkv"].output == out.resolve() / "x.mkv"
    assert names["y.jpg"].output == out.resolve() / "deep" / "y.png" and names["y.jpg"].kind == "image"
    assert [p.reason for p in problems] == ["no such file or folder"]
    clash, _ = expand_inputs(
        [str(tmp_path / "in" / "x.mp4"), str(tmp_path / "in" / "deep"), str(tmp_path / "z.png")], out
    )
    again, _ = expand_inputs(
        [str(tmp_path / "in" / "x.mp4"), str(tmp_path / "in" / "deep"), str(tmp_path / "z.png")], out
    )
    assert [i.output for i in clash] == [i.output for i in again]  # the same names on every run


def test_a_name_given_to_one_source_is_never_given_to_another(tmp_path):
    """a.jpg and a.png in one folder: a.png -> a.png, a.jpg -> a-2.png (the source that keeps its name
    has it first: hunt 29). A later batch of a.jpg alone named it a.png, replaced a.png's result
    without --overwrite (the manifest said the folder's batches owned the name), and the next batch
    of both skipped a.png as done."""
    folder, out = tmp_path / "in", tmp_path / "styled"
    folder.mkdir()
    out.mkdir()
    for name in ("a.jpg", "a.png"):
        (folder / name).write_bytes(name.encode())
    first, _ = expand_inputs([str(folder)], out)
    assert [i.output.name for i in first] == ["a-2.png", "a.png"]
    m = Manifest(out)
    for item in first:
        m.claim(item)
        item.output.write_bytes(item.source.name.encode())
        m.record(item, "digest", 1, 0.1)
    alone, _ = expand_inputs([str(folder / "a.jpg")], out, Manifest(out).outputs())
    assert [i.output.name for i in alone] == ["a-2.png"]  # its own name from the earlier batch
    shifted = WorkItem(first[0].source, first[1].output, "image", 1, 1)  # a.jpg aimed at a.png's result
    assert not m.owns(shifted) and m.owns(first[0])
    m.claim(shifted)  # with --overwrite: a.png's entry goes, its result being replaced
    assert str(first[1].source) not in m.entries


def test_manifest_done_only_while_source_settings_and_output_hold(tmp_path):
    src, out = tmp_path / "a.mp4", tmp_path / "out" / "a.mp4"
    src.write_bytes(b"video")
    out.parent.mkdir()
    st = src.stat()
    item = WorkItem(src, out, "video", st.st_size, st.st_mtime_ns)
    digest = settings_hash(SETTINGS)
    m = Manifest(out.parent)
    assert not m.done(item, digest)
    m.claim(item)
    assert m.owns(item) and not m.done(item, digest)  # being written is not done
    out.write_bytes(b"styled")
    m.record(item, digest, 10, 1.0)
    again = Manifest(out.parent)  # read back from the file
    assert again.done(item, digest)
    assert not again.done(item, settings_hash(SETTINGS.changed(style="scream")))
    assert not again.done(WorkItem(src, out, "video", st.st_size, st.st_mtime_ns + 1), digest)
    out.unlink()
    assert not again.done(item, digest)
    (out.parent / MANIFEST_NAME).write_text("{not json")
    with pytest.raises(DeepPhotoError, match="not a readable batch manifest"):
        Manifest(out.parent)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nothing-here.mp4"], "nothing-here.mp4: no such file or folder"),
        (["{media}", "--workers", "0"], "--workers 0: must be from 1"),
        (["{media}", "--chunk-seconds", "0"], "--chunk-seconds 0"),
        (["{media}", "--threshold", "2"], "threshold 2.0"),
    ],
)
def test_bad_options_are_one_line_errors(capsys, tmp_path, media, argv, message):
    argv = [a.replace("{media}", str(media)) for a in argv]
    status = main(["batch", *argv, "--out", str(tmp_path / "out"), *LOOK])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and err and message in err[-1], err
    assert not (tmp_path / "out").exists()  # a refused batch leaves no output folder behind


def test_a_style_that_is_not_installed_is_refused_before_ray_starts(capsys, tmp_path, media):
    """A worker found it after Ray had started (17 s) and left an empty output folder."""
    assert main(["batch", str(media), "--out", str(tmp_path / "out"), "--style", "nope"]) == 2
    assert "unknown style 'nope'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_the_output_folder_as_the_only_input_is_refused(capsys, tmp_path, media):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "face.jpg").write_bytes((media / "photos" / "face.jpg").read_bytes())
    assert main(["batch", str(folder), "--out", str(folder), *LOOK]) == 2
    assert "is the output folder and holds every input" in capsys.readouterr().err
    assert [p.name for p in folder.iterdir()] == ["face.jpg"]


def test_output_folder_that_is_a_file_is_refused(capsys, tmp_path, media):
    (tmp_path / "out").write_text("a file")
    assert main(["batch", str(media), "--out", str(tmp_path / "out"), *LOOK]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


# ---------------------------------------------------------------------- on Ray


def test_folder_with_a_broken_file_is_done_except_it(first_batch, media):
    out, report = first_batch
    status = {Path(o.source).name: o for o in report.outcomes}
    assert status["broken.mp4"].status == "failed"
    assert "not a readable video" in status["broken.mp4"].reason and "\n" not in status["broken.mp4"].reason
    done = ["a.mp4", "c.mkv", "face.jpg", "short.mp4"] + (["anim.webp"] if ANIMATION else [])
    for name in done:
        assert status[name].status == "done", status[name]
    assert report.count("done") == len(done) and report.count("failed") == 1 and report.workers == 2
    if ANIMATION:
        assert "its first frame" in status["anim.webp"].note and status["face.jpg"].note == ""
    times, frames, audio = decoded(out / "a.mp4")
    assert len(frames) == 60 and audio  # every frame, the source's audio copied
    assert len(decoded(out / "sub" / "c.mkv")[1]) == 30
    assert cv2.imread(str(out / "photos" / "face.png")) is not None
    assert times == sorted(times) and len(set(times)) == 60
    assert not leftovers(out), leftovers(out)  # no chunk files, no temporary names
    entries = json.loads((out / MANIFEST_NAME).read_text())["entries"]
    assert sorted(Path(k).name for k, e in entries.items() if e["status"] == "done") == sorted(done)
    table = report.table()
    assert f"{len(done)} done, 0 skipped, 1 failed" in table and "broken.mp4" in table


def test_output_equals_run(first_batch, media, tmp_path):
    """Frame by frame against ``deepphoto run`` with the same settings. One chunk (and a photo):
    identical decoded frames. Cut into chunks: each chunk is encoded on its own, so the H.264
    coding differs where the encoder placed its frame types (the frames before encoding agree:
    see test_cut_frames_equal_one_run_before_encoding): same timestamps, mean PSNR > 40 dB."""
    out, _ = first_batch
    for name in ("short.mp4", "a.mp4"):
        assert main(["run", str(media / name), str(tmp_path / name), *LOOK, "--quiet"]) == 0
    run_times, run_frames, _ = decoded(tmp_path / "short.mp4")
    times, frames, _ = decoded(out / "short.mp4")
    assert times == run_times and all(np.array_equal(a, b) for a, b in zip(frames, run_frames))
    run_times, run_frames, run_audio = decoded(tmp_path / "a.mp4")
    times, frames, audio = decoded(out / "a.mp4")
    assert times == run_times and audio == run_audio
    values = [psnr(a, b) for a, b in zip(frames, run_frames)]
    assert np.mean(values) > 40.0 and min(values) > 30.0, (np.mean(values), min(values))
    chunk0 = plan_video(media / "a.mp4", **CUT).chunks[0].stop
    assert sum(np.array_equal(a, b) for a, b in zip(frames[:chunk0], run_frames[:chunk0])) >= chunk0 // 2
    assert main(["run", str(media / "sub" / "c.mkv"), str(tmp_path / "c.mkv"), *LOOK, "--quiet"]) == 0
    assert decoded(tmp_path / "c.mkv")[0] == decoded(out / "sub" / "c.mkv")[0]  # Matroska: same timeline too
    face = ["edit", str(media / "photos" / "face.jpg"), str(tmp_path / "face.png"), *LOOK, "--style-scale", "0.75"]
    assert main(face) == 0  # a batch photo is painted as edit paints it (the person filled in, wide ones in windows)
    assert np.array_equal(cv2.imread(str(tmp_path / "face.png")), cv2.imread(str(out / "photos" / "face.png")))


def test_worker_killed_mid_batch_and_the_batch_completes(first_batch, media, tmp_path):
    out, _ = first_batch
    runner = BatchRunner([str(media / "a.mp4"), str(media / "short.mp4")], SETTINGS, options(tmp_path / "out"))
    killed: list[int] = []

    def kill_a_busy_worker(run: BatchRunner, task) -> None:
        if killed:
            return
        victims = [s for s in run.slots if s.pid and s.task is not None] or [s for s in run.slots if s.pid]
        os.kill(victims[0].pid, signal.SIGKILL)  # the process dies as a crash would take it
        killed.append(victims[0].pid)

    runner.after_result = kill_a_busy_worker
    report = runner.run()
    assert killed and report.workers_lost >= 1 and report.retried >= 1, report.summary()
    assert report.count("done") == 2, report.table()
    # the retried chunk was rendered again from its warm-up: the very frames of the undisturbed batch
    for name in ("a.mp4", "short.mp4"):
        _, frames, _ = decoded(tmp_path / "out" / name)
        _, before, _ = decoded(out / name)
        assert len(frames) == len(before) and all(np.array_equal(a, b) for a, b in zip(frames, before))
    assert not leftovers(tmp_path / "out")


def test_interrupted_batch_resumes_and_skips_finished_work(media, local_ray, tmp_path):
    """The command in a process of its own on this Ray (``--address auto``), killed (SIGKILL) once its
    first output has landed; the same batch again skips that output and does the rest."""
    src = tmp_path / "clips"
    src.mkdir()
    for i in range(3):
        footage(src / f"clip{i}.mp4", 20, start=20 * i)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "deepphoto", "batch", str(src), "--out", str(out), *LOOK, "--quiet"]
    command += ["--address", "auto", "--workers", "1", "--cpus-per-worker", "0.5"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / MANIFEST_NAME).exists():
                entries = json.loads((out / MANIFEST_NAME).read_text())["entries"]
                if any(e["status"] == "done" for e in entries.values()):
                    break
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()  # still working when killed
        proc.kill()
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    finished = [p for p in sorted(out.glob("*.mp4"))]
    assert 1 <= len(finished) < 3  # stopped mid-batch
    for path in finished:  # what is there is complete; nothing half-written under a final name
        assert len(decoded(path)[1]) == 20
    report = BatchRunner([str(src)], SETTINGS, options(out)).run()
    assert report.count("skipped") == len(finished) and report.count("done") == 3 - len(finished), report.table()
    assert all(len(decoded(out / f"clip{i}.mp4")[1]) == 20 for i in range(3))
    assert not leftovers(out), leftovers(out)  # the killed batch's chunk folder is cleared


def test_a_transparent_photo_keeps_its_transparency(local_ray, tmp_path):
    photo = np.zeros((48, 64, 4), np.uint8)
    photo[..., :3] = 120
    photo[:, :32, 3] = 255  # the right half clear
    cv2.imwrite(str(tmp_path / "clear.png"), photo)
    out = tmp_path / "out"
    report = BatchRunner([str(tmp_path / "clear.png")], SETTINGS, options(out)).run()
    assert report.count("done") == 1
    styled = cv2.imread(str(out / "clear.png"), cv2.IMREAD_UNCHANGED)
    assert styled.shape == (48, 64, 4) and np.array_equal(styled[..., 3], photo[..., 3])
