"""The demo: its attention measures are right on hand-made attention, and a shortened run of the
``demo`` recipe goes through the same code as ``stalstm demo`` (the training pipeline) and writes
a summary and a picture that the saved models, run clip by clip, reproduce."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from stalstm.clip import Clip
from stalstm.demo import (
    Evaluation,
    attention_concentration,
    demo_recipe,
    run_demo,
    spatial_attention_on_planted_joints,
    temporal_attention_on_key_frames,
)
from stalstm.model import STALSTMOutput
from stalstm.modelfile import load_model
from stalstm.synthetic import CLASS_NAMES, SyntheticActions, SyntheticConfig

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


def clip_outputs(model: torch.nn.Module, clips: list[Clip]) -> list[STALSTMOutput]:
    """The model on each clip alone (no padding, no batching): the oracle for the summary."""
    with torch.inference_mode():
        return [
            model.eval()(torch.from_numpy(clip.joints.reshape(clip.num_frames, -1, 3))[None])
            for clip in clips
        ]


SHORT = [
    "data.options.train_clips=64", "data.options.test_clips=24", "model.main_hidden=16",
    "model.spatial_hidden=16", "model.spatial_tanh=16", "model.temporal_hidden=16",
    "schedule.stages=[{name: main-and-spatial, train: [main, spatial], epochs: 1,"
    " optimiser: {cosine_decay: false}}, {name: joint, train: [main, spatial, temporal],"
    " epochs: 1}]",
]  # fmt: skip


def test_short_demo_writes_everything_and_its_summary_comes_from_the_saved_models(
    tmp_path: Path, saved_figures
) -> None:
    messages: list[str] = []
    summary = run_demo(tmp_path, SHORT, progress_bar=False, log=messages.append)

    written = json.loads((tmp_path / "summary.json").read_text())
    assert written == summary
    assert summary["seconds"] > 0
    assert any("sta: test accuracy" in message for message in messages)
    for variant in ("sta", "lstm"):  # each a run folder of the training pipeline
        run = json.loads((tmp_path / "runs" / variant / "summary.json").read_text())
        assert run["recipe"] == "demo" and run["variant"] == variant
        assert run["top1"] == pytest.approx(summary[f"{variant}_accuracy"])

    # the saved models, run clip by clip on the same held-out clips, give the summary's numbers
    loaded = load_model(tmp_path / "model")
    assert loaded.class_names == CLASS_NAMES
    assert loaded.config.variant == "sta" and loaded.layout == "ntu25"
    assert loaded.num_persons == 2
    recipe = demo_recipe(SHORT)
    assert summary["recipe"] == recipe.to_dict()
    generator_options = {key: value for key, value in recipe.data.options.items()
                         if key not in ("train_clips", "test_clips")}  # fmt: skip
    test_clips = SyntheticActions(SyntheticConfig(**generator_options)).generate(
        24, recipe.training.seed + 1, "test"
    )
    labels = np.array([clip.label for clip in test_clips])
    lstm = load_model(tmp_path / "runs" / "lstm" / "model").model
    for key, model in (("sta_accuracy", loaded.model), ("lstm_accuracy", lstm)):
        predicted = np.array([int(out.logits.argmax()) for out in clip_outputs(model, test_clips)])
        assert summary[key] == pytest.approx(np.mean(predicted == labels)), key
    outputs = clip_outputs(loaded.model, test_clips)
    spatial = [
        spatial_attention_on_planted_joints(
            out.alpha[0].numpy(), clip.extras["planted_joints"], clip.extras["key_frames"]
        )
        for out, clip in zip(outputs, test_clips, strict=True)
    ]
    temporal = [
        temporal_attention_on_key_frames(out.beta[0].numpy(), clip.extras["key_frames"])
        for out, clip in zip(outputs, test_clips, strict=True)
    ]
    assert summary["spatial_attention_on_planted_joints"] == pytest.approx(np.mean(spatial))
    assert summary["temporal_attention_on_key_frames"] == pytest.approx(np.mean(temporal))

    # the picture is the STA model's attention on the first test clip, planted joints marked
    ((figure, target),) = [(f, t) for f, t in saved_figures if Path(t).name == "attention.png"]
    assert Path(target) == tmp_path / "attention.png"
    heatmap, _, beta_panel = figure.axes[:3]
    np.testing.assert_allclose(
        heatmap.get_images()[0].get_array(), outputs[0].alpha[0].T, atol=1e-5
    )
    np.testing.assert_allclose(beta_panel.get_lines()[0].get_ydata(), outputs[0].beta[0], atol=1e-5)
    marked = [
        k for k, label in enumerate(heatmap.get_yticklabels()) if label.get_color() == "tab:red"
    ]
    assert marked == sorted(test_clips[0].extras["planted_joints"])
    assert saved_figures.inked_share(tmp_path / "attention.png") > 0.3
