"""Hunt 30 (resume): a batch stopped midway through a long video resumes it where it stopped.

A batch stopped midway through a video (Ctrl-C, SIGTERM, a crash, power loss) and run again with
the same command redid that video from its start: its finished chunks were thrown away (for a
2-hour film, an hour of work). They are kept now, under ``--out``'s hidden folder, with what they
were made from; the same command again uses those that still match and are whole, renders the
rest, and joins them into the very output an uninterrupted batch makes. A stop is simulated
deterministically: the batch's ``after_result`` hook raises KeyboardInterrupt (what a stop raises)
after k chunks. Also: ``--address ray://...`` said nothing for half a minute while Ray connected.
"""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pytest
from media import make_clip

from deepphoto import Settings
from deepphoto.batch.cluster import WORK_FOLDER
from deepphoto.batch.kept import KeptChunks, kept_root

ray = pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
from deepphoto.batch.runner import BatchOptions, BatchRunner  # noqa: E402  (after the skip)

SETTINGS = Settings(style="wave", backend="onnx", precision="fp32", seg_input=(160, 128))
# 25 fps, a keyframe every 5 frames: 40 frames cut every 10 into 4 chunks, each with a warm-up
CUT = {"chunk_seconds": 0.4, "warmup_seconds": 0.2}
CHUNKS = 4


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_clip(tmp_path_factory.mktemp("resume-in") / "talk.mp4", frames=40, size=(96, 64), audio=True)


def batch(
    clip: Path, out: Path, settings: Settings = SETTINGS, stop_after: int | None = None, workers: int = 2, finish=None
):
    """One batch of ``clip`` into ``out``; stopped (as Ctrl-C stops it) once ``stop_after`` chunks are
    finished (one worker: none is in flight then). Returns its report and the chunks it rendered."""
    options = BatchOptions(out=out, workers=workers, cpus_per_worker=0.5, progress=False, **CUT)
    runner = BatchRunner([str(clip)], settings, options)
    rendered: list[int] = []

    def after(run: BatchRunner, task) -> None:
        rendered.append(task.chunk)
        if stop_after is not None and len(rendered) >= stop_after:
            if finish is not None:
                finish(run)
            raise KeyboardInterrupt

    runner.after_result = after
    return runner.run(), rendered


def frames_and_sound(path: Path) -> tuple[list[np.ndarray], list[int], list[bytes]]:
    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="bgr24") for f in c.decode(c.streams.video[0])]
    with av.open(str(path)) as c:
        video = [p.pts for p in c.demux(c.streams.video[0]) if p.size]
    with av.open(str(path)) as c:
        sound = [bytes(p) for p in c.demux(c.streams.audio[0]) if p.size]
    return frames, video, sound


@pytest.fixture(scope="module")
def reference(clip, local_ray, tmp_path_factory) -> Path:
    """The output of an uninterrupted batch."""
    out = tmp_path_factory.mktemp("resume-ref")
    report, rendered = batch(clip, out)
    assert report.count("done") == 1 and sorted(rendered) == list(range(CHUNKS)), report.table()
    return out / "talk.mp4"


def kept_chunks(out: Path, clip: Path) -> list[int]:
    return [int(p.stem.split("-")[1]) for p in KeptChunks(out, clip).chunk_files()]


def stopped(clip: Path, out: Path, k: int = 2) -> list[int]:
    """A batch stopped after ``k`` chunks: those are kept, the output is not there yet."""
    report, rendered = batch(clip, out, stop_after=k, workers=1)
    assert report.interrupted and len(rendered) == k
    assert report.outcomes[0].reason == f"interrupted ({k} of {CHUNKS} chunks kept)"
    assert not (out / "talk.mp4").exists()
    assert kept_chunks(out, clip) == sorted(rendered)
    return sorted(rendered)


def assert_same_as(path: Path, reference: Path) -> None:
    frames, pts, sound = frames_and_sound(path)
    ref_frames, ref_pts, ref_sound = frames_and_sound(reference)
    assert len(frames) == len(ref_frames) == 40
    assert all(np.array_equal(a, b) for a, b in zip(frames, ref_frames)), "frames differ from an uninterrupted run"
    assert pts == ref_pts and sound == ref_sound
    assert path.read_bytes() == reference.read_bytes()  # the very file


def assert_clean(out: Path) -> None:
    assert not (out / WORK_FOLDER).exists(), list((out / WORK_FOLDER).rglob("*"))
    assert not [p for p in out.rglob("*") if p.name.startswith(".")]


def test_a_stopped_video_resumes_from_its_kept_chunks(clip, reference, tmp_path):
    out = tmp_path / "out"
    kept = stopped(clip, out)
    before = {i: os.stat(KeptChunks(out, clip).path(i, ".mp4")).st_ino for i in kept}
    report, rendered = batch(clip, out)
    assert report.count("done") == 1, report.table()
    assert sorted(rendered) == [i for i in range(CHUNKS) if i not in kept]  # the kept ones not rendered again
    assert before  # (their files were the ones joined: checked by the output below)
    assert "resumed: 2 of 4 chunks kept" in report.outcomes[0].note
    assert "resumed: 2 of 4 chunks kept" in report.summary()
    assert_same_as(out / "talk.mp4", reference)
    assert_clean(out)  # the kept chunks go once the video is joined, and their folders with them


def test_a_truncated_or_half_written_chunk_is_rendered_again(clip, reference, tmp_path):
    out = tmp_path / "out"
    kept = stopped(clip, out)
    chunk = KeptChunks(out, clip).path(kept[0], ".mp4")
    data = chunk.read_bytes()
    chunk.write_bytes(data[: len(data) // 2])  # cut short, as a power loss leaves a file
    # and a chunk killed mid-write: its temporary file, never renamed, never recorded
    half = chunk.with_name(f".chunk-{kept[1]:05d}.1-1-abcdef-host.partial.mp4")
    half.write_bytes(data[:100])
    report, rendered = batch(clip, out)
    assert report.count("done") == 1, report.table()
    assert sorted(rendered) == sorted([kept[0], *(i for i in range(CHUNKS) if i not in kept)])
    assert "resumed: 1 of 4 chunks kept" in report.outcomes[0].note
    assert_same_as(out / "talk.mp4", reference)
    assert_clean(out)


def test_chunks_made_with_another_style_are_not_used(clip, tmp_path, capsys):
    out = tmp_path / "out"
    stopped(clip, out)
    capsys.readouterr()
    report, rendered = batch(clip, out, settings=SETTINGS.changed(style="udnie"))
    assert report.count("done") == 1 and sorted(rendered) == list(range(CHUNKS)), report.table()
    said = [line for line in capsys.readouterr().err.splitlines() if "kept chunks" in line]
    assert (
        len(said) == 1
        and said[0].startswith("deepphoto: ")
        and said[0].endswith(
            "talk.mp4: 2 kept chunks discarded (they were made with other settings); rendering it from its start"
        )
    ), said
    assert "resumed" not in report.summary()
    assert_clean(out)


def test_a_changed_source_discards_its_kept_chunks(clip, tmp_path, capsys):
    source = tmp_path / "talk.mp4"
    source.write_bytes(clip.read_bytes())
    out = tmp_path / "out"
    stopped(source, out)
    capsys.readouterr()
    make_clip(source, frames=40, size=(96, 64), audio=False)  # another recording under the same name
    report, rendered = batch(source, out)
    assert report.count("done") == 1 and sorted(rendered) == list(range(CHUNKS)), report.table()
    err = capsys.readouterr().err
    assert "2 kept chunks discarded (the source has changed)" in err, err
    assert_clean(out)


def test_a_stop_says_how_many_chunks_are_kept(clip, local_ray, tmp_path, capsys):
    out = tmp_path / "out"
    stopped(clip, out, k=1)
    err = capsys.readouterr().err
    assert "1 input unfinished; 1 finished chunk of them kept" in err, err
    assert "a video from its first unfinished chunk" in err


def test_kept_chunks_of_a_source_gone_are_cleared(clip, local_ray, tmp_path):
    source = tmp_path / "gone.mp4"
    source.write_bytes(clip.read_bytes())
    out = tmp_path / "out"
    report, _ = batch(source, out, stop_after=1, workers=1)
    assert report.interrupted and kept_root(out).is_dir()
    source.unlink()
    other = tmp_path / "photo.png"
    import cv2

    cv2.imwrite(str(other), np.full((48, 64, 3), 128, np.uint8))
    options = BatchOptions(out=out, workers=1, cpus_per_worker=0.5, progress=False, **CUT)
    assert BatchRunner([str(other)], SETTINGS, options).run().count("done") == 1
    assert_clean(out)


def test_connecting_to_a_cluster_is_said_before_ray_is_silent(monkeypatch, capsys):
    """`batch --address ray://head:10001` printed nothing for ~30 s while Ray's client connected."""
    from deepphoto.batch import cluster

    seen: list[str] = []

    def init(**kwargs) -> None:
        seen.append(capsys.readouterr().err)

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", init)
    assert cluster.connect("ray://head.example:10001") is True
    assert seen == ["deepphoto: connecting to Ray at ray://head.example:10001 ...\n"]


def test_a_chunk_finished_as_the_stop_came_is_kept_too(clip, reference, tmp_path):
    """Two workers: the stop comes when one chunk's result has been read and another has just been
    finished, its result not read yet; that one is kept as well (not thrown away, not re-rendered)."""
    out = tmp_path / "out"
    in_flight: list[int] = []

    def let_the_other_finish(run: BatchRunner) -> None:
        refs = list(run.in_flight)
        in_flight.extend(run.in_flight[r].task.chunk for r in refs)
        ray.wait(refs, num_returns=len(refs), timeout=120)

    report, rendered = batch(clip, out, stop_after=1, finish=let_the_other_finish)
    assert report.interrupted and len(rendered) == 1 and len(in_flight) == 1
    assert kept_chunks(out, clip) == sorted(rendered + in_flight)
    report, again = batch(clip, out)
    assert sorted(again) == [i for i in range(CHUNKS) if i not in rendered + in_flight]
    assert_same_as(out / "talk.mp4", reference)
    assert_clean(out)


def test_a_failed_chunk_is_named_by_the_output_not_its_kept_file(tmp_path):
    from deepphoto.batch.inputs import WorkItem
    from deepphoto.batch.runner import ItemState, Task

    runner = BatchRunner([], SETTINGS, BatchOptions(out=tmp_path / "styled", retries=0))
    runner.work = runner.out / WORK_FOLDER / "host-1"
    item = WorkItem(tmp_path / "clip.mp4", runner.out / "clip.mp4", "video", 1, 1)
    runner.states[0] = ItemState(item, kept=KeptChunks(runner.out, item.source))
    hidden = runner.states[0].kept.path(3, ".mp4")
    reason = runner._as_output(Task(0, 3), f"{hidden}: cannot be written: the disk is full (No space left on device)")
    assert reason == f"{item.output}: cannot be written: the disk is full (No space left on device)"
