"""Chunk files joined into one video without re-encoding, with the source's audio copied in.

The H.264 packets of every chunk are copied in order, each chunk's timestamps moved back to where
its frames sit in the source (so the joined timeline is the source's, continuous); the source's
first audio stream is then copied beside them as ``run`` does. Everything is written under a
temporary name and renamed over the output only when complete.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av

from deepphoto.errors import DeepPhotoError, warn
from deepphoto.stream.output_safety import move_into_place, temporary_name
from deepphoto.stream.video_container import container_format, muxer_options, video_span
from deepphoto.stream.video_sound import audio_failure, output_disk_failed, remux_with_audio


def _in_stream_units(shift: int, source_tb: Fraction | None, stream_tb: Fraction) -> int:
    if not shift:
        return 0
    if source_tb is None:
        raise DeepPhotoError("a cut video needs timestamps")
    return round(Fraction(shift) * Fraction(source_tb) / Fraction(stream_tb))


def fill_dts(packets: list[av.Packet]) -> None:
    """Decoding timestamps for packets in decoding order that lack them (Matroska stores none): the
    presentation times in order, moved back by the deepest reordering, so each is at most its
    packet's PTS and they rise strictly (the muxer must see them rise across a cut)."""
    pts = [p.pts for p in packets]
    if any(t is None for t in pts):
        return
    ordered = sorted(pts)
    delay = max(0, max(s - t for s, t in zip(ordered, pts)))
    for packet, t in zip(packets, ordered):
        packet.dts = t - delay


def join_chunks(chunks: list[Path], shifts: list[int], source_tb: Fraction | None, out: Path) -> int:
    """Copy the video packets of ``chunks`` into ``out`` (its container from the suffix), moving
    chunk ``i``'s timestamps by ``shifts[i]`` (source time base); returns the packets written."""
    fmt = container_format(out)
    written = 0
    with av.open(str(out), "w", format=fmt, options=muxer_options(fmt)) as dst:
        vout = None
        extradata = None
        last_dts: int | None = None
        for path, shift in zip(chunks, shifts, strict=True):
            with av.open(str(path)) as src:
                vsrc = src.streams.video[0]
                if vout is None:
                    # the frame rate too: Matroska writes it in the track header (players saw 1000 fps)
                    rate = {"rate": vsrc.average_rate} if vsrc.average_rate else {}
                    vout = dst.add_stream_from_template(vsrc, **rate)
                    vout.disposition = av.stream.Disposition.default  # what a player picks (Matroska)
                    extradata = vsrc.codec_context.extradata
                elif vsrc.codec_context.extradata != extradata:
                    raise DeepPhotoError(f"{path.name}: encoded with other parameters than the first chunk")
                move = _in_stream_units(shift, source_tb, vsrc.time_base)
                packets = [p for p in src.demux(vsrc) if p.size]  # not the demuxer's empty flush packet
                if any(p.dts is None for p in packets):
                    fill_dts(packets)
                for packet in packets:
                    if packet.pts is not None:
                        packet.pts += move
                    if packet.dts is not None:
                        packet.dts += move
                        if last_dts is not None and packet.dts <= last_dts:  # never backwards across a cut
                            packet.dts = last_dts + 1
                            if packet.pts is not None and packet.pts < packet.dts:
                                raise DeepPhotoError(f"{path.name}: timestamps overlap the previous chunk")
                        last_dts = packet.dts
                    packet.stream = vout
                    dst.mux(packet)
                    written += 1
    return written


def finish_video(
    chunks: list[Path], shifts: list[int], source_tb: Fraction | None, audio_from: Path | None, output: Path
) -> str:
    """The final output from its chunks (and the source's audio), renamed into place when complete.
    Returns a note ('' or why the audio was not copied)."""
    fmt = container_format(output)
    note = ""
    joined = temporary_name(output)
    muxed = temporary_name(output)
    # A source whose clock starts late (a camcorder's .MTS at 10 hours): the output starts at 0, as
    # `run`'s does, its sound moved with it (the chunks keep the source's timeline, to be joined).
    first = video_span(chunks[0])[0]  # in the chunk's own time; the join moves it by shifts[0]
    start = None if first is None or not source_tb else first + Fraction(shifts[0]) * source_tb
    origin = round(start / source_tb) if start and start > 0 else 0  # in the source's time base
    try:
        if len(chunks) == 1 and not shifts[0] and not origin:
            joined = chunks[0]  # one chunk, the source's timing: it is the video already
        else:
            join_chunks(chunks, [shift - origin for shift in shifts], source_tb, joined)
        final = joined
        if audio_from is not None:
            try:
                video_from = Fraction(origin) * source_tb if origin and source_tb else None
                note = remux_with_audio(joined, audio_from, muxed, fmt, video_from)
                final = muxed
            except (av.error.FFmpegError, ValueError) as exc:
                if output_disk_failed(exc, audio_from):  # the disk, not the sound: nothing is published
                    raise
                note = audio_failure(exc, audio_from, output)
                warn(note, output)
        move_into_place(final, output)
    finally:
        for leftover in (joined, muxed):
            if leftover != output and leftover not in chunks:  # a chunk is the caller's (kept for a resume)
                leftover.unlink(missing_ok=True)
    return note
