"""INT8 latency of LightNet shapes with random weights: what a decoder cut would buy, before training.

    .venv/bin/python scripts/decoder_latency.py 128:4:32:3 128:4:32:1 96:2:32:1 [--size 352]

Each shape is WIDTH:CRP_STAGES:FINE_LEVEL:HEAD. Exported and quantized as the engines do (QDQ,
per channel, percentile calibration, LightNet's op types; on 4 random inputs: latency does not
depend on the values),
then timed in one process, alternating between shapes (12 rounds of 20 runs each, medians), at
2 threads with ONNX Runtime on the CPU. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from deepphoto.engines.models import model_spec
from deepphoto.engines.quantize import quantize_int8
from deepphoto.models.lightnet import LightNet
from deepphoto.models.lightnet_io import export_net


def shaped(width: int, stages: int, fine: int, head: int) -> LightNet:
    torch.manual_seed(0)
    net = LightNet(width=width, crp_stages=stages, fine_level=fine, head=head)
    for m in net.modules():  # the fine head starts at zero: give it weights like any other layer
        if isinstance(m, nn.Conv2d) and not m.weight.abs().sum():
            nn.init.normal_(m.weight, std=0.05)
    return net.eval()


def int8_file(spec: str, folder: Path) -> Path:
    width, stages, fine, head = (int(v) for v in spec.split(":"))
    float_onnx, out = folder / f"{spec.replace(':', '_')}.onnx", folder / f"{spec.replace(':', '_')}.int8.onnx"
    export_net(shaped(width, stages, fine, head), float_onnx)
    rng = np.random.default_rng(0)
    feeds = ({"rgb": rng.random((1, 3, 352, 352), dtype=np.float32)} for _ in range(4))
    quantize_int8(float_onnx, out, feeds, op_types=list(model_spec("lightnet").int8_ops))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("shapes", nargs="+", help="WIDTH:CRP_STAGES:FINE_LEVEL:HEAD, e.g. 128:4:32:3 (v14's)")
    ap.add_argument("--size", type=int, default=352)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = [int8_file(s, Path(tmp)) for s in args.shapes]
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = args.threads
        sessions = [ort.InferenceSession(str(f), opts, providers=["CPUExecutionProvider"]) for f in files]
        x = np.random.default_rng(1).random((1, 3, args.size, args.size), dtype=np.float32)
        times: list[list[float]] = [[] for _ in sessions]
        for _ in range(12):
            for s, t in zip(sessions, times):
                for _ in range(5):
                    s.run(None, {"rgb": x})
                for _ in range(20):
                    start = time.perf_counter()
                    s.run(None, {"rgb": x})
                    t.append(time.perf_counter() - start)
    for spec, t in zip(args.shapes, times):
        ms = 1000 * float(np.median(t))
        print(f"{spec:>14}  {ms:6.2f} ms  ({args.size}x{args.size}, {args.threads} threads, INT8)")


if __name__ == "__main__":
    main()
