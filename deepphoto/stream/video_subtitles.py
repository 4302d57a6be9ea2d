"""The source's subtitle tracks in a video output (the sound's second pass writes them): copied
where the output's container stores their codec, text subtitles written again in its own text codec
where it does not (SubRip into an MP4 as mov_text, into a WebM as WebVTT), picture subtitles (a
Blu-ray's PGS, a DVD's) left out of an MP4, MOV or WebM, in words. Each track keeps its language,
title and default, forced and hearing-impaired flags, and its times move and are cut with the
picture's: nothing shown before the output's start or after its end (a run stopped early)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import av

# the subtitle codecs (FFmpeg's canonical names) each output container stores as they are and
# players read there; WebM holds WebVTT alone, MP4 and MOV their own mov_text (tx3g)
STORED = {
    "matroska": frozenset({"subrip", "ass", "webvtt", "text", "hdmv_pgs_subtitle", "dvd_subtitle", "dvb_subtitle"}),
    "webm": frozenset({"webvtt"}),
    "mp4": frozenset({"mov_text"}),
    "mov": frozenset({"mov_text"}),
}

# the codec text subtitles are written again in where the container does not store theirs
TEXT_INTO = {"matroska": "subrip", "webm": "webvtt", "mp4": "mov_text", "mov": "mov_text"}

KEPT_FLAGS = ("default", "forced", "hearing_impaired")  # what a player picks a track by, and shows it when

READ_ON = 10  # seconds read past the output's end: a file's tracks interleave, so none is later than that


@dataclass(frozen=True)
class KeptSubtitles:
    """A source subtitle track an output keeps: its stream's index, and the codec it is written
    again in (None: copied as it is)."""

    index: int
    into: str | None = None


def codec_name(stream: av.stream.Stream) -> str:
    """The stream's codec, FFmpeg's canonical name ('subrip', 'hdmv_pgs_subtitle'); '' if unknown."""
    try:
        return stream.codec_context.codec.canonical_name
    except (AttributeError, ValueError, av.error.FFmpegError):
        return ""


def _writable(stream: av.subtitles.stream.SubtitleStream, into: str) -> bool:
    """Whether ``stream``'s text subtitles decode, and an ``into`` encoder takes what they say."""
    try:
        header = opened_header(stream)
        encoder = av.codec.CodecContext.create(into, "w")
        encoder.time_base = Fraction(1, 1000)
        encoder.subtitle_header = header
        encoder.open()
    except (av.error.FFmpegError, ValueError, AttributeError, TypeError):
        return False
    return True


def opened_header(stream: av.subtitles.stream.SubtitleStream) -> bytes | None:
    """The ASS header a text subtitle's decoder makes (its styles): what an encoder writes it from."""
    context = stream.codec_context
    if not context.is_open:
        context.open(strict=False)
    return context.subtitle_header


def subtitle_plan(container: av.container.InputContainer, fmt: str) -> tuple[list[KeptSubtitles], list[str]]:
    """What an ``fmt`` output keeps of the source's subtitle tracks, and the codecs of those it
    cannot (one a track left out: 'hdmv_pgs_subtitle')."""
    kept: list[KeptSubtitles] = []
    left: list[str] = []
    stored = STORED.get(fmt, frozenset())
    for stream in container.streams.subtitles:
        name = codec_name(stream)
        if name and name in stored:
            kept.append(KeptSubtitles(stream.index))
        elif name and stream.codec_context.codec.text_sub and _writable(stream, TEXT_INTO[fmt]):
            kept.append(KeptSubtitles(stream.index, TEXT_INTO[fmt]))
        else:
            left.append(name or "unknown")
    return kept, left


def why_left_out(codecs: list[str], fmt: str) -> str:
    """Why subtitle tracks of ``codecs`` are left out of an ``fmt`` output, in words ('a .mp4 file
    cannot store picture subtitles (hdmv_pgs_subtitle); a .mkv output keeps them')."""
    if not codecs:
        return ""
    suffix = "mkv" if fmt == "matroska" else fmt
    pictures = sorted({c for c in codecs if _is_picture(c)})
    others = sorted({c for c in codecs if not _is_picture(c)})
    said = []
    if pictures:
        said.append(f"picture subtitles ({', '.join(pictures)})")
    if others:
        said.append(f"{', '.join(others)} subtitles")
    reason = f"a .{suffix} file cannot store {' or '.join(said)}"
    if fmt != "matroska" and all(c in STORED["matroska"] for c in codecs):
        reason += "; a .mkv output keeps them"
    return reason


def _is_picture(name: str) -> bool:
    try:
        return bool(av.Codec(name, "r").bitmap_sub)
    except (ValueError, av.error.FFmpegError):
        return False


def add_subtitle_streams(
    dst: av.container.OutputContainer, source: av.container.InputContainer, kept: list[KeptSubtitles]
) -> list[av.stream.Stream]:
    """The output's streams for the ``kept`` subtitle tracks of ``source``, with their language,
    title and flags (before ``dst``'s header is written)."""
    outs = []
    for plan in kept:
        stream = source.streams[plan.index]
        if plan.into is None:
            out = dst.add_stream_from_template(stream)
        else:
            out = dst.add_stream(plan.into)
            out.codec_context.subtitle_header = opened_header(stream)
            out.time_base = Fraction(1, 1000)
        language, title = stream.metadata.get("language"), stream.metadata.get("title")
        if language:
            out.metadata["language"] = language
        if title or stream.metadata.get("name"):  # an MP4's track title reads as its 'name'
            out.metadata["title"] = title or stream.metadata["name"]
        flags = av.stream.Disposition(0)
        for flag in KEPT_FLAGS:
            flags |= stream.disposition & av.stream.Disposition[flag]
        out.disposition = flags
        outs.append(out)
    return outs


def subtitle_packets(
    container: av.container.InputContainer,
    kept: list[KeptSubtitles],
    outs: list[av.stream.Stream],
    origin: Fraction,
    stop: Fraction | None,
    order: int,
) -> Iterator[tuple[float, int, av.Packet, object]]:
    """The ``kept`` subtitle tracks' packets of ``container`` (the source opened again), for
    ``outs``: moved so that the source's time ``origin`` (seconds) is the output's 0, and cut to
    the output's 0 to ``stop`` seconds (one shown across either end is shortened to it, one wholly
    outside left out); written again where planned (as mov_text: one cue at a time, ``Overlaps``).
    Each at its time, never before the one before."""
    by_index = {plan.index: (plan, out) for plan, out in zip(kept, outs, strict=True)}
    overlaps = {plan.index: Overlaps(stop) for plan in kept if plan.into == "mov_text"}
    t = -math.inf
    streams = [container.streams[plan.index] for plan in kept]

    def timed(pkt: av.Packet, out: av.stream.Stream, at: Fraction) -> tuple[float, int, av.Packet, object]:
        nonlocal t
        t = max(t, float(at))
        return t, order, pkt, out

    for pkt in container.demux(*streams):
        if not pkt.size or pkt.pts is None or pkt.time_base is None or pkt.stream.index not in by_index:
            continue
        plan, out = by_index[pkt.stream.index]
        tb = Fraction(pkt.time_base)
        start = Fraction(pkt.pts) * tb - origin  # seconds, on the output's clock
        length = Fraction(pkt.duration or 0) * tb
        if stop is not None and start >= stop:
            if start >= stop + READ_ON:
                break
            continue
        if start < 0 and (not length or start + length <= 0):
            continue  # shown only before the output's start (or for as long as no one knows)
        end = start + length if length else None
        start = max(start, Fraction(0))
        if end is not None and stop is not None:
            end = min(end, stop)
        ticks = round((end - start) / tb) if end is not None else 0
        if end is not None and ticks < 1:
            continue  # shown for less than a tick of the output
        if pkt.stream.index in overlaps:
            lines = _dialogue(pkt)
            if lines:
                for at, written in overlaps[pkt.stream.index].add(start, end, lines, out):
                    yield timed(written, out, at)
            continue
        if plan.into is not None:
            written = _written_again(pkt, out)
            if written is None:
                continue
            pkt = written
        pkt.time_base = tb
        pkt.pts = pkt.dts = round(start / tb)
        pkt.duration = ticks
        yield timed(pkt, out, start)
    for index, pending in overlaps.items():
        out = by_index[index][1]
        for at, written in pending.flush(out):
            yield timed(written, out, at)


class Overlaps:
    """Cues made one at a time, for mov_text: an MP4's subtitle track shows one sample at a time,
    so cues that overlap (an ASS film's sign over its dialogue, two speakers) were written as one
    shown for no time and the next moved after it. Each stretch of time shows every cue then
    shown, a line each (the first's style), written once the cues that follow cannot change it."""

    MS = Fraction(1, 1000)

    def __init__(self, stop: Fraction | None) -> None:
        self.stop = stop
        self.shown: list[list] = []  # [end (None: until the next cue), the cue's ASS line], by start
        self.since = Fraction(0)  # where the stretch not yet written starts

    def add(
        self, start: Fraction, end: Fraction | None, lines: list[bytes], out: av.stream.Stream
    ) -> Iterator[tuple[Fraction, av.Packet]]:
        for cue in self.shown:
            if cue[0] is None:
                cue[0] = start  # a cue without an end lasts until the next one
        yield from self._until(start, out)
        self.since = start
        self.shown.extend([end, line] for line in lines)

    def flush(self, out: av.stream.Stream) -> Iterator[tuple[Fraction, av.Packet]]:
        last = self.stop if self.stop is not None else self.since + 5  # a last cue without an end: 5 s
        for cue in self.shown:
            if cue[0] is None:
                cue[0] = max(last, self.since + self.MS)
        yield from self._until(None, out)

    def _until(self, upto: Fraction | None, out: av.stream.Stream) -> Iterator[tuple[Fraction, av.Packet]]:
        """The stretches from ``since`` up to ``upto`` (None: until every cue has ended)."""
        while self.shown and (upto is None or self.since < upto):
            change = min(cue[0] for cue in self.shown)
            change = change if upto is None else min(change, upto)
            ticks = round((change - self.since) / self.MS)
            if ticks >= 1:
                line = self.shown[0][1]
                if len(self.shown) > 1:  # every line shown, in the first cue's style
                    head = line.split(b",", 8)[:8]
                    texts = [cue[1].split(b",", 8)[-1] for cue in self.shown]
                    line = b",".join([*head, b"\\N".join(texts)])
                written = _encoded(line, out)
                if written is not None:
                    written.time_base = self.MS
                    written.pts = written.dts = round(self.since / self.MS)
                    written.duration = ticks
                    yield self.since, written
            self.since = max(self.since, change)
            self.shown = [cue for cue in self.shown if cue[0] > self.since]


def _dialogue(pkt: av.Packet) -> list[bytes]:
    """The ASS lines ('ReadOrder,Layer,Style,Name,MarginL,MarginR,MarginV,Effect,Text') a text
    subtitle's packet says; none for an empty one, or one that does not decode."""
    try:
        said = pkt.stream.codec_context.decode2(pkt)
    except (av.error.FFmpegError, ValueError):
        return []
    return [rect.ass for rect in said or [] if getattr(rect, "ass", None)]


def _encoded(line: bytes, out: av.stream.Stream) -> av.Packet | None:
    try:
        return out.codec_context.encode_subtitle(av.subtitles.subtitle.SubtitleSet.create(line, 0, 0))
    except (av.error.FFmpegError, ValueError):
        return None


def _written_again(pkt: av.Packet, out: av.stream.Stream) -> av.Packet | None:
    """A text subtitle's packet decoded and encoded in ``out``'s codec; None for one that says
    nothing (an MP4's empty sample between two subtitles) or does not decode (a damaged one)."""
    try:
        said = pkt.stream.codec_context.decode2(pkt)
        if said is None or not len(said):
            return None
        return out.codec_context.encode_subtitle(said)
    except (av.error.FFmpegError, ValueError):
        return None
