""" "Best quality": the photo optimiser (``deepphoto.optimizer.paint_photo``, PyTorch) as jobs that
run one at a time on a worker thread, report their progress, and stop when cancelled or when the
page that asked for them goes away. At most ``limit`` jobs wait or run (429 beyond)."""

from __future__ import annotations

import importlib.util
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from deepphoto.errors import DeepPhotoError
from deepphoto.settings import whole
from deepphoto.web.errors import WebError
from deepphoto.web.limits import Slots
from deepphoto.web.photo import PhotoLook, PhotoStudio
from deepphoto.web.store import Upload, new_id

SIZES = (256, 384, 512, 768, 1024)  # long side of the optimised picture the page offers


class Cancelled(Exception):
    """Raised from the progress hook to stop an optimisation."""


@dataclass
class Job:
    id: str
    client: str
    photo: Upload
    look: PhotoLook
    style: str | None
    size: int
    state: str = "queued"  # queued, running, done, failed, cancelled
    done: int = 0
    total: int = 0
    message: str = ""
    result: np.ndarray | None = None
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0
    stop: threading.Event = field(default_factory=threading.Event)

    def public(self) -> dict[str, Any]:
        progress = self.done / self.total if self.total else 0.0
        return {
            "id": self.id,
            "state": self.state,
            "progress": round(min(1.0, progress), 4),
            "done": self.done,
            "total": self.total,
            "message": self.message,
            "seconds": round(self.seconds or (time.monotonic() - self.started), 1),
        }


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


class BestQuality:
    def __init__(self, studio: PhotoStudio, limit: int = 2, iterations: tuple[int, int] = (20, 10)) -> None:
        self.studio, self.iterations = studio, iterations
        self.slots = Slots(limit, "best-quality jobs")
        self.jobs: dict[str, Job] = {}
        self.lock = threading.Lock()
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deepphoto-best")

    def start(self, client: str, photo_id: str, values: dict[str, Any], size: int = 512) -> Job:
        if not torch_available():
            raise WebError(503, "best quality needs PyTorch, which is not installed: pip install -e '.[torch]'")
        photo = self.studio.uploads.get(client, photo_id, "photo")
        look = self.studio.look(client, values)
        style = look.changes.get("style")
        if not style and look.painting is None:
            raise WebError(422, "best quality paints with a painting: choose one of the gallery or upload one")
        if style and any(c in str(style) for c in ":,"):  # refused now, not when the job runs
            raise WebError(
                422, f"style {style}: best quality paints one style, not a blend (the preview and its download do)"
            )
        if look.painting is not None:  # a painting the optimiser cannot read: refused now, not after the queue
            from deepphoto.optimizer import check_painting_shape

            h, w = look.painting.image.shape[:2]
            check_painting_shape(w, h)
        size = whole("size", size, 64, 2048)
        self.slots.acquire()
        job = Job(new_id(), client, photo, look, style, size, total=sum(self.iterations))
        with self.lock:
            self.jobs[job.id] = job
            self._forget_old()
        self.worker.submit(self._run, job)
        return job

    def get(self, client: str, job_id: str) -> Job:
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None or job.client != client:
            raise WebError(404, "job not found: it finished long ago or the page was reloaded")
        return job

    def cancel(self, client: str, job_id: str) -> Job:
        job = self.get(client, job_id)
        job.stop.set()
        if job.state == "queued":
            job.state, job.message = "cancelled", "cancelled"
        return job

    def drop_client(self, client: str) -> None:
        with self.lock:
            mine = [j for j in self.jobs.values() if j.client == client]
            for j in mine:
                j.stop.set()
                del self.jobs[j.id]

    def close(self) -> None:
        with self.lock:
            for j in self.jobs.values():
                j.stop.set()
        self.worker.shutdown(wait=True, cancel_futures=True)

    def _forget_old(self) -> None:
        """Finished jobs are kept (their result too) for the newest 16 only."""
        finished = [j for j in self.jobs.values() if j.state in ("done", "failed", "cancelled")]
        for j in finished[:-16]:
            del self.jobs[j.id]

    def _run(self, job: Job) -> None:
        try:
            if job.stop.is_set():
                job.state, job.message = "cancelled", "cancelled"
                return
            job.state, job.started = "running", time.monotonic()
            from deepphoto.optimizer import paint_photo

            def progress(done: int, total: int) -> None:
                job.done, job.total = done, total
                if job.stop.is_set():
                    raise Cancelled

            painting = job.look.painting.path if job.look.painting is not None else None
            painted = paint_photo(  # progress: the page's bar, not a console one in the server's log
                job.photo.image,
                job.style,
                painting,
                job.size,
                iterations=self.iterations,
                on_progress=progress,
                progress=False,
            )
            notes: list[str] = []
            job.result = self.studio.compose(job.photo.image, job.look, painted, job.photo.alpha, notes)
            job.state, job.done, job.message = "done", job.total, "; ".join(notes)
        except Cancelled:
            job.state, job.message = "cancelled", "cancelled"
        except DeepPhotoError as exc:
            job.state, job.message = "failed", str(exc)
        except Exception as exc:  # a job must report, never take the server down
            job.state, job.message = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            job.seconds = time.monotonic() - job.started
            self.slots.release()
