"""The labelled and unlabelled people data in ``../shared/data``: what each mask means, and the split.

Every labelled set has a fixed validation split decided by the file name alone, never trained on:
``portraits`` keeps LightNet v1's rule (SHA-1 of the stem, 15%), every other set takes about 10%
(SHA-1 of ``"set/stem"``). Pure numpy, OpenCV and PyAV, so anything may import it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from deepphoto.assets import shared_data
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import decode_file

if TYPE_CHECKING:
    import av

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".webm")

# What a mask's white pixels mean; the rest of the image is background only for FULL_PERSON.
FULL_PERSON = "person"  # every person is labelled; the rest is background
MAIN_PERSON = "main person"  # only the main person; other people are unlabelled (look like background)
HANDS_ONLY = "hands"  # only the hands; the rest of the person is unlabelled


@dataclass(frozen=True)
class LabelledSet:
    name: str
    folder: str  # relative to the shared data folder; holds images/ and masks/
    meaning: str  # FULL_PERSON, MAIN_PERSON or HANDS_ONLY
    val_percent: int
    salted: bool  # hash "name/stem" (True) or the bare stem (portraits, as LightNet v1 did)
    broken: frozenset[str] = frozenset()  # stems left out of every split (bad source files)

    def is_validation(self, stem: str) -> bool:
        key = f"{self.name}/{stem}" if self.salted else stem
        return int(hashlib.sha1(key.encode()).hexdigest(), 16) % 100 < self.val_percent


# hands masks mirrored left-right against their photo (the white hands where the photo shows
# background; found by scripts/hands_mirrored.py from the teacher labels, 43 of 1,087, looked at).
_HANDS_MIRRORED = frozenset(
    f"val-{n}"
    for n in (
        "1008 1031 1041 1048 1062 1066 1072 1076 1080 1090 1102 1118 1120 1132 1135 1136 1145 1146 1149 1156 "
        "1161 1169 1176 1183 1187 1193 1197 1206 1212 1213 1216 1218 1219 1226 1228 1229 1267 1269 1277 1289 "
        "1298 1302 1308 "
    ).split()
)
_HANDS_BROKEN = frozenset(f"val-{i}" for i in range(901, 1000)) | _HANDS_MIRRORED
LABELLED_SETS: dict[str, LabelledSet] = {
    s.name: s
    for s in (
        LabelledSet("portraits", "seg/portraits", FULL_PERSON, 15, salted=False),
        LabelledSet("eg-portraits", "seg/eg-portraits", FULL_PERSON, 10, salted=True),
        LabelledSet("selfies", "seg/selfies", FULL_PERSON, 10, salted=True),
        LabelledSet("fashion", "seg/fashion", MAIN_PERSON, 10, salted=True),
        # hands/images/val-901 ... val-999 are copies of their own masks (white hands on black), and
        # some masks are mirrored (_HANDS_MIRRORED): both left out.
        LabelledSet("hands", "seg/hands", HANDS_ONLY, 10, salted=True, broken=_HANDS_BROKEN),
    )
}
# The sets whose masks mark every person: a wrong pixel there is wrong by the truth.
FULL_PERSON_SETS = tuple(n for n, s in LABELLED_SETS.items() if s.meaning == FULL_PERSON)
UNLABELLED_SELFIES = "unlabelled/selfies/images"
VIDEO_FOLDER = "video"


def is_validation_file(path: Path, root: Path | None = None) -> bool:
    """Whether an image file is in a fixed validation split: by its set's rule where it lies in
    one of the shared labelled sets, else by the portraits' rule (the file stem alone)."""
    path = Path(path).resolve()
    base = (root or shared_data()).resolve()
    for s in LABELLED_SETS.values():
        if path.is_relative_to(base / s.folder):
            return s.is_validation(path.stem)
    return LABELLED_SETS["portraits"].is_validation(path.stem)


def labelled_set(name: str) -> LabelledSet:
    if name not in LABELLED_SETS:
        raise DeepPhotoError(f"unknown labelled set {name!r}: choose from {', '.join(LABELLED_SETS)}")
    return LABELLED_SETS[name]


def _folder(path: Path) -> Path:
    if not path.is_dir():
        raise DeepPhotoError(f"{path}: no such folder (set DEEPPHOTO_SHARED_DATA to the shared data folder)")
    return path


def pairs(name: str, split: str = "all", root: Path | None = None) -> list[tuple[Path, Path]]:
    """The (image, mask) paths of a labelled set, sorted by name; ``split`` is all, train or val."""
    s = labelled_set(name)
    if split not in ("all", "train", "val"):
        raise DeepPhotoError(f"unknown split {split!r}: choose from all, train, val")
    base = _folder((root or shared_data()) / s.folder)
    images, masks = _folder(base / "images"), _folder(base / "masks")
    out = []
    for img in sorted(images.iterdir()):
        if img.suffix.lower() not in IMAGE_SUFFIXES or img.stem in s.broken:
            continue
        if split != "all" and s.is_validation(img.stem) != (split == "val"):
            continue
        mask = masks / f"{img.stem}.png"
        if not mask.exists():
            raise DeepPhotoError(f"{img}: no mask {mask} for this image")
        out.append((img, mask))
    return out


def read_image(path: Path) -> np.ndarray:
    """A data set image as BGR uint8 (decoded from its bytes: any file name), in sRGB where it
    embeds another colour profile (as photos are read for painting), or a one-line error."""
    return decode_file(path, cv2.IMREAD_COLOR, srgb=True)


def read_mask(path: Path, size: tuple[int, int]) -> np.ndarray:
    """The person mask in ``path`` as booleans of ``size`` = (W, H), the image's size (see
    ``person_mask`` for the formats taken, and the sizes)."""
    return person_mask(decode_file(path, cv2.IMREAD_UNCHANGED, "mask image"), size, path)


def person_mask(mask: np.ndarray, size: tuple[int, int], name: Path | str = "mask") -> np.ndarray:
    """A mask image as booleans of ``size`` = (W, H), or a one-line error.

    Formats: grey 0/255 (person above half the largest value the type holds: 127 for 8 bits),
    grey 0/1 or any other two levels (person: the higher), colour (person: any pixel that is not
    black), an alpha channel that is not constant (the alpha is the mask). Several low levels
    (class labels 0, 1, 2, ...) are refused: which one is the person cannot be told. Sizes: a mask
    with the image's aspect ratio is resized (nearest; many portrait masks are smaller than their
    image), any other shape is refused."""
    if mask.ndim == 3 and mask.shape[2] == 4:
        alpha = mask[..., 3]
        mask = alpha if alpha.min() != alpha.max() else mask[..., :3]
    if mask.ndim == 3 and bool((mask == mask[..., :1]).all()):
        mask = mask[..., 0]  # grey stored as colour
    if mask.ndim == 3:
        person = (mask != 0).any(axis=2)  # coloured: anything not black is the person
    elif mask.dtype.kind == "f":
        person = mask > 0.5
    else:
        top, half = (int(mask.max()) if mask.size else 0), np.iinfo(mask.dtype).max / 2
        if top <= 1 or top > half:  # 0/1, or 0/255 (soft edges: person above half)
            person = mask > (half if top > 1 else 0)
        elif np.unique(mask).size == 2:  # two levels, the person's an unusual one (0/100)
            person = mask > 0
        else:
            raise DeepPhotoError(
                f"{name}: values 0 to {top} (class labels?) are not a person mask: "
                "give 0/255 or 0/1, or the person in colour on black"
            )
    mh, mw = person.shape[:2]
    w, h = size
    if (mw, mh) != (w, h):
        if abs(h * mw - mh * w) > w + mw:  # not the same aspect ratio, up to a pixel of rounding
            raise DeepPhotoError(
                f"{name}: mask is {mw}x{mh} but its image is {w}x{h} (another shape, not a smaller copy: "
                "a mask must cover its image)"
            )
        person = cv2.resize(person.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST) > 0
    return person


def read_pair(img_path: Path, mask_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """BGR uint8 image and boolean mask of the image's size."""
    img = read_image(img_path)
    return img, read_mask(mask_path, (img.shape[1], img.shape[0]))


def combine_with_truth(soft: np.ndarray, truth: np.ndarray, meaning: str) -> np.ndarray:
    """A person probability for every pixel: the real mask where it speaks, the soft label elsewhere.

    FULL_PERSON: the mask everywhere. MAIN_PERSON and HANDS_ONLY: person where the mask says so,
    the teachers' ``soft`` label (float in [0, 1]) where the mask is silent or ambiguous."""
    if meaning == FULL_PERSON:
        return truth.astype(np.float32)
    if meaning not in (MAIN_PERSON, HANDS_ONLY):
        raise DeepPhotoError(f"unknown mask meaning {meaning!r}")
    return np.where(truth, np.float32(1), soft.astype(np.float32))


def unlabelled_selfies(root: Path | None = None) -> list[Path]:
    folder = _folder((root or shared_data()) / UNLABELLED_SELFIES)
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def video_clips(root: Path | None = None) -> list[Path]:
    folder = _folder((root or shared_data()) / VIDEO_FOLDER)
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)


def clip_id(clip: Path, root: Path | None = None) -> str:
    """A file-name-safe name of a clip: its path below video/ without suffix, '/' -> '-'."""
    rel = clip.relative_to((root or shared_data()) / VIDEO_FOLDER).with_suffix("")
    return "-".join(rel.parts)


def _moving_picture(container: av.container.InputContainer) -> av.video.stream.VideoStream | None:
    """The first video stream that is not a cover picture (an attached picture: a song's art, a
    downloader's thumbnail), as ``stream.video_container.moving_picture`` finds it (a layer above this
    one, not imported here); None if there is none."""
    import av

    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def clip_frame_count(clip: Path) -> int:
    """The number of video frames the container states (an estimate from the duration when it
    states none; 0 for a file without video, or with only a cover picture: a song's art). PyAV: any
    file name."""
    import av

    try:
        with av.open(str(clip)) as container:
            stream = _moving_picture(container)
            if stream is None:
                return 0
            if stream.frames:
                return int(stream.frames)
            if stream.duration and stream.average_rate:
                return int(float(stream.duration * stream.time_base * stream.average_rate))
            if container.duration and stream.average_rate:
                return int(container.duration / 1_000_000 * float(stream.average_rate))
            return 0
    except (av.error.FFmpegError, OSError) as exc:
        raise DeepPhotoError(f"{clip}: not a readable video ({exc})") from None


def clip_frames(clip: Path, every: int = 5) -> Iterator[tuple[int, np.ndarray]]:
    """(index, BGR frame) of every ``every``-th frame of a clip, from frame 0 (PyAV: any file
    name; OpenCV's VideoCapture cannot open every one); a cover picture (a song's art, which FFmpeg
    lists as a video stream) is not a clip's video."""
    import av

    if every < 1:
        raise DeepPhotoError(f"every must be at least 1, not {every}")
    try:
        container = av.open(str(clip))
    except (av.error.FFmpegError, OSError) as exc:
        raise DeepPhotoError(f"{clip}: not a readable video ({exc})") from None
    try:
        stream = _moving_picture(container)
        if stream is None:
            cover = " (only a cover picture)" if container.streams.video else ""
            raise DeepPhotoError(f"{clip}: has no video stream{cover}")
        for index, frame in enumerate(container.decode(stream)):
            if index % every == 0:
                yield index, frame.to_ndarray(format="bgr24")
    except av.error.FFmpegError:
        return  # a damaged end: the frames before it
    finally:
        container.close()
