"""Hunt 31 (colour): the unpainted parts of an output look as the input did in a viewer or player."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from deepphoto.frames import read_image

# ------------------------------------------------------------ PNG gAMA / cHRM chunks


def _srgb_encode(linear: np.ndarray) -> np.ndarray:
    """Linear light (0-1) -> sRGB codes (0-255, float)."""
    linear = np.clip(linear, 0, 1)
    return 255 * np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)


def _with_chunks(data: bytes, chunks: list[tuple[bytes, bytes]]) -> bytes:
    """A PNG's bytes with ``chunks`` (type, data) placed after its header."""
    extra = b"".join(struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d)) for t, d in chunks)
    return data[:33] + extra + data[33:]  # signature (8) + IHDR (25)


def _png(path: Path, rgb: np.ndarray, chunks: list[tuple[bytes, bytes]]) -> None:
    """``rgb`` written as a PNG with ``chunks`` (type, data) placed after its header."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    path.write_bytes(_with_chunks(buf.getvalue(), chunks))


def _gama(gamma: float) -> tuple[bytes, bytes]:
    return b"gAMA", struct.pack(">I", round(gamma * 100000))


def _chrm(*xy: float) -> tuple[bytes, bytes]:
    return b"cHRM", struct.pack(">8I", *(round(v * 100000) for v in xy))


def _chart() -> np.ndarray:
    """Saturated and skin-like patches over a grey ramp (RGB uint8)."""
    patches = np.array([[220, 30, 30], [30, 200, 40], [40, 50, 220], [230, 180, 150], [200, 60, 200], [90, 90, 90]])
    img = np.repeat(patches, 11, axis=0)[:64][None].repeat(48, 0).astype(np.uint8)
    img[24:] = np.linspace(0, 255, 64).round().astype(np.uint8)[None, :, None]
    return img


def test_a_png_whose_gama_chunk_says_another_curve_is_read_as_viewers_show_it(tmp_path):
    """A PNG without a profile but with a gAMA chunk (an old Mac PNG: 1/1.8; a linear one: 1.0) is
    shown by Chromium, Firefox and Safari through that curve; it was read as stored, and the
    unpainted person came out 14 levels (1/1.8) to 60 levels (linear) darker than the photo."""
    img = _chart()
    for gamma in (1 / 1.8, 1.0):
        path = tmp_path / f"gamma{gamma:.2f}.png"
        _png(path, img, [_gama(gamma)])
        expected = _srgb_encode((img / 255.0) ** (1 / gamma))
        got = read_image(path)[..., ::-1].astype(float)
        assert np.abs(got - expected).max() <= 1.5, gamma
        assert np.abs(img - expected).mean() > 10  # as stored would be far off


def test_a_png_whose_chrm_chunk_says_wider_primaries_is_converted(tmp_path):
    """gAMA 1/2.2 and cHRM of Adobe RGB's primaries: every viewer converts (up to 90 levels on a
    saturated green); it was read as stored."""
    img = _chart()
    path = tmp_path / "adobe.png"
    _png(path, img, [_gama(1 / 2.2), _chrm(0.3127, 0.3290, 0.64, 0.33, 0.21, 0.71, 0.15, 0.06)])
    adobe_to_srgb = np.array([[1.3982, -0.3982, 0.0], [0.0, 1.0, 0.0], [0.0, -0.0429, 1.0429]])  # linear, D65
    expected = _srgb_encode(((img / 255.0) ** 2.2) @ adobe_to_srgb.T)
    got = read_image(path)[..., ::-1].astype(float)
    assert np.abs(got - expected).max() <= 2.5
    assert np.abs(img.astype(float) - expected).max() > 30  # as stored would be far off


def test_pngs_that_say_srgb_are_read_as_stored(tmp_path):
    """An sRGB chunk wins over gAMA; gAMA 1/2.2 alone, or with sRGB's cHRM (what ImageMagick
    writes), is sRGB too (as Chromium judges it): no pure 2.2 curve darkening the shadows."""
    img = _chart()
    srgb_chrm = _chrm(0.3127, 0.3290, 0.64, 0.33, 0.30, 0.60, 0.15, 0.06)
    cases = {
        "srgb": [(b"sRGB", b"\0"), _gama(1 / 1.8)],
        "gamma22": [_gama(1 / 2.2)],
        "imagemagick": [_gama(0.45455), srgb_chrm],
        "chrm-alone": [srgb_chrm],
        "nothing": [],
    }
    for name, chunks in cases.items():
        path = tmp_path / f"{name}.png"
        _png(path, img, chunks)
        assert np.array_equal(read_image(path)[..., ::-1], img), name


def test_a_grey_png_with_a_gama_chunk(tmp_path):
    grey = _chart()[..., 1]
    path = tmp_path / "grey.png"
    _png(path, grey, [_gama(1.0)])
    expected = _srgb_encode(grey / 255.0)
    got = read_image(path).astype(float)
    assert np.abs(got - expected[..., None]).max() <= 1.5


def test_chunks_that_describe_no_display_are_ignored(tmp_path):
    img = _chart()
    for name, chunks in {
        "zero-y": [_gama(1 / 1.8), _chrm(0.3127, 0.0, 0.64, 0.33, 0.30, 0.60, 0.15, 0.06)],
        "same-primaries": [_gama(1 / 1.8), _chrm(0.3127, 0.3290, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3)],
    }.items():
        path = tmp_path / f"{name}.png"
        _png(path, img, chunks)
        assert np.array_equal(read_image(path)[..., ::-1], img), name  # as stored, as Chromium shows it


# ------------------------------------------------------------ the Studio's live camera


def _yuv_frame(rgb: np.ndarray):
    """``rgb`` as a browser's camera frame arrives (YUV 4:2:0, BT.601, limited range)."""
    import av
    from av.video.reformatter import ColorRange, Colorspace

    from deepphoto.stream.video_colour import EXACT

    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[..., ::-1]), format="bgr24")
    return frame.reformat(
        format="yuv420p", dst_colorspace=Colorspace.ITU601, dst_color_range=ColorRange.MPEG, interpolation=EXACT
    )


def _shown(frame) -> np.ndarray:
    """What a browser shows of a YUV frame (BT.601, limited range, rounded), as int BGR."""
    from deepphoto.stream.video_colour import EXACT

    if frame.format.name != "yuv420p":  # aiortc's encoders convert anything else so
        frame = frame.reformat(format="yuv420p")
    return frame.to_ndarray(format="bgr24", interpolation=EXACT).astype(int)


def test_the_live_camera_comes_back_as_bright_as_it_went():
    """The Studio's live view: the camera's frame to BGR and the painted frame back to YUV were
    both converted with swscale's truncating default, so an unpainted person came back 1.5-2.8
    levels darker per channel than the page's own camera picture."""
    import asyncio
    from fractions import Fraction

    pytest.importorskip("aiortc", reason="needs the web extra: pip install -e '.[web]'")
    from aiortc import MediaStreamTrack

    from deepphoto.settings import Settings
    from deepphoto.web.live import LiveSession

    rng = np.random.default_rng(31)
    rgb = np.clip(np.linspace(20, 235, 96)[None, :, None] + rng.normal(0, 25, (72, 96, 3)), 0, 255).astype(np.uint8)
    sent = _yuv_frame(rgb)

    class Camera(MediaStreamTrack):
        kind = "video"

        def __init__(self) -> None:
            super().__init__()
            self.count = 0

        async def recv(self):
            await asyncio.sleep(0.01)
            frame = _yuv_frame(rgb)
            frame.pts, frame.time_base = self.count, Fraction(1, 30)
            self.count += 1
            return frame

    class Unpainted:  # a pipeline's face, leaving every pixel as it is
        settings = Settings()

        def __call__(self, image: np.ndarray) -> np.ndarray:
            return image

        def update(self, **changes: object) -> Settings:
            return self.settings

        def describe(self) -> str:
            return "unpainted"

        def close(self) -> None:
            pass

    async def main():
        session = LiveSession("page", Unpainted(), mirror=False, stamp_rows=0)
        pump = asyncio.create_task(session._pump(Camera()))
        try:
            return await asyncio.wait_for(session.output.recv(), 30)
        finally:
            pump.cancel()
            await session.close()

    back = asyncio.run(main())
    diff = (_shown(back) - _shown(sent)).reshape(-1, 3)
    assert np.abs(diff.mean(axis=0)).max() < 0.3, diff.mean(axis=0)


# ------------------------------------------------------------ a video's colour tags


def test_an_rgb_videos_primaries_are_kept(capsys, tmp_path):
    """An RGB video (FFV1, x264rgb: screen recordings, lossless masters) tagged BT.709 was written
    with BT.601's (SMPTE C) primaries and transfer, the matrix's defaults: a colour-managed player
    converts those and shows pure red as (248, 48, 0). The matrix is the size's (BT.601 for SD);
    the primaries and transfer are the source's."""
    import av
    from adversarial import RUN_FAST, cli
    from media import encode_into

    clip, out = tmp_path / "screen.mkv", tmp_path / "out.mp4"
    rgb = np.zeros((48, 64, 3), np.uint8)
    rgb[:, :32, 0] = 255
    with av.open(str(clip), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "bgr0"
        cc = stream.codec_context
        cc.colorspace, cc.color_primaries, cc.color_trc = 0, 1, 1  # RGB, BT.709 primaries and transfer
        frames = []
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[..., ::-1]), format="bgr24").reformat(
                format="bgr0"
            )
            frame.pts = i
            frames.append(frame)
        encode_into(container, stream, frames)
    assert cli(capsys, "run", clip, out, *RUN_FAST, "--effect", "grey", "--region", "person").status == 0
    with av.open(str(out)) as c:
        frame = next(c.decode(video=0))
        assert (frame.colorspace, frame.color_primaries, frame.color_trc) == (6, 1, 1)


# ------------------------------------------------------------ animated pictures


def test_an_animated_webp_or_png_is_read_in_srgb_as_its_still_picture_is(tmp_path):
    """A still WebP with a Display P3 profile, or a PNG whose gAMA says 1/1.8, was read into sRGB;
    an animated one (``run`` plays it frame by frame) was read as stored, every frame shifted (a P3
    red 14-18 Delta-E off)."""
    import sys

    from deepphoto.stream.sources import AnimatedImage

    sys.path.insert(0, str(Path(__file__).parent))
    from test_colour_profile import P3, viewer

    img = _chart()
    frames = [Image.fromarray(img), Image.fromarray(img[:, ::-1].copy())]
    webp = tmp_path / "anim.webp"
    frames[0].save(webp, save_all=True, append_images=frames[1:], duration=100, lossless=True, icc_profile=P3)
    got = [frame.image[..., ::-1].astype(int) for frame in AnimatedImage(webp)]
    expected = viewer(webp)  # the first frame, as a colour-managed viewer shows it
    assert len(got) == 2 and np.abs(got[0] - expected).max() <= 1
    assert np.abs(got[1] - expected[:, ::-1]).max() <= 1

    still = tmp_path / "still.png"
    _png(still, img, [_gama(1 / 1.8)])
    apng = tmp_path / "anim.png"
    frames[0].save(apng, save_all=True, append_images=frames[1:], duration=100)
    apng.write_bytes(_with_chunks(apng.read_bytes(), [_gama(1 / 1.8)]))
    got = [frame.image for frame in AnimatedImage(apng)]
    assert len(got) == 2 and np.array_equal(got[0], read_image(still))


# ------------------------------------------------------------ profiles named sRGB


def test_a_linear_profile_named_srgb_is_applied(tmp_path):
    """A profile whose name says sRGB was taken for sRGB's and left alone: GIMP's 'GIMP built-in
    Linear sRGB' (embedded in what it exports from a linear-light picture) too, and such a photo
    came out 48 levels darker on average than viewers show it. A profile named sRGB is now left
    alone only where it is one (viewers apply what the profile says, whatever its name); sRGB's own
    still reads as stored, exactly."""
    import sys

    from PIL import ImageCms

    sys.path.insert(0, str(Path(__file__).parent))
    from test_colour_profile import _gamma, rgb_profile, viewer

    img = _chart()
    linear = rgb_profile(
        "GIMP built-in Linear sRGB",
        (0.4361, 0.2225, 0.0139),
        (0.3851, 0.7169, 0.0971),
        (0.1431, 0.0606, 0.7141),
        _gamma(1),
    )
    path = tmp_path / "linear.png"
    Image.fromarray(img).save(path, icc_profile=linear)
    assert np.abs(read_image(path)[..., ::-1].astype(int) - viewer(path)).max() <= 1
    assert np.abs(img.astype(int) - viewer(path)).mean() > 20  # as stored would be far off

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = tmp_path / "srgb.png"
    Image.fromarray(img).save(path, icc_profile=srgb)
    assert np.array_equal(read_image(path)[..., ::-1], img)


def test_pictures_and_hdr_are_tagged_with_the_primaries_of_their_pixels(capsys, tmp_path):
    """A GIF, a folder of photos (sRGB: BT.709's primaries) and HDR video mapped into BT.709's
    gamut (``sdr_bgr``) were tagged with BT.601's (SMPTE C) primaries when written below 720 lines
    (a 4K phone clip run with --size 640x360), which QuickTime and Safari convert from: a saturated
    red shown as (214, 48, 28) for (220, 30, 30). An untagged SD YUV video keeps BT.601's."""
    import av
    from adversarial import RUN_FAST, cli

    from deepphoto.stream.video_colour import Colour, output_colour

    gif = tmp_path / "anim.gif"
    frames = [Image.fromarray(_chart()), Image.fromarray(_chart()[:, ::-1].copy())]
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=100)
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, frame in enumerate(frames):
        frame.save(photos / f"{i}.png")
    for source in (gif, photos):
        out = tmp_path / f"{source.stem}.mp4"
        assert cli(capsys, "run", source, out, *RUN_FAST, "--effect", "grey", "--region", "person").status == 0
        with av.open(str(out)) as c:
            frame = next(c.decode(video=0))
            assert (frame.colorspace, frame.color_primaries, frame.color_trc) == (6, 1, 6), source.name
    assert output_colour(Colour(9, 9, 16), 360) == Colour(6, 1, 6)  # HDR10 written small
    assert output_colour(Colour(6, 2, 2), 360) == Colour(6, 6, 6)  # untagged SD video: BT.601's
