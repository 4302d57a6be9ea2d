"""``deepphoto batch`` bugs found by a hunt: a GIF or a photo of an unusual name made a video, photos
painted at video's --style-scale (not ``edit``'s picture), a hand-edited manifest crashed, linked
folders skipped without a word, an earlier batch's output folder restyled. The parts without Ray;
then one batch on Ray against ``edit`` and ``run``."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from deepphoto.assets import demo_clip
from deepphoto.batch.inputs import expand_inputs, kind_of
from deepphoto.batch.manifest import MANIFEST_NAME, Manifest
from deepphoto.batch.report import BatchReport
from deepphoto.commands.cli import main
from deepphoto.errors import DeepPhotoError

ray = pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")

LOOK = ["--style", "wave", "--backend", "onnx", "--precision", "fp32", "--seg-input", "160x128", "--region", "whole"]


def photo(h: int = 64, w: int = 96, seed: int = 0) -> np.ndarray:
    """A small photo with some texture (a flat one would paint alike at any scale)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([x * 255 // w, y * 255 // h, (x + y) * 255 // (w + h)], -1).astype(np.int16)
    return np.clip(img + rng.integers(-30, 30, img.shape), 0, 255).astype(np.uint8)


def write(path: Path, suffix: str, image: np.ndarray) -> Path:
    """``image`` encoded as ``suffix`` whatever ``path`` is named."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cv2.imencode(suffix, image)[1].tobytes())
    return path


def relative(items: list, out: Path) -> dict[str, str]:
    """Output (relative to ``out``) -> kind, for work items."""
    return {str(i.output.relative_to(out.resolve())): i.kind for i in items}


# ---------------------------------------------------------------------- without Ray


def test_a_gif_or_a_photo_of_another_name_is_a_photo(tmp_path):
    """static.gif and photo.xyz (a JPEG) became static.mp4 and photo.mp4; .gif files in a folder
    were skipped without a word."""
    src = tmp_path / "src"
    write(src / "static.gif", ".gif", photo())
    write(src / "photo.xyz", ".jpg", photo())
    (src / "clip.xyz").write_bytes(demo_clip().read_bytes())  # a video of another name
    (src / "notes.md").write_text("not media")
    assert kind_of(src / "static.gif") == kind_of(src / "photo.xyz") == "image"
    assert kind_of(src / "clip.xyz") == "video"  # not an image: a video as before (the probe decides)
    out = tmp_path / "out"
    items, problems = expand_inputs([str(src / "static.gif"), str(src / "photo.xyz"), str(src / "clip.xyz")], out)
    assert relative(items, out) == {"static.png": "image", "photo.png": "image", "clip.mp4": "video"} and not problems
    items, problems = expand_inputs([str(src)], out)  # a folder: GIFs and images of any name; not other files
    assert relative(items, out) == {"photo.png": "image", "static.png": "image"} and not problems


def test_linked_folders_are_followed_each_real_folder_once(tmp_path):
    """src/linked -> a folder elsewhere: none of its photos was done or reported. Links are now
    followed; a loop, a second link to the same folder, or a link to a folder of the tree adds nothing."""
    elsewhere, src = tmp_path / "elsewhere", tmp_path / "src"
    write(elsewhere / "e.jpg", ".jpg", photo())
    write(elsewhere / "deeper" / "f.jpg", ".jpg", photo())
    write(src / "real" / "r.jpg", ".jpg", photo())
    (src / "linked").symlink_to(elsewhere)
    (src / "linked-again").symlink_to(elsewhere)
    (src / "a-link-to-real").symlink_to(src / "real")  # sorts first: still named after the real folder
    (src / "real" / "up").symlink_to(src)  # a loop
    (elsewhere / "deeper" / "back").symlink_to(elsewhere)  # a loop outside
    out = tmp_path / "out"
    items, problems = expand_inputs([str(src)], out)
    assert sorted(relative(items, out)) == ["linked/deeper/f.png", "linked/e.png", "real/r.png"] and not problems
    assert len({i.source for i in items}) == 3


def test_an_earlier_batch_output_folder_inside_the_input_is_left_out(tmp_path):
    """src/out of an earlier 'batch src --out src/out', batched into another --out, was restyled."""
    src = tmp_path / "src"
    write(src / "a.jpg", ".jpg", photo())
    write(src / "out" / "a.png", ".png", photo())
    (src / "out" / MANIFEST_NAME).write_text('{"format": 1, "entries": {}}')
    (src / "elsewhere").symlink_to(src / "out")  # the same folder through a link: left out too, named once
    left_out: list[Path] = []
    items, problems = expand_inputs([str(src)], tmp_path / "styled", None, left_out)
    assert [i.source.name for i in items] == ["a.jpg"] and not problems
    assert left_out == [src / "out"]
    (src / "a.jpg").unlink()  # nothing else in the folder: the one-line reason names what was left out
    _, problems = expand_inputs([str(src)], tmp_path / "styled")
    assert len(problems) == 1 and "besides earlier batches' outputs" in problems[0].reason
    report = BatchReport(notes=["left out src/out: an earlier batch's output (holds deepphoto-batch.json)"])
    assert report.table().splitlines()[-2].startswith("left out src/out")  # once, above the summary


@pytest.mark.parametrize(
    "text",
    [
        '{"format": 1, "entries": {"x": 5}}',
        '{"format": 1, "entries": {"x": {"status": "done", "size": "big"}}}',
        '{"format": 1, "entries": {"x": {"status": "writing", "output": 7}}}',
        '{"format": 1, "entries": {"x": {"status": "done", "mtime_ns": true}}}',
        '{"format": 1, "entries": []}',
        '{"format": 2, "entries": {}}',
        "[1, 2]",
        "{}",
    ],
)
def test_a_manifest_of_another_shape_is_a_one_line_error(tmp_path, text):
    (tmp_path / MANIFEST_NAME).write_text(text)
    with pytest.raises(DeepPhotoError, match="not a readable batch manifest"):
        Manifest(tmp_path)


def test_a_hand_edited_manifest_stops_the_command_with_status_2(capsys, tmp_path):
    """It crashed: AttributeError: 'int' object has no attribute 'get', status 1."""
    write(tmp_path / "src" / "a.jpg", ".jpg", photo())
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / MANIFEST_NAME).write_text('{"format": 1, "entries": {"x": 5}}')
    assert main(["batch", str(tmp_path / "src"), "--out", str(tmp_path / "out"), *LOOK]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a readable batch manifest" in err[0], err


def test_a_valid_manifest_still_reads(tmp_path):
    entry = {"status": "done", "size": 5, "mtime_ns": 7, "settings": "d", "output": "/o.png", "frames": 1}
    (tmp_path / MANIFEST_NAME).write_text(json.dumps({"format": 1, "entries": {"/a.jpg": entry, "/b.jpg": {}}}))
    assert Manifest(tmp_path).outputs() == {"/a.jpg": "/o.png"}


@pytest.mark.parametrize(("given", "video", "photos"), [([], 0.75, 1.0), (["--style-scale", "0.5"], 0.5, 0.5)])
def test_photos_are_painted_at_full_size_unless_style_scale_is_given(monkeypatch, tmp_path, given, video, photos):
    """batch painted photos at 0.75, edit at 1: not the same picture for the same photo and options."""
    import deepphoto.batch.runner as runner

    seen = {}

    def fake_run_batch(inputs, settings, options):
        seen.update(settings=settings, options=options)
        return BatchReport()

    monkeypatch.setattr(runner, "run_batch", fake_run_batch)
    assert main(["batch", str(tmp_path), "--out", str(tmp_path / "out"), *LOOK, *given]) == 0
    assert seen["settings"].style_scale == video and seen["options"].photo_style_scale == photos
    assert runner.BatchRunner([], seen["settings"], seen["options"]).photo_settings.style_scale == photos


# ---------------------------------------------------------------------- on Ray


def test_batch_of_photos_gif_and_a_video_equals_edit_and_run(capsys, tmp_path, monkeypatch):
    """One batch (one worker: the photos and the video on one pipeline): a photo's result is
    ``edit``'s picture, a GIF and a JPEG named .xyz are photos (PNG), the video is ``run``'s (its
    scale back at 0.75 after the photos), and an earlier batch's output folder is left out, said once."""
    import av

    monkeypatch.chdir(tmp_path)
    src = tmp_path / "src"
    write(src / "a.jpg", ".jpg", photo())
    write(src / "b.gif", ".gif", photo(seed=1))
    write(src / "c.xyz", ".jpg", photo(seed=2))
    with av.open(str(demo_clip())) as c, av.open(str(src / "clip.mp4"), "w") as o:  # 8 frames of the demo clip
        v = o.add_stream("libx264", rate=30)
        v.width, v.height, v.pix_fmt = 176, 144, "yuv420p"
        for i, frame in zip(range(8), c.decode(video=0)):
            f = av.VideoFrame.from_ndarray(frame.to_ndarray(format="bgr24"), format="bgr24")
            f.pts = i
            o.mux(v.encode(f))
        o.mux(v.encode())
    write(src / "old" / "a.png", ".png", photo())
    (src / "old" / MANIFEST_NAME).write_text('{"format": 1, "entries": {}}')
    out = tmp_path / "out"
    argv = ["batch", "src", "--out", "out", *LOOK, "--workers", "1", "--cpus-per-worker", "1", "--quiet"]
    assert main(argv) == 0
    table = capsys.readouterr().out
    assert "4 done, 0 skipped, 0 failed" in table, table
    assert table.count("left out src/old: an earlier batch's output") == 1 and not (out / "old").exists()
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST_NAME, "a.png", "b.png", "c.png", "clip.mp4"])
    for name, result in (("a.jpg", "a.png"), ("b.gif", "b.png"), ("c.xyz", "c.png")):
        assert main(["edit", str(src / name), str(tmp_path / f"edit-{result}"), *LOOK]) == 0
        assert np.array_equal(cv2.imread(str(tmp_path / f"edit-{result}")), cv2.imread(str(out / result))), name
    assert main(["run", str(src / "clip.mp4"), str(tmp_path / "run.mp4"), *LOOK, "--quiet"]) == 0
    with av.open(str(tmp_path / "run.mp4")) as a, av.open(str(out / "clip.mp4")) as b:
        ran = [f.to_ndarray(format="bgr24") for f in a.decode(video=0)]
        batched = [f.to_ndarray(format="bgr24") for f in b.decode(video=0)]
    assert len(ran) == len(batched) == 8 and all(np.array_equal(x, y) for x, y in zip(ran, batched))
    assert not list(out.rglob(".*"))  # no temporaries left


def test_sniffing_never_crashes_on_a_name_and_takes_no_text_for_a_photo(tmp_path: Path) -> None:
    """A review: OpenCV's path sniffing crashed the process (segmentation fault) on a file name
    that is not valid UTF-8; a text starting "BM" or "P1" was taken for a bitmap; an APNG, which
    plays, became a still."""
    import os

    src = tmp_path / "src"
    src.mkdir()
    ok, buf = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))
    (src / "a.jpg").write_bytes(buf.tobytes())
    os.close(os.open(os.fsencode(src) + b"/notes\xff", os.O_CREAT | os.O_WRONLY))
    (src / "BMW.notes").write_bytes(b"BMW service log 2024: oil change at 30000 km\n")
    (src / "P1.dat").write_bytes(b"P1 is the first point\n")
    (src / "photo.bin").write_bytes(buf.tobytes())
    items, problems = expand_inputs([str(src)], tmp_path / "out")
    assert sorted(i.source.name for i in items) == ["a.jpg", "photo.bin"] and not problems
    (tmp_path / "anim.apng").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert kind_of(tmp_path / "anim.apng") == "video"
    loop = src / "loop.jpg"
    loop.symlink_to(loop)
    items, problems = expand_inputs([str(src)], tmp_path / "out")
    assert any("loop" in p.reason for p in problems)


def test_camcorder_and_old_phone_videos_in_a_folder_are_done(tmp_path):
    """A folder's .mts (AVCHD camcorders), .m2ts, .3gp, .wmv ... were skipped without a word, though
    ``run`` reads them: every container suffix users have is a video of the folder now."""
    src = tmp_path / "src"
    src.mkdir()
    for suffix in (".mts", ".m2ts", ".3gp", ".wmv", ".flv", ".vob", ".mxf"):
        (src / f"clip{suffix}").write_bytes(demo_clip().read_bytes())  # the bytes do not matter here
    out = tmp_path / "out"
    items, problems = expand_inputs([str(src)], out)
    assert len(items) == 7 and all(i.kind == "video" for i in items) and not problems


def test_a_camcorder_clip_is_batched_from_zero_and_in_its_colours(tmp_path):
    """Found by review: a batch of an .MTS clip whose clock starts at 10 hours and has no sound was
    a 10-hour file (only the sound copy moved the video to 0), and batch wrote every video tagged
    by its height, not as the source said (an SD clip tagged BT.709 became BT.601): not `run`'s."""
    import av
    from test_adversarial_outputs import colour_clip, flash_and_click, timing

    fast = ["--backend", "onnx", "--precision", "fp32", "--seg-input", "64x64", "--threads", "1"]
    look = [*fast, "--effect", "grey", "--region", "whole", "--quiet"]
    clip = flash_and_click(tmp_path / "cam.mts", start=36000.0, fmt="mpegts", seconds=3.0)
    mute = tmp_path / "mute.mts"
    with av.open(str(clip)) as src, av.open(str(mute), "w", format="mpegts") as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.size:
                packet.stream = stream
                dst.mux(packet)
    sd709 = colour_clip(tmp_path / "sd709.mp4", (640, 360), (1, 1, 1), "ITU709")
    assert main(["run", str(sd709), str(tmp_path / "run.mp4"), *look]) == 0
    out = tmp_path / "out"
    batch = ["batch", str(clip), str(mute), str(sd709), "--out", str(out), "--workers", "1"]
    assert main([*batch, "--chunk-seconds", "1", "--warmup-seconds", "0.2", *look]) == 0
    for made in (out / "cam.mp4", out / "mute.mp4"):
        got = timing(made)
        assert got["video"] < 0.05 and abs(got["flash"] - 1.0) < 0.05, (made, got)
    assert abs(timing(out / "cam.mp4")["click"] - timing(out / "cam.mp4")["flash"]) < 0.03
    assert (out / "sd709.mp4").read_bytes() == (tmp_path / "run.mp4").read_bytes()  # tags, pixels, all


def gop_clip(path: Path) -> Path:
    """60 frames at 25 fps, 64x48, a keyframe every 12, no B-frames."""
    import av

    with av.open(str(path), "w") as o:
        v = o.add_stream("libx264", rate=25, options={"g": "12", "bf": "0"})
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        for i in range(60):
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 4, np.uint8), format="bgr24")
            f.pts = i
            o.mux(v.encode(f))
        o.mux(v.encode())
    return path


def remux_clip(src: Path, dst: Path, shift: float = 0.0, garble: frozenset[int] = frozenset()) -> Path:
    """``src``'s packets moved ``shift`` seconds earlier (an edit list hides those before 0),
    those numbered in ``garble`` replaced by noise."""
    from fractions import Fraction

    import av

    with av.open(str(src)) as i, av.open(str(dst), "w") as o:
        stream = o.add_stream_from_template(i.streams.video[0])
        ticks = int(round(Fraction(shift) / i.streams.video[0].time_base))
        for n, packet in enumerate(p for p in i.demux(i.streams.video[0]) if p.size):
            if n in garble:
                noise = np.random.default_rng(n).integers(0, 256, packet.size, dtype=np.uint8)
                bad = av.Packet(noise.tobytes())
                bad.pts, bad.dts, bad.time_base = packet.pts, packet.dts, packet.time_base
                packet = bad
            packet.pts -= ticks
            packet.dts -= ticks
            packet.stream = stream
            o.mux(packet)
    return dst


def test_frames_hidden_by_an_edit_list_are_not_reported_as_undecodable(capsys, tmp_path):
    """Found by a hunt: an MP4 whose edit list trims its start (``ffmpeg -ss ... -c copy``) was done
    with "(10 of 60 frames could not be decoded)": the plan counted every packet, also the frames
    before the edit, which the decoder drops as any player does. A damaged file still says so."""
    import av

    plain = gop_clip(tmp_path / "plain.mp4")
    trimmed = remux_clip(plain, tmp_path / "trimmed.mp4", shift=0.4)  # 10 frames before the edit, in a GOP
    damaged = remux_clip(plain, tmp_path / "damaged.mp4", garble=frozenset({25, 26, 27}))
    with av.open(str(trimmed)) as c:
        assert len(list(c.decode(video=0))) == 50  # what a player shows
    look = ["--backend", "onnx", "--precision", "fp32", "--seg-input", "64x64", "--threads", "1"]
    look += ["--effect", "grey", "--region", "whole", "--quiet"]
    for n, chunks in enumerate((["--chunk-seconds", "60"], ["--chunk-seconds", "0.5", "--warmup-seconds", "0.2"])):
        out = tmp_path / f"out{n}"  # whole, then in chunks
        batch = ["batch", str(trimmed), str(damaged), "--out", str(out), "--workers", "1", *chunks]
        assert main([*batch, *look]) == 0
        table = capsys.readouterr().out
        row = next(line for line in table.splitlines() if "trimmed.mp4" in line and line.startswith("done"))
        assert "could not be decoded" not in row and " 50 " in row, table
        row = next(line for line in table.splitlines() if "damaged.mp4" in line and line.startswith("done"))
        assert "3 of 60 frames could not be decoded" in row, table
        with av.open(str(out / "trimmed.mp4")) as c:
            assert len(list(c.decode(video=0))) == 50


def test_a_damaged_packet_in_the_next_chunks_warm_up_is_counted_once(capsys, tmp_path):
    """Found by a hunt: 3 garbled packets were "6 damaged packets skipped" in chunks of 0.5 s with
    0.2 s of warm-up: the next chunk decodes from the keyframe before its warm-up, met the same
    packets, and counted them too. A chunk counts only the damaged packets in its own frames."""
    import re

    damaged = remux_clip(gop_clip(tmp_path / "plain.mp4"), tmp_path / "damaged.mp4", garble=frozenset({25, 26, 27}))
    look = ["--backend", "onnx", "--precision", "fp32", "--seg-input", "64x64", "--threads", "1"]
    look += ["--effect", "grey", "--region", "whole", "--quiet"]
    for n, chunks in enumerate((["--chunk-seconds", "60"], ["--chunk-seconds", "0.5", "--warmup-seconds", "0.2"])):
        out = tmp_path / f"out{n}"  # whole, then in chunks
        assert main(["batch", str(damaged), "--out", str(out), "--workers", "1", *chunks, *look]) == 0
        table = capsys.readouterr().out
        row = next(line for line in table.splitlines() if "damaged.mp4" in line and line.startswith("done"))
        counted = re.search(r"(\d+) damaged packets skipped", row)
        assert counted is not None and counted.group(1) == "3", table
