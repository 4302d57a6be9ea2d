"""Training data for LightNet: real portraits plus synthetic webcam-like composites.

Everything is read once into memory (a few hundred small images) and augmented with OpenCV, so a
2-core machine spends its time on the network, not on decoding.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from deepphoto import datasets
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import decode_file
from deepphoto.settings import IMAGE_SUFFIXES

VAL_PERCENT = 15
MAX_SIDE = 640  # images are stored at most this large; training crops are smaller


def is_validation(stem: str) -> bool:
    """The fixed validation split: decided by the file name alone, about 15% of files."""
    return int(hashlib.sha1(stem.encode()).hexdigest(), 16) % 100 < VAL_PERCENT


def _shrink(img: np.ndarray, max_side: int = MAX_SIDE, interp: int = cv2.INTER_AREA) -> np.ndarray:
    scale = max_side / max(img.shape[:2])
    if scale >= 1:
        return img
    size = (max(1, round(img.shape[1] * scale)), max(1, round(img.shape[0] * scale)))
    return cv2.resize(img, size, interpolation=interp)


def list_pairs(data_dir: Path) -> list[tuple[Path, Path]]:
    """``images/X.*`` with ``masks/X.png``; a clear error for a missing folder or mask."""
    images, masks = data_dir / "images", data_dir / "masks"
    for d in (data_dir, images, masks):
        if not d.is_dir():
            raise DeepPhotoError(f"{d}: no such folder (DATA_DIR needs images/ and masks/)")
    pairs = []
    for img in sorted(images.iterdir()):
        if img.suffix.lower() not in IMAGE_SUFFIXES:
            continue
        mask = masks / f"{img.stem}.png"
        if not mask.exists():
            raise DeepPhotoError(f"{img.name}: no mask {mask} for this image")
        pairs.append((img, mask))
    if not pairs:
        raise DeepPhotoError(f"{images}: no images found")
    return pairs


def read_pair(img_path: Path, mask_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """BGR uint8 image and boolean person mask of the image's size: a smaller mask of the same
    aspect is resized (nearest), another shape or an unclear mask format is a one-line error
    (``deepphoto.datasets.person_mask``)."""
    return datasets.read_pair(img_path, mask_path)


def split_pairs(pairs: list[tuple[Path, Path]], split: str) -> list[tuple[Path, Path]]:
    if split == "all":
        return pairs
    if split not in ("train", "val"):
        raise DeepPhotoError(f"unknown split {split!r}: choose from all, train, val")
    want_val = split == "val"
    return [p for p in pairs if is_validation(p[0].stem) == want_val]


@dataclass
class Cutout:
    bgr: np.ndarray
    alpha: np.ndarray  # float32 in [0, 1]
    cut: tuple[bool, bool, bool, bool] = (False, False, False, False)  # cut off at top, bottom, left, right

    def scaled(self, height: int, interp: int = cv2.INTER_LINEAR) -> tuple[np.ndarray, np.ndarray]:
        """(float32 BGR, alpha) resized to ``height`` pixels (at least 8), aspect kept."""
        ph = max(8, height)
        pw = max(4, int(self.bgr.shape[1] * ph / self.bgr.shape[0]))
        bgr = cv2.resize(self.bgr, (pw, ph), interpolation=interp).astype(np.float32)
        return bgr, cv2.resize(self.alpha, (pw, ph), interpolation=cv2.INTER_LINEAR)


class SegTrainingData:
    """Draws augmented (rgb float32 HxWx3 in [0,1], mask uint8 HxW) training samples."""

    def __init__(
        self,
        shared_data: Path,
        composite_share: float = 0.5,
        seed: int = 0,
        distractor_share: float = 0.0,
        skip: Sequence[str] = (),
        paste_share: float = 0.0,
    ) -> None:
        seg = shared_data / "seg"
        train = split_pairs(list_pairs(seg / "portraits"), "train")
        stems, skipped = {p[0].stem for p in train}, set(skip)
        unknown = [s for s in skip if s not in stems]
        if unknown:
            raise DeepPhotoError(f"--skip-portraits: {', '.join(unknown)} not among the training portraits")
        train = [p for p in train if p[0].stem not in skipped]
        self.portraits = []
        for img_p, mask_p in train:
            img, mask = read_pair(img_p, mask_p)
            self.portraits.append((_shrink(img), _shrink(mask.astype(np.uint8), interp=cv2.INTER_NEAREST)))
        self.people: list[Cutout] = []
        for p in sorted((seg / "cutouts" / "people").glob("*.png")):
            rgba = decode_file(p, cv2.IMREAD_UNCHANGED)
            if rgba.ndim == 3 and rgba.shape[2] == 4:
                self.people.append(Cutout(rgba[..., :3].copy(), rgba[..., 3].astype(np.float32) / 255))
        backgrounds = sorted((seg / "cutouts" / "backgrounds").glob("*.jpg"))
        self.backgrounds = [decode_file(p, cv2.IMREAD_COLOR) for p in backgrounds]
        self.backgrounds = [b for b in self.backgrounds if b is not None]
        if not self.portraits or not self.people or not self.backgrounds:
            raise DeepPhotoError(f"{seg}: needs portraits/, cutouts/people/ and cutouts/backgrounds/")
        # Donors for copy-paste: each training portrait's people, cropped to their bounding box.
        self.donors = [d for d in (person_crop(img, mask) for img, mask in self.portraits) if d is not None]
        self.composite_share = composite_share
        self.distractor_share = distractor_share
        self.paste_share = paste_share
        self.rng = np.random.default_rng(seed)

    def sample(self, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """One sample of ``size`` = (height, width)."""
        if self.rng.random() < self.composite_share:
            img, mask = self.composite(size)
        else:
            img, mask = self.portrait(size)
        if self.rng.random() < self.paste_share:
            img, mask = self.paste_people(img, mask)
        if self.rng.random() < self.distractor_share:
            img, mask = self.distract(img, mask)
        img = photometric(img, self.rng)
        if self.rng.random() < 0.5:
            img, mask = img[:, ::-1], mask[:, ::-1]
        rgb = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGR2RGB).astype(np.float32) / 255
        return rgb, np.ascontiguousarray(mask).astype(np.uint8)

    def portrait(self, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        img, mask = self.portraits[self.rng.integers(len(self.portraits))]
        return random_crop(img, mask, size, self.rng)

    def composite(self, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """1-3 cut-out people over a scene, framed as a webcam frames people (often upper body)."""
        h, w = size
        rng = self.rng
        bg = self.backgrounds[rng.integers(len(self.backgrounds))]
        canvas, _ = random_crop(bg, np.zeros(bg.shape[:2], np.uint8), size, rng, min_area=0.3)
        canvas = canvas.astype(np.float32)
        alpha_all = np.zeros((h, w), np.float32)
        for _ in range(int(rng.choice([1, 1, 1, 2, 2, 3]))):
            person = self.people[rng.integers(len(self.people))]
            # Person height relative to the frame: <1 full body visible, >1 cropped to upper body.
            rel = float(rng.choice([rng.uniform(0.5, 1.0), rng.uniform(1.0, 2.6)], p=[0.35, 0.65]))
            bgr, a = person.scaled(int(rel * h))
            ph, pw = a.shape
            x0 = int(rng.integers(-pw // 3, max(1, w - 2 * pw // 3)))
            # Head near the top: full bodies stand on the floor, upper bodies run off the bottom.
            y0 = int(rng.integers(h - ph, h - ph + max(1, h // 8))) if rel < 1 else int(rng.integers(0, max(1, h // 5)))
            _paste(canvas, alpha_all, bgr, a, x0, y0)
        return np.clip(canvas, 0, 255).astype(np.uint8), (alpha_all > 0.5).astype(np.uint8)

    def paste_people(self, img: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Copy-paste (Ghiasi et al. 2021): the people of another training portrait, masked out of
        their photo and pasted in at a random size and place — real people in new real scenes,
        beside and in front of whatever the scene holds. The label is the union."""
        h, w = mask.shape
        rng = self.rng
        canvas, alpha_all = img.astype(np.float32), mask.astype(np.float32)
        for _ in range(int(rng.choice([1, 1, 2]))):
            donor = self.donors[rng.integers(len(self.donors))]
            top, bottom, left, right = donor.cut
            # Full height when the photo cut the people at top and bottom, else a random size.
            bgr, a = donor.scaled(
                int(rng.uniform(1.0, 1.3) * h if top and bottom else rng.uniform(0.25, 1.1) * h), cv2.INTER_AREA
            )
            ph, pw = a.shape
            if rng.random() < 0.5:
                bgr, a, left, right = bgr[:, ::-1], a[:, ::-1], right, left
            # Where the photo cut the people off, the new frame cuts them off too: no floating torsos.
            x0 = int(rng.integers(-pw // 3, max(1, w - 2 * pw // 3)))
            if left != right:
                x0 = -int(rng.integers(0, pw // 4 + 1)) if left else w - pw + int(rng.integers(0, pw // 4 + 1))
            if top and bottom:
                y0 = -int(rng.integers(0, ph - h + 1))
            elif bottom:
                y0 = h - ph + int(rng.integers(0, ph // 4 + 1))
            elif top:
                y0 = -int(rng.integers(0, ph // 4 + 1))
            else:
                y0 = int(rng.integers(min(0, h - ph), max(1, h - ph // 2)))
            _paste(canvas, alpha_all, bgr, a, x0, y0)
        return np.clip(canvas, 0, 255).astype(np.uint8), (alpha_all > 0.5).astype(np.uint8)

    def distract(self, img: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A hard negative: a person-shaped patch of scenery (a cut-out's alpha filled with a
        background crop) pasted in, labelled background — a person's outline is not a person."""
        h, w = mask.shape
        rng = self.rng
        person = self.people[rng.integers(len(self.people))]
        ph = max(8, int(rng.uniform(0.3, 1.0) * h))
        pw = max(4, int(person.alpha.shape[1] * ph / person.alpha.shape[0]))
        a = cv2.resize(person.alpha, (pw, ph), interpolation=cv2.INTER_LINEAR)
        bg = self.backgrounds[rng.integers(len(self.backgrounds))]
        fill, _ = random_crop(bg, np.zeros(bg.shape[:2], np.uint8), (ph, pw), rng, min_area=0.05)
        fill = fill.astype(np.float32)
        for _ in range(5):  # beside people, not over them: an occluder would teach holes in people
            x0, y0 = int(rng.integers(-pw // 3, w - pw // 3)), int(rng.integers(0, h)) - ph // 3
            place = _placement((h, w), a.shape, x0, y0)
            if place is None:
                continue
            dst, src = place
            patch = a[src] > 0.5
            if patch.sum() > 0.01 * h * w and (patch & (mask[dst] > 0)).sum() <= 0.1 * patch.sum():
                canvas, covered = img.astype(np.float32), np.zeros((h, w), np.float32)
                _paste(canvas, covered, fill, a, x0, y0)
                return np.clip(canvas, 0, 255).astype(np.uint8), np.where(covered > 0.5, 0, mask).astype(np.uint8)
        return img, mask


def person_crop(img: np.ndarray, mask: np.ndarray, min_share: float = 0.02) -> Cutout | None:
    """The people of a labelled photo as a cut-out: their bounding box, the mask as alpha with a
    one-pixel soft edge. None when the photo's people cover less than ``min_share`` of it."""
    if mask.mean() < min_share:
        return None
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    alpha = cv2.GaussianBlur(mask[y0:y1, x0:x1].astype(np.float32), (3, 3), 0)
    H, W = mask.shape
    ty, tx = max(2, H // 50), max(2, W // 50)  # machine-made masks often stop a few pixels short
    cut = (bool(y0 <= ty), bool(y1 >= H - ty), bool(x0 <= tx), bool(x1 >= W - tx))
    return Cutout(img[y0:y1, x0:x1].copy(), alpha, cut)


def _placement(
    frame_hw: tuple[int, int], patch_hw: tuple[int, ...], x0: int, y0: int
) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
    """Where a patch with its top-left corner at (x0, y0) lands: (frame slices, patch slices), or
    None when it misses the frame."""
    ys, xs = max(0, y0), max(0, x0)
    ye, xe = min(frame_hw[0], y0 + patch_hw[0]), min(frame_hw[1], x0 + patch_hw[1])
    if ye <= ys or xe <= xs:
        return None
    return (slice(ys, ye), slice(xs, xe)), (slice(ys - y0, ye - y0), slice(xs - x0, xe - x0))


def _paste(canvas: np.ndarray, alpha_all: np.ndarray, bgr: np.ndarray, a: np.ndarray, x0: int, y0: int) -> None:
    place = _placement(alpha_all.shape, a.shape, x0, y0)
    if place is None:
        return
    dst, src = place
    sa, sb = a[src], bgr[src]
    canvas[dst] = canvas[dst] * (1 - sa[..., None]) + sb * sa[..., None]
    alpha_all[dst] = np.maximum(alpha_all[dst], sa)


def random_crop(
    img: np.ndarray, mask: np.ndarray, size: tuple[int, int], rng: np.random.Generator, min_area: float = 0.45
) -> tuple[np.ndarray, np.ndarray]:
    """A random crop of random aspect (squashed to ``size``, as inference squashes frames)."""
    H, W = img.shape[:2]
    area = rng.uniform(min_area, 1.0) * H * W
    aspect = np.exp(rng.uniform(np.log(0.6), np.log(1.9)))  # w/h of the crop
    ch = int(min(H, np.sqrt(area / aspect)))
    cw = int(min(W, ch * aspect))
    y = int(rng.integers(0, H - ch + 1))
    x = int(rng.integers(0, W - cw + 1))
    h, w = size
    img = cv2.resize(img[y : y + ch, x : x + cw], (w, h), interpolation=cv2.INTER_AREA if cw > w else cv2.INTER_LINEAR)
    mask = cv2.resize(mask[y : y + ch, x : x + cw], (w, h), interpolation=cv2.INTER_NEAREST)
    return img, mask


def photometric(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colour, brightness, blur, sensor noise and JPEG compression, as cheap webcams produce."""
    out = img.astype(np.float32)
    if rng.random() < 0.8:
        hsv = cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_BGR2HSV).astype(np.float32)
        hsv[..., 0] = (hsv[..., 0] + rng.uniform(-8, 8)) % 180
        hsv[..., 1] *= rng.uniform(0.6, 1.4)
        out = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2BGR).astype(np.float32)
    out = out * rng.uniform(0.6, 1.35) + rng.uniform(-25, 25)  # gain and offset
    if rng.random() < 0.25:
        k = int(rng.choice([3, 5]))
        out = cv2.GaussianBlur(out, (k, k), 0)
    if rng.random() < 0.35:
        out = out + rng.normal(0, rng.uniform(2, 10), out.shape)
    out = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.35:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 85))])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out
