"""``deepphoto export MODEL``: training checkpoint -> shipped safetensors, and weights -> ONNX."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import torch

from deepphoto.errors import DeepPhotoError
from deepphoto.models import lightnet_io, styles
from deepphoto.models.lightnet import LightNet
from deepphoto.models.paintings import STYLE_SOURCES
from deepphoto.models.stylenet import StyleNet
from deepphoto.models.weights import average_weights, save_state


def lightnet_from_checkpoint(state: dict) -> tuple[torch.nn.Module, dict]:
    net = LightNet(width=int(state.get("width", 128)))
    net.load_state_dict(state["model"])
    return net, {"width": net.width, "step": int(state["step"])}


def stylenet_from_checkpoint(state: dict) -> tuple[torch.nn.Module, dict]:
    config = state.get("config") or {"styles": [s.name for s in STYLE_SOURCES]}
    net = StyleNet(len(config["styles"]))
    net.load_state_dict(state["model"])
    return net, {**config, "step": int(state["step"])}


MODELS: dict[str, tuple[Callable[[dict], tuple[torch.nn.Module, dict]], Callable[[Path | None, Path], Path]]] = {
    "lightnet": (lightnet_from_checkpoint, lightnet_io.export_onnx),
    "stylenet": (stylenet_from_checkpoint, styles.export_onnx),
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "model",
        choices=[*sorted(MODELS), "style-grams"],
        help="which network; style-grams: the paintings' Gram matrices for --method optimize",
    )
    p.add_argument("--data", type=Path, default=Path("../shared/data"), help="shared data (style-grams)")
    p.add_argument("--checkpoint", type=Path, help="training checkpoint (runs/.../last.pt) to convert")
    p.add_argument("--weights", type=Path, help="safetensors weights to export to ONNX (default: shipped)")
    p.add_argument(
        "--average",
        type=Path,
        nargs="+",
        metavar="WEIGHTS",
        help="write the mean of these safetensors weights (fine-tunes of one network) to --safetensors",
    )
    p.add_argument("--safetensors", type=Path, help="write half-precision safetensors here")
    p.add_argument("--onnx", type=Path, help="write the ONNX model here")
    p.add_argument(
        "--package",
        action="store_true",
        help="write the ONNX file the runtime loads, next to the shipped weights (after training or averaging)",
    )
    p.add_argument("--note", action="append", default=[], metavar="KEY=VALUE", help="extra metadata")


def run(args: argparse.Namespace) -> int:
    if not (args.safetensors or args.onnx or args.package):
        raise DeepPhotoError("nothing to write: give --safetensors OUT, --onnx OUT and/or --package")
    if args.model == "style-grams":
        from deepphoto.optimizer import build_style_grams

        print(f"wrote {build_style_grams(args.data, args.safetensors)}")
        return 0
    if args.checkpoint and args.average:
        raise DeepPhotoError("give --checkpoint or --average, not both")
    from_checkpoint, to_onnx = MODELS[args.model]
    weights = args.weights
    if args.checkpoint:
        if not args.checkpoint.is_file():
            raise DeepPhotoError(f"{args.checkpoint}: checkpoint not found")
        net, config = from_checkpoint(torch.load(args.checkpoint, map_location="cpu", weights_only=True))
        state, out, how = net.state_dict(), args.safetensors or args.checkpoint.with_suffix(".safetensors"), ""
    elif args.average:
        if not args.safetensors:
            raise DeepPhotoError("--average needs --safetensors OUT")
        state, config = average_weights(args.average, kind=args.model)
        config = {**{k: v for k, v in config.items() if k != "step"}, "averaged": [p.name for p in args.average]}
        out, how = args.safetensors, f" (mean of {len(args.average)} weights files)"
    elif args.safetensors:
        raise DeepPhotoError("--safetensors needs --checkpoint to convert, or --average")
    if args.checkpoint or args.average:
        config.update(dict(note.split("=", 1) for note in args.note))
        save_state(state, out, kind=args.model, config=config)
        print(f"wrote {out}{how}")
        weights = out
    if args.onnx:
        to_onnx(weights, args.onnx)
        print(f"wrote {args.onnx}")
    if args.package:
        from deepphoto.models.onnx_cache import stamp_weights_hash
        from deepphoto.models.shipped import SHIPPED, shipped_onnx

        source = Path(weights) if weights else SHIPPED[args.model]
        if source.resolve() != SHIPPED[args.model].resolve():
            raise DeepPhotoError(
                f"--package writes the ONNX of the shipped weights; copy {source} to {SHIPPED[args.model]} first"
            )
        out = shipped_onnx(args.model)
        tmp = out.with_name(f".{out.name}.tmp.onnx")
        to_onnx(source, tmp)
        stamp_weights_hash(tmp, source)
        tmp.replace(out)
        out.chmod(0o644)
        print(f"wrote {out} (from {source.name})")
    return 0
