"""Hunt 30 (batchnotes): a batch tells each file's warnings, as ``run`` and ``edit`` do.

``deepphoto batch`` switches its workers' output off (their raw lines would run through the
progress bar), and with it every warning ``run`` prints about a file: an odd width cropped by a
pixel, an HDR video tone-mapped to SDR, frames fitted into another size, a clip under a photo's name
played as a video, a PNG cut off. A worker now catches the warnings of each call
(``errors.caught_warnings``, per context: the stream's reader and writer threads included) and
hands them back with its result; the driver prints each once per file, named by the file, above
the bar, and adds it to the file's line of the table and its entry in ``deepphoto-batch.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from media import make_clip

from deepphoto import Settings
from deepphoto.batch.chunks import ChunkResult, fingerprint, plan_video
from deepphoto.batch.inputs import WorkItem
from deepphoto.batch.kept import KeptChunks, identity
from deepphoto.batch.manifest import MANIFEST_NAME
from deepphoto.errors import caught_warnings, warn
from deepphoto.stream.queues import Worker

ray = pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
from deepphoto.batch.runner import BatchOptions, BatchRunner  # noqa: E402  (after the skip)

SETTINGS = Settings(style="wave", backend="onnx", precision="fp32", seg_input=(160, 128))
CUT = {"chunk_seconds": 0.4, "warmup_seconds": 0.2}  # 25 fps, a keyframe every 5 frames: 10-frame chunks
ODD = "frames of 97x63 are written as 96x62"
CUT_PNG = "the file ends early (cut off); what it holds is used, the rest blank"


def test_warnings_are_caught_per_context_with_the_stream_threads(capsys):
    """What ``warn`` is given inside ``caught_warnings`` is kept (each once), also from a stream
    thread started inside it; another thread's warnings are not (they go to stderr)."""
    import threading

    with caught_warnings() as caught:
        warn("one", "a.mp4")
        worker = Worker("t", lambda: (warn("two"), warn("one")))
        worker.start()
        worker.join()
        outside = threading.Thread(target=lambda: warn("three", "b.mp4"))
        outside.start()
        outside.join()
    assert caught == ["one", "two"]
    assert capsys.readouterr().err == "deepphoto: warning: b.mp4: three\n"


def test_warn_prints_as_before_outside_a_batch(capsys):
    warn("frames of 3x3 are written as 2x2", Path("out.mp4"))
    warn("no file named")
    assert capsys.readouterr().err.splitlines() == [
        "deepphoto: warning: out.mp4: frames of 3x3 are written as 2x2",
        "deepphoto: warning: no file named",
    ]


def test_kept_chunks_keep_what_their_render_warned_of(tmp_path):
    """A batch stopped and run again tells the warnings of the chunks it reuses."""
    source = make_clip(tmp_path / "a.mp4", frames=20)
    plan = plan_video(source, **CUT)
    out = tmp_path / "out"
    st = source.stat()
    item = WorkItem(source, out / "a.mp4", "video", st.st_size, st.st_mtime_ns)
    kept = KeptChunks(out, source)
    kept.open(identity(item, "digest", dict(CUT)))
    path = kept.path(0, ".mp4")
    path.write_bytes(b"chunk")
    size, digest = fingerprint(path)
    kept.keep(plan.chunks[0], ChunkResult(0, path, 10, 0, 0, 0.1, size=size, sha256=digest, notes=(ODD,)))
    assert kept.reusable(plan, ".mp4")[0].notes == (ODD,)


@pytest.fixture(scope="module")
def told(local_ray, tmp_path_factory):
    """One batch of a folder: an odd-width video of 3 chunks, a plain one, a PNG cut off and a clip
    named .jpg; what it printed on stderr, its report and the folders."""
    import contextlib
    import io

    root = tmp_path_factory.mktemp("notes-in")
    make_clip(root / "odd.mkv", frames=30, size=(97, 63))
    make_clip(root / "plain.mp4", frames=10)
    make_clip(root / "moving.mp4", frames=10).rename(root / "moving.jpg")  # a clip under a photo's name
    photo = np.random.default_rng(30).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    data = cv2.imencode(".png", photo)[1].tobytes()
    (root / "cut.png").write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path_factory.mktemp("notes-out")
    options = BatchOptions(out=out, workers=1, cpus_per_worker=0.5, progress=False, **CUT)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        report = BatchRunner([str(root)], SETTINGS, options).run()
    return root, out, report, err.getvalue()


def test_each_files_warning_is_told_once_with_its_name(told):
    root, out, report, err = told
    assert len(plan_video(root / "odd.mkv", **CUT).chunks) == 3  # each chunk's render warned of it
    lines = [line for line in err.splitlines() if "warning" in line]
    odd = [line for line in lines if ODD in line]
    assert len(odd) == 1 and "odd.mkv: " in odd[0], err
    assert [line for line in lines if CUT_PNG in line] and all("cut.png: " in x for x in lines if CUT_PNG in x), err
    moving = [line for line in lines if "not an image; read as a video" in line]
    assert len(moving) == 1 and "moving.jpg: is a video (mov," in moving[0], err
    assert not [line for line in lines if "plain.mp4" in line], err
    assert not [line for line in lines if "chunk-" in line or ".deepphoto-batch" in line], err  # no chunk's name


def test_the_table_and_the_manifest_say_them(told):
    root, out, report, _ = told
    notes = {Path(o.source).name: o.note for o in report.outcomes}
    assert [o.status for o in report.outcomes] == ["done"] * 4, report.table()
    assert notes["odd.mkv"].count(ODD) == 1 and notes["plain.mp4"] == ""
    assert CUT_PNG in notes["cut.png"] and "read as a video" in notes["moving.jpg"]
    entries = json.loads((out / MANIFEST_NAME).read_text())["entries"]
    assert entries[str(root / "odd.mkv")]["note"].count(ODD) == 1
    assert "note" not in entries[str(root / "plain.mp4")]
    again = BatchRunner([str(root)], SETTINGS, BatchOptions(out=out, workers=1, progress=False, **CUT)).run()
    skipped = {Path(o.source).name: o for o in again.outcomes}
    assert skipped["odd.mkv"].status == "skipped" and ODD in skipped["odd.mkv"].note
