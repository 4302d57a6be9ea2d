"""Hunt 35 (rlive): the style strength tuned live (hunt 34's ``--strength`` through a run's control
channel, the Studio's Live and Camera tabs and the ``display://`` window), as a demanding user
would expect it: strength 0 is the camera's own picture, with no painting run; the window has keys
for it; the control channel takes what JSON gives it."""

from __future__ import annotations

import time

import numpy as np
import pytest
from steered_runs import answering, steered_run, stopped
from test_hunt34_livestrength import SMALL, noisy_still, portrait

from deepphoto.pipeline import Pipeline
from deepphoto.settings import Settings
from deepphoto.stylizer import Stylizer


@pytest.fixture
def network_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A list that grows by one each time a style network paints a frame."""
    calls: list[int] = []
    real = Stylizer.__call__

    def counted(self: Stylizer, *args: object, **kwargs: object) -> np.ndarray:
        calls.append(1)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Stylizer, "__call__", counted)
    return calls


# ------------------------------------------------------------------ strength 0


@pytest.mark.parametrize("region", ["whole", "background"])
def test_strength_0_is_the_cameras_own_picture_and_no_painting_is_run(region, network_calls):
    """``deepphoto run CAMERA ... --style wave --strength 0`` (or a live change to 0): the output was
    1-2 grey levels off the camera's picture on average and up to 13 on a pixel (the frame's noise
    held over still pixels as a painting is), and the network painted every frame for nothing. Now
    each frame comes out as it came in, nothing painted; raised live, the next frames are painted
    (same network), and back at 0 they are the frames again."""
    frames = noisy_still(portrait(), 18)
    with Pipeline(Settings(style="wave", strength=0, region=region, **SMALL)) as pipe:
        painter = pipe.stylizer
        for f in frames[:6]:
            assert np.array_equal(pipe(f), f)
        assert network_calls == []  # nothing painted
        pipe.update(strength=0.7)
        changed = [float(np.abs(pipe(f).astype(int) - f).mean()) for f in frames[6:12]]
        assert min(changed) > 5.0, changed  # painted again, at once
        assert len(network_calls) == 6 and pipe.stylizer is painter  # the same network
        pipe.update(strength=0)
        for f in frames[12:]:
            assert np.array_equal(pipe(f), f)
        assert len(network_calls) == 6


# ------------------------------------------------------------------ the window's keys


def test_the_windows_strength_keys_step_it_by_10_percent_live(capsys, network_calls):
    """``deepphoto run CAMERA display:// --style wave``: the window had keys for the look ('s') and
    the region ('r') but none for the strength; now '[' and ']' (or '-' and '+') move it by 10%,
    said as the other keys are, stopping at 0 and 100%, with the look and region the keys chose
    kept, the same network painting, and at 0 the picture itself. Driven as the window does
    (``stream.loop.handle_key`` between frames), without a display."""
    from deepphoto.stream.loop import handle_key
    from deepphoto.stream.sinks import DisplaySink

    assert "[ ]: strength" in DisplaySink.title  # the window's title lists the keys
    frame = portrait((160, 120))
    with Pipeline(Settings(style="wave", region="whole", **SMALL), cycle_looks=True) as pipe:  # as 'run' makes it
        p, painter = pipe.processor, pipe.stylizer
        full = pipe(frame).astype(int)
        handle_key(ord("s"), p, full)
        look = p.look.name
        assert not handle_key(ord("["), p, full) and pipe.settings.strength == 0.9
        assert capsys.readouterr().err.splitlines()[-1] == "strength: 90%"
        for _ in range(3):
            handle_key(ord("-"), p, full)
        assert pipe.settings.strength == 0.6  # on whole percents (0.9 - 0.3 is 0.6000000000000001)
        assert p.look.name == look and p.region == "whole" and pipe.stylizer is painter
        for _ in range(8):
            handle_key(ord("["), p, full)
        assert pipe.settings.strength == 0.0 and capsys.readouterr().err.splitlines()[-1] == "strength: 0%"
        calls = len(network_calls)
        assert np.array_equal(pipe(frame), frame) and len(network_calls) == calls  # nothing painted
        handle_key(ord("]"), p, full)
        handle_key(ord("="), p, full)  # '+' without shift
        handle_key(ord("+"), p, full)
        assert pipe.settings.strength == 0.3 and p.look.name == look
        assert float(np.abs(pipe(frame).astype(int) - frame).mean()) > 3.0 and len(network_calls) > calls
        for _ in range(9):
            handle_key(ord("]"), p, full)
        assert pipe.settings.strength == 1.0 and capsys.readouterr().err.splitlines()[-1] == "strength: 100%"

    # a FrameProcessor made by hand (its looks whole: no strength to move) takes the keys as nothing
    from deepphoto.stream.effects import make_effect
    from deepphoto.stream.processor import FrameProcessor, Look

    bare = FrameProcessor(None, [Look("grey", make_effect("grey"))], region="whole")
    assert not handle_key(ord("]"), bare, frame) and not handle_key(ord("["), bare, frame)


# ------------------------------------------------------------------ the Camera tab, a run restarted


def test_the_camera_tab_shows_a_steered_run_started_again_as_it_now_runs(tmp_path):
    """``deepphoto serve --camera PORT`` beside ``deepphoto run ... --style wave --strength 0.3
    --control PORT``: the Camera tab shows wave at 30%. The user looks at the Photo tab meanwhile
    (the Camera tab asks nothing while hidden), and the run is started again in its terminal as
    ``--style scream --strength 0.8``. Back on the Camera tab, the controls still showed wave at
    30%, and changing the region turned the new run into wave at 30%; now they show the new run's
    scream at 80%, and a region change changes its region only."""
    from studio_page import background_studio, chromium, studio_page

    from deepphoto.web.camera import ControlLink, free_port

    port = free_port()
    link = ControlLink("127.0.0.1", port)
    run = steered_run(port, "--style", "wave", "--strength", "0.3")
    try:
        answering(link)
        with (
            chromium() as browser,
            background_studio(settings=Settings(**SMALL), camera=f"127.0.0.1:{port}") as server,
            studio_page(browser, server.url) as page,
        ):
            page.click("#tab-camera")
            page.wait_for_function("document.getElementById('camera-status').textContent.includes('fps')")
            assert page.inner_text("#camera-strength-out") == "30%"
            page.click("#tab-photo")
            stopped(run)
            run = steered_run(port, "--style", "scream", "--strength", "0.8")
            first = answering(link)
            assert first["settings"]["style"] == "scream"
            page.click("#tab-camera")
            page.wait_for_function(
                "document.getElementById('camera-status').textContent.includes('scream on the background')"
            )
            assert page.inner_text("#camera-strength-out") == "80%"
            assert page.input_value("#camera-look") == "style:scream"
            page.check('input[name="camera-region"][value="whole"]', force=True)
            deadline = time.monotonic() + 60
            while link.status()["settings"]["region"] != "whole" and time.monotonic() < deadline:
                time.sleep(0.2)
            settings = link.status()["settings"]
            assert settings["region"] == "whole"
            assert settings["style"] == "scream" and settings["strength"] == 0.8  # the new run's, kept
    finally:
        stopped(run)


@pytest.mark.parametrize("look", ["blend", "background"])
def test_the_camera_tab_keeps_a_steered_runs_look_that_its_list_has_not(look, tmp_path):
    """``deepphoto serve --camera PORT`` beside ``deepphoto run ... --control PORT`` whose look the
    tab's list has not: a blend (``--style wave:0.7,scream:0.3``) or a virtual background
    (``--background room.jpg``, ``--effect replace``). The tab showed the list's first style, and a
    region change sent it: the blend, or the person's virtual background, became starry-night. Now
    the tab shows the run's look, and a region change changes the region only."""
    import cv2
    from studio_page import background_studio, chromium, studio_page

    from deepphoto.web.camera import ControlLink, free_port

    if look == "blend":
        options, style, effect = ["--style", "wave:0.7,scream:0.3"], "wave:0.7,scream:0.3", None
    else:
        room = tmp_path / "room.jpg"
        cv2.imwrite(str(room), np.full((120, 160, 3), (40, 120, 200), np.uint8))
        options, style, effect = ["--background", str(room)], None, "replace"
    port = free_port()
    link = ControlLink("127.0.0.1", port)
    run = steered_run(port, *options)
    try:
        answering(link)
        with (
            chromium() as browser,
            background_studio(settings=Settings(**SMALL), camera=f"127.0.0.1:{port}") as server,
            studio_page(browser, server.url) as page,
        ):
            page.click("#tab-camera")
            page.wait_for_function("document.getElementById('camera-status').textContent.includes('fps')")
            shown = page.input_value("#camera-look")
            assert shown == (f"style:{style}" if style else f"effect:{effect}")
            page.check('input[name="camera-region"][value="person"]', force=True)
            deadline = time.monotonic() + 60
            while link.status()["settings"]["region"] != "person" and time.monotonic() < deadline:
                time.sleep(0.2)
            settings = link.status()["settings"]
            assert settings["region"] == "person"
            assert (settings["style"], settings["effect"]) == (style, effect)  # the run's look, kept
            assert page.is_hidden("#error")
    finally:
        stopped(run)


# ------------------------------------------------------------------ the window's keys and the Camera tab


def test_the_status_says_the_look_and_region_the_windows_keys_show():
    """``deepphoto run CAMERA display:// --style wave --control PORT``, 's' and 'r' pressed in the
    window: GET /status said "starry-night on the person" as the look but wave and the background
    in its settings, which the Camera tab showed (and sent back); now its settings say what is shown."""
    from deepphoto.stream.loop import handle_key
    from deepphoto.web.control import ControlServer

    frame = portrait((160, 120))
    with Pipeline(Settings(style="wave", **SMALL), cycle_looks=True) as pipe:
        control = ControlServer("127.0.0.1:0", pipe)
        try:
            handle_key(ord("s"), pipe.processor, frame)
            handle_key(ord("r"), pipe.processor, frame)
            status = control.status()
            look, region = status["look"].split(" on the ")
            assert (status["settings"]["style"], status["settings"]["effect"]) == (look, None) and look != "wave"
            assert status["settings"]["region"] == region == "person"
            while pipe.processor.look.name not in ("blur", "grey", "cartoon"):  # on to an effect
                handle_key(ord("e"), pipe.processor, frame)
            settings = control.status()["settings"]
            assert (settings["style"], settings["effect"]) == (None, pipe.processor.look.name)
        finally:
            control.httpd.server_close()


def test_the_camera_tab_follows_the_windows_keys_and_keeps_them():
    """``deepphoto serve --camera PORT`` beside a window run: the Camera tab showed wave on the
    background after the window's 's' and 'r' keys showed starry-night on the person, and moving its
    Strength slider put the window back to wave on the background. Now the tab follows the keys
    (within its poll) and a strength change keeps the look and region they chose."""
    from studio_page import background_studio, chromium, studio_page

    from deepphoto.stream.loop import handle_key
    from deepphoto.web.control import ControlServer

    frame = portrait((160, 120))
    with (
        Pipeline(Settings(style="wave", **SMALL), cycle_looks=True) as pipe,  # as 'run' makes it for a window
        ControlServer("127.0.0.1:0", pipe) as control,
        chromium() as browser,
        background_studio(settings=Settings(**SMALL), camera=f"127.0.0.1:{control.httpd.server_address[1]}") as server,
        studio_page(browser, server.url) as page,
    ):
        page.click("#tab-camera")
        page.wait_for_function("document.getElementById('camera-status').textContent.includes('wave on the')")
        assert page.input_value("#camera-look") == "style:wave"
        handle_key(ord("s"), pipe.processor, frame)
        handle_key(ord("r"), pipe.processor, frame)
        chosen = pipe.describe()
        look = chosen.split(" on the ")[0]
        page.wait_for_function(f"document.getElementById('camera-look').value === 'style:{look}'")
        page.wait_for_function('document.querySelector(\'input[name="camera-region"][value="person"]\').checked')
        page.locator("#camera-strength").fill("40")
        deadline = time.monotonic() + 60
        while pipe.settings.strength != 0.4 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert pipe.settings.strength == 0.4
        assert pipe.describe() == chosen  # the window's look and region, kept
        assert page.is_hidden("#error")


# ------------------------------------------------------------------ a virtual background video


@pytest.mark.parametrize("how", ["control", "window"])
def test_a_strength_change_does_not_start_a_background_video_again(how, tmp_path):
    """``deepphoto run CAMERA vcam:// --background beach.y4m --control PORT`` (a virtual background
    video; strength acts on a style's painting only): a strength sent to the control endpoint, or
    the window's '[' key, began the background video again from its first frame (a jump in the
    call); now the video goes on, and the styles the window's 's' key shows paint at the new strength."""
    from media import write_y4m

    from deepphoto.stream.loop import handle_key

    video = write_y4m(tmp_path / "beach.y4m", [np.full((120, 160, 3), 10 + 20 * i, np.uint8) for i in range(10)])
    frame = np.full((120, 160, 3), 128, np.uint8)  # no person: the background is all of it
    settings = Settings(effect="replace", background=video, region="background", **SMALL)
    with Pipeline(settings, cycle_looks=how == "window") as pipe:
        levels = [float(pipe(frame).mean()) for _ in range(4)]
        assert levels == sorted(levels) and levels[0] < levels[-1]  # the video plays
        if how == "control":
            pipe.update(strength=0.5)
        else:
            handle_key(ord("["), pipe.processor, frame)
        assert pipe.settings.strength == 0.5 if how == "control" else pipe.settings.strength == 0.9
        after = float(pipe(frame).mean())
        assert after > levels[-1], (levels, after)  # the fifth frame of the video, not its first
        if how == "window":  # the styles in the window's cycle made again at it, painting
            handle_key(ord("s"), pipe.processor, frame)
            assert pipe.processor.look.effect.paints == pipe.processor.look.name
            assert float(np.abs(pipe(frame).astype(int) - frame).mean()) > 3.0
