"""Review of hunt 31's video reading and writing (review 31).

- A web address that answers at once with what is not a video (a web page) was said to be 'stream
  not reachable (Invalid data found when processing input)': the server had answered. It is 'not a
  readable video' again, as before hunt 31; a server that never answers is still 'no answer in 10 s'.
- A Matroska's timecode (a tag of its picture, 'TIMECODE', as FFmpeg and mkvmerge write it) was
  lost: it was looked up as 'timecode' only, and a file without sound whose only extra was its
  timecode was not remuxed at all.
- A photo or an animation's frame with an sRGB-named profile built a LittleCMS transform and ran a
  probe through it on every read (7 ms a picture, 0.01 ms before hunt 31): judged once a profile.
"""

from __future__ import annotations

import http.server
import io
from pathlib import Path

import av
import numpy as np
import pytest
from adversarial import RUN_FAST, cli
from media import make_clip
from test_hunt31_streams import serving

from deepphoto.errors import DeepPhotoError
from deepphoto.stream.sources import open_source

WHOLE_GREY = ["--effect", "grey", "--region", "whole"]


@pytest.fixture
def web_page():
    """An HTTP server that answers every request with a small web page."""
    page = b"<html><body>not a video</body></html>"

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    with serving(Page) as url:
        yield f"{url}/watch.html"


def test_a_web_page_is_not_a_readable_video_not_an_unreachable_stream(web_page) -> None:
    with pytest.raises(DeepPhotoError) as caught:
        open_source(web_page)
    said = str(caught.value)
    assert said.startswith(f"{web_page}: not a readable video ("), said
    assert "not reachable" not in said


def matroska_with_timecode(path: Path) -> Path:
    """A clip without sound whose picture carries a timecode, as a Matroska stores it (a tag)."""
    clip = make_clip(path.with_name("plain.mp4"), frames=10)
    with av.open(str(clip)) as src, av.open(str(path), "w") as dst:
        stream = src.streams.video[0]
        out = dst.add_stream_from_template(stream)
        out.metadata["timecode"] = "10:00:00:00"
        for packet in src.demux(stream):
            if packet.size:
                packet.stream = out
                dst.mux(packet)
    with av.open(str(path)) as c:
        assert "TIMECODE" in c.streams.video[0].metadata  # as the file holds it
    return path


@pytest.mark.parametrize("suffix", [".mov", ".mkv"])
def test_a_matroskas_timecode_is_kept(capsys, tmp_path: Path, suffix: str) -> None:
    source = matroska_with_timecode(tmp_path / "camera.mkv")
    out = tmp_path / f"out{suffix}"
    result = cli(capsys, "run", source, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    with av.open(str(out)) as c:
        said = {str(v) for s in c.streams for k, v in s.metadata.items() if k.lower() == "timecode"}
    assert said == {"10:00:00:00"}


def test_an_srgb_profile_is_judged_once(monkeypatch) -> None:
    from PIL import ImageCms

    from deepphoto import colour_profile

    colour_profile._keeps_srgb.cache_clear() if hasattr(colour_profile, "_keeps_srgb") else None
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    built = []
    build = ImageCms.buildTransform

    def counted(*args: object, **kwargs: object) -> object:
        built.append(args)
        return build(*args, **kwargs)

    monkeypatch.setattr(ImageCms, "buildTransform", counted)
    image = np.random.default_rng(0).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    for _ in range(3):  # three photos of a folder, three frames of an animation
        assert np.array_equal(colour_profile.to_srgb(image.copy(), profile), image)  # read as stored
    assert len(built) <= 1


def test_a_linear_profile_named_srgb_is_still_converted() -> None:
    """The judgement once a profile still tells GIMP's linear 'sRGB' from sRGB's own."""
    from PIL import ImageCms

    from deepphoto.colour_profile import png_chunk_profile, to_srgb

    linear = png_chunk_profile(1.0, None, False)  # sRGB's primaries, a linear curve
    assert linear is not None
    named = linear.replace(b"PNG gAMA and cHRM", b"Linear sRGB 1.0  ")  # its description says sRGB
    assert "srgb" in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(named))).lower()
    grey = np.full((4, 4, 3), 60, np.uint8)
    for _ in range(2):
        assert to_srgb(grey.copy(), named)[0, 0, 0] > 100  # a linear 60 is sRGB's 136 or so
