"""Review 30: defects found reviewing hunt 30's changes (HDR decoding, bars, resumed batches)."""

from __future__ import annotations

import test_hunt30_resume as resume
from test_hunt30_resume import CHUNKS, assert_clean, batch, stopped

from deepphoto.batch import kept

clip, local_ray = resume.clip, resume.local_ray  # its fixtures (a 40-frame clip, a local Ray)


def test_chunks_made_by_other_deepphoto_code_are_not_joined_with_new_ones(
    clip, local_ray, tmp_path, capsys, monkeypatch
):
    """A batch stopped, DeepPhoto updated (a git pull: its version number, 0.1.0, is not raised for
    each change), the same command again: the chunks the old code made were joined with chunks
    the new code made, so a video could change look midway (today's HDR tone mapping: its first
    half grey and flat, the rest not). Chunks made by other code are rendered again."""
    out = tmp_path / "out"
    stopped(clip, out)
    capsys.readouterr()
    monkeypatch.setattr(kept, "code_digest", lambda: "0" * 64, raising=False)  # the code as updated
    report, rendered = batch(clip, out)
    assert report.count("done") == 1 and sorted(rendered) == list(range(CHUNKS)), report.table()
    err = capsys.readouterr().err
    assert "2 kept chunks discarded (they were made by another version of DeepPhoto or of FFmpeg)" in err, err
    assert_clean(out)
