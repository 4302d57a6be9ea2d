"""The arbitrary-style teacher's paintings of training content, made once and cached for StyleNet v2.

Magenta's arbitrary-style network (``deepphoto.arbitrary``) paints TRAIN content (never a
validation image, never a held-out clip) in the style of each painting, at its own working size:
the content scaled to ``WORK_SIDE`` pixels on its long side. Under ``<cache>/teacher-paintings/``:

- ``content/<set>/<stem>.jpg``     the content at the working size (JPEG quality 95, 4:4:4), written
  once and shared by every style; the teacher paints this file's decoded pixels, so the pair is exact;
- ``<style>/<set>/<stem>.png``     the teacher's painting of it (8-bit PNG, lossless: the teacher's
  brush strokes lose 6 to 10 dB PSNR in JPEG);
- ``teacher.json``                 the teacher files, the working size and each style's painting (its
  SHA-256): a cache of another teacher, size or painting is refused, never mixed.

Files are written under a temporary name and renamed, so an existing painting is complete and a
stopped run resumes where it was. A user's painting (``add-style``) is cached the same way under
``user-<sha256 of the painting, 16 digits>/``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from deepphoto import datasets
from deepphoto.arbitrary import PAINT_SIDE, ArbitraryStyle
from deepphoto.assets import ARBITRARY_PREDICT, ARBITRARY_TRANSFORM, cache_dir
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import read_image
from deepphoto.models.paintings import PAINTINGS
from deepphoto.settings import counted
from deepphoto.training.style_data import HELD_OUT_CLIPS  # the style evaluation's clips: never painted

WORK_SIDE = PAINT_SIDE  # the teacher's own working size (long side): it paints there without scaling
FRAME_EVERY = 10  # every N-th frame of each training clip
BACKGROUNDS = "backgrounds"  # seg/cutouts/backgrounds, split by file stem as the portraits are
UNLABELLED = "unlabelled-selfies"
VIDEO = "video"
CONTENT_SETS = ("portraits", "eg-portraits", "selfies", "fashion", BACKGROUNDS, UNLABELLED, VIDEO)
CONTENT = "content"
JPEG = [cv2.IMWRITE_JPEG_QUALITY, 95, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]


def paintings_dir() -> Path:
    return cache_dir() / "teacher-paintings"


def style_names() -> tuple[str, ...]:
    """The paintings of ``../shared/data/styles`` by style name (StyleNet v2's styles)."""
    return tuple(s.name for s in PAINTINGS)


def parse_styles(text: str) -> tuple[str, ...]:
    """'all' or 'wave,scream' -> style names, checked against the shared paintings."""
    names = style_names()
    if text.strip() == "all":
        return names
    wanted = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    unknown = [n for n in wanted if n not in names]
    if unknown or not wanted:
        raise DeepPhotoError(
            f"unknown style {unknown[0] if unknown else text!r}: choose 'all' or of {', '.join(names)}"
        )
    return wanted


def painting_file(style: str, root: Path | None = None) -> Path:
    """The shared painting file of a style name."""
    by_name = {s.name: s.file for s in PAINTINGS}
    if style not in by_name:
        raise DeepPhotoError(f"unknown style {style!r}: choose from {', '.join(by_name)}")
    return (root or datasets.shared_data()) / "styles" / by_name[style]


def at_work_size(image: np.ndarray) -> np.ndarray:
    """The image scaled to ``WORK_SIDE`` pixels on its long side (area when shrinking)."""
    h, w = image.shape[:2]
    s = WORK_SIDE / max(h, w)
    if s == 1:
        return image
    size = (max(8, round(w * s)), max(8, round(h * s)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


# ---------------------------------------------------------------- what is painted


@dataclass(frozen=True)
class Source:
    set_name: str
    stem: str
    load: Callable[[], np.ndarray]  # the BGR image at its own size


def spread(items: list, limit: int | None) -> list:
    """At most ``limit`` of ``items``, evenly spread over the list (a limited run still sees every part)."""
    if limit is None or limit >= len(items):
        return list(items)
    if limit <= 0:
        return []
    picks = np.linspace(0, len(items) - 1, limit).round().astype(int)
    return [items[i] for i in dict.fromkeys(picks.tolist())]


def _images(set_name: str, paths: list[Path]) -> list[Source]:
    return [Source(set_name, p.stem, lambda p=p: datasets.read_image(p)) for p in paths]


def training_clips(root: Path | None = None) -> list[Path]:
    return [c for c in datasets.video_clips(root) if c.name not in HELD_OUT_CLIPS]


def _frames(limit: int | None, every: int, root: Path | None) -> list[Source]:
    """Every ``every``-th frame of each training clip (frame counts from the container, an
    estimate), spread to ``limit``; decoded when loaded, one pass per clip."""
    wanted: list[tuple[Path, int]] = []
    for clip in training_clips(root):
        count = datasets.clip_frame_count(clip)
        wanted += [(clip, i) for i in range(0, max(count, 1), every)]
    chosen = spread(wanted, limit)
    by_clip: dict[Path, set[int]] = {}
    for clip, i in chosen:
        by_clip.setdefault(clip, set()).add(i)
    frames: dict[tuple[Path, int], np.ndarray] = {}

    def loader(clip: Path, index: int) -> Callable[[], np.ndarray]:
        def load() -> np.ndarray:
            if (clip, index) not in frames:  # decode the clip once, keep only the frames still to paint
                frames.clear()
                for i, frame in datasets.clip_frames(clip, every):
                    if i in by_clip[clip]:
                        frames[(clip, i)] = frame
            if (clip, index) not in frames:
                raise DeepPhotoError(f"{clip}: frame {index} could not be decoded")
            return frames.pop((clip, index))

        return load

    return [Source(VIDEO, f"{datasets.clip_id(c, root)}-{i:05d}", loader(c, i)) for c, i in chosen]


def sources(
    set_name: str, limit: int | None = None, every: int = FRAME_EVERY, root: Path | None = None
) -> list[Source]:
    """The content of one set to paint: TRAIN images only (validation splits and held-out clips never)."""
    if set_name in datasets.LABELLED_SETS and set_name != "hands":
        return _images(set_name, spread([img for img, _ in datasets.pairs(set_name, "train", root)], limit))
    if set_name == BACKGROUNDS:
        base = (root or datasets.shared_data()).resolve()
        folder = base / "seg" / "cutouts" / "backgrounds"
        if not folder.is_dir():
            raise DeepPhotoError(f"{folder}: no such folder (set DEEPPHOTO_SHARED_DATA to the shared data folder)")
        paths = sorted(
            p
            for p in folder.iterdir()
            if p.suffix.lower() in datasets.IMAGE_SUFFIXES and not datasets.is_validation_file(p, base)
        )
        return _images(set_name, spread(paths, limit))
    if set_name == UNLABELLED:
        return _images(set_name, spread(datasets.unlabelled_selfies(root), limit))
    if set_name == VIDEO:
        return _frames(limit, every, root)
    raise DeepPhotoError(f"unknown content set {set_name!r}: choose from {', '.join(CONTENT_SETS)}")


# ---------------------------------------------------------------- the cache


class PaintingCache:
    """The cached content and paintings under ``root`` (default ``<cache>/teacher-paintings``)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root) if root else paintings_dir()

    def content_path(self, set_name: str, stem: str) -> Path:
        return self.root / CONTENT / set_name / f"{stem}.jpg"

    def painting_path(self, style: str, set_name: str, stem: str) -> Path:
        return self.root / style / set_name / f"{stem}.png"

    def content(self, source: Source) -> np.ndarray:
        """The source at the working size, as stored (written on first use, decoded from the file:
        exactly the pixels the teacher paints and training reads)."""
        path = self.content_path(source.set_name, source.stem)
        if not path.exists():
            write_image(path, at_work_size(source.load()), JPEG)
        return read_image(path)

    def check(self, styles: dict[str, str]) -> None:
        """Record the teacher, the working size and each style's painting (``styles``: name ->
        SHA-256 of its painting) in ``teacher.json``; refuse a cache made otherwise."""
        path = self.root / "teacher.json"
        teacher = {"predict": ARBITRARY_PREDICT.sha256, "transform": ARBITRARY_TRANSFORM.sha256, "side": WORK_SIDE}
        have = json.loads(path.read_text()) if path.exists() else {"teacher": teacher, "styles": {}}
        if have.get("teacher") != teacher:
            raise DeepPhotoError(f"{self.root} holds paintings of another teacher or size: remove it to repaint")
        for name, digest in styles.items():
            known = have["styles"].get(name)
            if known is not None and known != digest:
                raise DeepPhotoError(
                    f"{self.root / name}: painted from another {name} painting (SHA-256 {known[:12]}...): "
                    "remove that folder to repaint"
                )
            have["styles"][name] = digest
        self.root.mkdir(parents=True, exist_ok=True)
        write_text(path, json.dumps(have, indent=1, sort_keys=True) + "\n")

    def paint(self, source: Source, vectors: dict[str, np.ndarray], teacher: ArbitraryStyle) -> int:
        """Paint ``source`` in every style of ``vectors`` not cached yet; returns how many were painted."""
        todo = [s for s in vectors if not self.painting_path(s, source.set_name, source.stem).exists()]
        if not todo:
            return 0
        content = self.content(source)
        for style in todo:
            write_image(self.painting_path(style, source.set_name, source.stem), teacher.paint(content, vectors[style]))
        return len(todo)

    def pairs(self, style: str) -> list[tuple[Path, Path]]:
        """(content, painting) files of every cached painting of ``style``, sorted."""
        folder = self.root / style
        out = []
        for painting in sorted(folder.glob("*/*.png")):
            content = self.content_path(painting.parent.name, painting.stem)
            if content.exists():
                out.append((content, painting))
        return out


def write_image(path: Path, image: np.ndarray, params: list[int] | None = None) -> None:
    ok, buf = cv2.imencode(path.suffix, image, params or [])
    if not ok:
        raise DeepPhotoError(f"{path}: could not encode the image")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(buf.tobytes())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def sha256_file(path: Path) -> str:
    from deepphoto.assets import sha256_of

    if not Path(path).is_file():
        raise DeepPhotoError(f"{path}: no such painting file")
    return sha256_of(Path(path))


def style_vectors(teacher: ArbitraryStyle, files: dict[str, Path]) -> dict[str, np.ndarray]:
    """name -> the teacher's style vector of that painting file."""
    return {name: teacher.style_vector(read_image(path)) for name, path in files.items()}


def paint_sets(
    styles: Sequence[str],
    sets: Sequence[str] = CONTENT_SETS,
    limit: int | None = None,
    threads: int = 1,
    every: int = FRAME_EVERY,
    root: Path | None = None,
    data: Path | None = None,
) -> dict[str, int]:
    """Paint every set in ``sets`` in every style of ``styles`` where not cached yet, with a
    progress bar on stderr; returns how many paintings of each set were made now. ``limit``: at
    most that many images per set (spread over the set)."""
    from tqdm import tqdm

    unknown = [s for s in sets if s not in CONTENT_SETS]
    if unknown:
        raise DeepPhotoError(f"unknown content set {unknown[0]!r}: choose from {', '.join(CONTENT_SETS)}")
    if threads < 1 or every < 1 or (limit is not None and limit < 0):
        raise DeepPhotoError("threads and every must be at least 1, the limit at least 0")
    files = {name: painting_file(name, data) for name in styles}
    cache = PaintingCache(root)
    cache.check({name: sha256_file(path) for name, path in files.items()})
    cv2.setNumThreads(threads)
    teacher = ArbitraryStyle.open(threads)
    vectors = style_vectors(teacher, files)
    print(f"teacher paintings: {cache.root} ({counted(len(styles), 'style')})", file=sys.stderr)
    made: dict[str, int] = {}
    for name in sets:
        todo = sources(name, limit, every, data)
        made[name] = 0
        t0 = time.perf_counter()
        for source in tqdm(todo, desc=name, unit="img", mininterval=5, file=sys.stderr):
            made[name] += cache.paint(source, vectors, teacher)
        spent = time.perf_counter() - t0
        per = f", {1000 * spent / made[name]:.0f} ms per painting" if made[name] else ""
        print(
            f"{name}: {counted(len(todo), 'image')}, {counted(made[name], 'painting')} made now, "
            f"the rest cached ({spent:.0f} s{per})",
            file=sys.stderr,
        )
    return made


# ---------------------------------------------------------------- add-style's small content set

SMALL_SETS = ("portraits", "eg-portraits", "selfies", "fashion", BACKGROUNDS, VIDEO)


def own_content(path: Path, count: int) -> list[Source]:
    """Up to ``count`` images of a folder (spread over it), or frames spread over a video file.
    Their cache names hold each file's size and time of change: a file changed since is read anew."""
    import hashlib

    def tag(*parts: object) -> str:
        return hashlib.sha1("\0".join(map(str, parts)).encode()).hexdigest()[:10]

    path = Path(path)
    if path.is_dir():
        set_name = "own-" + tag(path.resolve())
        # hidden files (a Mac's ._x.jpg beside x.jpg, an editor's) are not content, as batch skips them
        files = spread(
            sorted(
                p
                for p in path.iterdir()
                if p.suffix.lower() in datasets.IMAGE_SUFFIXES and not p.name.startswith(".") and p.is_file()
            ),
            count,
        )
        if not files:
            raise DeepPhotoError(f"{path}: no images in this folder ({', '.join(datasets.IMAGE_SUFFIXES)})")
        stems = [f"{i:04d}-{p.stem}-{tag(p.stat().st_size, p.stat().st_mtime_ns)}" for i, p in enumerate(files)]
        return [Source(set_name, stem, lambda p=p: read_image(p)) for stem, p in zip(stems, files)]
    set_name = "own-" + tag(path.resolve(), *((path.stat().st_size, path.stat().st_mtime_ns) if path.exists() else ()))
    if path.is_file() and path.suffix.lower() in datasets.VIDEO_SUFFIXES:
        every = max(1, datasets.clip_frame_count(path) // max(count, 1))
        frames = [(i, f) for (i, f), _ in zip(datasets.clip_frames(path, every), range(count))]
        if not frames:
            raise DeepPhotoError(f"{path}: no frames could be decoded")
        return [Source(set_name, f"{i:05d}", lambda f=f: f) for i, f in frames]
    if path.is_file():
        return [Source(set_name, path.stem, lambda: read_image(path))]
    if path.exists():
        raise DeepPhotoError(f"{path}: is not a regular file (a pipe or a device); give a folder of photos or a video")
    raise DeepPhotoError(f"{path}: no such file or folder")


def small_content(count: int, own: Path | None = None, data: Path | None = None) -> list[Source]:
    """``add-style``'s content: ``own`` (a folder of photos or a video) when given; else TRAIN
    images spread over the shared data's sets when it is present; else frames of the demo footage."""
    if own is not None:
        return own_content(own, count)
    base = data or datasets.shared_data()
    if (base / "seg" / "portraits" / "images").is_dir():
        share = -(-count // len(SMALL_SETS))
        found: list[Source] = []
        for name in SMALL_SETS:
            try:
                found += sources(name, share, FRAME_EVERY, base)
            except DeepPhotoError:  # a set missing from a partial copy of the data
                continue
        if found:
            return spread(found, count)
    from deepphoto.assets import demo_clip

    return own_content(demo_clip(download=False), count)
