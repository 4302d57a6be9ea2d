"""Throughput of ``deepphoto batch`` with 1 and 2 workers against ``deepphoto run`` in a shell-like loop
over the same videos, and the cost per minute of video (CPU seconds per minute of video).

    .venv/bin/python scripts/bench_batch.py [--clips 8] [--json out.json] [LOOK OPTIONS...]

Inputs: the first ``--clips`` clips of ``../shared/data/video/asl_gestures`` (640x480, 30 fps, a
person signing; real footage), else the bundled demo clip scaled to 640x480. Every configuration
gets the same inputs and a fresh output folder; wall time includes everything a user waits for
(process start, Ray start, opening the networks). CPU time: for ``run``, the processes' own
(user + system, from the kernel); for ``batch``, the workers' own (each reports its process's CPU
time) plus this driver process and the Ray daemons it started (reaped children).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DEEPPHOTO_SHARED_DATA", ROOT.parent / "shared" / "data"))
DEFAULT_LOOK = ["--style", "starry-night", "--region", "background"]


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def own_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def inputs(count: int, folder: Path) -> list[Path]:
    clips = sorted((SHARED / "video" / "asl_gestures").glob("*.mkv"))[:count]
    if clips:
        return clips
    from deepphoto.assets import demo_clip
    from deepphoto.measure.runner import make_clip

    return [make_clip([demo_clip()], folder / f"demo{i}.mp4", (640, 480), 120) for i in range(count)]


def video_seconds(clips: list[Path]) -> tuple[int, float]:
    import av

    frames, seconds = 0, 0.0
    for clip in clips:
        with av.open(str(clip)) as c:
            s = c.streams.video[0]
            n = sum(1 for p in c.demux(s) if p.size)
            frames += n
            seconds += n / float(s.average_rate)
    return frames, seconds


def bench_run_loop(clips: list[Path], out: Path, look: list[str]) -> dict:
    out.mkdir()
    start, cpu = time.perf_counter(), children_cpu()
    for clip in clips:  # as a shell loop would: one process per video
        cmd = [sys.executable, "-m", "deepphoto", "run", str(clip), str(out / f"{clip.stem}.mp4"), *look, "--quiet"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return {"wall_s": time.perf_counter() - start, "cpu_s": children_cpu() - cpu}


def bench_batch(clips: list[Path], out: Path, look: list[str], workers: int, cpus: float) -> dict:
    from deepphoto.batch.runner import BatchOptions, run_batch
    from deepphoto.commands.batch import add_arguments
    from deepphoto.commands.run import settings_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    settings = settings_from_args(parser.parse_args([str(c) for c in clips] + ["--out", str(out), *look]))
    options = BatchOptions(out=out, workers=workers, cpus_per_worker=cpus, progress=False)
    start, cpu, mine = time.perf_counter(), children_cpu(), own_cpu()
    report = run_batch([str(c) for c in clips], settings, options)
    wall = time.perf_counter() - start
    assert report.count("done") == len(clips), report.table()
    daemons = children_cpu() - cpu + own_cpu() - mine  # this driver + the Ray daemons it started and reaped
    return {
        "wall_s": wall,
        "cpu_s": report.worker_cpu_seconds + daemons,
        "worker_cpu_s": report.worker_cpu_seconds,
        "driver_and_ray_cpu_s": daemons,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--repeat", type=int, default=1, help="runs of every configuration (the fastest is kept)")
    args, look = parser.parse_known_args()
    look = look or DEFAULT_LOOK
    with tempfile.TemporaryDirectory() as tmp:
        clips = inputs(args.clips, Path(tmp))
        frames, seconds = video_seconds(clips)
        print(
            f"{len(clips)} clips, {frames} frames, {seconds:.1f} s of video; look: {' '.join(look)}; "
            f"{os.cpu_count()} CPUs",
            file=sys.stderr,
        )
        configs = [
            ("run, one process per video", lambda out: bench_run_loop(clips, out, look)),
            ("batch, 1 worker x 2 CPUs", lambda out: bench_batch(clips, out, look, 1, 2.0)),
            ("batch, 2 workers x 1 CPU", lambda out: bench_batch(clips, out, look, 2, 1.0)),
        ]
        rows = []
        for name, fn in configs:
            best = None
            for r in range(args.repeat):
                result = fn(Path(tmp) / f"out-{len(rows)}-{r}")
                print(f"{name}: {result}", file=sys.stderr)
                best = result if best is None or result["wall_s"] < best["wall_s"] else best
            best.update(name=name, fps=frames / best["wall_s"], cpu_per_video_minute=best["cpu_s"] / (seconds / 60))
            rows.append(best)
    print(f"\n{len(clips)} clips, {frames} frames ({seconds:.1f} s of video), look: {' '.join(look)}\n")
    print("| configuration | wall time | frames per second | CPU-seconds | CPU-seconds per minute of video |")
    print("|---|---|---|---|---|")
    for r in rows:
        cost = r["cpu_per_video_minute"]
        print(f"| {r['name']} | {r['wall_s']:.1f} s | {r['fps']:.1f} | {r['cpu_s']:.0f} | {cost:.0f} |")
    if args.json:
        args.json.write_text(
            json.dumps({"clips": len(clips), "frames": frames, "video_s": seconds, "rows": rows}, indent=1)
        )


if __name__ == "__main__":
    main()
