"""Video files in and out through PyAV (FFmpeg): decode any container, encode H.264.

Frames are decoded upright: a display matrix (the rotation a phone records instead of turning
the picture, and flips) is applied as players and FFmpeg's command line apply it, and so is the
shape of an anamorphic video's pixels (DVD, DV, HDV: the width scaled to square pixels); transparent
pixels are on white (a VP8 or VP9 WebM's too: libvpx's decoder reads the alpha that FFmpeg's own
drops). A cover picture (a song's art) is not a video stream. A file that ends before the duration
it declares (cut short, damaged) is decoded as far as it goes, with a warning. Interlaced frames (a
camcorder's 1080i, a TV recording, DV) are deinterlaced, as players show them (see ``Deinterlacer``).

The sink writes to a temporary name of its own beside the output and moves it into place on
close, so a crash never leaves a half-written file under the final name, and closing always
finalises the container (so Ctrl-C mid-job still leaves a playable file with every frame written
so far); a failed write (a full disk) removes the temporary file. Audio of the source is copied
through (no re-encoding) when the output is finalised, every video packet kept.

Timing: each frame lasts until the next, and the last as long as the source shows it (a GIF's
long last frame). The output starts at 0, as FFmpeg's command line makes it: a source whose clock starts
late (MPEG-TS camcorder clips at 10 hours) or before zero (a timestamp that wrapped, an MP4 edit
list that trims its start) is moved, picture and sound together, so that the earlier of the two
starts at 0. Sound cut away before the start (an edit list's, AAC's priming) is not copied where
the container cannot hide it (Matroska).

Colour: frames are decoded with the matrix the source is tagged with (untagged: BT.709 from 720
lines up, else BT.601, as players assume) and written with a BT.601 or BT.709 matrix, tagged so:
the source's own description when it is one of these, else that convention. HDR (BT.2020 PQ or
HLG: phones record it by default) is tone-mapped to SDR BT.709 as it is decoded, and wide-gamut
BT.2020 is gamut-mapped, so the networks and the output see the picture as an SDR screen should
show it (see ``sdr_bgr``); the output says once that it is SDR.
"""

from __future__ import annotations

import errno
import functools
import heapq
import io
import math
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from urllib.parse import urlsplit

import av
import cv2
import numpy as np
from av.video.reformatter import ColorRange, Colorspace, Interpolation

from deepphoto.errors import DeepPhotoError, not_a_file, warn
from deepphoto.frames import letterbox, on_white
from deepphoto.image_header import is_avif, is_heic
from deepphoto.stream.frame import Frame
from deepphoto.stream.output_safety import check_output_file, discard, publish, temporary_name

VIDEO_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}
MATROSKA = ("matroska", "webm")  # WebM is Matroska, with VP9 and Opus or Vorbis only
DISK_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS)  # the output's disk, not the input


def output_disk_failed(exc: BaseException, audio_from: Path | str) -> bool:
    """Whether ``exc``, met while ``audio_from``'s sound was copied into an output, is the output's
    disk failing (full, over quota, read-only) rather than the sound: the output cannot be trusted,
    so it is not published without its sound (a read from a server fails with EIO too: the sound)."""
    if not isinstance(exc, OSError) or exc.errno not in DISK_ERRORS:
        return False
    return not (is_url(audio_from) and exc.errno == errno.EIO)


# FFmpeg's numbers for colour (AVColorSpace, AVColorPrimaries, AVColorTransferCharacteristic)
BT709, UNSPECIFIED, BT470BG, SMPTE170M, BT2020 = 1, 2, 5, 6, 9  # the same for matrix and primaries
RGB = 0  # matrix: none, the colours stored as such (GIF, PNG, FFV1 / x264rgb RGB)
BT2020_CL = 10  # matrix
PQ, HLG = 16, 18  # transfer
SDR_TRANSFERS = (1, 4, 5, 6, 13, 14, 15)  # bt709, gamma 2.2 / 2.8, smpte170m, sRGB, bt2020 10 / 12 bit
HD_LINES = 720  # untagged video of this many lines or more is BT.709, else BT.601
# HDR to SDR (BT.2408): HDR's reference white (203 cd/m2) is SDR's white; HLG is seen as on a display
# of 1000 cd/m2 (its system gamma 1.2); brighter than KNEE of white, the highlights are compressed
# (each pixel's largest channel, its hue kept) to fit under white; SDR is encoded for BT.1886's 2.4.
SDR_WHITE_NITS, HLG_PEAK_NITS, PQ_PEAK_NITS = 203.0, 1000.0, 10000.0
KNEE, SDR_GAMMA = 0.8, 2.4
LUT_STEPS = 65535  # the tables' steps, taken on the square root of linear light (fine in the shadows)
BT2020_TO_BT709 = np.array(  # linear RGB, BT.2020 primaries -> BT.709 (ITU-R BT.2087)
    [[1.660491, -0.587641, -0.072850], [-0.124550, 1.132900, -0.008349], [-0.018151, -0.100579, 1.118730]],
    np.float32,
)
BT2020_LUMA = np.array([[0.2627, 0.6780, 0.0593]], np.float32)
H264_MAX_SIDE = 16384  # the longest side libx264 encodes

# swscale's colour conversions, rounded (ACCURATE_RND) with the chroma taken at full resolution
# (FULL_CHR_H_INT): its default truncates, so every video written came out about 2 grey levels
# darker (-2.6 / -1.6 / -2.4 in blue, green, red over an encode and a decode; found by a picture
# review) and unpainted pixels no longer matched the input. Measured on a 640x480 and a 1920x1080
# picture: mean signed error 0.02 levels, mean absolute 0.58 (2.25 before); cost per frame 0.6 ms
# (640x480) and 6 ms (1920x1080) for both conversions together.
EXACT = Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT


@dataclass(frozen=True)
class Colour:
    """How a video's YUV values are meant: FFmpeg's numbers for its matrix, primaries and transfer."""

    space: int = UNSPECIFIED
    primaries: int = UNSPECIFIED
    trc: int = UNSPECIFIED

    @property
    def beyond_sdr(self) -> str:
        """'' for SDR video of BT.709's gamut or less, else what it is in words ('HDR (BT.2020 HLG)')."""
        if self.trc in (PQ, HLG):
            return f"HDR (BT.2020 {'PQ' if self.trc == PQ else 'HLG'})"
        return "wide-gamut BT.2020" if self.space in (BT2020, BT2020_CL) or self.primaries == BT2020 else ""

    @property
    def matrix(self) -> Colorspace:
        """swscale's matrix for it (BT.601 unless BT.709)."""
        return Colorspace.ITU709 if self.space == BT709 else Colorspace.ITU601


def decoding_matrix(frame: av.VideoFrame) -> Colorspace | None:
    """The matrix to turn ``frame`` into RGB with where it does not say (None: its own)."""
    if frame.colorspace in (UNSPECIFIED, 3) and frame.height >= HD_LINES:  # 3: reserved
        return Colorspace.ITU709
    return None


def source_colour(frame: av.VideoFrame) -> Colour:
    """The colour description of a decoded frame; an untagged matrix as it was decoded; RGB for a
    frame stored as RGB or a palette, whatever its tag says."""
    space = frame.colorspace
    if frame.format.is_rgb or frame.format.name == "pal8":
        space = RGB
    elif space in (UNSPECIFIED, 3):
        space = BT709 if frame.height >= HD_LINES else SMPTE170M
    return Colour(space, frame.color_primaries, frame.color_trc)


def output_colour(source: Colour | None, height: int) -> Colour:
    """How the output is written: the source's description when it is BT.601 or BT.709 (SDR), else
    BT.709 for video of 720 lines or more, BT.601 below (what players assume of untagged video).
    An SDR source's primaries and transfer are kept whatever its matrix: an RGB one (FFV1, x264rgb,
    a screen recording) tagged BT.709 was written with BT.601's (SMPTE C) primaries, which a
    colour-managed player (QuickTime, Safari) converts: pure red shown as (248, 48, 0). Pictures
    (photos, a GIF, an RGB video that does not say: sRGB, whose primaries are BT.709's; ``source``
    None) and HDR or BT.2020 video (mapped into BT.709's by ``sdr_bgr``) are BT.709's primaries."""
    src = source or Colour()
    sdr = not src.beyond_sdr
    keep = src.space in (BT709, BT470BG, SMPTE170M) and sdr
    space = src.space if keep else (BT709 if height >= HD_LINES else SMPTE170M)
    if sdr and src.primaries in (BT709, BT470BG, SMPTE170M):
        primaries = src.primaries
    elif source is None or src.space == RGB or not sdr:
        primaries = BT709
    else:
        primaries = space
    trc = src.trc if sdr and src.trc in SDR_TRANSFERS else (BT709 if space == BT709 else SMPTE170M)
    return Colour(space, primaries, trc)


@dataclass
class SourceFrame(Frame):
    """A frame decoded from a video file, with what a sink keeps of its stream: the colour
    description, where the stream starts (pts; None where the file does not say), and how long the
    frame is shown (in ``time_base``; None where the file does not say: a GIF's long last frame)."""

    colour: Colour | None = None
    start: int | None = None
    duration: int | None = None


class BestEffortTimestamp:
    """FFmpeg's best-effort frame timestamp (``guess_correct_pts``): the frame's pts, unless pts
    have gone backwards more often than decoding timestamps have; then its dts. ``decoding_order``
    (AVI): the dts, less the decoder's delay (the first frame, a keyframe, is shown at its own pts),
    one tick a frame. An AVI keeps no presentation times: H.264 with B-frames in one comes out of
    the decoder with pts in decoding order (1, 4, 3, 5, 2, ...), while its dts count the frames as
    shown, late by the delay (the last few, flushed from the decoder, have none)."""

    def __init__(self, decoding_order: bool = False) -> None:
        self.decoding_order = decoding_order
        self.faulty_pts = self.faulty_dts = 0
        self.last_pts: int | None = None
        self.last_dts: int | None = None
        self.delay: int | None = None  # decoding order: how many ticks the decoder holds frames back
        self.last_out: int | None = None

    def __call__(self, pts: int | None, dts: int | None) -> int | None:
        if dts is not None:
            self.faulty_dts += self.last_dts is not None and dts <= self.last_dts
            self.last_dts = dts
        if pts is not None:
            self.faulty_pts += self.last_pts is not None and pts <= self.last_pts
            self.last_pts = pts
        if self.decoding_order:  # one tick a frame (an AVI's time base is its frame rate)
            if dts is not None:
                if self.delay is None:  # the first frame (a keyframe) is shown at its own pts
                    self.delay = max(0, dts - pts) if pts is not None else 0
                self.last_out = dts - self.delay
            elif self.last_out is not None:  # flushed from the decoder at the end
                self.last_out += 1
            else:
                self.last_out = pts
            return self.last_out
        if pts is not None and (self.faulty_pts <= self.faulty_dts or dts is None):
            return pts
        return dts


class OnwardClock:
    """Timestamps (ticks) made to go onward where a source's go back. Far back (over a second),
    and the next one agrees, the clock started again (recordings joined end to end, a timestamp
    that wrapped): what follows is shifted to go on from the last one, for good. A little back (a
    repeated or stray timestamp), or far back once: that one goes right after the last, and the
    source's own times resume."""

    def __init__(self, ticks_per_second: int) -> None:
        self.far = max(1, ticks_per_second)  # one second
        self.shift = 0
        self.pending: int | None = None  # the shift a clock that started again would need
        self.last: int | None = None
        self.back: int | None = None  # how far the last one went back (ticks; None: it did not, or far)

    def __call__(self, ts: int, step: int) -> int:
        """Where ``ts`` goes; ``step``: ticks of one frame or packet."""
        at = ts + self.shift
        self.back = None
        if self.last is None or at > self.last:
            self.pending = None
        elif self.last - at > self.far:
            if self.pending is not None and ts + self.pending > self.last:  # the second one agrees
                self.shift, self.pending = self.pending, None
                at = ts + self.shift
            else:
                self.pending = self.last + step - ts
                at = self.last + max(1, step)
        else:
            self.pending, self.back = None, self.last - at
            at = self.last + 1
        self.last = at
        return at


class Deinterlacer:
    """Interlaced frames (a camcorder's 1080i, a TV recording, DV: two fields of moments 1/50 or 1/60 s
    apart woven into one frame) deinterlaced as players show them, with FFmpeg's bwdif, one frame
    out for each frame in (the frame rate and timing kept), progressive frames passed as they are.
    Left woven, a moving edge was combed in every frame the networks saw and in the output, which is
    written progressive (no player deinterlaces it). A frame comes out when the next one is given
    (the field after it is used); ``pictures(None)`` gives the last ones at the end."""

    def __init__(self) -> None:
        self.graph: av.filter.Graph | None = None
        self.shape: tuple[int, int, str] | None = None
        self.waiting: list[av.VideoFrame] = []  # frames given, their pictures not yet out
        self.unavailable = False  # FFmpeg could not make the filter (a pixel format it does not take)

    def pictures(self, frame: av.VideoFrame | None) -> list[tuple[av.VideoFrame, av.VideoFrame]]:
        """(decoded frame, its picture) pairs ready for ``frame`` (None: the end), in order."""
        if frame is not None and self.graph is None and (self.unavailable or not frame.interlaced_frame):
            return [(frame, frame)]
        ready = []
        shape = None if frame is None else (frame.width, frame.height, frame.format.name)
        if self.graph is not None and (frame is None or shape != self.shape):
            ready = self._drain(None)  # the end, or frames of another size: the frames held back
            self.graph = None
        if frame is None:
            return ready
        if self.graph is None:
            try:
                self.graph, self.shape = self._graph(frame), shape
            except (ValueError, av.error.FFmpegError):
                self.unavailable = True
                return [*ready, (frame, frame)]
        return ready + self._drain(frame)

    @staticmethod
    def _graph(frame: av.VideoFrame) -> av.filter.Graph:
        graph = av.filter.Graph()
        source = graph.add_buffer(
            width=frame.width, height=frame.height, format=frame.format, time_base=frame.time_base
        )
        # send_frame: one frame a frame; deint=interlaced: only frames flagged interlaced (PAFF, MBAFF mix them)
        bwdif = graph.add("bwdif", "mode=send_frame:parity=auto:deint=interlaced")
        sink = graph.add("buffersink")
        source.link_to(bwdif)
        bwdif.link_to(sink)
        graph.configure()
        return graph

    def _drain(self, frame: av.VideoFrame | None) -> list[tuple[av.VideoFrame, av.VideoFrame]]:
        """Give ``frame`` (None: the end) and take the pictures that come out."""
        if frame is not None:
            self.waiting.append(frame)
        out = []
        try:
            self.graph.vpush(frame)
            while self.waiting:
                picture = self.graph.vpull()
                out.append((self.waiting.pop(0), picture))
        except (av.error.BlockingIOError, av.error.EOFError):
            pass
        if frame is None:  # whatever did not come out is shown woven, not lost
            out += [(left, left) for left in self.waiting]
            self.waiting = []
        return out


class VideoFileSource:
    """Decodes the first video stream; damaged packets are counted and skipped, not fatal."""

    def __init__(self, path: Path | str, network: bool = False) -> None:
        if not network:
            path = Path(path)
            if not path.is_file():
                raise not_a_file(path)
            if path.stat().st_size == 0:
                raise DeepPhotoError(f"{path}: file is empty")
        opening = time.monotonic()
        try:
            self.container = open_input(path, network)
        except (av.error.FFmpegError, OSError) as exc:
            waited = time.monotonic() - opening
            if network and isinstance(exc, av.error.InvalidDataError) and waited < OPEN_TIMEOUT - 0.5:
                # the server answered at once, with what is not a video (a web page): it was reached
                raise DeepPhotoError(f"{path}: not a readable video ({exc.strerror or exc})") from None
            if network:  # 'not a readable video (Invalid data found ...)' read as if the stream were bad
                raise DeepPhotoError(f"{path}: stream not reachable ({unreachable(str(path), exc, waited)})") from None
            if not network and mp4_without_index(Path(path)):
                raise DeepPhotoError(
                    f"{path}: an MP4 or MOV with no index ('moov' box), which its writer puts at the end: "
                    "the file is cut short (a recording that was stopped before it was finished, a copy or "
                    "download that stopped), and FFmpeg cannot read it without one"
                ) from None
            raise DeepPhotoError(f"{path}: not a readable video ({getattr(exc, 'strerror', None) or exc})") from None
        stream = moving_picture(self.container)
        if stream is None:
            cover = bool(self.container.streams.video)
            self.container.close()
            raise DeepPhotoError(f"{path}: has no video stream" + (" (only a cover picture)" if cover else ""))
        self.path = path
        self.network = network
        self.stream = stream
        self.stream.thread_type = "AUTO"
        self.alpha_decoder = alpha_decoder(stream, path)  # a VP8/VP9 WebM's transparency: libvpx's decoder
        rate = self.stream.average_rate or self.stream.guessed_rate or Fraction(30)
        self.fps = Fraction(rate)
        self.period = 1 / float(self.fps) if self.fps else 0.04  # one frame, in seconds
        self.time_base = self.stream.time_base or 1 / self.fps
        self.frame_count = int(self.stream.frames or 0)
        self.pixel_aspect = pixel_aspect(self.stream)  # anamorphic video (DVD, DV, HDV): its pixels' shape
        self.has_audio = bool(self.container.streams.audio)
        self.carries_more = carries_more(self.container)  # tags, chapters, tracks: see remux_with_audio
        self.duration, self.duration_slack, self.duration_may_be_end = declared_duration(self.container, self.stream)
        # where the video stream starts (seconds; 0 where the file does not say)
        self.start_time = float(self.stream.start_time * self.time_base) if self.stream.start_time is not None else 0.0
        if "mov" in self.container.format.name.split(",") and self.estimated_frames() < self.frame_count - 1:
            # an MP4 or MOV cut without re-encoding (ffmpeg -ss with -c copy, a phone's trim): its edit
            # list starts after frames it keeps for decoding but never shows, which its count includes
            # (a clip cut 25 s into 40 s counted 400 frames for 150: the bar ended at 37%, its ETA 2.7x)
            self.frame_count = self.estimated_frames()
        self.bad_packets = 0
        self.ended_early = ""  # set when decoding stopped well before the declared duration
        self.last_time: float | None = None  # of the last frame decoded (seconds)
        self.reached: float | None = None  # seconds decoded from the stream's start (steps back count as a frame)
        self.last_held = 0.0  # how much longer than a period the last frame is shown (a GIF's long last frame)

    def estimated_frames(self) -> int:
        """The frames the declared duration holds at the frame rate, for a progress bar where the file
        does not count its frames (Matroska, WebM, MPEG-TS: OBS's recordings); 0 where it states no
        duration (a live stream)."""
        if self.duration is None or self.duration <= 0:
            return 0
        return max(1, round(self.duration * float(self.fps)))

    @property
    def finite(self) -> bool:
        """Whether the source declares an end (a file, also one served over HTTP), not a live stream."""
        return self.duration is not None or self.frame_count > 0

    def __iter__(self) -> Iterator[Frame]:
        errors_in_a_row = 0
        last_error = ""
        lost = ""  # why the connection to a server failed mid-stream (a network source only)
        self.last_time = self.reached = None
        self.last_held = 0.0
        stamp = BestEffortTimestamp(decoding_order="avi" in self.container.format.name.split(","))
        colour: Colour | None = None  # the first frame's: a sink writes the video with it
        start = self.stream.start_time
        weave = Deinterlacer()
        decoder = self.alpha_decoder
        if decoder is not None:
            decoder.flush_buffers()  # after a seek (a batch's chunk), as seeking flushes the stream's own
        # An MP4's packets' durations are steps in decode order, so when its last frames come reordered
        # (B-frames) the last one's time is on another packet (a GIF's long last frame): the last frame
        # lasts to the stream's end, where both the packets and the stream's declared length put it (a
        # packet before a gap in the timing is given the gap; a cut file declares more). A packet ends at
        # its decode time plus its duration, shown as late as the first packet's pts is after its dts.
        end: int | None = None
        lead: int | None = None  # the first packet's pts - dts
        declared = self.stream.duration
        if "mov" not in self.container.format.name.split(",") or not declared:
            declared = None
        elif start is not None:
            declared += start
        while errors_in_a_row < 20:  # demuxing resynchronises after damage; give up on a dead file
            try:
                for packet in self.container.demux(self.stream):
                    if lead is None and packet.pts is not None and packet.dts is not None:
                        lead = packet.pts - packet.dts
                    if declared is not None and packet.size and packet.dts is not None and packet.duration:
                        end = min(declared, max(end or 0, packet.dts + (lead or 0) + packet.duration))
                    try:
                        decoded = packet.decode() if decoder is None else decoder.decode(packet)
                    except av.error.FFmpegError:
                        self.bad_packets += 1
                        continue
                    errors_in_a_row = 0
                    for i, frame in enumerate(decoded):
                        if not packet.size and i == len(decoded) - 1 and end is not None and frame.pts is not None:
                            frame.duration = max(frame.duration or 0, end - frame.pts)  # the last frame
                        for timed, picture in weave.pictures(frame):
                            colour = colour or source_colour(timed)
                            yield self._source_frame(timed, picture, stamp, colour, start)
                break
            except av.error.EOFError:
                break
            except av.error.FFmpegError as exc:
                last_error = getattr(exc, "strerror", None) or str(exc)
                if self.network and isinstance(exc, (OSError, av.error.ExitError)):  # the server went away or
                    # stalled (ExitError: no data within the read timeout, a UDP stream's sender stopped), not
                    # damage: it read '20 damaged packets', 'the file is cut short or damaged'
                    timed_out = isinstance(exc, av.error.ExitError)
                    lost = f"no data in {OPEN_TIMEOUT:g} s" if timed_out else last_error
                    break
                self.bad_packets += 1
                errors_in_a_row += 1
        for timed, picture in weave.pictures(None):  # the frames the deinterlacer held back for the next
            colour = colour or source_colour(timed)
            yield self._source_frame(timed, picture, stamp, colour, start)
        if self.network and self.finite and self.reached is None and last_error:
            # The file's index was read but its frames could not be: a server that does not allow
            # seeking (Python's http.server) and an MP4 whose index is at its end (phones write it
            # last). It read 'no frame could be decoded', with no reason.
            raise DeepPhotoError(
                f"reading from the server failed: {last_error}; a file whose index is at its end, as phones "
                "write MP4 and MOV, needs a server that allows seeking (HTTP Range requests): download it first"
            )
        if lost:
            at = f" at {self.reached:.2f} s of {self.duration:.2f} s" if self.reached and self.duration else ""
            raise DeepPhotoError(f"the connection to the server was lost{at}: {lost}")
        self._check_end()

    def _source_frame(
        self,
        frame: av.VideoFrame,
        picture: av.VideoFrame,
        stamp: BestEffortTimestamp,
        colour: Colour,
        start: int | None,
    ) -> SourceFrame:
        """A decoded ``frame`` (its timing, its colour, its display matrix) as its upright, square-pixelled
        BGR ``picture`` (the frame itself, or the frame deinterlaced)."""
        if frame.time is not None:
            self._advance(float(frame.time), float((frame.duration or 0) * frame.time_base))
        described = source_colour(frame)
        matrix = decoding_matrix(frame)
        bgr = sdr_bgr(picture, described) if described.beyond_sdr else opaque_bgr(picture, matrix)
        image = upright(square_pixels(bgr, self.pixel_aspect), display_matrix(frame))
        pts = stamp(frame.pts, frame.dts)
        shown = int(frame.duration) if frame.duration and frame.duration > 0 else None
        return SourceFrame(image, pts, frame.time_base, colour=colour, start=start, duration=shown)

    def _advance(self, time: float, duration: float = 0.0) -> None:
        """Add a decoded frame at ``time`` (seconds), shown for ``duration`` where the file says, to
        the time decoded so far: a step back (joined recordings, a wrapped timestamp) counts as one
        frame, not as going back."""
        self.last_held = max(0.0, duration - self.period)
        if self.last_time is None or self.reached is None:
            self.reached = time - self.start_time + self.period
        elif time > self.last_time:
            self.reached += time - self.last_time
        else:
            self.reached += self.period
        self.last_time = time

    def _check_end(self) -> None:
        """Warn, once, when the decoded frames end well before the duration the file declares. A
        declared duration that may be an end, counted from 0 (see ``declared_duration``), of a video
        that starts later (audio from 0, video from 1 s) is met by the time reached on that clock too;
        not where it ends before the video starts (then it can only be a length: MPEG-TS at 10 hours)."""
        if self.duration is None or self.ended_early or self.reached is None:
            return  # nothing decoded at all: the caller says so, as an error
        reached = self.reached + self.last_held  # the last frame is shown to its end, not for a period
        if self.duration_may_be_end and 0 < self.start_time < self.duration:
            reached += self.start_time  # the time reached from 0, as the declared end is counted
        if self.duration - reached > max(3 * self.period, self.duration_slack):
            self.ended_early = f"decoding stopped at {reached:.2f} s of {self.duration:.2f} s"
            warn(f"{self.ended_early} (the file is cut short or damaged); the frames before that are used", self.path)

    def close(self) -> None:
        self.container.close()


class VideoFileSink:
    """H.264 (libx264, yuv420p) in .mp4 / .mkv / .mov; frame rate and timestamps from the source.

    ``from_zero``: the video is moved to start at 0 wherever the source's clock started (its
    stream's start, ``source_start``, else its first frame; the audio copied in is moved with it);
    else only a first frame before 0 is moved to 0 (chunks of a long video keep the source's
    timeline, to be joined). ``source_colour``: the source's colour description, kept where it can
    be (see ``output_colour``). Both are set before the first frame is written."""

    def __init__(
        self,
        path: Path,
        fps: Fraction,
        time_base: Fraction | None = None,
        crf: int = 20,
        audio_from: Path | str | None = None,
        overwrite: bool = True,
        from_zero: bool = False,
    ) -> None:
        self.path = Path(path)
        self.format = container_format(self.path)
        check_output_file(self.path, overwrite)
        self.overwrite = overwrite
        self.tmp = temporary_name(self.path)
        self.fps = Fraction(fps).limit_denominator(100000)
        self.time_base = time_base
        self.crf = crf
        self.audio_from = audio_from
        self.container: av.container.OutputContainer | None = None
        self.stream = None
        self.frames = 0
        self._shape: tuple[int, ...] = ()  # (height, width) the video was opened with
        self._refitted = False  # a frame of another size was fitted in (said once)
        self._clock: OnwardClock | None = None  # the frames' timestamps, kept going onward (its last: the last written)
        self._shown: dict[int, int] = {}  # pts of a frame not yet encoded: how long it lasts (ticks)
        self._next_shown: int | None = None  # how long the source shows the next frame (its ticks), if it says
        self._last_shown: int | None = None  # the same of the last frame written, in the encoder's ticks
        self._start_cts: int | None = None  # the first packet's pts - dts: decode times run this far behind
        self.from_zero = from_zero
        self.source_start: int | None = None  # pts, in time_base
        self.source_colour: Colour | None = None
        self.origin = Fraction(0)  # the source's time (seconds) at the output's 0
        self.colour: Colour | None = None  # how the video is written (set when it opens)
        self.audio_note = ""

    def _open(self, width: int, height: int, colour: Colour | None) -> None:
        if (
            self.format != "webm" and max(width, height) > H264_MAX_SIDE
        ):  # libx264 refuses it: "Generic error in an external library"
            raise DeepPhotoError(
                f"{self.path}: an H.264 video holds at most {H264_MAX_SIDE} pixels a side, and the frames are "
                f"{width}x{height} (write .png, or scale them with --size WxH)"
            )
        try:
            options = muxer_options(self.format)  # also where the audio's remux follows: it may fail
            self.container = av.open(str(self.tmp), mode="w", format=self.format, options=options)
        except (OSError, av.error.FFmpegError) as exc:
            discard(self.tmp)
            raise DeepPhotoError(f"{self.path}: cannot be written ({getattr(exc, 'strerror', None) or exc})") from None
        codec, codec_options = video_encoder(self.format, self.crf)
        stream = self.container.add_stream(codec, rate=self.fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = codec_options
        stream.disposition = av.stream.Disposition.default  # Matroska's tracks are flagged only when asked
        if self.time_base:
            stream.codec_context.time_base = self.time_base
        self.colour = out = output_colour(colour, height)
        cc = stream.codec_context
        cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range = out.space, out.primaries, out.trc, 1
        self.stream = stream
        if colour is not None and colour.beyond_sdr:
            sdr = "BT.709" if out.space == BT709 else "BT.601"
            mapped = "tone-mapped (its highlights compressed)" if colour.trc in (PQ, HLG) else "gamut-mapped"
            warn(f"the source is {colour.beyond_sdr}; it is written as SDR {sdr}, {mapped}", self.path)

    def keep_source(self, frame: Frame) -> None:
        """Take what the file keeps of its source from a frame decoded from a video file, before it
        is written: its colour description and where its stream starts (from the first frame), and
        how long the frame lasts (the last frame's is kept: a GIF's long last frame)."""
        self._next_shown = frame.duration if isinstance(frame, SourceFrame) else None
        if isinstance(frame, SourceFrame) and self.frames == 0:
            self.source_colour, self.source_start = frame.colour, frame.start

    def write(self, image: np.ndarray, pts: int | None = None, seconds: float | None = None) -> None:
        """Encode one frame at the source's ``pts``; without one, at ``seconds`` from the start
        (a live source's arrival time), else at the next tick of a steady clock at the frame rate."""
        h, w = image.shape[:2]
        even = image[: max(2, h - h % 2), : max(2, w - w % 2)]  # yuv420p needs even sizes
        if even.shape[0] < 2 or even.shape[1] < 2:
            even = np.pad(even, ((0, 2 - min(2, even.shape[0])), (0, 2 - min(2, even.shape[1])), (0, 0)))
        if self.container is not None and even.shape[:2] != self._shape:
            if not self._refitted:  # a folder of photos of several sizes or shapes
                warn(
                    f"frames of {w}x{h} are fitted into the video's {self._shape[1]}x{self._shape[0]} (scaled, "
                    "their shape kept, black bars)",
                    self.path,
                )
                self._refitted = True
            even = letterbox(image, (self._shape[1], self._shape[0]))
        if self.container is None:
            self._open(even.shape[1], even.shape[0], self.source_colour)
            self._shape = even.shape[:2]
            if even.shape[:2] != (h, w):
                warn(
                    f"frames of {w}x{h} are written as {even.shape[1]}x{even.shape[0]} "
                    f"({'VP9' if self.format == 'webm' else 'H.264'} in 4:2:0, what players take, needs even sides)",
                    self.path,
                )
        out = self.colour or output_colour(None, even.shape[0])
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(even), format="bgr24").reformat(
            format="yuv420p", dst_colorspace=out.matrix, dst_color_range=ColorRange.MPEG, interpolation=EXACT
        )
        frame.colorspace, frame.color_primaries, frame.color_trc = out.space, out.primaries, out.trc
        tb = self.stream.codec_context.time_base or Fraction(1, 90000)
        period = max(1, int(round(1 / (self.fps * tb)))) if self.fps else 1  # one frame, in ticks of tb
        if self._clock is None:  # where every frame goes, whichever way it was timed
            self._clock = OnwardClock(round(1 / tb))
            if pts is not None and self.time_base and (pts < 0 or self.from_zero):
                # a stream that starts before zero (an edit list, a wrapped clock), or late: at 0
                start = pts if self.source_start is None or not self.from_zero else min(pts, self.source_start)
                self._clock.shift = -start
                self.origin = Fraction(start) * Fraction(self.time_base)
        last = self._clock.last
        if pts is not None and self.time_base:
            frame.pts = self._clock(pts, period)
        elif pts is None and self.time_base and last is not None and seconds is None:
            frame.pts = last + period  # a frame without a timestamp amid ones with: the next tick
        else:  # no usable source timestamp: when it arrived, else a steady clock at the frame rate
            at = seconds if seconds is not None else self.frames / self.fps
            frame.pts = max(0 if last is None else last + 1, int(round(at / tb)))
        frame.time_base = tb
        if last is not None:
            self._shown[last] = frame.pts - last  # the frame before lasts until this one
        self._clock.last = frame.pts
        duration, self._next_shown, self._last_shown = self._next_shown, None, None
        if duration and pts is not None and self.time_base:
            scale = Fraction(self.time_base) / tb  # ticks of tb in one of the source's time base
            shown = Fraction(duration) * scale
            if last is not None and abs(shown - (frame.pts - last)) <= max(scale, 1):
                shown = Fraction(frame.pts - last)  # as long as the frame before, but for rounding (Matroska's ms)
            self._last_shown = max(1, round(shown))
        self._mux(self.stream.encode(frame))
        self.frames += 1

    def _mux(self, packets: list[av.Packet], flushed: bool = False) -> None:
        """Write packets, each lasting until the next frame; the last frame (``flushed``: the encoder's
        last packets) as long as its source shows it (a GIF's long last frame). libx264 does not carry
        a frame's duration to its packet: the muxer would give each one frame period of the average
        rate, ending the video early after a long last frame (or late after a short one, Matroska).
        MP4 and MOV end a track where its last packet in decode order ends (its decode time plus its
        duration, from the first packet's decode time): when the encoder's last packets come reordered
        (a B-frame after the last frame), that one is made to end where the last frame does, else the
        long last frame was cut to one period (its own pts would count the encoder's delay twice: a
        25 fps clip read back at 24.5)."""
        for packet in packets:
            shown = self._shown.pop(packet.pts, None) if packet.pts is not None else None
            if shown is None and flushed and packet.pts == self._clock.last:
                shown = self._last_shown
            if shown:
                packet.duration = shown
        if self._start_cts is None and packets and packets[0].pts is not None and packets[0].dts is not None:
            self._start_cts = packets[0].pts - packets[0].dts  # the encoder's delay, in ticks
        timed = [p for p in packets if p.pts is not None and p.duration]
        last = packets[-1] if packets else None  # last in decode order
        if flushed and self.format in ("mp4", "mov") and timed and last is timed[-1] and last.dts is not None:
            # the track (its packets' decode times, from the first one's) ends where the last frame does
            end = max(p.pts + p.duration for p in timed)
            last.duration = max(last.duration, end - (self._start_cts or 0) - last.dts)
        for packet in packets:
            self.container.mux(packet)

    def close(self) -> Path | None:
        """Flush, finalise, copy the audio in, move to the final name; None if nothing was written.
        Should any of it fail (a full disk), the temporary file is removed and the error raised."""
        if self.container is None:
            discard(self.tmp)
            return None
        try:
            try:
                self._mux(self.stream.encode(), flushed=True)
            finally:
                container, self.container = self.container, None
                container.close()
            if self.frames == 0 or not self.tmp.exists():
                discard(self.tmp)
                return None
            if self.audio_from is not None:
                self._add_audio()
            return publish(self.tmp, self.path, self.overwrite)
        except BaseException:
            discard(self.tmp)
            raise

    def abort(self) -> None:
        """Give up: close without finalising and remove the temporary file (after a failed write)."""
        container, self.container = self.container, None
        if container is not None:
            try:
                container.close()
            except Exception:  # the file goes anyway
                pass
        discard(self.tmp)

    def _add_audio(self) -> None:
        muxed = temporary_name(self.path)
        try:
            done = remux_with_audio(self.tmp, self.audio_from, muxed, self.format, self.origin)
            muxed.replace(self.tmp)
            if done:
                print(f"deepphoto: {done}", file=sys.stderr)
        except (av.error.FFmpegError, ValueError) as exc:
            discard(muxed)
            if output_disk_failed(exc, self.audio_from):
                raise
            network = is_url(self.audio_from)
            if network:
                reason = getattr(exc, "strerror", None) or str(exc)
                self.audio_note = f"audio not copied ({reason}); the server did not give it again"
            else:
                self.audio_note = audio_failure(exc, self.audio_from, self.path)
            warn(self.audio_note)
        except BaseException:
            discard(muxed)
            raise

    def __enter__(self) -> VideoFileSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
    there is none."""
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


# FFmpeg's own VP8 and VP9 decoders drop the alpha channel a WebM carries beside the picture
# (Matroska's BlockAdditional, its track tagged alpha_mode 1): libvpx's decoders read it.
ALPHA_DECODERS = {"vp8": "libvpx", "vp9": "libvpx-vp9"}
_UNDECODED_ALPHA: set[str] = set()  # the files told of (a batch opens one file once per chunk)


def alpha_decoder(stream: av.video.stream.VideoStream, path: Path | str) -> av.codec.context.CodecContext | None:
    """A decoder that keeps the transparency of a VP8 or VP9 stream whose container says it has
    one (a WebM overlay: its clear parts came out black, the colour stored under them, where a PNG,
    ProRes 4444 or GIF is on white); None for any other stream, which keeps FFmpeg's own (faster)
    decoder, and, with a warning, where this FFmpeg has no libvpx decoder."""
    name = ALPHA_DECODERS.get(stream.codec_context.name)
    if name is None or str(stream.metadata.get("alpha_mode", "")).strip() != "1":
        return None
    try:
        decoder = av.codec.CodecContext.create(name, "r")
    except (ValueError, av.error.FFmpegError):  # UnknownCodecError: an FFmpeg built without libvpx
        if str(path) not in _UNDECODED_ALPHA:
            _UNDECODED_ALPHA.add(str(path))
            warn(
                f"has transparency that FFmpeg cannot decode here (no {name} decoder); its clear parts are shown "
                "on black",
                path,
            )
        return None
    if stream.codec_context.extradata:
        decoder.extradata = stream.codec_context.extradata
    return decoder


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


def open_input(path: Path | str, network: bool) -> av.container.InputContainer:
    """A container to read; over the network with timeouts (5 s a read, 10 s to open), so a server
    that stops answering ends the read instead of hanging it."""
    if not network:
        return av.open(str(path))
    if threading.current_thread() is not threading.main_thread():
        return _open_url(path)
    return _open_url_stoppable(path)


OPEN_TIMEOUT = 10.0  # seconds a server has to answer when a stream opens


def _open_url(url: Path | str) -> av.container.InputContainer:
    return av.open(str(url), options={"rw_timeout": "5000000"}, timeout=OPEN_TIMEOUT)


def unreachable(url: str, exc: BaseException, waited: float) -> str:
    """Why a stream could not be opened, in words: FFmpeg gives up on a server (or a UDP port) that
    never answers with 'Invalid data found when processing input' (RTSP) or 'Immediate exit
    requested' (UDP), and on a host name that does not resolve with 'Input/output error'."""
    if waited >= OPEN_TIMEOUT - 0.5:
        return f"no answer in {OPEN_TIMEOUT:g} s"
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


class AudioNotStorable(ValueError):
    """The output's container cannot hold the source's audio codec (refused at its header)."""


def remux_with_audio(
    video: Path, audio_src: Path | str, out: Path, fmt: str, video_from: Fraction | None = None
) -> str:
    """``_remux`` with FFmpeg's own error lines caught: a container that refuses the audio (at its
    header, or at its end: a channel layout an MP4 cannot name) is ``AudioNotStorable`` with
    FFmpeg's reason. The sound is copied, but where the container cannot store it (Opus in a MOV,
    Vorbis from a WebM in an MP4, a camera's ADPCM or mu-law in Matroska), or an MP4 stores it so
    that players cannot play it (PCM), it is encoded again as AAC; returned: what was done then
    ('opus audio re-encoded as AAC ...') and the tracks left out (``left_out_tracks``), else ''."""
    left = left_out_tracks(audio_src)
    suffix = "mkv" if fmt == "matroska" else fmt
    encoded = "Opus" if fmt == "webm" else "AAC"
    as_aac = _refused_or_done(video, audio_src, out, fmt, video_from, False)
    if as_aac is None:  # refused as it is: AAC (Opus into a WebM), or AudioNotStorable
        _refused_or_done(video, audio_src, out, fmt, video_from, True)
        done = f"{audio_codec(audio_src)} re-encoded as {encoded} (a .{suffix} file cannot store it)"
    elif as_aac:
        unplayable = f"browsers and many players cannot play it in a .{suffix} file"
        done = f"{audio_codec(audio_src)} re-encoded as {encoded} ({unplayable})"
    else:
        done = ""
    return "; ".join(note for note in (done, left) if note)


def _refused_or_done(
    video: Path, audio_src: Path | str, out: Path, fmt: str, video_from: Fraction | None, as_aac: bool
) -> bool | None:
    """``_remux``: whether it encoded the sound as AAC; None where the container refused the sound as
    it is (and ``as_aac`` is False: the caller encodes it again), else ``AudioNotStorable``."""
    level = av.logging.get_level()
    av.logging.set_level(av.logging.ERROR)
    try:
        with av.logging.Capture(local=False) as logs:
            return _remux(video, audio_src, out, fmt, video_from, as_aac)
    except av.error.FFmpegError as exc:
        if exc.errno != errno.EINVAL:
            raise
        said = [m.strip() for lvl, _name, m in logs if lvl <= av.logging.ERROR and m.strip()]
        reason = said[-1] if said else ""
    except ValueError as exc:  # PyAV's: "'mov' format does not support 'vorbis' codec"
        if "does not support" not in str(exc):
            raise
        reason = str(exc)
    finally:
        av.logging.set_level(level)
    if not as_aac:
        return None
    raise AudioNotStorable(reason)


def _remux(
    video: Path,
    audio_src: Path | str,
    out: Path,
    fmt: str,
    video_from: Fraction | None = None,
    as_aac: bool = False,
) -> bool:
    """Every video packet of ``video`` plus the source's sound (``sound_stream``), up to the video's end;
    whether the sound was encoded as AAC (``as_aac``, or sound an MP4 would hold unplayable).

    ``video_from``: the source's time (seconds) at ``video``'s 0 (where the sink moved its first
    frame); None: ``video`` keeps the source's timeline, a start before 0 moved to 0. Picture and
    sound are moved together, so that the earlier of the two starts at 0 (a camcorder clip whose
    clock starts at 10 hours, a timestamp that wrapped). Sound before 0 (cut away by an edit list,
    AAC's priming) is left out, but for the packet just before 0 (it primes the decoder) where the
    container hides what is before 0 (an MP4's edit list); Matroska cannot, and would move everything
    later: it gets only what starts at 0 or later (but for a codec delay it states, Opus's pre-skip).

    Matroska stores no decoding timestamps: its packets come without DTS (only the first few have
    one), so a packet is placed by its DTS where it has one, else by its PTS, else right after the
    one before; only the demuxer's empty end-of-stream packets are left out."""
    with (
        av.open(str(video)) as vin,
        open_input(audio_src, is_url(audio_src)) as ain,  # a file on a web server is read again
        av.open(str(out), "w", format=fmt, options=muxer_options(fmt)) as dst,
    ):
        vsrc, asrc = vin.streams.video[0], sound_stream(ain)
        # the frame rate too: Matroska writes it in the track header, and without it players see 1000 fps
        rate = {"rate": vsrc.average_rate} if vsrc.average_rate else {}
        vout = dst.add_stream_from_template(vsrc, **rate)
        # a player picks the tracks flagged as the default (Matroska's are flagged only when asked)
        vout.disposition = av.stream.Disposition.default
        re_encode = False
        if asrc is not None:
            named = named_layout(asrc)
            re_encode = as_aac or plays_only_re_encoded(asrc, fmt)
            aout = aac_stream(dst, asrc, named, fmt) if re_encode else dst.add_stream_from_template(asrc)
            if named and fmt not in MATROSKA and not re_encode:
                aout.codec_context.layout = named  # MP4 and MOV refuse channels without a layout
            aout.disposition = av.stream.Disposition.default
            for key in ("language", "title"):  # what a player's menu names the track by
                if asrc.metadata.get(key):
                    aout.metadata[key] = asrc.metadata[key]
        dst.metadata.update(kept_tags(ain))  # when and where it was filmed, the camera, the title
        timecode = source_timecode(ain)
        if timecode and storable_timecode(timecode, fmt, vsrc.average_rate or vsrc.guessed_rate):
            vout.metadata["timecode"] = timecode  # a camera's: MP4 and MOV hold it in a track, Matroska as a tag
        first, end = video_span(video)
        if video_from is None:  # the source's timeline, but a start before 0 (moved to 0 by the sink)
            shown = moving_picture(ain)
            source_video = stream_start(shown) if shown is not None else None
            video_from = min(Fraction(0), source_video or Fraction(0))
        video_at = (first or Fraction(0)) + Fraction(video_from)  # the source's time of the first frame
        audio_at = stream_start(asrc) if asrc is not None else None
        origin = video_at if audio_at is None else min(video_at, audio_at)
        video_move = Fraction(video_from) - origin  # seconds, on the video's times and the audio's
        stop = None if end is None else float(end + video_move)
        chapters = kept_chapters(ain, origin, stop)
        if chapters:
            dst.set_chapters(chapters)
        dst.start_encoding()  # the header: where a container refuses the audio's codec
        keeps_before_zero = fmt not in MATROSKA  # an MP4's edit list hides it; Matroska would move all later
        delay = codec_delay(asrc) if asrc is not None else Fraction(0)

        def packets(
            container: av.container.InputContainer, stream: av.stream.Stream, out_stream: object, order: int
        ) -> Iterator[tuple[float, int, av.Packet, object]]:
            t = -math.inf
            clock: OnwardClock | None = None  # the audio goes onward where the video was made to
            move = round((video_move if order == 0 else -origin) / stream.time_base) if stream.time_base else 0
            primer: av.Packet | None = None  # the last audio packet wholly before 0
            lasted = 0  # the audio packet before: its duration (ticks)
            for pkt in container.demux(stream):
                if pkt.size == 0:  # the flush packet at the end of a stream: no data
                    continue
                stamp = pkt.dts if pkt.dts is not None else pkt.pts
                moved = move
                if order == 1 and stamp is not None and pkt.time_base is not None:
                    clock = clock or OnwardClock(round(1 / pkt.time_base))
                    moved += clock(stamp, pkt.duration or 1) - stamp
                    if clock.back is not None and (clock.back > 0 or lasted > 1):
                        # sound already heard (recordings joined with an overlap, a repeated packet):
                        # left out; put a tick after the one before, the container had two at once
                        clock.last -= 1
                        continue
                    lasted = pkt.duration or 0
                if moved and stamp is not None:
                    pkt.dts = None if pkt.dts is None else pkt.dts + moved
                    pkt.pts = None if pkt.pts is None else pkt.pts + moved
                    stamp += moved
                if order == 1 and pkt.pts is not None and pkt.pts < 0 and pkt.time_base is not None:
                    if not keeps_before_zero:
                        if Fraction(pkt.pts) * pkt.time_base < -delay - pkt.time_base:
                            continue
                    elif pkt.pts + (pkt.duration or 0) <= 0:
                        primer = pkt
                        continue
                for kept in (primer, pkt) if primer is not None else (pkt,):
                    at = kept.dts if kept.dts is not None else kept.pts
                    if at is not None and kept.time_base is not None:
                        t = max(t, float(at * kept.time_base))  # never earlier than the packet before
                    if order == 1 and stop is not None and t >= stop:
                        return
                    yield t, order, kept, out_stream
                primer = None

        sound: Iterator[tuple[float, int, av.Packet, object]] = iter(())
        if asrc is not None:
            sound = packets(ain, asrc, aout, 1)
        if re_encode:
            sound = re_encoded(sound, asrc, aout)
        for _, _, pkt, out_stream in heapq.merge(
            packets(vin, vsrc, vout, 0), sound, key=lambda item: (item[0], item[1])
        ):
            pkt.stream = out_stream
            dst.mux(pkt)
    return re_encode


AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)


# sound that MP4 players play, browsers included (AC-3, E-AC-3 and ALAC play in Safari and Edge
# only: a web page's player, Chrome's or Firefox's, shows the video without its sound)
MP4_PLAYABLE = ("aac", "mp3", "opus", "flac")


def plays_only_re_encoded(stream: av.audio.stream.AudioStream, fmt: str) -> bool:
    """Whether the source's audio, copied into an ``fmt`` file, would not play where such files
    are played: in an MP4, all but the codecs of ``MP4_PLAYABLE`` (PCM goes into an 'ipcm' track
    that browsers, QuickTime and FFmpeg before 6.1 cannot play, the last reading 24-bit samples as
    16-bit noise; Vorbis and MP2 play in no browser, AC-3 and ALAC in neither Chrome nor Firefox).
    A MOV (QuickTime's own 'lpcm') and Matroska store what they take as players read it."""
    return fmt == "mp4" and stream.codec_context.codec.canonical_name not in MP4_PLAYABLE


def aac_stream(
    dst: av.container.OutputContainer, source: av.audio.stream.AudioStream, named: str | None, fmt: str = "mp4"
) -> av.audio.stream.AudioStream:
    """An AAC stream for ``source``'s sound in ``dst``: its rate where AAC has it (else 48 kHz), its
    channels, 96 kbit/s a channel (transparent for speech and music); in a WebM (``fmt``), which
    holds no AAC, Opus at 48 kHz."""
    cc = source.codec_context
    if fmt == "webm":
        out = dst.add_stream("libopus", rate=48000)
    else:
        out = dst.add_stream("aac", rate=cc.sample_rate if cc.sample_rate in AAC_RATES else 48000)
    layouts = OPUS_LAYOUTS if fmt == "webm" else AAC_LAYOUTS
    out.codec_context.layout = aac_layout(av.AudioLayout(named or cc.layout.name), layouts)
    out.codec_context.bit_rate = 96000 * min(cc.layout.nb_channels, 8)
    return out


# the layouts an AAC header names by its channel configuration (1 to 7); any other is written with
# a program config element, channel configuration 0, that Chrome, Firefox and many players refuse
# or play wrong (FFmpeg's AC-3, E-AC-3 and DTS decoders give 5.1 as '5.1(side)')
AAC_LAYOUTS = ("mono", "stereo", "3.0", "4.0", "5.0", "5.1", "7.1")
# the layouts libopus encodes (Vorbis's channel order, mapping family 1): 4.0 (a centre behind) was
# refused, 'Invalid channel layout 4.0 for specified mapping family', and a .webm lost the sound
OPUS_LAYOUTS = ("mono", "stereo", "3.0", "quad", "5.0", "5.1", "6.1", "7.1")
SIDE_AS_BACK = {"SL": "BL", "SR": "BR"}  # the surrounds of a 5.1: its speakers, at the side or behind


def aac_layout(layout: av.AudioLayout, layouts: tuple[str, ...] = AAC_LAYOUTS) -> str:
    """The layout of ``layouts`` (``AAC_LAYOUTS``, or Opus's ``OPUS_LAYOUTS``) to encode ``layout``'s
    sound in: itself where it is one, else the smallest holding all its channels (side surrounds in
    back ones: '5.1(side)' as '5.1'), else the smallest with as many channels (and a low-frequency
    one where it has one) that FFmpeg's resampler mixes them into; a layout of more than 8 channels
    stays as it is."""
    if layout.name in layouts or layout.nb_channels > 8:
        return layout.name
    wanted = {ch.name for ch in layout.channels}
    roomy = {name: {ch.name for ch in av.AudioLayout(name).channels} for name in layouts}
    roomy = {name: held for name, held in roomy.items() if len(held) >= layout.nb_channels}
    for name, held in roomy.items():
        if {ch if ch in held else SIDE_AS_BACK.get(ch, ch) for ch in wanted} <= held:
            return name
    return next(name for name, held in roomy.items() if "LFE" not in wanted or "LFE" in held)


def re_encoded(
    packets: Iterator[tuple[float, int, av.Packet, object]],
    source: av.audio.stream.AudioStream,
    out: av.audio.stream.AudioStream,
) -> Iterator[tuple[float, int, av.Packet, object]]:
    """The source's audio packets (timed, moved and cut as they would be copied) decoded and encoded
    again for ``out``; each packet at its decode time, never earlier than the one before."""
    decoder = source.codec_context
    encoder = out.codec_context
    t = -math.inf

    def timed(encoded: list[av.Packet], order: int) -> Iterator[tuple[float, int, av.Packet, object]]:
        nonlocal t
        for pkt in encoded:
            at = pkt.dts if pkt.dts is not None else pkt.pts
            if at is not None and pkt.time_base is not None:
                t = max(t, float(at * pkt.time_base))
            yield t, order, pkt, out

    rate = decoder.sample_rate
    follows: int | None = None  # the sample after the last one encoded, in samples

    def counted(frame: av.AudioFrame) -> av.AudioFrame:
        """The frame timed in samples: right after the one before (a container's times are rounded,
        Matroska's to the millisecond: the encoder would find gaps and overlaps), but after a gap."""
        nonlocal follows
        at = round(frame.time * rate) if frame.time is not None else follows
        if follows is not None and (at is None or at - follows < rate // 100):  # within 10 ms, or earlier
            at = follows
        frame.pts, frame.time_base = at, Fraction(1, rate)
        follows = (at or 0) + frame.samples
        return frame

    def silence_before(frame: av.AudioFrame) -> Iterator[av.AudioFrame]:
        """Silence from 0 to a first frame that starts later (sound that begins after the picture):
        an MP4 hides the encoder's priming only where a track starts at 0."""
        at = round(frame.time * rate) if frame.time is not None else 0
        for start in range(0, at, rate):
            quiet = av.AudioFrame(format=frame.format.name, layout=frame.layout, samples=min(rate, at - start))
            for plane in quiet.planes:
                plane.update(bytes(plane.buffer_size))
            quiet.sample_rate, quiet.pts, quiet.time_base = rate, start, Fraction(1, rate)
            yield quiet

    order = 1
    for _, order, pkt, _ in packets:
        for frame in decoder.decode(pkt):
            if follows is None:
                for quiet in silence_before(frame):
                    yield from timed(encoder.encode(counted(quiet)), order)
            yield from timed(encoder.encode(counted(frame)), order)
    for frame in decoder.decode(None):
        yield from timed(encoder.encode(counted(frame)), order)
    yield from timed(encoder.encode(None), order)


# FFmpeg's guess for a count of channels without a layout (av_channel_layout_default), as its command line makes
DEFAULT_LAYOUTS = {1: "mono", 2: "stereo", 3: "2.1", 4: "4.0", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


def named_layout(stream: av.audio.stream.AudioStream) -> str | None:
    """The layout FFmpeg guesses ('stereo', '5.1') for an audio stream whose container names no
    layout (Matroska's PCM: '2 channels', '6 channels'), which an MP4 or MOV (or AAC) refuses to
    store; None for a stream with a layout, or more than 8 channels."""
    layout = stream.codec_context.layout
    if layout is None or any(ch.name != "NONE" for ch in layout.channels):
        return None
    return DEFAULT_LAYOUTS.get(layout.nb_channels)


def stream_start(stream: av.stream.Stream) -> Fraction | None:
    """Where a stream starts, in seconds, as its container says (after an edit list), if it says."""
    if stream.start_time is None or not stream.time_base:
        return None
    return Fraction(stream.start_time) * Fraction(stream.time_base)


def codec_delay(stream: av.stream.Stream) -> Fraction:
    """The samples at an audio stream's start that its container says the decoder drops (a codec
    delay: Opus's pre-skip, AAC's priming in Matroska; not an MP4's, whose edit list says it), in
    seconds. A Matroska muxer states it and counts packets that early as starting at 0."""
    cc = stream.codec_context
    return Fraction(cc.delay, cc.sample_rate) if cc.delay and cc.sample_rate else Fraction(0)


def audio_failure(exc: Exception, source: Path | str, output: Path) -> str:
    """What to tell a user whose ``output`` was written without ``source``'s audio after ``exc``:
    the codec a container refused, else the reason (never the hidden temporary file's name)."""
    if isinstance(exc, AudioNotStorable):
        said = f" (FFmpeg: {str(exc).rstrip('.')})" if str(exc) else ""
        return f"audio not copied: a {output.suffix} file cannot store {audio_codec(source)}{said}" + (
            "; a .mkv output takes any audio codec" if output.suffix.lower() != ".mkv" else ""
        )
    return f"audio not copied from {source} ({getattr(exc, 'strerror', None) or exc})"


def audio_codec(source: Path | str) -> str:
    """The source's first audio stream in words ('opus audio'; 'its audio' if it cannot be read)."""
    try:
        with open_input(source, is_url(source)) as c:
            stream = sound_stream(c)
            name = stream.codec_context.name
            layout = stream.codec_context.layout.name if stream.codec_context.layout else ""
    except (av.error.FFmpegError, OSError, AttributeError):
        return "its audio"
    layout = "1 channel" if layout == "1 channels" else layout  # FFmpeg's name for one channel without a layout
    return f"{name} audio" + (f" ({layout})" if layout else "")


def sound_stream(container: av.container.InputContainer) -> av.audio.stream.AudioStream | None:
    """The sound a player plays of a file with several tracks (a film in two languages): the first
    track flagged as the default, else the first; None without sound."""
    audio = container.streams.audio
    for stream in audio:
        if stream.disposition & av.stream.Disposition.default:
            return stream
    return audio[0] if audio else None


# tags that say how a file was written (its muxer, brand, length), not what it holds: an output has its own
WRITER_TAGS = frozenset({"encoder", "major_brand", "minor_version", "compatible_brands", "duration"})


def kept_tags(container: av.container.InputContainer) -> dict[str, str]:
    """The source's own tags, which an output keeps: when and where it was filmed (``creation_time``,
    ``location``: a photo library sorts and maps a video by them), the camera (``make``, ``model``),
    its title and comments; not those of its writer (``WRITER_TAGS``)."""
    return {
        key: str(value)
        for key, value in container.metadata.items()
        if key.lower() not in WRITER_TAGS and str(value).strip()
    }


def kept_chapters(
    container: av.container.InputContainer, origin: Fraction = Fraction(0), end: float | None = None
) -> list[dict]:
    """The source's chapters, moved as its picture and sound are (``origin``: the source's time, in
    seconds, at the output's 0) and cut to the output (0 to ``end`` seconds); those wholly outside
    it are left out."""
    kept = []
    for chapter in container.chapters():
        tb = Fraction(chapter["time_base"])
        if not tb:
            continue
        move = round(origin / tb)
        start, stop = max(0, chapter["start"] - move), chapter["end"] - move
        if end is not None:
            stop = min(stop, round(Fraction(end) / tb))
        if stop <= start and chapter["end"] > chapter["start"]:
            continue  # wholly before the output's start, or after its end
        kept.append({**chapter, "id": len(kept) + 1, "start": start, "end": max(start, stop)})
    return kept


def source_timecode(container: av.container.InputContainer) -> str | None:
    """The timecode of the source's first frame ('10:00:00:00'), where a camera wrote one: FFmpeg
    gives it as its picture's tag, or its timecode track's (a MOV's 'tmcd')."""
    shown = moving_picture(container)
    for stream in ([shown] if shown is not None else []) + list(container.streams.data):
        for key, value in stream.metadata.items():  # a Matroska's tag reads 'TIMECODE'
            if key.lower() == "timecode" and str(value).strip():
                return str(value)
    return None


def storable_timecode(timecode: str, fmt: str, rate: Fraction | None) -> bool:
    """Whether an ``fmt`` file takes ``timecode`` for a video of frame ``rate``: MP4 and MOV refuse
    the whole file where their timecode track cannot count it (a rate of 1000 fps: a Matroska's
    variable rate); tried on an empty file in memory."""
    if fmt in MATROSKA:
        return True  # a tag
    if not rate:
        return False
    try:
        with av.open(io.BytesIO(), "w", format=fmt) as trial:
            stream = trial.add_stream("libx264", rate=rate)
            stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
            stream.metadata["timecode"] = timecode
            trial.start_encoding()
    except (av.error.FFmpegError, ValueError):
        return False
    return True


def carries_more(container: av.container.InputContainer) -> bool:
    """Whether a file holds more than its picture that an output keeps or says it leaves out: tags
    (``kept_tags``), chapters, a timecode (a Matroska's is a tag of its picture), or any stream but
    the video (sound, subtitles, a timecode track, fonts)."""
    return bool(
        kept_tags(container) or container.chapters() or len(container.streams) > 1 or source_timecode(container)
    )


def left_out_tracks(source: Path | str) -> str:
    """What of ``source`` an output does not carry beside its picture, one sound track, its tags and
    chapters and timecode, in words ('1 more audio track (eng) and 2 subtitle tracks left out'): audio,
    subtitle and video tracks, cover pictures, data tracks (a GoPro's telemetry), attached files (a
    film's fonts); '' for nothing (or unreadable, or a file on a server: not asked for again). A
    chapter track (an MP4's chapter titles) is no track to a player: its chapters are kept."""
    if is_url(source):
        return ""
    try:
        with open_input(source, False) as c:
            kept = sound_stream(c)
            shown = moving_picture(c)
            others = [s.metadata.get("language") or "" for s in c.streams.audio if s is not kept]
            subtitles = len(c.streams.subtitles)
            covers = sum(1 for s in c.streams.video if s.disposition & av.stream.Disposition.attached_pic)
            videos = len(c.streams.video) - covers - (shown is not None)
            data = [s for s in c.streams.data if not (s.discard == av.stream.Discard.all and c.chapters())]
            data = [s for s in data if not s.metadata.get("timecode")]  # kept: see source_timecode
            attachments = len(c.streams.attachments)
    except (av.error.FFmpegError, OSError):
        return ""
    said = []
    if others:
        languages = sorted({lang for lang in others if lang and lang != "und"})
        named = f" ({', '.join(languages)})" if languages else ""
        said.append(f"{len(others)} more audio track{'s' * (len(others) > 1)}{named}")
    for n, what in (
        (subtitles, "subtitle track"),
        (videos, "more video track"),
        (covers, "cover picture"),
        (len(data), "data track"),
        (attachments, "attached file"),
    ):
        if n:
            said.append(f"{n} {what}{'s' * (n > 1)}")
    if not said:
        return ""
    listed = ", ".join(said[:-1]) + " and " + said[-1] if len(said) > 1 else said[0]
    return f"{listed} left out" + (" (one sound track is copied)" if kept is not None else "")


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


def declared_duration(
    container: av.container.InputContainer, stream: av.stream.Stream
) -> tuple[float | None, float, bool]:
    """The video's duration in seconds as the file declares it (None when it does not), how far
    short of it an intact file may end, and whether it may be where the video ends counted from 0
    rather than its length from its own start. The video stream's own duration (MP4) is its exact
    length (an AVI's: its header's frame count). The DURATION tag Matroska writers add is exact
    too, but FFmpeg's is the track's end from 0 (mkvmerge's its length); a container's duration may
    include a longer audio track, and may be its end from 0 (Matroska, MP4) or its length (MPEG-TS)."""
    if stream.duration and stream.time_base:
        length = stream.duration
        if "avi" in container.format.name.split(",") and stream.frames > length:
            # an AVI cut short has no index at its end: FFmpeg's duration is what a scan of it found,
            # where its header counts the frames of the whole (one tick each)
            length = stream.frames
        return float(length * stream.time_base), 0.0, False
    tag = stream.metadata.get("DURATION") or stream.metadata.get("duration")
    if tag:
        try:
            h, m, sec = tag.split(":")
            writer = str(container.metadata.get("ENCODER") or container.metadata.get("encoder") or "")
            return int(h) * 3600 + int(m) * 60 + float(sec), 0.0, writer.startswith("Lavf")  # mkvmerge's: a length
        except ValueError:
            pass
    if container.duration and container.duration > 0:
        seconds = container.duration / av.time_base
        alone = len(container.streams) == 1
        return seconds, 0.0 if alone else max(1.0, 0.05 * seconds), True
    return None, 0.0, False


def opaque_bgr(frame: av.VideoFrame, matrix: Colorspace | None = None) -> np.ndarray:
    """A decoded frame as BGR uint8 (``matrix``: see ``decoding_matrix``). A video with an alpha
    channel (PNG or QuickTime Animation in a MOV, ProRes 4444) has its transparent pixels on white,
    as a photo's and a GIF's are, not the colours stored under them (black, mostly)."""
    if not any(c.is_alpha for c in frame.format.components):
        return frame.to_ndarray(format="bgr24", src_colorspace=matrix, interpolation=EXACT)
    bgra = frame.to_ndarray(format="bgra", src_colorspace=matrix, interpolation=EXACT)
    colour, alpha = np.ascontiguousarray(bgra[..., :3]), np.ascontiguousarray(bgra[..., 3])
    return colour if alpha.min() == 255 else on_white(colour, alpha)


def sdr_bgr(frame: av.VideoFrame, colour: Colour) -> np.ndarray:
    """An HDR (PQ, HLG) or wide-gamut (BT.2020) frame as SDR BT.709 BGR uint8, as an SDR screen
    should show it. Taken as it is stored, an HDR picture came out grey and flat (PQ: its white at
    58%, HLG's at 75%) and BT.2020's colours dull, in the painting and the output alike. Linear
    light, relative to HDR's reference white; for HLG, as its 1000 cd/m2 display shows it; BT.2020's
    primaries turned into BT.709's (colours beyond them clipped); highlights above KNEE compressed
    under white (see SDR_WHITE_NITS); BT.1886 encoded; a transparent pixel on white (as in
    ``opaque_bgr``). About 0.1 s more a 1920x1080 frame, 0.3-0.4 s
    a 3840x2160 one (a 4K phone clip: minutes a minute of it)."""
    untagged = frame.colorspace in (UNSPECIFIED, 3)  # HDR's matrix and primaries are BT.2020's, said or not
    matrix = Colorspace.BT2020 if untagged else None
    bits = frame.format.components[0].bits
    if frame.format.name.startswith(("gbrp", "gbrap")):  # stored as R'G'B' (FFV1, HEVC 4:4:4 GBR): its codes
        rgb, white = np.ascontiguousarray(frame.to_ndarray()[..., :3]), (1 << bits) - 1  # (swscale: +-16 of 1023)
    else:
        rgb = frame.to_ndarray(format="gbrp16le", src_colorspace=matrix, interpolation=EXACT)  # rgb48 is wrong
        white = _white_code(bits, frame.color_range == 2)  # 2: full range (JPEG)
    hdr = colour.trc in (PQ, HLG)
    light = _linear_light(colour.trc, white)[rgb]  # relative to SDR's white (PQ, SDR) or scene light (HLG)
    if colour.trc == HLG:  # HLG's OOTF: display light = peak * Y ** 0.2 * scene light
        luma = cv2.pow(cv2.transform(light, BT2020_LUMA), 0.2) * (HLG_PEAK_NITS / SDR_WHITE_NITS)
        light *= cv2.merge([luma] * 3)
    if colour.primaries == BT2020 or colour.space in (BT2020, BT2020_CL) or (hdr and colour.primaries != BT709):
        light = cv2.transform(light, BT2020_TO_BT709[::-1])  # and into BGR
    else:
        light = np.ascontiguousarray(light[..., ::-1])
    np.maximum(light, 0, out=light)  # colours beyond BT.709's gamut: clipped
    if hdr:
        gain, top = _highlight_gain()
        peak = np.maximum(np.maximum(light[..., 0], light[..., 1]), light[..., 2])
        light *= cv2.merge([gain[_root_index(peak, top)]] * 3)
    bgr = _sdr_signal()[_root_index(light, 1.0)]  # (light over 1: white)
    if not any(c.is_alpha for c in frame.format.components):
        return bgr
    alpha = np.ascontiguousarray(frame.to_ndarray(format="bgra", interpolation=EXACT)[..., 3])
    return bgr if alpha.min() == 255 else on_white(bgr, alpha)  # as opaque_bgr's (ProRes 4444 HDR)


def _root_index(light: np.ndarray, top: float) -> np.ndarray:
    """Indices into a table of LUT_STEPS steps on the square root of ``light`` (0 or more): rounded,
    and the last one for ``top`` and beyond. One pass of OpenCV's (its rounding, saturated), taken
    as one channel (a number multiplies only the first of several): 3.5 times numpy's clip and cast
    of a 3840x2160 frame, 0.1 s of its 0.5 s."""
    flat = light.reshape(light.shape[0], -1)
    return cv2.multiply(cv2.sqrt(flat), LUT_STEPS / math.sqrt(top), dtype=cv2.CV_16U).reshape(light.shape)


@functools.lru_cache(maxsize=16)
def _white_code(bits: int, full: bool) -> int:
    """The code swscale turns a white of ``bits``-bit YUV into in gbrp16le: not 65535, but 65283 for
    limited range (as for 8 bits, 255.0 x 256 + 3) and 65472 for 10-bit full range (1023 << 6). Read
    as a fraction of 65535, a limited-range HDR frame's signal was 0.4% low: PQ's greys 1-2 levels
    dark and a saturated colour's weakest channel up to 9 levels off. Found once per kind of frame
    by converting a white one (65535 where that cannot be done)."""
    try:
        frame = av.VideoFrame(2, 2, "yuv444p" if bits == 8 else f"yuv444p{bits}le")
    except (ValueError, av.error.FFmpegError):
        return 65535
    depth = np.uint8 if bits == 8 else np.uint16
    for plane, value in zip(frame.planes, ((1 << bits) - 1 if full else 235 << (bits - 8), *[1 << (bits - 1)] * 2)):
        np.frombuffer(plane, depth)[:] = value
    frame.colorspace, frame.color_range = BT2020, 2 if full else 1
    white = int(frame.to_ndarray(format="gbrp16le", interpolation=EXACT).max())
    return white if white > 32767 else 65535


@functools.lru_cache(maxsize=16)
def _linear_light(trc: int, white: int = 65535) -> np.ndarray:
    """16-bit signal (``white``: see ``_white_code``) -> linear light (float32): PQ in units of SDR's
    white, HLG's scene light (0-1), SDR (BT.709, BT.2020's 10 and 12 bit) through BT.1886's 2.4."""
    v = np.minimum(np.arange(65536, dtype=np.float64) / white, 1.0)
    if trc == PQ:  # SMPTE ST 2084
        m1, m2, c1, c2, c3 = 0.1593017578125, 78.84375, 0.8359375, 18.8515625, 18.6875
        p = v ** (1 / m2)
        light = PQ_PEAK_NITS / SDR_WHITE_NITS * (np.maximum(p - c1, 0) / (c2 - c3 * p)) ** (1 / m1)
    elif trc == HLG:  # ARIB STD-B67's inverse OETF
        a, b, c = 0.17883277, 0.28466892, 0.55991073
        light = np.where(v <= 0.5, v * v / 3, (np.exp((v - c) / a) + b) / 12)
    else:
        light = v**SDR_GAMMA
    return light.astype(np.float32)


@functools.lru_cache(maxsize=1)
def _highlight_gain() -> tuple[np.ndarray, float]:
    """A pixel's gain by its largest channel (indexed by _root_index up to PQ's peak): 1 up to KNEE,
    then a curve that leaves it at KNEE with the same slope and nears white, never reaching it."""
    top = PQ_PEAK_NITS / SDR_WHITE_NITS
    m = (np.arange(LUT_STEPS + 1) / LUT_STEPS) ** 2 * top
    over = np.maximum(m - KNEE, 0) / (1 - KNEE)
    mapped = np.where(m > KNEE, KNEE + (1 - KNEE) * over / (1 + over), m)
    return (mapped / np.maximum(m, 1e-12)).astype(np.float32), top


@functools.lru_cache(maxsize=1)
def _sdr_signal() -> np.ndarray:
    """Linear light 0-1 (indexed by _root_index) -> the 8-bit SDR signal, BT.1886 encoded."""
    light = (np.arange(LUT_STEPS + 1) / LUT_STEPS) ** 2
    return np.round(255 * light ** (1 / SDR_GAMMA)).astype(np.uint8)


def pixel_aspect(stream: av.video.stream.VideoStream) -> Fraction | None:
    """The shape (width / height) of a video's pixels where they are not square: anamorphic video
    (a 16:9 DVD's 720x480 pixels are 32:27, HDV's 1440x1080 4:3), as its container, else its codec,
    says; None for square pixels, an unknown shape, or one past 4:1 either way (a damaged header)."""
    for sar in (stream.sample_aspect_ratio, stream.codec_context.sample_aspect_ratio):
        if sar is not None and sar > 0:
            sar = Fraction(sar)
            return sar if sar != 1 and Fraction(1, 4) <= sar <= 4 else None
    return None


def square_pixels(image: np.ndarray, aspect: Fraction | None) -> np.ndarray:
    """The picture with square pixels, as players show it: its width scaled by the pixels' shape
    (``aspect``, see ``pixel_aspect``; 720x480 at 32:27 becomes 854x480, 16:9), its height kept;
    an even width, as H.264 in 4:2:0 needs."""
    if aspect is None:
        return image
    h, w = image.shape[:2]
    width = max(2, 2 * round(w * aspect / 2))
    if width == w:
        return image
    return cv2.resize(
        image, (width, h), interpolation=cv2.INTER_LINEAR if width < w else cv2.INTER_CUBIC
    )  # per frame: linear is 4x faster than area at 8:9


def display_matrix(frame: av.VideoFrame) -> np.ndarray | None:
    """The frame's display matrix (nine int32, 16.16 fixed point), if it has one."""
    for data in frame.side_data:
        if data.type == av.sidedata.sidedata.Type.DISPLAYMATRIX:
            values = np.frombuffer(bytes(data), np.int32)
            return values[:9] if values.size >= 9 else None
    return None


def upright(image: np.ndarray, matrix: np.ndarray | None) -> np.ndarray:
    """The picture as players show it: the display matrix's rotation by a multiple of 90 degrees
    and its flips applied, as FFmpeg's command line does (fftools, autorotate)."""
    if matrix is None:
        return image
    a, b, c, d = (float(v) / 65536 for v in (matrix[0], matrix[1], matrix[3], matrix[4]))
    sx, sy = math.hypot(a, c), math.hypot(b, d)
    if sx == 0 or sy == 0:
        return image
    theta = float(round(math.degrees(math.atan2(b / sy, a / sx))))  # -av_display_rotation_get()
    theta -= 360 * math.floor(theta / 360 + 0.9 / 360)
    if abs(theta - 90) < 1:
        turned = image.transpose(1, 0, 2) if matrix[3] > 0 else cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    elif abs(theta - 180) < 1:
        turned = image[:, ::-1] if matrix[0] < 0 else image
        turned = turned[::-1] if matrix[4] < 0 else turned
    elif abs(theta - 270) < 1:
        turned = (
            image[::-1, ::-1].transpose(1, 0, 2) if matrix[3] < 0 else cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
        )
    elif abs(theta) < 1:
        turned = image[::-1] if matrix[4] < 0 else image
    else:  # an odd angle: left as stored
        turned = image
    return np.ascontiguousarray(turned)


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
