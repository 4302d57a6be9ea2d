"""Steadiness on every clip (``deepphoto bench --clips FOLDER``): for each video under the folders,
at each size, the real pipeline with ``deepphoto run``'s defaults and a style on the background,
file to file; per clip the still-scene mask flicker (smoothed against raw), the lag of the smoothed
mask behind a moving person, the output flicker on still pixels and the frame rate; then the worst
clip per metric, judged against the targets of issue 19.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from deepphoto.errors import DeepPhotoError
from deepphoto.measure.runner import Recorder
from deepphoto.pipeline import Pipeline
from deepphoto.settings import VIDEO_SUFFIXES, Settings, counted
from deepphoto.stream.loop import run_stream
from deepphoto.stream.sinks import open_sink
from deepphoto.stream.sources import open_source
from deepphoto.stream.video_file import VideoFileSink

STYLE = "starry-night"  # the style painted on the background (the benchmark's)
WARMUP_FRAMES = 8
# The targets (worst clip): metric -> (limit, True if larger is worse); None: reported, no target
TARGETS: dict[str, tuple[float | None, bool]] = {
    "flicker_ratio": (0.5, True),
    "lag_frames": (1.0, True),
    "lag_frames_any": (None, True),
    "output_flicker_levels": (1.0, True),
}


def find_clips(folders: Iterable[Path]) -> list[tuple[str, Path]]:
    """(name, path) of every video under the folders, recursively, sorted; a name is the path
    below its folder (with the folder's own name in front when several folders are given)."""
    folders = list(folders)
    found: list[tuple[str, Path]] = []
    for folder in folders:
        if not folder.is_dir():
            raise DeepPhotoError(f"--clips {folder}: no such folder")
        clips = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
        if not clips:
            raise DeepPhotoError(f"--clips {folder}: no video files under this folder")
        prefix = f"{folder.resolve().name}/" if len(folders) > 1 else ""
        found += [(prefix + p.relative_to(folder).as_posix(), p) for p in clips]
    return found


def settings_for_clips(threads: int | None = None, **changes: object) -> Settings:
    """``deepphoto run``'s defaults with the benchmark's style on the background."""
    return Settings.create(style=STYLE, region="background", threads=threads, **changes)


def scaled_clip(clip: Path, size: tuple[int, int], frames: int, out: Path) -> tuple[Path, int]:
    """The clip's first ``frames`` frames at ``size``, cut to its aspect ratio (centre) and scaled,
    encoded as the benchmark encodes (H.264, its own frame rate); the clip itself when it already
    has that size. Returns (path, frames it has, at most ``frames``)."""
    source = open_source(str(clip))
    fps = Fraction(source.fps or 30).limit_denominator(100000)
    w, h = size
    images: list[np.ndarray] = []
    for _, f in zip(range(frames), source):
        images.append(f.image)
    if len(images) < 2:
        raise DeepPhotoError(f"{clip}: fewer than two frames could be decoded")
    sh, sw = images[0].shape[:2]
    if (sw, sh) == (w, h):
        return clip, len(images)
    scale = max(w / sw, h / sh)
    cw, ch = round(w / scale), round(h / scale)
    x, y = (sw - cw) // 2, (sh - ch) // 2
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    with VideoFileSink(out, fps, overwrite=True) as sink:
        for image in images:
            sink.write(cv2.resize(image[y : y + ch, x : x + cw], (w, h), interpolation=interp))
    return out, len(images)


def measure_clip(pipe: Pipeline, clip: Path, frames: int, out: Path) -> dict:
    """One clip through ``pipe`` (fresh temporal state), file to file; its steadiness and fps."""
    processor = pipe.processor
    processor.reset()
    recorder = Recorder()
    processor.recorder = recorder.masks
    try:
        source = open_source(str(clip))
        sink = open_sink(str(out), source.fps, source.time_base, overwrite=True)
        summary = run_stream(source, sink, processor, progress=False, max_frames=frames, observe=recorder.output)
    finally:
        processor.recorder = None
    if summary.interrupted:  # the run finalised its file; the benchmark stops here, not at the next clip
        raise KeyboardInterrupt
    return {"frames": summary.frames_out, "fps": round(summary.fps, 2), **recorder.stability()}


def warm_up(pipe: Pipeline, clip: Path) -> None:
    """Sessions, kernels and caches before the first measured clip."""
    for _, f in zip(range(WARMUP_FRAMES), open_source(str(clip))):
        pipe.processor(f.image)


def run_clips(
    clips: list[tuple[str, Path]],
    sizes: list[tuple[int, int]],
    frames: int = 90,
    threads: int | None = None,
    settings: Settings | None = None,
    progress: bool = True,
    report: Callable[[str], None] | None = None,
) -> dict:
    """Every clip at every size through one pipeline per size; returns the report section
    (``rows``, ``worst``, ``targets``, the settings)."""
    if frames < 2:
        raise DeepPhotoError("--frames must be at least 2")
    settings = settings or settings_for_clips(threads)
    rows: list[dict] = []
    failed: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with Pipeline(settings) as pipe:
            bar = tqdm(total=len(clips) * len(sizes), desc="clips", unit="clip", disable=not progress)
            for size in sizes:
                warmed = False
                for name, path in clips:
                    label = f"{name} {size[0]}x{size[1]}"
                    try:
                        scaled, _ = scaled_clip(path, size, frames, work / "in.mp4")
                        if not warmed:
                            warm_up(pipe, scaled)
                            warmed = True
                        row = measure_clip(pipe, scaled, frames, work / "out.mp4")
                    except Exception as exc:  # one clip failing must not lose the others
                        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                        failed.append({"clip": name, "size": "x".join(map(str, size)), "error": message})
                        if report:
                            report(f"{label}: failed ({message}); recorded and skipped")
                        bar.update(1)
                        continue
                    rows.append({"clip": name, "size": "x".join(map(str, size)), **row})
                    bar.update(1)
            bar.close()
            engines = {
                "segmenter": pipe.processor.segmenter.engine.label,
                "painter": pipe.stylizer.engine.label if pipe.stylizer is not None else "-",
            }
    if not rows:
        raise DeepPhotoError("no clip could be measured: " + "; ".join(f["error"] for f in failed))
    return {
        "settings": {
            "style": settings.style,
            "region": settings.region,
            "smooth": settings.smooth,
            "threshold": settings.threshold,
            "feather": settings.feather,
            "refine": settings.refine,
            "style_scale": settings.style_scale,
            "seg_input": "x".join(map(str, settings.seg_input)),
            **engines,
        },
        "frames": frames,
        "clips": len(clips),
        "sizes": ["x".join(map(str, s)) for s in sizes],
        "rows": rows,
        "failed": failed,
        "worst": worst(rows),
    }


def _finite(value: object) -> bool:
    return isinstance(value, (int, float)) and not math.isnan(value)


def worst(rows: list[dict]) -> dict:
    """Per metric, the worst clip (largest ratio, lag, output flicker; lowest fps per size), with
    its target and whether every clip met it. A metric a clip could not measure (nothing still,
    nothing moving) is left out for that clip."""
    out: dict = {}
    for metric, (limit, larger_worse) in TARGETS.items():
        measured = [r for r in rows if _finite(r.get(metric))]
        if not measured:
            met = None if limit is None else False
            out[metric] = {"value": None, "clip": None, "size": None, "target": limit, "met": met, "measured": 0}
            continue
        pick = max if larger_worse else min
        row = pick(measured, key=lambda r: r[metric])
        out[metric] = {
            "value": row[metric],
            "clip": row["clip"],
            "size": row["size"],
            "target": limit,
            "met": None
            if limit is None
            else all((r[metric] <= limit) if larger_worse else (r[metric] >= limit) for r in measured),
            "measured": len(measured),
        }
    for size in sorted({r["size"] for r in rows}):
        at = [r for r in rows if r["size"] == size and _finite(r.get("fps"))]
        if at:
            row = min(at, key=lambda r: r["fps"])
            out[f"fps_{size}"] = {"value": row["fps"], "clip": row["clip"], "size": size, "median": _median(at)}
    return out


def _median(rows: list[dict]) -> float:
    return round(float(np.median([r["fps"] for r in rows])), 2)


METRIC_NAMES = {
    "flicker_ratio": "still-scene mask flicker, smoothed / raw",
    "lag_frames": "lag of the smoothed mask behind a moving person (frames)",
    "lag_frames_any": "lag wherever the raw mask moved, also on a still picture (frames)",
    "output_flicker_levels": "output flicker on still pixels (grey levels)",
}


def _fmt(value: object, digits: int) -> str:
    return f"{value:.{digits}f}" if _finite(value) else "n/a"


def markdown(section: dict) -> list[str]:
    """The report's 'Steadiness on every clip' section, as Markdown lines."""
    s = section["settings"]
    lines = [
        "## Steadiness on every clip",
        "",
        f"Generated by `{section.get('command', 'deepphoto bench --clips')}`: {counted(section['clips'], 'clip')}, "
        f"each at {', '.join(section['sizes'])}, up to {section['frames']} frames, file to file "
        f"(H.264 in and out), with `deepphoto run`'s defaults and a style on the background: "
        f"{s['style']} / {s['region']}, smooth {s['smooth']}, segmenter {s['segmenter']} at {s['seg_input']}, "
        f"painter {s['painter']} at {s['style_scale']} of the frame. The synthetic clips are made by "
        "`deepphoto make-clips` (docs/benchmark/steadiness.md).",
        "",
        "Mask flicker: mean frame-to-frame change of the person probability on pixels whose picture did",
        "not change (grey within 2/255 at the mask's 88x88), smoothed against raw. Lag: the delay of the",
        "raw masks that best matches the smoothed ones on moving edges, pixels the raw mask crossed",
        "(by 0.25) where the picture moved too (by 8/255, brightness of the whole frame matched); the",
        "second lag counts every pixel the raw mask crossed, so holding a still picture against a",
        "network that changes its mind counts there as lag. Output flicker: frame-to-frame change of",
        "the output (grey levels, 160x120) where the input's grey changed less than 2/255. Across a",
        "scene cut no pixel is still (a new scene's first frame is not flicker where its grey happens",
        "to match the last scene's): `cuts` counts those frame pairs per clip, found by",
        "`stability.cut_frames`, stricter than the pipeline's own test (both neighbouring pairs alike).",
        "",
        "Worst clip per metric (target met only if every clip meets it):",
        "",
        "| metric | worst clip | size | value | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for metric, name in METRIC_NAMES.items():
        w = section["worst"][metric]
        met = "-" if w["met"] is None else "yes" if w["met"] else "**no**"
        target = "-" if w["target"] is None else f"<= {w['target']:g}"
        lines.append(f"| {name} | {w['clip']} | {w['size']} | {_fmt(w['value'], 2)} | {target} | {met} |")
    for key, w in section["worst"].items():
        if key.startswith("fps_"):
            lines.append(
                f"| fps at {w['size']} (lowest; median of clips {w['median']:.1f}) | {w['clip']} | {w['size']} "
                f"| {_fmt(w['value'], 1)} | - | - |"
            )
    lines += [
        "",
        "| clip | size | frames | still pixels | mask flicker raw | smoothed | ratio | lag (frames) "
        "| lag, any mask change | output flicker | cuts | fps |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in section["rows"]:
        lines.append(
            f"| {r['clip']} | {r['size']} | {r['frames']} | {_fmt(r.get('still_share'), 2)} "
            f"| {_fmt(r.get('mask_flicker_raw'), 4)} | {_fmt(r.get('mask_flicker_smoothed'), 4)} "
            f"| {_fmt(r.get('flicker_ratio'), 2)} | {_fmt(r.get('lag_frames'), 2)} "
            f"| {_fmt(r.get('lag_frames_any'), 2)} "
            f"| {_fmt(r.get('output_flicker_levels'), 2)} | {r.get('cuts', '-')} | {_fmt(r.get('fps'), 1)} |"
        )
    failed = section.get("failed", [])
    if failed:
        lines += ["", "Failed: " + "; ".join(f"{f['clip']} at {f['size']}: {f['error']}" for f in failed) + "."]
    return [*lines, ""]
