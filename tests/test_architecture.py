"""The layout keeps its promises: imports point one way, no cycles, the runtime needs no PyTorch,
only commands read argument objects, and the GPL teacher is out of reach of the product."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "deepphoto"

# Lower layers never import higher ones (commands -> pipeline -> segmenters/stream -> engines -> models).
LAYERS: list[tuple[str, ...]] = [
    (
        "deepphoto.errors",
        "deepphoto.settings",
        "deepphoto.image_header",
        "deepphoto.colour_profile",
        "deepphoto.hdr",  # HDR and BT.2020 pictures as SDR: PyAV, OpenCV and NumPy alone
        "deepphoto.frames",
        "deepphoto.picture_box",
        "deepphoto.metrics",
        "deepphoto.assets",
        "deepphoto.datasets",
        "deepphoto.stream.output_safety",  # files written whole or not at all: errors and settings alone
        "deepphoto.stream.animation",  # whether a picture file is animated: OpenCV and NumPy alone
    ),
    (
        "deepphoto.models",
        "deepphoto.stream.frame",
        "deepphoto.stream.video_file",  # video files in and out; below it, their parts:
        "deepphoto.stream.video_container",
        "deepphoto.stream.video_colour",
        "deepphoto.stream.video_sound",
        "deepphoto.stream.video_subtitles",
        "deepphoto.stream.deinterlace",
    ),
    ("deepphoto.engines", "deepphoto.calibration"),
    ("deepphoto.segmenters", "deepphoto.stylizer", "deepphoto.arbitrary", "deepphoto.stream", "deepphoto.optimizer"),
    ("deepphoto.pipeline",),
    ("deepphoto.measure", "deepphoto.training", "deepphoto.teachers", "deepphoto.web", "deepphoto.batch"),
    ("deepphoto.commands", "deepphoto.__main__", "deepphoto"),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Every deepphoto module ``path`` imports, at any level (function-level too), except under
    ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text())
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for b in node.body for n in ast.walk(b))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("deepphoto"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("deepphoto"):
            for a in node.names:
                sub = f"{node.module}.{a.name}"
                found.add(sub if sub in known else node.module)
    return {m for m in found if m in known}


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(path, known) - {name} for name, path in mods.items()}


def layer(module: str) -> int:
    best, rank = -1, -1
    for i, names in enumerate(LAYERS):
        for prefix in names:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), i
    assert rank >= 0, f"{module} is in no layer: add it to LAYERS"
    return rank


def test_imports_point_down_the_layers():
    wrong = [
        f"{a} (layer {layer(a)}) imports {b} (layer {layer(b)})"
        for a, targets in graph().items()
        for b in targets
        if layer(b) > layer(a) and not b.startswith(a + ".")
    ]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    g = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                part.append(w)
                if w == v:
                    break
            # a package importing its own submodules is not a cycle of modules
            if len(part) > 1 and not all(
                p.startswith(min(part, key=len) + ".") or p == min(part, key=len) for p in part
            ):
                cycles.append(sorted(part))

    for v in sorted(g):
        if v not in index:
            visit(v)
    assert not cycles, cycles


def closure(start: str) -> set[str]:
    g, seen, todo = graph(), set(), [start]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(g.get(m, ()))
    return seen


def test_product_never_reaches_the_gpl_teacher_or_training():
    for entry in ("deepphoto.commands.run", "deepphoto.commands.edit", "deepphoto.commands.demo", "deepphoto.pipeline"):
        reached = closure(entry)
        bad = sorted(m for m in reached if m.startswith(("deepphoto.teachers", "deepphoto.training")))
        assert not bad, f"{entry} reaches {bad}"


def test_only_commands_read_argument_objects():
    readers = [
        name
        for name, path in modules().items()
        if not name.startswith("deepphoto.commands") and "argparse" in path.read_text()
    ]
    assert not readers, readers


BLOCK_TORCH = """
import sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError("No module named 'torch'", name="torch")
sys.meta_path.insert(0, NoTorch())
"""


def test_runtime_runs_without_torch(tmp_path):
    """A photo through the pipeline (ONNX Runtime, the shipped ONNX files) with torch unimportable."""
    script = (
        BLOCK_TORCH
        + """
import numpy as np
from deepphoto import Pipeline, Settings
from deepphoto.models.shipped import style_names
image = np.zeros((96, 128, 3), np.uint8)
image[20:80, 40:90] = 200
with Pipeline(Settings(style=style_names()[0], backend="onnx", precision="fp32", style_scale=1.0)) as pipe:
    out = pipe.photo(image)
assert out.shape == image.shape and out.dtype == np.uint8
assert "torch" not in sys.modules
print("ok", float(np.abs(out.astype(int) - image).mean()))
"""
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("ok")
    assert float(done.stdout.split()[1]) > 1.0  # the background was painted


def test_help_does_not_import_heavy_modules():
    script = "import sys\nfrom deepphoto.commands.cli import build_parser\nbuild_parser('run')\n" + (
        "print(sorted(m for m in ('torch', 'cv2', 'numpy', 'onnxruntime', 'av') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
