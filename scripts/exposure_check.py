"""Does a painted background keep the photo's exposure? (docs/benchmark/exposure.md)

Real photos (validation splits, after the eight eval-style judges on) made dim (mean L* about 22)
and bright (about 75) by a gain in linear light, painted whole by StyleNet (every shipped style) and
by the teacher (Magenta with the style's painting); the painted background (true mask, eroded) is
compared with the input's: mean and spread of L* (CIELAB), and how far the painting's mean follows
the input's from dim to bright (``track``: 1 follows fully, 0 not at all).

    .venv/bin/python scripts/exposure_check.py --out /tmp/expo --strengths 0,0.25,0.5,0.75,1
    .venv/bin/python scripts/exposure_check.py --out /tmp/expo/judge --judge --strengths 0,0.25,0.5,0.75,1
    .venv/bin/python scripts/exposure_check.py --out /tmp/expo/video --video wave,starry-night --strengths 0,0.5,1

The correction is ``stylizer.keep_exposure`` (``--variant stops``) or the first candidate
(``--variant toward``). Prints a markdown table and writes ``exposure.json`` and side-by-side PNGs
(rows dim, normal, bright; columns input, StyleNet, StyleNet corrected at the last strength, teacher;
the background painted over the true mask) to ``--out``; ``--judge`` writes ``judge.json`` (per style
and strength: PSNR and SSIM against the teacher, luminance correlation), ``--video`` ``video.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np

from deepphoto.arbitrary import ArbitraryStyle
from deepphoto.datasets import pairs, read_pair, shared_data
from deepphoto.frames import read_image
from deepphoto.measure.held_out import HELD_OUT_SETS, at_short_side, held_out_files
from deepphoto.measure.style_cases import style_cases
from deepphoto.stylizer import Stylizer, keep_exposure

TARGETS = {"dim": 22.0, "normal": None, "bright": 75.0}
SKIP = 8  # eval-style's held-out photos (the adoption set): not used here


def lab_l(bgr: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr.astype(np.float32) * (1 / 255), cv2.COLOR_BGR2LAB)[..., 0]


def with_gain(bgr: np.ndarray, gain: float) -> np.ndarray:
    """``bgr`` with its light multiplied by ``gain`` in linear light (sRGB as gamma 2.2), clipped."""
    lut = np.clip((np.arange(256) / 255) ** 2.2 * gain, 0, 1) ** (1 / 2.2) * 255
    return cv2.LUT(bgr, (lut + 0.5).astype(np.uint8))


def gain_for(bgr: np.ndarray, target: float) -> float:
    """The gain (``with_gain``) that brings the mean L* of ``bgr`` to ``target`` (bisection)."""
    lo, hi = 1e-3, 50.0
    for _ in range(40):
        mid = (lo * hi) ** 0.5
        if lab_l(with_gain(bgr, mid)).mean() < target:
            lo = mid
        else:
            hi = mid
    return (lo * hi) ** 0.5


def exposed(bgr: np.ndarray, target: float | None) -> np.ndarray:
    """``bgr`` made dim or bright: its mean L* brought to ``target`` by a gain in linear light."""
    return bgr if target is None else with_gain(bgr, gain_for(bgr, target))


def photos(data: Path, count: int, side: int) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """``count`` validation photos after eval-style's first ``SKIP``, with their background (bool)
    15 pixels clear of the person (the scores) and all of it (the pictures)."""
    masks = {img: m for name in HELD_OUT_SETS for img, m in pairs(name, "val", data)}
    out = []
    for name, path in held_out_files(data, SKIP + count)[SKIP:]:
        img, mask = read_pair(path, masks[path])
        img = at_short_side(img, side)
        mask = cv2.resize(mask.astype(np.uint8), (img.shape[1], img.shape[0]), interpolation=cv2.INTER_NEAREST)
        person = (mask > 0).astype(np.uint8)
        background = cv2.dilate(person, np.ones((31, 31), np.uint8)) == 0  # 15 pixels clear of the outline
        out.append((name, img, background, person == 0))
    return out


def stats(picture: np.ndarray, where: np.ndarray) -> tuple[float, float]:
    values = lab_l(picture)[where]
    return float(values.mean()), float(values.std())


def composite(photo: np.ndarray, painted: np.ndarray, background: np.ndarray) -> np.ndarray:
    alpha = cv2.GaussianBlur(background.astype(np.float32), (5, 5), 0)[..., None]
    return (painted * alpha + photo * (1 - alpha) + 0.5).astype(np.uint8)


def toward_input(photo: np.ndarray, painted: np.ndarray, strength: float) -> np.ndarray:
    """The first candidate, not adopted: ``strength`` of the photo's own L* mean and spread given back
    (one affine map of L*, statistics of 64-pixel copies)."""
    if strength <= 0.0:
        return painted

    def stats(bgr: np.ndarray) -> tuple[float, float]:
        h, w = bgr.shape[:2]
        s = 64 / max(h, w)
        small = cv2.resize(bgr, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        light = lab_l(small)
        return float(light.mean()), float(light.std())

    (mu_x, sd_x), (mu_p, sd_p) = stats(photo), stats(painted)
    gain = float(np.clip((max(sd_x, 0.5) / max(sd_p, 0.5)) ** strength, 0.25, 4.0))
    lab = cv2.cvtColor(painted.astype(np.float32) * (1 / 255), cv2.COLOR_BGR2LAB)
    lab[..., 0] = np.clip((lab[..., 0] - mu_p) * gain + mu_p + strength * (mu_x - mu_p), 0.0, 100.0)
    return cv2.convertScaleAbs(cv2.cvtColor(lab, cv2.COLOR_LAB2BGR), alpha=255.0)


CORRECTIONS = {"stops": keep_exposure, "toward": toward_input}
correct = keep_exposure


def judge(strengths: list[float], images: int, size: int) -> dict:
    """eval-style's closeness and structure scores on its held-out photos (its defaults: 8 photos,
    short side 256), per style and strength: PSNR and SSIM against the teacher, luminance correlation."""
    from deepphoto.measure import picture_scores as scores
    from deepphoto.measure.held_out import held_out_photos

    data = shared_data()
    shots = held_out_photos(data, images, size)
    teacher = ArbitraryStyle.open(2)
    stylizer = Stylizer("wave", threads=2, exposure=0.0)
    rows: dict = {}
    for case in [c for c in style_cases(data) if c.slot and c.painting]:
        vector = teacher.style_vector(read_image(case.painting))
        stylizer.set_style(case.name)
        got: dict = {}
        for _, photo in shots:
            taught, raw = teacher.paint(photo, vector), stylizer(photo)
            for s in strengths:
                out = correct(photo, raw, s)
                got.setdefault(f"{s:g}", []).append(
                    (scores.psnr(out, taught), scores.ssim(out, taught), scores.luminance_correlation(out, photo))
                )
        rows[case.name] = {k: np.mean(v, axis=0).round(4).tolist() for k, v in got.items()}
        print(case.name, json.dumps(rows[case.name]), flush=True)
    return rows


def clip(kind: str, dim: bool, count: int) -> list[np.ndarray]:
    """A synthetic clip at 640x360: 'walk' (a cut-out walking over an empty scene, noise 1.5) or
    'patch' (a still photo, noise 1.5, a 48x48 square changing colour every 8 frames); ``dim``: the
    same frames through one fixed gain (mean L* about 22)."""
    from deepphoto.measure import synthetic_clips as sc

    if kind == "walk":
        frames = list(sc.frames(sc.recipe("walk-slow"), (640, 360), count))
    else:
        still = list(sc.frames(sc.Recipe("patch", "portraits"), (640, 360), 1))[0]
        rng = np.random.default_rng(1)
        frames = []
        for t in range(count):
            f = still.astype(np.float32) + rng.normal(0, 1.5, still.shape)
            f[40:88, 560:608] = (37 * (t // 8)) % 256, (91 * (t // 8)) % 256, (53 * (t // 8)) % 256
            frames.append(np.clip(f + 0.5, 0, 255).astype(np.uint8))
    if dim:
        gain = gain_for(frames[0], TARGETS["dim"])
        frames = [with_gain(f, gain) for f in frames]
    return frames


def video(strengths: list[float], styles: list[str], count: int) -> dict:
    """Output flicker on still pixels (``measure.stability.output_flicker``, grey levels) of the
    whole pipeline (background painted, default smoothing) per clip, style and strength; and, on
    the 'patch' clip's first two frames (the square changed), the painting alone: mean change of
    the still pixels far from the square."""
    from deepphoto.frames import small_grey
    from deepphoto.measure.runner import OUTPUT_GREY
    from deepphoto.measure.stability import output_flicker
    from deepphoto.pipeline import Pipeline
    from deepphoto.settings import Settings

    rows: dict = {}
    clips = {(k, d): clip(k, d, count) for k in ("walk", "patch") for d in (False, True)}
    for style in styles:
        pipe = Pipeline(Settings(style=style, region="background", threads=2))
        for (kind, dim), frames in clips.items():
            for s in strengths:
                pipe.stylizer.exposure = s
                pipe.reset()
                grey_in, grey_out = [], []
                for f in frames:
                    grey_in.append(small_grey(f, OUTPUT_GREY))
                    grey_out.append(small_grey(pipe(f), OUTPUT_GREY))
                key = f"{style} {kind}{' dim' if dim else ''} @{s:g}"
                rows[key] = {"flicker": round(output_flicker(grey_out, grey_in), 4)}
                if kind == "patch":
                    a, b = (pipe.stylizer(frames[t]) for t in (7, 8))  # the square changed between these
                    far = np.ones(a.shape[:2], bool)
                    far[:140, 480:] = False
                    rows[key]["paint_change"] = round(float(cv2.absdiff(a, b)[far].mean()), 4)
                print(key, rows[key], flush=True)
        pipe.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/expo"))
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--side", type=int, default=320, help="short side of the photos")
    parser.add_argument("--strengths", default="0", help="keep_exposure strengths to compare, comma-separated")
    parser.add_argument("--sheets", type=int, default=3, help="photos with side-by-side PNGs")
    parser.add_argument("--no-teacher", action="store_true")
    parser.add_argument("--judge", action="store_true", help="eval-style's scores on its held-out photos instead")
    parser.add_argument("--video", default="", help="styles (comma-separated): flicker on synthetic clips instead")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--variant", choices=sorted(CORRECTIONS), default="stops", help="the correction measured")
    args = parser.parse_args()
    global correct
    correct = CORRECTIONS[args.variant]
    args.out.mkdir(parents=True, exist_ok=True)
    data = shared_data()
    strengths = [float(s) for s in args.strengths.split(",")]
    if args.judge:
        (args.out / "judge.json").write_text(json.dumps(judge(strengths, 8, 256), indent=1))
        return
    if args.video:
        (args.out / "video.json").write_text(json.dumps(video(strengths, args.video.split(","), args.frames), indent=1))
        return
    shots = photos(data, args.photos, args.side)
    teacher = None if args.no_teacher else ArbitraryStyle.open(2)
    stylizer = Stylizer("wave", threads=2, exposure=0.0)
    rows: dict = {}
    for case in [c for c in style_cases(data) if c.slot]:
        vector = teacher.style_vector(read_image(case.painting)) if teacher and case.painting else None
        stylizer.set_style(case.name)
        per: dict = {}
        for i, (name, photo, background, whole) in enumerate(shots):
            sheet = []
            for level, target in TARGETS.items():
                x = exposed(photo, target)
                raw = stylizer(x)
                got = {"input": stats(x, background)}
                for s in strengths:
                    got[f"stylenet@{s:g}"] = stats(correct(x, raw, s), background)
                taught = teacher.paint(x, vector) if vector is not None else None
                if taught is not None:
                    got["teacher"] = stats(taught, background)
                for key, value in got.items():
                    per.setdefault(level, {}).setdefault(key, []).append(value)
                if i < args.sheets:
                    cells = [x, composite(x, raw, whole)]
                    if strengths[-1]:
                        cells.append(composite(x, correct(x, raw, strengths[-1]), whole))
                    if taught is not None:
                        cells.append(composite(x, taught, whole))
                    sheet.append(np.hstack(cells))
            if sheet:
                cv2.imwrite(str(args.out / f"{case.name}-{name.replace('/', '-')}.png"), np.vstack(sheet))
        rows[case.name] = {
            level: {k: np.mean(v, axis=0).round(2).tolist() for k, v in got.items()} for level, got in per.items()
        }
        rows[case.name]["track"] = {
            k: round(
                float(
                    np.mean(
                        [
                            (b[0] - d[0]) / max(1e-6, bi[0] - di[0])
                            for b, d, bi, di in zip(
                                per["bright"][k], per["dim"][k], per["bright"]["input"], per["dim"]["input"]
                            )
                        ]
                    )
                ),
                3,
            )
            for k in per["dim"]
            if k != "input"
        }
        rows[case.name]["dL"] = {
            level: {
                k: round(float(np.mean([abs(v[0] - i[0]) for v, i in zip(per[level][k], per[level]["input"])])), 2)
                for k in per[level]
                if k != "input"
            }
            for level in ("dim", "bright")
        }
        print(case.name, json.dumps(rows[case.name]), flush=True)
    (args.out / "exposure.json").write_text(json.dumps({"photos": [n for n, *_ in shots], "styles": rows}, indent=1))
    keys = [k for k in next(iter(rows.values()))["dim"] if k != "input"]
    print("\n| style | level | input L* mean / sd | " + " | ".join(keys) + " |")
    print("|---|---|---|" + "---|" * len(keys))
    for style, r in rows.items():
        for level in TARGETS:
            cells = [f"{r[level][k][0]:.1f} / {r[level][k][1]:.1f}" for k in keys]
            inp = r[level]["input"]
            print(f"| {style} | {level} | {inp[0]:.1f} / {inp[1]:.1f} | " + " | ".join(cells) + " |")
        print(f"| {style} | track | 1 | " + " | ".join(f"{r['track'][k]:.2f}" for k in keys) + " |")
        for level in ("dim", "bright"):
            print(f"| {style} | abs dL {level} | 0 | " + " | ".join(f"{r['dL'][level][k]:.1f}" for k in keys) + " |")


if __name__ == "__main__":
    main()
