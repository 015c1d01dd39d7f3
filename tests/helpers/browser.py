"""Driving a viewer page in headless Chromium: open it from disk with every request watched
(anything that is not the page itself is aborted and counted), console errors and uncaught
exceptions collected, and the drawn canvases read back as pixels."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

SCREENSHOTS_VARIABLE = "STALSTM_SCREENSHOTS"  # e.g. docs/images/viewer: the tests save pictures
CHROMIUM_ARGUMENTS = [
    # no sandbox as root in a container; nothing of Google's services (no network here)
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
VIEWPORT = {"width": 1200, "height": 900}


@dataclass
class OpenedPage:
    """A page opened by ``open_page`` and what it did."""

    page: Any
    uri: str
    requests: list[str] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds_to_ready: float = 0.0

    def assert_clean(self) -> None:
        """No console error or warning, no uncaught exception, and no request but the page."""
        assert self.errors == [], self.errors
        assert self.aborted == [], f"the page asked for {self.aborted}"
        assert self.requests == [self.uri], f"requests other than the page: {self.requests}"

    def pixels(self, selector: str) -> str:
        """What a canvas shows, as a PNG data URL."""
        return self.page.eval_on_selector(selector, "canvas => canvas.toDataURL()")

    def frame(self) -> int:
        return int(self.page.eval_on_selector("body", "body => body.dataset.frame"))

    def text(self, selector: str) -> str:
        return self.page.locator(selector).first.inner_text()

    def numbers(self, selector: str) -> list[float]:
        return [float(text) for text in self.page.locator(selector).all_inner_texts()]

    def wait_until(self, expression: str, seconds: float = 10.0) -> None:
        """Poll a JavaScript expression until it is true (``wait_for_function`` evaluates its
        predicate in a way the page's Content-Security-Policy forbids, rightly)."""
        deadline = time.perf_counter() + seconds
        while not self.page.evaluate(expression):
            if time.perf_counter() > deadline:
                raise AssertionError(f"still false after {seconds} s: {expression}")
            time.sleep(0.02)

    def move_slider(self, frame: int) -> None:
        self.page.locator("input.slider").fill(str(frame))

    def screenshot(self, name: str, full_page: bool = True) -> Path | None:
        """Save a screenshot for the documentation when ``STALSTM_SCREENSHOTS`` names a folder
        (256 colours: a third of the bytes, no visible difference on these flat pages)."""
        folder = os.environ.get(SCREENSHOTS_VARIABLE)
        if not folder:
            return None
        path = Path(folder) / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=full_page)
        with Image.open(path) as picture:
            colours = picture.convert("RGB").quantize(256, method=Image.Quantize.FASTOCTREE)
        colours.save(path, optimize=True)
        return path


def open_page(browser: Any, path: Path, viewport: dict[str, int] = VIEWPORT) -> OpenedPage:
    """Open ``path`` in a fresh browser context and wait until its script says it is ready."""
    context = browser.new_context(viewport=viewport, device_scale_factor=1)
    page = context.new_page()
    opened = OpenedPage(page, Path(path).resolve().as_uri())

    def route(route: Any) -> None:
        if route.request.url == opened.uri:
            route.continue_()
        else:
            opened.aborted.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page.on("request", lambda request: opened.requests.append(request.url))
    page.on(
        "console",
        lambda message: (
            opened.errors.append(f"{message.type}: {message.text}")
            if message.type in ("error", "warning")
            else None
        ),
    )
    page.on("pageerror", lambda error: opened.errors.append(f"uncaught: {error}"))
    started = time.perf_counter()
    page.goto(opened.uri)
    opened.wait_until("Boolean(window.stalstm && window.stalstm.ready)", 30.0)
    opened.seconds_to_ready = time.perf_counter() - started
    return opened
