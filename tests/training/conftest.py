"""Fixtures of the training tests."""

from __future__ import annotations

import pytest
from helpers.training_data import LiftedJointClips


@pytest.fixture
def clips() -> tuple[LiftedJointClips, LiftedJointClips]:
    """(training set, validation set)."""
    return LiftedJointClips(24, seed=0), LiftedJointClips(12, seed=1)
