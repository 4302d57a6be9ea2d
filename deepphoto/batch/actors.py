"""Ray actors of a batch: each opens one ``Pipeline`` (its networks) once and keeps it for every
chunk and photo it is given; a small board collects how many frames each call has written."""

from __future__ import annotations

import os
import resource
import socket
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import ray

from deepphoto.batch.chunks import Chunk, ChunkResult, VideoPlan, fingerprint, render_chunk
from deepphoto.batch.cluster import WorkerUnusable
from deepphoto.errors import DeepPhotoError, caught_warnings
from deepphoto.frames import off_white, read_image_alpha
from deepphoto.settings import Settings
from deepphoto.stream.sinks import write_image_atomic

if TYPE_CHECKING:
    from deepphoto.pipeline import Pipeline


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().replace("\n", " ") or type(exc).__name__
    return text if isinstance(exc, DeepPhotoError) else f"{type(exc).__name__}: {text}"


def paint_photo(pipe: Pipeline, source: Path, out: Path) -> tuple[int, str]:
    """``photo_notes``, its notes as one line."""
    frames, notes = photo_notes(pipe, source, out)
    return frames, "; ".join(notes)


def photo_notes(pipe: Pipeline, source: Path, out: Path) -> tuple[int, list[str]]:
    """The photo ``source`` painted as ``edit`` paints it (``Pipeline.photo``: on its own, the
    person filled in before the background is painted, a wide photo segmented window by window;
    a stream's frame had a rim of paint along the person and differed from edit's by up to 133
    levels), its transparency kept, written as ``out`` (PNG, under a temporary name until
    complete; the driver moves it into place). Returns (1, what ``edit`` would have warned of:
    each warning given meanwhile, once)."""
    from deepphoto.pipeline import clear_note, person_note

    with caught_warnings() as notes:
        image, alpha = read_image_alpha(source, painted=True)
        pipe.reset()  # a looping background video from its start, as a fresh pipeline (edit's) has it
        kept = None if alpha is None else off_white(image.copy(), alpha)
        # as edit: its soft edge by the person is the person's; no mask asked for, none kept
        styled = pipe.photo(image, None, kept, alpha, keep_mask=False)
        if note := person_note(pipe.person_share, pipe.settings.region):  # as edit warns
            notes.append(note)
        if note := clear_note(alpha, pipe.settings.region):  # paint on clear parts does not show
            notes.append(note)
        if alpha is not None:  # a photo's transparency is kept, as edit keeps it (the output is a PNG)
            styled = np.dstack([styled, alpha])
        write_image_atomic(out, styled)
    return 1, notes


@ray.remote(num_cpus=0)
class ProgressBoard:
    """Frames written so far by each running call (keyed by the driver), read by the progress bar."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def report(self, key: str, frames: int) -> None:
        self.counts[key] = frames

    def snapshot(self) -> dict[str, int]:
        return dict(self.counts)

    def forget(self, keys: list[str]) -> None:
        for key in keys:
            self.counts.pop(key, None)


@ray.remote(max_restarts=0, max_task_retries=0)
class BatchWorker:
    """One pipeline, opened once; a chunk of a video or one photo per call. ``photo_scale``: the
    style scale photos are painted at (None: the settings', as videos); the painter is switched
    between the two only when the kind of work changes (the network is kept)."""

    def __init__(
        self, settings: Settings, board: ray.actor.ActorHandle | None = None, photo_scale: float | None = None
    ) -> None:
        from deepphoto.errors import use_flags
        from deepphoto.pipeline import Pipeline

        use_flags()  # its messages reach a command line's user: '--overwrite', not 'overwrite=True'
        self.board = board
        self.scales = {
            "video": settings.style_scale,
            "image": settings.style_scale if photo_scale is None else photo_scale,
        }
        self.error = ""
        self.pipe = None
        try:
            self.pipe = Pipeline(settings)
        except Exception as exc:  # reported by ready(); the driver stops using this worker
            self.error = one_line(exc)

    def ready(self) -> dict[str, object]:
        return {"pid": os.getpid(), "host": socket.gethostname(), "error": self.error}

    def _reporter(self, key: str) -> Callable[[int], None]:
        last = [0.0]

        def report(frames: int) -> None:
            now = time.monotonic()
            if self.board is not None and now - last[0] > 0.25:
                last[0] = now
                self.board.report.remote(key, frames)

        return report

    def _paint_as(self, kind: str) -> None:
        """The style scale for ``kind`` ("video" or "image"); an effect has none."""
        if self.pipe.settings.style and self.pipe.settings.style_scale != self.scales[kind]:
            self.pipe.update(style_scale=self.scales[kind])

    def chunk(self, key: str, plan: VideoPlan, chunk: Chunk, out: str) -> ChunkResult:
        """Render ``chunk`` of ``plan`` into the video file ``out`` (its size and SHA-256 taken, for
        the driver's record of it: see ``batch.kept``), with the warnings ``run`` would have printed
        meanwhile (this worker's output is not shown: the driver prints them, once a file)."""
        if self.pipe is None:
            raise WorkerUnusable(self.error)
        self._paint_as("video")
        with caught_warnings() as notes:
            result = render_chunk(self.pipe, plan, chunk, Path(out), on_frames=self._reporter(key))
        size, digest = fingerprint(result.path)  # read here, where the file was just written
        result = replace(result, size=size, sha256=digest, notes=tuple(notes))
        if self.board is not None:
            self.board.report.remote(key, result.frames)
        return result

    def image(self, key: str, source: str, out: str) -> tuple[int, list[str]]:
        """One photo painted as ``edit`` paints it, written as ``out``, with what edit would have
        warned of (see ``photo_notes``)."""
        if self.pipe is None:
            raise WorkerUnusable(self.error)
        self._paint_as("image")
        done = photo_notes(self.pipe, Path(source), Path(out))
        if self.board is not None:
            self.board.report.remote(key, 1)
        return done

    def usage(self) -> float:
        """CPU seconds this worker process has used (all its threads), for the cost per minute of video."""
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime

    def close(self) -> None:
        if self.pipe is not None:
            self.pipe.close()
