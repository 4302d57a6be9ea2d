"""The labelled-set registry and its fixed splits, the teachers' scores, and cached teacher labels."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import cv2
import numpy as np
import pytest
from conftest import SHARED, needs_shared

from deepphoto import datasets
from deepphoto.assets import RVM_MOBILENETV3, SELFIE_LANDSCAPE_TFLITE, cache_dir, fetch
from deepphoto.errors import DeepPhotoError
from deepphoto.teachers import label, scores


def _cached(wanted) -> bool:
    try:
        fetch(wanted, download=False)
    except DeepPhotoError:
        return False
    return True


needs_teachers = pytest.mark.skipif(
    not (_cached(RVM_MOBILENETV3) and _cached(SELFIE_LANDSCAPE_TFLITE)),
    reason="needs the cached teacher files (run 'deepphoto assets' once)",
)


@needs_shared
def test_portraits_split_is_unchanged():
    val = datasets.pairs("portraits", "val", SHARED)
    assert len(datasets.pairs("portraits", "all", SHARED)) == 289
    assert len(val) == 37
    # LightNet v1's rule, byte for byte: sha1(stem) % 100 < 15
    assert all(int(hashlib.sha1(i.stem.encode()).hexdigest(), 16) % 100 < 15 for i, _ in val)


# The validation stems of each set, frozen: sha1 of the sorted stems joined by spaces.
FROZEN_SPLITS = {
    "portraits": "b8398175540c",
    "eg-portraits": "299bd1c2f2c0",
    "selfies": "8e3b6b0cc0e4",
    "fashion": "74c022885994",
    "hands": "c609d7a2b49e",
}


@needs_shared
@pytest.mark.parametrize("name", list(FROZEN_SPLITS))
def test_validation_splits_never_change(name):
    stems = sorted(i.stem for i, _ in datasets.pairs(name, "val", SHARED))
    assert hashlib.sha1(" ".join(stems).encode()).hexdigest()[:12] == FROZEN_SPLITS[name]


@needs_shared
@pytest.mark.parametrize("name", [n for n in datasets.LABELLED_SETS if n != "portraits"])
def test_split_is_fixed_disjoint_and_about_ten_percent(name):
    every = datasets.pairs(name, "all", SHARED)
    train, val = datasets.pairs(name, "train", SHARED), datasets.pairs(name, "val", SHARED)
    assert len(train) + len(val) == len(every) > 500
    assert not {i.stem for i, _ in train} & {i.stem for i, _ in val}
    assert 0.07 < len(val) / len(every) < 0.14
    assert val == datasets.pairs(name, "val", SHARED)  # deterministic
    salted = {i.stem for i, _ in val}
    bare = {i.stem for i, _ in every if int(hashlib.sha1(i.stem.encode()).hexdigest(), 16) % 100 < 10}
    assert salted != bare  # the set's name is part of the hash


@needs_shared
def test_broken_hand_images_are_left_out():
    stems = {i.stem for i, _ in datasets.pairs("hands", "all", SHARED)}
    assert "Tra-900" in stems and "val-1000" in stems
    assert not any(f"val-{i}" in stems for i in range(901, 1000))
    folder = SHARED / "seg" / "hands"  # why: those "photos" are copies of their masks
    photo = cv2.imread(str(folder / "images" / "val-950.jpg"), cv2.IMREAD_GRAYSCALE)
    mask = cv2.imread(str(folder / "masks" / "val-950.png"), cv2.IMREAD_GRAYSCALE)
    assert ((photo > 127) == (mask > 127)).mean() > 0.99


def test_unknown_set_and_split_are_one_line_errors():
    with pytest.raises(DeepPhotoError, match="unknown labelled set"):
        datasets.pairs("nope")
    with pytest.raises(DeepPhotoError, match="unknown split"):
        datasets.pairs("portraits", "test")


def test_combine_with_truth_trusts_the_mask_only_where_it_speaks():
    soft = np.full((2, 2), 0.3, np.float32)
    truth = np.array([[True, False], [False, False]])
    assert datasets.combine_with_truth(soft, truth, datasets.FULL_PERSON).tolist() == [[1, 0], [0, 0]]
    hands = datasets.combine_with_truth(soft, truth, datasets.HANDS_ONLY)
    assert hands[0, 0] == 1 and np.allclose(hands.ravel()[1:], 0.3)


def test_boundary_iou_sees_edges_that_person_iou_forgives():
    truth = np.zeros((200, 200), bool)
    truth[40:160, 40:160] = True
    shifted = np.roll(truth, 4, axis=1)
    assert scores.boundary_iou(truth, truth) == 1.0
    assert scores.iou(shifted, truth) > 0.9  # a small shift hardly costs person IoU ...
    assert scores.boundary_iou(shifted, truth) < 0.75  # ... but the bands (d = 6 px) overlap less
    assert scores.boundary_iou(np.zeros_like(truth), truth) == 0.0
    left_half = truth.copy()
    left_half[:, 100:] = False
    assert scores.hand_recall(left_half, truth) == 0.5


def test_runtime_commands_never_import_the_teachers():
    code = (
        "import sys\n"
        "from importlib.metadata import entry_points\n"
        "main = [e for e in entry_points(group='console_scripts') if e.name == 'deepphoto'][0].load()\n"
        "for cmd in ('run', 'edit'):\n"
        "    try:\n        main([cmd, '--help'])\n    except SystemExit:\n        pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('deepphoto.teachers')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


@needs_shared
@needs_teachers
def test_labels_a_few_images_into_the_cache(tmp_path, monkeypatch):
    (tmp_path / "assets").symlink_to(cache_dir() / "assets")  # the teachers' files, not re-downloaded
    monkeypatch.setenv("DEEPPHOTO_CACHE", str(tmp_path))
    monkeypatch.setenv("DEEPPHOTO_SHARED_DATA", str(SHARED))
    from deepphoto.commands.cli import main

    argv = ["--sets", "selfies", "fashion", "video", "--limit", "1", "--no-download"]
    assert main(["label-teachers", *argv]) == 0
    for name in ("selfies", "fashion"):
        img_path, mask_path = datasets.pairs(name, "train")[0]
        img, truth = datasets.read_pair(img_path, mask_path)
        prob, conf = label.read_label(name, img_path.stem)
        assert prob.shape == conf.shape == img.shape[:2]
        assert prob[truth].mean() > 0.8  # mostly person where the real mask says person
        if name == "selfies":  # fashion's background may hold unlabelled people
            assert prob[~truth].mean() < 0.2
            assert scores.iou(prob >= 0.5, truth) > 0.8
        assert 0.5 < conf.mean() <= 1.0
    frames = sorted((tmp_path / "teacher-labels" / "video").glob("*.jpg"))
    assert len(frames) == 1
    frame = cv2.imread(str(frames[0]))
    assert cv2.imread(str(frames[0].with_suffix(".png")), cv2.IMREAD_UNCHANGED).shape == frame.shape[:2]
    assert not list(tmp_path.rglob("*.tmp"))

    stamp = {p: p.stat().st_mtime_ns for p in (tmp_path / "teacher-labels").rglob("*.png")}
    assert main(["label-teachers", *argv]) == 0  # resumes: nothing is labelled twice
    assert stamp == {p: p.stat().st_mtime_ns for p in (tmp_path / "teacher-labels").rglob("*.png")}

    manifest = tmp_path / "teacher-labels" / "teachers.json"
    manifest.write_text(manifest.read_text().replace('"frame_every": 5', '"frame_every": 3'))
    assert main(["label-teachers", *argv]) == 2  # labels of another ensemble are not mixed in
