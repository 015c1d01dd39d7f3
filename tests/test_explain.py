"""explain: pictures and attention.json for a real SBU clip, for every variant."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers.models import model_input, saved_model, sbu_clip
from PIL import Image

from stalstm.explain import explain_clip, pick_key_frames, running_probability
from stalstm.predict import predict_clip


@pytest.mark.parametrize("variant", ["sta", "lstm"])
def test_explain_writes_pictures_and_raw_attention(
    data_root: Path, tmp_path: Path, variant: str, saved_figures
) -> None:
    loaded = saved_model(
        tmp_path / "m", joints=30, classes=8, layout="openni15", preset="sbu", variant=variant
    )
    clip = sbu_clip(data_root, "s01s02/08/001")
    explanation = explain_clip(loaded, clip, tmp_path / "out", gif=variant == "sta")
    files = explanation.files
    record = json.loads(files["json"].read_text())
    # the pictures by file name (the GIF's frames are saved into buffers)
    figures = {
        Path(target).name: figure
        for figure, target in saved_figures
        if isinstance(target, str | Path)
    }
    # the attention picture draws the recorded beta (and alpha: joints down, frames across)
    attention = figures["attention.png"].axes
    beta_panel = attention[2] if variant == "sta" else attention[0]
    np.testing.assert_allclose(beta_panel.get_lines()[0].get_ydata(), record["beta"], atol=1e-6)
    if variant == "sta":
        heatmap = attention[0].get_images()[0].get_array()
        np.testing.assert_allclose(heatmap, np.asarray(record["alpha"]).T, atol=1e-6)
    # the skeletons: one panel per key frame, the prepared joints drawn, coloured by mean alpha
    joints = model_input(loaded, clip)  # (T, K, C)
    weights = np.mean(record["alpha"], axis=0) if variant == "sta" else np.full(30, 1 / 30)
    panels = [axis for axis in figures["skeletons.png"].axes if axis.get_title()]
    assert [axis.get_title().split()[1] for axis in panels] == [
        str(k) for k in record["key_frames"]
    ]
    for axis, frame in zip(panels, record["key_frames"], strict=True):
        present = np.any(joints[frame] != 0, axis=-1)
        (points,) = axis.collections
        np.testing.assert_allclose(points.get_offsets()[:, 0], joints[frame, present, 0], atol=1e-6)
        np.testing.assert_allclose(points.get_array(), weights[present], atol=1e-6)
    assert saved_figures.inked_share(files["attention"]) > 0.1  # the file is not blank
    assert record["joint_names"][0] == "person 1 head" and len(record["joint_names"]) == 30
    assert len(record["beta"]) == clip.num_frames == len(record["running_probability"])
    assert record["prediction"][0]["class"] == predict_clip(loaded, clip).top[0][0]
    # the running probability after the last frame is the prediction itself
    assert record["running_probability"][-1] == pytest.approx(
        record["prediction"][0]["probability"]
    )
    assert len(record["key_frames"]) == 4
    if variant == "sta":
        alpha = np.asarray(record["alpha"])
        assert alpha.shape == (clip.num_frames, 30)
        np.testing.assert_allclose(alpha.sum(axis=1), 1.0, atol=1e-5)
        assert record["note"] == ""
        with Image.open(files["gif"]) as movie:
            assert movie.n_frames == clip.num_frames
    else:  # no branches: said in words, not drawn as empty panels
        assert record["alpha"] is None and set(record["beta"]) == {1.0}
        assert "no spatial attention" in record["note"] and "no temporal" in record["note"]
        assert "gif" not in files


def test_key_frames_are_high_beta_and_spread_out() -> None:
    beta = np.zeros(40)
    beta[[10, 11, 12, 30, 31]] = [0.9, 1.0, 0.95, 0.8, 0.7]
    frames = pick_key_frames(beta, count=3)
    assert 11 in frames and 30 in frames and 12 not in frames and 10 not in frames
    assert pick_key_frames(np.ones(9), count=3) == [0, 4, 8]  # flat beta: evenly spaced


def test_running_probability_is_the_softmax_of_the_running_sum() -> None:
    scores = np.array([[2.0, 0.0], [0.0, 2.0], [0.0, 2.0]])
    beta = np.array([1.0, 0.5, 1.0])
    np.testing.assert_allclose(
        running_probability(scores, beta, 1),
        [
            1 / (1 + np.exp(2.0)),
            1 / (1 + np.exp(1.0)),
            1 / (1 + np.exp(-1.0)),
        ],  # o = [2,0] [2,1] [2,3]
        rtol=1e-6,
    )
