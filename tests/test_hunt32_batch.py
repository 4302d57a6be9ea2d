"""Hunt 32 (batch): a whole folder tree batched as a user converts it."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from deepphoto.batch.inputs import expand_inputs, name_key
from deepphoto.batch.manifest import Manifest


def _files(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode())


def test_outputs_differ_on_a_disk_that_ignores_case_or_accent_forms(tmp_path):
    """a.png and A.jpg made a.png and A.png, Trip/x.jpg and trip/x.jpg Trip/x.png and trip/x.png,
    café.jpg (é one character) and café.png (e and its accent, as a Mac writes it) two cafés: one
    file each on macOS, Windows or an exFAT stick, so the second output replaced the first while
    the table and the manifest said both were done."""
    nfc, nfd = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
    _files(tmp_path / "in", "a.png", "A.jpg", "Trip/x.jpg", "trip/x.jpg", f"{nfc}.jpg", f"{nfd}.png", "b.MP4", "b.mp4")
    out = tmp_path / "styled"
    items, problems = expand_inputs([str(tmp_path / "in")], out)
    assert not problems and len(items) == 8
    keys = [name_key(i.output) for i in items]
    assert len(set(keys)) == len(keys), sorted(str(i.output.relative_to(out)) for i in items)
    by_source = {str(i.source.relative_to(tmp_path / "in")): i.output.name for i in items}
    assert by_source["a.png"] == "a.png"  # the source whose name it is keeps it
    assert by_source[f"{nfd}.png"] == f"{nfd}.png"
    again, _ = expand_inputs([str(tmp_path / "in")], out)
    assert [i.output for i in again] == [i.output for i in items]  # the same names on every run


def test_a_name_an_earlier_batch_gave_is_not_given_again_in_another_case(tmp_path):
    """An earlier batch wrote A.png for A.jpg; a later batch of a.png alone into the same folder
    named its output a.png, the same file on a Mac, and replaced A.jpg's result."""
    _files(tmp_path / "in", "A.jpg", "a.png")
    out = tmp_path / "styled"
    out.mkdir()
    first, _ = expand_inputs([str(tmp_path / "in" / "A.jpg")], out)
    assert [i.output.name for i in first] == ["A.png"]
    m = Manifest(out)
    m.claim(first[0])
    first[0].output.write_bytes(b"painted")
    m.record(first[0], "digest", 1, 0.1)
    later, _ = expand_inputs([str(tmp_path / "in" / "a.png")], out, Manifest(out).outputs())
    assert [i.output.name for i in later] == ["a-2.png"]


def test_a_broken_link_in_a_folder_is_named_by_its_own_name(tmp_path):
    """A link to a file moved away was reported as '/nonexistent: cannot be read (No such file or
    directory)', naming the target, not the file in the folder the user gave."""
    folder = tmp_path / "in"
    _files(folder, "ok.jpg")
    (folder / "gone.mp4").symlink_to(tmp_path / "moved" / "gone.mp4")
    (folder / "loop.jpg").symlink_to("loop.jpg")
    items, problems = expand_inputs([str(folder), str(folder / "gone.mp4")], tmp_path / "out")
    assert [i.source.name for i in items] == ["ok.jpg"]
    assert [(Path(p.source).name, p.reason) for p in problems] == [
        ("gone.mp4", f"a link to {tmp_path / 'moved' / 'gone.mp4'}, which does not exist"),
        ("loop.jpg", "a link that leads nowhere (a loop of links)"),
    ]


def test_a_folder_that_cannot_be_listed_is_said_not_left_out_silently(tmp_path, monkeypatch):
    """A subfolder without read permission (chmod 000, another user's) was passed over by the walk
    without a word: its photos were in neither the outputs nor the table, and the batch said all
    was done. (Simulated: the tests may run as root, whom permissions do not stop.)"""
    import os

    folder = tmp_path / "in"
    _files(folder, "ok.jpg", "locked/in.jpg", "locked/deeper/x.jpg")
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    items, problems = expand_inputs([str(folder)], tmp_path / "out")
    assert [i.source.name for i in items] == ["ok.jpg"]
    assert [(p.source, p.reason) for p in problems] == [
        (str(folder / "locked"), "cannot be read (Permission denied): its files are left out")
    ]
    _, problems = expand_inputs([str(folder / "locked")], tmp_path / "out")  # the folder given itself
    assert [(p.source, p.reason) for p in problems] == [
        (str(folder / "locked"), "cannot be read (Permission denied): its files are left out")
    ]


def test_an_input_that_is_the_output_folder_beside_others_is_said(tmp_path):
    """`batch trip1 trip2 --out trip2` styled trip1 and said nothing of trip2: its photos (inside
    the output folder) were left out without a word and the batch ended with status 0."""
    _files(tmp_path, "trip1/a.jpg", "trip2/b.jpg", "trip2/day/c.jpg")
    out = tmp_path / "trip2"
    items, problems = expand_inputs([str(tmp_path / "trip1"), str(out), str(out / "day" / "c.jpg")], out)
    assert [i.source.name for i in items] == ["a.jpg"]
    why = "is the output folder or inside it: its files are not styled (give another --out to style them)"
    assert [(p.source, p.reason) for p in problems] == [(str(out), why), (str(out / "day" / "c.jpg"), why)]
    _, alone = expand_inputs([str(out)], out)  # the output folder alone: refused as before
    assert [(p.source, p.reason) for p in alone] == [
        (str(out.resolve()), "is the output folder and holds every input: give another --out")
    ]


def test_a_renamed_input_folder_resumes_rather_than_making_everything_again_as_2(tmp_path):
    """`batch trip --out styled`, then the folder renamed (or its drive mounted elsewhere) and the
    batch run again: every photo and video was made again, beside the first results, as a-2.png,
    clip-2.mp4 ... (the manifest knew the sources by their old paths only), doubling the folder.
    A source gone whose name, size and time a new one has is that file moved: it is skipped as done.
    A different file of that name, or the old one still there (a copy), gets '-2' as before."""
    _files(tmp_path, "trip/a.jpg", "trip/a.png", "trip/day/b.jpg")
    out = tmp_path / "styled"
    out.mkdir()
    first, _ = expand_inputs([str(tmp_path / "trip")], out)
    m = Manifest(out)
    for item in first:
        m.claim(item)
        item.output.parent.mkdir(exist_ok=True)
        item.output.write_bytes(b"painted")
        m.record(item, "digest", 1, 0.1)
    (tmp_path / "trip").rename(tmp_path / "Trip 2024")
    (tmp_path / "Trip 2024" / "day" / "b.jpg").write_bytes(b"another photo")  # another file now
    m = Manifest(out)
    moved: dict[str, str] = {}
    items, _ = expand_inputs([str(tmp_path / "Trip 2024")], out, m.outputs(), None, None, m.made_from(), moved)
    assert [i.output.name for i in first] == ["a-2.png", "a.png", "b.png"]
    assert [i.output for i in items[:2]] == [i.output for i in first[:2]]  # their names kept
    assert items[2].output.name == "b-2.png"  # not known as the photo of b.png: never replaces it
    assert moved == {str(items[k].source): str(first[k].source) for k in (0, 1)}
    m.rename(moved)
    again = Manifest(out)  # saved
    assert [again.done(i, "digest") for i in items] == [True, True, False]
    _files(tmp_path, "trip/a.jpg")  # the old path back (a copy): the moved one is its own source now
    fresh = Manifest(out)
    copy, _ = expand_inputs([str(tmp_path / "trip")], out, fresh.outputs(), None, None, fresh.made_from(), {})
    assert [i.output.name for i in copy] == ["a-3.png"]


def test_an_output_folder_moved_keeps_its_results(tmp_path):
    """styled/ moved (to a drive mounted elsewhere, or its parent renamed) and the batch run again
    into it: the manifest named the outputs at the old place, so every input failed 'already exists
    (use --overwrite to replace it)', and --overwrite meant doing all the work again."""
    _files(tmp_path, "trip/a.jpg", "trip/day/b.jpg")
    out = tmp_path / "styled"
    out.mkdir()
    first, _ = expand_inputs([str(tmp_path / "trip")], out)
    m = Manifest(out)
    for item in first:
        m.claim(item)
        item.output.parent.mkdir(exist_ok=True)
        item.output.write_bytes(b"painted")
        m.record(item, "digest", 1, 0.1)
    moved = tmp_path / "drive" / "styled"
    moved.parent.mkdir()
    out.rename(moved)
    m = Manifest(moved)
    items, _ = expand_inputs([str(tmp_path / "trip")], moved, m.outputs())
    assert [str(i.output.relative_to(moved)) for i in items] == ["a.png", "day/b.png"]
    assert all(m.done(i, "digest") and m.owns(i) for i in items)
