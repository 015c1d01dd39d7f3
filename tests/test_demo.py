"""The demo: its attention measures are right on hand-made attention, and a shortened run goes
through the same code as ``stalstm demo`` and writes a summary computed from the saved model."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from stalstm.clip import Clip
from stalstm.demo import (
    DemoSettings,
    Evaluation,
    attention_concentration,
    evaluate,
    run_demo,
    spatial_attention_on_planted_joints,
    temporal_attention_on_key_frames,
)
from stalstm.modelfile import load_model
from stalstm.synthetic import CLASS_NAMES, SyntheticActions

FRAMES, JOINTS = 10, 50
PLANTED = np.array([3, 4, 5, 6, 7])
KEY = np.arange(FRAMES) >= 6  # 4 key frames of 10


def test_uniform_attention_scores_one() -> None:
    alpha = np.full((FRAMES, JOINTS), 1.0 / JOINTS)
    assert spatial_attention_on_planted_joints(alpha, PLANTED, KEY) == pytest.approx(1.0)
    assert temporal_attention_on_key_frames(np.full(FRAMES, 0.7), KEY) == pytest.approx(1.0)


def test_attention_all_on_the_planted_joints_and_key_frames_scores_the_maximum() -> None:
    alpha = np.full((FRAMES, JOINTS), 1.0 / JOINTS)
    alpha[KEY] = 0.0
    alpha[np.ix_(KEY, PLANTED)] = 1.0 / len(PLANTED)
    # only key frames count for the spatial measure: the uniform frames before them do not
    assert spatial_attention_on_planted_joints(alpha, PLANTED, KEY) == pytest.approx(
        JOINTS / len(PLANTED)
    )
    beta = np.where(KEY, 2.0, 0.0)
    assert temporal_attention_on_key_frames(beta, KEY) == pytest.approx(FRAMES / KEY.sum())


def test_dead_beta_scores_zero_and_half_mass_scores_in_between() -> None:
    assert temporal_attention_on_key_frames(np.zeros(FRAMES), KEY) == 0.0
    beta = np.where(KEY, 1.5, 1.0)  # key frames: 6 of 12 units of mass on 4 of 10 frames
    assert temporal_attention_on_key_frames(beta, KEY) == pytest.approx((6 / 12) / (4 / 10))


def test_concentration_averages_over_clips() -> None:
    clips = [
        Clip(
            name=f"c{i}",
            joints=np.zeros((FRAMES, 2, 25, 3), np.float32),
            extras={"planted_joints": PLANTED, "key_frames": KEY},
        )
        for i in range(2)
    ]
    uniform = np.full((FRAMES, JOINTS), 1.0 / JOINTS)
    focused = uniform.copy()
    focused[:, :] = 0.0
    focused[:, PLANTED] = 1.0 / len(PLANTED)
    evaluation = Evaluation(
        accuracy=1.0,
        predicted=np.zeros(2, dtype=int),
        alphas=[uniform, focused],
        betas=[np.ones(FRAMES), np.where(KEY, 1.0, 0.0)],
        running_scores=[np.zeros((FRAMES, 8))] * 2,
    )
    measured = attention_concentration(evaluation, clips)
    assert measured["spatial_attention_on_planted_joints"] == pytest.approx((1 + 10) / 2)
    assert measured["temporal_attention_on_key_frames"] == pytest.approx((1 + 2.5) / 2)


def test_short_demo_writes_everything_and_its_summary_comes_from_the_saved_model(
    tmp_path: Path,
) -> None:
    settings = replace(
        DemoSettings(),
        train_clips=64,
        test_clips=24,
        first_stage_epochs=1,
        joint_stage_epochs=1,
        main_hidden=16,
        attention_hidden=16,
        progress_bar=False,
    )
    messages: list[str] = []
    summary = run_demo(tmp_path, settings, log=messages.append)

    written = json.loads((tmp_path / "summary.json").read_text())
    assert written == summary
    for key in ("sta_accuracy", "lstm_accuracy"):
        assert 0.0 <= summary[key] <= 1.0
    assert 0.0 < summary["spatial_attention_on_planted_joints"] <= 50 / 3
    assert 0.0 <= summary["temporal_attention_on_key_frames"] <= 80 / 10  # T / key frames
    assert summary["seconds"] > 0
    assert (tmp_path / "attention.png").read_bytes()[:4] == b"\x89PNG"
    assert any("sta: test accuracy" in message for message in messages)

    # the saved STA model, run on the same held-out clips, gives the summary's numbers
    loaded = load_model(tmp_path / "model")
    assert loaded.class_names == CLASS_NAMES
    assert loaded.config.variant == "sta" and loaded.layout == "ntu25"
    assert loaded.num_persons == 2
    test_clips = SyntheticActions(settings.data).generate(
        settings.test_clips, settings.seed + 1, "test"
    )
    again = evaluate(loaded.model, test_clips)
    assert again.accuracy == pytest.approx(summary["sta_accuracy"])
    assert attention_concentration(again, test_clips) == pytest.approx(
        {
            key: summary[key]
            for key in ("spatial_attention_on_planted_joints", "temporal_attention_on_key_frames")
        }
    )


def test_demo_command_is_registered_with_its_out_option() -> None:
    from stalstm.cli import app

    result = CliRunner().invoke(app, ["demo", "--help"])
    assert result.exit_code == 0
    assert "--out" in result.output
