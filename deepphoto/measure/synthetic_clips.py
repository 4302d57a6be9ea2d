"""Test clips made from the labelled photos, for measuring steadiness where the answer is known.

Each clip is one of the shared data set's photos (validation splits only, never trained on) or a
person cut-out over an empty scene, filmed by a simulated camera: sub-pixel camera shake, a slow
zoom, brightness flicker, sensor noise, or a person walking across. The same name and seed give
the same frames (up to the H.264 encoder, which is deterministic for a given libx264). Clips derive
from the shared data, so they are written to a cache folder, never to the repository.

``deepphoto make-clips`` writes them; ``deepphoto bench --clips FOLDER`` measures them.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from deepphoto.datasets import pairs, read_image, shared_data
from deepphoto.errors import DeepPhotoError
from deepphoto.stream.video_file import VideoFileSink

FPS = Fraction(30000, 1001)


@dataclass(frozen=True)
class Recipe:
    """One simulated camera on one scene. Amounts are per frame unless said otherwise."""

    name: str
    scene: str  # a labelled set (a photo from its validation split) or "cutout" (a person walking)
    shake_px: float = 0.0  # camera shake: random offset, standard deviation in output pixels
    shake_deg: float = 0.0  # camera shake: random roll, standard deviation in degrees
    zoom: float = 0.0  # total zoom over the clip (0.3: ends 30% closer), there and back if < 0
    flicker: float = 0.0  # brightness gain varies by this fraction (random, frame to frame)
    noise: float = 0.0  # sensor noise, standard deviation in grey levels (0-255)
    walk_px: float = 0.0  # cut-out: pixels per frame the person walks
    pause: float = 0.0  # cut-out: share of the clip the person stands still mid-frame

    def describe(self) -> str:
        parts = [f"{self.scene} photo" if self.scene != "cutout" else "person cut-out over an empty scene"]
        if self.walk_px:
            parts.append(f"walking {self.walk_px:g} px/frame" + (f", standing {self.pause:.0%}" if self.pause else ""))
        if self.shake_px or self.shake_deg:
            parts.append(f"shake {self.shake_px:g} px / {self.shake_deg:g} deg")
        if self.zoom:
            parts.append(f"zoom {abs(self.zoom):.0%}" + (" in and out" if self.zoom < 0 else ""))
        if self.flicker:
            parts.append(f"brightness flicker {self.flicker:.0%}")
        if self.noise:
            parts.append(f"noise {self.noise:g} levels")
        return ", ".join(parts)


RECIPES: tuple[Recipe, ...] = (
    Recipe("shake-portrait", "eg-portraits", shake_px=0.4, shake_deg=0.05),
    Recipe("shake-selfie", "selfies", shake_px=1.0, shake_deg=0.15),
    Recipe("noise-portrait", "eg-portraits", noise=2.5),
    Recipe("noise-fashion", "fashion", noise=5.0),
    Recipe("flicker-selfie", "selfies", flicker=0.04),
    Recipe("flicker-portrait", "portraits", flicker=0.02, noise=1.5),
    Recipe("zoom-portrait", "eg-portraits", zoom=0.3),
    Recipe("zoom-fashion", "fashion", zoom=-0.2, noise=1.5),
    Recipe("walk-slow", "cutout", walk_px=3.0, noise=1.5),
    Recipe("walk-fast", "cutout", walk_px=12.0, noise=1.5),
    Recipe("walk-stop", "cutout", walk_px=8.0, pause=0.5, noise=2.0, shake_px=0.3),
    Recipe("shake-noise-flicker", "portraits", shake_px=0.6, shake_deg=0.1, noise=3.0, flicker=0.03),
)


def recipe(name: str) -> Recipe:
    for r in RECIPES:
        if r.name == name:
            return r
    raise DeepPhotoError(f"unknown clip {name!r}: choose from {', '.join(r.name for r in RECIPES)}")


def _rng(seed: int, name: str) -> np.random.Generator:
    """A generator that depends on the seed and the clip's name only (stable across runs and lists)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _photo(scene: str, rng: np.random.Generator, root: Path) -> np.ndarray:
    """A photo of ``scene``'s validation split, chosen by ``rng``."""
    images = [img for img, _ in pairs(scene, "val", root)]
    if not images:
        raise DeepPhotoError(f"{root}: no validation photos in the {scene} set")
    return read_image(images[int(rng.integers(len(images)))])


def _cutout_scene(rng: np.random.Generator, root: Path) -> tuple[np.ndarray, np.ndarray]:
    """An empty scene (BGR) and a person cut-out (BGRA)."""
    folder = root / "seg" / "cutouts"
    people = sorted((folder / "people").glob("*.png"))
    scenes = sorted((folder / "backgrounds").glob("*.jpg"))
    if not people or not scenes:
        raise DeepPhotoError(f"{folder}: no people/*.png or backgrounds/*.jpg cut-outs")
    person = cv2.imread(str(people[int(rng.integers(len(people)))]), cv2.IMREAD_UNCHANGED)
    if person is None or person.ndim != 3 or person.shape[2] != 4:
        raise DeepPhotoError(f"{folder / 'people'}: a cut-out without an alpha channel")
    return read_image(scenes[int(rng.integers(len(scenes)))]), person


def _cover(src_wh: tuple[int, int], size: tuple[int, int], margin: float) -> np.ndarray:
    """The 2x3 affine that scales a picture of ``src_wh`` to cover ``size`` with ``margin`` to spare
    on each side (room for shake and zoom): centred across, and from nearer the top than the bottom
    (a tall photo is cut like a webcam frames a person: head and shoulders, not the knees)."""
    (sw, sh), (w, h) = src_wh, size
    s = max(w / sw, h / sh) * (1 + 2 * margin)
    return np.array([[s, 0, (w - s * sw) / 2], [0, s, (h - s * sh) * 0.3], [0, 0, 1]][:2], np.float64)


def _camera(base: np.ndarray, size: tuple[int, int], zoom: float, dx: float, dy: float, deg: float) -> np.ndarray:
    """``base`` followed by a zoom, a roll and an offset about the frame centre."""
    w, h = size
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, zoom)
    m[:, 2] += (dx, dy)
    return m @ np.vstack([base, [0, 0, 1]])


def frames(
    r: Recipe, size: tuple[int, int], count: int, seed: int = 0, root: Path | None = None
) -> Iterator[np.ndarray]:
    """The clip's frames (BGR uint8, ``size`` = (width, height))."""
    root = root or shared_data()
    rng = _rng(seed, r.name)
    w, h = size
    if r.scene == "cutout":
        scene, person = _cutout_scene(rng, root)
        height = 0.8 * h
        scale = height / person.shape[0]
        person = cv2.resize(
            person, (max(1, round(person.shape[1] * scale)), round(height)), interpolation=cv2.INTER_CUBIC
        )
        picture = scene
    else:
        picture, person = _photo(r.scene, rng, root), None
    base = _cover((picture.shape[1], picture.shape[0]), size, margin=0.03 if r.shake_px or r.shake_deg else 0.0)
    # Per-frame random numbers are drawn for every clip in the same order, so a recipe's amounts
    # change how far the camera moves, not which way.
    shake = rng.normal(size=(count, 3))
    gain = rng.normal(size=count)
    for t in range(count):
        u = t / max(1, count - 1)
        zoom = 1 + (r.zoom * u if r.zoom >= 0 else -r.zoom * (1 - abs(2 * u - 1)))
        dx, dy = shake[t, :2] * r.shake_px
        m = _camera(base, size, zoom, dx, dy, shake[t, 2] * r.shake_deg)
        frame = cv2.warpAffine(picture, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)
        if person is not None:
            frame = _paste(frame, person, _walk_x(r, t, count, w, person.shape[1]), h - person.shape[0])
        image = frame.astype(np.float32) * (1 + r.flicker * gain[t])
        if r.noise:
            image += rng.normal(0, r.noise, image.shape).astype(np.float32)
        yield np.clip(image + 0.5, 0, 255).astype(np.uint8)


def _walk_x(r: Recipe, t: int, count: int, width: int, person_w: int) -> float:
    """Left edge of the walking person at frame t: in from the left, a pause mid-frame, out to the right."""
    start, stop = -0.6 * person_w, width - 0.4 * person_w
    middle = (width - person_w) / 2
    still = round(r.pause * count)
    moving = count - still
    first = moving // 2
    if t < first:
        return max(start, middle - r.walk_px * (first - t))
    if t < first + still:
        return middle
    return min(stop, middle + r.walk_px * (t - first - still + 1))


def _paste(frame: np.ndarray, person: np.ndarray, x: float, y: int) -> np.ndarray:
    """Alpha-composite the BGRA cut-out at sub-pixel ``x`` (moved by resampling, not rounding)."""
    h, w = frame.shape[:2]
    m = np.array([[1, 0, x], [0, 1, y]], np.float64)
    layer = cv2.warpAffine(person, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha = layer[..., 3:4].astype(np.float32) * (1 / 255)
    out = frame.astype(np.float32) * (1 - alpha) + layer[..., :3].astype(np.float32) * alpha
    return out.astype(np.uint8)


def write_clip(
    r: Recipe, out: Path, size: tuple[int, int] = (640, 480), count: int = 90, seed: int = 0, root: Path | None = None
) -> Path:
    """One clip as H.264 in ``out`` / NAME.mp4 (written under a temporary name, then renamed); a clip
    cut short (Ctrl-C, a full disk) is not kept: a shortened clip would be measured as a whole one."""
    path = out / f"{r.name}.mp4"
    sink = VideoFileSink(path, FPS, overwrite=True)
    try:
        for image in frames(r, size, count, seed, root):
            sink.write(image)
    except BaseException:
        sink.abort()
        raise
    sink.close()
    return path


def write_clips(
    out: Path,
    names: list[str] | None = None,
    size: tuple[int, int] = (640, 480),
    count: int = 90,
    seed: int = 0,
    root: Path | None = None,
    progress: bool = True,
) -> list[Path]:
    """The chosen clips (default: all) into ``out``; returns their paths."""
    if count < 2:
        raise DeepPhotoError(f"--frames {count}: a clip needs at least 2 frames")
    chosen = [recipe(n) for n in names] if names else list(RECIPES)
    out.mkdir(parents=True, exist_ok=True)
    return [write_clip(r, out, size, count, seed, root) for r in tqdm(chosen, desc="clips", disable=not progress)]


def default_folder() -> Path:
    """Where ``make-clips`` writes by default: the DeepPhoto cache, outside the repository."""
    from deepphoto.assets import cache_dir

    return cache_dir() / "clips" / "synthetic"
