"""The second pass of a video output: the source's sound copied beside the written picture (no
re-encoding where the container stores it so that players play it, else AAC or Opus), with its
tags, chapters, timecode and subtitles (``video_subtitles``), and in words what of the source is left
out.

Timing: the output starts at 0, as FFmpeg's command line makes it: a source whose clock starts
late (MPEG-TS camcorder clips at 10 hours) or before zero (a timestamp that wrapped, an MP4 edit
list that trims its start) is moved, picture and sound together, so that the earlier of the two
starts at 0. Sound cut away before the start (an edit list's, AAC's priming) is not copied where
the container cannot hide it (Matroska). A full disk while the sound is copied is the output's
failure (``output_disk_failed``), not the sound's."""

from __future__ import annotations

import errno
import heapq
import io
import math
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from fractions import Fraction
from pathlib import Path

import av

from deepphoto.stream.video_container import (
    MATROSKA,
    OnwardClock,
    is_url,
    moving_picture,
    muxer_options,
    open_input,
    video_span,
)
from deepphoto.stream.video_subtitles import add_subtitle_streams, subtitle_packets, subtitle_plan, why_left_out

DISK_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS)  # the output's disk, not the input


def output_disk_failed(exc: BaseException, audio_from: Path | str) -> bool:
    """Whether ``exc``, met while ``audio_from``'s sound was copied into an output, is the output's
    disk failing (full, over quota, read-only) rather than the sound: the output cannot be trusted,
    so it is not published without its sound (a read from a server fails with EIO too: the sound)."""
    if not isinstance(exc, OSError) or exc.errno not in DISK_ERRORS:
        return False
    return not (is_url(audio_from) and exc.errno == errno.EIO)


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
    ('opus audio re-encoded as AAC ...') and the tracks left out (``left_out_tracks``), else ''.
    A refusal with subtitle tracks in the output is tried again without them: where that is taken,
    the subtitles were refused, not the sound, which is kept (and the subtitles said left out). A
    file on a server keeps none (it would be read twice over the network), and says so."""
    left = left_out_tracks(audio_src, fmt)
    suffix = "mkv" if fmt == "matroska" else fmt
    encoded = "Opus" if fmt == "webm" else "AAC"
    dropped = ""  # the subtitles the container refused (or a server's not read), in words

    def attempt(as_aac: bool) -> bool:
        nonlocal dropped
        try:
            done, on_server = _refused_or_done(video, audio_src, out, fmt, video_from, as_aac)
            if on_server:  # dropped without a word before
                them = "them" if on_server > 1 else "it"
                dropped = (
                    f"{on_server} subtitle track{'s' * (on_server > 1)} left out: a file on a server is not "
                    f"read a second time for subtitles (download it first to keep {them})"
                )
            return done
        except _Refused as refused:
            planned = planned_subtitles(audio_src, fmt)
            if not planned:
                raise
            done = _refused_or_done(video, audio_src, out, fmt, video_from, as_aac, subtitles=False)[0]
            them = "them" if planned > 1 else "it"
            why = f" (FFmpeg: {str(refused).rstrip('.')})" if str(refused) else ""
            dropped = f"{planned} subtitle track{'s' * (planned > 1)} left out: a .{suffix} file refused {them}{why}"
            return done

    try:
        as_aac: bool | None = attempt(False)
    except _Refused:
        as_aac = None  # refused as it is: AAC (Opus into a WebM), or AudioNotStorable
    if as_aac is None:
        try:
            attempt(True)
        except _Refused as refused:
            raise AudioNotStorable(str(refused)) from None
        done = f"{audio_codec(audio_src)} re-encoded as {encoded} (a .{suffix} file cannot store it)"
    elif as_aac:
        unplayable = f"browsers and many players cannot play it in a .{suffix} file"
        done = f"{audio_codec(audio_src)} re-encoded as {encoded} ({unplayable})"
    else:
        done = ""
    return "; ".join(note for note in (done, dropped, left) if note)


class _Refused(Exception):
    """The output's container refused what a ``_remux`` put in it; FFmpeg's reason."""


def planned_subtitles(source: Path | str, fmt: str) -> int:
    """How many subtitle tracks of ``source`` an ``fmt`` output is to keep (``subtitle_plan``)."""
    if is_url(source):
        return 0
    try:
        with open_input(source, False) as c:
            return len(subtitle_plan(c, fmt)[0])
    except (av.error.FFmpegError, OSError):
        return 0


def _refused_or_done(
    video: Path,
    audio_src: Path | str,
    out: Path,
    fmt: str,
    video_from: Fraction | None,
    as_aac: bool,
    subtitles: bool = True,
) -> tuple[bool, int]:
    """``_remux``: whether it encoded the sound as AAC, and the subtitle tracks of a file on a
    server left out; ``_Refused`` where the container refused what it was given (the sound as it
    is or encoded again, or a subtitle track)."""
    level = av.logging.get_level()
    av.logging.set_level(av.logging.ERROR)
    try:
        with av.logging.Capture(local=False) as logs:
            return _remux(video, audio_src, out, fmt, video_from, as_aac, subtitles)
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
    raise _Refused(reason)


def _remux(
    video: Path,
    audio_src: Path | str,
    out: Path,
    fmt: str,
    video_from: Fraction | None = None,
    as_aac: bool = False,
    subtitles: bool = True,
) -> tuple[bool, int]:
    """Every video packet of ``video`` plus the source's sound (``sound_stream``) and the subtitles
    the container keeps (``subtitle_plan``; none if not ``subtitles``, none of a file on a server:
    they are read in a pass of their own), up to the video's end; whether the sound was encoded as
    AAC (``as_aac``, or sound an MP4 would hold unplayable), and how many subtitle tracks of a file
    on a server were left out.

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
        ExitStack() as more,
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
        kept_subtitles = subtitle_plan(ain, fmt)[0] if subtitles and not is_url(audio_src) else []  # a server's: none
        on_server = len(ain.streams.subtitles) if subtitles and is_url(audio_src) else 0
        subtitle_outs = add_subtitle_streams(dst, ain, kept_subtitles)
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
        if asrc is None:  # no sound: the picture stays where the sink put it (a soundless output that
            origin = Fraction(video_from)  # carries no tags is not remuxed: the same timing either way)
        else:
            origin = video_at if audio_at is None else min(video_at, audio_at)
        video_move = Fraction(video_from) - origin  # seconds, on the video's times and the audio's
        exact_stop = None if end is None else end + video_move  # seconds, on the output's clock
        stop = None if exact_stop is None else float(exact_stop)
        chapters = kept_chapters(ain, origin, stop)
        if chapters:
            dst.set_chapters(chapters)
        dst.start_encoding()  # the header: where a container refuses the audio's codec
        keeps_before_zero = fmt not in MATROSKA  # an MP4's edit list hides it; Matroska would move all later
        delay = codec_delay(asrc) if asrc is not None else Fraction(0)

        def restarts(tb: Fraction) -> Callable[[], list[int]] | None:
            """Where the source's picture went each time its clock started again, in ticks of ``tb``
            (the sound's), for the sound's clock to follow (a server's file is not read once more)."""
            if is_url(audio_src):
                return None
            return lambda: [round(shift / tb) for shift in picture_restarts(audio_src)]

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
                    clock = clock or OnwardClock(round(1 / pkt.time_base), follow=restarts(pkt.time_base))
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
        subtitles: Iterator[tuple[float, int, av.Packet, object]] = iter(())
        if kept_subtitles:  # the source again: one container demuxes for one reader at a time
            sin = more.enter_context(open_input(audio_src, False))
            subtitles = subtitle_packets(sin, kept_subtitles, subtitle_outs, origin, exact_stop, 2)
        for _, _, pkt, out_stream in heapq.merge(
            packets(vin, vsrc, vout, 0), sound, subtitles, key=lambda item: (item[0], item[1])
        ):
            pkt.stream = out_stream
            dst.mux(pkt)
    return re_encode, on_server


def picture_restarts(source: Path | str) -> list[Fraction]:
    """Where a video file sink puts the frames of ``source``'s picture (``VideoFileSource``) each time
    its clock starts again (recordings joined end to end): one frame after the last one before, for
    good (``OnwardClock``); in turn, the seconds then added to the source's times (from its start).
    Read from the packets (not decoded): each recording's in the order shown; those an edit list
    hides are left out, as the decoder leaves them out."""
    with open_input(source, False) as c:
        stream = moving_picture(c)
        if stream is None or not stream.time_base:
            return []
        tb = Fraction(stream.time_base)
        recordings: list[list[int]] = [[]]
        last: int | None = None
        for pkt in c.demux(stream):
            stamp = pkt.dts if pkt.dts is not None else pkt.pts
            if not pkt.size or stamp is None:
                continue
            if last is not None and (last - stamp) * tb > 1:  # decoding went back: the next recording
                recordings.append([])
            last = stamp
            if pkt.pts is not None and not pkt.is_discard:
                recordings[-1].append(pkt.pts)
        fps = Fraction(stream.average_rate or stream.guessed_rate or 30).limit_denominator(100000)
    period = max(1, round(1 / (fps * tb)))  # as the sink's clock steps one frame
    clock = OnwardClock(round(1 / tb))
    shifts = []
    for recording in recordings:
        for pts in sorted(recording):
            before = clock.shift
            clock(pts, period)
            if clock.shift != before:
                shifts.append(Fraction(clock.shift) * tb)
    return shifts


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
WRITER_TAGS = frozenset({"encoder", "software", "major_brand", "minor_version", "compatible_brands", "duration"})


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


def left_out_tracks(source: Path | str, fmt: str = "matroska") -> str:
    """What of ``source`` an ``fmt`` output does not carry beside its picture, one sound track, its
    tags, chapters, timecode and the subtitles it keeps, in words ('1 more audio track (eng) and 1
    subtitle track left out; a .mp4 file cannot store picture subtitles (hdmv_pgs_subtitle) ...'):
    audio, subtitle and video tracks, cover pictures, data tracks (a GoPro's telemetry), attached
    files (a film's fonts); '' for nothing (or unreadable, or a file on a server: not asked for
    again). A chapter track (an MP4's chapter titles) is no track to a player: its chapters are kept."""
    if is_url(source):
        return ""
    try:
        with open_input(source, False) as c:
            kept = sound_stream(c)
            shown = moving_picture(c)
            others = [s.metadata.get("language") or "" for s in c.streams.audio if s is not kept]
            subtitles = subtitle_plan(c, fmt)[1]
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
        (len(subtitles), "subtitle track"),
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
    copied = " (one sound track is copied)" if kept is not None else ""
    return "; ".join(note for note in (f"{listed} left out{copied}", why_left_out(subtitles, fmt)) if note)
