"""Hunt 35 (rlive2): hunt 35's live strength controls used as a demanding user uses them: the
Camera tab's Strength slider moved quickly on a slow run, the window's strength keys on every
keyboard."""

from __future__ import annotations

import threading
import time

import numpy as np

from deepphoto.pipeline import Pipeline
from deepphoto.settings import Settings

SMALL = dict(backend="onnx", precision="fp32", style_scale=0.5, threads=1)


def test_the_camera_tabs_strength_moves_reach_the_run_in_the_order_made():
    """A 1280x720 run steered by the Camera tab: each change waits for the frame in hand, and two
    changes on their way at once were applied in either order (the run takes each on a thread of
    its own), so the slider moved 19, 63, 59, 74, 45, 28 left the run at 45% with the slider at 28.
    Now a change made while one is on its way goes after it: the run ends where the slider is."""
    from studio_page import background_studio, chromium, studio_page

    from deepphoto.web.control import ControlServer

    with (
        Pipeline(Settings(style="wave", **SMALL)) as pipe,
        ControlServer("127.0.0.1:0", pipe) as control,
    ):
        real = pipe.update
        first = threading.Event()

        def slow_first(**changes: object) -> Settings:
            """The first move's change held up (as behind a slow frame), the next coming first."""
            if changes.get("strength") == 0.3 and not first.is_set():
                first.set()
                time.sleep(2.0)
            return real(**changes)

        pipe.update = slow_first  # type: ignore[method-assign]
        camera = f"127.0.0.1:{control.httpd.server_address[1]}"
        with (
            chromium() as browser,
            background_studio(settings=Settings(**SMALL), camera=camera) as server,
            studio_page(browser, server.url) as page,
        ):
            page.click("#tab-camera")
            page.wait_for_function("document.getElementById('camera-status').textContent.includes('wave on the')")
            page.locator("#camera-strength").fill("30")
            assert first.wait(60)  # on its way, held up
            page.locator("#camera-strength").fill("80")
            deadline = time.monotonic() + 60
            while not (pipe.settings.strength == 0.8 and page.input_value("#camera-strength") == "80"):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            time.sleep(3.0)  # a poll or two: the slider stays where the user left it, the run with it
            assert (pipe.settings.strength, page.input_value("#camera-strength")) == (0.8, "80")
            assert page.is_hidden("#error")


def test_the_windows_number_pad_plus_and_minus_move_the_strength(capsys):
    """'deepphoto run CAMERA display:// --style wave': README names '-' and '+' as strength keys, but
    those of the number pad did nothing in OpenCV's GTK window (Debian's and Ubuntu's python3-opencv),
    which gives their GDK key values, KP_Add 0xffab and KP_Subtract 0xffad, of which cv2.waitKey
    keeps the low byte (0xab, 0xad). Now they move it as the main keyboard's do."""
    from deepphoto.stream.loop import handle_key

    frame = np.zeros((120, 160, 3), np.uint8)
    with Pipeline(Settings(style="wave", region="whole", strength=0.5, **SMALL), cycle_looks=True) as pipe:
        p = pipe.processor
        assert not handle_key(0xFFAB & 0xFF, p, frame)  # as cv2.waitKey gives the number pad's '+'
        assert pipe.settings.strength == 0.6
        assert capsys.readouterr().err.splitlines()[-1] == "strength: 60%"
        handle_key(0xFFAD & 0xFF, p, frame)  # its '-'
        handle_key(0x10FFAD, p, frame)  # with Num Lock's state, as OPENCV_LEGACY_WAITKEY=1 gives it
        assert pipe.settings.strength == 0.4


DRAG = """() => new Promise((done) => {
  // the Strength slider dragged for 4 s (a move every 40 ms, 50% to 89%, ending at 69%), its shown value recorded
  const slider = document.getElementById("camera-strength"), out = document.getElementById("camera-strength-out");
  const shown = [];
  const watch = { childList: true, characterData: true, subtree: true };
  new MutationObserver(() => shown.push(out.textContent)).observe(out, watch);
  let i = 0;
  const timer = setInterval(() => {
    slider.value = String(50 + (i % 40));
    slider.dispatchEvent(new Event("input", { bubbles: true }));
    if (++i === 100) { clearInterval(timer); setTimeout(() => done(shown), 50); }
  }, 40);
})"""


def test_a_change_made_elsewhere_while_the_strength_slider_is_dragged_leaves_it_under_the_finger():
    """The Camera tab beside a window run: while the user dragged its Strength slider, the window's
    'r' key (or another page, a script) changed the region; the tab's next poll set every control
    to the run's settings, the slider too, which jumped back to the run's 100% under the finger
    (and, were the finger still then, 100% was what the tab sent). Now the region follows and the
    slider stays where the user has it; the run ends at the user's strength on the person."""
    from studio_page import background_studio, chromium, studio_page

    from deepphoto.stream.loop import handle_key
    from deepphoto.web.control import ControlServer

    frame = np.zeros((120, 160, 3), np.uint8)
    with (
        Pipeline(Settings(style="wave", **SMALL), cycle_looks=True) as pipe,
        ControlServer("127.0.0.1:0", pipe) as control,
    ):
        camera = f"127.0.0.1:{control.httpd.server_address[1]}"
        with (
            chromium() as browser,
            background_studio(settings=Settings(**SMALL), camera=camera) as server,
            studio_page(browser, server.url) as page,
        ):
            page.click("#tab-camera")
            page.wait_for_function("document.getElementById('camera-status').textContent.includes('wave on the')")
            assert page.input_value("#camera-strength") == "100"
            # the window's 'r' (the person) pressed 1 s into the drag
            key = threading.Timer(1.0, handle_key, (ord("r"), pipe.processor, frame))
            key.start()
            shown = page.evaluate(DRAG)
            key.join()
            assert pipe.processor.region == "person"
            assert "100%" not in shown, shown  # the slider never back at the run's strength
            page.wait_for_function('document.querySelector(\'input[name="camera-region"][value="person"]\').checked')
            deadline = time.monotonic() + 60
            while pipe.settings.strength != 0.69 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert (pipe.settings.strength, pipe.processor.region) == (0.69, "person")
            assert page.input_value("#camera-strength") == "69" and page.is_hidden("#error")
