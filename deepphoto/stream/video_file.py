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
so far); a failed write (a full disk) removes the temporary file. When the output is finalised, the
source's sound, tags and chapters are added in a second pass (``video_sound``: the sound copied
where the container plays it, else encoded again), every video packet kept.

Timing: each frame lasts until the next, and the last as long as the source shows it (a GIF's
long last frame); how the picture and the sound are placed on the output's clock together is
``video_sound``'s.

Colour: frames are decoded and written as ``video_colour`` says (HDR tone-mapped to SDR as it is
decoded; the output says once that it is SDR).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from deepphoto.colour_profile import embedded_profile, to_srgb
from deepphoto.errors import DeepPhotoError, not_a_file, option, warn
from deepphoto.frames import letterbox
from deepphoto.stream.deinterlace import Deinterlacer
from deepphoto.stream.frame import Frame
from deepphoto.stream.output_safety import check_output_file, discard, publish, temporary_name
from deepphoto.stream.video_colour import (
    BT709,
    Colour,
    decoding_matrix,
    opaque_bgr,
    output_colour,
    sdr_bgr,
    source_colour,
    written_note,
    yuv420_frame,
)
from deepphoto.stream.video_container import (
    OPEN_TIMEOUT,
    READ_TIMEOUT,
    OnwardClock,
    container_format,
    is_url,
    moving_picture,
    mp4_without_index,
    muxer_options,
    open_input,
    timed_out,
    unreachable,
    video_encoder,
)
from deepphoto.stream.video_sound import audio_failure, carries_more, output_disk_failed, remux_with_audio

H264_MAX_SIDE = 16384  # the longest side libx264 encodes


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


PROFILED_FORMATS = frozenset({"apng", "png_pipe"})  # pictures read as video whose colour profile is honoured
PROFILE_HEAD = 16 << 20  # the bytes read for it: a PNG's iCCP chunk comes before its pictures


def image_profile(container: av.container.InputContainer, path: Path | str, network: bool) -> bytes | None:
    """The colour profile of an animated PNG read as a video (an .apng file, or a .png where this
    OpenCV reads no animation): FFmpeg leaves it unapplied, and an APNG in Display P3 or Adobe RGB
    came out up to 40 levels off the same picture read as a photo (``colour_profile.embedded_profile``,
    from the file's first bytes; None for a file on a server, or any other video). The profile
    FFmpeg gives as frame side data is not read: reading it crashes PyAV 18 (``UNTURNED_CODECS``)."""
    if network or not PROFILED_FORMATS & set(container.format.name.split(",")):
        return None
    try:
        return embedded_profile(np.fromfile(path, np.uint8, count=PROFILE_HEAD))
    except OSError:
        return None


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
        # whether its frames' display matrices are read: a PNG's are not (it has none to give, and
        # reading its colour profile's side data crashed the interpreter: ``UNTURNED_CODECS``)
        self.turns = stream.codec_context.name not in UNTURNED_CODECS
        self.profile = image_profile(self.container, path, network)  # an APNG's colour profile
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
                    if isinstance(exc, av.error.ExitError):
                        lost = f"no data in {OPEN_TIMEOUT:g} s"
                    else:  # a TCP connection's own timeout read 'Connection timed out'
                        lost = f"no data in {READ_TIMEOUT:g} s" if timed_out(exc) else last_error
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
        turn = display_matrix(frame) if self.turns else None
        image = upright(square_pixels(bgr, self.pixel_aspect), turn)
        if self.profile is not None:  # in sRGB, as the same picture is read as a photo
            image = to_srgb(image, self.profile)
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
                f"{width}x{height} (write .png, or scale them with {option('size', 'WxH', placeholder=True)})"
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
        if note := written_note(colour, sdr=f"SDR {'BT.709' if out.space == BT709 else 'BT.601'}"):
            warn(note, self.path)

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
        frame = yuv420_frame(even, out.matrix)
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


# Codecs whose frames' side data is not read (``display_matrix``): FFmpeg's PNG decoders give a
# profile's name with its ICC profile, and PyAV 18 wraps that name as a dictionary of its own,
# freed again after the frame freed it: 'deepphoto run anim.apng out.mp4' on an animated PNG with
# a colour profile ended in a segmentation fault (exit status 139). A PNG is never turned.
UNTURNED_CODECS = frozenset({"png", "apng"})


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
