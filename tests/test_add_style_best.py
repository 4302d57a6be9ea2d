"""add-style keeps its best step's rows, judged on content images it never trained on, not its last
step's: on a loaded machine it gets few steps, and the last may be worse than an earlier one.

The teacher is stood in for by a fixed colour change of each photo and the loss is the pixel term
alone, so these run in seconds without the any-painting ONNX files or VGG."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import deepphoto.training.add_style as training
import deepphoto.training.distill_data as distill_data
from deepphoto.models.user_styles import read_user_style
from deepphoto.training.config import AddStyleConfig
from deepphoto.training.distill_data import PairedCrops


def photo(seed: int, size: int = 48) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size]
    img = np.stack([40 + 3 * x, 60 + 2 * y, 90 + x + y], -1).astype(np.float32)
    return np.clip(img + rng.normal(0, 20, img.shape), 0, 255).astype(np.uint8)


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """Content photos, a stand-in teacher (each photo's colours turned), and a config of tiny steps."""
    monkeypatch.setenv("DEEPPHOTO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("DEEPPHOTO_DATA_DIR", str(tmp_path / "data"))
    photos, pairs_dir = tmp_path / "photos", tmp_path / "pairs"
    photos.mkdir()
    pairs_dir.mkdir()

    def make(count: int) -> None:
        for i in range(count):
            cv2.imwrite(str(photos / f"p{i:02d}.png"), photo(i))

    def teacher(painting_bgr, sources, threads, cache, key, digest):
        pairs = []
        for s in sources:
            content, painted = pairs_dir / f"{s.stem}-c.png", pairs_dir / f"{s.stem}-p.png"
            image = s.load()
            cv2.imwrite(str(content), image)
            cv2.imwrite(str(painted), 255 - image[..., ::-1])
            pairs.append((content, painted))
        return PairedCrops([pairs], [key])

    monkeypatch.setattr(training, "teacher_paintings", teacher)
    monkeypatch.setattr(training, "load_vgg19", lambda *a, **k: None)  # no feature or texture term

    def config(images: int, steps: int) -> AddStyleConfig:
        return AddStyleConfig(
            tmp_path / "painting.png",
            "best",
            minutes=30,
            steps=steps,
            images=images,
            content=photos,
            batch=2,
            crop=32,
            feature_weight=0.0,
            temporal_weight=0.0,
            texture_weight=0.0,
            threads=1,
        )

    painting = np.zeros((64, 64, 3), np.uint8)
    painting[:, ::8] = (30, 200, 220)
    cv2.imwrite(str(tmp_path / "painting.png"), painting)
    return make, config, painting, tmp_path / "data" / "styles"


def test_the_best_step_on_held_out_images_is_kept_not_the_last(setup, monkeypatch, capsys):
    """Checks every 2 of 6 steps say step 2 was best and the later ones worse: step 2's rows are saved."""
    make, config, painting, folder = setup
    make(8)
    monkeypatch.setattr(training, "EVAL_EVERY", 2, raising=False)
    scripted = [5.0, 1.0, 3.0, 4.0]  # the start, then steps 2, 4 and 6
    seen: list[dict[str, np.ndarray]] = []

    def check(net, x, t, slot, loss_of, seed):
        seen.append({k: v.numpy().copy() for k, v in training.new_rows(net, slot).items()})
        return scripted[len(seen) - 1]

    monkeypatch.setattr(training, "held_out_loss", check, raising=False)
    done = training.add_style(config(8, 6), painting, folder=folder)
    saved = read_user_style(done.path)
    assert len(seen) == 4 and done.steps == 6, "the held-out check ran at the start and every 2 steps"
    for k, row in saved.rows.items():
        np.testing.assert_array_equal(row, seen[1][k])  # step 2's rows
    assert (done.kept_step, done.held_out) == (2, 1.0)
    assert any(not np.array_equal(saved.rows[k], seen[3][k]) for k in saved.rows)  # not the last step's
    assert saved.meta["kept_step"] == "2" and saved.meta["steps"] == "6"
    err = capsys.readouterr().err
    assert "kept step 2 of 6" in err and "the last step's was 4.0000" in err, err


def test_held_out_images_never_reach_a_training_step(setup, monkeypatch, capsys):
    """The check is honest: the content images it scores are never drawn for a training batch."""
    make, config, painting, folder = setup
    make(16)
    read: list[str] = []
    real_decode = distill_data.decode_file

    def decode(path, *args, **kwargs):
        read.append(str(path))
        return real_decode(path, *args, **kwargs)

    monkeypatch.setattr(distill_data, "decode_file", decode)  # training batches only
    done = training.add_style(config(16, 25), painting, folder=folder)
    err = capsys.readouterr().err
    assert training.held_out_count(16) == 2 and "held-out check: 2 of 16 content images never trained on" in err
    held = err.split("never trained on (")[1].split(")")[0].split(", ")
    assert len(held) == 2
    trained = {p.rsplit("/", 1)[-1].removesuffix("-c.png") for p in read if p.endswith("-c.png")}
    assert len(trained) >= 8  # the training batches saw many of the 14 others...
    assert not trained & set(held)  # ...and never a held-out one
    assert 1 <= done.kept_step <= 25 and done.held_out is not None and np.isfinite(done.held_out)
    assert f"kept step {done.kept_step} of 25" in err


def test_a_single_content_image_keeps_the_last_step_and_says_so(setup, capsys):
    make, config, painting, folder = setup
    make(1)
    done = training.add_style(config(1, 3), painting, folder=folder)
    assert (done.kept_step, done.held_out) == (3, None)
    assert "none can be held out for a check, the last step is kept" in capsys.readouterr().err


def test_the_held_out_part_is_spread_and_small():
    pairs = [(f"c{i}", f"p{i}") for i in range(36)]
    train, held = training.split_held_out(pairs, training.held_out_count(36))
    assert len(held) == 4 and len(train) == 32 and not set(train) & set(held)
    assert [c for c, _ in held] == ["c4", "c13", "c22", "c31"]  # spread over the set
    assert training.held_out_count(1) == 0 and training.held_out_count(3) == 1
