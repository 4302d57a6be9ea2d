"""Defects earlier hunts left (hunt 35): a ``Pipeline`` held the last photo's full-size alpha after
``pipe.photo`` returned (216 MB for a 54-megapixel photo, for as long as a Studio or batch worker
lived); a film on a server (http://...) lost its subtitle tracks in ``run`` without a word; ..."""

from __future__ import annotations

import functools
import gc
import tracemalloc
from pathlib import Path

import av
import cv2
import numpy as np
from adversarial import RUN_FAST, cli
from media import make_clip

from tests.test_hunt27_api import _person
from tests.test_hunt32_subtitles import WHOLE_GREY, with_subtitles
from tests.test_hunt33_netstreams import Quiet, serving


def test_a_photo_styled_leaves_no_full_size_alpha_held_yet_its_mask_is_the_one_composited(grey_pipe):
    photo = cv2.resize(_person(), (1200, 900), interpolation=cv2.INTER_LINEAR)
    alpha_bytes = photo.shape[0] * photo.shape[1] * 4
    grey_pipe.photo(_person())  # the pipeline's own first-use allocations made outside the measure
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        out = grey_pipe.photo(photo)
        held = tracemalloc.get_traced_memory()[0] - before - out.nbytes
    finally:
        tracemalloc.stop()
    assert held < alpha_bytes / 4, f"{held} bytes held after the photo returned (its alpha: {alpha_bytes})"
    alpha = grey_pipe.mask(photo, photo=True)
    assert alpha.shape == photo.shape[:2] and alpha.dtype == np.float32 and alpha.flags.writeable
    grey = cv2.cvtColor(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR).astype(np.float32)
    rebuilt = photo * alpha[..., None] + grey * (1 - alpha[..., None])
    assert np.abs(rebuilt - out).max() <= 1.0  # the alpha it was composited with
    assert 0.05 < float((alpha > 0.5).mean()) < 0.95
    alpha[:] = 2  # the caller's own
    assert grey_pipe.mask(photo, photo=True).max() <= 1.0  # asked again: not the caller's changed copy


def test_a_film_on_a_server_says_its_subtitles_are_left_out(capsys, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    with_subtitles(make_clip(tmp_path / "plain.mkv", frames=20, audio=True), site / "film.mkv")
    out = tmp_path / "out.mkv"
    with serving(functools.partial(Quiet, directory=str(site))) as url:  # type: ignore[arg-type]
        done = cli(capsys, "run", f"{url}/film.mkv", out, *RUN_FAST, *WHOLE_GREY)
    assert done.status == 0, done.err
    with av.open(str(out)) as c:
        assert len(c.streams.audio) == 1 and not c.streams.subtitles  # the sound kept, the subtitles not
    said = [line for line in done.err.splitlines() if "subtitle" in line]
    assert len(said) == 1 and "1 subtitle track left out" in said[0] and "server" in said[0], done.err
