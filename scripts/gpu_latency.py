"""Latency of LightNet and StyleNet on every engine this machine can open, at the sizes the
pipeline feeds them, side by side in one process; with each engine's agreement with ONNX Runtime's
float32 on the CPU (the reference every other engine is gated against).

Two times per engine and size: ``call``, the whole ``engine.run`` as the pipeline calls it (host to
device, the network, device to host, numpy out), median over ``--rounds`` after warm-up, with a
fresh input every call; and for the PyTorch CUDA engines ``gpu``, the network alone on the device
(CUDA events around a graph replay, or around an eager call). Prints a markdown table; ``--json``
writes the numbers.

    python scripts/gpu_latency.py --json runs/gpu-latency.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from deepphoto.engines.base import Engine
from deepphoto.engines.build import cuda_for_torch, open_engine
from deepphoto.errors import DeepPhotoError

# (H, W) fed to each network by `run`: LightNet's 352x352 input (and 512x512, its largest TensorRT
# shape); StyleNet at 0.75 of 640x480, 1280x720 and 1920x1080 (the default style scale, multiples of 8).
SIZES = {"lightnet": [(352, 352), (512, 512)], "stylenet": [(360, 480), (544, 960), (808, 1440)]}


def inputs(model: str, h: int, w: int, count: int, styles: int) -> list[tuple[np.ndarray, ...]]:
    rng = np.random.default_rng(h * w)
    out = []
    for i in range(count):
        x = rng.random((1, 3, h, w), dtype=np.float32)
        if model == "lightnet":
            out.append((x,))
        else:
            s = np.zeros((1, styles), np.float32)
            s[0, i % styles] = 1
            out.append((x, s))
    return out


def median_ms(call: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times))


def cycling(call: Callable[..., object], feeds: list[tuple[np.ndarray, ...]]) -> Callable[[], object]:
    """``call`` on the next of ``feeds`` each time: a fresh input every call."""
    turn = iter(range(10**12))
    return lambda: call(*feeds[next(turn) % len(feeds)])


def row(model: str, w: int, h: int, label: str, call: float, device: float | None, agree: str) -> dict:
    found = {
        "model": model,
        "size": f"{w}x{h}",
        "engine": label,
        "call_ms": round(call, 3),
        "gpu_ms": None if device is None else round(device, 3),
        "agreement": agree,
    }
    print(found, flush=True)
    return found


def gpu_ms(engine: Engine, feed: tuple[np.ndarray, ...], rounds: int) -> float | None:
    """The network alone on the GPU, timed with CUDA events (graph replay where the engine uses graphs)."""
    import torch

    if getattr(engine, "device", "") != "cuda" or not hasattr(engine, "module"):
        return None
    tensors = engine._tensors(feed)
    if engine.use_graphs:
        engine._replay(tensors)  # captured
        graph = engine._graphs[tuple(tuple(t.shape) for t in tensors)][0]
        step = graph.replay
    else:

        def step() -> None:
            with torch.inference_mode():
                engine.module(*tensors)

    for _ in range(5):
        step()
    times = []
    for _ in range(rounds):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        step()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return float(np.median(times))


def agreement(model: str, got: np.ndarray, want: np.ndarray) -> str:
    if model == "lightnet":
        flips = float(((got > 0.5) != (want > 0.5)).mean())
        return f"max abs diff {np.abs(got - want).max():.4f}, mask pixels flipped {100 * flips:.3f}%"
    mse = float(np.mean((np.clip(got, 0, 1) - np.clip(want, 0, 1)) ** 2))
    return f"PSNR {10 * np.log10(1 / max(mse, 1e-12)):.1f} dB"


def engines_here(model: str, threads: int | None) -> list[tuple[str, Engine]]:
    from deepphoto.engines.torch_engine import TorchEngine

    wanted = [("onnx", "fp32")]
    if cuda_for_torch():
        wanted += [("torch", "fp16"), ("torch", "fp32")]
    wanted += [("onnx", "fp16"), ("tensorrt", "fp16"), ("tensorrt", "int8")]
    found = []
    for backend, precision in wanted:
        try:
            engine = open_engine(model, backend, precision, threads=threads)
        except DeepPhotoError as exc:
            print(f"# {model} {backend}:{precision} not here: {exc}")
            continue
        found.append((f"{backend}:{precision} ({engine.device})", engine))
        if isinstance(engine, TorchEngine) and engine.use_graphs:  # the same network without graphs
            eager = open_engine(model, backend, precision, threads=threads)
            eager.use_graphs = False
            found.append((f"{backend}:{precision} ({engine.device}, no CUDA graphs)", eager))
    return found


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=100)
    p.add_argument("--threads", type=int, default=None, help="ONNX Runtime CPU threads (default: all cores)")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    rows = []
    for model, sizes in SIZES.items():
        engines = engines_here(model, args.threads)
        styles = 0
        if model == "stylenet":
            from deepphoto.models.shipped import style_names

            styles = len(style_names())
        for h, w in sizes:
            feeds = inputs(model, h, w, 8, styles)
            reference = engines[0][1]  # ONNX Runtime fp32 on the CPU
            want = [reference.run(*f) for f in feeds[:3]]
            for label, engine in engines:
                for f in feeds[:3]:  # warm-up: graph capture, engine tactics, allocator
                    engine.run(*f)
                got = [engine.run(*f) for f in feeds[:3]]
                agree = "; ".join(sorted({agreement(model, g, r) for g, r in zip(got, want)}))[:120]
                rounds = args.rounds if "cpu" not in label else max(10, args.rounds // 5)
                call = median_ms(cycling(engine.run, feeds), rounds)
                device = gpu_ms(engine, feeds[0], rounds)
                rows.append(row(model, w, h, label, call, device, agree))
                if model == "stylenet" and getattr(engine, "device", "") == "cuda":
                    # as the stylizer calls it on a GPU: 8-bit BGR pictures in and out
                    pictures = [(np.ascontiguousarray(x[0].transpose(1, 2, 0) * 255, np.uint8), s) for x, s in feeds]
                    call = median_ms(cycling(engine.run_image, pictures), rounds)
                    rows.append(row(model, w, h, label + ", 8-bit pictures in and out", call, device, "-"))
    machine = {
        "python": platform.python_version(),
        "cpu_cores": __import__("os").cpu_count(),
        "rounds": args.rounds,
        "rounds_cpu": max(10, args.rounds // 5),
    }
    if cuda_for_torch():
        import torch

        machine.update(gpu=torch.cuda.get_device_name(0), torch=torch.__version__, cuda=torch.version.cuda)
    print(f"\n{machine}\n")
    print("| network | input (WxH) | engine | call ms (median) | GPU ms (network alone) | agrees with ONNX fp32 CPU |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        gpu = "-" if r["gpu_ms"] is None else f"{r['gpu_ms']:.2f}"
        print(f"| {r['model']} | {r['size']} | {r['engine']} | {r['call_ms']:.2f} | {gpu} | {r['agreement']} |")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
