"""Interlaced video (a camcorder's 1080i, a TV recording, DV) deinterlaced as players show it."""

from __future__ import annotations

import av


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
