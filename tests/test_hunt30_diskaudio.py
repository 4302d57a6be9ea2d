"""Hunt 30 (diskaudio): a full disk met while the source's sound is copied into a batch's output.

``deepphoto batch`` joined a video's chunks, then copied the source's sound beside them; a full
disk (ENOSPC, EDQUOT) met there was taken for sound that could not be read: the video was published
WITHOUT its sound, recorded as done, with the note "audio not copied from talk.mp4 (No space left on
device)", and its kept chunks were thrown away. Now it is what a full disk at the join is: the output
absent, "<output>: cannot be written: the disk is full (...)", the finished chunks kept so that the
same command resumes once room is made. ``deepphoto run`` already did so (checked here too). The
full disk is injected deterministically where the sound is muxed (``video_sound._remux``).
"""

from __future__ import annotations

import errno
from pathlib import Path

import av
import pytest
from adversarial import RUN_FAST, leftovers, refused
from media import make_clip

from deepphoto.stream import video_sound


def _full_disk_while_muxing_sound(monkeypatch: pytest.MonkeyPatch, code: int = errno.ENOSPC) -> list[Path]:
    """``_remux`` writes a few bytes of its output, then fails as FFmpeg's muxer does on a full disk."""
    tried: list[Path] = []

    def full(video: Path, audio_src: Path | str, out: Path, *args: object, **kwargs: object) -> bool:
        tried.append(out)
        out.write_bytes(b"\0" * 64)  # half written
        av.error.err_check(-code, str(out))  # raises av.error.OSError, as PyAV's mux does
        raise AssertionError("err_check did not raise")

    monkeypatch.setattr(video_sound, "_remux", full)
    return tried


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_joining_with_sound_on_a_full_disk_publishes_nothing(tmp_path, monkeypatch, code):
    from deepphoto.batch.join import finish_video
    from deepphoto.stream.output_safety import DISK_FULL

    source = make_clip(tmp_path / "talk.mp4", frames=10, audio=True)
    (tmp_path / "work").mkdir()
    chunk = make_clip(tmp_path / "work" / "chunk-00000.mp4", frames=10)
    with av.open(str(source)) as c:
        tb = c.streams.video[0].time_base
    out = tmp_path / "styled" / "talk.mp4"
    out.parent.mkdir()
    tried = _full_disk_while_muxing_sound(monkeypatch, code)
    with pytest.raises(OSError) as caught:  # was: published without its sound, "audio not copied ..."
        finish_video([chunk], [0], tb, source, out)
    assert caught.value.errno in DISK_FULL and tried
    assert not out.exists() and leftovers(out.parent) == []
    assert chunk.exists()  # the chunk is the runner's to keep or remove


def test_run_with_sound_on_a_full_disk_says_so_and_writes_nothing(capsys, tmp_path, monkeypatch):
    clip = make_clip(tmp_path / "talk.mp4", frames=8, audio=True)
    out = tmp_path / "out.mp4"
    tried = _full_disk_while_muxing_sound(monkeypatch)
    grey = ["--effect", "grey", "--region", "whole"]
    said = refused(capsys, "run", clip, out, *RUN_FAST, *grey, says="the disk is full")
    assert tried
    assert said.errors[0].startswith(f"deepphoto: error: {out}: cannot be written: the disk is full"), said.errors
    assert "audio not copied" not in "\n".join(said.errors) and ".partial" not in said.errors[0]
    assert not out.exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize(("frames", "chunks"), [(40, 4), (8, 1)])  # one chunk: it was the video, and was deleted
def test_batch_with_sound_on_a_full_disk_keeps_its_chunks_and_resumes(tmp_path, monkeypatch, frames, chunks, request):
    pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    request.getfixturevalue("local_ray")
    from deepphoto import Settings
    from deepphoto.batch.kept import KeptChunks
    from deepphoto.batch.runner import BatchOptions, BatchRunner

    (tmp_path / "in").mkdir()
    clip = make_clip(tmp_path / "in" / "talk.mp4", frames=frames, size=(96, 64), audio=True)
    out = tmp_path / "out"
    settings = Settings(effect="grey", region="whole", backend="onnx", precision="fp32", seg_input=(160, 128))
    options = dict(out=out, workers=1, cpus_per_worker=0.5, progress=False, chunk_seconds=0.4, warmup_seconds=0.2)
    with monkeypatch.context() as patched:
        tried = _full_disk_while_muxing_sound(patched)
        report = BatchRunner([str(clip)], settings, BatchOptions(**options)).run()
    assert tried
    outcome = report.outcomes[0]
    assert outcome.status == "failed", (outcome.status, outcome.note)  # was: done, without its sound
    assert outcome.reason.startswith(f"{out / 'talk.mp4'}: cannot be written: the disk is full"), outcome.reason
    kept = f"{chunks} of {chunks} chunk{'s' if chunks > 1 else ''} kept"
    assert f"; {kept}: the same command again, with room made, resumes it" in outcome.reason, outcome.reason
    assert not (out / "talk.mp4").exists() and not [p for p in out.glob("*.mp4")]
    assert len(KeptChunks(out, clip).chunk_files()) == chunks

    report = BatchRunner([str(clip)], settings, BatchOptions(**options)).run()  # room made
    outcome = report.outcomes[0]
    assert outcome.status == "done" and f"resumed: {kept}" in outcome.note, outcome
    with av.open(str(out / "talk.mp4")) as c:
        assert c.streams.audio and c.streams.video and c.streams.video[0].frames == frames
        assert sum(1 for p in c.demux(c.streams.audio[0]) if p.size) > 0
