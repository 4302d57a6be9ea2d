"""Training runs: device and seed, resume from ``last.pt``, save it atomically (tensors only, no pickle).

A compact checkpoint (``compact``) holds the same run in about half the bytes, to be committed and
resumed on another machine: weights in float16, Adam's moments in bfloat16 (float16 would round
the second moment's small values to 0, and a zero second moment makes Adam's step explode).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TextIO

import torch

from deepphoto.errors import DeepPhotoError
from deepphoto.stream.output_safety import check_folder_can_be_made, discard, temporary_name


def prepare_run(out: Path, threads: int, seed: int) -> torch.device:
    """CUDA when there is a GPU, else the CPU with ``threads`` (0: all cores); seeded; ``out``
    checked (a file, a folder that cannot be made: one line), but not made: ``run_folder`` makes it
    once the run is sure to start, so a run refused (a --resume of another network, data that
    does not fit) leaves no empty folder behind."""
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    check_folder_can_be_made(out)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def run_folder(out: Path) -> Path:
    """``out`` made (with its parents) for a run that starts now; a one-line error where it cannot be."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DeepPhotoError(f"{out}: cannot make the run's folder ({exc.strerror or exc})") from None
    return out


def _numpy_scalars() -> list:
    """What a numpy number in a checkpoint (an optimiser's learning rate, written by StyleNet v2 runs
    before 2026-11-29) needs to load with ``weights_only``: numpy's scalar constructor and its float
    and int dtypes, data only."""
    import numpy as np

    multiarray = getattr(np, "_core", None) or np.core
    return [multiarray.multiarray.scalar, np.dtype, *(type(np.dtype(t)) for t in ("f8", "f4", "i8"))]


NUMPY_SCALARS = _numpy_scalars()


def load(ckpt: Path, device: torch.device | str = "cpu") -> dict:
    """A checkpoint's contents (tensors and plain values only: ``weights_only``), or a one-line error."""
    try:
        with torch.serialization.safe_globals(NUMPY_SCALARS):
            state = torch.load(ckpt, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise DeepPhotoError(f"{ckpt}: checkpoint not found") from None
    except Exception as exc:  # a damaged or foreign file: pickle, zip and torch raise many kinds
        raise DeepPhotoError(f"{ckpt}: not a readable training checkpoint ({type(exc).__name__})") from None
    if not isinstance(state, dict) or not {"model", "optim", "step"} <= set(state):
        raise DeepPhotoError(f"{ckpt}: not a training checkpoint (needs model, optim and step)")
    return state


def resume(
    ckpt: Path,
    net: torch.nn.Module,
    opt: torch.optim.Optimizer,
    device: torch.device,
    also: Path | None = None,
) -> int:
    """Load model and optimiser state from ``ckpt`` if it exists, or from ``also`` (e.g. a compact
    checkpoint from another machine) when that one is further on; return the step to continue from."""
    states = [(p, load(p, device)) for p in (ckpt,) if p.exists()]
    if also is not None:
        states.append((also, load(also, device)))  # given explicitly: it must exist
    if not states:
        return 0
    path, state = max(states, key=lambda s: int(s[1]["step"]))
    model = {k: v.float() if v.is_floating_point() else v for k, v in state["model"].items()}
    try:
        net.load_state_dict(model)
        opt.load_state_dict(state["optim"])  # moments are cast to each parameter's dtype
    except (RuntimeError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0][:200]
        raise DeepPhotoError(f"{path}: does not fit this network or optimiser ({first})") from None
    print(f"resumed from {path} at step {state['step']}", flush=True)
    return int(state["step"])


def keep_last(ckpt: Path, step: int, keep: int) -> None:
    """Keep ``ckpt`` (just saved) as ``step-NNNNNN.pt`` beside it, a hard link (the next save
    renames a new file over ``ckpt``, so the link keeps this one), and only the last ``keep`` such."""
    if keep <= 0:
        return
    snapshot = ckpt.with_name(f"step-{step:06d}.pt")
    snapshot.unlink(missing_ok=True)
    try:
        snapshot.hardlink_to(ckpt)
    except OSError:  # a file system without hard links: copy
        import shutil

        shutil.copyfile(ckpt, snapshot)
    for old in sorted(ckpt.parent.glob("step-*.pt"))[:-keep]:
        old.unlink(missing_ok=True)


def compact(src: Path, dst: Path) -> Path:
    """Write ``src``'s run to ``dst`` for committing: float16 weights, bfloat16 Adam moments, the
    step and settings unchanged. ``train-seg --resume dst`` continues it (cast back to float32)."""
    state = load(src)
    model = {k: v.half() if v.is_floating_point() else v for k, v in state["model"].items()}
    optim = {
        "state": {
            i: {k: v.bfloat16() if k != "step" and v.is_floating_point() else v for k, v in s.items()}
            for i, s in state["optim"]["state"].items()
        },
        "param_groups": state["optim"]["param_groups"],
    }
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(dst)
    try:
        torch.save({**state, "model": model, "optim": optim, "compact": True}, tmp)
        tmp.replace(dst)
    finally:
        discard(tmp)
    return dst


def save(ckpt: Path, net: torch.nn.Module, opt: torch.optim.Optimizer, step: int, **extra: object) -> None:
    """Write under a temporary name of its own, then rename: a checkpoint is whole or the old one
    (also after Ctrl-C, SIGTERM, SIGHUP or a full disk: the temporary file is removed)."""
    tmp = temporary_name(ckpt)
    try:
        torch.save({"model": net.state_dict(), "optim": opt.state_dict(), "step": step, **extra}, tmp)
        tmp.replace(ckpt)
    finally:
        discard(tmp)


def log_progress(
    log: TextIO, step: int, steps: int, means: dict[str, float], started: tuple[float, int], **extra: float
) -> None:
    """One progress line of a run, printed and appended to its ``log.jsonl``: the step, the loss
    parts' ``means``, ``extra`` (e.g. the learning rate), steps per second and minutes left since
    ``started`` = (time.time(), step) when this process began."""
    t0, n0 = started
    rate = (step - n0) / (time.time() - t0)
    rec = {
        "step": step,
        **{k: round(v, 5) for k, v in means.items()},
        **extra,
        "steps_per_s": round(rate, 3),
        "eta_min": round((steps - step) / max(rate, 1e-9) / 60, 1),
    }
    print(json.dumps(rec), flush=True)
    log.write(json.dumps(rec) + "\n")
    log.flush()
