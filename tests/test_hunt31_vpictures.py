"""Hunt 31 (video pictures): what a styled video looks like, judged frame by frame."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from media import encode_into

from deepphoto.stream.processor import FrameProcessor, Look, MaskSettings, painting_weight
from deepphoto.stream.video_colour import decoding_matrix, opaque_bgr
from deepphoto.stream.video_file import VideoFileSource
from tests.test_hunt29_fades import BrightSegmenter, faded, normalising_painter, picture


def _run(frames: list[np.ndarray], smooth: float) -> list[np.ndarray]:
    processor = FrameProcessor(
        BrightSegmenter(), [Look("fake", normalising_painter())], "whole", MaskSettings(smooth=smooth)
    )
    try:
        return [processor(f) for f in frames]
    finally:
        processor.close()


def _crawl(outs: list[np.ndarray]) -> float:
    """Mean grey-level change from one output frame to the next, past the first few."""
    return float(np.mean([np.abs(a.astype(np.int16) - b).mean() for a, b in zip(outs[4:], outs[5:])]))


def _noisy(frame: np.ndarray, count: int, seed: int = 7) -> list[np.ndarray]:
    """``count`` frames of a still ``frame`` with a camera's sensor noise (about one grey level)."""
    rng = np.random.default_rng(seed)
    return [np.clip(frame + rng.normal(0, 1.0, frame.shape), 0, 255).astype(np.uint8) for _ in range(count)]


def test_a_steady_dim_scene_keeps_its_painting_held() -> None:
    """A dim room at night (a webcam's, its brightest tenth about 30 grey levels: painted at about
    85%) was painted afresh on every frame, the painting hold being let go on any frame under full
    light: the whole painted background shimmered (a real clip: 3.0 grey levels of change from frame
    to frame against 0.5 for the same clip a little brighter, its source moving alike). Only a fade
    (the light changing) lets the painting go now; a steady dim scene is held as a lit one is."""
    dim = faded(picture(), 0.12)
    weight = painting_weight(dim)
    assert 0.3 < weight < 0.95  # painted at a share: the dim rule applies
    frames = _noisy(dim, 16)
    held, unheld = _crawl(_run(frames, 0.7)), _crawl(_run(frames, 0.0))
    assert unheld > 2.0  # the stand-in painter crawls with the noise, as StyleNet does
    assert held < 0.25 * unheld, (held, unheld)  # it was as unsteady as with --smooth 0


def _interlaced_clip(path: Path, order: str = "tff", moving: bool = True) -> Path:
    """Six frames of H.264 coded interlaced (as a camcorder's 1080i): an orange bar on grey with a
    fine texture, moving 4 pixels between the fields of a frame (``moving``) or still."""
    rng = np.random.default_rng(3)
    texture = rng.integers(-12, 13, (96, 128, 1))
    with av.open(str(path), "w") as out:
        options = {"flags": "+ilme+ildct", "x264-params": f"{order}=1", "crf": "10"}
        v = out.add_stream("libx264", rate=25, options=options)
        v.width, v.height, v.pix_fmt = 128, 96, "yuv420p"
        frames = []
        for i in range(6):
            img = np.clip(110 + texture, 0, 255).astype(np.uint8).repeat(3, axis=2)
            step = 4 if moving else 0
            first, later = slice(0, None, 2), slice(1, None, 2)  # the top field shown first
            if order == "bff":
                first, later = later, first
            img[first, 20 + 8 * i : 56 + 8 * i] = (40, 150, 240)
            img[later, 20 + step + 8 * i : 56 + step + 8 * i] = (40, 150, 240)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            frames.append(frame)
        encode_into(out, v, frames)
    return path


def _combs(image: np.ndarray) -> float:
    """Share of pixels on odd or even lines that stand out from both lines around them, the same
    way, by over 30 grey levels (a comb's teeth; the texture is under 25)."""
    g = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.int16)
    up, down = g[1:-1] - g[:-2], g[1:-1] - g[2:]
    return float((((up > 30) & (down > 30)) | ((up < -30) & (down < -30))).mean())


def _decoded(path: Path) -> list[np.ndarray]:
    source = VideoFileSource(path)
    try:
        return [frame.image for frame in source]
    finally:
        source.close()


def _raw(path: Path) -> list[np.ndarray]:
    """The frames as stored, decoded as the source decodes them, both fields woven."""
    with av.open(str(path)) as c:
        return [opaque_bgr(f, decoding_matrix(f)) for f in c.decode(video=0)]


@pytest.mark.parametrize("order", ["tff", "bff"])
def test_interlaced_video_is_read_without_combs_bwdif(tmp_path: Path, order: str) -> None:
    """A camcorder's or a broadcast's interlaced video was read with its two fields woven, so a
    moving person's edges were combs (every other line shifted by the motion between the fields), in
    a progressive output no player deinterlaces, and the style painted them as stripes."""
    clip = _interlaced_clip(tmp_path / f"{order}.mp4", order)
    raw, read = _raw(clip), _decoded(clip)
    assert len(read) == len(raw) == 6
    assert min(_combs(f) for f in raw) > 0.005  # the file holds combs at the bar's two edges
    assert max(_combs(f) for f in read) < 0.003, [_combs(f) for f in read]  # bwdif: a trace on the first
    for r, d in list(zip(raw, read))[1:]:  # away from the edges, the picture is as stored (within coding noise)
        same = (np.abs(r.astype(np.int16) - d).max(axis=2) <= 3).mean()
        assert same > 0.85, same


def test_still_interlaced_video_keeps_every_line(tmp_path: Path) -> None:
    """Where nothing moved between the fields the frame is kept, not halved: bwdif is motion adaptive
    (the first frame, with no field before it, is interpolated more; the texture here is pixel noise,
    the hardest case for telling motion)."""
    clip = _interlaced_clip(tmp_path / "still.mp4", moving=False)
    for r, d in list(zip(_raw(clip), _decoded(clip)))[1:]:
        assert (np.abs(r.astype(np.int16) - d).max(axis=2) <= 3).mean() > 0.9
