"""Ray itself: starting it here or joining a cluster, sizing the workers, reading why a call failed,
and clearing what killed batches left behind."""

from __future__ import annotations

import logging
import math
import os
import shutil
import signal
import socket
import sys
import threading
import warnings
from pathlib import Path

from deepphoto.errors import DeepPhotoError
from deepphoto.stream.output_safety import DISK_FULL, cannot_write, disk_free
from deepphoto.stream.stopping import signals_held

# Ray's C++ core installs absl's failure-signal handler for SIGTERM in the driver, and a SIGTERM
# during ray.init then aborted the batch (status 134, a stack dump) instead of stopping it. Ray reads
# this when it is imported, so it is set before (this module is imported first).
os.environ.setdefault("RAY_DISABLE_FAILURE_SIGNAL_HANDLER", "1")

WORK_FOLDER = ".deepphoto-batch"  # chunk files in progress, inside the output folder
UNUSABLE = "worker could not open the pipeline"


def _ray_utils() -> object | None:
    """Ray's module that sets its SIGTERM handler in ``ray.init`` (a private one: None if it moved)."""
    try:
        import ray._private.utils as ray_utils
    except ImportError:
        return None
    return ray_utils


def _utf8(text: str) -> str:
    """``text`` with the bytes of a name that is not valid UTF-8 (surrogates) as backslash escapes."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def answers(address: str, timeout: float = 10.0) -> None:
    """A head's ``HOST:PORT`` that takes a connection, else a one-line error (Ray itself retries such
    an address for ever, logging a warning every few seconds); ``auto`` and ``ray://`` are left to
    Ray, which gives up by itself."""
    if address == "auto" or "://" in address:
        return
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise DeepPhotoError(f"--address {address}: expected auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise DeepPhotoError(f"cannot start or reach Ray at {address} ({exc.strerror or exc})") from None


RAY_ROOM = 4 * 1024 * 1024  # what an embedded Ray's session needs in its temporary folder, with room to spare


def ray_temp_folder() -> Path:
    """Where an embedded Ray keeps its session (sockets, ports, logs): ``$RAY_TMPDIR``, else on Linux
    ``$TMPDIR``, else ``/tmp`` (Ray's own rule, ``get_default_system_temp_dir``), then ``ray``."""
    if os.environ.get("RAY_TMPDIR"):
        base = os.environ["RAY_TMPDIR"]
    elif sys.platform.startswith("linux") and os.environ.get("TMPDIR"):
        base = os.environ["TMPDIR"]
    elif sys.platform.startswith(("linux", "darwin")):
        base = "/tmp"
    else:
        import tempfile

        base = tempfile.gettempdir()
    return Path(base) / "ray"


def check_ray_room(folder: Path | None = None) -> None:
    """A one-line error when the disk of Ray's temporary folder is full: Ray then waited half a
    minute for a file its server could not write, and the batch said only 'cannot start or reach
    Ray at this machine (Timed out waiting for file /tmp/ray/session_.../gcs_server_port_...)'."""
    folder = folder or ray_temp_folder()
    free = disk_free(folder)
    if free is not None and free < RAY_ROOM:
        raise DeepPhotoError(
            f"cannot start Ray: the disk of its temporary folder {folder} is full ({free // 1024} KB free): "
            "free some space there, or set RAY_TMPDIR to a folder on another disk"
        )


def connect(address: str | None) -> bool:
    """Start an embedded Ray (no address) or join a cluster (``auto``, ``ray://HOST:PORT``, or a
    head's ``HOST:PORT``); False when Ray was already running in this process (tests)."""
    import ray

    if ray.is_initialized():
        return False
    quiet = {"logging_level": logging.ERROR, "log_to_driver": False}
    # ray.init first makes SIGTERM exit at once (status 15, no word, the output folder left): ours
    # comes back as soon as it returns, and a SIGTERM that came meanwhile is a stop, as anywhere
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main else None
    # Better still, Ray may not set its handler at all, and a SIGTERM or SIGHUP during ray.init is
    # held until it has returned: one that landed while Ray was half started was turned into a
    # SystemExit inside it and crashed the interpreter at exit (a hunt: status 139 once). Ctrl-C
    # is not held: an address Ray gives up on only after half a minute can be left at once.
    ray_utils = _ray_utils()
    sets_handler = getattr(ray_utils, "set_sigterm_handler", None)
    if sets_handler is not None:
        ray_utils.set_sigterm_handler = lambda handler: None
    # Ray records the command line (read from /proc) as the job's entrypoint, a UTF-8 string: a file
    # name on it that is not valid UTF-8 (a byte 0xff, from an old Latin-1 disk) failed every batch as
    # 'cannot start or reach Ray' (surrogates not allowed). Such bytes are recorded as escapes.
    names_entrypoint = getattr(ray_utils, "get_entrypoint_name", None)
    if names_entrypoint is not None:
        ray_utils.get_entrypoint_name = lambda: _utf8(names_entrypoint())
    try:
        with signals_held((signal.SIGTERM, signal.SIGHUP)), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Ray's client warns in two lines before it fails: the error says it
            if address:  # Ray's client says nothing for up to half a minute while it connects
                where = "this machine's Ray cluster (auto)" if address == "auto" else f"Ray at {address}"
                print(f"deepphoto: connecting to {where} ...", file=sys.stderr, flush=True)
                answers(address)
                ray.init(address=address, **quiet)
            else:
                check_ray_room()
                ray.init(include_dashboard=False, object_store_memory=200 * 1024 * 1024, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = address or "this machine"
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise DeepPhotoError(f"cannot start or reach Ray at {where} ({first})") from None
    except SystemExit as exc:
        if exc.code != signal.SIGTERM:
            raise
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        with signals_held():  # what had started of Ray is stopped whole, a second signal or not
            ray.shutdown()
        raise KeyboardInterrupt from None
    finally:
        if sets_handler is not None:
            ray_utils.set_sigterm_handler = sets_handler
        if names_entrypoint is not None:
            ray_utils.get_entrypoint_name = names_entrypoint
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return True


def fits(cpus: float, per: float) -> int:
    """How many workers of ``per`` CPUs Ray places on a machine of ``cpus`` CPUs (Ray counts in
    1/10000ths of a CPU: 2 // 0.1 is 19 in floating point, and Ray places 20)."""
    unit = round(per * 10000)
    return int(round(cpus * 10000) // unit) if unit > 0 else 0


def ray_quantity(name: str, value: float) -> float:
    """``value`` (a CPU or GPU count) if Ray can reserve it: 0, or at least 1/10000 (Ray refused a
    smaller one with a traceback after it had started); else one line naming the option."""
    if 0 < value < 1e-4:
        raise DeepPhotoError(f"{name} {value:g}: must be 0.0001 or more (Ray counts in 1/10000ths)")
    return value


def local_cpus() -> float:
    """The CPUs an embedded Ray started here gives itself (its own count: cgroup quotas included)."""
    try:
        from ray._private.utils import get_num_cpus

        return float(get_num_cpus())
    except Exception:  # noqa: BLE001 - another Ray than the pinned one: the CPUs the system lists
        return float(os.cpu_count() or 1)


def check_shape(workers: int | None, cpus_per_worker: float | None, nodes: list[float]) -> None:
    """A one-line error when ``--cpus-per-worker`` (given) cannot be placed on any of the machines
    ``nodes`` (their CPUs), or when ``--workers`` of that many CPUs cannot all be placed at once
    (Ray would place those that fit and the batch would wait 10 minutes for the others)."""
    if cpus_per_worker is None:
        return
    per = ray_quantity("--cpus-per-worker", cpus_per_worker)
    where = "this machine has" if len(nodes) == 1 else f"the Ray cluster's {len(nodes)} machines have"
    cpus = f"{sum(nodes):g} CPUs" if len(nodes) != 1 else f"{nodes[0]:g} CPUs"
    if fits(max(nodes, default=0.0), per) < 1:
        most = "" if len(nodes) == 1 else f", the largest {max(nodes, default=0.0):g}"
        raise DeepPhotoError(f"--cpus-per-worker {per:g}: more than any machine has ({where} {cpus}{most})")
    room = sum(fits(c, per) for c in nodes)
    if workers is not None and room < workers:
        raise DeepPhotoError(
            f"--workers {workers} with --cpus-per-worker {per:g} needs {workers * per:g} CPUs; {where} {cpus}, "
            f"room for {room} such worker{'s' if room != 1 else ''} (give fewer workers or fewer CPUs each, or "
            "leave out --cpus-per-worker to share the CPUs out)"
        )


def worker_shape(
    workers: int | None, cpus_per_worker: float | None, gpus_per_worker: float
) -> tuple[int, float, float]:
    """(workers, CPUs each, GPUs each) for the cluster Ray is connected to: by default 2 CPUs a
    worker (a pipeline paints beside segmenting) and as many workers as the CPUs (and GPUs) allow;
    a one-line error where the workers asked for cannot all be placed at once."""
    import ray

    total = ray.cluster_resources()
    cpus, gpus = float(total.get("CPU", 0)), float(total.get("GPU", 0))
    nodes = [float(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")] or [cpus]
    biggest = max(nodes)
    per = cpus_per_worker
    if per is None:
        per = min(2.0, biggest) or 1.0
        if workers is not None and sum(fits(c, per) for c in nodes) < workers:  # --workers 3 on 2 CPUs waited 10 min
            shares = {math.floor(c / k * 1e4) / 1e4 for c in nodes for k in range(1, workers + 1)}
            found = [s for s in sorted(shares, reverse=True) if s > 0 and sum(fits(c, s) for c in nodes) >= workers]
            per = found[0] if found else per
    else:
        check_shape(workers, per, nodes)
    if gpus_per_worker > 0 and gpus < gpus_per_worker:
        raise DeepPhotoError(f"--gpus-per-worker {gpus_per_worker:g}: the Ray cluster has {gpus:g} GPUs")
    held = [float(n["Resources"].get("GPU", 0)) for n in ray.nodes() if n.get("Alive")] or [gpus]
    room = sum(fits(g, gpus_per_worker) for g in held) if gpus_per_worker > 0 else 0
    if gpus_per_worker > 0 and workers is not None:  # as with CPUs: those that do not fit waited 10 minutes
        if room < workers:
            raise DeepPhotoError(
                f"--workers {workers} with --gpus-per-worker {gpus_per_worker:g} needs {workers * gpus_per_worker:g} "
                f"GPUs; the Ray cluster has {gpus:g}, room for {room} such worker{'s' if room != 1 else ''}"
            )
    n = workers
    if n is None:
        n = max(1, sum(fits(c, per) for c in nodes))
        if gpus_per_worker > 0:  # as many as the machines' GPUs place (not the total's float division)
            n = min(n, max(1, room))
    return n, per, gpus_per_worker


def _short(exc: BaseException) -> str:
    return (" ".join(str(exc).split()) or type(exc).__name__)[:300]


class WorkerUnusable(Exception):
    """A worker that could not open the pipeline; its calls go to another worker."""


def failure(exc: BaseException) -> tuple[str, bool, bool]:
    """Why a call failed: (one-line reason, whether trying again may help, whether its worker is
    gone or unusable). A ``DeepPhotoError`` is about the file itself: trying again would not help."""
    import ray.exceptions

    if isinstance(exc, ray.exceptions.RayTaskError):
        cause = getattr(exc, "cause", None) or exc
        if isinstance(cause, WorkerUnusable):
            return f"{UNUSABLE}: {_short(cause)}", True, True
        if isinstance(cause, DeepPhotoError):
            return _short(cause), False, False
        if isinstance(cause, OSError) and cause.errno in DISK_FULL:  # stays full: trying again wastes the time
            return str(cannot_write(cause.filename or "output", cause)), False, False
        return f"{type(cause).__name__}: {_short(cause)}", True, False
    if isinstance(exc, DeepPhotoError | OSError):
        return _short(exc), False, False
    return f"worker lost ({type(exc).__name__})", True, True


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def work_folder(out: Path) -> Path:
    """This batch's folder for chunk files: on the output's file system, named by host and process."""
    return out / WORK_FOLDER / f"{socket.gethostname()}-{os.getpid()}"


def clean_stale_work(out: Path) -> None:
    """Remove chunk folders and unfinished outputs left by batches on this machine that were
    killed (their process is gone); those of running batches are left alone."""
    host = socket.gethostname()
    for folder in (out / WORK_FOLDER).glob(f"{host}-*"):
        pid = folder.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
    for leftover in out.rglob(".*.partial.*"):  # temporary_name(): .STEM.PID-N-HEX.partial.SUFFIX
        if WORK_FOLDER in leftover.relative_to(out).parts:
            continue
        pid = leftover.name.split(".partial")[0].rsplit(".", 1)[-1].split("-")[0]
        if pid.isdigit() and not alive(int(pid)):
            leftover.unlink(missing_ok=True)


def remove_work(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    try:
        folder.parent.rmdir()  # only when no other batch is using it
    except OSError:
        pass
