"""Frame sinks named by one URI, as jetson-utils' videoOutput does.

out.mp4 / out.mkv / out.mov   H.264 video file (PyAV), source timing and audio kept
out.jpg / out.png             one image (the last frame written)
folder/                       numbered PNG images
vcam://, /dev/videoN          a virtual camera (pyvirtualcam + v4l2loopback), for video calls
display://0                   a window (needs an OpenCV build with a GUI, and a display)
null://                       discards frames, for benchmarks
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from deepphoto.errors import DeepPhotoError
from deepphoto.settings import IMAGE_SUFFIXES
from deepphoto.stream.frame import Frame
from deepphoto.stream.output_safety import check_output_file, temporary_name, writable_folder
from deepphoto.stream.video_file import VIDEO_FORMATS, VideoFileSink


class Sink:
    path: Path | None = None

    def write(self, image: np.ndarray, frame: Frame) -> None:
        raise NotImplementedError

    def key(self) -> int:
        """The key pressed since the last frame (windows only), else -1."""
        return -1

    def close(self) -> Path | None:
        return None


class NullSink(Sink):
    def __init__(self) -> None:
        self.frames = 0

    def write(self, image: np.ndarray, frame: Frame) -> None:
        self.frames += 1


class VideoSink(Sink):
    def __init__(
        self, path: Path, fps: Fraction, time_base: Fraction | None, audio_from: Path | None, overwrite: bool
    ) -> None:
        self.file = VideoFileSink(path, fps, time_base, audio_from=audio_from, overwrite=overwrite)
        self.path = self.file.path

    def write(self, image: np.ndarray, frame: Frame) -> None:
        self.file.write(image, frame.pts)

    def close(self) -> Path | None:
        return self.file.close()


def write_image_atomic(path: Path, image: np.ndarray) -> None:
    """Encode to a temporary name beside ``path``, then rename: never a half-written image."""
    ok, buf = cv2.imencode(path.suffix.lower(), image)
    if not ok:
        raise DeepPhotoError(f"{path}: cannot encode an image of this type")
    tmp = temporary_name(path)
    try:
        tmp.write_bytes(buf.tobytes())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class ImageSink(Sink):
    """One image file: each frame replaces it, so it holds the last frame once closed."""

    def __init__(self, path: Path, overwrite: bool) -> None:
        check_output_file(path, overwrite)
        self.path = path
        self.last: np.ndarray | None = None

    def write(self, image: np.ndarray, frame: Frame) -> None:
        self.last = image

    def close(self) -> Path | None:
        if self.last is None:
            return None
        write_image_atomic(self.path, self.last)
        return self.path


class FolderSink(Sink):
    def __init__(self, folder: Path, overwrite: bool) -> None:
        writable_folder(folder.parent if not folder.exists() else folder)
        folder.mkdir(exist_ok=True)
        if any(folder.glob("*.png")) and not overwrite:
            raise DeepPhotoError(f"{folder}: already holds images (use --overwrite to replace them)")
        self.path = folder
        self.frames = 0
        self.used: set[str] = set()

    def write(self, image: np.ndarray, frame: Frame) -> None:
        name = frame.name or f"{self.frames:06d}"
        if name in self.used:  # a.jpg and a.png in one folder must not overwrite each other
            name = f"{name}-{self.frames:06d}"
        self.used.add(name)
        write_image_atomic(self.path / f"{name}.png", image)
        self.frames += 1

    def close(self) -> Path | None:
        return self.path


CameraFactory = Callable[..., Any]


def _pyvirtualcam_camera(**kwargs: Any) -> Any:
    try:
        import pyvirtualcam
    except ImportError:
        raise DeepPhotoError("virtual camera output needs pyvirtualcam: pip install 'deepphoto[vcam]'") from None
    try:
        return pyvirtualcam.Camera(fmt=pyvirtualcam.PixelFormat.BGR, **kwargs)
    except RuntimeError as exc:
        if "loopback" in str(exc).lower():
            raise DeepPhotoError(
                "no virtual camera device: load v4l2loopback first "
                "(sudo modprobe v4l2loopback devices=1 exclusive_caps=1)"
            ) from None
        raise DeepPhotoError(f"virtual camera: {exc}") from None


class VirtualCameraSink(Sink):
    """Frames to a virtual webcam that video-call programs can pick. Opens on the first frame."""

    def __init__(self, device: str | None, fps: float, camera_factory: CameraFactory = _pyvirtualcam_camera) -> None:
        self.device, self.fps, self.factory = device, fps, camera_factory
        self.camera: Any = None
        self.frames = 0

    def write(self, image: np.ndarray, frame: Frame) -> None:
        h, w = image.shape[:2]
        if self.camera is None:
            kwargs: dict[str, Any] = {"width": w, "height": h, "fps": self.fps}
            if self.device:
                kwargs["device"] = self.device
            self.camera = self.factory(**kwargs)
            self.path = Path(getattr(self.camera, "device", self.device or "vcam"))
        if (w, h) != (self.camera.width, self.camera.height):
            image = cv2.resize(image, (self.camera.width, self.camera.height))
        self.camera.send(np.ascontiguousarray(image))
        self.frames += 1

    def close(self) -> Path | None:
        if self.camera is not None:
            self.camera.close()
        return self.path


class DisplaySink(Sink):
    title = "DeepPhoto (s: style/effect, r: region, p: snapshot, q: quit)"

    def __init__(self) -> None:
        gui = [line for line in cv2.getBuildInformation().splitlines() if line.strip().startswith("GUI:")]
        if gui and "NONE" in gui[0]:
            raise DeepPhotoError(
                "display:// needs OpenCV with a GUI (pip install opencv-python, not the headless build)"
            )
        if os.name == "posix" and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise DeepPhotoError("display:// needs a display ($DISPLAY is not set)")
        self.pressed: deque[int] = deque(maxlen=8)  # filled by the writer thread, read by the main one

    def write(self, image: np.ndarray, frame: Frame) -> None:
        cv2.imshow(self.title, image)
        key = cv2.waitKey(1)
        if key >= 0:
            self.pressed.append(key)

    def key(self) -> int:
        """Each key press once."""
        try:
            return self.pressed.popleft()
        except IndexError:
            return -1

    def close(self) -> Path | None:
        cv2.destroyAllWindows()
        return None


def open_sink(
    uri: str, fps: Fraction, time_base: Fraction | None = None, audio_from: Path | None = None, overwrite: bool = False
) -> Sink:
    if uri.startswith("null://"):
        return NullSink()
    if uri.startswith("display://"):
        return DisplaySink()
    if uri.startswith("vcam://"):
        return VirtualCameraSink(uri[len("vcam://") :] or None, float(fps))
    if uri.startswith("/dev/video"):
        return VirtualCameraSink(uri, float(fps))
    if "://" in uri:
        raise DeepPhotoError(
            f"{uri}: unknown output scheme (use a file, folder/, vcam://, /dev/videoN, display://0 or null://)"
        )
    path = Path(uri)
    suffix = path.suffix.lower()
    if suffix in VIDEO_FORMATS:
        return VideoSink(path, fps, time_base, audio_from, overwrite)
    if suffix in IMAGE_SUFFIXES:
        return ImageSink(path, overwrite)
    if suffix and not uri.endswith("/"):
        raise DeepPhotoError(
            f"{path}: unknown output type {suffix!r} (video: {', '.join(VIDEO_FORMATS)}; "
            f"image: {', '.join(IMAGE_SUFFIXES)}; or a folder/)"
        )
    return FolderSink(path, overwrite)
