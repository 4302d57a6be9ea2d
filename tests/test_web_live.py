"""The live session's scheduling: the newest camera frame wins, so when processing is slower than
the camera the delay stays at about one frame's processing instead of growing without end."""

from __future__ import annotations

import asyncio
import time
from fractions import Fraction

import numpy as np
import pytest

pytest.importorskip("aiortc", reason="needs the web extra: pip install -e '.[web]'")

import av  # noqa: E402
from aiortc import MediaStreamTrack  # noqa: E402

from deepphoto.settings import Settings  # noqa: E402
from deepphoto.stream.video_colour import EXACT  # noqa: E402
from deepphoto.web.errors import WebError  # noqa: E402
from deepphoto.web.live import LiveSession, Newest, look_changes  # noqa: E402


class Camera(MediaStreamTrack):
    """30 frames a second; remembers when each was made."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.made: dict[int, float] = {}
        self.count = 0

    async def recv(self) -> av.VideoFrame:
        await asyncio.sleep(1 / 30)
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), self.count % 255, np.uint8), format="bgr24")
        frame.pts, frame.time_base = self.count, Fraction(1, 30)
        self.made[self.count] = time.monotonic()
        self.count += 1
        return frame


class SlowPipeline:
    """Takes 100 ms a frame (a CPU that cannot keep up with 30 fps); otherwise a pipeline's face."""

    settings = Settings()

    def __call__(self, image: np.ndarray) -> np.ndarray:
        time.sleep(0.1)
        return 255 - image

    def update(self, **changes: object) -> Settings:
        self.settings = self.settings.changed(**changes)
        return self.settings

    def describe(self) -> str:
        return "slow"

    def close(self) -> None:
        pass


def test_newest_frame_wins_and_delay_does_not_build_up():
    async def main() -> tuple[list[float], int, int]:
        camera = Camera()
        session = LiveSession("page", SlowPipeline(), mirror=False, stamp_rows=0)
        pump = asyncio.create_task(session._pump(camera))
        delays = []
        try:
            for _ in range(30):  # about 3 s
                out = await asyncio.wait_for(session.output.recv(), 10)
                delays.append(time.monotonic() - camera.made[out.pts])
                shown = out.to_ndarray(format="bgr24", interpolation=EXACT)  # sent as YUV (limited range): +-1
                assert abs(int(shown[0, 0, 0]) - (255 - out.pts % 255)) <= 1  # processed
        finally:
            pump.cancel()
            await session.close()
        return delays, session.newest.dropped, camera.count

    delays, dropped, made = asyncio.run(main())
    assert made > 60 and dropped > made // 3  # most camera frames were skipped, not queued
    assert np.median(delays[10:]) < 0.4, delays  # a queue would be at about 2 s by now


def test_newest_slot_keeps_only_the_latest():
    async def main() -> tuple[object, int]:
        slot = Newest()
        for item in ("a", "b", "c"):
            slot.put(item)
        return await slot.get(), slot.dropped

    assert asyncio.run(main()) == ("c", 2)


def test_live_settings_take_no_paths():
    assert look_changes({"style": "wave", "region": "person"}) == {"style": "wave", "effect": None, "region": "person"}
    for bad in ({"background": "/etc/passwd"}, {"effect": "replace"}, {"seg_input": "64x64"}):
        with pytest.raises(WebError):
            look_changes(bad)
