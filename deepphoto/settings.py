"""What a pipeline does, as one validated value: the look, the region, the mask controls, the engines.

Pure Python (no numpy, no networks), so a command's ``--help`` and a web form can use it cheaply.
Every number is checked here once (finite, in range, named in the message); ``Pipeline`` in
``deepphoto.pipeline`` turns a ``Settings`` into running networks.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, fields, replace
from pathlib import Path

from deepphoto.errors import DeepPhotoError, option

REGIONS = ("whole", "background", "person")
EFFECT_NAMES = ("blur", "cartoon", "detail", "grey", "pencil", "replace", "watercolor")
BACKENDS = ("auto", "onnx", "torch", "tensorrt")  # what --backend names
PRECISIONS = ("auto", "fp32", "fp16", "int8")  # what --precision names
# The segmenter registry: name -> "module:class" (a PersonSegmenter, see deepphoto.segmenters.base).
# Adding a network is one module under deepphoto/segmenters and one line here.
SEGMENTERS = {
    "lightnet": "deepphoto.segmenters.lightnet:LightNetSegmenter",
    "mediapipe": "deepphoto.segmenters.mediapipe:MediaPipeSegmenter",
}
LIGHTNET_INPUT = (352, 352)  # (width, height); chosen by measurement, see the LightNet model card
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
PHOTO_INPUT_SUFFIXES = (*IMAGE_SUFFIXES, ".avif")  # photos read (AVIF too: read, never written)
# What a folder of videos may hold: the usual containers, camcorders' (.mts, .m2ts, .mod, .tod, .dv),
# old phones' (.3gp), broadcast and disc (.mxf, .vob), and the Windows and Flash ones.
VIDEO_SUFFIXES = (
    ".mp4", ".mkv", ".mov", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".ts", ".y4m",
    ".mts", ".m2ts", ".m2t", ".mod", ".tod", ".dv", ".3gp", ".3g2", ".mxf", ".vob",
    ".wmv", ".asf", ".flv", ".f4v", ".ogv",
)  # fmt: skip


def number(
    name: str, value: float, low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> float:
    """``value`` if it is a finite number within [low, high] (bounds excluded where ``*_open``);
    else one line naming the option (true and false are no numbers: JSON's ``"strength": true``)."""
    if isinstance(value, bool):
        raise DeepPhotoError(f"{name} {shown(value)}: must be a number")
    out_of_range = f"must be {bounds(low, high, low_open=low_open, high_open=high_open)}"
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise DeepPhotoError(f"{name} {shown(value)}: must be a number") from None
    except OverflowError:  # a whole number past a float's range (JSON's 1 and 400 zeros): no crash
        raise DeepPhotoError(f"{name} {shown(value)}: {out_of_range}") from None
    if not math.isfinite(v):
        raise DeepPhotoError(f"{name} {value}: must be a finite number")
    below = v <= low if low_open else v < low
    above = v >= high if high_open else v > high
    if below or above:
        raise DeepPhotoError(f"{name} {shown(value) if isinstance(value, int) else value}: {out_of_range}")
    return v + 0.0  # -0.0 (a script's "-0", JSON's -0.0) as 0.0: a status said "strength": -0.0


def shown(value: object) -> str:
    """A value as an error message shows it: text quoted ('much'), JSON's null, true and false as
    a script wrote them (its ``{"strength": null}`` answered 'strength None', a Python word), and a
    long value cut short (a 200 KB string sent for a number is not echoed back whole)."""
    if value is None or isinstance(value, bool):
        text = {None: "null", True: "true", False: "false"}[value]
    elif isinstance(value, (list, dict)):
        try:
            text = json.dumps(value, allow_nan=True)
        except (TypeError, ValueError):  # not JSON's own (a tuple of arrays from Python): as Python shows it
            text = repr(value)
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def bounds(low: float, high: float, *, low_open: bool = False, high_open: bool = False) -> str:
    """A range in words, for 'must be ...': 'from 0 to 1', 'above 0 and at most 1000', 'at least 1',
    'above 0 and below 1'. An infinite bound, or a whole number's 64-bit limit, is no bound."""
    has_low = math.isfinite(low) and low > -(2**63)
    has_high = math.isfinite(high) and high < 2**63 - 1
    lo, hi = (str(b) if isinstance(b, int) else f"{b:g}" for b in (low, high))  # whole numbers in full
    if has_low and has_high and not low_open and not high_open:
        return f"from {lo} to {hi}"
    words = []
    if has_low:
        words.append(("above " if low_open else "at least ") + lo)
    if has_high:
        words.append(("below " if high_open else "at most ") + hi)
    return " and ".join(words) or "a finite number"


def whole(name: str, value: int | str, low: int, high: int) -> int:
    """``value`` (an integer, or its text) if within [low, high]; else one line naming the option."""
    if isinstance(value, str):  # text from a command line: '12', not '12.5', 'nan' or '1e999'
        try:
            value = int(value.strip())
        except ValueError:
            raise DeepPhotoError(f"{name} {shown(value)}: must be a whole number") from None
    huge = isinstance(value, float) and abs(value) >= 1e16  # shown as given: 1e+308, not int(1e308)'s 309 digits
    given = value
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and float(value).is_integer():
            value = int(value)
        else:
            raise DeepPhotoError(f"{name} {shown(value)}: must be a whole number")
    if not low <= value <= high:
        raise DeepPhotoError(f"{name} {given if huge else shown(value)}: must be {bounds(low, high)}")
    return value


def counted(n: int, thing: str, things: str | None = None) -> str:
    """A count with its noun agreeing: '1 unreadable image', '3 unreadable images', '0 frames'
    (``things``: the plural where it is not ``thing`` + 's')."""
    return f"{n} {thing if n == 1 else things or thing + 's'}"


def choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise DeepPhotoError(unknown(name, value, allowed))
    return value


def unknown(name: str, value: str, allowed: list[str] | tuple[str, ...], listed: str = "") -> str:
    """'unknown region 'backround': did you mean 'background'? (choose from ...)': a typo, another
    case or a space for the dash ('Starry Night') is answered with the name meant."""
    listed = listed or ", ".join(allowed)
    meant = close_match(value, allowed)
    if meant is None:
        return f"unknown {name} {shown(value)}: choose from {listed}"
    return f"unknown {name} {shown(value)}: did you mean {meant!r}? (choose from {listed})"


def close_match(word: str, allowed: list[str] | tuple[str, ...]) -> str | None:
    """The one of ``allowed`` that ``word`` most likely means, if any is close."""
    import difflib

    plain = re.sub(r"[\s_]+", "-", str(word).strip().lower())
    if plain in allowed:
        return plain
    found = difflib.get_close_matches(plain, list(allowed), n=1, cutoff=0.6)
    return found[0] if found else None


_AMOUNT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|[-+]?(nan|inf|infinity)", re.IGNORECASE)


def parse_blend(style: str) -> list[tuple[str, float]]:
    """'wave' or a blend 'wave:0.7,scream:0.3' -> [(name, amount)], each amount finite and 0 or
    more, adding up to more than 0 (whether a name is installed is the style network's business)."""
    parts = []
    for part in str(style).split(","):
        name, sep, amount = part.strip().partition(":")
        if not name:
            raise DeepPhotoError(f"style {style!r}: name a style before each ':' (e.g. wave:0.7,scream:0.3)")
        # a plain decimal number: Python's float() would also read '1_0' as 10; 'wave:' is a typo, not 1
        if sep and not _AMOUNT.fullmatch(amount.strip()):
            raise DeepPhotoError(f"style {part!r}: the blend amount must be a number, e.g. {name}:0.5")
        value = float(amount) if sep else 1.0
        if not math.isfinite(value) or value < 0:
            raise DeepPhotoError(f"style {part!r}: the blend amount must be a finite number, 0 or more")
        parts.append((name, value))
    if sum(v for _, v in parts) <= 0:
        raise DeepPhotoError(f"style {style!r}: blend amounts must add up to more than 0")
    return parts


def parse_size(text: str, name: str = "size", limit: int = 16384) -> tuple[int, int]:
    """'640x480' -> (640, 480), each side from 1 to ``limit``."""
    try:
        w, h = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise DeepPhotoError(f"{name} {text!r}: expected WIDTHxHEIGHT, e.g. 640x480") from None
    if not (0 < w <= limit and 0 < h <= limit):
        raise DeepPhotoError(f"{name} {text!r}: each side must be from 1 to {limit}")
    return w, h


@dataclass(frozen=True)
class Settings:
    """Everything that decides how a frame is changed. Build with ``Settings(...)`` or
    ``Settings.create(...)``; the constructor validates, so an instance is always usable."""

    # the look: a painting style (or a blend 'wave:0.7,scream:0.3') or a classic effect
    style: str | None = None
    effect: str | None = None
    background: Path | None = None  # image or looping video behind the person (effect 'replace')
    style_scale: float = 0.75  # paint at this fraction of the frame size (1 for photos)
    strength: float = 1.0  # a style's painting blended with the unpainted frame: 0 the frame, 1 the painting
    keep_exposure: float = 0.0  # how much of a dim or bright frame's exposure a painting is given back (0-1)
    region: str = "background"  # whole, background or person
    # the mask, with the controls of OBS's background-removal plug-in
    threshold: float = 0.5
    smooth: float = 0.7  # temporal smoothing of still regions; 0 = off
    feather: int = 3  # soft edge width in pixels
    refine: bool = True  # guided-filter edge refinement
    seg_every: int = 1  # run the segmenter on every Nth frame
    skip_still: float = 0.0  # reuse the mask when the frame changed less than this (mean grey, 0-1)
    # the engines
    segmenter: str = "lightnet"
    backend: str = "auto"
    precision: str = "auto"
    seg_input: tuple[int, int] = LIGHTNET_INPUT  # segmenter input (width, height), multiples of 32
    threads: int | None = None  # inference threads per network (None: network_threads below chooses)

    def __post_init__(self) -> None:
        if self.style is not None and self.effect is not None:
            raise DeepPhotoError("give a style or an effect, not both")
        if self.style is not None and not isinstance(self.style, str):
            raise DeepPhotoError(f"style {shown(self.style)}: must be a style's name (text), e.g. 'wave'")
        if self.style is not None and not str(self.style).strip():
            raise DeepPhotoError("style '': name a style (see 'deepphoto styles')")
        if self.style is not None:
            parse_blend(self.style)  # amounts checked here, before any network opens
            # ' wave ' (a script's, a shell's quoting) is wave: the run's status said "wave " and the
            # Camera tab, not finding it among its looks, added a second 'wave  (the run's)'
            object.__setattr__(self, "style", self.style.strip())
        if self.effect is not None:
            choice("effect", self.effect, EFFECT_NAMES)
        if self.background is not None and self.effect not in (None, "replace"):
            raise DeepPhotoError(f"{option('background')} goes with {option('effect', 'replace')}")
        set_ = object.__setattr__
        if self.background is not None:
            if not isinstance(self.background, (str, os.PathLike)):  # an array: Path()'s bare TypeError
                raise DeepPhotoError(
                    f"background of type {type(self.background).__name__}: must be the path of an image or video file"
                )
            set_(self, "background", Path(self.background))
        set_(self, "style_scale", number("style scale", self.style_scale, 0.1, 1.0))
        set_(self, "strength", number("strength", self.strength, 0.0, 1.0))
        set_(self, "keep_exposure", number("keep-exposure", self.keep_exposure, 0.0, 1.0))
        choice("region", self.region, REGIONS)
        set_(self, "threshold", number("threshold", self.threshold, 0.0, 1.0, low_open=True, high_open=True))
        set_(self, "smooth", number("smooth", self.smooth, 0.0, 0.95))
        set_(self, "feather", whole("feather", self.feather, 0, 64))
        if not isinstance(self.refine, bool) and self.refine not in (0, 1):  # "maybe" is not a yes
            raise DeepPhotoError(f"refine {shown(self.refine)}: must be true or false")
        set_(self, "refine", bool(self.refine))
        set_(self, "seg_every", whole("seg-every", self.seg_every, 1, 1000))
        set_(self, "skip_still", number("skip-still", self.skip_still, 0.0, 1.0))
        choice("segmenter", self.segmenter, tuple(SEGMENTERS))
        choice("backend", self.backend, BACKENDS)
        choice("precision", self.precision, PRECISIONS)
        size = self.seg_input
        if isinstance(size, str):  # 'WxH', as create and changed take it
            size = parse_size(size, "segmenter input", 2048)
        if not isinstance(size, (tuple, list)) or len(size) != 2:
            raise DeepPhotoError(f"segmenter input {size!r}: expected (width, height), e.g. (352, 352)")
        w = whole("segmenter input width", size[0], 32, 2048)
        h = whole("segmenter input height", size[1], 32, 2048)
        set_(self, "seg_input", (w, h))  # a list or floats: the tuple of ints compared and hashed
        if w % 32 or h % 32:
            raise DeepPhotoError(f"segmenter input {w}x{h}: both sides must be multiples of 32")
        if self.threads is not None:
            set_(self, "threads", whole("threads", self.threads, 1, 256))

    @classmethod
    def _check_names(cls, values: dict[str, object]) -> None:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise DeepPhotoError(f"unknown setting {unknown[0]!r}: known are {', '.join(sorted(known))}")

    @classmethod
    def create(cls, **values: object) -> Settings:
        """Like the constructor, but an unknown name is a one-line error and sizes may be 'WxH'."""
        cls._check_names(values)
        return cls(**values)  # type: ignore[arg-type]

    def changed(self, **values: object) -> Settings:
        """A validated copy with ``values`` changed (the live controls of the web page use this); an
        unknown name is a one-line error, as in ``create``. A look replaces the look: a style given
        alone drops the effect, an effect given alone the style, and an effect other than 'replace'
        its background (``Pipeline(Settings(effect='blur')).update(style='wave')`` was 'give a style
        or an effect, not both', though only a style was given); both given is still refused."""
        self._check_names(values)
        values = dict(values)
        if values.get("style") is not None and "effect" not in values:
            values["effect"] = None
        if values.get("effect") is not None and "style" not in values:
            values["style"] = None
        if ("style" in values or "effect" in values) and "background" not in values:
            if values.get("effect", self.effect) != "replace":
                values["background"] = None
        return replace(self, **values)  # type: ignore[arg-type]

    @property
    def look_name(self) -> str:
        """The look as people name it: the style, else the effect (blur when nothing is chosen)."""
        return self.style or self.effect or "blur"

    def engines_differ(self, other: Settings) -> bool:
        """Whether going from ``self`` to ``other`` needs the networks opened again."""
        keys = ("segmenter", "backend", "precision", "seg_input", "threads", "style_scale", "background")
        return any(getattr(self, k) != getattr(other, k) for k in keys)


def network_threads(s: Settings, cores: int | None = None) -> int | None:
    """Inference threads per network: ``--threads`` when given. Otherwise, where a style network
    paints while the segmenter works (the two run at once, on two threads of the frame processor),
    half the cores each, so they do not take turns on the same cores: on 2 cores, one thread each
    ran ``run`` at 640x480 with a style on the background at 18.4 fps against 17.2 with two each
    (13 alternating pairs, one thread faster in 10). Where one network runs alone (an effect, or
    the whole frame painted), all cores (None): blur ran at 26.2 fps with two threads against 22.4
    with one. ``cores``: the cores this pipeline may use (default: those this process may run on;
    a batch worker gives the CPUs Ray reserved for it)."""
    if s.threads is not None:
        return s.threads
    if cores is None:
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            cores = os.cpu_count() or 1
    if s.style and s.region != "whole":
        return max(1, cores // 2)
    return None
