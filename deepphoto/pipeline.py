"""The one place that turns ``Settings`` into a running pipeline, for a stream, a frame or a photo.

Every command (``run``, ``edit``, ``demo``, ``bench``, ``soak``), the web page and batch jobs build
their pipeline here::

    from deepphoto import Pipeline, Settings

    with Pipeline(Settings(style="wave", region="background")) as pipe:
        pipe.run("talk.mp4", "talk-wave.mp4")   # a stream: file, folder, camera, ... to any sink
        styled = pipe.photo(image)              # one photo (BGR uint8), no temporal smoothing
"""

from __future__ import annotations

import hashlib
import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from deepphoto.errors import DeepPhotoError, DeepPhotoTypeError, FrameError, warn
from deepphoto.frames import checked_frame, mix
from deepphoto.segmenters import PersonSegmenter, SegmenterOptions, open_segmenter
from deepphoto.settings import EFFECT_NAMES, Settings, counted, network_threads, number, parse_size, whole
from deepphoto.stream.effects import close_effect, make_effect
from deepphoto.stream.frame import Frame
from deepphoto.stream.loop import RunSummary, run_stream
from deepphoto.stream.output_safety import check_not_source
from deepphoto.stream.person_fill import person_filled
from deepphoto.stream.processor import FrameProcessor, Look, MaskSettings
from deepphoto.stream.sinks import VideoSink, open_sink
from deepphoto.stream.sources import Arrays, Resized, Source, local_name, open_source
from deepphoto.stream.stopping import ending_signals

if TYPE_CHECKING:
    from deepphoto.stylizer import Stylizer

ALL_PERSON = 0.95  # a photo's share taken as person from which its background is said to be all but gone


def person_note(share: float | None, region: str) -> str:
    """What a user is told of a photo's mask ('' when nothing), from its share taken as person
    (``Pipeline.person_share``): no person found, or, for the background, so much taken as person
    that little is painted (a painting read as a person came out the same as it went in, without a
    word)."""
    if share is None:
        return ""
    if share == 0.0:
        return "no person found; the photo is " + ("left as it was" if region == "person" else "painted whole")
    if share >= ALL_PERSON and region == "background":
        return (
            f"{share:.0%} of it taken as the person, so little background is painted (a painting, or a "
            "close-up? --region whole paints all of it)"
        )
    return ""


def _composited_share(share: float | None, alpha: np.ndarray | None) -> float | None:
    """A photo's share taken as person (the network's mask, at its own size), told by the alpha it
    was composited with where that parted nothing: no pixel at least half person is 0 (a photo
    smaller than the network's input, its few 'person' pixels gone at the photo's size: a 1x1 one
    was left as it was without a word), every pixel so is 1."""
    if share is None or alpha is None or alpha.size == 0:
        return share
    if float(alpha.max()) < 0.5:
        return 0.0
    if float(alpha.min()) >= 0.5:
        return 1.0
    return share


CLEAR_SHARE = 0.25  # a photo this transparent is told that paint on its clear parts does not show


def clear_note(alpha: np.ndarray | None, region: str) -> str:
    """'' or what a user is told of a photo kept transparent: paint on its clear parts (alpha under
    half) does not show, where they are a large share of it and more than the person is painted."""
    if alpha is None or region == "person":
        return ""
    clear = float((alpha < 128).mean())
    if clear < CLEAR_SHARE:
        return ""
    return f"{clear:.0%} of it is transparent, and paint there does not show (write a .jpg to see it on white)"


def mask_settings(s: Settings) -> MaskSettings:
    return MaskSettings(s.threshold, s.smooth, s.feather, s.refine, s.seg_every, s.skip_still)


class _Processor(FrameProcessor):
    """A ``FrameProcessor`` that remembers a small copy of each frame's person alpha while
    ``remembers()`` says so (a stream's painting keeps the frame's exposure), for the painter of the
    next frame to measure the light of the region it paints (``stylizer.region_weights``)."""

    def __init__(self, *args: object, remembers: Callable[[], bool], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.remembers = remembers
        self._alphas: dict[int, np.ndarray | None] = {}  # frame number -> small alpha (this frame's and the last)

    def reset(self) -> None:
        super().reset()
        self._alphas = {}

    def person_alpha(self, frame: np.ndarray) -> np.ndarray:
        alpha = super().person_alpha(frame)
        if self.remembers() and not self.fill_person:
            from deepphoto.stylizer import region_weights

            self._alphas = {k: v for k, v in self._alphas.items() if k == self.frames - 1}
            self._alphas[self.frames] = region_weights(alpha, "person")  # a small copy
        return alpha

    def exposure_alpha(self) -> np.ndarray | None:
        """The person alpha (a small copy) the painting of the stream's frame now painted measures
        its light around: the frame before's (this frame's is being segmented meanwhile, on the other
        thread; a frame late is nothing to an exposure, and which one is used does not depend on
        which thread is first). None: not known (a first frame), or a photo, whose light is measured
        on the whole picture as the correction was calibrated (docs/benchmark/exposure.md)."""
        return None if self.fill_person else self._alphas.get(self.frames - 1)


class _WhenUsed:
    """A segmenter opened by ``opener`` when first used (any attribute asked for)."""

    def __init__(self, opener: Callable[[], PersonSegmenter]) -> None:
        self._opener, self._opened = opener, None

    def __getattr__(self, name: str) -> object:
        if self._opened is None:
            self._opened = self._opener()
        return getattr(self._opened, name)


class Pipeline:
    """Networks opened once for ``settings``; ``cycle_looks`` adds every other look after the
    chosen one (the window's 's' key). ``segmenter`` reuses one already open (benchmarks).

    Frames (``__call__``, ``photo``, ``mask``): BGR, BGRA or grey (HxW, HxWx1), uint8, uint16 or
    float from 0 to 1, any strides; never changed in place. What is returned is the caller's own
    (BGR uint8, the frame's size): nothing the pipeline keeps. What cannot be a frame is a one-line
    ``deepphoto.errors.FrameError`` (a ``ValueError``; ``FrameTypeError``, a ``TypeError`` too).

    One pipeline is one stream: ``__call__`` carries temporal smoothing from one frame to the next,
    so give each stream its own pipeline; ``photo`` and ``reset`` start the stream afresh. Threads
    may share one: a lock lets one frame, photo or ``update`` through at a time. ``close`` (or
    ``with``) stops its painter thread and closes a background video; a closed pipeline refuses to
    be used.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        cycle_looks: bool = False,
        segmenter: PersonSegmenter | None = None,
    ) -> None:
        if settings is not None and not isinstance(settings, Settings):
            raise TypeError(f"Pipeline takes a Settings, e.g. Settings(style='wave'), not {type(settings).__name__}")
        self.settings = settings or Settings()
        self.cycle_looks = cycle_looks
        self.threads = network_threads(self.settings)
        self.stylizer: Stylizer | None = None
        # the last frame or photo given (BGR uint8, the pipeline's own; a photo's digest), the person
        # alpha it was composited with (or its mask asked for; a photo's packed), and whether as a
        # photo: ``mask`` of it again
        self._last: tuple[np.ndarray | bytes, np.ndarray | _PackedAlpha, bool] | None = None
        self._running = False  # a ``run`` is under way (one stream at a time)
        # the looks first: one refused (an unknown style, a background that cannot be read) is said
        # at once, not after a first run has built the segmenter's INT8 engine (a minute or more)
        looks = self._looks(self.settings)
        try:
            self.segmenter = segmenter or self._segmenter_for(self.settings)
        except BaseException:
            for item in looks:
                close_effect(item.effect)
            raise
        self.processor = _Processor(
            self.segmenter, looks, self.settings.region, mask_settings(self.settings), remembers=self._exposes
        )
        self.processor.step_strength = self._step_strength  # the window's '[' and ']' keys

    # ------------------------------------------------------------------ building

    @staticmethod
    def _open_segmenter(s: Settings, threads: int | None) -> PersonSegmenter:
        options = SegmenterOptions(s.backend, s.precision, s.seg_input, threads, spin=False)
        return open_segmenter(s.segmenter, options)

    def _segmenter_for(self, s: Settings) -> PersonSegmenter:
        """The segmenter of ``s``: opened now, or, for a look on the whole frame, which needs no
        mask, when a mask is first asked for (the region changed live, ``mask``): opening LightNet
        on a first run builds its INT8 engine, a minute or more, for nothing."""
        if s.region != "whole":
            return self._open_segmenter(s, self.threads)
        threads = self.threads
        return _WhenUsed(lambda: self._open_segmenter(s, threads))  # type: ignore[return-value]

    def _exposes(self) -> bool:
        """Whether the paintings keep the frame's exposure (``--keep-exposure``), so need the mask."""
        return self.stylizer is not None and self.stylizer.exposure > 0

    def _exposure_weights(self) -> np.ndarray | None:
        """Where the frame now painted has its light measured: the pixels its region shows."""
        from deepphoto.stylizer import region_weights

        p = self.processor
        return region_weights(p.exposure_alpha(), p.region) if self._exposes() else None

    def _painter(self, s: Settings, style: str) -> Callable[[np.ndarray], np.ndarray]:
        from deepphoto.models.shipped import styles_key

        # the styles as the user's styles folder holds them now: a style added (or removed) while a
        # Studio runs is listed by its page, and was refused as an 'unknown style' by the network
        # opened before it; one replaced (add-style --replace) painted as the old one (its rows
        # are in a new ONNX file: the network is opened again)
        styles = styles_key()
        if self.stylizer is None or self.stylizer.scale != s.style_scale or self.stylizer.styles != styles:
            from deepphoto.stylizer import Stylizer

            engine = self.stylizer.engine if self.stylizer is not None and self.stylizer.styles == styles else None
            self.stylizer = Stylizer(
                style,
                s.backend,
                scale=s.style_scale,
                threads=self.threads,
                engine=engine,
                spin=False,
                precision=s.precision,
            )
        self.stylizer.exposure = s.keep_exposure
        paint = self.stylizer.painter(style)
        if s.strength <= 0.0:
            # strength 0: the frame itself, the network not run; and not a painting either (no
            # ``stylizer``), so none is held over still pixels: held, the frame's noise froze there
            # (1-2 grey levels off the camera's picture, up to 13). The stylizer stays open, so a
            # strength raised live paints on the next frame, without opening the network again
            def unpainted(frame: np.ndarray, person: np.ndarray | None = None) -> np.ndarray:
                return frame

            unpainted.paints = style  # type: ignore[attr-defined]  # a style's look (update: strength)
            return unpainted

        def painted(frame: np.ndarray, person: np.ndarray | None = None) -> np.ndarray:
            """The painting of ``frame``; ``person`` (a mask): painted with a band along the person's
            outline filled in by the background around them (person_fill.BAND: no rim of paint along it,
            and a close-up's background keeps most of its tone); ``--strength``: over the frame itself.
            ``--keep-exposure``: in a stream, the light measured on the region painted and shown (the
            last frame's mask); a photo's on the whole picture."""
            weights = self._exposure_weights()
            out = paint(frame if person is None else person_filled(frame, person), weights)  # person: an alpha
            return out if s.strength >= 1.0 else mix(out, frame, s.strength)

        painted.stylizer = self.stylizer  # type: ignore[attr-defined]  # reports say which engine paints
        painted.paints = style  # type: ignore[attr-defined]  # a style's look (update: strength)
        painted.fills_person = True  # type: ignore[attr-defined]  # takes a mask (FrameProcessor)
        return painted

    def _looks(self, s: Settings) -> list[Look]:
        from deepphoto.models.shipped import style_names

        looks = [Look(s.style, self._painter(s, s.style))] if s.style else []
        if not s.style:
            looks.append(Look(s.look_name, make_effect(s.look_name, s.background)))
        if self.cycle_looks:
            looks += [Look(n, self._painter(s, n)) for n in style_names() if n != s.style]
            looks += [Look(n, make_effect(n)) for n in EFFECT_NAMES if n not in (s.look_name, "replace")]
        return looks

    def _replace_looks(self, s: Settings) -> None:
        """New looks for ``s``; the previous ones closed (a looping background video, say)."""
        previous = self.processor.looks
        self.processor.looks = self._looks(s)
        for item in previous:
            close_effect(item.effect)

    def update(self, **changes: object) -> Settings:
        """Change settings while running (the web page's live controls): mask controls and the
        region at once, the look by swapping it, engines by opening them again. A change refused
        (a bad value, a style not installed, a background that cannot be read) changes nothing.
        The look and region shown (which the window's keys may have moved on) stay unless named."""
        self._check_open()
        with self._open():  # thread-safe: applied between two frames
            new = self.settings.changed(**changes)
            old, p = self.settings, self.processor
            engines = ("segmenter", "backend", "precision", "seg_input", "threads")
            reopen = any(getattr(new, k) != getattr(old, k) for k in engines)
            look = ("style", "effect", "background", "style_scale", "strength", "keep_exposure")
            named = any(k in changes for k in ("style", "effect", "background"))
            before = self.threads, self.segmenter, self.stylizer
            exposure = self.stylizer.exposure if self.stylizer is not None else None
            try:
                if reopen:
                    self.threads = network_threads(new)
                    self.segmenter = p.segmenter = self._segmenter_for(new)
                    self.stylizer = None
                moved = {k for k in look if getattr(new, k) != getattr(old, k)}
                replaced = self._style_replaced(new)  # reads the user's styles folder: once
                if not reopen and moved and moved <= {"strength", "keep_exposure"} and not replaced:
                    # a style's painting only: its looks made again, an effect's kept as it plays (a
                    # strength sent to a run with a --background video began the video again)
                    p.looks = [
                        Look(item.name, self._painter(new, item.effect.paints))  # type: ignore[attr-defined]
                        if hasattr(item.effect, "paints")
                        else item
                        for item in p.looks
                    ]
                elif reopen or moved or replaced:
                    shown = p.look.name
                    self._replace_looks(new)
                    # the look shown stays unless a look is asked for (a strength changed from
                    # --control while the window's 's' key showed another look: it went back to the first)
                    names = [item.name for item in p.looks]
                    p.look_index = names.index(shown) if shown in names else 0
                if named:  # the look asked for, as the window's keys may show another
                    p.look_index = 0
            except BaseException:  # the networks and the looks as they were (a half-made change
                # kept a new segmenter, or a stylizer's new exposure, under the old settings)
                self.threads, self.segmenter, self.stylizer = before
                p.segmenter = self.segmenter
                if self.stylizer is not None and exposure is not None:
                    self.stylizer.exposure = exposure
                raise
            if "region" in changes:  # else the region shown stays (the window's 'r' key may have chosen it)
                p.region = new.region
            p.settings = mask_settings(new)
            self._last = None  # a mask asked for now is of the new settings
            p.smoother.smooth = new.smooth
            self.settings = new
            return new

    def _step_strength(self, step: float) -> float:
        """The strength moved by ``step`` (the window's keys, +-0.1), kept from 0 to 1 and on whole
        percents (0.3 + 0.1 is 0.4, not 0.39999...); the new strength (the same at an end)."""
        strength = min(1.0, max(0.0, round(self.settings.strength + step, 2)))
        if strength != self.settings.strength:
            self.update(strength=strength)
        return strength

    # ------------------------------------------------------------------ using

    def _style_replaced(self, s: Settings) -> bool:
        """Whether a style that ``s`` paints holds other rows in the user's styles folder than the
        network opened has (``add-style --replace`` while a Studio runs: the page asks for the same
        style, and was given the old one); a style removed meanwhile paints on until another is chosen."""
        if not s.style or self.stylizer is None:
            return False
        from deepphoto.models.shipped import styles_key
        from deepphoto.settings import parse_blend

        opened, now = dict(self.stylizer.styles), dict(styles_key())
        return any(now.get(name) not in (None, opened.get(name)) for name, _ in parse_blend(s.style))

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called (by any thread; its processor's ``close`` too): the one flag,
        the processor's (closed there, the pipeline still made masks, took ``update`` and opened
        new looks that nothing closed)."""
        return self.processor.closed

    def _check_open(self) -> None:
        if self.closed:
            raise DeepPhotoError("this Pipeline is closed: make a new one")

    @contextmanager
    def _open(self) -> Iterator[None]:
        """The processor's lock, held while the pipeline is open: ``close`` from another thread
        waits for the frame in hand, and a frame that comes after it is refused in one line (a frame
        converted while another thread closed the pipeline failed 'RuntimeError: cannot schedule new
        futures after shutdown')."""
        with self.processor.lock:
            self._check_open()
            yield

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """The next frame of a stream (temporal smoothing carries over from the last one); ``mask``
        of it then is the person alpha it was composited with."""
        self._check_open()
        given, frame = frame, checked_frame(frame)
        with self._open():  # closed meanwhile (another thread): said so, not the painter's RuntimeError
            self._check_not_running()
            out = self.processor(frame)
            self._keep(given, frame, self.processor.composited_alpha(frame.shape), photo=False)
            return out

    def _keep(self, given: object, frame: np.ndarray, alpha: np.ndarray | None, *, photo: bool) -> None:
        """Remember ``frame`` (a copy, where it is the caller's ``given``: a buffer a reader fills
        again; a photo by its digest, as a 50-megapixel copy held while the Studio idles cost 150 MB)
        and the alpha it was composited with, for ``mask`` of the same frame (the lock held). A
        photo's alpha is kept packed (``_PackedAlpha``): a 54-megapixel one held whole after the call
        returned kept 216 MB for as long as the pipeline lived (the Studio, a batch worker)."""
        if alpha is None:
            self._last = None
            return
        if photo:
            self._last = (_digest(frame), _PackedAlpha(alpha), photo)
            return
        mine = not isinstance(given, np.ndarray) or not np.may_share_memory(frame, given)
        self._last = (frame if mine else frame.copy(), alpha, photo)

    def _kept_alpha(self, frame: np.ndarray, photo: bool) -> np.ndarray | None:
        """A copy of the alpha remembered for ``frame`` (the same pixels, taken the same way), or None."""
        last = self._last
        if last is None or last[2] != photo:
            return None
        seen = last[0]
        same = (
            seen == _digest(frame)
            if isinstance(seen, bytes)
            else seen.shape == frame.shape and np.array_equal(seen, frame)
        )
        return last[1].copy() if same else None

    def reset(self) -> None:
        """Start a new stream as a fresh pipeline would (temporal smoothing, counts, a looping
        background video from its start), keeping the networks: batch workers reuse one pipeline."""
        self._check_open()
        with self._open():
            self._check_not_running()
            self._restart()

    def _restart(self) -> None:
        """``reset``'s work (the lock held)."""
        p = self.processor
        p.reset()
        self._last = None
        if any(hasattr(look.effect, "close") for look in p.looks):  # stateful looks begin again
            self._replace_looks(self.settings)

    def mask(self, frame: np.ndarray, photo: bool = False) -> np.ndarray:
        """The person alpha (0-1, float32, the frame's size; 1 the person) the pipeline composites
        ``frame`` with. For the frame just styled (``pipe(frame)``, then ``pipe.mask(frame)``: the
        same pixels) it is the alpha that frame was composited with, not segmented again (bars round
        its picture, left as they are, 0); for another frame, the mask the stream's next frame would
        get, its temporal smoothing moved on as by a frame (asked for again: the same mask). So
        style a frame first, then ask for its mask: the pair matches (asked the other way round,
        the frame is segmented twice). ``photo``: a photo's, as ``photo`` makes it (after
        ``pipe.photo(image)``, the alpha it was composited with; a wide one segmented window by
        window), on its own: the stream starts afresh, as with ``photo`` (the last photo's mask was
        smoothed into it: the Studio's mask of a dark photo showed the person of the photo before;
        hunt 28)."""
        self._check_open()
        given, frame = frame, checked_frame(frame)
        p = self.processor
        with self._open():
            self._check_not_running()  # a photo's would start the run's stream afresh, a frame's move it on
            alpha = self._kept_alpha(frame, photo)
            if alpha is not None:  # the frame just styled: what it was composited with
                return alpha
            with p.photo_mode() if photo else nullcontext():
                alpha = p.person_alpha(frame)
            self._keep(given, frame, alpha, photo=photo)
            return alpha.copy()

    person_share: float | None = None  # of the last photo: its share taken as person (None: whole)

    def photo(
        self,
        image: np.ndarray,
        painted: np.ndarray | None = None,
        kept: np.ndarray | None = None,
        alpha: np.ndarray | None = None,
        *,
        keep_mask: bool = True,
    ) -> np.ndarray:
        """One photo, on its own (no smoothing with earlier frames). ``painted``: a look computed
        elsewhere (the photo optimiser) composited instead of the chosen one. ``kept``: the colours
        shown where it is not painted, if not ``image``'s (a transparent photo's own, where ``image``
        has it laid on white for the networks). ``alpha``: that photo's transparency (uint8), when the
        result keeps it: its soft edges next to the person are not painted as background.
        ``person_share`` says how much of it was taken as person. ``keep_mask``: the alpha it was
        composited with remembered for ``mask(image, photo=True)`` (the photo's digest and the alpha
        packed: 0.1 s of a 12-megapixel photo's 2 s); False where no mask will be asked for
        (``deepphoto edit``, a batch), and a later ``mask`` segments afresh."""
        self._check_open()
        given, image = image, checked_frame(image, "photo")
        size = image.shape[:2]
        if painted is not None:
            painted = _same_size(checked_frame(painted, "painted"), size, "painted")
        if kept is not None:
            kept = _same_size(checked_frame(kept, "kept"), size, "kept")
        if alpha is not None:
            alpha = _same_size(_alpha8(alpha), size, "alpha")
        p = self.processor
        with self._open():
            self._check_not_running()  # it would start the run's stream afresh
            self.person_share = None
            looks, index = p.looks, p.look_index
            if painted is not None:
                p.looks, p.look_index = [Look("painted", lambda _frame: painted)], 0
            p.kept, p.own_alpha = kept, alpha
            try:
                with p.photo_mode():
                    out = p(image)
                    self.person_share = _composited_share(p.person_share(), p.last_alpha)
                    if keep_mask:
                        self._keep(given, image, p.composited_alpha(image.shape), photo=True)
                    else:  # nor the photo before's: it is not this one's
                        self._last = None
                return out
            finally:
                p.looks, p.look_index, p.kept, p.own_alpha = looks, index, None, None

    def describe(self) -> str:
        return f"{self.processor.look.name} on the {self.processor.region}"

    def run(
        self,
        source: str | os.PathLike[str] | Source | Iterable[np.ndarray],
        output: str | os.PathLike[str],
        *,
        overwrite: bool = False,
        size: tuple[int, int] | str | None = None,
        fps: float | None = None,
        max_frames: int = 0,
        progress: bool = True,
        observe: Callable[[np.ndarray, Frame], None] | None = None,
    ) -> RunSummary:
        """Every frame (files) or the newest frames (live) of ``source`` through the pipeline into
        ``output`` (any sink URI). Ctrl-C, SIGTERM and SIGHUP end it alike: the output is finalised
        with every frame so far; so does ``close`` from another thread (a camera's run went on
        forever, each frame passed through unpainted with 'cannot schedule new futures after
        shutdown'). A file whose frames could not be read is a one-line error.
        ``size``: a camera is asked for it; the frames of a file, folder or photo are scaled to it.
        Each run is a stream of its own, as from a fresh pipeline (``reset``): a second run's first
        frames were smoothed with the first's last mask and painting, its summary counted both.
        ``source`` and ``output`` may be ``pathlib.Path``s (a Path source was taken for a ``Source``
        object: an AttributeError, and the output was not checked against it). A malformed ``size``,
        ``fps`` or ``max_frames`` is a one-line error before anything opens (a size (0, 10) was 'no
        frame could be decoded (OpenCV ... resize)', a negative ``max_frames`` wrote one frame).
        ``source`` may be frames of the caller's own: an iterable of images (a generator, a list, an
        NxHxWx3 array), each as ``__call__`` takes one, at ``fps`` (30 if not given); it was refused.
        One run at a time: another thread's run, frame, photo, mask or reset meanwhile is refused in
        one line (two runs in two threads had their masks smoothed into each other's, silently wrong;
        a photo or a reset started the run's stream afresh); ``update`` and ``close`` are taken."""
        self._check_open()
        claimed = False
        try:
            with self.processor.lock:
                self._check_not_running()
                claimed = self._running = True  # claimed first: released whatever comes after
            return self._run(source, output, overwrite, size, fps, max_frames, progress, observe)
        finally:
            if claimed:
                self._running = False

    def _check_not_running(self) -> None:
        if self._running:
            raise DeepPhotoError(
                "this Pipeline is running a stream (run, in another thread): one Pipeline is one stream, "
                "give this one a Pipeline of its own"
            )

    def _run(
        self,
        source: str | os.PathLike[str] | Source | Iterable[np.ndarray],
        output: str | os.PathLike[str],
        overwrite: bool,
        size: tuple[int, int] | str | None,
        fps: float | None,
        max_frames: int,
        progress: bool,
        observe: Callable[[np.ndarray, Frame], None] | None,
    ) -> RunSummary:
        source, output = _uri(source, "source", allow_source=True), _uri(output, "output")
        # file://clip.mp4, as jetson-utils names a file
        source = local_name(source) if isinstance(source, str) else source
        output = local_name(output) if isinstance(output, str) else output
        size, fps, max_frames = run_options(size, fps, max_frames)
        uri = source if isinstance(source, str) else "source"
        check_not_source(output, uri, self.settings.background)  # never write over an input
        if self.processor.frames or self.processor.segmented:  # a new stream: the last run's (or frames')
            with self._open():  # smoothing, held painting and counts left behind (a fresh one: nothing to reopen)
                self._restart()
        self._last = None  # ``mask`` of a frame before the run: not the frame just styled
        if not isinstance(source, (str, Source)):  # the caller's own frames
            source = Arrays(source, fps or 30)
        src = open_source(source, size=size, fps=fps) if isinstance(source, str) else source
        if size is not None and not src.live:
            src = Resized(src, size)
        try:
            sink = open_sink(output, src.fps, src.time_base, src.audio_path, overwrite, live=src.live)
        except BaseException:
            src.close()
            raise
        left_out = getattr(src, "not_recorded", None)
        if left_out and isinstance(sink, VideoSink):  # said, not silently missing from the recording
            what = f"{' and '.join(left_out)} {'is' if len(left_out) == 1 else 'are'}"
            warn(f"its {what} not recorded (a live stream is recorded as picture only)", uri)
        reopen = (lambda: open_source(uri, size=size, fps=fps)) if src.live and isinstance(source, str) else None
        with ending_signals():
            summary = run_stream(
                src, sink, self.processor, progress=progress, max_frames=max_frames, reopen=reopen, observe=observe
            )
        summary.segmented = self.processor.segmented
        if summary.frames_out == 0 and not summary.interrupted:  # with the reason, where the reader had one
            why = f" ({summary.source_error})" if summary.source_error else ""
            raise DeepPhotoError(f"{uri}: no frame could be decoded{why}")
        if summary.source_error and not src.live:
            raise DeepPhotoError(
                f"{uri}: reading stopped after {counted(summary.frames_out, 'frame')} "
                f"({summary.source_error}); what was done is in {summary.path}"
            )
        return summary

    def close(self) -> None:
        """Stop the painter thread and close the looks (a background video), after the frame in hand
        (another thread's); a second close does nothing."""
        self.processor.close()

    def __enter__(self) -> Pipeline:
        self._check_open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


FPS_LOW = 0.001  # the lowest fps a source is given (its rate is kept as a fraction over at most 1001)
SIZE_LIMIT = 8192  # the largest side ``run`` scales frames to


def run_options(
    size: tuple[int, int] | str | None, fps: float | None, max_frames: int
) -> tuple[tuple[int, int] | None, float | None, int]:
    """``Pipeline.run``'s ``size`` ((width, height) or 'WxH', each side 1 to ``SIZE_LIMIT``), ``fps``
    (``FPS_LOW`` to 1000) and ``max_frames`` (0, all, or more) checked, each a one-line error."""
    if size is not None:
        if isinstance(size, str):
            size = parse_size(size, "size", SIZE_LIMIT)
        elif not isinstance(size, (tuple, list)) or len(size) != 2:
            raise DeepPhotoError(f"size {size!r}: expected (width, height), e.g. (640, 480)")
        else:
            size = (whole("size width", size[0], 1, SIZE_LIMIT), whole("size height", size[1], 1, SIZE_LIMIT))
    if fps is not None:
        fps = number("fps", fps, 0.0, 1000.0, low_open=True)
        if fps < FPS_LOW:
            raise DeepPhotoError(f"fps {fps:g}: must be {FPS_LOW:g} or more (a frame lasts at most {1 / FPS_LOW:g} s)")
    return size, fps, whole("max_frames", max_frames, 0, 2**31)


def _uri(value: object, what: str, *, allow_source: bool = False) -> str | Source | Iterable[np.ndarray]:
    """A source or output given to ``run`` as text (a ``Path`` as its text), or, where
    ``allow_source``, a ``Source`` object or frames (an iterable of images: a generator, a list, an
    NxHxWx3 array); anything else a one-line ``TypeError`` naming it (an array or a list was
    printed whole, over hundreds of lines). An empty name is refused, as the command line refuses
    it: an output '' (an unset variable) wrote its frames as PNGs into the current folder, a source
    '' read the current folder's images."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, bytes):
        value = os.fsdecode(value)
    if isinstance(value, str) and not value.strip():  # '' is the current folder to Path: read or written whole
        raise DeepPhotoError(f"{what}: empty name (give a file, a folder or a URI)")
    if isinstance(value, str) or (allow_source and isinstance(value, Source)):
        return value
    if isinstance(value, np.ndarray) and allow_source and value.ndim == 4:  # frames, one after another
        return value
    if allow_source and isinstance(value, Iterable) and not isinstance(value, (np.ndarray, bytes, dict)):
        return value  # frames of the caller's own (each checked as it comes)
    kinds = "a path or a URI (text or pathlib.Path)" + (", a Source or an iterable of frames" if allow_source else "")
    hint = f" (a webcam: 'v4l2://{value}')" if isinstance(value, int) and not isinstance(value, bool) else ""
    if isinstance(value, np.ndarray):
        shown = f"array of shape {value.shape}"
        if allow_source:
            hint = " (one picture: pipe(frame) or pipe.photo(image); a video's frames: NxHxWx3)"
    else:
        shown = repr(value)
        shown = shown if len(shown) <= 60 and "\n" not in shown else f"<{type(value).__name__}>"
    raise DeepPhotoTypeError(f"{what} {shown}: must be {kinds}, not {type(value).__name__}{hint}")


def _same_size(image: np.ndarray, size: tuple[int, ...], what: str) -> np.ndarray:
    """``image`` if it is ``size`` (height, width), else a one-line ``FrameError``."""
    if image.shape[:2] != size:
        have, want = f"{image.shape[1]}x{image.shape[0]}", f"{size[1]}x{size[0]}"
        raise FrameError(f"{what} is {have}, the photo {want}: they must be the same size")
    return image


def _alpha8(alpha: np.ndarray) -> np.ndarray:
    """A photo's transparency (HxW or HxWx1; uint8, uint16 or float 0-1) as HxW uint8."""
    if not isinstance(alpha, np.ndarray):
        checked_frame(alpha, "alpha")  # no array: its one-line FrameTypeError
    if alpha.ndim == 3 and alpha.shape[2] == 1:
        alpha = alpha[..., 0]
    if alpha.ndim != 2:
        raise FrameError(f"alpha of shape {alpha.shape}: expected HxW (one channel)")
    return alpha if alpha.dtype == np.uint8 else np.ascontiguousarray(checked_frame(alpha, "alpha")[..., 0])


def process_photo(image: np.ndarray, settings: Settings, painted: np.ndarray | None = None) -> np.ndarray:
    """One photo through a pipeline built for it (``style_scale`` as given: 1 paints at full size)."""
    with Pipeline(settings) as pipe:
        return pipe.photo(image, painted)


def read_photo(path: Path) -> np.ndarray:
    """A photo file as BGR uint8 (one-line error when it is not a readable image)."""
    from deepphoto.frames import read_image

    return read_image(Path(path))


class _PackedAlpha:
    """A photo's person alpha (float32) kept losslessly compressed: mostly 0 and 1 with a band of
    edge between, a 54-megapixel one (216 MB) is a few MB, packed in about 0.3 s here, and given back
    the same to the bit."""

    def __init__(self, alpha: np.ndarray) -> None:
        alpha = np.ascontiguousarray(alpha, np.float32)
        self.shape = alpha.shape
        self.data = zlib.compress(alpha.data, 1)

    def copy(self) -> np.ndarray:
        """The alpha, the caller's own."""
        return np.frombuffer(zlib.decompress(self.data), np.float32).reshape(self.shape).copy()


def _digest(frame: np.ndarray) -> bytes:
    """``frame``'s pixels and shape as a digest (the same pixels: the same digest)."""
    h = hashlib.blake2b(repr((frame.shape, frame.dtype.str)).encode(), digest_size=20)
    h.update(np.ascontiguousarray(frame).data)
    return h.digest()
