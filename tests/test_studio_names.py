"""Every control of DeepPhoto Studio has an accessible name: a screen reader says what it is, and
Playwright's ``get_by_label`` finds it. The Strength, Threshold, Smoothing and Feather sliders,
wrapped in a label that also holds their changing value (an <output>), had none in chromium.

Debian's chromium computes the names (its accessibility tree, through the DevTools protocol), for
every visible input, select, textarea, button and element of a control's role (the file choosers'
labels are buttons) of each tab, with the Mask section open, the controls that show only at times
(the background-image chooser, Cancel, the error's Dismiss) shown, and the camera dialog open.

``DEEPPHOTO_NAMES_SHOTS=FOLDER`` saves a screenshot of each tab there.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("DEEPPHOTO_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.exists():
    pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)
pytest.importorskip("playwright.sync_api", reason="needs playwright for Python (the dev extra)")
pytest.importorskip("fastapi", reason="needs the web extra: pip install -e '.[web]'")

from playwright.sync_api import sync_playwright  # noqa: E402
from studio_page import studio_page  # noqa: E402

from deepphoto.web.app import StudioConfig  # noqa: E402
from deepphoto.web.server import BackgroundServer  # noqa: E402

SHOTS = Path(os.environ["DEEPPHOTO_NAMES_SHOTS"]) if os.environ.get("DEEPPHOTO_NAMES_SHOTS") else None
WAIT = 180_000  # ms: this machine is shared and slow
ROLES = ("button", "radio", "tab", "checkbox", "slider", "switch", "combobox", "textbox")
CONTROLS = ", ".join(["input:not([type=hidden])", "select", "textarea", "button", *(f"[role={r}]" for r in ROLES)])
TABS = ("photo", "live", "camera")


@pytest.fixture(scope="module")
def studio():
    with BackgroundServer(StudioConfig()) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    args = ["--no-sandbox", "--disable-gpu", "--no-first-run"]
    args += ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        yield b
        b.close()


@pytest.fixture
def page(browser, studio):
    with studio_page(browser, studio.url, wait=WAIT) as page:
        yield page


def controls(page) -> list[dict[str, str]]:
    """Each visible control: how to find it (tag, id, type, value), its role and its accessible name
    as chromium's accessibility tree gives them."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("Accessibility.enable")
    root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    ids = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": CONTROLS})["nodeIds"]
    where = page.locator(CONTROLS)
    assert where.count() == len(ids)
    found = []
    for i, node in enumerate(ids):
        element = where.nth(i)
        if not element.is_visible():
            continue
        backend = cdp.send("DOM.describeNode", {"nodeId": node})["node"]["backendNodeId"]
        tree = cdp.send("Accessibility.getPartialAXTree", {"nodeId": node, "fetchRelatives": False})["nodes"]
        mine = next(n for n in tree if n.get("backendDOMNodeId") == backend)
        what = element.evaluate(
            "e => `${e.tagName.toLowerCase()}#${e.id || '?'}[${e.type || ''}${e.value ? '=' + e.value : ''}]`"
        )
        found.append(
            {
                "what": what,
                "role": mine.get("role", {}).get("value", ""),
                "name": str(mine.get("name", {}).get("value", "")).strip(),
            }
        )
    cdp.detach()
    return found


def value_text(page, control: dict[str, str]) -> str:
    """The text of the slider's <output> (``ID-out``): its value, not a name."""
    tag_id = control["what"].split("[")[0]
    if not tag_id.startswith("input#") or tag_id.endswith("#?"):
        return ""
    return page.evaluate(
        "id => { const o = document.getElementById(id + '-out'); return o ? o.textContent.trim() : ''; }",
        tag_id.split("#", 1)[1],
    )


def show_tab(page, tab: str) -> None:
    page.click(f"#tab-{tab}")
    page.wait_for_selector(f"section#{tab}:not([hidden])")
    for details in page.locator(f"section#{tab} details").all():
        details.evaluate("d => { d.open = true; }")


AT_TIMES = ("background-label", "best-cancel", "error")


def show_the_rest(page, tab: str, shown: bool = True) -> None:
    """Controls that show only at times: the background-image chooser (with the background
    effect), Best quality's Cancel (while it paints), the error's Dismiss; hidden again after."""
    if tab == "photo":
        page.evaluate(
            f"for (const id of {list(AT_TIMES)!r}) document.getElementById(id).hidden = {str(not shown).lower()}"
        )


def test_every_visible_control_of_every_tab_has_a_name(page):
    nameless, value_only, seen = [], [], 0
    for tab in TABS:
        show_tab(page, tab)
        if SHOTS is not None:
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"{tab}.png"), full_page=True)
        show_the_rest(page, tab)
        for c in controls(page):
            seen += 1
            if not c["name"]:
                nameless.append(f"{tab}: {c['what']} ({c['role']})")
            elif (value := value_text(page, c)) and c["name"].endswith(value) and len(c["name"]) > len(value):
                value_only.append(f"{tab}: {c['what']} is named {c['name']!r}, its value {value!r} in its name")
        show_the_rest(page, tab, shown=False)
    assert seen >= 40, seen  # the walk saw the page's controls
    assert not nameless, "controls without an accessible name:\n" + "\n".join(nameless)
    assert not value_only, "a slider's name must not hold its changing value:\n" + "\n".join(value_only)


def test_a_slider_says_its_value_as_shown(page):
    """A screen reader says '3 px' and 'off', not '3' and '0'; it follows the slider."""
    page.locator("#photo details").evaluate("d => { d.open = true; }")
    feather = page.get_by_role("slider", name="Feather", exact=True)
    assert feather.get_attribute("aria-valuetext") == "3 px"
    feather.fill("7")
    assert feather.get_attribute("aria-valuetext") == "7 px" == page.inner_text("#feather-out")
    assert page.get_by_role("slider", name="Keep the photo’s light").get_attribute("aria-valuetext") == "off"


def test_the_camera_dialog_controls_have_names(page):
    page.evaluate("document.getElementById('snap').showModal()")
    names = {c["what"]: c["name"] for c in controls(page)}  # the rest of the page is inert meanwhile
    assert (names.get("button#snap-take[button]"), names.get("button#snap-close[button]")) == ("Take", "Cancel")
    page.evaluate("document.getElementById('snap').close()")


@pytest.mark.parametrize(
    "label,element",
    [
        ("Strength", "strength"),
        ("Threshold", "threshold"),
        ("Feather", "feather"),
        ("Keep the photo’s light", "keep-exposure"),
        ("Choose a photo", "photo-file"),
        ("Any painting…", "painting-file"),
        ("Background image…", "background-file"),
    ],
)
def test_get_by_label_finds_the_photo_tab_s_controls(page, label, element):
    page.locator("#photo details").evaluate("d => { d.open = true; }")
    found = page.locator("#photo").get_by_label(label, exact=True)
    assert found.count() == 1 and found.get_attribute("id") == element


@pytest.mark.parametrize("tab", ["live", "camera"])
def test_get_by_label_finds_each_tab_s_sliders(page, tab):
    page.click(f"#tab-{tab}")
    panel = page.locator(f"section#{tab}")
    for label, element in [
        ("Threshold", "threshold"),
        ("Smoothing", "smooth"),
        ("Feather", "feather"),
        ("Keep the light", "keep-exposure"),
    ]:
        found = panel.get_by_label(label, exact=True)
        assert found.count() == 1 and found.get_attribute("id") == f"{tab}-{element}", (tab, label)
