"""Pictures for the README: demo frames as input | person mask | styled background | styled person.

.venv/bin/python scripts/readme_pictures.py docs/demo-frames.jpg
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from deepphoto.assets import demo_clip
from deepphoto.measure.pictures import frame_sheet
from deepphoto.measure.runner import make_clip

if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/demo-frames.jpg")
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip([demo_clip()], Path(tmp) / "clip.mp4", (352, 288), 120)
        print(f"wrote {frame_sheet(clip, out)}")
