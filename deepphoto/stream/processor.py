"""The per-frame path, on one screen: ``FrameProcessor`` segments, smooths, refines, feathers,
applies the look and composites it into the chosen region. ``deepphoto.stream.loop`` moves frames
through it; ``deepphoto.pipeline`` builds it from ``Settings``.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import cv2
import numpy as np

from deepphoto.errors import DeepPhotoError
from deepphoto.frames import off_white, small_grey, to_bgr8
from deepphoto.picture_box import PictureBoxes
from deepphoto.segmenters.base import PersonSegmenter
from deepphoto.segmenters.tiles import MAX_ASPECT, PHOTO_MAX_ASPECT, needs_windows, windowed_probability
from deepphoto.stream.composite import REGIONS, blend, check_region, feather, with_soft_edge
from deepphoto.stream.effects import Effect, close_effect
from deepphoto.stream.person_fill import fill_mask
from deepphoto.stream.refine import colour_guided_filter, guided_filter
from deepphoto.stream.smoothing import MaskSmoother, scene_cut
from deepphoto.stream.steady_painting import PaintingHold

# A style network normalises its features, so a black or near-black frame (a fade's ends, the black
# a video opens with, a title card) comes out a flat coloured slab at full light. A stream's frame
# is painted at the weight ``painting_weight`` gives it: none up to LIGHT_BLACK, all of it from
# LIGHT_LIT, a smooth ramp between, on the frame's LIGHT_SHARE-th percentile of light (its largest
# channel on a small copy), so a title card's text or a few lit pixels do not count. The darkest
# shared clip (a dim stage) is never under 47 there; fades, black openings and cuts to black are.
LIGHT_BLACK = 6.0
LIGHT_LIT = 36.0
LIGHT_SHARE = 90
LIGHT_SIDE = 64  # the small copy's long side
# The painting held over still pixels (``PaintingHold``) is let go where the weight moves by more than
# this from the one it was held at (a fade); a steady dim scene's weight jitters by under 0.05 (one
# grey level of its light: the smoothstep's steepest slope is 1.5 / (LIGHT_LIT - LIGHT_BLACK)).
FADE_STEP = 0.06


class ProcessorClosed(DeepPhotoError):
    """A frame given to a ``FrameProcessor`` after it was closed (by another thread): a stream
    running through it (``run_stream``) ends there, as a stop does, with its output finalised."""


class StageTimes:
    """Recent durations per stage (bounded, so a long run's memory stays flat)."""

    def __init__(self, keep: int = 2000) -> None:
        self.samples: dict[str, deque[float]] = {}
        self.keep = keep

    def add(self, stage: str, seconds: float) -> None:
        self.samples.setdefault(stage, deque(maxlen=self.keep)).append(seconds)

    def summary(self) -> dict[str, dict[str, float]]:
        return {
            k: {"median_ms": float(np.median(v) * 1000), "p95_ms": float(np.percentile(v, 95) * 1000)}
            for k, v in self.samples.items()
            if v
        }


@dataclass
class MaskSettings:
    threshold: float = 0.5  # person where the probability is above this
    smooth: float = 0.7  # temporal smoothing of still regions (0 = off)
    feather: int = 3  # pixels of soft edge
    refine: bool = True  # guided filter on the frame's edges
    seg_every: int = 1  # run the segmenter on every Nth frame only
    skip_still: float = 0.0  # reuse the mask when the frame changed less than this (mean grey, 0-1)


@dataclass
class Look:
    name: str
    effect: Effect


def painting_weight(frame: np.ndarray) -> float:
    """The share (0-1) of a painting shown over ``frame`` (BGR uint8) for how lit it is: 0 for a
    black frame, 1 for any frame with a tenth of it lit past ``LIGHT_LIT`` (a smoothstep between)."""
    h, w = frame.shape[:2]
    s = min(1.0, LIGHT_SIDE / max(h, w))
    small = frame if s >= 1.0 else cv2.resize(frame, (max(1, round(w * s)), max(1, round(h * s))), cv2.INTER_AREA)
    light = small.max(axis=2) if small.ndim == 3 else small
    level = float(np.percentile(light, LIGHT_SHARE))
    t = min(1.0, max(0.0, (level - LIGHT_BLACK) / (LIGHT_LIT - LIGHT_BLACK)))
    return t * t * (3.0 - 2.0 * t)


class FrameProcessor:
    def __init__(
        self,
        segmenter: PersonSegmenter | None,
        looks: list[Look],
        region: str = "background",
        settings: MaskSettings | None = None,
    ) -> None:
        self.segmenter, self.looks, self.region = segmenter, looks, check_region(region)
        self.look_index = 0
        # the window's strength keys: moves a style's strength by a step (+-0.1), returns the new one;
        # set by the ``Pipeline`` that owns the looks (a bare processor's looks are made whole)
        self.step_strength: Callable[[float], float] | None = None
        self.settings = settings or MaskSettings()
        self.smoother = MaskSmoother(self.settings.smooth)
        self.painting_hold = PaintingHold()  # a painting held where the picture is still (smooth > 0)
        self._held_look: Look | None = None
        self._weight_held = 1.0  # the painting weight the hold last started from (``_fading``)
        self._painter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deepphoto-style")
        # held for a frame; Pipeline.update takes it too, so settings change between frames only
        self.lock = threading.RLock()
        self.closed = False  # ``close``d: a frame is refused (``ProcessorClosed``), not given to a stopped painter
        self.times = StageTimes()
        self.frames = self.segmented = 0
        # past this long side / short side a frame is segmented window by window (segmenters.tiles);
        # a photo's is lower (photo_mode): a window costs a network call
        self.max_aspect = MAX_ASPECT
        # a photo's painter fills the person in (stream.person_fill: no rim of paint along their
        # outline), segmenting first; a stream does not (measured: the fill follows the mask's flips
        # and the painted background flickers more; docs/benchmark/steadiness.md)
        self.fill_person = False
        self.colour_guide = False  # a photo's mask refined with its colours as the guide (stream.refine)
        # A stream's bars, black or of one flat colour (picture_box.picture_box: a landscape clip padded to
        # 9:16 in black or white, a letterbox) are not picture: what is inside them is segmented,
        # painted and composited on its own, and the bars are left as they are. Painted, they were a
        # flat slate-blue slab (blurred, a dark smear into the picture); and squashed with them into
        # the network's square the picture was segmented at a third of its height (a close-up's head
        # painted). A photo is taken whole.
        self.keep_bars = True
        # A stream's black frame is not painted a flat slab (``painting_weight``): a fade goes into
        # black and comes out of it, and the painting held (``painting_hold``) is let go while the
        # frame is dark. A photo is painted whatever its light.
        self.keep_black = True
        self._boxes = PictureBoxes()  # the picture inside its bars, the last frame's held
        self.kept: np.ndarray | None = None  # a photo's own colours where it is not painted (else the frame)
        self.own_alpha: np.ndarray | None = None  # a transparent photo's alpha kept in the output (uint8)
        self._low: np.ndarray | None = None
        self.last_alpha: np.ndarray | None = None  # the last frame's composited person alpha (None: whole)
        self.last_box: tuple[int, int, int, int] | None = None  # where it lies in that frame (bars round it)
        self._smoothed: np.ndarray | None = None  # the smoothed mask of the last segmented frame
        self._grey_at_seg: np.ndarray | None = None
        # Benchmarks: called every frame with (frame, its small grey copy or None on a first frame,
        # raw low-res mask, smoothed low-res mask).
        self.recorder: Callable[[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray], None] | None = None

    def close(self) -> None:
        """Stop the painter thread and close the looks (a looping background video, say), after the
        frame in hand (another thread's); a frame after it is a ``ProcessorClosed``; a second close
        does nothing (the looks were closed twice)."""
        with self.lock:
            if self.closed:
                return
            self.closed = True
        self._painter.shutdown(wait=True)
        for look in self.looks:
            close_effect(look.effect)

    def reset(self) -> None:
        """Forget the stream so far (timings, counts, masks), keeping engines and settings."""
        self.times = StageTimes()
        self.frames = self.segmented = 0
        self.smoother.reset()
        self.painting_hold.reset()
        self._weight_held = 1.0
        self._low = self._grey_at_seg = self._smoothed = self.last_alpha = self.last_box = None
        self._boxes.reset()

    @contextmanager
    def photo_mode(self) -> Iterator[None]:
        """Frames taken as photos meanwhile, each on its own: the stream forgotten before and after,
        no smoothing with earlier frames, segmented window by window from a photo's aspect, painted
        with the person filled in, their mask refined by their colours, black bars and black taken as
        picture (``max_aspect``, ``fill_person``, ``colour_guide``, ``keep_bars``, ``keep_black``); a
        stream's after (the caller holds ``lock``)."""
        photo = {
            "max_aspect": PHOTO_MAX_ASPECT,
            "fill_person": True,
            "colour_guide": True,
            "keep_bars": False,
            "keep_black": False,
        }
        before, smooth = {name: getattr(self, name) for name in photo}, self.smoother.smooth
        self.reset()
        for name, value in photo.items():
            setattr(self, name, value)
        self.smoother.smooth = 0.0
        try:
            yield
        finally:
            for name, value in before.items():
                setattr(self, name, value)
            self.smoother.smooth = smooth
            self.reset()

    def person_share(self) -> float | None:
        """The share of the last segmented frame taken as person (its network-size mask above the
        threshold), or None before any frame was segmented."""
        return None if self._low is None else float((self._low > self.settings.threshold).mean())

    @property
    def look(self) -> Look:
        return self.looks[self.look_index]

    def next_look(self) -> str:
        self.look_index = (self.look_index + 1) % len(self.looks)
        return self.look.name

    def next_region(self) -> str:
        self.region = REGIONS[(REGIONS.index(self.region) + 1) % len(REGIONS)]
        return self.region

    def _timed(self, stage: str, start: float) -> float:
        now = time.perf_counter()
        self.times.add(stage, now - start)
        return now

    def person_alpha(self, frame: np.ndarray) -> np.ndarray:
        s = self.settings
        t = time.perf_counter()
        grey = None
        if self._low is not None:
            grey = small_grey(frame, self._low.shape[::-1])
        before = self._grey_at_seg  # None, or (after a window-by-window frame) another shape: no comparison
        if grey is None or before is None or before.shape != grey.shape:
            before = None
        still = s.skip_still > 0 and before is not None and float(np.abs(grey - before).mean()) < s.skip_still
        segment = self._low is None or (self.frames % max(1, s.seg_every) == 0 and not still)
        if not segment and grey is not None:  # a new scene is segmented at once, whatever --seg-every
            segment = before is None or scene_cut(grey, before)
        if segment and needs_windows(frame.shape, self.max_aspect):  # very wide or tall: window by window
            self._low = windowed_probability(self.segmenter, frame)
        elif segment:
            x = self.segmenter.prepare(frame)
            t = self._timed("preprocess", t)
            self._low = self.segmenter.infer(x)
        if segment:
            if grey is None or grey.shape != self._low.shape:  # a first frame, or the mask's size changed
                grey = small_grey(frame, self._low.shape[::-1])  # (windows): what the next frame is told by
            self._grey_at_seg = grey
            self.segmented += 1
            t = self._timed("segmentation", t)
        # The smoother hears only fresh probabilities: a frame not segmented (--seg-every,
        # --skip-still) shows the last smoothed mask, rather than handing the smoother an old mask as
        # new evidence (where the picture moved it would take it at once and move its reference
        # picture on, so the next fresh mask of a moving person read as still and was held off)
        if segment or self._smoothed is None or self._smoothed.shape != self._low.shape:
            self._smoothed = small = self.smoother(self._low, grey, frame)
        else:
            small = self._smoothed
        t = self._timed("smoothing", t)
        prob = cv2.resize(small, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)
        if s.refine:  # a photo's guided by its colours (a grey guide cut holes in faces), a stream's by
            # its grey (4 ms less a 640x480 frame; stream.refine)
            prob = (colour_guided_filter if self.colour_guide else guided_filter)(frame, prob)
        alpha = feather(prob, s.threshold, s.feather)
        self._timed("mask", t)
        if self.recorder is not None:  # outside the timed stages
            self.recorder(frame, grey, self._low, small)
        return alpha

    def _fills(self) -> bool:
        """Whether this frame's look is made with the person alpha, segmenting first: a photo
        (``fill_person``) whose background only is painted by a neural painter that takes a mask
        (``Pipeline``'s), or the background blurred (``effects.blur``; cheap, so a stream's too:
        the whole frame blurred spread the person's colours as a glow round them)."""
        if self.region != "background":
            return False
        effect = self.look.effect
        if getattr(effect, "background_blur", False):
            return True
        return self.fill_person and getattr(effect, "fills_person", False)

    def _effect(
        self, frame: np.ndarray, person: np.ndarray | None = None, seen: np.ndarray | None = None
    ) -> np.ndarray:
        t = time.perf_counter()
        look = self.look
        neural = getattr(look.effect, "stylizer", None) is not None
        weight = painting_weight(frame) if neural and self.keep_black else 1.0
        if self._fading(weight):  # a fade: nothing held (a slab held over the fade's first lit frames)
            self.painting_hold.let_go()
        if weight == 0.0:  # black: nothing painted
            return frame
        out = look.effect(frame) if person is None else look.effect(frame, person)  # type: ignore[call-arg]
        t = self._timed("style", t)
        # A neural painting (its effect names the stylizer) crawls where the picture is still unless
        # held; classic effects are steady already, and a looping background video must move. A
        # steady dim scene is held as a lit one is (let go on every dim frame, it shimmered whole).
        if self.settings.smooth > 0 and neural:
            if look is not self._held_look:
                self.painting_hold.reset()
                self._held_look = look
            out = self.painting_hold(frame, out, seen)  # seen: the frame before's raw mask (its ring)
            self._timed("hold", t)
        if weight < 1.0:  # a dim frame: the painting at its share over the frame
            return cv2.addWeighted(out, weight, frame, 1.0 - weight, 0.0)
        return out

    def _fading(self, weight: float) -> bool:
        """Whether the painting held is let go for a frame painted at ``weight`` (``painting_weight``):
        on a black frame, where the weight moved more than ``FADE_STEP`` from the one the hold took
        (a fade, a cut to a dimmer scene), and where it came back to full light from below (a fade's
        end: the lit picture's own painting). A steady dim scene, its weight jittering by a grey
        level, is held."""
        before = self._weight_held
        if weight == 0.0 or abs(weight - before) > FADE_STEP or (weight == 1.0 and before < 1.0):
            self._weight_held = weight
            return True
        return False

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        frame = to_bgr8(frame)
        with self.lock:
            if self.closed:  # closed by another thread mid-stream: its painter is gone
                raise ProcessorClosed("this Pipeline is closed: make a new one")
            box = self._boxes(frame) if self.keep_bars else None
            if box is None:
                out = self._styled(frame)
                self.last_box = None
                return out
            top, bottom, left, right = box
            out = frame.copy()  # the bars as they are, the picture inside them styled on its own
            out[top:bottom, left:right] = self._styled(np.ascontiguousarray(frame[top:bottom, left:right]))
            self.last_box = box
            return out

    def composited_alpha(self, shape: tuple[int, ...]) -> np.ndarray | None:
        """The person alpha the last frame (of ``shape``) was composited with, at its size (float32
        0-1; bars round its picture, left as they are, 0: no person), or None (the whole frame styled)."""
        if self.last_alpha is None:
            return None
        if self.last_box is None:
            return np.array(self.last_alpha, np.float32)
        top, bottom, left, right = self.last_box
        alpha = np.zeros(shape[:2], np.float32)
        alpha[top:bottom, left:right] = self.last_alpha
        return alpha

    def _styled(self, frame: np.ndarray) -> np.ndarray:
        """``frame`` (BGR uint8) with the look composited into the region (the caller holds ``lock``)."""
        if self._fills():  # its mask first, then its look made with it (a photo's person filled in)
            alpha = self.person_alpha(frame)  # (where it is composited: the fill must agree with it)
            effected = self._effect(frame, fill_mask(alpha))
        else:  # paint on a second thread while this one segments (ONNX Runtime and OpenCV release
            # the GIL, so the two use both cores)
            painting = self._painter.submit(self._effect, frame, None, self._low)  # _low: the frame before's
            alpha = self.person_alpha(frame) if self.region != "whole" else None
            effected = painting.result()
        t = time.perf_counter()
        kept = frame if self.kept is None else self.kept
        if self.own_alpha is not None and getattr(self.look.effect, "from_frame", True):
            # painted from the photo laid on white: its transparency, given back, would lay it on
            # white again (a half-clear pixel shown lighter); a background picture is its own
            effected = off_white(effected.copy(), self.own_alpha)
        if alpha is not None and self.own_alpha is not None and self.region == "background":
            alpha = with_soft_edge(alpha, self.own_alpha)  # a cut-out's soft edge is not background
        # the whole frame: the look's own picture, copied, as a look may keep it (the painting
        # held for the next frame, a background picture): a caller drawing on it changed those
        out = effected.copy() if alpha is None else blend(kept, effected, alpha, self.region)
        self.last_alpha = alpha
        self._timed("composite", t)
        self.frames += 1
        return out
