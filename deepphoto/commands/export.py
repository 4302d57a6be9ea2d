"""``deepphoto export MODEL``: training checkpoint -> shipped safetensors, and weights -> ONNX."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import torch

from deepphoto.assets import shared_data
from deepphoto.commands.options import SHARED_DATA_HELP
from deepphoto.errors import DeepPhotoError
from deepphoto.models import lightnet_io, styles
from deepphoto.models.lightnet import arch_of, lightnet_of
from deepphoto.models.paintings import STYLE_SOURCES
from deepphoto.models.stylenet import shape_of, stylenet_of
from deepphoto.models.weights import average_weights, save_state
from deepphoto.stream.output_safety import check_not_source, discard, temporary_name


def lightnet_from_checkpoint(state: dict) -> tuple[torch.nn.Module, dict]:
    net = lightnet_of(state)
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state["model"].items()})
    return net, {**arch_of(net), "step": int(state["step"])}


def write_compact(args: argparse.Namespace) -> int:
    """``--resume-checkpoint CKPT --out OUT``: the compact resume checkpoint of a training run."""
    if not (args.resume_checkpoint and args.out):
        raise DeepPhotoError("--resume-checkpoint CKPT and --out FILE go together")
    if args.safetensors or args.onnx or args.package or args.checkpoint or args.average:
        raise DeepPhotoError("--resume-checkpoint writes only --out: give the other outputs in another call")
    check_not_source(args.out, args.resume_checkpoint)
    from deepphoto.training.checkpoints import compact

    out = compact(args.resume_checkpoint, args.out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, from {args.resume_checkpoint})")
    return 0


def stylenet_from_checkpoint(state: dict) -> tuple[torch.nn.Module, dict]:
    # v1 runs saved a config; distilled runs save their styles and shape beside the weights
    config = state.get("config") or {"styles": list(state.get("styles") or [s.name for s in STYLE_SOURCES])}
    net = stylenet_of({**state, **config}, len(config["styles"]))
    net.load_state_dict(state["model"])
    return net, {**config, **shape_of(net), "step": int(state["step"])}


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
    p.add_argument("--data", type=Path, default=shared_data(), help=SHARED_DATA_HELP + " (style-grams)")
    p.add_argument("--checkpoint", type=Path, help="training checkpoint (runs/.../last.pt) to convert")
    p.add_argument("--weights", type=Path, help="safetensors weights to export to ONNX (default: shipped)")
    p.add_argument(
        "--average",
        type=Path,
        nargs="+",
        metavar="WEIGHTS",
        help="write the mean of these safetensors weights (fine-tunes of one network) to --safetensors",
    )
    p.add_argument(
        "--first-architecture",
        action="store_true",
        help="with --average: keep the first file's network; tensors a later file adds (an extra level) are left out",
    )
    p.add_argument("--safetensors", type=Path, help="write half-precision safetensors here")
    p.add_argument("--onnx", type=Path, help="write the ONNX model here")
    p.add_argument(
        "--package",
        action="store_true",
        help="write the ONNX file the runtime loads, next to the shipped weights (after training or averaging)",
    )
    p.add_argument("--note", action="append", default=[], metavar="KEY=VALUE", help="extra metadata")
    p.add_argument(
        "--resume-checkpoint",
        type=Path,
        metavar="CKPT",
        help="write a compact copy of this training checkpoint (float16 weights, bfloat16 Adam moments) "
        "to --out, for committing; 'train-seg --resume OUT' continues it on any machine",
    )
    p.add_argument("--out", type=Path, help="where --resume-checkpoint writes")


def run(args: argparse.Namespace) -> int:
    if args.resume_checkpoint or args.out:
        return write_compact(args)
    if not (args.safetensors or args.onnx or args.package):
        raise DeepPhotoError("nothing to write: give --safetensors OUT, --onnx OUT and/or --package")
    if args.model == "style-grams":
        if not args.safetensors or args.onnx or args.package:
            raise DeepPhotoError("style-grams writes only --safetensors OUT (no --onnx or --package)")
        from deepphoto.optimizer import build_style_grams

        print(f"wrote {build_style_grams(args.data, args.safetensors)}")
        return 0
    if args.checkpoint and args.average:
        raise DeepPhotoError("give --checkpoint or --average, not both")
    if args.first_architecture and not args.average:
        raise DeepPhotoError("--first-architecture goes with --average")
    notes = parse_notes(args.note)  # before any work
    for output in (args.safetensors, args.onnx):  # never written over what it is made from
        if output is not None:
            check_not_source(output, args.checkpoint, args.weights, *(args.average or ()))
    from_checkpoint, to_onnx = MODELS[args.model]
    weights = args.weights
    if args.checkpoint:
        if not args.checkpoint.is_file():
            raise DeepPhotoError(f"{args.checkpoint}: checkpoint not found")
        from deepphoto.training.checkpoints import load

        saved = load(args.checkpoint)  # one line for a damaged, empty or foreign file
        try:
            net, config = from_checkpoint(saved)
        except (RuntimeError, ValueError, KeyError, TypeError, AttributeError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise DeepPhotoError(f"{args.checkpoint}: not a {args.model} training checkpoint ({first})") from None
        state, out, how = net.state_dict(), args.safetensors or args.checkpoint.with_suffix(".safetensors"), ""
    elif args.average:
        if not args.safetensors:
            raise DeepPhotoError("--average needs --safetensors OUT")
        state, config = average_weights(args.average, kind=args.model, first_architecture=args.first_architecture)
        config = {**{k: v for k, v in config.items() if k != "step"}, "averaged": [p.name for p in args.average]}
        out, how = args.safetensors, f" (mean of {len(args.average)} weights files)"
    elif args.safetensors:
        raise DeepPhotoError("--safetensors needs --checkpoint to convert, or --average")
    if args.checkpoint or args.average:
        config.update(notes)
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
        tmp = temporary_name(out)  # unique: two exports never share one; removed if this fails
        try:
            to_onnx(source, tmp)
            stamp_weights_hash(tmp, source)
            tmp.replace(out)
        finally:
            discard(tmp)
        out.chmod(0o644)
        print(f"wrote {out} (from {source.name})")
    return 0


def parse_notes(notes: list[str]) -> dict[str, str]:
    """``--note KEY=VALUE`` options as a dict; one line naming a note without '=' or a key."""
    parsed = {}
    for note in notes:
        key, eq, value = note.partition("=")
        if not eq or not key.strip():
            raise DeepPhotoError(f"--note {note!r}: expected KEY=VALUE")
        parsed[key.strip()] = value
    return parsed
