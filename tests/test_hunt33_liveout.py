"""Hunt 33 (liveout): what someone using DeepPhoto live for hours (a painted background in video
calls: a webcam into a virtual camera, a window, or the Studio's live page) hits: the camera's
modes, a camera that goes away, controls changed mid-stream, memory and delay over a long session."""

from __future__ import annotations

import subprocess
import types

import cv2
import numpy as np
import pytest

from deepphoto.stream import sources

YUYV, MJPG = cv2.VideoWriter.fourcc(*"YUYV"), cv2.VideoWriter.fourcc(*"MJPG")


class V4L2Camera:
    """cv2.VideoCapture(N, CAP_V4L2) of a USB webcam, as OpenCV drives it: ``modes`` maps each pixel
    format the camera offers to its sizes and their highest frame rates. OpenCV takes YUYV before
    MJPEG; a size or format set is the nearest the camera offers in that format; and a format
    changed asks the camera again for the rate OpenCV got last (not the one asked)."""

    modes: dict[int, dict[tuple[int, int], float]] = {}

    def __init__(self, target: object, api: int) -> None:
        self.asked_size, self.asked_fps = (640, 480), 30.0
        self.fourcc = YUYV if YUYV in self.modes else next(iter(self.modes))
        self._apply()

    def _apply(self) -> None:
        sizes = self.modes[self.fourcc]
        w, h = self.asked_size
        self.size = min(sizes, key=lambda s: abs(s[0] - w) + abs(s[1] - h))
        self.fps = min(self.asked_fps, sizes[self.size])

    def isOpened(self) -> bool:  # noqa: N802 (OpenCV's name)
        return True

    def set(self, prop: int, value: float) -> bool:
        if prop == cv2.CAP_PROP_FRAME_WIDTH:
            self.asked_size = (int(value), self.asked_size[1])
        elif prop == cv2.CAP_PROP_FRAME_HEIGHT:
            self.asked_size = (self.asked_size[0], int(value))
        elif prop == cv2.CAP_PROP_FPS:
            self.asked_fps = float(value)
        elif prop == cv2.CAP_PROP_FOURCC:
            if int(value) in self.modes:
                self.fourcc = int(value)
            self.asked_fps = self.fps  # OpenCV keeps the rate it got and asks it again
        self._apply()
        return True

    def get(self, prop: int) -> float:
        return {
            cv2.CAP_PROP_FRAME_WIDTH: self.size[0],
            cv2.CAP_PROP_FRAME_HEIGHT: self.size[1],
            cv2.CAP_PROP_FPS: self.fps,
            cv2.CAP_PROP_FOURCC: self.fourcc,
        }.get(prop, 0.0)

    def read(self) -> tuple[bool, np.ndarray]:
        return True, np.zeros((self.size[1], self.size[0], 3), np.uint8)

    def release(self) -> None:
        pass


def camera(monkeypatch, modes: dict[int, dict[tuple[int, int], float]]) -> type[V4L2Camera]:
    monkeypatch.setattr(V4L2Camera, "modes", modes)
    monkeypatch.setattr(sources.cv2, "VideoCapture", V4L2Camera)
    monkeypatch.setattr(sources.Path, "exists", lambda self: True)  # /dev/video0
    return V4L2Camera


# a typical 1080p USB 2.0 webcam: uncompressed, what the bus carries; MJPEG, 30 fps at every size
WEBCAM = {
    YUYV: {(640, 480): 30, (1280, 720): 10, (1920, 1080): 5},
    MJPG: {(640, 480): 30, (1280, 720): 30, (1920, 1080): 30},
}


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_a_webcam_asked_for_hd_gives_its_30_fps_not_yuyvs_10(monkeypatch, size) -> None:
    """'run /dev/video0 vcam:// --size 1280x720': OpenCV took the camera's YUYV, 10 fps at 1280x720 (5
    at 1920x1080) over USB 2.0, so the call got 10 frames a second though the camera gives 30 in
    MJPEG (checked with a fake V4L2 device under OpenCV 5's own V4L2 code: 9.7 fps, now 28.6)."""
    camera(monkeypatch, WEBCAM)
    source = sources.open_source("/dev/video0", size=size)
    assert source.fps == 30
    frame = next(iter(source))
    assert frame.image.shape[:2] == (size[1], size[0])
    assert source.cap.fourcc == MJPG


def test_a_rate_asked_for_is_what_decides(monkeypatch) -> None:
    camera(monkeypatch, WEBCAM)
    assert sources.open_source("/dev/video0", size=(1280, 720), fps=10).cap.fourcc == YUYV  # YUYV gives it
    assert sources.open_source("/dev/video0", size=(1280, 720), fps=25).cap.fourcc == MJPG


def test_uncompressed_is_kept_where_it_is_fast_enough_or_all_there_is(monkeypatch) -> None:
    """640x480 comes at 30 fps in YUYV: no JPEG to decode, no compression in the picture; a camera
    without MJPEG stays as it was; MJPEG that does not give the size asked is not taken."""
    camera(monkeypatch, WEBCAM)
    assert sources.open_source("/dev/video0").cap.fourcc == YUYV
    assert sources.open_source("/dev/video0", size=(640, 480)).cap.fourcc == YUYV
    camera(monkeypatch, {YUYV: WEBCAM[YUYV]})
    source = sources.open_source("/dev/video0", size=(1280, 720))
    assert (source.cap.fourcc, source.cap.size, source.fps) == (YUYV, (1280, 720), 10)
    camera(monkeypatch, {YUYV: WEBCAM[YUYV], MJPG: {(640, 480): 30}})
    source = sources.open_source("/dev/video0", size=(1280, 720))
    assert (source.cap.fourcc, source.cap.size, source.fps) == (YUYV, (1280, 720), 10)


def test_a_size_offered_in_mjpeg_only_is_the_size_given(monkeypatch) -> None:
    """A camera whose 1920x1080 is MJPEG only: YUYV gave its nearest, 1280x720."""
    camera(monkeypatch, {YUYV: {(640, 480): 30, (1280, 720): 10}, MJPG: {(1280, 720): 30, (1920, 1080): 30}})
    source = sources.open_source("/dev/video0", size=(1920, 1080))
    assert (source.cap.fourcc, source.cap.size, source.fps) == (MJPG, (1920, 1080), 30)


# --------------------------------------------------------------------------- a camera's stable name


def test_a_camera_named_by_its_stable_link_is_opened_and_found_again_under_a_new_number(monkeypatch, tmp_path) -> None:
    """'run /dev/v4l/by-id/usb-..-video-index0 vcam://' (udev's name for one camera, whatever number
    it got: two cameras, or one plugged in again while the old number was held) was refused, 'is not a
    regular file (a pipe or a device); give a file'. It is that camera, looked up again at each
    reconnection: plugged back as /dev/video2, the run found it there (checked with a fake device)."""
    from deepphoto.commands.run import fps_applies
    from deepphoto.stream.v4l2_names import linked_v4l2

    opened = []

    class Recorded(V4L2Camera):
        def __init__(self, target: object, api: int) -> None:
            opened.append(target)
            super().__init__(target, api)

    camera(monkeypatch, WEBCAM)
    monkeypatch.setattr(sources.cv2, "VideoCapture", Recorded)
    link = tmp_path / "usb-046d_HD_Pro_Webcam_C920_8F3A1B2C-video-index0"
    link.symlink_to("/dev/video4")
    monkeypatch.setattr(sources.Path, "is_char_device", lambda self: str(self.resolve()).startswith("/dev/video"))
    sources.check_source_path(str(link))  # refused before
    assert linked_v4l2(str(link)) == "/dev/video4" and fps_applies(str(link))
    assert isinstance(sources.open_source(str(link), size=(1280, 720)), sources.Capture)
    link.unlink()
    link.symlink_to("/dev/video6")  # plugged in again: another number
    sources.open_source(str(link))
    assert opened == [4, 6]


def test_a_stable_name_whose_camera_is_unplugged_says_so(tmp_path) -> None:
    from deepphoto.errors import DeepPhotoError
    from deepphoto.stream.v4l2_names import linked_v4l2

    name = "/dev/v4l/by-id/usb-Nothing_Here_0000-video-index0"
    sources.check_source_path(name)  # a camera's: told when it opens (and retried when it drops)
    with pytest.raises(DeepPhotoError, match=r"^/dev/v4l/by-id/usb-Nothing_Here_0000-video-index0: camera not found"):
        sources.open_source(name)
    other = tmp_path / "null"
    other.symlink_to("/dev/null")  # a device, but no camera
    assert linked_v4l2(str(other)) is None and linked_v4l2("clip.mp4") is None


# --------------------------------------------------------------------------- the Studio's Camera tab


class ChildRun:
    """subprocess.Popen of 'deepphoto run ... --control PORT': runs until it is sent SIGINT."""

    started: list[ChildRun] = []

    def __init__(self, cmd: list[str], **kwargs: object) -> None:
        self.cmd, self.signals, self.code = cmd, [], None
        self.stdout = iter(())
        ChildRun.started.append(self)

    def poll(self) -> int | None:
        return self.code

    def send_signal(self, sig: int) -> None:
        self.signals.append(sig)
        self.code = 130

    def wait(self, timeout: float | None = None) -> int | None:
        return self.code


@pytest.mark.parametrize("output,stops", [("null://", True), ("vcam://", False)])
def test_a_preview_only_camera_run_goes_with_the_page_that_started_it(monkeypatch, output, stops) -> None:
    """The Camera tab's 'none: preview only' run went on after its page was closed (checked with a
    real run: 79 frames made in the 5 s after the page said goodbye, and on until the studio
    stopped), nobody seeing it, both cores busy and the webcam held: the video call the user went to
    next could not open it. It stops with its page now; a run into the virtual camera goes on (the
    call uses it), as does a preview run when another page leaves."""
    pytest.importorskip("fastapi", reason="needs the web extra: pip install -e '.[web]'")
    import time

    from fastapi.testclient import TestClient

    from deepphoto.web import camera as camera_module
    from deepphoto.web.app import StudioConfig, create_app

    fake = types.SimpleNamespace(
        Popen=ChildRun, TimeoutExpired=subprocess.TimeoutExpired, PIPE=-1, STDOUT=-2, DEVNULL=-3
    )
    monkeypatch.setattr(camera_module, "subprocess", fake)  # this module's children only
    monkeypatch.setattr(camera_module, "camera_sources", lambda: {"/dev/video0": "camera", "synthetic://": "test"})
    monkeypatch.setattr(camera_module, "OUTPUTS", {"vcam://": "virtual camera", "null://": "preview only"})
    ChildRun.started = []
    with TestClient(create_app(StudioConfig(warm=False)), base_url="http://127.0.0.1") as c:

        def page() -> str:
            return c.post("/api/hello", headers={"X-DeepPhoto-Client": "new"}).json()["client"]

        starter, other = page(), page()
        body = {"source": "/dev/video0", "output": output, "look": {}}
        assert c.post("/api/camera/start", json=body, headers={"X-DeepPhoto-Client": starter}).status_code == 200
        run = ChildRun.started[-1]
        c.post(f"/api/bye?client={other}")  # another page leaving changes nothing
        c.post(f"/api/bye?client={starter}")
        deadline = time.monotonic() + 10
        while stops and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (run.poll() is not None) == stops
        assert bool(run.signals) == stops
