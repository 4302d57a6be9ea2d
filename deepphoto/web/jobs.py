""" "Best quality": the photo optimiser (``deepphoto.optimizer.paint_photo``, PyTorch) as jobs that
run one at a time on a worker thread, report their progress, and stop when cancelled or when the
page that asked for them goes away. At most ``limit`` jobs wait or run (429 beyond); the results
of finished ones are kept for their pages to fetch within ``memory`` bytes (the newest always)."""

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
from deepphoto.web.photo import PhotoLook, PhotoStudio, with_alpha
from deepphoto.web.store import Upload, new_id

SIZES = (256, 384, 512, 768, 1024)  # long side of the optimised picture the page offers
KEPT = 16  # finished jobs remembered
RESULTS_MEMORY = 512 * 2**20  # bytes of their full-size results (a 48 MP one is 144 MB, 192 with alpha)
ENDED = ("done", "failed", "cancelled")


class Cancelled(Exception):
    """Raised from the progress hook to stop an optimisation."""


@dataclass
class Job:
    id: str
    client: str
    photo: Upload | None  # let go when the job ends (the page may have dropped it: its pixels are not kept here)
    look: PhotoLook | None  # the same (an uploaded painting's pixels)
    style: str | None
    size: int
    state: str = "queued"  # queued, running, done, failed, cancelled
    done: int = 0
    total: int = 0
    message: str = ""
    result: np.ndarray | None = None  # the full-size picture, with the photo's alpha as a 4th channel if it had one
    format: str = "JPEG"  # the photo's: the result is given back as the same kind (a PNG a PNG)
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
    def __init__(
        self,
        studio: PhotoStudio,
        limit: int = 2,
        iterations: tuple[int, int] = (20, 10),
        memory: int = RESULTS_MEMORY,
    ) -> None:
        self.studio, self.iterations, self.memory = studio, iterations, memory
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

    def held(self) -> int:
        """Bytes of the finished jobs' results kept."""
        with self.lock:
            return sum(j.result.nbytes for j in self.jobs.values() if j.result is not None)

    def _forget_old(self) -> None:
        """Finished jobs are kept (their result too) for the newest ``KEPT`` only, and only while
        their results fit in ``memory`` (the newest is kept whatever its size): 16 results of 48 MP
        photos held 2.3 GB, beside the uploads' own cap. (Under ``lock``.)"""
        finished = [j for j in self.jobs.values() if j.state in ENDED]
        held = 0
        for n, j in enumerate(reversed(finished)):  # newest first
            held += j.result.nbytes if j.result is not None else 0
            if n >= KEPT or (n and held > self.memory):
                del self.jobs[j.id]

    def _run(self, job: Job) -> None:
        try:
            photo, look = job.photo, job.look
            if job.stop.is_set() or photo is None or look is None:
                job.state, job.message = "cancelled", "cancelled"
                return
            job.state, job.started = "running", time.monotonic()
            from deepphoto.optimizer import paint_photo

            def progress(done: int, total: int) -> None:
                job.done, job.total = done, total
                if job.stop.is_set():
                    raise Cancelled

            painting = look.painting.path if look.painting is not None else None
            painted = paint_photo(  # progress: the page's bar, not a console one in the server's log
                photo.image,
                job.style,
                painting,
                job.size,
                iterations=self.iterations,
                on_progress=progress,
                progress=False,
            )
            notes: list[str] = []
            composed = self.studio.compose(photo.image, look, painted, photo.alpha, notes)
            job.result, job.format = with_alpha(composed, photo.alpha), photo.format
            job.state, job.done, job.message = "done", job.total, "; ".join(notes)
        except Cancelled:
            job.state, job.message = "cancelled", "cancelled"
        except DeepPhotoError as exc:
            job.state, job.message = "failed", str(exc)
        except Exception as exc:  # a job must report, never take the server down
            job.state, job.message = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            job.seconds = time.monotonic() - job.started
            job.photo = job.look = None
            with self.lock:
                self._forget_old()
            self.slots.release()
