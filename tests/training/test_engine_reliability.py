"""What fit does before and while training for reliability: it sets the model's input statistics
from the training set (one shared centre and scale), warns about raw coordinates, and warms the
learning rate up (README, "Training reliably")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.training_data import LiftedJointClips, tiny_config
from lightning.pytorch.callbacks import Callback
from torch.testing import assert_close

from stalstm.normalisation import InputPlacementWarning
from stalstm.training import TrainingSettings, end_to_end_schedule, fit
from stalstm.training.schedule import OptimiserSettings


class LearningRates(Callback):
    def __init__(self) -> None:
        self.rates: list[float] = []

    def on_train_batch_start(self, trainer, module, batch, index) -> None:
        self.rates.append(trainer.optimizers[0].param_groups[0]["lr"])


def test_fit_sets_the_training_statistics_and_warms_the_learning_rate_up(tmp_path: Path):
    train = LiftedJointClips(16, seed=0)
    for item in train.items:  # raw camera coordinates: 2.8 m from the sensor
        item["joints"] = item["joints"] + torch.tensor([0.0, 0.0, 2.8])
    rates = LearningRates()
    optimiser = OptimiserSettings(learning_rate=0.01, warmup_steps=4)
    settings = TrainingSettings(schedule=end_to_end_schedule(2, optimiser), batch_size=4,
                                progress_bar=False)  # fmt: skip
    with pytest.warns(InputPlacementWarning, match="far from centred"):
        result = fit(tiny_config("sta"), train, tmp_path / "run", settings, callbacks=[rates])
    frames = torch.cat([item["joints"] for item in train.items]).double()  # (all frames, K, C)
    # one shared centre, the mean of every joint's coordinates: the 2.8 m offset goes, the
    # skeleton's shape about its centre stays
    centre = frames.mean((0, 1)).float()
    assert_close(result.model.input_mean, centre.expand(4, 3), atol=1e-5, rtol=1e-5)
    # one shared scale: the RMS over features of each feature's deviation
    shared = frames.var(0, unbiased=False).mean().sqrt().float()
    assert_close(result.model.input_scale, shared.expand(4, 3), atol=1e-5, rtol=1e-5)
    # 8 steps: a linear rise over the first 4, then the cosine decay
    total = 8
    expected = [0.01 * min(1.0, (step + 1) / 4) * 0.5 * (1 + np.cos(np.pi * step / total))
                for step in range(total)]  # fmt: skip
    np.testing.assert_allclose(rates.rates, expected, rtol=1e-6)
