"""The photo studio: an uploaded photo through one shared ``Pipeline`` (``Pipeline.photo``), as a
quick preview on a small copy or at full size for download, its person mask, the gallery's
thumbnails, and "any painting" (``deepphoto.arbitrary``, when installed) composited into the region.

Strength blends the finished picture with the original photo (0: the photo, 1: the full effect).
"Keep the photo's light" (``keep_exposure``, 0-1) gives a dim or bright photo's exposure back to a
painting: the pipeline's style network applies it itself; a painting made elsewhere (any painting, the
optimiser) gets ``stylizer.keep_exposure`` before it is composited, as ``deepphoto edit`` does.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from deepphoto.errors import DeepPhotoError
from deepphoto.frames import mix, off_white
from deepphoto.settings import Settings, number
from deepphoto.stylizer import keep_exposure
from deepphoto.web import gallery
from deepphoto.web.errors import WebError
from deepphoto.web.limits import Slots
from deepphoto.web.store import Upload, Uploads

if TYPE_CHECKING:
    from deepphoto.arbitrary import ArbitraryStyle
    from deepphoto.pipeline import Pipeline

LOOK_FIELDS = (
    "style",
    "effect",
    "background",
    "painting",
    "region",
    "strength",
    "keep_exposure",
    "threshold",
    "feather",
    "refine",
)


@dataclass(frozen=True)
class PhotoLook:
    """What the page asked for, validated: pipeline changes, an uploaded painting, a strength."""

    changes: dict[str, Any]
    painting: Upload | None
    strength: float

    @property
    def keep_exposure(self) -> float:
        """How much of the photo's exposure a painting is given back (0-1; validated by ``Settings``)."""
        return float(self.changes.get("keep_exposure", 0.0))

    @property
    def name(self) -> str:
        if self.painting is not None:
            return "painting"
        return str(self.changes.get("style") or self.changes.get("effect") or "blur").split(":")[0]


def encode(image: np.ndarray, fmt: str = "JPEG", quality: int = 90) -> tuple[bytes, str]:
    """(bytes, media type): PNG for a PNG or a picture with alpha (BGRA), else JPEG at ``quality``."""
    if fmt == "PNG" or (image.ndim == 3 and image.shape[2] == 4):
        ok, data = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 3])
        media = "image/png"
    else:
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        media = "image/jpeg"
    if not ok:
        raise WebError(500, "the picture could not be encoded")
    return data.tobytes(), media


def with_alpha(image: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    """``image`` (BGR) with ``alpha`` as its fourth channel, or as it is when there is none."""
    return image if alpha is None else np.dstack([image, alpha])


class PhotoStudio:
    """One pipeline for every photo request (networks opened once), used by one request at a time;
    at most ``waiting`` renders queue for it (429 beyond)."""

    def __init__(self, base: Settings, uploads: Uploads, waiting: int = 4) -> None:
        # a photo is painted at full size and never smoothed with another
        self.base = base.changed(style_scale=1.0, smooth=0.0, style=None, effect=None, background=None)
        self.uploads = uploads
        self.renders = Slots(waiting, "pictures being made")
        self.lock = threading.Lock()
        self._pipe: Pipeline | None = None
        self._arbitrary: ArbitraryStyle | None = None
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._thumbs: dict[tuple[str, str], bytes] = {}  # by (style, its user style file's SHA-256)

    # ------------------------------------------------------------------ building

    def pipeline(self) -> Pipeline:
        """The shared pipeline (opened on first use; call with ``self.lock`` held)."""
        if self._pipe is None:
            from deepphoto.pipeline import Pipeline

            self._pipe = Pipeline(self.base)
        return self._pipe

    def warm(self) -> None:
        """Open the networks and paint the thumbnails now (the server does this at start)."""
        self.thumbnails()

    def close(self) -> None:
        with self.lock:
            if self._pipe is not None:
                self._pipe.close()
                self._pipe = None

    def look(self, client: str, values: dict[str, Any]) -> PhotoLook:
        """The page's look fields, checked by ``Settings`` (one-line errors) and resolved to uploads."""
        unknown = sorted(set(values) - set(LOOK_FIELDS))
        if unknown:
            raise WebError(422, f"unknown field {unknown[0]!r}: known are {', '.join(LOOK_FIELDS)}")
        # '' (the page's "none") or null is none; false, 0 or [] is refused by Settings, not taken as none
        style, effect = (None if values.get(k) in (None, "") else values[k] for k in ("style", "effect"))
        painting = None
        if values.get("painting"):
            if style or effect:
                raise WebError(422, "choose one look: a painting of the gallery, an uploaded painting or an effect")
            painting = self.uploads.get(client, values["painting"], "painting")
        background = None
        if effect == "replace":
            if not values.get("background"):
                raise WebError(422, "replace background: upload a background picture first")
            background = self.uploads.get(client, values["background"], "background").path
        changes: dict[str, Any] = {"style": style, "effect": effect, "background": background}
        for key in ("region", "keep_exposure", "threshold", "feather", "refine"):  # unsent: the defaults
            changes[key] = values.get(key, getattr(self.base, key))
        checked = self.base.changed(**changes)  # validate now: a one-line DeepPhotoError names the bad value
        changes["keep_exposure"] = checked.keep_exposure  # a number from here on ("0.5" -> 0.5)
        strength = number("strength", values.get("strength", 1.0), 0.0, 1.0)
        return PhotoLook(changes, painting, strength)

    # ------------------------------------------------------------------ pictures

    def render(
        self, client: str, photo_id: str, values: dict[str, Any], full: bool = False
    ) -> tuple[np.ndarray, Upload, str]:
        """The photo in the look, its preview copy or the full-size photo for download, with its
        transparency when it has one (BGRA, as ``deepphoto edit`` writes a PNG); and what the user
        is told of it ('' or a note: no person found, ...)."""
        photo = self.uploads.get(client, photo_id, "photo")
        look = self.look(client, values)
        image, alpha = (photo.image, photo.alpha) if full else (photo.preview, photo.preview_alpha)
        notes: list[str] = []
        with self.renders.hold():
            painted = self.any_painting(look.painting, image) if look.painting is not None else None
            out = self.compose(image, look, painted, alpha, notes)
        return with_alpha(out, alpha), photo, "; ".join(notes)

    def compose(
        self,
        image: np.ndarray,
        look: PhotoLook,
        painted: np.ndarray | None = None,
        alpha: np.ndarray | None = None,
        notes: list[str] | None = None,
    ) -> np.ndarray:
        """``image`` in ``look`` (``painted``: the look computed elsewhere, composited into the region).
        ``alpha``: a transparent photo's, whose soft edges keep their own colours where it is not
        painted, and by the person are the person's (as ``deepphoto edit`` keeps them). What the user
        is told (``person_note``) goes to ``notes``."""
        from deepphoto.pipeline import person_note

        kept = off_white(image.copy(), alpha) if alpha is not None else None
        with self.lock:
            pipe = self.pipeline()
            changes = dict(look.changes)
            if painted is not None:  # the pipeline only segments and composites
                changes.update(style=None, effect="grey", background=None)
                if look.keep_exposure > 0:  # as the style network's own paintings get it (deepphoto edit)
                    painted = keep_exposure(image, painted, look.keep_exposure)
            pipe.update(**changes)
            out = pipe.photo(image, painted, kept, alpha)  # as `deepphoto edit` writes a transparent PNG
            note = person_note(pipe.person_share, pipe.processor.region)
        if note and notes is not None:  # said for the page's controls, not the command line's
            notes.append(note.replace("--region whole", "the region Whole"))
        return mix(out, image if kept is None else kept, look.strength)

    def mask(self, client: str, photo_id: str, values: dict[str, Any]) -> np.ndarray:
        """The person mask of the preview copy (white: person), as the look's mask controls make it."""
        photo = self.uploads.get(client, photo_id, "photo")
        look = self.look(client, values)
        with self.renders.hold(), self.lock:
            pipe = self.pipeline()
            pipe.update(**{k: v for k, v in look.changes.items() if k in ("threshold", "feather", "refine")})
            alpha = pipe.mask(photo.preview, photo=True)
        grey = (np.clip(alpha, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)
        return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)

    def any_painting(self, painting: Upload, image: np.ndarray) -> np.ndarray:
        """``image`` painted after an uploaded painting by ``deepphoto.arbitrary``, at full strength."""
        model = self.arbitrary()
        vector = self._vectors.get(painting.id)
        if vector is None:
            vector = model.style_vector(painting.image)
            self._vectors[painting.id] = vector
            while len(self._vectors) > 16:
                self._vectors.popitem(last=False)
        return model.paint(image, vector)

    def arbitrary(self) -> ArbitraryStyle:
        """The any-painting networks, opened once; 503 with the reason when they are not here."""
        if self._arbitrary is None:
            try:
                from deepphoto.arbitrary import ArbitraryStyle
            except ImportError:
                raise WebError(503, "'any painting' is not part of this DeepPhoto installation") from None
            try:
                self._arbitrary = ArbitraryStyle.open(threads=self.base.threads)
            except DeepPhotoError as exc:
                raise WebError(503, f"'any painting' is not available: {exc}") from None
        return self._arbitrary

    def thumbnails(self) -> dict[str, bytes]:
        """Style name -> JPEG of the gallery's sample painted in it (each made once; a style added
        with add-style while the Studio runs is painted when the page asks for it, as it lists it,
        and one replaced with add-style --replace is painted again)."""
        from deepphoto.models.shipped import styles_key

        styles = styles_key()  # (name, its user style file's SHA-256)
        if any(key not in self._thumbs for key in styles):
            sample = gallery.sample_picture()
            with self.lock:
                thumbs = {key: t for key, t in self._thumbs.items() if key in styles}
                pipe = self.pipeline()
                for key in styles:
                    if key not in thumbs:
                        pipe.update(style=key[0], effect=None, background=None, region="whole", keep_exposure=0.0)
                        thumbs[key] = gallery.thumbnail(pipe.photo(sample))
            self._thumbs = thumbs
        made = self._thumbs
        return {name: made[(name, sha)] for name, sha in styles if (name, sha) in made}
