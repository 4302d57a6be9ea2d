"""Training runs: device and seed, resume from ``last.pt``, save it atomically (tensors only, no pickle)."""

from __future__ import annotations

from pathlib import Path

import torch


def prepare_run(out: Path, threads: int, seed: int) -> torch.device:
    """CUDA when there is a GPU, else the CPU with ``threads`` (0: all cores); seeded; ``out`` made."""
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    out.mkdir(parents=True, exist_ok=True)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resume(ckpt: Path, net: torch.nn.Module, opt: torch.optim.Optimizer, device: torch.device) -> int:
    """Load model and optimiser state if ``ckpt`` exists; return the step to continue from."""
    if not ckpt.exists():
        return 0
    state = torch.load(ckpt, map_location=device, weights_only=True)
    net.load_state_dict(state["model"])
    opt.load_state_dict(state["optim"])
    print(f"resumed from {ckpt} at step {state['step']}", flush=True)
    return int(state["step"])


def save(ckpt: Path, net: torch.nn.Module, opt: torch.optim.Optimizer, step: int, **extra: object) -> None:
    tmp = ckpt.with_suffix(".tmp")
    torch.save({"model": net.state_dict(), "optim": opt.state_dict(), "step": step, **extra}, tmp)
    tmp.replace(ckpt)
