"""How far the grey change between consecutive frames goes on continuous footage, and across cuts.

For every shared and synthetic clip: the largest and the 99th-percentile 25th-percentile grey
change (brightness matched, as the mask smoother measures it) between consecutive frames; and the
same between the first frames of different clips (cuts). What ``smoothing.CUT_LEVEL`` was chosen
from (docs/benchmark/steadiness.md, "Cuts and the next photo"). Then the likeness test
(``smoothing.likeness``, ``CUT_LIKENESS``): the least alike frame pairs of every clip, and the
frame pairs ``scene_cut`` calls cuts (to be looked at: each should be a cut in the clip).

    python scripts/cut_levels.py 88x88
"""

from __future__ import annotations

import sys
from pathlib import Path

import av
import numpy as np

from deepphoto.datasets import shared_data
from deepphoto.frames import small_grey
from deepphoto.stream.smoothing import likeness, noise_level, picture_change, scene_cut


def main(size: tuple[int, int]) -> None:
    video = shared_data() / "video"
    files = sorted(p for p in video.rglob("*") if p.suffix.lower() in (".mp4", ".mkv", ".avi"))
    files += sorted((Path.home() / ".cache/deepphoto/clips/synthetic").glob("*.mp4"))
    worst, firsts, scenes = [], [], []  # scenes: first frames of clips not of the gesture set (one room)
    alike: list[tuple[float, str, int]] = []  # (likeness, clip, frame) of every frame pair
    cuts: list[tuple[str, int]] = []
    for f in files:
        prev, levels = None, []
        with av.open(str(f)) as c:
            for i, frame in enumerate(c.decode(video=0)):
                if i >= 300:
                    break
                grey = small_grey(frame.to_ndarray(format="bgr24"), size)
                if prev is None:
                    firsts.append(grey)
                    if "asl_gestures" not in f.parts:
                        scenes.append(grey)
                else:
                    levels.append(noise_level(picture_change(grey, prev)) * 255)
                    score = likeness(grey, prev)
                    if score is not None:
                        alike.append((score, f.name, i))
                    if scene_cut(grey, prev):
                        cuts.append((f.name, i))
                prev = grey
        if levels:
            worst.append((max(levels), float(np.percentile(levels, 99)), f.name))
    worst.sort()
    print("continuous footage, grey levels (largest, 99th percentile, clip):")
    for top, p99, name in worst[-6:]:
        print(f"  {top:5.1f} {p99:5.1f} {name}")
    alike.sort()
    print("least alike frame pairs (likeness, clip, frame):", [(round(a, 3), n, i) for a, n, i in alike[:6]])
    print("cuts found (clip, frame):", cuts)
    for what, group in (("all clips", firsts), ("clips outside the gesture set", scenes)):
        cuts = [noise_level(picture_change(a, b)) * 255 for i, a in enumerate(group) for b in group[i + 1 :]]
        print(
            f"first frames of {what}: {len(cuts)} pairs, least {min(cuts):.1f}, "
            f"5th percentile {np.percentile(cuts, 5):.1f}, median {np.median(cuts):.1f}"
        )


if __name__ == "__main__":
    main(tuple(int(v) for v in (sys.argv[1] if len(sys.argv) > 1 else "88x88").split("x")))  # type: ignore[arg-type]
