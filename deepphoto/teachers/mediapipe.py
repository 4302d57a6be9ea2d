"""MediaPipe's selfie segmenters (Apache-2.0) as teachers: the general (256x256) and landscape
(256x144) models from the ``mediapipe==0.10.21`` wheel, run in LiteRT (the ``peers`` extra).

The same pre- and post-processing as the benchmark peer: the frame squashed to the model's input,
RGB/255 in, person probability out, resized back to the frame.
"""

from __future__ import annotations

import cv2
import numpy as np

from deepphoto.assets import SELFIE_LANDSCAPE_TFLITE, SELFIE_TFLITE, WheelFile, fetch
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import to_bgr8


class MediaPipeTeacher:
    backend = "litert"

    def __init__(self, model: WheelFile, threads: int | None = None, download: bool = True) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise DeepPhotoError("MediaPipe teachers need ai-edge-litert: pip install 'deepphoto[peers]'") from None
        self.path = fetch(model, download)
        self.interpreter = Interpreter(model_path=str(self.path), num_threads=threads)
        self.interpreter.allocate_tensors()
        inp = self.interpreter.get_input_details()[0]
        self._in = inp["index"]
        self._out = self.interpreter.get_output_details()[0]["index"]
        _, h, w, _ = inp["shape"]
        self.input_size = (int(w), int(h))

    def low_res(self, frame: np.ndarray) -> np.ndarray:
        small = cv2.resize(to_bgr8(frame), self.input_size, interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB).astype(np.float32)[None] / 255
        self.interpreter.set_tensor(self._in, rgb)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self._out)[0, ..., 0].copy()

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        prob = self.low_res(frame)
        return cv2.resize(prob, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)


def mediapipe_general(threads: int | None = None, download: bool = True) -> MediaPipeTeacher:
    return MediaPipeTeacher(SELFIE_TFLITE, threads, download)


def mediapipe_landscape(threads: int | None = None, download: bool = True) -> MediaPipeTeacher:
    return MediaPipeTeacher(SELFIE_LANDSCAPE_TFLITE, threads, download)
