"""Video containers: which files are video (by name and by content), opening a file or a network
stream (with a timeout and a reason in words when it cannot be opened), the encoder and muxer
options an output container is written with, and the span of a written video's frames."""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlsplit

import av

from deepphoto.errors import DeepPhotoError
from deepphoto.image_header import is_avif, is_heic

VIDEO_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}


MATROSKA = ("matroska", "webm")  # WebM is Matroska, with VP9 and Opus or Vorbis only


def video_encoder(fmt: str, crf: int) -> tuple[str, dict[str, str]]:
    """The encoder a video of container ``fmt`` is written with, and its options, at quality ``crf``
    (x264's scale): H.264 (libx264), but VP9 in a WebM (which holds nothing else), at its real-time
    speed, as fast as x264's veryfast here and within 1 dB of it at crf + 10."""
    if fmt == "webm":
        return "libvpx-vp9", {"crf": str(crf + 10), "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"}
    # mb-tree off: libx264 165 (PyAV's) reads uninitialised memory in its lookahead when on, so that
    # two encodes of the same frames could differ (a batch against `run`, a rerun against the last)
    return "libx264", {"crf": str(crf), "preset": "veryfast", "x264-params": "mbtree=0"}


def moving_picture(container: av.container.InputContainer) -> av.video.stream.VideoStream | None:
    """The first video stream that is not a cover picture (an attached picture: a song's cover art,
    a thumbnail a downloader embeds, a single still that FFmpeg lists as a video stream); None if
    there is none. Of an HLS master playlist's variants (the same picture at several sizes and bit
    rates, each a stream), the largest, as FFmpeg's command line picks it (the first listed, often
    the smallest, was taken: a 320x240 stream recorded at 160x120)."""
    pictures = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    variants = [s for s in pictures if "variant_bitrate" in s.metadata]
    if len(variants) > 1:
        return max(variants, key=lambda s: (s.width * s.height, _bit_rate(s)))
    return pictures[0] if pictures else None


def _bit_rate(stream: av.stream.Stream) -> int:
    """An HLS variant's bit rate as its playlist states it; 0 where it does not say."""
    value = str(stream.metadata.get("variant_bitrate", ""))
    return int(value) if value.isdigit() else 0


def video_by_content(path: Path) -> str | None:
    """FFmpeg's name for the container ``path`` is by its content ('mov,mp4,m4a,3gp,3g2,mj2') where
    it holds a moving picture, not a still image that FFmpeg reads as a video of one frame (a JPEG,
    a PNG); None for anything else, or a file FFmpeg cannot read. A HEIC or AVIF photo is not a
    video (FFmpeg opens one as a video of its tiles, or of a cut one's remains): its own reason stands."""
    try:
        with open(path, "rb") as f:
            head = f.read(256)
        if is_heic(head) or is_avif(head):
            return None
        with open_input(path, False) as c:
            name = c.format.name
            if name == "image2" or name.endswith("_pipe") or moving_picture(c) is None:
                return None
            return name
    except (av.error.FFmpegError, OSError):
        return None


def mp4_without_index(path: Path) -> bool:
    """Whether ``path`` is an MP4 or MOV (its first box 'ftyp') whose top-level boxes, as far as the
    file goes, hold no 'moov' (the index of its samples); False for any other file."""
    try:
        with open(path, "rb") as f:
            at, end, first = 0, path.stat().st_size, True
            while at + 8 <= end:
                f.seek(at)
                head = f.read(16)
                size, kind = int.from_bytes(head[:4], "big"), head[4:8]
                if first and kind != b"ftyp":
                    return False
                if kind == b"moov":
                    return False
                first = False
                if size == 1 and len(head) == 16:  # a 64-bit size follows
                    size = int.from_bytes(head[8:16], "big")
                elif size == 0:  # to the end of the file
                    size = end - at
                if size < 8:
                    return True  # a damaged box: no index reached
                at += size
            return not first
    except OSError:
        return False


# FFmpeg reads an MPEG-TS or MPEG-PS clock (33 bits) that goes back by more than a minute as one
# that wrapped round, and moves what follows 26.5 hours on: recordings joined end to end, the first
# one's clock the later, became a 26.5-hour video (or none: an MP4 refused the leap). Not guessed, a
# clock that goes back is one that started again (OnwardClock), and a real wrap is one too.
FILE_OPTIONS = {"correct_ts_overflow": "0"}


def open_input(path: Path | str, network: bool) -> av.container.InputContainer:
    """A container to read; over the network with timeouts (5 s a read, 10 s to open), so a server
    that stops answering ends the read instead of hanging it. A file's clock is read as it is
    (``FILE_OPTIONS``)."""
    if not network:
        return av.open(str(path), options=FILE_OPTIONS)
    if threading.current_thread() is not threading.main_thread():
        return _open_url(path)
    return _open_url_stoppable(path)


OPEN_TIMEOUT = 10.0  # seconds a server has to answer when a stream opens
READ_TIMEOUT = 5.0  # seconds a TCP connection (HTTP, RTSP, tcp://) may go without data


def _open_url(url: Path | str) -> av.container.InputContainer:
    return av.open(str(url), options={"rw_timeout": str(round(READ_TIMEOUT * 1e6))}, timeout=OPEN_TIMEOUT)


def timed_out(exc: BaseException) -> bool:
    """Whether FFmpeg gave up on a connection that went ``READ_TIMEOUT`` without data ('Connection
    timed out': a server that took the connection and sent nothing, or stopped sending)."""
    return getattr(exc, "errno", None) == errno.ETIMEDOUT


def unreachable(url: str, exc: BaseException, waited: float) -> str:
    """Why a stream could not be opened, in words: FFmpeg gives up on a server (or a UDP port) that
    never answers with 'Invalid data found when processing input' (RTSP) or 'Immediate exit
    requested' (UDP), and on a host name that does not resolve with 'Input/output error'."""
    if waited >= OPEN_TIMEOUT - 0.5:
        return f"no answer in {OPEN_TIMEOUT:g} s"
    if timed_out(exc):  # it read 'stream not reachable (Connection timed out)' of a server that was reached
        return f"no answer in {READ_TIMEOUT:g} s"
    reason = getattr(exc, "strerror", None) or str(exc)
    host = urlsplit(url).hostname
    if getattr(exc, "errno", None) == errno.EIO and host:
        try:
            socket.getaddrinfo(host, None)
        except (socket.gaierror, UnicodeError):
            return f"host {host} not found"
        except OSError:
            pass
    return reason


def _open_url_stoppable(url: Path | str) -> av.container.InputContainer:
    """``_open_url`` in a thread of its own, waited for where a signal is acted on: FFmpeg's
    connection to a server that does not answer returns to Python only at its timeout, so Ctrl-C
    (SIGTERM, SIGHUP) waited up to 10 s. Given up on, the opening is left to end by itself and what
    it opens late is closed."""
    lock = threading.Lock()
    outcome: list[av.container.InputContainer | BaseException] = []
    abandoned = False
    done = threading.Event()

    def opener() -> None:
        try:
            result: av.container.InputContainer | BaseException = _open_url(url)
        except BaseException as exc:  # handed to the waiting thread, raised there
            result = exc
        with lock:
            if abandoned and not isinstance(result, BaseException):
                result.close()
                return
            outcome.append(result)
        done.set()

    threading.Thread(target=opener, name="deepphoto-open-url", daemon=True).start()
    try:
        while not done.wait(0.1):
            pass
    except BaseException:  # KeyboardInterrupt: a stop asked for while connecting
        with lock:
            abandoned = True
            opened = outcome[0] if outcome else None
        if opened is not None and not isinstance(opened, BaseException):
            opened.close()
        raise
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


def is_url(source: Path | str | None) -> bool:
    """Whether an audio source names a file on a server (a URL), not a local path."""
    return isinstance(source, str) and "://" in source


def video_span(path: Path) -> tuple[Fraction | None, Fraction | None]:
    """Where the video of ``path`` starts and ends, in seconds: its first packet's time, and its last
    packet's time plus duration. Not the container's duration: a clip may start after 0
    (short_hamilton_clip at 0.85 s), and MP4 states the length while Matroska states the end."""
    start = end = None
    with av.open(str(path)) as c:
        for pkt in c.demux(c.streams.video[0]):
            if pkt.pts is not None and pkt.size and pkt.time_base is not None:
                t = Fraction(pkt.pts) * Fraction(pkt.time_base)
                start = t if start is None else min(start, t)
                t += Fraction(pkt.duration or 0) * Fraction(pkt.time_base)
                end = t if end is None else max(end, t)
    return start, end


def muxer_options(fmt: str) -> dict[str, str]:
    """What the muxer of a finished file is asked for: an MP4 or MOV with its index (the 'moov' box)
    before the media, so a browser or player starts playing while it downloads (FFmpeg writes it at
    the end, then moves it to the front when the file is closed); a Matroska or WebM file's track
    and segment ids made of its content, not drawn at random (two runs of the same input and
    settings made files that differed in 32 bytes)."""
    if fmt in MATROSKA:
        return {"fflags": "+bitexact"}
    return {"movflags": "+faststart"} if fmt in ("mp4", "mov") else {}


def container_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in VIDEO_FORMATS:
        raise DeepPhotoError(f"{path}: unsupported video container {suffix!r} (use .mp4, .mkv, .mov or .webm)")
    return VIDEO_FORMATS[suffix]


class OnwardClock:
    """Timestamps (ticks) made to go onward where a source's go back. Far back (over a second),
    and the next one agrees, the clock started again (recordings joined end to end, a timestamp
    that wrapped): what follows is shifted to go on from the last one, for good. A little back (a
    repeated or stray timestamp), or far back once: that one goes right after the last, and the
    source's own times resume.

    ``follow``: where the clock starts again, the shifts to take instead, in turn (asked for at the
    first restart): a recording's sound goes where its picture went (``picture_restarts``), not right
    after the last recording's sound, which may end before or after its picture. One that lands on
    what went before (sound already heard) is a step back."""

    def __init__(self, ticks_per_second: int, follow: Callable[[], list[int]] | None = None) -> None:
        self.far = max(1, ticks_per_second)  # one second
        self.shift = 0
        self.pending: int | None = None  # the shift a clock that started again would need
        self.last: int | None = None
        self.back: int | None = None  # how far the last one went back (ticks; None: it did not, or far)
        self.follow = follow
        self.shifts: list[int] | None = None  # follow's, once asked for
        self.restarts = 0  # how many times the clock started again

    def _given_shift(self) -> int | None:
        """The shift ``follow`` gives the next restart; None without one (go on from the last)."""
        if self.follow is None:
            return None
        if self.shifts is None:
            self.shifts = self.follow()
        return self.shifts[self.restarts] if self.restarts < len(self.shifts) else None

    def __call__(self, ts: int, step: int) -> int:
        """Where ``ts`` goes; ``step``: ticks of one frame or packet."""
        at = ts + self.shift
        self.back = None
        if self.last is None or at > self.last:
            self.pending = None
        elif self.last - at > self.far:
            if self.pending is not None and ts + self.pending > self.last:  # the second one agrees
                self.shift, self.pending = self.pending, None
                self.restarts += 1
                at = ts + self.shift
            else:
                given = self._given_shift()
                self.pending = self.last + step - ts if given is None else given
                at = self.last + max(1, step) if given is None else ts + given
                if at <= self.last:  # the sound there was heard already: a step back
                    self.back, at = self.last - at, self.last + 1
        else:
            self.pending, self.back = None, self.last - at
            at = self.last + 1
        self.last = at
        return at
