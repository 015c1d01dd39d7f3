"""Shared test fixtures, and the one rule for optional resources.

Some tests need something a user's machine may lack: the real skeleton data (found through ONE
setting, ``STALSTM_DATA``, default ``../shared/data`` beside the repository), a browser, an
optional extra. On a machine without it such a test is SKIPPED, and the run ends with one line a
resource saying how many tests it skipped and how to enable them, so plain ``pytest`` passes
anywhere. ``STALSTM_REQUIRE`` (a comma-separated list of resource names, or ``all``) turns a
missing resource into a FAILURE: CI sets it, so nothing that matters is skipped silently there.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

REPOSITORY = Path(__file__).resolve().parents[1]
REQUIRE_VARIABLE = "STALSTM_REQUIRE"


@dataclass(frozen=True)
class Resource:
    """Something optional a test may need: its name and how a user gets it."""

    name: str
    how_to_enable: str


DATA = Resource("data", "set STALSTM_DATA to a folder holding the real data sets")
BROWSER = Resource(
    "browser",
    "install Chromium (apt-get install chromium, or set STALSTM_CHROMIUM to its executable) "
    "and Playwright for Python (pip install -e '.[browser]')",
)
POSE = Resource("pose", "install the pose extra: pip install -e '.[pose]'")
DOCS = Resource("docs", "install the docs extra: pip install -e '.[docs]'")
RESOURCES = {resource.name: resource for resource in (DATA, BROWSER, POSE, DOCS)}
_SKIPPED: Counter[str] = Counter()


def is_required(resource: Resource) -> bool:
    names = {name.strip() for name in os.environ.get(REQUIRE_VARIABLE, "").split(",")}
    return resource.name in names or "all" in names


def unavailable(resource: Resource, reason: str) -> None:
    """A test's resource is missing: fail where it is required, else skip and count it."""
    if is_required(resource):
        pytest.fail(
            f"{reason} ({REQUIRE_VARIABLE} requires {resource.name!r}: {resource.how_to_enable})",
            pytrace=False,
        )
    pytest.skip(f"[needs {resource.name}] {reason}: {resource.how_to_enable}")


def shared_data_root() -> Path:
    return Path(os.environ.get("STALSTM_DATA", REPOSITORY.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The folder of real skeleton data; skipped without it, failed where it is required."""
    root = shared_data_root()
    if not (root / "README.md").is_file():
        unavailable(DATA, f"real data not found at {root}")
    return root


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    """A Chromium executable that Playwright for Python can drive (Playwright's own browser
    download is not used: its path is given to ``launch(executable_path=...)``)."""
    import shutil

    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        unavailable(BROWSER, "Playwright for Python is not installed")
    given = os.environ.get("STALSTM_CHROMIUM")
    found = given or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not Path(found).is_file():
        unavailable(BROWSER, "no Chromium executable found")
    return Path(found)


@pytest.fixture(scope="session")
def pose_extra() -> None:
    """The ``[pose]`` extra (the bundled pose estimator and video input)."""
    try:
        import cv2  # noqa: F401
        import mediapipe  # noqa: F401
    except ImportError as error:
        unavailable(POSE, f"the pose extra is not installed ({error})")


@pytest.fixture(scope="session")
def docs_extra() -> None:
    """The ``[docs]`` extra (MkDocs, its Material theme and mkdocstrings)."""
    try:
        import material  # noqa: F401
        import mkdocs  # noqa: F401
        import mkdocstrings  # noqa: F401
    except ImportError as error:
        unavailable(DOCS, f"the docs extra is not installed ({error})")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Count the tests skipped for want of each resource (a session fixture that skips runs
    once, so the count is taken from the reports, not from ``unavailable``)."""
    if report.skipped and isinstance(report.longrepr, tuple):
        message = str(report.longrepr[2])
        for name in RESOURCES:
            if f"[needs {name}]" in message:
                _SKIPPED[name] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One line per missing resource: how many tests it skipped and how to enable them."""
    for name, count in sorted(_SKIPPED.items()):
        resource = RESOURCES[name]
        terminalreporter.write_line(
            f"{count} test(s) skipped for want of {name!r}: {resource.how_to_enable} "
            f"(CI requires it: {REQUIRE_VARIABLE}={name})"
        )


@pytest.fixture(autouse=True)
def _few_threads() -> None:
    # The suite runs on 2 cores; more threads only add contention for these tiny models.
    torch.set_num_threads(1)


class SavedFigures(list):
    """(figure, target) of every matplotlib figure saved during a test, as it was drawn: picture
    tests check the artists (the heatmap's values, the curves' points), not only that a file
    appeared, and read the file back to see that it is not blank."""

    @staticmethod
    def inked_share(path: Path) -> float:
        """The share of a picture's pixels that are not (near) white, read with matplotlib."""
        from matplotlib.image import imread

        return float(np.mean(imread(path)[..., :3].min(axis=-1) < 0.9))


@pytest.fixture
def saved_figures(monkeypatch: pytest.MonkeyPatch) -> SavedFigures:
    """Records every ``Figure.savefig`` of the test (see ``SavedFigures``)."""
    from matplotlib.figure import Figure

    saved = SavedFigures()
    original = Figure.savefig

    def savefig(figure: Figure, target: Any, *args: Any, **kwargs: Any) -> Any:
        saved.append((figure, target))
        return original(figure, target, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return saved
