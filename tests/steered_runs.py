"""What tests of a steered run share: ``deepphoto run synthetic:// null:// ... --control PORT``
started small and slow (two shared cores), waited for until it answers, stopped by Ctrl-C; the
Camera tab's runs recorded instead of started; a stand-in for the pipeline the control endpoint
steers."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from types import SimpleNamespace

from deepphoto.settings import Settings


def steered_run(port: int, *options: str, fps: int = 10, size: str = "160x120") -> subprocess.Popen[str]:
    """The run, with ``options`` (a look, a strength, ...), steered on ``port``."""
    return subprocess.Popen(
        [sys.executable, "-m", "deepphoto", "run", "synthetic://", "null://", "--quiet", *options, "--fps", str(fps),
         "--size", size, "--threads", "1", "--control", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def stopped(run: subprocess.Popen[str]) -> tuple[str, str]:
    """Ctrl-C to the run; its stdout and stderr once it has ended."""
    run.send_signal(signal.SIGINT)
    try:
        return run.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        run.kill()
        raise


def answering(link: object, run: subprocess.Popen[str] | None = None, frames: int = 2, deadline_s: float = 180) -> dict:
    """The status of the run at ``link`` once it has made more than ``frames`` frames; the run's
    errors if it ends first."""
    from deepphoto.web.camera import WebError

    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if run is not None and run.poll() is not None:
            raise AssertionError(f"the run ended (status {run.returncode}): {run.stderr.read() if run.stderr else ''}")
        try:
            status = link.status()  # type: ignore[attr-defined]
            if status["frames"] > frames:
                return status
        except WebError:
            pass
        time.sleep(0.3)
    raise AssertionError("the run did not answer")


def recorded_starts(monkeypatch: object) -> list[list[str]]:
    """The command lines the Studio's Camera tab starts runs with, recorded instead of started."""
    from deepphoto.web import camera

    started: list[list[str]] = []

    class Process:
        stdout: list[str] = []

        def __init__(self, cmd: list[str], **kwargs: object) -> None:
            started.append(cmd)

        def poll(self) -> int:
            return 0

    monkeypatch.setattr(camera.subprocess, "Popen", Process)  # type: ignore[attr-defined]
    return started


class StandInPipe:
    """What the control endpoint steers, without networks: settings changed as Pipeline.update does."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.processor = SimpleNamespace(region=settings.region, look=SimpleNamespace(name=settings.look_name))

    def describe(self) -> str:
        return f"{self.settings.look_name} on the {self.settings.region}"

    def update(self, **changes: object) -> Settings:
        self.settings = self.settings.changed(**changes)
        self.processor.region = self.settings.region
        self.processor.look.name = self.settings.look_name
        return self.settings
