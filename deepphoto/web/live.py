"""Live: the browser's own camera over WebRTC (aiortc), through a ``Pipeline`` of its own, and back.

One session per page: the page sends its camera as a video track and a data channel for controls;
the server answers with a track of processed frames. The newest frame wins: a reader keeps only the
latest decoded camera frame, the pipeline (on a thread of the session's own) takes whichever is
newest when it is free, so when the CPU is short frames are skipped and delay never builds up.

Glass-to-glass latency: the page appends ``stamp_rows`` rows to the bottom of each frame it sends,
holding the capture time as black and white blocks; the server paints the rows above and copies the
stamp rows through untouched, and the page reads them back from the frame it displays.

Data channel messages, page to server: ``{"type": "settings", ...}`` (style, effect, region,
strength, keep_exposure, threshold, smooth, feather, refine, mirror); server to page: ``{"type": "stats", ...}``
once a second and ``{"type": "error", "message": ...}``.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import av
import cv2
import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from av.video.reformatter import Colorspace

from deepphoto.errors import DeepPhotoError
from deepphoto.settings import Settings, shown, whole
from deepphoto.stream.video_colour import EXACT, yuv420_frame
from deepphoto.web.errors import WebError, json_value
from deepphoto.web.limits import Slots
from deepphoto.web.store import new_id

if TYPE_CHECKING:
    from deepphoto.pipeline import Pipeline

# what a page or script may change live (no paths)
LIVE_FIELDS = ("style", "effect", "region", "strength", "keep_exposure", "threshold", "smooth", "feather", "refine")


def look_changes(values: dict[str, Any]) -> dict[str, Any]:
    """The page's live settings as ``Pipeline.update`` changes (a style clears the effect and back)."""
    unknown = sorted(set(values) - set(LIVE_FIELDS) - {"mirror", "type"})
    if unknown:
        raise WebError(422, f"unknown live setting {unknown[0]!r}: use {', '.join(LIVE_FIELDS)}, mirror")
    changes = {k: values[k] for k in LIVE_FIELDS if k in values}
    if "style" in changes or "effect" in changes:
        for key in ("style", "effect"):  # '' (the page's "none") is none; false, 0 or [] is refused as such
            changes[key] = None if changes.get(key) in (None, "") else changes[key]
        if changes["effect"] == "replace":
            raise WebError(422, "live: 'replace' needs a background file; use it in the Photo tab or 'deepphoto run'")
    return changes


def mirror_of(value: object) -> bool:
    """The page's ``mirror``: true or false (or 1 / 0), as ``refine`` is; "no" is not a yes."""
    if not isinstance(value, bool) and value not in (0, 1):
        raise WebError(422, f"mirror {shown(value)}: must be true or false")
    return bool(value)


class Newest:
    """A one-item slot: ``put`` replaces what is there (counted as dropped), ``get`` waits."""

    def __init__(self) -> None:
        self.item: Any = None
        self.event = asyncio.Event()
        self.dropped = 0

    def put(self, item: object) -> None:
        if self.item is not None:
            self.dropped += 1
        self.item = item
        self.event.set()

    async def get(self) -> Any:
        while self.item is None:
            self.event.clear()
            await self.event.wait()
        item, self.item = self.item, None
        return item


def camera_bgr(frame: av.VideoFrame) -> np.ndarray:
    """A frame of the page's camera as BGR uint8, rounded (see ``video_colour.EXACT``): swscale's
    default truncates, and with ``sent_frame``'s the other way, the unpainted person the page showed
    came back 1.5-2.8 levels darker in each channel than the camera's own picture."""
    return frame.to_ndarray(format="bgr24", interpolation=EXACT)


def sent_frame(image: np.ndarray) -> av.VideoFrame:
    """``image`` (BGR uint8) as the YUV 4:2:0 frame the encoders send (BT.601, limited range: what
    browsers take WebRTC video to be), rounded as ``camera_bgr`` is; aiortc would convert it with
    swscale's truncating default."""
    return yuv420_frame(image, Colorspace.ITU601)


class ProcessedTrack(MediaStreamTrack):
    """The track sent back: the newest processed frame each time the encoder asks."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.slot = Newest()

    async def recv(self) -> av.VideoFrame:
        return await self.slot.get()


class LiveSession:
    def __init__(self, client: str, pipe: Pipeline | None, mirror: bool, stamp_rows: int) -> None:
        self.id, self.client = new_id(), client
        self.loop = asyncio.get_running_loop()  # made on the server's event loop
        self.pipe: Any = pipe  # None until ``answer`` (no network is opened for an offer refused)
        self.mirror, self.stamp_rows = mirror, stamp_rows
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # local: no STUN server to ask
        self.output = ProcessedTrack()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"deepphoto-live-{self.id[:6]}")
        self.pending: dict[str, Any] = {}
        self.pending_lock = threading.Lock()
        self.channel: Any = None
        self.tasks: list[asyncio.Task[None]] = []
        self.frames = 0
        self.times: deque[float] = deque(maxlen=60)
        self.process_ms: deque[float] = deque(maxlen=60)
        self.closed = False
        self.on_closed: Any = None

    # ------------------------------------------------------------------ frames

    def _process(self, frame: av.VideoFrame) -> np.ndarray:
        """On the session's thread: pending changes, then the pipeline (the stamp rows untouched)."""
        with self.pending_lock:
            changes, self.pending = self.pending, {}
        if changes:
            mirror = changes.pop("mirror", None)
            if mirror is not None:
                self.mirror = bool(mirror)
            if changes:
                try:
                    self.pipe.update(**changes)
                except DeepPhotoError as exc:
                    self.report({"type": "error", "message": str(exc)})
        t = time.perf_counter()
        image = camera_bgr(frame)
        rows = self.stamp_rows if image.shape[0] > self.stamp_rows + 16 else 0
        body = image[: image.shape[0] - rows]
        if self.mirror:
            body = cv2.flip(body, 1)
        out = self.pipe(body)
        if rows:
            out = np.vstack([out, image[-rows:]])
        self.process_ms.append((time.perf_counter() - t) * 1000)
        return out

    def _sent(self, frame: av.VideoFrame) -> av.VideoFrame:
        """On the session's thread: ``frame`` processed and converted as the encoder sends it (the
        rounded conversion costs 3 ms a 640x480 frame, 10 at 1280x720: on the event loop, which
        every session's packets and the Studio's requests share, it held them all up); a frame that
        fails passes through, and the page hears."""
        try:
            out = self._process(frame)
        except Exception as exc:
            self.report({"type": "error", "message": f"{type(exc).__name__}: {exc}"})
            out = camera_bgr(frame)
        return sent_frame(out)

    async def _read(self, track: MediaStreamTrack, newest: Newest) -> None:
        try:
            while True:
                newest.put(await track.recv())
        except MediaStreamError:
            pass

    async def _pump(self, track: MediaStreamTrack) -> None:
        loop = asyncio.get_running_loop()
        newest = Newest()
        self.newest = newest
        reader = asyncio.create_task(self._read(track, newest))
        try:
            while not self.closed:
                frame = await newest.get()
                video = await loop.run_in_executor(self.pool, self._sent, frame)
                video.pts, video.time_base = frame.pts, frame.time_base
                self.output.slot.put(video)
                self.frames += 1
                self.times.append(time.monotonic())
        finally:
            reader.cancel()

    async def _stats(self) -> None:
        while not self.closed:
            await asyncio.sleep(1.0)
            t = list(self.times)
            fps = (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 0.0
            ms = statistics.median(self.process_ms) if self.process_ms else 0.0
            dropped = getattr(getattr(self, "newest", None), "dropped", 0)
            self.send(
                {
                    "type": "stats",
                    "fps": round(fps, 1),
                    "process_ms": round(ms, 1),
                    "frames": self.frames,
                    "dropped": dropped,
                    "look": self.pipe.describe(),
                }
            )

    # ------------------------------------------------------------------ control

    def send(self, message: dict[str, Any]) -> None:
        channel = self.channel
        if channel is not None and channel.readyState == "open":
            channel.send(json.dumps(message))

    def report(self, message: dict[str, Any]) -> None:
        """``send`` from the session's thread."""
        self.loop.call_soon_threadsafe(self.send, message)

    def on_message(self, text: object) -> None:
        try:
            values = json_value(text) if isinstance(text, str) else None
            if not isinstance(values, dict) or values.get("type") != "settings":
                raise WebError(422, 'expected {"type": "settings", ...}')
            changes = look_changes(values)
            with self.pending_lock:
                merged = {**self.pending, **changes}
            look = {k: v for k, v in merged.items() if k != "mirror"}
            self.pipe.settings.changed(**look)  # a bad value: one line now
            if "mirror" in values:
                merged["mirror"] = mirror_of(values["mirror"])
            with self.pending_lock:
                self.pending = merged
        except (DeepPhotoError, ValueError) as exc:
            self.send({"type": "error", "message": str(exc)})
        except Exception as exc:  # a message must never end the session
            self.send({"type": "error", "message": f"{type(exc).__name__}: {exc}"})

    async def accept(self, sdp: str, kind: str) -> None:
        """Read the browser's offer (no network is needed for it): a one-line 422 when it cannot be
        read or has no camera track, before the caller opens any network for it."""
        pc = self.pc

        @pc.on("datachannel")
        def on_datachannel(channel: Any) -> None:
            self.channel = channel
            channel.on("message", self.on_message)
            channel.on("close", lambda: asyncio.ensure_future(self.close()))

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            if track.kind == "video" and not any(t.get_name() == "pump" for t in self.tasks):
                self.tasks.append(asyncio.create_task(self._pump(track), name="pump"))
                pc.addTrack(self.output)

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.close()

        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
        except Exception as exc:  # aiortc meets a malformed offer with anything (AttributeError, AssertionError...)
            why = str(exc) or type(exc).__name__
            raise WebError(422, f"live: the browser's offer could not be read ({why})") from None
        if not self.tasks:
            raise WebError(422, "live: the offer has no video track (is the camera allowed?)")

    async def answer(self, pipe: Pipeline) -> RTCSessionDescription:
        """The answer to an ``accept``ed offer, frames painted by ``pipe`` (the session's from now on)."""
        self.pipe = pipe
        try:
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        except Exception as exc:
            why = str(exc) or type(exc).__name__
            raise WebError(422, f"live: the browser's offer could not be read ({why})") from None
        self.tasks.append(asyncio.create_task(self._stats(), name="stats"))
        return self.pc.localDescription

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for task in self.tasks:
            task.cancel()
        self.output.stop()
        await self.pc.close()
        pool, pipe = self.pool, self.pipe

        def shut() -> None:
            pool.shutdown(wait=True)
            if pipe is not None:
                pipe.close()

        await asyncio.get_running_loop().run_in_executor(None, shut)
        if self.on_closed is not None:
            self.on_closed(self)


class LiveDesk:
    """The live sessions: at most ``limit`` at once (429 beyond), closed with their page."""

    def __init__(self, base: Settings, limit: int = 2) -> None:
        self.base = base
        self.slots = Slots(limit, "live sessions")
        self.sessions: dict[str, LiveSession] = {}

    async def offer(self, client: str, values: dict[str, Any]) -> dict[str, Any]:
        sdp, kind = values.get("sdp"), values.get("type")
        if not isinstance(sdp, str) or kind != "offer":
            raise WebError(422, 'live: expected {"sdp": ..., "type": "offer"}')
        settings = values.get("settings") or {}
        if not isinstance(settings, dict):
            raise WebError(422, "live: settings must be an object")
        changes = look_changes(settings)
        start = self.base.changed(**changes)  # one-line error for a bad value
        stamp_rows = whole("stamp rows", values.get("stamp_rows", 0), 0, 64)
        mirror = mirror_of(settings.get("mirror", False))
        from deepphoto.pipeline import Pipeline

        self.slots.acquire()
        session = None
        try:
            session = LiveSession(client, None, mirror, stamp_rows)
            session.on_closed = self._closed
            self.sessions[session.id] = session
            await session.accept(sdp, kind)  # a junk offer is refused here, before any network opens
            loop = asyncio.get_running_loop()
            pipe = await loop.run_in_executor(None, Pipeline, start)  # opening networks takes a moment
            if session.closed:  # the page went away meanwhile
                await loop.run_in_executor(None, pipe.close)
                raise WebError(410, "live: the session ended before it started")
            answer = await session.answer(pipe)
        except BaseException:
            if session is not None:
                await session.close()  # gives the slot back (and closes the pipe it holds)
            else:
                self.slots.release()
            raise
        return {"sdp": answer.sdp, "type": answer.type, "session": session.id}

    def _closed(self, session: LiveSession) -> None:
        if self.sessions.pop(session.id, None) is not None:
            self.slots.release()

    def get(self, client: str, session_id: str) -> LiveSession:
        session = self.sessions.get(session_id)
        if session is None or session.client != client:
            raise WebError(404, "live session not found (it ended)")
        return session

    async def close_session(self, client: str, session_id: str) -> None:
        await self.get(client, session_id).close()

    async def drop_client(self, client: str) -> None:
        for session in [s for s in self.sessions.values() if s.client == client]:
            await session.close()

    async def close(self) -> None:
        for session in list(self.sessions.values()):
            await session.close()
