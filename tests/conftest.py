"""Shared test fixtures. Real data is found through ONE setting, ``STALSTM_DATA`` (default
``../shared/data`` beside the repository); a test that needs it FAILS when it is missing."""

from __future__ import annotations

import os
from pathlib import Path

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
