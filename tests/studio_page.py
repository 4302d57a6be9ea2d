"""A page of DeepPhoto Studio in Debian's chromium (Playwright), for the browser tests: opened at
the Studio's address, waited for until its script is ready, its script errors collected."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("DEEPPHOTO_CHROMIUM", "/usr/bin/chromium"))
WAIT = 180_000  # ms: the test machines are shared and slow


@contextmanager
def chromium(camera: Path | None = None, args: Sequence[str] = ()) -> Iterator[Any]:
    """Debian's chromium driven by Playwright (the test skips, saying why, without either);
    ``camera``: a Y4M clip its fake camera plays, the page allowed to use it without asking."""
    if not CHROMIUM.exists():
        pytest.skip(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright for Python (the dev extra)")
    flags = ["--no-sandbox", "--disable-gpu", "--no-first-run", *args]
    if camera is not None:
        flags += ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
        flags += [f"--use-file-for-fake-video-capture={camera}"]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=flags)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser: Any, url: str, width: int = 1280, height: int = 800, wait: int = WAIT, **context: Any) -> Any:
    """A new page (in a context of its own) at ``url``, ready; ``page.errors``: its script errors."""
    # bypass_csp: Playwright's own waiting runs as evaluated script, which the page's policy forbids
    page = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True, **context).new_page()
    page.set_default_timeout(wait)
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]")
    return page


@contextmanager
def studio_page(browser: Any, url: str, **options: Any) -> Iterator[Any]:
    """``open_page``, closed afterwards; a test that passed must have left no script error."""
    page = open_page(browser, url, **options)
    try:
        yield page
    finally:
        page.context.close()
    assert not page.errors, page.errors


@contextmanager
def background_studio(**config: Any) -> Iterator[Any]:
    """The Studio served from a thread (``BackgroundServer``), networks not warmed: ``config`` are
    ``StudioConfig``'s fields (the test skips, saying why, without the web extra)."""
    pytest.importorskip("uvicorn", reason="needs the web extra: pip install -e '.[web]'")
    from deepphoto.web.app import StudioConfig
    from deepphoto.web.server import BackgroundServer

    with BackgroundServer(StudioConfig(**{"warm": False, **config})) as server:
        yield server
