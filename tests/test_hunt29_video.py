"""Video files a user has, found by hunt 29 (``run`` on real-world containers and damage)."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from adversarial import RUN_FAST, cli
from media import ts_part

WHOLE_GREY = ["--effect", "grey", "--region", "whole"]


def audio_dts(path: Path) -> list[int]:
    with av.open(str(path)) as c:
        return [p.dts for p in c.demux(c.streams.audio[0]) if p.size and p.dts is not None]


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
def test_recordings_joined_with_a_little_overlap_keep_their_sound_as_it_is(capsys, tmp_path, suffix):
    """Two .ts recordings joined (cat a.ts b.ts) where the second starts 0.1 s before the first
    ends: the overlapping sound went one tick after the last packet, two packets at one time in the
    output; an MP4 or MOV refused them and the sound was encoded again, said as 'aac audio re-encoded
    as AAC (a .mp4 file cannot store it)', and a Matroska file held them squeezed into a millisecond."""
    joined = tmp_path / "joined.ts"
    joined.write_bytes(
        ts_part(tmp_path / "a.ts", 0, 30, 300, audio=True) + ts_part(tmp_path / "b.ts", 30, 30, 327, audio=True)
    )
    out = tmp_path / f"out{suffix}"
    result = cli(capsys, "run", joined, out, *RUN_FAST, *WHOLE_GREY)
    assert result.status == 0, result.err
    assert "re-encoded" not in result.err and "not copied" not in result.err, result.err
    dts = audio_dts(out)
    assert len(dts) > 50 and all(b > a for a, b in zip(dts, dts[1:]))  # each packet after the one before
