"""Training diagnostics: the per-epoch numbers on hand-made outputs, the collapse warnings, and
what ``fit`` writes and warns."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from helpers.training_data import LiftedJointClips, tiny_config

from stalstm.model import STALSTMOutput
from stalstm.training import TrainingSettings, end_to_end_schedule, fit
from stalstm.training.diagnostics import (
    AttentionCollapseWarning,
    EpochDiagnostics,
    collapse_warnings,
    gradient_norms,
)


def _output(alpha: torch.Tensor, beta: torch.Tensor, mask: torch.Tensor) -> STALSTMOutput:
    batch, frames = mask.shape
    logits = torch.tensor([[3.0, 4.0]] * batch)
    return STALSTMOutput(logits, torch.zeros(batch, frames, 2), alpha, beta, mask, None, True)


def test_epoch_row_on_a_hand_made_batch():
    # one clip of 3 frames + 1 padding frame, K = 4 joints
    mask = torch.tensor([[True, True, True, False]])
    alpha = torch.tensor(
        [[[0.25, 0.25, 0.25, 0.25], [0.95, 0.05, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0, 0, 0, 1.0]]]
    )
    beta = torch.tensor([[2.0, 0.0, 1.0, 0.0]])
    joints = torch.full((1, 4, 4, 3), 2.0)
    joints[:, 3] = 0.0  # padding
    diagnostics = EpochDiagnostics()
    diagnostics.add_batch(_output(alpha, beta, mask), joints, alpha[..., None] * joints)
    diagnostics.add_gradients({"main": 3.0, "total": 5.0})
    diagnostics.add_gradients({"main": 1.0, "total": 1.0})
    row = diagnostics.row()
    entropy_second = -(0.95 * math.log(0.95) + 0.05 * math.log(0.05)) / math.log(4)
    assert row["alpha_entropy"] == pytest.approx((1.0 + entropy_second + 0.0) / 3)
    assert row["alpha_max"] == pytest.approx((0.25 + 0.95 + 1.0) / 3)
    assert row["alpha_one_joint_fraction"] == pytest.approx(2 / 3)
    assert row["beta_mean"] == pytest.approx(1.0)
    assert row["beta_dead_fraction"] == pytest.approx(1 / 3)  # the padding frame not counted
    assert row["input_rms"] == pytest.approx(2.0)
    main_square = (0.25**2 * 4 + (0.95**2 + 0.05**2) + 1.0) * 4.0 * 3 / (3 * 4 * 3)
    assert row["main_input_rms"] == pytest.approx(math.sqrt(main_square))
    assert row["logit_rms"] == pytest.approx(math.sqrt((9 + 16) / 2))
    assert row["grad_norm/main"] == 2.0 and row["grad_norm/total"] == 3.0


def test_collapse_warnings_name_what_collapsed():
    healthy = {"beta_dead_fraction": 0.8, "alpha_one_joint_fraction": 0.3}
    assert collapse_warnings(healthy, has_temporal_attention=True) == []
    dead = collapse_warnings({"beta_dead_fraction": 1.0}, has_temporal_attention=True)
    assert len(dead) == 1 and "beta = 0 on every frame" in dead[0]
    # without a temporal branch beta is 1 by definition: nothing to warn about
    assert collapse_warnings({"beta_dead_fraction": 1.0}, has_temporal_attention=False) == []
    # a gate shut on 99 % of the frames while the clip scores are silent is dying (raw
    # coordinates did this); the same shut share with loud scores is a gate that chose its frames
    dying = collapse_warnings({"beta_dead_fraction": 0.99, "logit_rms": 0.004}, True)
    assert len(dying) == 1 and "99.0% of the frames" in dying[0]
    assert collapse_warnings({"beta_dead_fraction": 0.99, "logit_rms": 3.0}, True) == []
    assert collapse_warnings({"beta_dead_fraction": 0.9, "logit_rms": 0.004}, True) == []
    one_joint = collapse_warnings({"alpha_one_joint_fraction": 0.6}, True)
    assert len(one_joint) == 1 and "60% of the frames" in one_joint[0]


def test_gradient_norms_per_part():
    first, second = torch.nn.Linear(2, 1, bias=False), torch.nn.Linear(2, 1, bias=False)
    first.weight.grad = torch.tensor([[3.0, 4.0]])
    norms = gradient_norms({"main": first, "temporal": second})  # no gradient: left out
    assert norms == {"main": 5.0, "total": 5.0}


def _settings(epochs: int = 3) -> TrainingSettings:
    return TrainingSettings(schedule=end_to_end_schedule(epochs), batch_size=8,
                            progress_bar=False)  # fmt: skip


def test_fit_writes_every_epoch_and_warns_when_the_temporal_gate_is_dead(tmp_path: Path):
    train = LiftedJointClips(24, seed=0)
    healthy = fit(tiny_config("sta"), train, tmp_path / "healthy", _settings())
    rows = json.loads((healthy.stage_folders[0] / "diagnostics.json").read_text())
    assert [row["epoch"] for row in rows["epochs"]] == [1, 2, 3]
    assert {"alpha_entropy", "beta_dead_fraction", "main_input_rms", "grad_norm/temporal"} <= set(
        rows["epochs"][-1]
    )
    assert healthy.warnings == [] and rows["warnings"] == []
    assert healthy.diagnostics[0]["last_epoch"] == {
        key: value for key, value in rows["epochs"][-1].items() if key != "epoch"
    }
    # b_p far below zero: beta is 0 on every frame from the start, and stays so
    dead = replace(tiny_config("sta"), temporal_bias=-100.0)
    with pytest.warns(AttentionCollapseWarning, match="beta = 0 on every frame"):
        result = fit(dead, train, tmp_path / "dead", _settings())
    assert len(result.warnings) == 3 and "epoch 1" in result.warnings[0]
