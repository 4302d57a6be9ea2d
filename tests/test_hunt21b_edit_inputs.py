"""``edit`` given what is not one photo: a video ("not a readable image" said nothing of what it
is: now it says it is a video, and that ``run`` paints videos), and a ``--style-image`` too small
to paint with (the line did not name the file)."""

from __future__ import annotations

import cv2
import numpy as np
from adversarial import FAST, refused, write_png
from media import make_clip

GREY = ["--effect", "grey"]


def test_edit_of_a_video_says_it_is_a_video_and_that_run_takes_it(capsys, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=4)
    out = tmp_path / "out.png"
    said = refused(capsys, "edit", clip, out, *FAST, *GREY, says=f"{clip}: is a video").errors[0]
    assert "deepphoto run" in said, said
    assert not out.exists()


def test_edit_of_a_video_named_as_a_photo_says_so_too(capsys, tmp_path):
    clip = make_clip(tmp_path / "holiday.mp4", frames=4).rename(tmp_path / "holiday.jpg")
    refused(capsys, "edit", clip, tmp_path / "out.png", *FAST, *GREY, says="is a video")


def test_a_file_that_is_neither_is_still_not_a_readable_image(capsys, tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"neither a photo nor a video" * 10)
    refused(capsys, "edit", junk, tmp_path / "out.png", *FAST, *GREY, says="not a readable image")


def test_a_style_image_too_small_is_named(capsys, tmp_path):
    photo = write_png(tmp_path / "photo.png", np.full((32, 32, 3), 100, np.uint8))
    tiny = tmp_path / "one.png"
    cv2.imwrite(str(tiny), np.full((1, 1, 3), 128, np.uint8))
    out = tmp_path / "out.png"
    said = refused(capsys, "edit", photo, out, *FAST, "--style-image", tiny, says=str(tiny)).errors[0]
    assert "1x1" in said and "at least 16 pixels" in said, said
    assert not out.exists()
