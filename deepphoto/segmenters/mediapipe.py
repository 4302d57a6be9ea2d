"""MediaPipe's selfie segmenter (Apache-2.0), from the ``mediapipe==0.10.21`` wheel, run in LiteRT.

Only the ``.tflite`` file is taken from the wheel (``pip download --no-deps``, never installed);
``ai-edge-litert`` (the ``peers`` extra) runs it. Input RGB/255 at 256x256 (squashed, as
MediaPipe's own graph does), output person probability at 256x256. The fast, less accurate
choice of ``--segmenter``, as in OBS's plug-in.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator

import cv2
import numpy as np

from deepphoto.assets import SELFIE_TFLITE, WheelFile, fetch
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import to_bgr8
from deepphoto.segmenters.base import PersonSegmenter, SegmenterOptions

# What LiteRT's C++ logger writes on stderr when its first interpreter takes the XNNPACK delegate
# (at its INFO level, which no setting of its Python package lowers).
DELEGATE_NOTE = b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n"
_STDERR_HELD = threading.Lock()  # descriptor 2 is the process's: one interpreter at a time


@contextlib.contextmanager
def _without_delegate_note() -> Iterator[None]:
    """What is written on descriptor 2 meanwhile is held and written after, less ``DELEGATE_NOTE``
    (anything else, another thread's line too, comes as it was, a moment later)."""
    with _STDERR_HELD, contextlib.ExitStack() as stack:
        try:
            held = stack.enter_context(tempfile.TemporaryFile())
            saved = os.dup(2)
        except OSError:  # no standard error, or no temporary folder: the note is shown
            held = None
        if held is None:
            yield
            return
        with contextlib.suppress(AttributeError, OSError, ValueError):
            sys.stderr.flush()
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(AttributeError, OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            if rest := held.read().replace(DELEGATE_NOTE, b""):
                with contextlib.suppress(OSError):
                    os.write(2, rest)


class MediaPipeSegmenter(PersonSegmenter):
    name = "mediapipe"
    backend = "litert"

    def __init__(self, threads: int | None = None, model: WheelFile = SELFIE_TFLITE, download: bool = False) -> None:
        """``model``: the general selfie model (default) or another of the wheel (the landscape
        one, a teacher); ``download``: fetch it when it is not cached (off at run time)."""
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise DeepPhotoError("the MediaPipe segmenter needs ai-edge-litert: pip install -e '.[peers]'") from None
        self.path = fetch(model, download=download)
        self.interpreter = Interpreter(model_path=str(self.path), num_threads=threads)
        with _without_delegate_note():
            self.interpreter.allocate_tensors()
        inp = self.interpreter.get_input_details()[0]
        self._in = inp["index"]
        self._out = self.interpreter.get_output_details()[0]["index"]
        _, h, w, _ = inp["shape"]
        self.input_size = (int(w), int(h))

    @classmethod
    def open(cls, options: SegmenterOptions) -> MediaPipeSegmenter:
        return cls(options.threads)

    def describe(self) -> str:
        return f"MediaPipe selfie {self.input_size[0]}x{self.input_size[1]} on LiteRT (CPU)"

    def prepare(self, frame: np.ndarray) -> np.ndarray:
        small = cv2.resize(to_bgr8(frame), self.input_size, interpolation=cv2.INTER_AREA)
        # scaled straight into the float buffer, one pass (the same numbers; as LightNet's input)
        out = np.empty((1, *small.shape), np.float32)
        np.multiply(cv2.cvtColor(small, cv2.COLOR_BGR2RGB), np.float32(1 / 255), out=out[0])
        return out

    def infer(self, x: np.ndarray) -> np.ndarray:
        self.interpreter.set_tensor(self._in, x)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self._out)[0, ..., 0].copy()
