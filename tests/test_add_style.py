"""User styles: ``add-style`` learns a new row of the shipped StyleNet; ``styles`` lists it; ``edit``
and blends use it through ONNX Runtime without PyTorch; bad input is one line and status 2."""

from __future__ import annotations

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from adversarial import cli, refused
from test_architecture import BLOCK_TORCH

from deepphoto.assets import cache_dir
from deepphoto.engines.models import float_onnx
from deepphoto.engines.onnx_engine import OnnxEngine
from deepphoto.models.shipped import SHIPPED, style_names, user_styles_for, with_user_styles
from deepphoto.models.user_styles import onnx_with_user_styles, read_user_style, save_user_style, user_styles
from deepphoto.models.weights import read_weights

SHIPPED_NAMES = style_names(SHIPPED["stylenet"])


def photo(h: int = 120, w: int = 160, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.float32)
    img[...] = (40 + 120 * x / w)[..., None] * np.array([1.0, 0.8, 0.6])
    img[((x - w / 2) / (w / 4)) ** 2 + ((y - h / 2) / (h / 3)) ** 2 < 1] = (190, 200, 230)
    return np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)


def stripes(h: int = 96, w: int = 96) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    for i in range(0, w, 12):
        img[:, i : i + 6] = (30, 60, 200)
        img[:, i + 6 : i + 12] = (220, 200, 40)
    return img


def shipped_rows(index: int) -> dict[str, np.ndarray]:
    state, _ = read_weights(SHIPPED["stylenet"], kind="stylenet")
    return {k: v[index].numpy() for k, v in state.items() if k.endswith((".gamma", ".beta"))}


def paint(engine: OnnxEngine, image: np.ndarray, style: list[float]) -> np.ndarray:
    rgb = image[None].transpose(0, 3, 1, 2).astype(np.float32) / 255
    return engine.run(rgb, np.array([style], np.float32))[0]


def sha_of_shipped() -> str:
    from deepphoto.assets import sha256_of

    return sha256_of(SHIPPED["stylenet"])


# ---------------------------------------------------------------- the runtime side, no training


def test_appended_rows_paint_as_the_style_they_copy(data_dir, tmp_path):
    """A user style holding the shipped rows of style 1 paints exactly as style 1 does, from the
    shipped ONNX file extended with the onnx package (no torch involved)."""
    save_user_style("copy-of-one", shipped_rows(1), sha_of_shipped(), stripes(), {"title": "t"})
    assert style_names() == [*SHIPPED_NAMES, "copy-of-one"]
    base = float_onnx("stylenet")
    extended = with_user_styles(base)
    assert extended != base and extended.parent == tmp_path / "cache" / "onnx"
    assert with_user_styles(base) == extended  # cached by content
    image = photo(64, 64)
    n = len(SHIPPED_NAMES)
    shipped_engine, user_engine = OnnxEngine(base, threads=1), OnnxEngine(extended, threads=1)
    one = [0.0] * n
    one[1] = 1.0
    want = paint(shipped_engine, image, one)
    np.testing.assert_allclose(paint(user_engine, image, [0.0] * n + [1.0]), want, atol=1e-5)
    np.testing.assert_allclose(paint(user_engine, image, [*one, 0.0]), want, atol=1e-5)  # shipped rows unchanged


def test_stale_and_damaged_user_styles_are_skipped_with_a_warning(data_dir, capsys):
    save_user_style("old", shipped_rows(0), "0" * 64, stripes(), {})
    save_user_style("wave", shipped_rows(0), sha_of_shipped(), stripes(), {})  # a shipped name
    (data_dir / "styles" / "broken.safetensors").write_bytes(b"not safetensors")
    assert style_names() == SHIPPED_NAMES
    err = capsys.readouterr().err
    assert "'old' was learnt on other StyleNet weights" in err
    assert "'wave' has the name of a shipped style" in err
    assert "broken.safetensors: not a readable user style" in err
    assert [s.name for s in user_styles()] == ["old", "wave"]


def test_rows_that_do_not_fit_are_refused(data_dir, tmp_path):
    rows = shipped_rows(0)
    rows["norm_d1.gamma"] = rows["norm_d1.gamma"][:3]
    save_user_style("narrow", rows, sha_of_shipped(), stripes(), {})
    assert user_styles_for() == []  # skipped with a warning: the shipped styles still load
    with pytest.raises(Exception, match="do not fit"):
        onnx_with_user_styles(float_onnx("stylenet"), user_styles())


def test_remove_style(data_dir, capsys):
    save_user_style("gone", shipped_rows(0), sha_of_shipped(), stripes(), {})
    assert (data_dir / "styles" / "gone.jpg").exists()
    done = cli(capsys, "remove-style", "gone")
    assert done.status == 0 and "removed user style 'gone'" in done.out
    assert not list((data_dir / "styles").iterdir())
    refused(capsys, "remove-style", "gone", says="no user style 'gone'")


# ---------------------------------------------------------------- add-style's checks


@pytest.fixture
def painting_file(tmp_path):
    path = tmp_path / "painting.png"
    cv2.imwrite(str(path), stripes())
    return path


@pytest.mark.parametrize(
    "name,says",
    [
        ("wave", "is a shipped style or effect"),
        ("blur", "is a shipped style or effect"),
        ("Big Name", "use 1 to 40 lower-case letters"),
        ("x_y", "use 1 to 40 lower-case letters"),
        ("a" * 41, "use 1 to 40 lower-case letters"),
    ],
)
def test_add_style_refuses_bad_names(capsys, data_dir, painting_file, name, says):
    refused(capsys, "add-style", painting_file, "--name", name, says=says)
    assert not data_dir.exists()


def test_add_style_refuses_bad_paintings_and_clashes(capsys, data_dir, tmp_path, painting_file):
    refused(capsys, "add-style", tmp_path / "none.jpg", "--name", "x", says="no such file")
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"this is not a picture")
    refused(capsys, "add-style", junk, "--name", "x", says="junk.jpg")
    refused(capsys, "add-style", painting_file, "--name", "x", "--minutes", "0", says="--minutes")
    clear = tmp_path / "clear.png"  # fully transparent: it was taken, read as black, and a 'style' learnt
    cv2.imwrite(str(clear), np.zeros((300, 300, 4), np.uint8))
    refused(capsys, "add-style", clear, "--name", "x", says="is one flat colour")
    refused(capsys, "add-style", painting_file, "--name", "x", "--content", tmp_path / "nowhere", says="nowhere")
    save_user_style("mine", shipped_rows(0), sha_of_shipped(), stripes(), {})
    refused(capsys, "add-style", painting_file, "--name", "mine", says="add --replace")


def test_add_style_without_torch_is_one_line(tmp_path, painting_file):
    script = BLOCK_TORCH + (
        "from deepphoto.commands.cli import main\n"
        f"sys.exit(main(['add-style', {str(painting_file)!r}, '--name', 'x', '--steps', '1']))\n"
    )
    env = {**os.environ, "DEEPPHOTO_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs torch" in lines[0], done.stderr
    assert not (tmp_path / "data").exists()


# ---------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def added(tmp_path_factory):
    """``add-style`` for real, with a tiny budget: 3 photos, 2 steps on 64-pixel crops."""
    real = cache_dir()
    if not (real / "assets" / "arbitrary_transform.onnx").exists():
        pytest.skip("the any-painting ONNX files are not in the asset cache (deepphoto assets)")
    base = tmp_path_factory.mktemp("add-style")
    cache, data, photos = base / "cache", base / "data", base / "photos"
    cache.mkdir()
    photos.mkdir()
    for name in ("assets", "vgg19-conv-float32.safetensors"):
        if (real / name).exists():
            (cache / name).symlink_to(real / name)
    for i in range(3):
        cv2.imwrite(str(photos / f"p{i}.png"), photo(seed=i))
    cv2.imwrite(str(base / "painting.png"), stripes())
    env = {"DEEPPHOTO_CACHE": str(cache), "DEEPPHOTO_DATA_DIR": str(data)}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        from deepphoto.commands.cli import main

        argv = ["add-style", base / "painting.png", "--name", "stripes", "--steps", "2", "--images", "3"]
        argv += ["--content", photos, "--crop", "64", "--batch", "2", "--threads", "1"]
        status = main([str(a) for a in argv])
    return base, env, status


def test_add_style_end_to_end(added, capsys, monkeypatch):
    base, env, status = added
    assert status == 0
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    style = read_user_style(base / "data" / "styles" / "stripes.safetensors")
    assert style.meta["steps"] == "2" and style.base == sha_of_shipped() and style.painting.exists()
    assert set(style.rows) == set(shipped_rows(0))
    listed = cli(capsys, "styles")
    assert any(line.split()[:3] == ["stripes", "user", "style"] for line in listed.out.splitlines()), listed.out
    assert len(list((base / "cache" / "teacher-paintings").glob("user-*/*/*.png"))) == 3  # the teacher's, cached

    # The torch side (load_stylenet) and the ONNX side paint the user style alike.
    import torch

    from deepphoto.models.styles import load_stylenet

    net = load_stylenet()
    assert net.styles == len(SHIPPED_NAMES) + 1
    image = photo(64, 64)
    vector = [0.0] * len(SHIPPED_NAMES) + [1.0]
    with torch.no_grad():
        want = net(torch.from_numpy(image[None].transpose(0, 3, 1, 2).astype(np.float32) / 255), torch.tensor([vector]))
    got = paint(OnnxEngine(with_user_styles(float_onnx("stylenet")), threads=1), image, vector)
    np.testing.assert_allclose(got, want[0].numpy(), atol=1e-4)


def test_edit_with_the_user_style_without_torch(added, tmp_path):
    base, env, _ = added
    source = tmp_path / "in.png"
    cv2.imwrite(str(source), photo(96, 128, seed=5))
    outs = {k: tmp_path / f"{k}.png" for k in ("user", "blend", "shipped")}
    looks = {"user": "stripes", "blend": f"stripes:0.5,{SHIPPED_NAMES[0]}:0.5", "shipped": SHIPPED_NAMES[0]}
    script = BLOCK_TORCH + "from deepphoto.commands.cli import main\nstatus = 0\n"
    for k, look in looks.items():
        argv = ["edit", str(source), str(outs[k]), "--style", look, "--region", "whole"]
        argv += ["--backend", "onnx", "--precision", "fp32", "--threads", "1"]
        script += f"status = status or main({argv!r})\n"
    script += "assert 'torch' not in sys.modules\nsys.exit(status)\n"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env={**os.environ, **env}, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    user, blend, shipped = (cv2.imread(str(outs[k])).astype(int) for k in ("user", "blend", "shipped"))
    assert np.abs(user - shipped).mean() > 3  # the user style paints otherwise
    assert np.abs(blend - (user + shipped) / 2).mean() < np.abs(user - shipped).mean()  # a blend lies between
