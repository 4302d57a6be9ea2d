"""``deepphoto export-seg``: training checkpoint -> shipped safetensors, and weights -> ONNX."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from deepphoto.errors import DeepPhotoError
from deepphoto.models.lightnet import LightNet
from deepphoto.models.lightnet_io import export_onnx
from deepphoto.models.weights import save_weights


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", type=Path, help="training checkpoint (runs/seg/last.pt) to convert")
    p.add_argument("--weights", type=Path, help="LightNet safetensors to export (default: shipped)")
    p.add_argument("--safetensors", type=Path, help="write half-precision safetensors here")
    p.add_argument("--onnx", type=Path, help="write the ONNX model here")


def run(args: argparse.Namespace) -> int:
    if not (args.safetensors or args.onnx):
        raise DeepPhotoError("nothing to write: give --safetensors OUT and/or --onnx OUT")
    weights = args.weights
    if args.checkpoint:
        if not args.checkpoint.is_file():
            raise DeepPhotoError(f"{args.checkpoint}: checkpoint not found")
        state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
        net = LightNet(width=int(state.get("width", 128)))
        net.load_state_dict(state["model"])
        out = args.safetensors or args.checkpoint.with_suffix(".safetensors")
        save_weights(net, out, kind="lightnet", config={"width": net.width, "step": int(state["step"])})
        print(f"wrote {out}")
        weights = out
    elif args.safetensors:
        raise DeepPhotoError("--safetensors needs --checkpoint to convert")
    if args.onnx:
        export_onnx(weights, args.onnx)
        print(f"wrote {args.onnx}")
    return 0
