"""``deepphoto batch`` bugs found by a hunt: two batches into one output folder at once gave two
sources one output name and lost each other's manifest entries."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from deepphoto.batch.runner import BatchOptions, BatchRunner
from deepphoto.errors import DeepPhotoError
from deepphoto.settings import Settings

pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")


def photo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((16, 16, 3), 128, np.uint8))
    return path


def test_a_second_batch_into_a_folder_in_use_is_refused(tmp_path, monkeypatch):
    """Both batches wrote p000.png for different sources, and the manifest kept one batch's entries."""
    src = photo(tmp_path / "src" / "p000.jpg")
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(BatchRunner, "_process", lambda self: pytest.fail("a second batch started work"))
    held = os.open(out, os.O_RDONLY)  # the first batch, running
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(DeepPhotoError, match="another batch is writing into this folder"):
            BatchRunner([str(src)], Settings(style="wave"), BatchOptions(out=out)).run()
    finally:
        os.close(held)
    assert sorted(os.listdir(out)) == []  # nothing written, no manifest


@pytest.mark.parametrize(
    ("nodes", "workers", "fits"),
    [([2.0], 3, 3), ([2.0], 2, 2), ([2.0, 2.0], 3, 4), ([16.0], 4, 8), ([2.0], 1, 1)],
)
def test_workers_asked_for_fit_the_cpus_when_cpus_per_worker_is_not_given(monkeypatch, nodes, workers, fits):
    """--workers 3 on a 2-CPU machine reserved 2 CPUs each: Ray placed one, the batch waited 10 minutes."""
    import ray

    from deepphoto.batch.cluster import worker_shape

    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": sum(nodes)})
    monkeypatch.setattr(ray, "nodes", lambda: [{"Alive": True, "Resources": {"CPU": c}} for c in nodes])
    n, per, _ = worker_shape(workers, None, 0.0)
    assert n == workers and 0 < per <= 2.0
    assert sum(c // per for c in nodes) >= workers  # every worker can be placed at once
    assert sum(c // per for c in nodes) <= fits  # and each gets as many CPUs as that allows


def test_the_manifest_keeps_its_entries_as_it_saves_them_one_a_line(tmp_path):
    """Each save serialised every entry in Python (30 s of writes over 2,000 inputs): entries are
    now kept as text and joined; what is read back is what was recorded, and a claim of an output
    another source's entry names still drops that entry."""
    import json

    from deepphoto.batch.inputs import WorkItem
    from deepphoto.batch.manifest import Manifest

    def item(name: str, output: str, size: int = 10) -> WorkItem:
        return WorkItem(tmp_path / name, tmp_path / "out" / output, "image", size, 1)

    m = Manifest(tmp_path)
    a, b = item("a.jpg", "x.png"), item("b.jpg", "y.png")
    for it in (a, b):
        m.claim(it)
        m.record(it, "digest", 1, 0.25)
    text = m.path.read_text(encoding="utf-8")
    assert len(text.splitlines()) == 4  # the head, one line per entry, the end
    assert json.loads(text)["entries"] == m.entries == Manifest(tmp_path).entries
    moved = item("c.jpg", "x.png")  # a new source written to a's output (with --overwrite)
    m.claim(moved)
    again = Manifest(tmp_path)
    assert str(a.source) not in again.entries and again.entries[str(moved.source)]["status"] == "writing"
    assert again.owns(moved) and again.owns(b) and not again.owns(a)
