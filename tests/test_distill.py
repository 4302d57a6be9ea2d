"""StyleNet v2's distillation (``train-style --distill``) on tiny crops: the loss falls, a run
resumes exactly, the initial network keeps the shipped weights and rows by name."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deepphoto.errors import DeepPhotoError
from deepphoto.models.shipped import SHIPPED, style_names
from deepphoto.models.stylenet import StyleNet
from deepphoto.models.vgg import load_vgg19
from deepphoto.models.weights import read_weights
from deepphoto.training.config import CROP_DISTILL, StyleTrainConfig
from deepphoto.training.distill import FEATURE_LAYERS, DistillLoss, initialised_stylenet, train_distill
from deepphoto.training.distill_data import PairedCrops, paired_crop


def toy_pairs(folder, n: int = 3, size: int = 48) -> list[tuple]:
    """Smooth random 'photos' and a 'teacher' that inverts and warms them."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    pairs = []
    for i in range(n):
        small = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
        content = cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC)
        painted = np.clip((255 - content.astype(int)) * 0.8 + np.array([0, 30, 60]), 0, 255).astype(np.uint8)
        a, b = folder / f"c{i}.png", folder / f"p{i}.png"
        cv2.imwrite(str(a), content)
        cv2.imwrite(str(b), painted)
        pairs.append((a, b))
    return pairs


@pytest.fixture(scope="module")
def vgg():
    return load_vgg19(FEATURE_LAYERS[-1])


def test_paired_crop_takes_the_same_window_of_both():
    rng = np.random.default_rng(0)
    content = rng.integers(0, 256, (30, 50, 3), dtype=np.uint8)
    for _ in range(5):
        a, b = paired_crop(content, 255 - content, 24, rng)
        np.testing.assert_array_equal(a, 255 - b)
        assert a.shape == (24, 24, 3)
    a, _ = paired_crop(content, content, 40, rng)  # a short side below the crop: scaled up first
    assert a.shape == (40, 40, 3)
    with pytest.raises(DeepPhotoError, match="differ in size"):
        paired_crop(content, content[:20], 16, rng)


def test_distill_loss_falls_over_a_few_steps(tmp_path, vgg, one_thread):
    torch.manual_seed(0)
    data = PairedCrops([toy_pairs(tmp_path)], ["toy"])
    x, t, idx = data.batch(np.random.default_rng(0), 2, 32)
    style = F.one_hot(idx, 1).float()
    net = StyleNet(1)
    loss_of = DistillLoss(vgg, pixel_weight=1.0, feature_weight=1.0, temporal_weight=10.0)
    opt = torch.optim.Adam(net.parameters(), lr=5e-3)
    losses = []
    for step in range(12):
        loss, parts = loss_of(net, x, t, style, np.random.default_rng(step))
        assert set(parts) == {"pixel", "feature", "temporal", "loss"}
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(parts["pixel"] + parts["feature"])
    assert losses[-1] < 0.8 * losses[0], losses


def test_initial_network_keeps_the_shipped_weights_and_rows_by_name(capsys):
    shipped, _ = read_weights(SHIPPED["stylenet"], kind="stylenet")
    names = style_names(SHIPPED["stylenet"])
    net = initialised_stylenet(SHIPPED["stylenet"], [names[2], "brand-new", names[0]])
    state = net.state_dict()
    torch.testing.assert_close(state["down1.weight"], shipped["down1.weight"])
    torch.testing.assert_close(state["res.3.norm2.gamma"][0], shipped["res.3.norm2.gamma"][2])
    torch.testing.assert_close(state["res.3.norm2.gamma"][2], shipped["res.3.norm2.gamma"][0])
    torch.testing.assert_close(state["norm_u1.beta"][1], shipped["norm_u1.beta"].mean(0))
    assert "new: brand-new" in capsys.readouterr().out


def test_a_resumed_run_ends_where_an_unbroken_one_does(tmp_path, one_thread):
    data = PairedCrops([toy_pairs(tmp_path / "a"), toy_pairs(tmp_path / "b")], ["wave", "extra"])

    def run(out, steps):
        config = StyleTrainConfig(
            distill=True,
            out=out,
            steps=steps,
            batch=2,
            crop=32,
            save_every=2,
            threads=1,
            styles=("wave", "extra"),
            temporal_weight=10.0,
            keep_last=1,
        )
        train_distill(config, data)
        return torch.load(out / "last.pt", weights_only=True)

    whole = run(tmp_path / "whole", 4)
    run(tmp_path / "broken", 2)
    resumed = run(tmp_path / "broken", 4)
    assert resumed["step"] == whole["step"] == 4 and resumed["styles"] == ["wave", "extra"]
    for k, v in whole["model"].items():
        torch.testing.assert_close(resumed["model"][k], v, rtol=1e-5, atol=1e-6)
    log = [json.loads(line) for line in (tmp_path / "broken" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [2, 4] and {"pixel", "feature", "temporal"} <= set(log[-1])
    assert [p.name for p in (tmp_path / "broken").glob("step-*.pt")] == ["step-000004.pt"]
    other = StyleTrainConfig(distill=True, out=tmp_path / "whole", steps=6, styles=("extra", "wave"))
    with pytest.raises(DeepPhotoError, match="a run of the styles"):
        train_distill(other, PairedCrops(data.pairs[::-1], ["extra", "wave"]))


def test_distill_config_defaults_and_checks():
    assert StyleTrainConfig(distill=True).crop == CROP_DISTILL
    assert StyleTrainConfig().crop == 128
    with pytest.raises(DeepPhotoError, match="add --distill"):
        StyleTrainConfig(styles=("wave",))
    with pytest.raises(DeepPhotoError, match="no teacher paintings of extra"):
        PairedCrops([[("a", "b")], []], ["wave", "extra"])


def test_checkpoints_past_the_warm_up_load_with_weights_only(tmp_path):
    """Past the warm-up the learning rate is a Python float (a numpy one made the run's checkpoints
    unloadable with weights_only, so it could not resume); checkpoints saved so before still load."""
    from deepphoto.training import checkpoints
    from deepphoto.training.distill import lr_at

    assert all(type(lr_at(step, 1000)) is float for step in (0, 49, 50, 500, 999))
    net = StyleNet(2)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    opt.param_groups[0]["lr"] = np.float64(1e-3) * np.cos(0.5)  # as the older runs saved it
    checkpoints.save(tmp_path / "last.pt", net, opt, 60, styles=["a", "b"], mode="distill")
    with pytest.raises(Exception, match="numpy"):
        torch.load(tmp_path / "last.pt", weights_only=True)
    state = checkpoints.load(tmp_path / "last.pt")
    assert state["step"] == 60 and float(state["optim"]["param_groups"][0]["lr"]) == pytest.approx(1e-3 * np.cos(0.5))
    again = StyleNet(2)
    assert checkpoints.resume(tmp_path / "last.pt", again, torch.optim.Adam(again.parameters()), "cpu") == 60


def test_texture_term_asks_for_strokes_where_the_feature_term_accepts_a_blur(vgg):
    """Strokes one period along (where exactly a stroke falls cannot be learnt) against a blur of
    the teacher's picture: the squared feature difference prefers the blur, the texture term the strokes."""
    from deepphoto.models.vgg import vgg_input
    from deepphoto.training.distill import texture_term

    y, x = np.mgrid[0:64, 0:64]
    strokes = ((np.sin((x + 2 * y) / 2.5) > 0) * 0.8 + 0.1).astype(np.float32)
    teacher = torch.from_numpy(np.stack([strokes, strokes * 0.6, 1 - strokes]))[None]
    moved = torch.roll(teacher, 5, dims=3)  # the same strokes, another place
    blurred = F.avg_pool2d(F.pad(teacher, (3, 3, 3, 3), mode="reflect"), 7, stride=1)

    def feats(img):
        with torch.no_grad():
            return vgg(vgg_input(img), FEATURE_LAYERS)

    t, m, b = feats(teacher), feats(moved), feats(blurred)

    def feature(f):
        return sum(float((f[k] - t[k]).pow(2).mean() / t[k].pow(2).mean()) for k in FEATURE_LAYERS)

    assert float(texture_term(t, t)) == pytest.approx(0.0, abs=1e-9)
    assert feature(b) < feature(m)  # the feature term: blur is closer
    assert float(texture_term(m, t)) < 0.2 * float(texture_term(b, t))  # the texture term: strokes are


def test_texture_weight_is_off_by_default_and_checked():
    assert StyleTrainConfig(distill=True).texture_weight == 0.0
    with pytest.raises(DeepPhotoError, match="texture-weight"):
        StyleTrainConfig(distill=True, texture_weight=-1.0)


def one_step(tmp_path, export: str, **shape) -> StyleTrainConfig:
    """One step of a tiny distillation run of one style into ``tmp_path``, grown to ``shape``."""
    return StyleTrainConfig(
        distill=True,
        out=tmp_path / "run",
        steps=1,
        batch=1,
        crop=32,
        threads=1,
        styles=("wave",),
        export=tmp_path / export,
        **shape,
    )


def test_a_grown_network_paints_as_the_one_it_grew_from(tmp_path, one_thread):
    """--blocks: new residual blocks start as identities: before its first step the grown network
    paints exactly as --init; its shape reaches the checkpoint, the weights and the ONNX file."""
    from deepphoto.commands.export import stylenet_from_checkpoint
    from deepphoto.models.styles import load_stylenet

    names = style_names(SHIPPED["stylenet"])
    base = initialised_stylenet(SHIPPED["stylenet"], names).eval()
    grown = initialised_stylenet(SHIPPED["stylenet"], names, blocks=base.blocks + 3).eval()
    assert len(grown.res) == base.blocks + 3
    x, style = torch.rand(1, 3, 64, 96), F.one_hot(torch.tensor([4]), len(names)).float()
    with torch.no_grad():
        torch.testing.assert_close(grown(x, style), base(x, style))
        grown.res[-1].norm2.gamma.add_(0.5)  # once it learns, the new block paints
        assert not torch.allclose(grown(x, style), base(x, style), atol=1e-3)
    with pytest.raises(DeepPhotoError, match="can grow, not shrink"):
        initialised_stylenet(SHIPPED["stylenet"], names, blocks=base.blocks - 1)

    data = PairedCrops([toy_pairs(tmp_path / "a")], ["wave"])
    config = one_step(tmp_path, "grown.safetensors", blocks=7)
    train_distill(config, data)
    saved = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert saved["blocks"] == 7 and stylenet_from_checkpoint(saved)[1]["blocks"] == 7
    assert load_stylenet(tmp_path / "grown.safetensors").blocks == 7
    again = StyleTrainConfig(distill=True, out=tmp_path / "run", steps=2, styles=("wave",), blocks=9)
    with pytest.raises(DeepPhotoError, match="a run of 7 blocks"):
        train_distill(again, data)


def test_a_widened_network_paints_as_the_one_it_grew_from(tmp_path, one_thread):
    """--mid / --fine: the way up widened; the new channels start silent, so before its first
    step the network paints exactly as --init; once they learn they paint; the shape reaches the
    checkpoint and the weights, and a resumed run keeps it."""
    from deepphoto.commands.export import stylenet_from_checkpoint
    from deepphoto.models.styles import load_stylenet

    names = style_names(SHIPPED["stylenet"])
    base = initialised_stylenet(SHIPPED["stylenet"], names).eval()
    wide = initialised_stylenet(SHIPPED["stylenet"], names, mid=2 * base.mid, fine=2 * base.fine).eval()
    assert (wide.mid, wide.fine) == (2 * base.mid, 2 * base.fine)
    assert wide.out.weight.shape[1] == 2 * base.fine and wide.norm_u1.gamma.shape[1] == 2 * base.mid
    x, style = torch.rand(1, 3, 64, 96), F.one_hot(torch.tensor([2]), len(names)).float()
    with torch.no_grad():
        torch.testing.assert_close(wide(x, style), base(x, style))
        wide.out.weight[:, base.fine :] += 0.1  # once the new channels have weights out, they paint
        assert not torch.allclose(wide(x, style), base(x, style), atol=1e-3)
    with pytest.raises(DeepPhotoError, match="can grow, not shrink"):
        initialised_stylenet(SHIPPED["stylenet"], names, fine=base.fine - 1)

    data = PairedCrops([toy_pairs(tmp_path / "a")], ["wave"])
    config = one_step(tmp_path, "wide.safetensors", mid=48, fine=24)
    train_distill(config, data)
    saved = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert (saved["mid"], saved["fine"]) == (48, 24)
    assert stylenet_from_checkpoint(saved)[1]["fine"] == 24
    net = load_stylenet(tmp_path / "wide.safetensors")
    assert (net.mid, net.fine) == (48, 24)
    again = StyleTrainConfig(distill=True, out=tmp_path / "run", steps=2, styles=("wave",), fine=32)
    with pytest.raises(DeepPhotoError, match="a run of fine 24"):
        train_distill(again, data)
    resumed = StyleTrainConfig(
        distill=True, out=tmp_path / "run", steps=2, batch=1, crop=32, threads=1, styles=("wave",)
    )
    train_distill(resumed, data)  # no --mid / --fine: the run's own shape
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["fine"] == 24
