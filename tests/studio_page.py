"""A page of DeepPhoto Studio in Debian's chromium (Playwright), for the browser tests: opened at
the Studio's address, waited for until its script is ready, its script errors collected."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

WAIT = 180_000  # ms: the test machines are shared and slow


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
