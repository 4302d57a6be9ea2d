"""Frame sources named by one URI, as jetson-utils' videoSource does.

clip.mp4 / clip.mkv ...   a video file (any container PyAV reads)          file: no frame lost
photo.jpg                 one image                                         file
anim.webp, anim.png       an animated image: every frame, its timing kept   file
folder/                   the images in a folder, in name order             file
/dev/video0, v4l2://0     a V4L2 webcam (size and fps may be asked for)     live
  (v4l2:///dev/video0)
csi://0                   a Jetson CSI camera (GStreamer nvarguscamerasrc)   live
rtsp://, http(s)://       a network stream: live, or a file when it declares  live / file
  rtmp://, udp://, tcp://,  a duration or frame count (a clip on a web server)
  rtp:// (MPEG-TS)
file://clip.mp4           the file (as jetson-utils names one; outputs too)
synthetic://              moving shapes at the asked fps, for tests/soaks   live
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from fractions import Fraction
from pathlib import Path
from urllib.parse import unquote

import cv2
import numpy as np

from deepphoto.colour_profile import embedded_profile, to_srgb
from deepphoto.errors import DeepPhotoError, FrameError, not_a_file, option, warn
from deepphoto.frames import check_not_heic, checked_frame, on_white, read_image_alpha, to_bgr8
from deepphoto.image_header import is_heic
from deepphoto.settings import PHOTO_INPUT_SUFFIXES
from deepphoto.stream import animation
from deepphoto.stream.frame import Frame
from deepphoto.stream.v4l2_names import STABLE_NAMES, linked_v4l2, names_v4l2, v4l2_index
from deepphoto.stream.video_container import video_by_content
from deepphoto.stream.video_file import SourceFrame, VideoFileSource


class Source:
    """Yields :class:`Frame` objects. ``live`` sources may drop frames; file sources never do."""

    live: bool = False
    fps: Fraction = Fraction(30)
    time_base: Fraction | None = None
    frame_count: int = 0  # for the progress bar: exact, or estimated from the duration; 0 when unknown
    audio_path: Path | str | None = None  # a file (or a file's URL) whose audio the output may copy

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        pass


class FileVideo(Source):
    """A video file; ``reader`` an already opened one (a finite file over the network: its audio is
    read again from ``path``, the URL, when the output is finished)."""

    def __init__(self, path: Path | str, reader: VideoFileSource | None = None) -> None:
        self.reader = reader or VideoFileSource(path)
        self.fps, self.time_base = self.reader.fps, self.reader.time_base
        self.frame_count = self.reader.frame_count or self.reader.estimated_frames()
        # the file the output's sound is copied from, and its tags and chapters (a local file without
        # sound too: a screen recording's title, a camera's date); a file on a server is read again
        # only for its sound
        local = reader is None
        carried = self.reader.has_audio or (local and self.reader.carries_more)
        self.audio_path = (Path(path) if local else str(path)) if carried else None

    def __iter__(self) -> Iterator[Frame]:
        yield from self.reader

    def close(self) -> None:
        self.reader.close()


class ImageFiles(Source):
    def __init__(self, paths: list[Path], fps: Fraction = Fraction(30)) -> None:
        if not paths:
            raise DeepPhotoError("no images to read")
        self.paths = paths
        self.fps = fps
        self.frame_count = len(paths)
        self.unreadable = 0  # images skipped (the run's summary reports them)

    def __iter__(self) -> Iterator[Frame]:
        self.unreadable = 0
        told: dict[str, int] = {}  # a warning's kind (its numbers left out) -> the images it held for
        for i, p in enumerate(self.paths):
            try:
                image, _ = read_image_alpha(p, lambda message, p=p: _tell_once(told, p, message), painted=True)
            except DeepPhotoError as exc:  # one bad image must not end a batch
                self.unreadable += 1
                if is_heic_file(p):  # a phone's folder of HEICs: one line, then the count
                    _tell_once(told, p, f"{str(exc).removeprefix(f'{p}: ')}; skipped")
                else:
                    warn(f"skipped {exc}")
                continue
            yield Frame(image, i, 1 / self.fps, name=p.stem)
        for kind, count in told.items():  # a folder of 300 scanned TIFFs: one line, then the count
            if count > 1:
                more = f"{count - 1} more image{'s' if count > 2 else ''}"
                warn(kind, more)


def _tell_once(told: dict[str, int], path: Path, message: str) -> None:
    """Print a folder image's warning the first time its kind comes up; count the others. Its kind
    is the message with its own numbers as N ('a TIFF of N pages'), not those of what every such
    image becomes: '2 more images: a N-bit photo: painted and written with N bits a channel' said
    the 16-bit photos' output had as many bits as they (it has 8), 'BT.N' of a BT.2020 one."""
    kind = re.sub(r"(?<!\d)(?<!BT\.)\d+(?!\d)(?! bits|-bit SDR)", "N", message)
    if kind not in told:
        warn(message, path)
    told[kind] = told.get(kind, 0) + 1


def is_heic_file(path: Path) -> bool:
    """Whether ``path`` is a HEIC photo by its first bytes (whatever its name); False for a file
    that cannot be read."""
    try:
        with open(path, "rb") as f:
            return is_heic(f.read(64))
    except OSError:
        return False


def folder_images(folder: Path) -> tuple[list[Path], list[Path]]:
    """The photos a folder input plays, in name order (a HEIC among them: it is skipped with its
    reason, not left out without a word), and the other files it leaves out (hidden ones not)."""
    images: list[Path] = []
    others: list[Path] = []
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() in PHOTO_INPUT_SUFFIXES:
            images.append(p)
        elif p.name.startswith(".") or not p.is_file():
            continue
        elif is_heic_file(p):
            images.append(p)
        else:
            others.append(p)
    return images, others


def left_out(folder: Path, others: list[Path]) -> str:
    """'2 files that are not photos left out: notes.txt, clip.mp4' (at most three named)."""
    names = ", ".join(p.name for p in others[:3]) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
    what = "1 file that is not a photo" if len(others) == 1 else f"{len(others)} files that are not photos"
    return f"{folder}: {what} left out: {names}"


class AnimatedImage(Source):
    """An animated WebP or PNG: its frames with timestamps and durations in ms (a variable frame rate
    kept, and a long last frame), decoded ``animation.CHUNK`` at a time, in sRGB where the file
    embeds another colour profile (or a PNG's gAMA / cHRM say another), as its still picture is read."""

    time_base = Fraction(1, 1000)

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.data = np.fromfile(self.path, np.uint8)
        self.first = animation.decode_chunk(self.data, 0, animation.CHUNK)
        self.profile = embedded_profile(self.data)
        if len(self.first[0]) < 2:
            raise DeepPhotoError(f"{self.path}: not an animation")
        typical = int(np.median([d for d in self.first[1] if d > 0] or [100]))
        self.fps = Fraction(1000, max(typical, 1)).limit_denominator(1001)

    def __iter__(self) -> Iterator[Frame]:
        index, pts = 0, 0
        frames, durations = self.first
        while frames:
            for image, ms in zip(frames, durations):
                shown = max(ms, 1)  # a frame of 0 ms still gets its moment
                name = f"{self.path.stem}-{index:05d}"
                # its duration kept with it: a long last frame lasts in the output as long as here
                colour = to_srgb(opaque(image), self.profile)
                yield SourceFrame(colour, pts, self.time_base, name=name, duration=shown)
                pts += shown
                index += 1
            if len(frames) < animation.CHUNK:
                return
            frames, durations = animation.decode_chunk(self.data, index, animation.CHUNK)


def opaque(image: np.ndarray) -> np.ndarray:
    """A decoded frame as BGR uint8, its transparent pixels on white (as a photo's, and as FFmpeg
    gives a GIF's), not the colours stored under them (black, in an animated WebP)."""
    if image.ndim != 3 or image.shape[2] != 4:
        return to_bgr8(image)
    alpha = to_bgr8(image[..., 3:])[..., 0]
    colour = to_bgr8(image[..., :3])
    return colour if alpha.min() == 255 else on_white(colour, alpha)


MJPEG = cv2.VideoWriter.fourcc(*"MJPG")
V4L2_DEFAULT_FPS = 30.0  # what OpenCV asks of a V4L2 camera when no rate is given


class Capture(Source):
    """An OpenCV ``VideoCapture`` (V4L2 webcam, GStreamer pipeline): a live source."""

    live = True

    def __init__(
        self,
        target: int | str,
        api: int,
        what: str,
        size: tuple[int, int] | None = None,
        fps: float | None = None,
        failure: str = "camera not found or busy",
    ) -> None:
        self.what = what
        self.cap = cv2.VideoCapture(target, api)
        if not self.cap.isOpened():
            raise DeepPhotoError(f"{what}: {failure}")
        if size:
            self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
            self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
        if fps:
            self.cap.set(cv2.CAP_PROP_FPS, fps)
        if api == cv2.CAP_V4L2:
            self._compressed_if_faster(size, fps or V4L2_DEFAULT_FPS)
        got = self.cap.get(cv2.CAP_PROP_FPS)
        self.fps = Fraction(got).limit_denominator(1001) if got and got > 0 else Fraction(30)

    def _mode(self) -> tuple[int, int, int, float]:
        """The camera's pixel format (a FOURCC), width, height and frame rate, as it set them."""
        c = self.cap
        w, h = int(c.get(cv2.CAP_PROP_FRAME_WIDTH)), int(c.get(cv2.CAP_PROP_FRAME_HEIGHT))
        return int(c.get(cv2.CAP_PROP_FOURCC)), w, h, float(c.get(cv2.CAP_PROP_FPS) or 0)

    def _compressed_if_faster(self, size: tuple[int, int] | None, fps: float) -> None:
        """MJPEG where the camera's uncompressed pictures come slower than ``fps``. OpenCV takes a
        webcam's YUYV before its MJPEG, and USB 2.0 carries YUYV at 1280x720 at 10 fps, 1920x1080 at
        5 (a camera may offer a large size in MJPEG only: a smaller one came instead); MJPEG comes at
        30. Kept only where it gives the size asked for (as well as YUYV) at more frames a second."""
        before = self._mode()
        if before[0] == MJPEG or before[3] >= fps - 0.5:
            return
        self.cap.set(cv2.CAP_PROP_FOURCC, MJPEG)
        self.cap.set(cv2.CAP_PROP_FPS, fps)  # asked again: OpenCV asks the rate it got last
        after = self._mode()

        def score(mode: tuple[int, int, int, float]) -> tuple[bool, float]:
            return (size is None or mode[1:3] == size), mode[3]

        if after[0] != MJPEG or score(after) <= score(before):
            self.cap.set(cv2.CAP_PROP_FOURCC, before[0])  # as it was: no MJPEG, or none better
            self.cap.set(cv2.CAP_PROP_FPS, fps)

    def __iter__(self) -> Iterator[Frame]:
        start = time.monotonic()
        while True:
            ok, img = self.cap.read()
            if not ok or img is None:
                raise SourceLost(f"{self.what}: camera stopped delivering frames")
            yield Frame(img, None, None, arrival=time.monotonic() - start)

    def close(self) -> None:
        self.cap.release()


class SourceLost(DeepPhotoError):
    """A live source that went away mid-stream (unplugged camera, dropped stream)."""


def csi_pipeline(sensor: int, size: tuple[int, int], fps: float) -> str:
    """The GStreamer pipeline for a Jetson CSI camera through nvarguscamerasrc, BGR out. The rate
    as the fraction it is (29.97 was cut to 29/1, and 0.5 to 0/1, GStreamer's 'variable')."""
    w, h = size
    rate = Fraction(fps).limit_denominator(1001)
    return (
        f"nvarguscamerasrc sensor-id={sensor} ! video/x-raw(memory:NVMM), width={w}, height={h}, "
        f"framerate={rate.numerator}/{rate.denominator}, format=NV12 ! nvvidconv ! video/x-raw, format=BGRx ! "
        f"videoconvert ! video/x-raw, format=BGR ! appsink drop=true max-buffers=1"
    )


def has_gstreamer() -> bool:
    info = cv2.getBuildInformation()
    return any(line.strip().startswith("GStreamer:") and "YES" in line for line in info.splitlines())


class NetworkStream(Source):
    """rtsp:// or http(s):// through PyAV, read as a live source: each frame let go when the
    stream's own clock says (see ``StreamPace``), not as fast as it was received."""

    live = True

    def __init__(
        self,
        url: str,
        reader: VideoFileSource | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.reader = reader or open_network(url)
        self.fps = self.reader.fps
        self.url = url
        self.clock, self.sleep = clock, sleep
        # what a recording of it leaves out (a camera's microphone, a broadcast's sound and subtitles)
        streams = getattr(getattr(self.reader, "container", None), "streams", None)
        self.not_recorded = [
            what for what, kind in (("sound", "audio"), ("subtitles", "subtitles")) if getattr(streams, kind, None)
        ]

    def __iter__(self) -> Iterator[Frame]:
        start = self.clock()
        pace = StreamPace(self.clock, self.sleep, 1 / float(self.fps) if self.fps else 0.04)
        try:
            for frame in self.reader:
                if frame.pts is not None and frame.time_base:
                    pace.wait(float(frame.pts * frame.time_base))
                frame.pts, frame.arrival = None, self.clock() - start
                yield frame
        except DeepPhotoError as exc:  # the connection lost: said with the stream's name, then retried
            raise SourceLost(f"{self.url}: {exc}") from None
        raise SourceLost(f"{self.url}: stream ended")

    def close(self) -> None:
        self.reader.close()


class StreamPace:
    """Frames of a live stream let go at the pace of their own timestamps. A network stream's frames
    come in bursts: those FFmpeg reads while it opens the stream (0.7 s of an MPEG-TS stream over
    HTTP or TCP), an HLS playlist's segments (each a few seconds of frames, fetched whole), a
    camera's buffered frames after a stall. A live recording places each frame at the moment it
    arrives, so a burst was written a millisecond a frame, then the last one held (a live HLS
    stream of 2-s segments recorded as one flash of 50 frames, then 1.9 s still), and the live
    queue dropped most of them as stale. Each frame waits for the moment its timestamp puts it
    at, counted from the first frame's arrival; one that arrives later than that moves the clock
    on (a stall is kept as a pause, as it was seen), and a step in the timestamps back or more
    than ``JUMP`` seconds (or 4 frames) forward (a wrapped clock, a stream started again) starts
    the count again from that frame."""

    JUMP = 1.0

    def __init__(self, clock: Callable[[], float], sleep: Callable[[float], None], period: float) -> None:
        self.clock, self.sleep = clock, sleep
        self.jump = max(self.JUMP, 4 * period)
        self.offset: float | None = None  # the clock's time at the stream's time 0
        self.last: float | None = None  # the stream's time of the last frame (seconds)

    def wait(self, at: float) -> None:
        """Wait until the frame of stream time ``at`` (seconds) is due."""
        now = self.clock()
        if self.offset is None or self.last is None or not 0 <= at - self.last <= self.jump:
            self.offset = now - at
        self.last = at
        due = at + self.offset
        if due > now:
            self.sleep(due - now)
        else:
            self.offset = now - at  # late: the count goes on from here


def open_network(url: str) -> VideoFileSource:
    """A stream or a file on a server, opened (a one-line error naming the URL once: 'stream not
    reachable (Connection refused)', or 'has no video stream' for one that answered)."""
    return VideoFileSource(url, network=True)


class Resized(Source):
    """Another source's frames scaled to ``size`` (width, height): what ``--size`` does to files."""

    def __init__(self, source: Source, size: tuple[int, int]) -> None:
        self.source, self.size = source, size
        self.live, self.fps, self.time_base = source.live, source.fps, source.time_base
        self.frame_count, self.audio_path = source.frame_count, source.audio_path

    def __iter__(self) -> Iterator[Frame]:
        w, h = self.size
        for frame in self.source:
            ih, iw = frame.image.shape[:2]
            if (iw, ih) != (w, h):
                shrink = iw > w or ih > h
                frame.image = cv2.resize(
                    frame.image, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
                )
            yield frame

    def close(self) -> None:
        self.source.close()

    def __getattr__(self, name: str) -> object:  # the summary reads bad_packets, unreadable, ...
        return getattr(self.source, name)


class Arrays(Source):
    """Frames from Python code (``Pipeline.run``): an iterable of images (a generator, a list),
    each taken as ``Pipeline.__call__`` takes one (``checked_frame``), at ``fps``; every one is
    used, as a file's. A video's frames are one size: another is a one-line ``FrameError`` (the
    reading stops there, what was done is kept)."""

    def __init__(self, frames: Iterable[object], fps: float = 30) -> None:
        self.frames, self.fps = frames, Fraction(fps).limit_denominator(1001)
        self.time_base = 1 / self.fps
        self.frame_count = len(frames) if isinstance(frames, Sized) else 0

    def __iter__(self) -> Iterator[Frame]:
        size = None
        frames = iter(self.frames)
        for i in itertools.count():
            try:
                given = next(frames)
            except StopIteration:
                return
            except Exception as exc:  # the caller's own code: named as such, its traceback kept as the cause
                raise DeepPhotoError(f"the frames given raised {type(exc).__name__}: {exc}") from exc
            image = checked_frame(given, f"frame {i}")  # type: ignore[arg-type]  # refused in one line
            if size is None:
                size = image.shape[:2]
            elif image.shape[:2] != size:
                raise FrameError(
                    f"frame {i} is {image.shape[1]}x{image.shape[0]}, the first {size[1]}x{size[0]}: "
                    "a video's frames are all one size"
                )
            yield Frame(image, i, self.time_base)

    def close(self) -> None:
        close = getattr(self.frames, "close", None)  # a generator's own cleanup (its finally)
        if callable(close):
            close()


class Synthetic(Source):
    """A live test source: a figure moving over a textured background, paced at ``fps``."""

    live = True

    def __init__(self, size: tuple[int, int] = (640, 480), fps: float = 30, frames: int = 0) -> None:
        self.size, self.fps, self.frames = size, Fraction(fps).limit_denominator(1001), frames
        w, h = size
        yy, xx = np.mgrid[0:h, 0:w]
        self.background = np.stack(
            [(xx * 255 // max(w, 1)), (yy * 255 // max(h, 1)), ((xx // 32 + yy // 32) % 2) * 120 + 60], -1
        ).astype(np.uint8)

    def __iter__(self) -> Iterator[Frame]:
        start = time.monotonic()
        w, h = self.size
        i = 0
        while not self.frames or i < self.frames:
            due = start + i / float(self.fps)
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            img = self.background.copy()
            cx = int(w / 2 + w / 4 * np.sin(i / 15))
            cv2.circle(img, (cx, h // 3), h // 8, (80, 120, 200), -1)
            cv2.rectangle(img, (cx - h // 6, h // 3 + h // 8), (cx + h // 6, h), (90, 60, 40), -1)
            yield Frame(img, None, None, arrival=time.monotonic() - start)
            i += 1


NETWORK_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://", "rtp://")


def local_name(uri: str) -> str:
    """A ``file://`` URI as the path it names, as jetson-utils' videoSource and videoOutput take it
    (``file://clip.mp4``, ``file:///home/me/clip.mp4``; ``%20`` and the like decoded, as a file
    manager copies a file's address); anything else as it is."""
    if not uri.lower().startswith("file://"):
        return uri
    rest = uri[len("file://") :]
    if rest.lower().startswith("localhost/"):
        rest = rest[len("localhost") :]
    return unquote(rest) or "."


def check_source_path(uri: str) -> None:
    """A file or folder input that is not there (or is a pipe), refused before any work; URIs and
    cameras are checked when they open."""
    if "://" in uri or names_v4l2(uri) or uri.startswith(STABLE_NAMES) or linked_v4l2(uri):  # checked when opened
        return
    if uri == "-":
        raise DeepPhotoError("-: standard input cannot be read; name a file, a folder or a URI")
    path = Path(uri)
    if not path.exists():
        if re.search(r"%0?\d*d", path.name):  # frame%04d.png, as ffmpeg and jetson-utils take
            raise DeepPhotoError(
                f"{path}: no such file or folder (a numbered pattern is not read: "
                f"give the folder, {path.parent}/, whose images are read in name order)"
            )
        if uri.isdigit():  # OpenCV's camera index, as in cv2.VideoCapture(0)
            raise DeepPhotoError(f"{path}: no such file or folder (a camera is /dev/video{uri} or v4l2://{uri})")
        raise DeepPhotoError(f"{path}: no such file or folder")
    if not path.is_dir() and not path.is_file():
        raise not_a_file(path)


def open_source(uri: str, size: tuple[int, int] | None = None, fps: float | None = None) -> Source:
    """The source a URI names; a one-line error for anything that cannot be opened."""
    if uri.startswith("csi://"):
        sensor = _index(uri, "csi://")
        if not has_gstreamer():
            raise DeepPhotoError(
                f"{uri}: CSI cameras need OpenCV built with GStreamer "
                "(JetPack's python3-opencv); this OpenCV has no GStreamer"
            )
        (w, h), rate = size or (1280, 720), fps or 30
        failure = (  # what stops nvarguscamerasrc; OpenCV only says that the pipeline did not start
            f"the CSI camera did not start (no sensor {sensor}, another program using it, or {w}x{h} at "
            f"{rate:g} fps is not one of its modes: see {option('size')} and {option('fps')}); after a crash, "
            "sudo systemctl restart nvargus-daemon"
        )
        return Capture(csi_pipeline(sensor, (w, h), rate), cv2.CAP_GSTREAMER, uri, failure=failure)
    device = linked_v4l2(uri)  # looked up at each opening: the camera plugged in again may be another N
    if device is None and uri.startswith(STABLE_NAMES):
        raise DeepPhotoError(f"{uri}: camera not found (unplugged?)")
    if names_v4l2(uri) or device is not None:
        index = v4l2_index(device or uri)
        if not Path(f"/dev/video{index}").exists():
            raise DeepPhotoError(f"{uri}: camera not found (no /dev/video{index})")
        return Capture(index, cv2.CAP_V4L2, uri, size, fps)
    if uri.startswith(NETWORK_SCHEMES):
        reader = open_network(uri)
        # A clip on a web server declares its length: read it as a file (every frame, then the end);
        # a camera or broadcast does not: read it live (newest frames, reconnect when it drops).
        return FileVideo(uri, reader) if reader.finite else NetworkStream(uri, reader)
    if uri.startswith("synthetic://"):
        return Synthetic(size or (640, 480), fps or 30)
    if "://" in uri:
        raise DeepPhotoError(
            f"{uri}: unknown input scheme (use a file, folder, /dev/videoN, csi://N, "
            "rtsp://, http(s)://, rtmp://, udp://, tcp://, rtp:// or synthetic://)"
        )
    path = Path(uri)
    if path.is_dir():
        images, others = folder_images(path)
        if not images:
            raise DeepPhotoError(f"{path}: folder holds no images")
        if others:  # a video, notes, a sidecar: said, not left out without a word
            warn(left_out(path, others))
        return ImageFiles(images, Fraction(fps or 30).limit_denominator(1001))
    if path.suffix.lower() in PHOTO_INPUT_SUFFIXES:
        try:
            read_image_alpha(path, warn=lambda _: None)  # fail now, with the reason, not mid-run (it warns then)
        except DeepPhotoError:
            container = video_by_content(path)  # a clip saved under a photo's name: played, as players do
            if container is None:
                raise
            warn(f"is a video ({container}), not an image; read as a video", path)
            return FileVideo(path)
        return AnimatedImage(path) if animation.is_animation(path) else ImageFiles([path])
    check_not_heic(path)  # FFmpeg would read an iPhone photo as a video of its first tile
    return FileVideo(path)


def _index(uri: str, prefix: str) -> int:
    rest = uri[len(prefix) :] or "0"
    if not rest.isdigit():
        raise DeepPhotoError(f"{uri}: expected {prefix}N with a device number")
    return int(rest)
