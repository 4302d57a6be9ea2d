"""LightNet v2 training: soft, edge-weighted loss; consistency; the fine level; compact resume."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import SHARED, needs_shared

from deepphoto.commands.train_seg import add_arguments, config_from_args
from deepphoto.errors import DeepPhotoError
from deepphoto.models.lightnet import LightNet
from deepphoto.models.lightnet_io import SHIPPED_LIGHTNET, load_lightnet
from deepphoto.models.weights import save_weights
from deepphoto.training import checkpoints, seg_losses
from deepphoto.training.train_seg import initialised_lightnet, train

# A network without the finer level (v6-wise's fine-tune, kept in the tree): a level is grown on it.
COARSE = Path(__file__).resolve().parents[1] / "docs" / "training" / "lightnet-v6-last.safetensors"


def _square(n: int = 2, size: int = 32) -> torch.Tensor:
    t = torch.zeros(n, size, size)
    t[:, 8:24, 8:24] = 1
    return t


def test_soft_loss_prefers_the_right_answer_and_weighs_edges() -> None:
    target = _square()
    weight = torch.ones_like(target)
    right = torch.stack([torch.zeros_like(target), (target * 2 - 1) * 6], 1)
    assert seg_losses.soft_loss(right, target, weight, 2.0) < 0.1 < seg_losses.soft_loss(-right, target, weight, 2.0)
    # the same error costs more on the edge when the edge weighs more
    edge_error = right.clone()
    edge_error[:, 1, 8:10, 8:24] = -6  # the top two rows of the square called background
    plain = seg_losses.soft_loss(edge_error, target, weight, 0.0) - seg_losses.soft_loss(right, target, weight, 0.0)
    edged = seg_losses.soft_loss(edge_error, target, weight, 4.0) - seg_losses.soft_loss(right, target, weight, 4.0)
    assert edged > 1.5 * plain > 0
    # a pixel of weight 0 (teachers disagree completely) costs nothing
    unsure = weight.clone()
    unsure[:, 8:10, 8:24] = 0
    assert seg_losses.soft_loss(edge_error, target, unsure, 0.0) == pytest.approx(
        seg_losses.soft_loss(right, target, unsure, 0.0).item(), abs=1e-4
    )


def test_edge_band_surrounds_the_edge_only() -> None:
    square = torch.zeros(1, 300, 300)
    square[:, 60:240, 60:240] = 1
    band = seg_losses.edge_band(square)[0]  # 2% of the 424-pixel diagonal: 4 pixels either side
    assert band[60, 150] == 1 and band[56, 150] == 1 and band[150, 243] == 1 and band[150, 236] == 1
    assert band[150, 150] == 0 and band[0, 0] == 0 and band[150, 250] == 0 and band[150, 230] == 0


def test_near_band_lies_outside_the_person_only() -> None:
    square = torch.zeros(1, 300, 300)
    square[:, 60:240, 60:240] = 1
    band = seg_losses.near_band(square)[0]  # 8% of the 424-pixel diagonal: 34 pixels outside
    assert band[150, 150] == 0 and band[60, 150] == 0  # the person itself is not in it
    assert band[59, 150] == 1 and band[26, 150] == 1 and band[150, 273] == 1
    assert band[24, 150] == 0 and band[150, 276] == 0 and band[0, 0] == 0


def test_near_band_can_start_outside_the_outline() -> None:
    square = torch.zeros(1, 300, 300)
    square[:, 60:240, 60:240] = 1
    band = seg_losses.near_band(square, start=0.01)[0]  # from 4 pixels out (1% of 424) to 34
    assert band[59, 150] == 0 and band[56, 150] == 0  # the outline's own pixels are left out
    assert band[55, 150] == 1 and band[26, 150] == 1 and band[24, 150] == 0
    assert torch.equal(seg_losses.near_band(square, start=0.0), seg_losses.near_band(square))


def test_near_weight_makes_false_person_pixels_next_to_the_person_cost_more() -> None:
    target = torch.zeros(2, 64, 64)
    target[:, 20:44, 20:44] = 1
    weight = torch.ones_like(target)
    right = torch.stack([torch.zeros_like(target), (target * 2 - 1) * 6], 1)
    near, far = right.clone(), right.clone()
    near[:, 1, 14:20, 20:44] = 6  # a strip just above the person called person
    far[:, 1, 0:6, 20:44] = 6  # the same strip at the top edge, far from the person

    def cost(logits: torch.Tensor, w: float) -> float:
        base = seg_losses.soft_loss(right, target, weight, 0.0, w)
        return float(seg_losses.soft_loss(logits, target, weight, 0.0, w) - base)

    assert cost(near, 0.0) == pytest.approx(cost(far, 0.0), rel=1e-3)  # off: the same
    assert cost(near, 4.0) > 1.5 * cost(far, 4.0) > 0


def _fake_net(x: torch.Tensor) -> torch.Tensor:
    """Logits that follow the picture's brightness at half resolution: a 'network' that is exactly
    as steady as the picture is."""
    g = F.avg_pool2d(x.mean(1, keepdim=True), 2)
    return torch.cat([torch.zeros_like(g), (g - 0.5) * 20], 1)


def test_consistency_is_small_for_the_same_move_and_large_for_another() -> None:
    x = torch.zeros(4, 3, 64, 64)
    x[:, :, 20:44, 16:40] = 1
    rng = np.random.default_rng(0)
    theta = seg_losses.random_moves(4, rng)
    moved, inside = seg_losses.move(x, theta)
    assert inside.mean() > 0.8
    same = seg_losses.consistency(_fake_net(x), _fake_net(moved), theta)
    other = theta.clone()
    other[:, :, 2] *= -1
    assert same < 0.01 < seg_losses.consistency(_fake_net(x), _fake_net(moved), other)
    relit = seg_losses.relight(moved, rng)
    assert relit.shape == moved.shape and not torch.allclose(relit, moved)


def test_fine_level_starts_as_the_network_it_was_initialised_from(tmp_path: Path) -> None:
    coarse = LightNet(width=16).eval()
    path = tmp_path / "coarse.safetensors"
    save_weights(coarse, path, kind="lightnet", config={"width": 16}, half=False)
    fine = initialised_lightnet(path, fine_level=8).eval()
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        out = fine(x)
        assert out.shape == (1, 2, 32, 48)  # half the input resolution
        up = F.interpolate(coarse(x), size=(32, 48), mode="bilinear", align_corners=False)
        assert torch.allclose(out, up, atol=1e-5)
    # a fine-level weights file records the level and loads back whole
    save_weights(fine, tmp_path / "fine.safetensors", kind="lightnet", config={"width": 16, "fine_level": 8})
    again = load_lightnet(tmp_path / "fine.safetensors")
    assert again.fine_level == 8 and again(x).shape == (1, 2, 32, 48)
    # weights of another width are refused, naming a tensor
    save_weights(LightNet(width=8), tmp_path / "narrow.safetensors", kind="lightnet", config={"width": 16})
    with pytest.raises(DeepPhotoError, match="do not fit"):
        initialised_lightnet(tmp_path / "narrow.safetensors", fine_level=8)


def test_fine_level_exports_to_onnx(tmp_path: Path) -> None:
    import onnxruntime as ort

    from deepphoto.models.lightnet_io import export_onnx

    net = LightNet(width=16, fine_level=8).eval()
    torch.nn.init.normal_(net.fine_classifier.weight, std=0.1)  # not the zero start: the level counts
    path = tmp_path / "fine.safetensors"
    save_weights(net, path, kind="lightnet", config={"width": 16, "fine_level": 8}, half=False)
    onnx = export_onnx(path, tmp_path / "fine.onnx")
    x = torch.rand(1, 3, 64, 64)
    prob = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"]).run(None, {"rgb": x.numpy()})[0]
    with torch.no_grad():
        logits = net(x)
    want = torch.sigmoid(logits[:, 1:2] - logits[:, 0:1]).numpy()
    assert prob.shape == (1, 1, 32, 32) and np.abs(prob - want).max() < 1e-4


def test_a_smaller_decoder_on_a_trained_encoder(tmp_path: Path) -> None:
    """--init-encoder with --width and --crp-stages: the encoder's tensors come from the weights,
    the decoder is new and of the asked shape; that shape reaches the weights file, the loader and
    the ONNX file."""
    import onnxruntime as ort

    from deepphoto.commands.export import lightnet_from_checkpoint
    from deepphoto.models.lightnet import arch_of
    from deepphoto.models.lightnet_io import export_onnx
    from deepphoto.training.train_seg import encoder_from

    small = encoder_from(SHIPPED_LIGHTNET, width=32, fine_level=8, crp_stages=2).eval()
    shipped = load_lightnet()
    for k, v in shipped.backbone.state_dict().items():
        torch.testing.assert_close(small.backbone.state_dict()[k], v)
    assert small.width == 32 and all(len(b.convs) == 2 for b in small.crp)
    assert arch_of(small) == {"width": 32, "crp_stages": 2, "fine_level": 8}
    path = tmp_path / "small.safetensors"
    save_weights(small, path, kind="lightnet", config=arch_of(small), half=False)
    again = load_lightnet(path)
    assert arch_of(again) == arch_of(small)
    state = {"model": small.state_dict(), "step": 3, **arch_of(small)}
    assert lightnet_from_checkpoint(state)[1] == {**arch_of(small), "step": 3}
    x = torch.rand(1, 3, 64, 64)
    onnx = export_onnx(path, tmp_path / "small.onnx")
    prob = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"]).run(None, {"rgb": x.numpy()})[0]
    with torch.no_grad():
        logits = small(x)
    assert np.abs(prob - torch.sigmoid(logits[:, 1:2] - logits[:, 0:1]).numpy()).max() < 1e-4
    p = argparse.ArgumentParser()
    add_arguments(p)
    with pytest.raises(DeepPhotoError, match="give one"):
        config_from_args(p.parse_args(["--init", "a.safetensors", "--init-encoder", "b.safetensors"]))
    assert config_from_args(p.parse_args(["--crp-stages", "2"])).crp_stages == 2


def test_v2_loss_options_need_the_v2_mix() -> None:
    p = argparse.ArgumentParser()
    add_arguments(p)
    with pytest.raises(DeepPhotoError, match="--mix v2"):
        config_from_args(p.parse_args(["--consistency", "0.25"]))
    with pytest.raises(SystemExit):
        p.parse_args(["--mix", "v3"])


def _labels_ready() -> bool:
    from deepphoto.teachers.label import labels_dir

    return any((labels_dir() / "video").glob("*.jpg"))


needs_labels = pytest.mark.skipif(
    not _labels_ready(), reason="needs the cached teacher labels (run 'deepphoto label-teachers')"
)


def _v2(out: Path, steps: int, resume: Path | None = None) -> object:
    p = argparse.ArgumentParser()
    add_arguments(p)
    argv = [
        "--mix", "v2", "--data", str(SHARED), "--out", str(out), "--steps", str(steps), "--batch", "2",
        "--sizes", "64", "--threads", "1", "--save-every", "1", "--init", str(COARSE),
        "--fine-level", "8", "--edge-weight", "2", "--consistency", "0.5",
    ]  # fmt: skip
    if resume:
        argv += ["--resume", str(resume)]
    return config_from_args(p.parse_args(argv))


@needs_shared
@needs_labels
def test_v2_run_resumes_from_a_compact_checkpoint_on_a_fresh_machine(tmp_path: Path) -> None:
    from deepphoto.commands.cli import main

    first = train(_v2(tmp_path / "a", 2))
    state = torch.load(first, weights_only=True)
    assert state["step"] == 2 and state["fine_level"] == 8 and state["mix"] == "v2"
    kept = sorted(p.name for p in (tmp_path / "a").glob("step-*.pt"))
    assert kept == ["step-000001.pt", "step-000002.pt"]  # the saves before last.pt, kept for averaging
    assert torch.load(tmp_path / "a" / "step-000001.pt", weights_only=True)["step"] == 1

    compact = tmp_path / "resume.pt"
    assert main(["export", "lightnet", "--resume-checkpoint", str(first), "--out", str(compact)]) == 0
    small = torch.load(compact, weights_only=True)
    assert small["step"] == 2 and small["compact"] is True
    assert {v.dtype for v in small["model"].values() if v.is_floating_point()} == {torch.float16}
    moments = [v for s in small["optim"]["state"].values() for k, v in s.items() if k != "step"]
    assert moments and {v.dtype for v in moments} == {torch.bfloat16}
    assert compact.stat().st_size < 0.6 * first.stat().st_size

    # weights for shipping, from the compact file too: the fine level is in their config
    weights = tmp_path / "v2.safetensors"
    assert main(["export", "lightnet", "--checkpoint", str(compact), "--safetensors", str(weights)]) == 0
    assert load_lightnet(weights).fine_level == 8

    # "another machine": an empty run folder, continued from the compact file
    resumed = train(_v2(tmp_path / "b", 3, resume=compact))
    after = torch.load(resumed, weights_only=True)
    assert after["step"] == 3
    # the same third step as a run that continues from its own full-precision last.pt
    straight = torch.load(train(_v2(tmp_path / "a", 3)), weights_only=True)
    moved = [k for k, v in after["model"].items() if v.is_floating_point() and not torch.equal(v, state["model"][k])]
    assert moved, "the resumed step changed no weight"
    for k, v in straight["model"].items():
        if v.is_floating_point():
            assert torch.allclose(after["model"][k], v, atol=2e-2, rtol=2e-2), k

    # a damaged or foreign file is a one-line error
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(DeepPhotoError, match="not a readable training checkpoint"):
        checkpoints.load(tmp_path / "junk.pt")


@needs_shared
@needs_labels
def test_v2_samples_are_soft_targets_with_confidence_weights() -> None:
    from deepphoto.training.seg_mix import MixData

    data = MixData(SHARED, seed=4)
    assert len(data.items["eg-portraits"]) > 1000 and len(data.items["video"]) > 100
    soft = 0
    for _ in range(12):
        rgb, target, weight = data.sample((96, 64))
        assert rgb.shape == (96, 64, 3) and target.shape == weight.shape == (96, 64)
        assert 0 <= rgb.min() and rgb.max() <= 1 and 0 <= target.min() and target.max() <= 1
        assert 0 <= weight.min() and weight.max() <= 1 + 1e-6
        soft += bool((weight < 0.99).any())
    assert soft > 0  # some came from the teachers' labels
    img, target, weight = data.items["fashion"][0]()
    assert (weight[target >= 1] > 0).all() and weight.min() < 1


def test_v2b_mix_draws_from_the_v2_sources_with_more_portraits() -> None:
    from deepphoto.training.seg_mix import MIX_V2, MIXES_V2

    v2b = MIXES_V2["v2b"]
    assert set(v2b) == set(MIX_V2) and abs(sum(v2b.values()) - 1.0) < 1e-9
    assert v2b["portraits"] > MIX_V2["portraits"] and v2b["composite"] > MIX_V2["composite"]
    args = argparse.ArgumentParser()
    add_arguments(args)
    assert config_from_args(args.parse_args(["--mix", "v2b", "--edge-weight", "2"])).mix == "v2b"


def test_hard_examples_options_come_together_and_need_the_v2_mix(tmp_path: Path) -> None:
    p = argparse.ArgumentParser()
    add_arguments(p)
    listed = tmp_path / "hard.json"
    with pytest.raises(DeepPhotoError, match="give both"):
        config_from_args(p.parse_args(["--mix", "v2b", "--hard-examples", str(listed)]))
    with pytest.raises(DeepPhotoError, match="give both"):
        config_from_args(p.parse_args(["--mix", "v2b", "--hard-share", "0.25"]))
    with pytest.raises(DeepPhotoError, match="v2 data mix"):
        config_from_args(p.parse_args(["--hard-examples", str(listed), "--hard-share", "0.25"]))
    config = config_from_args(p.parse_args(["--mix", "v2b", "--hard-examples", str(listed), "--hard-share", "0.25"]))
    assert config.hard_examples == listed and config.hard_share == 0.25


@needs_shared
def test_hard_examples_are_the_worst_training_images_and_never_validation(tmp_path: Path) -> None:
    import json

    from deepphoto import datasets
    from deepphoto.training import hard_examples

    mined = hard_examples.mine(SHIPPED_LIGHTNET, SHARED, worst=0.1, sets=("portraits",), progress=False)
    entry = mined["sets"]["portraits"]
    train = [img.stem for img, _ in datasets.pairs("portraits", "train", SHARED)]
    assert sorted(entry["iou"]) == sorted(train)  # every training image scored, no validation one
    assert len(entry["hard"]) == round(0.1 * len(train))
    worst_kept = max(entry["iou"][s] for s in entry["hard"])
    assert all(v >= worst_kept for s, v in entry["iou"].items() if s not in entry["hard"])
    assert worst_kept < float(np.median(list(entry["iou"].values())))
    path = tmp_path / "hard.json"
    path.write_text(json.dumps(mined))
    pairs = hard_examples.read(path, SHARED)
    assert [img.stem for img, _ in pairs] == entry["hard"] and all(m.exists() for _, m in pairs)
    assert hard_examples.summary(mined).startswith(f"portraits: {len(pairs)} of {len(train)} training images kept")

    val = next(img.stem for img, _ in datasets.pairs("portraits", "val", SHARED))
    path.write_text(json.dumps({"sets": {"portraits": {"hard": [val]}}}))
    with pytest.raises(DeepPhotoError, match="validation image"):
        hard_examples.read(path, SHARED)
    path.write_text("{}")
    with pytest.raises(DeepPhotoError, match="not a hard-examples file"):
        hard_examples.read(path, SHARED)
    with pytest.raises(DeepPhotoError, match="do not mark every person"):
        hard_examples.mine(SHIPPED_LIGHTNET, SHARED, sets=("fashion",), progress=False)


@needs_shared
@needs_labels
def test_the_mix_makes_room_for_hard_examples() -> None:
    from deepphoto import datasets
    from deepphoto.training.seg_mix import HARD, MIXES_V2, MixData

    hard = datasets.pairs("portraits", "train", SHARED)[:3]
    data = MixData(SHARED, MIXES_V2["v2b"], seed=1, hard=hard, hard_share=0.25)
    assert data.mix[HARD] == 0.25 and abs(sum(data.mix.values()) - 1) < 1e-9
    assert data.mix["portraits"] == pytest.approx(0.75 * MIXES_V2["v2b"]["portraits"])
    drawn = [data.source() for _ in range(2000)]
    assert 0.21 < drawn.count(HARD) / len(drawn) < 0.29
    data.rng = np.random.default_rng(0)
    data.names, data.p = [HARD], np.array([1.0])  # draw only hard examples: real masks, weight 1
    rgb, target, weight = data.sample((64, 64))
    assert weight.min() > 0.999  # a real mask: every pixel certain
    with pytest.raises(DeepPhotoError, match="needs a hard-examples file"):
        MixData(SHARED, MIXES_V2["v2b"], hard_share=0.25)


def test_close_ups_need_the_v2_mix_and_a_share() -> None:
    p = argparse.ArgumentParser()
    add_arguments(p)
    with pytest.raises(DeepPhotoError, match="--mix v2"):
        config_from_args(p.parse_args(["--close-ups", "0.2"]))
    with pytest.raises(DeepPhotoError, match="--close-ups"):
        config_from_args(p.parse_args(["--mix", "v2b", "--close-ups", "1.5"]))
    assert config_from_args(p.parse_args(["--mix", "v2b", "--close-ups", "0.2"])).close_ups == 0.2


def test_a_close_up_is_a_small_crop_around_the_person() -> None:
    """A close-up shows a part of the person large (a torso without its head), which whole-photo
    crops (45-100% of the photo) never do; a photo without a person still gives a crop."""
    from deepphoto.training.seg_mix import close_up, crop

    h, w = 240, 320
    img = np.zeros((h, w, 3), np.uint8)
    target = np.zeros((h, w), np.float32)
    target[150:230, 250:300] = 1.0  # a small person in the bottom right corner
    img[target > 0] = 200
    weight = np.ones((h, w), np.float32)
    rng = np.random.default_rng(0)
    close = [close_up(img, target, weight, (64, 64), rng)[1].mean() for _ in range(40)]
    whole = [crop(img, target, weight, (64, 64), rng)[1].mean() for _ in range(40)]
    assert min(close) > 0.05  # every close-up shows the person
    assert np.mean(close) > 2.5 * np.mean(whole)  # and larger than a whole-photo crop does
    empty = close_up(img, np.zeros_like(target), weight, (64, 64), rng)
    assert empty[0].shape == (64, 64, 3) and empty[1].max() == 0


def test_a_network_with_a_finer_level_is_fine_tuned_with_its_own():
    """--init with the shipped network (a 32-channel finer level) and no --fine-level keeps the
    level (it failed: 'fine_adapt.weight' left over); another width for it is refused in one line."""
    net = initialised_lightnet(SHIPPED_LIGHTNET)
    assert net.fine_level == load_lightnet().fine_level == 32
    with pytest.raises(DeepPhotoError, match="has a finer level of 32 channels"):
        initialised_lightnet(SHIPPED_LIGHTNET, 8)
    assert initialised_lightnet(COARSE, 8).fine_level == 8  # grown on a network without one


def test_every_v2_mix_draws_from_the_v2_sources_and_adds_up() -> None:
    from deepphoto.training.config import MIXES
    from deepphoto.training.seg_mix import MIX_V2, MIXES_V2

    assert set(MIXES) == {"v1", *MIXES_V2}  # every mix the command offers exists
    for name, mix in MIXES_V2.items():
        assert set(mix) == set(MIX_V2) and abs(sum(mix.values()) - 1.0) < 1e-9, name
    assert MIXES_V2["v13"]["portraits"] > MIXES_V2["v11"]["portraits"]
