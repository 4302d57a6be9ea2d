"""Review of hunt 31's library and frame-processor changes (31b): a pipeline closed by another thread
while it ran a camera (the way to stop a live ``run`` from a UI thread) went on for ever, each frame
passed through unpainted with 'RuntimeError: cannot schedule new futures after shutdown'."""

from __future__ import annotations

import threading

import numpy as np

from deepphoto import Pipeline, Settings

FAST = {"backend": "onnx", "precision": "fp32"}


def test_a_run_closed_from_another_thread_ends_as_a_stop(capsys):
    pipe = Pipeline(Settings(effect="grey", **FAST))
    seen: list[int] = []
    closer: list[threading.Thread] = []

    def observe(image: np.ndarray, frame: object) -> None:
        seen.append(image.shape[0])
        if len(seen) == 3:  # a UI thread's stop button
            closer.append(threading.Thread(target=pipe.close))
            closer[0].start()
            closer[0].join(20)

    # a live source: it never ends of itself (max_frames only a backstop for the old behaviour)
    summary = pipe.run(
        "synthetic://", "null://", progress=False, size=(32, 24), fps=200, max_frames=300, observe=observe
    )
    assert closer and not closer[0].is_alive()
    assert summary.interrupted and summary.failed == 0
    assert summary.frames_out < 300
    assert "cannot schedule" not in capsys.readouterr().err


def test_the_studio_live_frame_is_converted_off_the_event_loop(monkeypatch):
    """The live camera's rounded conversion to the YUV the encoder sends (10 ms a 1280x720 frame)
    ran on the server's event loop, which every session's packets and the Studio's requests share;
    it is done on the session's own thread, with the frame's processing."""
    import asyncio
    from fractions import Fraction

    import av
    from aiortc import MediaStreamTrack

    import deepphoto.web.live as live

    converted_on: list[str] = []
    sent = live.sent_frame

    def recording_sent(image: np.ndarray) -> av.VideoFrame:
        converted_on.append(threading.current_thread().name)
        return sent(image)

    monkeypatch.setattr(live, "sent_frame", recording_sent)

    class Camera(MediaStreamTrack):
        kind = "video"

        async def recv(self) -> av.VideoFrame:
            await asyncio.sleep(0.01)
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 100, np.uint8), format="bgr24")
            frame.pts, frame.time_base = 0, Fraction(1, 30)
            return frame

    class Failing:  # a pipeline's face whose frames fail: passed through, converted all the same
        settings = Settings()

        def __call__(self, image: np.ndarray) -> np.ndarray:
            raise RuntimeError("a frame that fails")

        def describe(self) -> str:
            return "failing"

        def close(self) -> None:
            pass

    async def main() -> av.VideoFrame:
        session = live.LiveSession("page", Failing(), mirror=False, stamp_rows=0)
        pump = asyncio.create_task(session._pump(Camera()))
        try:
            return await asyncio.wait_for(session.output.recv(), 30)
        finally:
            pump.cancel()
            await session.close()

    back = asyncio.run(main())
    assert back.format.name == "yuv420p" and (back.width, back.height) == (64, 48)
    assert converted_on and all(name.startswith("deepphoto-live-") for name in converted_on), converted_on
