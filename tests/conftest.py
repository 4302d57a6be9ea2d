from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DEEPPHOTO_SHARED_DATA", ROOT.parent / "shared" / "data"))

# User styles (deepphoto add-style) live in the user's data folder; the tests see an empty one of
# their own, so styles a developer added never change what a test sees (and none is ever written there).
if "DEEPPHOTO_DATA_DIR" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["DEEPPHOTO_DATA_DIR"] = tempfile.mkdtemp(prefix="deepphoto-test-data-")
    atexit.register(shutil.rmtree, os.environ["DEEPPHOTO_DATA_DIR"], True)

needs_shared = pytest.mark.skipif(
    not (SHARED / "seg" / "portraits").is_dir(),
    reason=f"needs the shared data set at {SHARED} (absent on this machine)",
)
