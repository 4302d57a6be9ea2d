"""add-style on StyleNet v2's shared layers, measured: v2 without one style's row, the row learnt
again by add-style, both scored against the teacher on the held-out photos.

.venv/bin/python scripts/add_style_holdout.py [TEXTURE_WEIGHT] [STYLE] [STEPS]

Caveat, printed with the numbers: v2's shared layers saw this painting in training.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

from deepphoto.arbitrary import ArbitraryStyle
from deepphoto.measure import picture_scores as scores
from deepphoto.measure.held_out import held_out_photos
from deepphoto.models.paintings import PAINTINGS
from deepphoto.models.shipped import SHIPPED
from deepphoto.models.stylenet import StyleNet
from deepphoto.models.user_styles import read_user_style
from deepphoto.models.weights import read_weights, save_state
from deepphoto.training.add_style import add_style
from deepphoto.training.config import AddStyleConfig

DATA = Path("../shared/data")
ROWS = (".gamma", ".beta")


def paint(state: dict[str, torch.Tensor], slot: int, image: np.ndarray) -> np.ndarray:
    net = StyleNet(next(v for k, v in state.items() if k.endswith(ROWS)).shape[0])
    net.load_state_dict(state)
    h, w = image.shape[:2]
    x = cv2.cvtColor(cv2.resize(image, (w // 8 * 8, h // 8 * 8)), cv2.COLOR_BGR2RGB)
    with torch.no_grad():
        y = net.eval()(torch.from_numpy(x).permute(2, 0, 1)[None].float() / 255, torch.eye(net.styles)[slot : slot + 1])
    y = (y[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    return cv2.resize(cv2.cvtColor(y, cv2.COLOR_RGB2BGR), (w, h))


def main(texture: float, style: str, steps: int) -> None:
    state, config = read_weights(SHIPPED["stylenet"], "stylenet")
    styles = list(config["styles"])
    slot = styles.index(style)
    tmp = Path(tempfile.mkdtemp())
    base = tmp / "base.safetensors"
    without = {k: torch.cat([v[:slot], v[slot + 1 :]]) if k.endswith(ROWS) else v for k, v in state.items()}
    save_state(without, base, "stylenet", {**config, "styles": [s for s in styles if s != style]}, half=False)
    painting_path = DATA / "styles" / {p.name: p.file for p in PAINTINGS}[style]
    painting = cv2.imread(str(painting_path))
    wanted = AddStyleConfig(painting_path, "again", minutes=60, steps=steps, texture_weight=texture, threads=2)
    done = add_style(wanted, painting, base_weights=base, folder=tmp / "user")
    rows = read_user_style(done.path).rows
    learnt = {k: v.clone() for k, v in state.items()}
    for k in learnt:
        if k.endswith(ROWS):
            learnt[k][slot] = torch.from_numpy(rows[k])
    teacher = ArbitraryStyle.open(2)
    vector = teacher.style_vector(painting)
    found: dict[str, list[tuple[float, float, float, float]]] = {"v2's own row": [], "add-style's row": []}
    for _, image in held_out_photos(DATA, 8, 256):
        taught = teacher.paint(image, vector)
        for label, weights in (("v2's own row", state), ("add-style's row", learnt)):
            out = paint(weights, slot, image)
            found[label].append(
                (
                    scores.psnr(out, taught),
                    scores.luminance_correlation(out, image),
                    scores.painted(out, image),
                    scores.painted(taught, image),
                )
            )
    print(f"{style}, texture weight {texture:g}: {done.steps} steps in {done.seconds:.0f} s (start: {done.init})")
    for label, values in found.items():
        psnr, lum, painted, teacher_painted = np.mean(values, axis=0)
        print(f"  {label}: PSNR {psnr:.1f} dB, lum {lum:.2f}, Delta E {painted:.1f} (teacher {teacher_painted:.1f})")
    print("  (v2's shared layers saw this painting in training: a painting they never saw is the fair test)")


if __name__ == "__main__":
    args = sys.argv[1:]
    main(
        float(args[0]) if args else 4.0,
        args[1] if len(args) > 1 else "woman-with-hat",
        int(args[2]) if len(args) > 2 else 150,
    )
