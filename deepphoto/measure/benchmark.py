"""The benchmark: the real pipeline (decode, segment, smooth, style, composite, H.264 encode) on a
clip at each size, for each backend and precision that runs here, for each look and region; each
configuration in its own process; peers beside; a report with plots."""

from __future__ import annotations

import multiprocessing
import os
import platform
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tqdm import tqdm

from deepphoto.errors import DeepPhotoError
from deepphoto.measure.report import write_report
from deepphoto.measure.runner import WARMUP_FRAMES, Config, make_clip, run_config
from deepphoto.settings import VIDEO_SUFFIXES


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
    from deepphoto.models.shipped import style_names
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
        "threads": threads or "half the cores each where a style paints while the person is segmented, else all",
        "python": platform.python_version(),
        "os": platform.platform(),
        "versions": versions,
    }


def run_benchmark(
    sizes: list[tuple[int, int]],
    looks: list[tuple[str, str]],
    pairs: list[tuple[str, str]],
    sources: list[Path],
    out: Path,
    frames: int = 90,
    threads: int | None = None,
    peers: bool = True,
    command: str = "deepphoto bench",
) -> list[Path]:
    """Every configuration measured; ``report.md``, ``report.json``, plots and a frame sheet
    written to ``out``; returns the files written."""
    started = time.perf_counter()
    if frames < 2:
        raise DeepPhotoError("--frames must be at least 2")
    configs = [Config(size, b, p, look, region) for size in sizes for b, p in pairs for look, region in looks]
    report: dict = {
        "command": command,
        "machine": machine(threads),
        "clip": {"source": ", ".join(p.name for p in sources), "frames": frames, "warmup": WARMUP_FRAMES},
        "configs": [],
        "failed": [],
    }
    traces: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        clips = {size: make_clip(sources, Path(tmp) / f"clip-{size[0]}x{size[1]}.mp4", size, frames) for size in sizes}
        for cfg in tqdm(configs, desc="bench", unit="config"):
            try:
                row, trace = run_isolated(cfg, clips[cfg.size], Path(tmp), threads)
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
        if peers:
            add_peers(report, clips[sizes[0]], sizes[0], pairs, threads)
        from deepphoto.measure.pictures import frame_sheet

        sheet = frame_sheet(clips[sizes[0]], out / "frames.jpg")
    report["seconds"] = round(time.perf_counter() - started, 1)
    return [*write_report(report, out, traces), sheet]


def run_isolated(cfg: Config, clip: Path, tmp: Path, threads: int | None) -> tuple[dict, dict]:
    """One configuration in a fresh process: its peak memory is its own, and no session, thread
    pool or allocator state carries over from the one before."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(run_config, cfg, clip, tmp, threads).result()


def add_peers(
    report: dict, clip: Path, size: tuple[int, int], pairs: list[tuple[str, str]], threads: int | None
) -> None:
    from deepphoto.engines.models import shared_data
    from deepphoto.measure.peer_tables import accuracy, segmentation_peers, style_peers
    from deepphoto.segmenters.lightnet import LightNetSegmenter
    from deepphoto.stream.sources import open_source

    frames = [f.image for f in open_source(str(clip))][:60]
    report["peer_size"] = "x".join(map(str, size))
    report["segmentation_peers"] = segmentation_peers(frames, LightNetSegmenter("onnx", threads=threads), threads)
    report["style_peers"] = style_peers(frames[0])
    seg_pairs = [(b, p) for b, p in pairs if b != "torch"] or pairs
    report["portraits"] = str(shared_data() / "seg" / "portraits")
    report["accuracy"] = accuracy(shared_data() / "seg" / "portraits", seg_pairs, threads)
