"""MediaPipe's selfie segmenters (Apache-2.0) as teachers: the general (256x256) and landscape
(256x144) models from the ``mediapipe==0.10.21`` wheel, run in LiteRT (the ``peers`` extra).

The same pre- and post-processing as the benchmark peer: the frame squashed to the model's input,
RGB/255 in, person probability out, resized back to the frame.
"""

from __future__ import annotations

from deepphoto.assets import SELFIE_LANDSCAPE_TFLITE, SELFIE_TFLITE
from deepphoto.segmenters.mediapipe import MediaPipeSegmenter

MediaPipeTeacher = MediaPipeSegmenter  # the teachers are the product's MediaPipe segmenter


def mediapipe_general(threads: int | None = None, download: bool = True) -> MediaPipeSegmenter:
    return MediaPipeSegmenter(threads, SELFIE_TFLITE, download)


def mediapipe_landscape(threads: int | None = None, download: bool = True) -> MediaPipeSegmenter:
    return MediaPipeSegmenter(threads, SELFIE_LANDSCAPE_TFLITE, download)
