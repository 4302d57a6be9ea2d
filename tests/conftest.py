from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DEEPPHOTO_SHARED_DATA", ROOT.parent / "shared" / "data"))

needs_shared = pytest.mark.skipif(
    not (SHARED / "seg" / "portraits").is_dir(),
    reason=f"needs the shared data set at {SHARED} (absent on this machine)",
)
