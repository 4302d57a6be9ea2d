"""Photos of more than 8-bit SDR through ``edit``, ``batch`` and the Studio, found by hunt 35: HDR
AVIF (10-bit, BT.2020 PQ or HLG, tagged by its nclx box), 16-bit PNG and TIFF. Each output is 8-bit
SDR in sRGB, an HDR photo tone-mapped as a phone's HDR video is; what it loses is said in one line."""

from __future__ import annotations

import io
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from adversarial import cli
from PIL import Image

from deepphoto.frames import read_image, read_image_alpha
from deepphoto.web.limits import UploadLimits, decode_upload

PQ, HLG = 16, 18


def srgb_picture(h: int = 96, w: int = 128) -> np.ndarray:
    """An RGB uint8 test picture: a grey ramp on top, saturated red, green, blue and skin below."""
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[: h // 2] = np.linspace(0, 255, w).round().astype(np.uint8)[None, :, None]
    for i, colour in enumerate(((200, 30, 30), (30, 160, 40), (40, 50, 190), (220, 170, 140))):
        rgb[h // 2 :, i * w // 4 : (i + 1) * w // 4] = colour
    return rgb


def hdr_signal(rgb: np.ndarray, trc: int) -> np.ndarray:
    """``rgb`` (sRGB uint8) as BT.2020 R'G'B' 0-1 of HDR: SDR's white at 203 cd/m2 (PQ) or at 75%
    (HLG, scene light), as BT.2408 places it."""
    v = rgb.astype(np.float64) / 255
    light = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    to2020 = np.array([[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114], [0.0164, 0.0880, 0.8956]])
    light = np.clip(light @ to2020.T, 0, None)
    if trc == PQ:
        m1, m2, c1, c2, c3 = 0.1593017578125, 78.84375, 0.8359375, 18.8515625, 18.6875
        y = (light * 203 / 10000) ** m1
        return ((c1 + c2 * y) / (1 + c3 * y)) ** m2
    e = light * 0.26496  # HLG's 75% is scene light 0.26496
    a, b, c = 0.17883277, 0.28466892, 0.55991073
    return np.where(e <= 1 / 12, np.sqrt(3 * e), a * np.log(np.maximum(12 * e - b, 1e-9)) + c)


def hdr_avif(path: Path, rgb: np.ndarray, trc: int) -> Path:
    """``rgb`` as a 10-bit AVIF tagged BT.2020 and ``trc`` (nclx), as a phone or an editor saves an
    HDR photo (AV1 by SVT-AV1 in FFmpeg's AVIF muxer)."""
    if "libsvtav1" not in av.codecs_available or "avif" not in av.formats_available:
        pytest.skip("this PyAV has no SVT-AV1 encoder or AVIF muxer to make an HDR AVIF with")
    h, w = rgb.shape[:2]
    signal = np.round(hdr_signal(rgb, trc) * 65535).astype(np.uint16)
    frame = av.VideoFrame.from_ndarray(signal, format="rgb48le").reformat(
        format="yuv420p10le", dst_colorspace="BT2020", dst_color_range="MPEG"
    )
    frame.colorspace, frame.color_primaries, frame.color_trc, frame.color_range = 9, 9, trc, 1
    with av.open(str(path), "w", format="avif") as out:
        v = out.add_stream("libsvtav1", rate=1, options={"crf": "10"})
        v.width, v.height, v.pix_fmt = w, h, "yuv420p10le"
        cc = v.codec_context
        cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = 9, 9, trc, 1
        for packet in [*v.encode(frame), *v.encode()]:
            out.mux(packet)
    assert b"colrnclx\x00\x09" + bytes([0, trc]) in path.read_bytes()[:4096]
    return path


@pytest.mark.parametrize("trc", [PQ, HLG])
def test_an_hdr_avif_photo_is_tone_mapped_not_read_grey_and_flat(tmp_path: Path, trc: int) -> None:
    rgb = srgb_picture()
    read = read_image(hdr_avif(tmp_path / "hdr.avif", rgb, trc))[..., ::-1].astype(int)
    h, w = rgb.shape[:2]
    white = read[: h // 2, -8:].mean()
    # before: its 10 bits cut to 8 as they were, PQ's white 146 (58%), HLG's 188 (75%), and its
    # colours read in BT.2020's primaries as sRGB's (a saturated red, 200, 30, 30, came out 122, 78, 62)
    assert white > 240, white
    red = read[h // 2 + 4 :, 4 : w // 4 - 4].reshape(-1, 3).mean(0)
    assert red[0] > 150 and red[1] < 50 and red[2] < 50, red
    if trc == PQ:  # SDR's colours in an HDR photo are SDR's again
        assert np.abs(read - rgb).mean() < 4
    else:  # HLG as on its 1000 cd/m2 display (system gamma 1.2): a darker mid-grey, the ramp kept in order
        ramp = read[h // 4, :, 1]
        assert (np.diff(ramp) >= -2).all() and ramp[0] < 10


def test_an_hdr_avif_turned_by_its_rotation_box_is_tone_mapped_upright(tmp_path: Path) -> None:
    rgb = srgb_picture()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown turned 90 degrees clockwise
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "AVIF", exif=exif.tobytes(), quality=100)
    data = bytearray(buffer.getvalue())
    at = data.find(b"colrnclx")
    data[at + 8 : at + 12] = bytes([0, 9, 0, PQ])  # the same codes, tagged BT.2020 PQ
    path = tmp_path / "turned.avif"
    path.write_bytes(bytes(data))
    upright = read_image(path)
    assert upright.shape[:2] == (128, 96)  # the ramp runs down its right half, dark at the top
    assert upright[6, 60:90].mean() < 30
    # the ramp's code 149 of 255 (PQ's 203 cd/m2, SDR's white) is near white, not 149 as stored
    assert upright[74, 60:90].mean() > 220


def test_an_hdr_avif_photo_says_it_is_written_as_8_bit_sdr(tmp_path: Path) -> None:
    path = hdr_avif(tmp_path / "hdr.avif", srgb_picture(), PQ)
    said: list[str] = []
    read_image_alpha(path, warn=said.append, painted=True)
    assert said == [
        "a 10-bit HDR (BT.2020 PQ) photo: painted and written as 8-bit SDR, tone-mapped (its highlights compressed)"
    ]
    notes: list[str] = []
    decode_upload(path.read_bytes(), UploadLimits(), "photo", notes)  # the Studio's upload
    assert notes == said
    sdr = tmp_path / "sdr.avif"
    Image.fromarray(srgb_picture()).save(sdr, quality=90)
    said.clear()
    read_image_alpha(sdr, warn=said.append, painted=True)
    assert said == []


def deep_files(folder: Path) -> dict[str, Path]:
    """A 16-bit PNG, a 16-bit TIFF (a scanner's export), a 32-bit float TIFF and their 8-bit PNG."""
    bgr = srgb_picture()[..., ::-1]
    files = {
        "16-bit PNG": folder / "scan16.png",
        "16-bit TIFF": folder / "scan16.tif",
        "32-bit float TIFF": folder / "float.tif",
        "8-bit PNG": folder / "plain.png",
    }
    cv2.imwrite(str(files["16-bit PNG"]), bgr.astype(np.uint16) * 257)
    cv2.imwrite(str(files["16-bit TIFF"]), bgr.astype(np.uint16) * 257)
    cv2.imwrite(str(files["32-bit float TIFF"]), bgr.astype(np.float32) / 255)
    cv2.imwrite(str(files["8-bit PNG"]), bgr)
    return files


def test_a_16_bit_photo_says_it_is_painted_and_written_with_8_bits(tmp_path: Path) -> None:
    files = deep_files(tmp_path)
    for kind, path in files.items():
        said: list[str] = []
        read_image_alpha(path, warn=said.append, painted=True)
        notes: list[str] = []
        if path.suffix == ".png":  # the Studio takes PNG, not TIFF
            decode_upload(path.read_bytes(), UploadLimits(), "photo", notes)
        bits = kind.split(" TIFF")[0].split(" PNG")[0]
        if bits == "8-bit":
            assert said == notes == [], kind
        else:  # before: nothing said, and the output was 8-bit
            assert said == [f"a {bits} photo: painted and written with 8 bits a channel"], kind
            assert notes == (said if path.suffix == ".png" else []), kind
        said.clear()
        read_image_alpha(path, warn=said.append)  # read as a painting or a training picture: nothing said
        assert said == [], kind


def test_edit_says_once_that_a_16_bit_png_is_written_with_8_bits(tmp_path: Path, capsys) -> None:
    path = deep_files(tmp_path)["16-bit PNG"]
    out = tmp_path / "out.png"
    result = cli(capsys, "edit", path, out, "--effect", "grey")
    assert result.status == 0, result.err
    lines = [line for line in result.err.splitlines() if "8 bits a channel" in line]
    assert lines == [f"deepphoto: warning: {path}: a 16-bit photo: painted and written with 8 bits a channel"]
    with Image.open(out) as written:
        assert written.mode == "RGB"  # what the line says
