"""Hunt 34 (rbatch): hunts 32 and 33's batch changes, as a user meets them (a folder renamed or a
drive mounted elsewhere between a Ctrl-C and the resume, folders that cannot be entered, ...)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from media import make_clip

from deepphoto import Settings
from deepphoto.batch.kept import KeptChunks

REPO = Path(__file__).resolve().parents[1]

SETTINGS = Settings(effect="grey", backend="onnx", precision="fp32", seg_input=(160, 128))
# 25 fps, a keyframe every 5 frames: 40 frames cut every 10 into 4 chunks, each with a warm-up
CUT = {"chunk_seconds": 0.4, "warmup_seconds": 0.2}


@pytest.fixture
def ray_here(request: pytest.FixtureRequest) -> None:
    pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    request.getfixturevalue("local_ray")


def _batch(inputs: list[str], out: Path, stop_after: int | None = None) -> tuple[object, list[int]]:
    """One batch (one worker) of ``inputs`` into ``out``, stopped as Ctrl-C stops it once ``stop_after``
    chunks are finished; its report and the chunks it rendered."""
    from deepphoto.batch.runner import BatchOptions, BatchRunner

    options = BatchOptions(out=out, workers=1, cpus_per_worker=0.5, progress=False, **CUT)
    runner = BatchRunner(inputs, SETTINGS, options)
    rendered: list[int] = []

    def after(run: object, task: object) -> None:
        rendered.append(task.chunk)
        if stop_after is not None and len(rendered) >= stop_after:
            raise KeyboardInterrupt

    runner.after_result = after
    return runner.run(), rendered


def test_a_stopped_video_resumes_after_its_folder_is_renamed(ray_here, tmp_path):
    """'batch trip --out styled' stopped (Ctrl-C) two chunks into a long video, the folder renamed
    (or its drive mounted at another path: /media/me/CARD1 the next time) and the same batch run
    again: the kept chunks were named by the old path, so they were deleted as a source gone and the
    video rendered again from its start (hours, for a long recording)."""
    trip = tmp_path / "trip"
    trip.mkdir()
    clip = make_clip(trip / "talk.mp4", frames=40, size=(96, 64))
    out = tmp_path / "styled"
    report, rendered = _batch([str(trip)], out, stop_after=2)
    assert report.interrupted and len(KeptChunks(out, clip).chunk_files()) == 2
    renamed = tmp_path / "trip-2026"
    os.rename(trip, renamed)
    report, again = _batch([str(renamed)], out)
    assert report.count("done") == 1, report.table()
    assert sorted(again) == sorted(set(range(4)) - set(rendered))  # the kept ones not rendered again
    assert "resumed: 2 of 4 chunks kept" in report.outcomes[0].note
    assert not (out / ".deepphoto-batch").exists()


def _expanded_as_a_user(folder: Path, out: Path) -> subprocess.CompletedProcess:
    """``expand_inputs([folder], out)`` in a process that permissions stop (root without its power
    to read any folder, where the tests run as root): its items' and problems' JSON on stdout."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        drop = ["--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search", "--"]
        if setpriv is None or subprocess.run([setpriv, *drop, "true"], capture_output=True).returncode:
            pytest.skip("root reads every folder, and setpriv cannot take that power away here")
        prefix = [setpriv, *drop]
    code = (
        "import json, sys; from pathlib import Path; from deepphoto.batch.inputs import expand_inputs; "
        "items, problems = expand_inputs([sys.argv[1]], Path(sys.argv[2])); "
        "print(json.dumps([[str(i.source) for i in items], [[p.source, p.reason] for p in problems]]))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [*prefix, sys.executable, "-c", code, str(folder), str(out)], capture_output=True, text=True, env=env
    )


@pytest.mark.parametrize("locked", ["sub", "."])
def test_a_folder_listed_but_not_entered_is_a_line_of_the_table(tmp_path, locked):
    """A folder readable but not searchable ('chmod -R 644 trip', 'chmod -R a-x trip' to take the
    executable bit off photos copied from a FAT stick; another user's folder of mode 744) refused
    the whole batch with 'deepphoto: error: trip/sub/deepphoto-batch.json: Permission denied' (a
    file nobody made), or 'trip/sub: Permission denied' where trip itself was so: hunt 32 said a
    folder that cannot be listed, not one listed whose names cannot be opened."""
    trip = tmp_path / "trip"
    (trip / "sub").mkdir(parents=True)
    (trip / "a.jpg").write_bytes(b"\xff\xd8\xff")
    (trip / "sub" / "b.jpg").write_bytes(b"\xff\xd8\xff")
    target = (trip / locked).resolve()
    target.chmod(0o644)
    try:
        done = _expanded_as_a_user(trip, tmp_path / "styled")
    finally:
        target.chmod(0o755)
    assert done.returncode == 0, done.stderr[-2000:]
    items, problems = json.loads(done.stdout)
    why = "cannot be read (Permission denied): its files are left out"
    if locked == "sub":
        assert items == [str(trip / "a.jpg")]
        assert problems == [[str(trip / "sub"), why]]
    else:
        assert items == []
        assert problems == [[str(trip), why]]


def _done_before(inputs: list[str], out: Path) -> dict[str, str]:
    """A batch of ``inputs`` into ``out`` as the manifest keeps it (every output written and
    recorded); source -> its output, relative to ``out``."""
    from deepphoto.batch.inputs import expand_inputs
    from deepphoto.batch.manifest import Manifest

    out.mkdir(exist_ok=True)
    manifest = Manifest(out)
    items, problems = expand_inputs(inputs, out, manifest.outputs(), made_from=manifest.made_from())
    assert not problems
    for item in items:
        manifest.claim(item)
        item.output.parent.mkdir(parents=True, exist_ok=True)
        item.output.write_bytes(b"styled")
        manifest.record(item, "digest", 1, 0.1)
    return {str(i.source): str(i.output.relative_to(out)) for i in items}


def _again(inputs: list[str], out: Path) -> tuple[dict[str, str], list[bool]]:
    """The same batch run again: source -> output (relative to ``out``), and whether each is done."""
    from deepphoto.batch.inputs import expand_inputs
    from deepphoto.batch.manifest import Manifest

    manifest = Manifest(out)
    moved: dict[str, str] = {}
    items, problems = expand_inputs(inputs, out, manifest.outputs(), made_from=manifest.made_from(), moved=moved)
    assert not problems
    manifest.rename(moved)
    return {str(i.source): str(i.output.relative_to(out)) for i in items}, [manifest.done(i, "digest") for i in items]


def test_folders_of_one_name_given_in_the_other_order_keep_their_subfolders(tmp_path):
    """'batch ~/Photos/2024 ~/Videos/2024 --out styled' placed them in styled/2024 and styled/2024-2;
    the same folders given the other way round (or a third 2024 first) swapped the names: every
    photo and video made again, each into the other's subfolder."""
    photos, videos = tmp_path / "Photos" / "2024", tmp_path / "Videos" / "2024"
    _tree(photos, "a.jpg", "sub/b.jpg")
    _tree(videos, "v.mp4")
    out = tmp_path / "styled"
    first = _done_before([str(photos), str(videos)], out)
    assert sorted(first.values()) == ["2024-2/v.mp4", "2024/a.png", "2024/sub/b.png"]
    outputs, done = _again([str(videos), str(photos)], out)
    assert outputs == first and all(done)
    other = tmp_path / "Scans" / "2024"
    _tree(other, "c.jpg")
    outputs, done = _again([str(other), str(videos), str(photos)], out)
    assert outputs == {**first, str(other / "c.jpg"): "2024-3/c.png"}
    assert done == [False, True, True, True]


def test_one_of_two_folders_renamed_resumes(tmp_path):
    """'batch trip1 trip2 --out styled', then trip1 renamed trip1-italy: its files were made again
    into styled/trip1-italy beside the results in styled/trip1 (hunt 32 followed a renamed folder
    only where its outputs kept their names: one folder given alone)."""
    trip1, trip2 = tmp_path / "trip1", tmp_path / "trip2"
    _tree(trip1, "a.jpg", "day2/b.jpg")
    _tree(trip2, "c.jpg")
    out = tmp_path / "styled"
    first = _done_before([str(trip1), str(trip2)], out)
    renamed = tmp_path / "trip1-italy"
    os.rename(trip1, renamed)
    outputs, done = _again([str(renamed), str(trip2)], out)
    assert sorted(outputs.values()) == sorted(first.values()) and all(done), outputs
    outputs, done = _again([str(renamed), str(trip2)], out)  # and on every run after
    assert sorted(outputs.values()) == sorted(first.values()) and all(done)


def _tree(root: Path, *names: str) -> None:
    for i, name in enumerate(names):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\xff\xd8\xff" + bytes(i + 1))


def test_a_link_to_a_folder_on_a_drive_not_plugged_in_is_said(tmp_path):
    """A photo library with a link to a folder on an external drive (Photos/archive ->
    /media/me/EXT/archive), run while the drive was not plugged in: the folder's photos were left
    out under 'left out 1 file of the input folders, neither video nor photo: Photos/archive' and
    the batch ended with status 0, where a link to a missing .MOV was a failed line (hunt 32)."""
    from deepphoto.batch.inputs import expand_inputs

    library = tmp_path / "Photos"
    _tree(library, "a.jpg")
    (library / "archive").symlink_to(tmp_path / "EXT" / "archive")
    (library / "2023.06 Trip").symlink_to(tmp_path / "EXT" / "2023.06 Trip")
    (library / "notes.txt").symlink_to(tmp_path / "EXT" / "notes.txt")  # a document gone: passed over, as before
    passed_over: list[Path] = []
    items, problems = expand_inputs([str(library)], tmp_path / "styled", passed_over=passed_over)
    assert [i.source.name for i in items] == ["a.jpg"]
    assert [(p.source, p.reason) for p in problems] == [
        (str(library / "2023.06 Trip"), f"a link to {tmp_path / 'EXT' / '2023.06 Trip'}, which does not exist"),
        (str(library / "archive"), f"a link to {tmp_path / 'EXT' / 'archive'}, which does not exist"),
    ]
    assert passed_over == [library / "notes.txt"]
