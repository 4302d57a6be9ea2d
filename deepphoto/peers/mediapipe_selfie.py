"""MediaPipe's selfie segmenter (Apache-2.0), from the ``mediapipe==0.10.21`` wheel, run in LiteRT.

Only the ``.tflite`` file is taken from the wheel (``pip download --no-deps``, never installed);
``ai-edge-litert`` (the ``peers`` extra) runs it. Input RGB/255 at 256x256 (squashed, as
MediaPipe's own graph does), output person probability at 256x256.
"""

from __future__ import annotations

import cv2
import numpy as np

from deepphoto.assets import WheelFile, fetch
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import to_bgr8

SELFIE_TFLITE = WheelFile(
    requirement="mediapipe==0.10.21",
    member="mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
    sha256="9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c",
)


class MediaPipeSelfie:
    backend = "litert"

    def __init__(self, threads: int | None = None) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise DeepPhotoError("MediaPipe peer needs ai-edge-litert: pip install 'deepphoto[peers]'") from None
        self.path = fetch(SELFIE_TFLITE)
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
