"""``deepphoto build-engine MODEL``: build (calibrate, gate, time) and cache an engine, and say how it did."""

from __future__ import annotations

import argparse
from pathlib import Path

from deepphoto.engines.build import (
    INT8_MARGIN,
    auto_backends,
    build,
    check_choice,
    cpu_auto_precision,
    require_tensorrt,
)
from deepphoto.engines.models import MODELS, model_spec
from deepphoto.errors import DeepPhotoError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL", help=f"one of {', '.join(MODELS)}")
    p.add_argument(
        "--backend", default="onnx", help="onnx (default) or tensorrt; auto: TensorRT where it runs, else onnx"
    )
    p.add_argument("--precision", default="int8", help="int8 (default) or fp16")
    p.add_argument(
        "--calib",
        type=Path,
        default=None,
        help="calibration images folder or video (default: "
        "training portraits of ../shared/data, else the demo footage)",
    )
    p.add_argument("--weights", type=Path, default=None, help="weights to build from (default: the shipped ones)")
    p.add_argument("--force", action="store_true", help="rebuild even when a valid cached engine exists")


def run(args: argparse.Namespace) -> int:
    check_choice(args.backend, args.precision)
    if args.precision in ("auto", "fp32"):
        raise DeepPhotoError(
            f"--precision {args.precision}: build-engine builds int8 or fp16 (fp32 runs the ONNX file)"
        )
    backend = args.backend
    if backend == "auto":
        backend = next(b for b in auto_backends() if b in ("tensorrt", "onnx"))
    if backend not in ("onnx", "tensorrt"):
        raise DeepPhotoError(f"--backend {backend}: engines are built for onnx or tensorrt (torch runs as it is)")
    if backend == "tensorrt":
        require_tensorrt()
    spec = model_spec(args.model, args.weights)
    built = build(spec, backend, args.precision, args.weights, args.calib, force=args.force)
    info = built.info
    print(f"model        {spec.name} ({args.weights or 'shipped weights'})")
    print(f"engine       {built.path}")
    print(f"backend      {backend} {info['key']['backend_version']} on {info['key']['device']}")
    print(f"calibration  {info['calibration']} ({info.get('calibration_frames', '-')} frames)")
    print(f"gate         {info['gate']}")
    print(
        f"speed        {info['ms']:.2f} ms vs {info.get('reference', 'float')} {info['float_ms']:.2f} ms "
        f"at {info['bench_size']} ({info['speedup']:.2f}x)"
    )
    if info["use"] != args.precision:
        print(f"result       {args.precision} refused by its gate: {spec.name} runs in {info['use']} instead")
    elif backend == "onnx" and "CPU" in info.get("reference", "CPU"):
        auto = cpu_auto_precision(info)
        verdict = speed_verdict(info, auto)
        print(f"result       {args.precision} passes its gate and {verdict}: --precision auto runs {auto}")
    else:
        print(f"result       {args.precision} passes its gate: --precision {args.precision} runs it")
    return 0


def speed_verdict(info: dict, auto: str) -> str:
    """How the reduced precision timed against float when built, as ``--precision auto`` judges it:
    faster, slower, or faster by less than the margin auto asks for (a near tie keeps float)."""
    speedup = float(info.get("speedup", 0))
    if auto == info.get("use"):
        return "is faster than float here"
    if speedup >= 1:
        return f"is only {speedup:.2f}x as fast as float here (auto asks for {INT8_MARGIN:g}x)"
    return "is slower than float here"
