"""Shared test fixtures. Real data is found through ONE setting, ``STALSTM_DATA`` (default
``../shared/data`` beside the repository); a test that needs it FAILS when it is missing."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

REPOSITORY = Path(__file__).resolve().parents[1]


def shared_data_root() -> Path:
    return Path(os.environ.get("STALSTM_DATA", REPOSITORY.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The folder of real skeleton data; fails (never skips) when it is not there."""
    root = shared_data_root()
    if not (root / "README.md").is_file():
        pytest.fail(
            f"real data not found at {root}: set STALSTM_DATA to the shared data folder",
            pytrace=False,
        )
    return root


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
