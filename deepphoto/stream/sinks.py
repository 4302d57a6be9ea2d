"""Frame sinks named by one URI, as jetson-utils' videoOutput does.

out.mp4 / out.mkv / out.mov   H.264 video file (PyAV), source timing and audio kept
out.jpg / out.png             one image (the last frame written)
folder/                       PNG images, one per frame (numbered, or named after the input images)
vcam://, /dev/videoN          a virtual camera (pyvirtualcam + v4l2loopback), for video calls
  (v4l2://N, v4l2:///dev/videoN, as jetson-utils names a loopback device)
display://0                   a window (needs an OpenCV build with a GUI, and a display)
null://                       discards frames, for benchmarks
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections import deque
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from deepphoto.errors import DeepPhotoError, warn
from deepphoto.frames import letterbox
from deepphoto.settings import IMAGE_SUFFIXES
from deepphoto.stream.frame import Frame
from deepphoto.stream.output_safety import (
    FRAME_SUFFIX,
    cannot_write,
    check_output_file,
    check_output_folder,
    discard,
    free_name,
    publish,
    temporary_folder,
    temporary_name,
)
from deepphoto.stream.v4l2_names import names_v4l2, v4l2_index
from deepphoto.stream.video_colour import written_note
from deepphoto.stream.video_container import VIDEO_FORMATS
from deepphoto.stream.video_file import SourceFrame, VideoFileSink


class Sink:
    path: Path | None = None

    def write(self, image: np.ndarray, frame: Frame) -> None:
        raise NotImplementedError

    def key(self) -> int:
        """The key pressed since the last frame (windows only), else -1."""
        return -1

    def close(self) -> Path | None:
        return None

    def abort(self) -> None:
        """After a failed write: leave no partial output (a file sink removes its temporary file)."""
        self.close()


class NullSink(Sink):
    def __init__(self) -> None:
        self.frames = 0

    def write(self, image: np.ndarray, frame: Frame) -> None:
        self.frames += 1


class VideoSink(Sink):
    """A video file. From a ``live`` source (camera, stream) frames carry no timestamps and arrive
    at whatever rate the camera and the pipeline manage: each is placed at the moment it arrived, so
    the recording plays at the speed it was filmed, not at the nominal frame rate. The output starts
    at 0 wherever the source's clock started (its audio moved with it), and keeps the colour
    description of a video file's frames."""

    def __init__(
        self,
        path: Path,
        fps: Fraction,
        time_base: Fraction | None,
        audio_from: Path | str | None,
        overwrite: bool,
        live: bool = False,
    ) -> None:
        # a live recording is timed in milliseconds: on a 1/fps clock frames faster than the nominal
        # rate would queue a tick apart and drift late
        self.file = VideoFileSink(
            path,
            fps,
            time_base or (Fraction(1, 1000) if live else None),
            audio_from=audio_from,
            overwrite=overwrite,
            from_zero=True,
        )
        self.path = self.file.path
        self.live = live
        self.start: float | None = None

    def write(self, image: np.ndarray, frame: Frame) -> None:
        seconds = None
        if self.live and frame.pts is None:
            self.start = frame.arrival if self.start is None else self.start
            seconds = frame.arrival - self.start
        self.file.keep_source(frame)
        self.file.write(image, frame.pts, seconds=seconds)

    def close(self) -> Path | None:
        return self.file.close()

    def abort(self) -> None:
        self.file.abort()


# The longest side each image format can hold (WebP's 14-bit size fields; libjpeg's limit).
SIDE_LIMITS = {".webp": 16383, ".jpg": 65500, ".jpeg": 65500}


def check_encodable(path: Path, width: int, height: int) -> None:
    """A one-line error, before any work, for an image too large for the format ``path`` names."""
    suffix = Path(path).suffix.lower()
    limit = SIDE_LIMITS.get(suffix)
    if limit is not None and max(width, height) > limit:
        raise DeepPhotoError(
            f"{path}: a {suffix[1:].upper()} file holds at most {limit} pixels a side, and this image is "
            f"{width}x{height} (write .png or .tiff)"
        )


def write_image_atomic(
    path: Path,
    image: np.ndarray,
    overwrite: bool = True,
    params: list[int] | None = None,
    shown_as: Path | None = None,
) -> None:
    """Encode (with OpenCV's ``params``) to a temporary name beside ``path``, then move it into
    place: never a half-written image, never a temporary file left (a full disk is a one-line
    error naming ``shown_as``, else ``path``), any file name (cv2.imwrite cannot write every one)."""
    path = Path(path)
    check_encodable(shown_as or path, image.shape[1], image.shape[0])
    ok, buf = cv2.imencode(path.suffix.lower(), image, params or [])
    if not ok:
        raise DeepPhotoError(f"{shown_as or path}: cannot encode an image of this type")
    tmp = temporary_name(path)
    try:
        tmp.write_bytes(buf.tobytes())
        publish(tmp, path, overwrite)
    except OSError as exc:
        raise cannot_write(shown_as or path, exc) from None
    finally:
        discard(tmp)


def lost_of(frame: Frame, subject: str) -> str:
    """What a PNG (or JPEG, WebP) of ``frame`` loses of the video it was decoded from, in one line, as
    the video writer says it ('' for none, and for a frame not from a video file): an HDR video's
    frames are tone-mapped to 8-bit SDR, a 10-bit one's painted and written with 8 bits a channel."""
    return written_note(frame.colour, subject) if isinstance(frame, SourceFrame) else ""


class ImageSink(Sink):
    """One image file: each frame replaces it, so it holds the last frame once closed (a camera's
    snapshot). ``live``: the frames come from a camera or stream; from a file of several frames, a
    warning says that only the last one is kept."""

    def __init__(self, path: Path, overwrite: bool, live: bool = False) -> None:
        check_output_file(path, overwrite)
        self.path, self.overwrite, self.live = path, overwrite, live
        self.last: np.ndarray | None = None
        self.frames = 0
        self.note = ""  # what the picture loses of its video (HDR, bits), said once it is written

    def write(self, image: np.ndarray, frame: Frame) -> None:
        if self.frames == 0:
            self.note = lost_of(frame, "it is")
        self.last = image
        self.frames += 1

    def close(self) -> Path | None:
        if self.last is None:
            return None
        write_image_atomic(self.path, self.last, self.overwrite)
        if self.frames > 1 and not self.live:  # 'run clip.mp4 out.webp' asked for the clip, not a still
            warn(
                f"an image holds one picture: the last of {self.frames} frames (for them all, write a video, "
                f"{self.path.with_suffix('.mp4').name}, or a folder, {self.path.with_suffix('')}/)",
                self.path,
            )
        if self.note:
            warn(self.note, self.path)
        return self.path

    def abort(self) -> None:
        self.last = None


class FolderSink(Sink):
    """One PNG per frame in a folder. Frames go to a hidden folder of this job first and move into
    place when the job ends (also when it is interrupted), so a failed job leaves the folder as it
    was. The folder's ``.deepphoto-frames`` lists the frames the last job wrote there: ``--overwrite``
    removes those (and only those) before the new ones move in, so runs never mix."""

    MANIFEST = ".deepphoto-frames"

    def __init__(self, folder: Path, overwrite: bool) -> None:
        check_output_folder(folder, overwrite)  # before any work: a file in the way, no permission
        self.path, self.overwrite = folder, overwrite
        self.frames = 0
        self.used: set[str] = set()
        self.staging: Path | None = None
        self.note = ""  # what the frames lose of their video (HDR, bits), said once they are in place

    def write(self, image: np.ndarray, frame: Frame) -> None:
        if self.frames == 0:
            self.note = lost_of(frame, "its frames are")
        name = frame.name or f"{self.frames:06d}"
        if name in self.used:  # a.jpg and a.png in one folder must not overwrite each other
            name = f"{name}-{self.frames:06d}"
        if self.staging is None:
            try:
                self.staging = temporary_folder(self.path)
            except OSError as exc:
                raise DeepPhotoError(f"{self.path}: cannot write frames there ({exc.strerror or exc})") from None
        # an error names the folder asked for, not the hidden one of this job
        write_image_atomic(self.staging / f"{name}{FRAME_SUFFIX}", image, shown_as=self.path / f"{name}{FRAME_SUFFIX}")
        self.used.add(name)
        self.frames += 1

    def close(self) -> Path | None:
        """Move the new frames into the folder (after the previous job's, with ``--overwrite``)."""
        staging, self.staging = self.staging, None
        if staging is None:
            return None
        try:
            names = sorted(p.name for p in staging.iterdir())
            manifest = staging / self.MANIFEST
            manifest.write_text("".join(f"{n}\n" for n in names), encoding="utf-8", errors="surrogateescape")
            if staging.parent != self.path and not self.path.exists():  # a new folder: all moves in as one
                os.rename(staging, self.path)
                if self.note:
                    warn(self.note, self.path)
                return self.path
            frames = [n for n in names if n != self.MANIFEST]
            taken = [] if self.overwrite else [n for n in frames if os.path.lexists(self.path / n)]
            if taken:  # another job's frames appeared meanwhile: never replaced, this job's kept beside
                kept = free_name(self.path)
                os.rename(staging, kept)
                raise DeepPhotoError(
                    f"{self.path}: {taken[0]} appeared there while this job ran and was not replaced; "
                    f"this job's frames are in {kept}"
                )
            if self.overwrite:
                self._remove_previous(set(names))
            for name in names:
                os.replace(staging / name, self.path / name)
            os.replace(manifest, self.path / self.MANIFEST)
            if self.note:
                warn(self.note, self.path)
            return self.path
        except OSError as exc:
            raise DeepPhotoError(f"{self.path}: cannot move the frames into place ({exc.strerror or exc})") from None
        finally:
            discard(staging)

    def _remove_previous(self, keep: set[str]) -> None:
        listed = self.path / self.MANIFEST
        try:
            previous = listed.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
        except OSError:
            return  # no list: nothing here is known to be an earlier job's frame
        for name in previous:
            if name and "/" not in name and name not in keep and name != self.MANIFEST:
                discard(self.path / name)

    def abort(self) -> None:
        staging, self.staging = self.staging, None
        discard(staging)


CameraFactory = Callable[..., Any]
NEEDS_PYVIRTUALCAM = "virtual camera output needs pyvirtualcam: pip install -e '.[vcam]' in the DeepPhoto checkout"
LOAD_LOOPBACK = "load v4l2loopback first (sudo modprobe v4l2loopback devices=1 exclusive_caps=1)"
V4L2_CLASS = Path("/sys/class/video4linux")  # a v4l2loopback device there links under .../virtual/...


def _pyvirtualcam_camera(**kwargs: Any) -> Any:
    try:
        import pyvirtualcam
    except ImportError:
        raise DeepPhotoError(NEEDS_PYVIRTUALCAM) from None
    try:
        return pyvirtualcam.Camera(fmt=pyvirtualcam.PixelFormat.BGR, **kwargs)
    except RuntimeError as exc:
        if "loopback" in str(exc).lower():
            raise DeepPhotoError(f"no virtual camera device: {LOAD_LOOPBACK}") from None
        raise DeepPhotoError(f"virtual camera: {exc}") from None


def check_virtual_camera(device: str | None, v4l2_class: Path = V4L2_CLASS) -> None:
    """What opening a virtual camera output would refuse that can be told before any work (the
    networks take seconds, and the progress bar was drawn before the error): pyvirtualcam missing,
    and on Linux the device named missing, or, none named, no v4l2loopback device at all (those
    are virtual devices in sysfs). Anything else (a device that is no loopback one) is told when
    the camera opens on the first frame, as are other systems' virtual cameras."""
    if importlib.util.find_spec("pyvirtualcam") is None:
        raise DeepPhotoError(NEEDS_PYVIRTUALCAM)
    if not sys.platform.startswith("linux"):
        return
    if device is not None:
        if not os.path.exists(device):
            raise DeepPhotoError(f"no virtual camera device {device}: {LOAD_LOOPBACK}")
        return
    if not v4l2_class.parent.is_dir():  # no sysfs to ask: opening the camera tells
        return
    devices = list(v4l2_class.glob("video*")) if v4l2_class.is_dir() else []
    if not any("virtual" in p.resolve().parts for p in devices):
        raise DeepPhotoError(f"no virtual camera device: {LOAD_LOOPBACK}")


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
        if (w, h) != (self.camera.width, self.camera.height):  # its shape kept, as a video file does
            image = letterbox(image, (self.camera.width, self.camera.height))
        self.camera.send(np.ascontiguousarray(image))
        self.frames += 1

    def close(self) -> Path | None:
        if self.camera is not None:
            self.camera.close()
        return self.path

    def abort(self) -> None:
        self.close()


# opens and closes a window, as display:// will, in a process of its own: where the display cannot
# be reached, OpenCV's Qt build aborts the whole process (SIGABRT, a core dump) and GTK's exits
DISPLAY_PROBE = "import cv2; cv2.namedWindow('DeepPhoto'); cv2.destroyAllWindows()"
NO_CORE_DUMP = "import resource; resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"  # none left in the folder
_displays_reached: set[tuple[str, str]] = set()


def check_display(probe: str | None = None) -> None:
    """What would stop ``display://`` from opening its window, as a one-line error before any work:
    OpenCV without a GUI, no display named, or one that cannot be reached (a stale ``$DISPLAY`` in
    tmux or over ssh without -X, a Wayland session for OpenCV's Qt build, which opens X11 windows
    only): the first frame's window aborted the run with a screenful of Qt messages, status 134."""
    gui = [line for line in cv2.getBuildInformation().splitlines() if line.strip().startswith("GUI:")]
    if gui and "NONE" in gui[0]:
        raise DeepPhotoError("display:// needs OpenCV with a GUI (pip install opencv-python, not the headless build)")
    if os.name != "posix" or sys.platform == "darwin":  # Windows and macOS windows need no $DISPLAY
        return
    display, wayland = os.environ.get("DISPLAY", ""), os.environ.get("WAYLAND_DISPLAY", "")
    if not (display or wayland):
        raise DeepPhotoError("display:// needs a display ($DISPLAY is not set)")
    if (display, wayland) in _displays_reached:
        return
    import subprocess

    named = f"$DISPLAY={display}" if display else f"$WAYLAND_DISPLAY={wayland} (no $DISPLAY)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # the same cv2
    try:
        done = subprocess.run(
            [sys.executable, "-c", NO_CORE_DUMP + (probe or DISPLAY_PROBE)],
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        raise DeepPhotoError(f"display:// cannot open a window: the display {named} did not answer in 30 s") from None
    if done.returncode != 0:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        reason = next((line for line in lines if "display" in line.lower()), lines[0] if lines else "")
        raise DeepPhotoError(
            f"display:// cannot open a window on {named}"
            + (f" ({reason})" if reason else "")
            + ": is the display running, and reachable from here (ssh -X)?"
        )
    _displays_reached.add((display, wayland))


class DisplaySink(Sink):
    title = "DeepPhoto (s: style/effect, r: region, [ ]: strength, p: snapshot, q: quit)"

    def __init__(self) -> None:
        check_display()  # done already by check_sink before the networks opened, where run called it
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


# the standard output and error named as a path (no suffix: they were taken for a folder's name)
STANDARD_STREAMS = {
    **dict.fromkeys(("-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"), "standard output"),
    **dict.fromkeys(("/dev/stderr", "/dev/fd/2", "/proc/self/fd/2"), "standard error"),
}


def standard_stream(uri: str) -> str | None:
    """'standard output' or 'standard error' where an output names one: '-', as ffmpeg takes it, or
    ``/dev/stdout`` and its kin (which, redirected to a file, were refused as 'a file, not a folder')."""
    return STANDARD_STREAMS.get(uri if uri == "-" else uri.rstrip("/"))


def output_kind(uri: str) -> str:
    """What a URI names as an output: 'null', 'display', 'vcam', 'video', 'image' or 'folder'; a
    one-line error for a scheme or a file type there is no writer for."""
    if stream := standard_stream(uri):  # frames cannot go to standard output here (not a folder named '-')
        raise DeepPhotoError(
            f"{uri}: frames cannot be written to {stream}; name a file, a folder/, or null:// to discard them"
        )
    for prefix, kind in (("null://", "null"), ("display://", "display"), ("vcam://", "vcam")):
        if uri.startswith(prefix):
            return kind
    if names_v4l2(uri):
        return "vcam"
    if "://" in uri:
        raise DeepPhotoError(
            f"{uri}: unknown output scheme (use a file, folder/, vcam://, /dev/videoN, v4l2://N, display://0 or null://)"
        )
    if uri.endswith(("/", os.sep)):  # 'frames.mkv/' asks for a folder, whatever its suffix
        return "folder"
    suffix = Path(uri).suffix.lower()
    name = Path(uri).name.lower()
    if not suffix and name in (*VIDEO_FORMATS, *IMAGE_SUFFIXES):  # "$name.mp4" with $name empty: not a hidden folder
        raise DeepPhotoError(f"{Path(uri)}: a file type without a name; name the output file (out{name})")
    if suffix in VIDEO_FORMATS:
        return "video"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix:
        raise DeepPhotoError(
            f"{Path(uri)}: unknown output type {suffix!r} (video: {', '.join(VIDEO_FORMATS)}; "
            f"image: {', '.join(IMAGE_SUFFIXES)}; or a folder/)"
        )
    return "folder"


def loopback_device(uri: str) -> str | None:
    """The v4l2loopback device a virtual camera output names (None: the first free one):
    ``vcam://``, ``vcam:///dev/video2``, ``/dev/video2``, and as jetson-utils names it,
    ``v4l2:///dev/video2`` or ``v4l2://2``."""
    if uri.startswith("vcam://"):
        return uri[len("vcam://") :] or None
    if uri.startswith("v4l2://"):
        return f"/dev/video{v4l2_index(uri, default=None)}"
    return uri


def check_sink(uri: str, overwrite: bool = False) -> None:
    """What ``open_sink`` would refuse about a file or folder output, before any work (the networks
    take seconds to load); a virtual camera as far as it can be told before it opens
    (``check_virtual_camera``), and a window (``check_display``: a display that cannot be reached)."""
    kind = output_kind(uri)
    if kind in ("video", "image"):
        check_output_file(Path(uri), overwrite)
    elif kind == "folder":
        check_output_folder(Path(uri), overwrite)
    elif kind == "vcam":
        check_virtual_camera(loopback_device(uri))  # it opens on the first frame: what can be told now
    elif kind == "display":
        check_display()


def open_sink(
    uri: str,
    fps: Fraction,
    time_base: Fraction | None = None,
    audio_from: Path | str | None = None,
    overwrite: bool = False,
    live: bool = False,
) -> Sink:
    """The output a URI names; ``live``: the frames come from a camera or stream (see VideoSink)."""
    kind = output_kind(uri)
    if kind == "null":
        return NullSink()
    if kind == "display":
        return DisplaySink()
    if kind == "vcam":
        return VirtualCameraSink(loopback_device(uri), float(fps))
    if kind == "video":
        return VideoSink(Path(uri), fps, time_base, audio_from, overwrite, live)
    if kind == "image":
        return ImageSink(Path(uri), overwrite, live)
    return FolderSink(Path(uri), overwrite)
