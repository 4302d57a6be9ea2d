"""The teacher paintings cache (``paint-teacher``): content at the working size, one painting per
style, resumable, never a validation image or a held-out clip, never mixed with another painting."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from adversarial import cli, refused
from conftest import SHARED, needs_shared

from deepphoto import datasets
from deepphoto.errors import DeepPhotoError
from deepphoto.teachers import paintings
from deepphoto.teachers.paintings import WORK_SIDE, PaintingCache, Source


class CountingTeacher:
    """Stands in for ArbitraryStyle: 'paints' by inverting and tinting, and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def paint(self, content: np.ndarray, vector: np.ndarray) -> np.ndarray:
        self.calls += 1
        return (255 - content) // 2 + np.uint8(vector.ravel()[0])


def sources(n: int) -> list[Source]:
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (60 + 10 * i, 80, 3), dtype=np.uint8) for i in range(n)]
    return [Source("toy", f"img{i}", lambda im=im: im) for i, im in enumerate(images)]


def test_cache_paints_each_style_once_and_resumes(tmp_path):
    cache = PaintingCache(tmp_path)
    teacher = CountingTeacher()
    vectors = {"a": np.full(100, 10, np.float32), "b": np.full(100, 60, np.float32)}
    todo = sources(3)
    assert sum(cache.paint(s, vectors, teacher) for s in todo) == 6
    assert teacher.calls == 6
    content = cv2.imread(str(cache.content_path("toy", "img1")))
    assert max(content.shape[:2]) == WORK_SIDE and content.shape[:2] == (int(WORK_SIDE * 70 / 80), WORK_SIDE)
    painted = cv2.imread(str(cache.painting_path("b", "toy", "img1")))
    assert painted.shape == content.shape
    np.testing.assert_array_equal(painted, (255 - content) // 2 + 60)  # painted from the stored pixels, lossless

    assert sum(cache.paint(s, vectors, teacher) for s in todo) == 0  # a second run paints nothing
    assert teacher.calls == 6
    cache.painting_path("a", "toy", "img2").unlink()  # as if stopped before this one
    assert sum(cache.paint(s, vectors, teacher) for s in todo) == 1
    assert [p.name for _, p in cache.pairs("a")] == ["img0.png", "img1.png", "img2.png"]
    assert not list(tmp_path.rglob("*.tmp"))


def test_cache_refuses_another_painting_under_a_style_name(tmp_path):
    cache = PaintingCache(tmp_path)
    cache.check({"wave": "1" * 64})
    cache.check({"wave": "1" * 64, "scream": "2" * 64})  # the same painting, and a new style: fine
    with pytest.raises(DeepPhotoError, match="painted from another wave painting"):
        cache.check({"wave": "3" * 64})


def test_spread_covers_the_whole_list():
    assert paintings.spread(list(range(100)), 3) == [0, 50, 99]
    assert paintings.spread(list(range(4)), 10) == [0, 1, 2, 3]
    assert paintings.spread(list(range(4)), 0) == []


def test_style_names_are_checked():
    assert paintings.parse_styles("all") == paintings.style_names()
    assert len(paintings.style_names()) == 7
    assert paintings.parse_styles("wave, scream") == ("wave", "scream")
    with pytest.raises(DeepPhotoError, match="unknown style 'mona'"):
        paintings.parse_styles("wave,mona")


@needs_shared
def test_content_is_training_content_only():
    for name in ("portraits", "eg-portraits", "selfies", "fashion"):
        chosen = paintings.sources(name, 40, root=SHARED)
        assert len(chosen) == 40
        assert not any(datasets.LABELLED_SETS[name].is_validation(s.stem) for s in chosen), name
    backgrounds = paintings.sources(paintings.BACKGROUNDS, None, root=SHARED)
    assert backgrounds and not any(datasets.LABELLED_SETS["portraits"].is_validation(s.stem) for s in backgrounds)
    frames = paintings.sources(paintings.VIDEO, 30, root=SHARED)
    assert len(frames) == 30
    assert not any(s.stem.startswith(("asl_gestures-want-", "asl_gestures-sister-")) for s in frames)
    assert frames[0].load().ndim == 3


def test_paint_teacher_command_refuses_bad_input(capsys):
    refused(capsys, "paint-teacher", "--styles", "mona", says="unknown style 'mona'")
    refused(capsys, "paint-teacher", "--sets", "nope", says="unknown content set 'nope'")
    refused(capsys, "paint-teacher", "--limit-per-set", "-1", says="--limit-per-set")


@needs_shared
def test_paint_teacher_command_paints_and_resumes(capsys, tmp_path, monkeypatch):
    """The real teacher, one style, one image of one set; the second run paints nothing."""
    from deepphoto.assets import cache_dir

    real = cache_dir()
    if not (real / "assets" / "arbitrary_transform.onnx").exists():
        pytest.skip("the any-painting ONNX files are not in the asset cache (deepphoto assets)")
    (tmp_path / "assets").symlink_to(real / "assets")
    monkeypatch.setenv("DEEPPHOTO_CACHE", str(tmp_path))
    argv = ["paint-teacher", "--styles", "wave", "--sets", "selfies", "--limit-per-set", "1", "--data", SHARED]
    first = cli(capsys, *argv)
    assert first.status == 0, first.err
    assert first.out.startswith("1 painting made now")
    (content, painting), *_ = PaintingCache(tmp_path / "teacher-paintings").pairs("wave")
    a, b = cv2.imread(str(content)), cv2.imread(str(painting))
    assert a.shape == b.shape and max(a.shape[:2]) == WORK_SIDE
    assert float(np.abs(a.astype(int) - b).mean()) > 10  # painted, not copied
    again = cli(capsys, *argv)
    assert again.status == 0 and again.out.startswith("0 paintings made now")


@needs_shared
def test_clip_frame_count_reads_the_container_with_pyav(tmp_path: Path) -> None:
    from deepphoto import datasets

    assert datasets.clip_frame_count(SHARED / "video" / "vtest.avi") == 795
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    with pytest.raises(DeepPhotoError, match="not a readable video"):
        datasets.clip_frame_count(junk)
