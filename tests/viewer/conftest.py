"""Headless Chromium for the page tests: Debian's `chromium`, driven by playwright (no browser download).

The pages are judged as a person sees them (layout, visibility, pixels), so these tests need a real
browser. Where none is found they FAIL and say how to install one; they never skip.
"""

from __future__ import annotations

import os
import shutil

import pytest

INSTALL_HINT = (
    "install it with `apt-get update && apt-get install -y chromium` (scripts/setup.sh does this), "
    "or point VIDEOESPRESSO_CHROMIUM at a Chromium/Chrome binary"
)


def find_chromium() -> str | None:
    candidates = [os.environ.get("VIDEOESPRESSO_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser"),
                  shutil.which("google-chrome")]  # fmt: skip
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


@pytest.fixture(scope="session")
def browser():
    executable = find_chromium()
    if executable is None:
        pytest.fail(f"headless Chromium not found: {INSTALL_HINT}", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -r requirements/dev.txt (the browser itself comes from apt)", pytrace=False)
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        launched = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"

