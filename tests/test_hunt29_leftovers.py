"""Hunt 29 (leftovers).

Five-point-one AC-3 or E-AC-3 sound (a TV recording's, a film's), which FFmpeg decodes as '5.1(side)',
went into an MP4 as AAC with a program config element (channel configuration 0, '6 channels'):
Chrome, Firefox and many players refuse it or play it wrong. It is AAC in a standard layout now,
each channel in its place.

`batch FOLDER` left out a folder's texts, documents and hidden files without a word; one line says
so now. Its progress bar ended short of its total (21/22) where a photo failed or a video gave fewer
frames than estimated: a finished input counts the frames it made.

`eval-style --sheet-images 0` wrote an empty sheet; it writes none now, and says so. `train-seg` and
`train-style` runs refused before they start (a --resume of another network, no teacher paintings)
left an empty --out folder; it is made only once the run starts."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from conftest import SHARED, needs_shared
from media import encode_into
from test_video_inputs_s18 import convert

from deepphoto.batch.inputs import expand_inputs, passed_over_note
from deepphoto.errors import DeepPhotoError
from deepphoto.stream.video_sound import aac_layout


def surround_clip(path: Path, codec: str, layout: str) -> Path:
    """A 2 s clip whose sound is a 440 Hz tone, 0.05 louder in each channel than in the one before."""
    rate = 48000
    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream(codec, rate=rate)
        a.layout = layout
        pictures = []
        for i in range(50):
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 4 * i, np.uint8), format="rgb24")
            f.pts, f.time_base = i, Fraction(1, 25)
            pictures.append(f)
        encode_into(out, v, pictures)
        n, size, fmt = a.codec_context.channels, a.codec_context.frame_size or 1536, a.codec_context.format.name
        t = np.arange(2 * rate) / rate
        wave = np.stack([(0.05 * (k + 1) * np.sin(2 * np.pi * 440 * t)).astype(np.float32) for k in range(n)])
        pieces = []
        for start in range(0, wave.shape[1] - size + 1, size):
            piece = np.ascontiguousarray(wave[:, start : start + size])
            f = av.AudioFrame.from_ndarray(piece, format=fmt, layout=layout)
            f.sample_rate, f.pts, f.time_base = rate, start, Fraction(1, rate)
            pieces.append(f)
        encode_into(out, a, pieces)
    return path


def channel_configuration(stream: av.audio.stream.AudioStream) -> int:
    """The channel configuration of an AAC stream's AudioSpecificConfig (0: a program config element)."""
    return (int.from_bytes(bytes(stream.codec_context.extradata)[:2], "big") >> 3) & 0xF


@pytest.mark.parametrize("codec", ["ac3", "eac3"])
def test_five_point_one_sound_into_an_mp4_is_standard_aac(tmp_path, codec):
    clip = surround_clip(tmp_path / "in.mkv", codec, "5.1(side)")
    out = convert(clip, tmp_path / "out.mp4")
    with av.open(str(out)) as c:
        stream = c.streams.audio[0]
        assert stream.codec_context.name == "aac"
        assert stream.codec_context.layout.name == "5.1"  # was '6 channels'
        assert channel_configuration(stream) == 6  # was 0: a program config element
        sound = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)[:, 4800:-4800]
    level = np.sqrt((sound**2).mean(axis=1)) / (0.05 / np.sqrt(2))
    # each channel where it was (the side surrounds as the back ones); AC-3's LFE keeps no 440 Hz
    assert np.allclose(level[[0, 1, 2, 4, 5]], [1, 2, 3, 5, 6], atol=0.1), level


def test_five_point_one_sound_into_a_webm_is_opus_in_six_channels(tmp_path):
    """libopus refuses '5.1(side)' (avcodec_open2: invalid argument): the sound went missing from a
    .webm made of a film's AC-3 track; it is Opus in 5.1 now."""
    clip = surround_clip(tmp_path / "in.mkv", "ac3", "5.1(side)")
    out = convert(clip, tmp_path / "out.webm")
    with av.open(str(out)) as c:
        stream = c.streams.audio[0]
        assert stream.codec_context.name == "opus"
        assert stream.codec_context.channels == 6


@pytest.mark.parametrize(
    ("layout", "aac"),
    [
        ("stereo", "stereo"),
        ("5.1(side)", "5.1"),
        ("5.0(side)", "5.0"),
        ("quad", "5.0"),
        ("2.1", "5.1"),
        ("6.1", "7.1"),
        ("7.1(wide)", "7.1"),
    ],
)
def test_every_layout_is_encoded_in_one_an_aac_header_names(layout, aac):
    assert aac_layout(av.AudioLayout(layout)) == aac


# ---------------------------------------------------------------------- batch


def test_files_of_a_folder_that_are_neither_video_nor_photo_are_said(tmp_path):
    folder = tmp_path / "trip"
    (folder / "day 2").mkdir(parents=True)
    for name in ("notes.txt", "day 2/readme.md", ".DS_Store", "Thumbs.db"):
        (folder / name).write_bytes(b"not media\n")
    (folder / "day 2" / "b.png").write_bytes(b"1")
    passed_over: list[Path] = []
    items, problems = expand_inputs([str(folder)], tmp_path / "out", None, None, passed_over)
    assert [i.source.name for i in items] == ["b.png"] and problems == []
    assert sorted(p.name for p in passed_over) == [".DS_Store", "Thumbs.db", "notes.txt", "readme.md"]
    note = passed_over_note(passed_over, lambda p: str(p.relative_to(tmp_path)))
    assert note == (
        "left out 4 files of the input folders, neither video nor photo: "
        "trip/Thumbs.db, trip/notes.txt, trip/day 2/readme.md and 1 hidden file"
    )
    many = [folder / f"n{i}.txt" for i in range(7)]
    assert passed_over_note(many, lambda p: p.name).endswith(": n0.txt, n1.txt, n2.txt, n3.txt, n4.txt and 2 more")


def test_a_batch_says_what_it_left_out_of_a_folder(tmp_path, monkeypatch):
    """Nothing here needs Ray: the one input, not a video, fails before it starts."""
    pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    from deepphoto import Settings
    from deepphoto.batch.runner import BatchOptions, run_batch

    folder = tmp_path / "trip"
    folder.mkdir()
    (folder / "broken.mp4").write_bytes(np.random.default_rng(0).bytes(4000))
    (folder / "notes.txt").write_text("shopping list\n")
    monkeypatch.chdir(tmp_path)
    report = run_batch(["trip"], Settings(effect="grey"), BatchOptions(out=tmp_path / "out", progress=False))
    assert report.count("failed") == 1
    table = report.table().splitlines()
    assert table[-2] == "left out 1 file of the input folders, neither video nor photo: trip/notes.txt"


def test_the_progress_bar_ends_at_its_total_when_inputs_fail_or_come_short(tmp_path, monkeypatch):
    """48 inputs, one photo that fails: the bar ended at 47/48. A photo that failed counts nothing,
    a video that gave fewer frames than planned counts those it gave, and the bar ends at its total."""
    pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    from tqdm import tqdm

    from deepphoto import Settings
    from deepphoto.batch import runner as batch_runner
    from deepphoto.batch.chunks import ChunkResult, VideoPlan, whole_file
    from deepphoto.batch.inputs import WorkItem
    from deepphoto.batch.manifest import Manifest

    runner = batch_runner.BatchRunner([], Settings(effect="grey"), batch_runner.BatchOptions(out=tmp_path / "out"))
    runner.out.mkdir()
    runner.manifest, runner.work = Manifest(runner.out), tmp_path / "work"
    runner.digests = {"video": "v", "image": "i"}
    photo = batch_runner.ItemState(WorkItem(tmp_path / "p.jpg", runner.out / "p.png", "image", 1, 1))
    video = batch_runner.ItemState(WorkItem(tmp_path / "v.mp4", runner.out / "v.mp4", "video", 1, 1), estimate=10)
    runner.states = {0: photo, 1: video}
    runner.bar = tqdm(total=11, disable=True)
    video.plan = VideoPlan(tmp_path / "v.mp4", 10, Fraction(25), Fraction(1, 25), False, whole_file(10))
    monkeypatch.setattr(batch_runner, "finish_video", lambda *args: (runner.out / "v.mp4").write_bytes(b"1") and "")

    runner._fail(photo, "p.jpg: not a readable image")  # as a worker's error ends it
    runner._on_result(batch_runner.Task(1, 0), ChunkResult(0, tmp_path / "c.mp4", 9, 0, 0, 0.1))  # 9 of 10
    assert runner.outcomes[str(video.item.source)].status == "done"
    assert (runner.done_frames, runner.bar.total) == (9, 9)  # was 9 of 11


# ---------------------------------------------------------------------- developer commands


def test_eval_style_with_no_sheet_images_writes_no_sheet(tmp_path, capsys, monkeypatch):
    """--sheet-images 0 wrote a sheet of its header only (an empty 1150x26 strip) and said 'sheet: PATH'."""
    import deepphoto.measure.eval_style as measure
    from deepphoto.commands.cli import main

    asked: dict = {}

    def evaluate(data: Path, **kwargs: object) -> dict:
        asked.update(kwargs)
        return {"styles": [], "content_images": 1, "photos": ["a"], "short_side": 32, "optimizer_images": 0}

    monkeypatch.setattr(measure, "evaluate_styles", evaluate)
    monkeypatch.setattr("deepphoto.commands.eval_style.print_table", lambda summary, baseline: None)
    sheet = tmp_path / "docs" / "sheet.jpg"
    assert main(["eval-style", "--data", str(tmp_path), "--sheet", str(sheet), "--sheet-images", "0"]) == 0
    assert asked["sheet"] is None and not sheet.parent.exists()
    assert capsys.readouterr().out.strip().splitlines()[-1] == "sheet: none written (--sheet-images 0)"


@needs_shared
def test_train_seg_with_a_resume_of_another_network_leaves_no_folder(tmp_path, capsys):
    """A --resume refused (another network's checkpoint, a damaged file) left an empty --out behind."""
    torch = pytest.importorskip("torch", reason="needs PyTorch (the train extra)")
    from deepphoto.commands.cli import main

    other = tmp_path / "other.pt"
    torch.save({"step": 5, "model": {"head.weight": torch.zeros(2, 2)}, "optim": {"state": {}}}, other)
    out = tmp_path / "runs" / "seg"
    argv = ["train-seg", "--data", str(SHARED), "--out", str(out), "--steps", "1", "--batch", "2"]
    argv += ["--sizes", "64,96", "--threads", "1", "--resume", str(other)]
    assert main(argv) == 2
    assert "does not fit this network or optimiser" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()  # was an empty runs/seg


def test_train_style_refused_leaves_no_folder(tmp_path, capsys):
    pytest.importorskip("torch", reason="needs PyTorch (the train extra)")
    from deepphoto.commands.cli import main

    (tmp_path / "paintings").mkdir()
    out = tmp_path / "runs" / "style"
    argv = ["train-style", "--distill", "--teacher", str(tmp_path / "paintings"), "--out", str(out)]
    assert main([*argv, "--steps", "1", "--threads", "1"]) == 2
    assert "no teacher paintings of" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_a_run_folder_that_is_a_file_is_one_line(tmp_path):
    pytest.importorskip("torch", reason="needs PyTorch (the train extra)")
    from deepphoto.training import checkpoints

    (tmp_path / "run").write_text("a file")
    with pytest.raises(DeepPhotoError, match="is a file, not a folder"):
        checkpoints.prepare_run(tmp_path / "run", 1, 0)


def test_the_source_that_keeps_its_name_has_it_and_long_names_fit(tmp_path):
    """a.avi and a.mp4 made a.mp4 (a.avi's result) and a-2.mp4 (a.mp4's): the output named as a
    source held another picture. A name of 251 bytes and '.jpg' beside its '.png' made a '-2' name
    of 257 bytes that failed after the work ('File name too long')."""
    folder = tmp_path / "in"
    folder.mkdir()
    long = "é" * 125 + "L"  # 251 bytes
    for name in ("a.avi", "a.mp4", "b.jpg", "b.PNG", "c.webp", f"{long}.jpg", f"{long}.png", "d.ts"):
        (folder / name).write_bytes(b"1")
    (folder / ("t" * 252 + ".ts")).write_bytes(b"1")  # 255 bytes: '.mp4' makes 256
    items, problems = expand_inputs([str(folder)], tmp_path / "out")
    assert problems == []
    named = {i.source.name: i.output.name for i in items}
    assert named["a.mp4"] == "a.mp4" and named["a.avi"] == "a-2.mp4"
    assert named["b.PNG"] == "b.png" and named["b.jpg"] == "b-2.png"
    assert named["c.webp"] == "c.png" and named["d.ts"] == "d.mp4"
    assert named[f"{long}.png"] == f"{long}.png"
    assert named[f"{long}.jpg"] == "é" * 124 + "-2.png"  # 254 bytes: the L, and an é cut in two, give way
    assert named["t" * 252 + ".ts"] == "t" * 251 + ".mp4"
    assert all(len(n.encode()) <= 255 for n in named.values())
    assert [i.source.name for i in items] == sorted(named)  # the table keeps the folder's order


def test_a_batch_stopped_before_any_output_leaves_no_empty_folder(tmp_path):
    """Ctrl-C while Ray started or the first chunks ran: the table said '8 not finished', and an empty
    --out (and the folders made for it) stayed behind."""
    pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    import cv2

    from deepphoto import Settings
    from deepphoto.batch.report import Outcome
    from deepphoto.batch.runner import BatchOptions, BatchRunner

    photo = tmp_path / "a.png"
    cv2.imwrite(str(photo), np.full((48, 64, 3), 128, np.uint8))
    runner = BatchRunner([str(photo)], Settings(effect="grey"), BatchOptions(out=tmp_path / "new" / "out"))

    def stopped() -> None:  # as _process ends on a Ctrl-C before any input finished
        runner.report.interrupted = True
        for st in runner.states.values():
            runner.outcomes[st.item.key] = Outcome(str(st.item.source), "interrupted", reason="interrupted")

    runner._process = stopped
    report = runner.run()
    assert report.interrupted and report.count("interrupted") == 1
    assert not (tmp_path / "new").exists()
