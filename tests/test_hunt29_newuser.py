"""Hunt 29 (newuser): what a new user hits copying the README's commands on a plain machine
(no camera, no display, a read-only home, a stream that does not answer)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def deepphoto_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def test_onnx_runtime_telemetry_is_off(tmp_path):
    """ONNX Runtime 1.32 reports usage to Microsoft unless ORT_DISABLE_TELEMETRY is set, keeps a
    device id in ~/.cache/Microsoft, and printed a coloured 'Failed to persist telemetry device ID'
    line on every command where the home folder cannot be written. Importing deepphoto turns it off."""
    pytest.importorskip("onnxruntime")
    code = (
        "import deepphoto, os\n"
        "from deepphoto.models.shipped import shipped_onnx\n"
        "import onnxruntime as ort\n"
        "ort.InferenceSession(str(shipped_onnx('lightnet')), providers=['CPUExecutionProvider'])\n"
        "print(os.environ['ORT_DISABLE_TELEMETRY'])\n"
    )
    env = deepphoto_env(HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "cache"))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
    assert not (tmp_path / ".cache" / "Microsoft").exists()
    assert not (tmp_path / "cache" / "Microsoft").exists()
    assert "telemetry" not in done.stderr.lower()


def test_a_telemetry_choice_of_the_users_own_is_kept():
    code = "import deepphoto, os; print(os.environ['ORT_DISABLE_TELEMETRY'])"
    env = deepphoto_env(ORT_DISABLE_TELEMETRY="0")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "0", done.stderr
