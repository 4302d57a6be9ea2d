"""Photos of more than 8-bit SDR reviewed as a demanding user takes them, hunt 35 (rphotos): AVIF
photos tagged by their nclx box with a transfer or primaries the HDR photo reader of hunt 35
(``frames._decode_avif``, ``hdr``) read wrong. Each is compared with the sRGB picture it was made
from."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from deepphoto.frames import read_image_alpha
from tests.test_hunt35_hdrphotos import srgb_picture

LINEAR = 8
SRGB_TO_BT2020 = np.array([[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114], [0.0164, 0.0880, 0.8956]])


def linear_light(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` (sRGB uint8) as linear light, 0-1."""
    v = rgb.astype(np.float64) / 255
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def tagged_avif(path: Path, signal: np.ndarray, primaries: int, trc: int, space: int) -> Path:
    """R'G'B' ``signal`` (0-1) as a 10-bit AVIF whose nclx box says ``primaries``, ``trc`` and the
    matrix ``space`` (FFmpeg's numbers), as an editor or a raw converter exports one."""
    if "libsvtav1" not in av.codecs_available or "avif" not in av.formats_available:
        pytest.skip("this PyAV has no SVT-AV1 encoder or AVIF muxer to make a 10-bit AVIF with")
    h, w = signal.shape[:2]
    codes = np.round(np.clip(signal, 0, 1) * 65535).astype(np.uint16)
    matrix = "BT2020" if space == 9 else "ITU709"
    frame = av.VideoFrame.from_ndarray(codes, format="rgb48le").reformat(
        format="yuv420p10le", dst_colorspace=matrix, dst_color_range="MPEG"
    )
    frame.colorspace, frame.color_primaries, frame.color_trc, frame.color_range = space, primaries, trc, 1
    with av.open(str(path), "w", format="avif") as out:
        v = out.add_stream("libsvtav1", rate=1, options={"crf": "10"})
        v.width, v.height, v.pix_fmt = w, h, "yuv420p10le"
        cc = v.codec_context
        cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = space, primaries, trc, 1
        for packet in [*v.encode(frame), *v.encode()]:
            out.mux(packet)
    assert b"colrnclx" + bytes([0, primaries, 0, trc]) in path.read_bytes()[:4096]
    return path


def test_a_linear_light_bt2020_avif_is_not_read_dark(tmp_path: Path) -> None:
    # a raw converter's 'linear Rec2020' export (darktable's working space): nclx 9/8/9
    rgb = srgb_picture()
    signal = np.clip(linear_light(rgb) @ SRGB_TO_BT2020.T, 0, 1) ** (1 / 2.2)  # (finer shadows in 10 bits)
    path = tagged_avif(tmp_path / "linear.avif", signal**2.2, 9, LINEAR, 9)
    read = read_image_alpha(path, warn=lambda _message: None)[0][..., ::-1].astype(int)
    h, w = rgb.shape[:2]
    mid = read[h // 4, w // 2 - 4 : w // 2 + 4].mean()
    # before: its linear codes taken through BT.1886's 2.4, mid-grey 45 for 129, red 108/0/0 for 200/30/30
    assert abs(mid - rgb[h // 4, w // 2 - 4 : w // 2 + 4].mean()) < 8, mid
    red = read[h // 2 + 4 :, 4 : w // 4 - 4].reshape(-1, 3).mean(0)
    assert np.abs(red - (200, 30, 30)).max() < 12, red


SRGB_TO_P3 = np.array([[0.8225, 0.1774, 0.0], [0.0332, 0.9669, 0.0], [0.0171, 0.0724, 0.9108]])
PQ = 16


def pq_signal(light: np.ndarray) -> np.ndarray:
    """Linear light (1: SDR's white, placed at 203 cd/m2 as BT.2408 does) as PQ's signal, 0-1."""
    m1, m2, c1, c2, c3 = 0.1593017578125, 78.84375, 0.8359375, 18.8515625, 18.6875
    y = (np.clip(light, 0, None) * 203 / 10000) ** m1
    return ((c1 + c2 * y) / (1 + c3 * y)) ** m2


def test_a_display_p3_hdr_avif_is_not_read_as_bt2020(tmp_path: Path) -> None:
    # an HDR photo in Display P3 (nclx 12/16/1: a raw converter's 'PQ P3' export)
    rgb = srgb_picture()
    path = tagged_avif(tmp_path / "p3.avif", pq_signal(linear_light(rgb) @ SRGB_TO_P3.T), 12, PQ, 1)
    said: list[str] = []
    read = read_image_alpha(path, warn=said.append, painted=True)[0][..., ::-1].astype(int)
    h, w = rgb.shape[:2]
    # before: its colours turned from BT.2020's primaries, a red 200/30/30 read as 227/0/32, skin
    # 220/170/140 as 235/164/138, and said to be 'HDR (BT.2020 PQ)'
    colours = read[h // 2 + 4 :].reshape(-1, 4, w // 4, 3)[:, :, 4:-4].mean((0, 2))
    assert np.abs(colours - rgb[-1].reshape(4, w // 4, 3)[:, 0]).max() < 8, colours
    assert said == [
        "a 10-bit HDR (Display P3 PQ) photo: painted and written as 8-bit SDR, tone-mapped (its highlights compressed)"
    ]
