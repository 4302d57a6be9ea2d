"""Hunt 29 (batch2): several input folders kept apart under --out; a stop said at once; damaged
photos refused before Ray starts."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from deepphoto.batch.inputs import expand_inputs
from deepphoto.batch.manifest import Manifest
from deepphoto.commands.cli import main
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import check_photo


def _files(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode())


def _outputs(items: list, out: Path) -> dict[str, str]:
    return {str(i.source.relative_to(out.parent)): str(i.output.relative_to(out.resolve())) for i in items}


def test_several_folders_each_keep_their_own_subfolder(tmp_path):
    """`batch trip1/ trip2/ --out styled` put both folders' files straight into styled/ (trip2's a.jpg
    became a-2.png, which folder it came from lost); each folder now has its subfolder, loose files
    stay at the top, and one folder alone still goes straight into --out."""
    _files(tmp_path, "trip1/a.jpg", "trip1/day/b.jpg", "trip2/a.jpg", "extra.jpg")
    out = tmp_path / "styled"
    names = [str(tmp_path / n) for n in ("trip1", "trip2/", "extra.jpg")]
    items, problems = expand_inputs(names, out)
    assert not problems
    assert _outputs(items, out) == {
        "trip1/a.jpg": "trip1/a.png",
        "trip1/day/b.jpg": "trip1/day/b.png",
        "trip2/a.jpg": "trip2/a.png",
        "extra.jpg": "extra.png",
    }
    alone, _ = expand_inputs([str(tmp_path / "trip1"), str(tmp_path / "extra.jpg")], out)
    assert _outputs(alone, out) == {"trip1/a.jpg": "a.png", "trip1/day/b.jpg": "day/b.png", "extra.jpg": "extra.png"}
    # a folder inside another given too adds no files of its own: still one folder, straight in
    nested, _ = expand_inputs([str(tmp_path / "trip1"), str(tmp_path / "trip1" / "day")], out)
    assert _outputs(nested, out) == {"trip1/a.jpg": "a.png", "trip1/day/b.jpg": "day/b.png"}


def test_folders_of_one_name_get_their_own_subfolders(tmp_path, monkeypatch):
    _files(tmp_path, "cam1/photos/a.jpg", "cam2/photos/a.jpg")
    out = tmp_path / "styled"
    items, _ = expand_inputs([str(tmp_path / "cam1/photos"), str(tmp_path / "cam2/photos")], out)
    assert _outputs(items, out) == {"cam1/photos/a.jpg": "photos/a.png", "cam2/photos/a.jpg": "photos-2/a.png"}
    _files(tmp_path / "cam3", ".photos/a.jpg", "b.jpg")  # a hidden folder's output is not hidden; '.' has a name
    monkeypatch.chdir(tmp_path / "cam3")
    items, _ = expand_inputs([".photos", ".", str(tmp_path / "cam1/photos")], out)
    assert _outputs(items, out) == {
        "cam3/.photos/a.jpg": "photos/a.png",
        "cam3/b.jpg": "cam3/b.png",
        "cam1/photos/a.jpg": "photos-2/a.png",
    }


def _record(out: Path, items: list) -> dict[str, str]:
    m = Manifest(out)
    for item in items:
        m.claim(item)
        item.output.parent.mkdir(parents=True, exist_ok=True)
        item.output.write_bytes(b"done")
        m.record(item, "digest", 1, 0.1)
    return Manifest(out).outputs()


def test_a_batch_of_the_old_layout_resumes_in_it(tmp_path):
    """A batch of two folders made before (flat: a.png, a-2.png) run again keeps its outputs where
    they are, so finished work is skipped, not done again into trip1/, trip2/; a folder the earlier
    batch did not do goes to its own subfolder."""
    _files(tmp_path, "trip1/a.jpg", "trip2/a.jpg", "trip3/a.jpg")
    out = tmp_path / "styled"
    out.mkdir()
    folders = [str(tmp_path / n) for n in ("trip1", "trip2")]
    old, _ = expand_inputs(folders, out)
    flat = {"trip1/a.jpg": "a.png", "trip2/a.jpg": "a-2.png"}
    for item in old:  # as the old code named them
        object.__setattr__(item, "output", out.resolve() / flat[str(item.source.relative_to(tmp_path))])
    recorded = _record(out, old)
    again, _ = expand_inputs(folders, out, recorded)
    assert _outputs(again, out) == flat
    m = Manifest(out)
    assert all(m.done(i, "digest") for i in again)  # skipped as done
    more, _ = expand_inputs([*folders, str(tmp_path / "trip3")], out, recorded)
    assert _outputs(more, out) == {**flat, "trip3/a.jpg": "trip3/a.png"}


def test_a_folder_done_alone_keeps_its_place_when_given_with_others_and_back(tmp_path):
    _files(tmp_path, "trip1/a.jpg", "trip2/a.jpg")
    out = tmp_path / "styled"
    out.mkdir()
    alone, _ = expand_inputs([str(tmp_path / "trip1")], out)
    recorded = _record(out, alone)
    both, _ = expand_inputs([str(tmp_path / "trip1"), str(tmp_path / "trip2")], out, recorded)
    assert _outputs(both, out) == {"trip1/a.jpg": "a.png", "trip2/a.jpg": "trip2/a.png"}
    recorded = _record(out, both)
    back, _ = expand_inputs([str(tmp_path / "trip2")], out, recorded)  # done apart: stays apart
    assert _outputs(back, out) == {"trip2/a.jpg": "trip2/a.png"}


def _photo(path: Path) -> Path:
    rng = np.random.default_rng(29)
    image = cv2.resize(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8), (64, 48))
    path.write_bytes(cv2.imencode(path.suffix, image)[1].tobytes())
    return path


def test_damaged_photos_fail_before_ray_starts(tmp_path, monkeypatch, capsys):
    """A batch of photos that are no readable images (noise named .jpg, a text named .png, an empty
    file, a JPEG cut inside its header) started Ray (~17 s) on every run before its workers said so;
    they now fail as a video that is no video does, in the table, without Ray."""
    runner = pytest.importorskip("deepphoto.batch.runner", reason="deepphoto batch needs Ray")
    (tmp_path / "noise.jpg").write_bytes(np.random.default_rng(0).bytes(3000))
    (tmp_path / "text.png").write_text("not a picture")
    (tmp_path / "empty.jpg").write_bytes(b"")
    good = _photo(tmp_path / "good.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(good[:120])  # before its start-of-frame marker
    started = []
    monkeypatch.setattr(runner, "connect", lambda address: started.append(address) or True)
    monkeypatch.chdir(tmp_path)
    names = ["noise.jpg", "text.png", "empty.jpg", "cut.jpg"]
    assert main(["batch", *names, "--out", "styled", "--style", "wave", "--quiet"]) == 1
    assert not started  # Ray never started
    table = capsys.readouterr().out
    for name in names:
        assert f"{name}: " in table
    assert "not a readable image" in table and "file is empty" in table


def test_photo_check_passes_readable_photos(tmp_path):
    """Sound photos, and one cut off after its header (read as far as it goes), pass the check."""
    for name in ("a.jpg", "a.png", "a.bmp", "a.webp", "a.ppm"):
        check_photo(_photo(tmp_path / name))
    whole = (tmp_path / "a.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(whole[: len(whole) * 2 // 3])
    check_photo(tmp_path / "cut.jpg")
    with pytest.raises(DeepPhotoError, match="not a readable image"):
        (tmp_path / "b.ppm").write_bytes(b"P6\n64 48\n255\n" + b"\x00" * 10)
        check_photo(tmp_path / "b.ppm")


def test_a_stop_is_said_at_once_before_ray_shuts_down(tmp_path, monkeypatch, capsys):
    """Ctrl-C, SIGTERM or SIGHUP: the batch said nothing for the 4-7 s the workers and Ray took to
    shut down; one line now comes before that (what is kept, what is dropped), and the batch still
    ends as interrupted (status 130)."""
    runner = pytest.importorskip("deepphoto.batch.runner", reason="deepphoto batch needs Ray")
    from deepphoto import Settings
    from deepphoto.batch.report import Outcome

    for name in ("a.jpg", "b.jpg", "c.jpg"):
        _photo(tmp_path / name)
    said_before_shutdown = []

    def start(self, planner):
        first = next(iter(self.states.values()))
        first.finished = True  # one photo finished before the stop
        self.outcomes[first.item.key] = Outcome("a.jpg", "done", str(first.item.output))
        raise KeyboardInterrupt  # what a stop raises

    monkeypatch.setattr(runner, "connect", lambda address: False)
    monkeypatch.setattr(runner.BatchRunner, "_start", start)
    monkeypatch.setattr(  # the networks' lines, from opening them once before Ray (hunt 30), left aside
        runner.BatchRunner,
        "_collect_usage",
        lambda self: said_before_shutdown.append(
            "".join(x for x in capsys.readouterr().err.splitlines(True) if "backend auto" not in x)
        ),
    )
    options = runner.BatchOptions(out=tmp_path / "styled", workers=1, progress=False)
    report = runner.BatchRunner(
        [str(tmp_path / n) for n in ("a.jpg", "b.jpg", "c.jpg")], Settings(style="wave"), options
    ).run()
    assert report.interrupted
    assert said_before_shutdown == [
        "deepphoto: stopping: 1 finished output kept, 2 inputs unfinished (the same command again resumes the "
        "batch, a video from its first unfinished chunk); shutting Ray down...\n"
    ]
