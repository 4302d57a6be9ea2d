"""``deepphoto bench``: how fast, how accurate, how steady, in one run, with the peers beside.

Runs the real pipeline (decode, segment, smooth, style, composite, H.264 encode) on a clip at each
size, for each available backend and precision, with and without a style, for each region; writes
``report.md``, ``report.json`` and plots to ``--out``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tqdm import tqdm

from deepphoto.bench.report import write_report
from deepphoto.bench.runner import WARMUP_FRAMES, Config, make_clip, run_config
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import parse_size
from deepphoto.stream.sources import VIDEO_SUFFIXES

DEFAULT_LOOKS = "starry-night:background,starry-night:person,starry-night:whole,blur:background"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("clip", nargs="?", type=Path, help="video file or folder of clips (default: the demo footage)")
    p.add_argument("--sizes", default="640x480,1280x720", help="frame sizes WxH, comma-separated")
    p.add_argument("--backend", default="all", help="all, or comma-separated from onnx, torch, tensorrt")
    p.add_argument("--precision", default="all", help="all, or comma-separated from fp32, fp16, int8")
    p.add_argument("--looks", default=DEFAULT_LOOKS, help="LOOK:REGION list; LOOK a style or an effect (no style)")
    p.add_argument("--frames", type=int, default=90, help="measured frames per configuration")
    p.add_argument("--threads", type=int, default=None, help="threads per network (default: all cores)")
    p.add_argument("--no-peers", action="store_true", help="skip MediaPipe, the classic style network, accuracy")
    p.add_argument("--out", type=Path, default=Path("bench-report"), help="report folder")


def clip_sources(clip: Path | None) -> list[Path]:
    if clip is None:
        from deepphoto.assets import demo_clip

        return [demo_clip()]
    if clip.is_dir():
        clips = sorted(p for p in clip.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
        if not clips:
            raise DeepPhotoError(f"{clip}: no video files in this folder")
        return clips
    if not clip.is_file():
        raise DeepPhotoError(f"{clip}: clip not found")
    return [clip]


def choices(backends: str, precisions: str) -> list[tuple[str, str]]:
    """(backend, precision) pairs that can run on this machine, in the order asked."""
    from deepphoto.engines.build import cuda_for_torch, ort_has_cuda
    from deepphoto.engines.tensorrt_engine import tensorrt_status

    runnable = {
        # auto: what `deepphoto run` uses by default (each network at the precision that won its build)
        "onnx": ["auto", "fp32", "int8"] + (["fp16"] if ort_has_cuda() else []),
        "torch": ["fp32"] + (["fp16"] if cuda_for_torch() else []),
        "tensorrt": ["fp16", "int8"] if tensorrt_status()[0] else [],
    }
    wanted_b = list(runnable) if backends == "all" else backends.split(",")
    for b in wanted_b:
        if b not in runnable:
            raise DeepPhotoError(f"unknown backend {b!r}: choose from all, {', '.join(runnable)}")
    out = []
    for b in wanted_b:
        for p in runnable[b] if precisions == "all" else precisions.split(","):
            if p in runnable[b]:
                out.append((b, p))
            elif backends != "all" and precisions != "all":
                print(f"deepphoto: {b}:{p} cannot run on this machine; skipped", file=sys.stderr)
    if not out:
        raise DeepPhotoError(f"no runnable backend:precision among {backends} / {precisions}")
    return out


def parse_looks(text: str) -> list[tuple[str, str]]:
    from deepphoto.models.styles import style_names
    from deepphoto.stream.composite import REGIONS
    from deepphoto.stream.effects import EFFECT_NAMES

    known = [*style_names(), *(e for e in EFFECT_NAMES if e != "replace")]
    looks = []
    for part in text.split(","):
        look, _, region = part.partition(":")
        region = region or "background"
        if look not in known:
            raise DeepPhotoError(f"--looks {part!r}: {look!r} is not a style or effect ({', '.join(known)})")
        if region not in REGIONS:
            raise DeepPhotoError(f"--looks {part!r}: region must be one of {', '.join(REGIONS)}")
        looks.append((look, region))
    return looks


def machine(threads: int | None) -> dict:
    import cv2
    import numpy as np
    import onnxruntime as ort

    from deepphoto.engines.build import cuda_for_torch
    from deepphoto.engines.cache import cpu_name

    versions = {"onnxruntime": ort.__version__, "numpy": np.__version__, "opencv": cv2.__version__}
    gpu = "none"
    try:
        import torch

        versions["torch"] = torch.__version__
        if cuda_for_torch():
            gpu = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30 if hasattr(os, "sysconf") else 0
    return {
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "memory_gb": round(memory, 1),
        "gpu": gpu,
        "threads": threads or "all cores",
        "python": platform.python_version(),
        "os": platform.platform(),
        "versions": versions,
    }


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    looks = parse_looks(args.looks)
    if args.frames < 2:
        raise DeepPhotoError("--frames must be at least 2")
    sources = clip_sources(args.clip)
    pairs = choices(args.backend, args.precision)
    configs = [Config(size, b, p, look, region) for size in sizes for b, p in pairs for look, region in looks]
    report: dict = {
        "command": "deepphoto bench " + " ".join(sys.argv[2:]) if sys.argv[1:2] == ["bench"] else "deepphoto bench",
        "machine": machine(args.threads),
        "clip": {"source": ", ".join(p.name for p in sources), "frames": args.frames, "warmup": WARMUP_FRAMES},
        "configs": [],
        "failed": [],
    }
    traces: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        clips = {
            size: make_clip(sources, Path(tmp) / f"clip-{size[0]}x{size[1]}.mp4", size, args.frames) for size in sizes
        }
        for cfg in tqdm(configs, desc="bench", unit="config"):
            try:
                row, trace = run_isolated(cfg, clips[cfg.size], Path(tmp), args.threads)
            except Exception as exc:  # one configuration failing must not lose the others
                message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                print(f"deepphoto: {cfg.label}: failed ({message}); recorded and skipped", file=sys.stderr)
                report["failed"].append({"label": cfg.label, "error": message})
                continue
            report["configs"].append(row)
            if trace and not traces:
                traces, report["flicker_config"] = trace, cfg.label
        if not report["configs"]:
            raise DeepPhotoError("every configuration failed: " + "; ".join(f["error"] for f in report["failed"]))
        if not args.no_peers:
            add_peers(report, clips[sizes[0]], sizes[0], pairs, args.threads)
        from deepphoto.bench.pictures import frame_sheet

        sheet = frame_sheet(clips[sizes[0]], args.out / "frames.jpg")
    report["seconds"] = round(time.perf_counter() - started, 1)
    written = [*write_report(report, args.out, traces), sheet]
    print((args.out / "report.md").read_text())
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def run_isolated(cfg: Config, clip: Path, tmp: Path, threads: int | None) -> tuple[dict, dict]:
    """One configuration in a fresh process: its peak memory is its own, and no session, thread
    pool or allocator state carries over from the one before."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(run_config, cfg, clip, tmp, threads).result()


def add_peers(
    report: dict, clip: Path, size: tuple[int, int], pairs: list[tuple[str, str]], threads: int | None
) -> None:
    from deepphoto.bench.peers import accuracy, segmentation_peers, style_peers
    from deepphoto.engines.models import shared_data
    from deepphoto.segmenter import Segmenter
    from deepphoto.stream.sources import open_source

    frames = [f.image for f in open_source(str(clip))][:60]
    report["peer_size"] = "x".join(map(str, size))
    report["segmentation_peers"] = segmentation_peers(frames, Segmenter("onnx", threads=threads), threads)
    report["style_peers"] = style_peers(frames[0])
    seg_pairs = [(b, p) for b, p in pairs if b != "torch"] or pairs
    report["portraits"] = str(shared_data() / "seg" / "portraits")
    report["accuracy"] = accuracy(shared_data() / "seg" / "portraits", seg_pairs, threads)
