"""The attention picture draws what it is given (checked on the figure's artists, and the file read
back), for every combination of panels; mismatched inputs are named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stalstm.errors import LayoutMismatchError
from stalstm.pictures import _frame_runs, plot_attention

NAMES = [f"joint {k}" for k in range(6)]


def _attention(frames: int = 20) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    alpha = rng.random((frames, len(NAMES)))
    return alpha / alpha.sum(axis=1, keepdims=True), rng.random(frames)


def test_full_picture_draws_alpha_beta_the_score_key_frames_and_marked_joints(
    tmp_path: Path, saved_figures
) -> None:
    alpha, beta = _attention()
    key = np.zeros(20, dtype=bool)
    key[5:9] = True
    score = np.linspace(0.0, 1.0, 20)
    path = plot_attention(
        alpha,
        beta,
        tmp_path / "sub" / "attention.png",
        joint_names=NAMES,
        title="clip",
        running_score=score,
        class_name="wave",
        key_frames=key,
        marked_joints=[1, 2],
    )
    assert path == tmp_path / "sub" / "attention.png"
    ((figure, target),) = saved_figures
    assert Path(target) == path
    heatmap, _, beta_panel, _, score_panel, _ = figure.axes  # each panel beside its colour bar
    (image,) = heatmap.get_images()
    np.testing.assert_allclose(image.get_array(), alpha.T)  # joints down, frames across
    labels = heatmap.get_yticklabels()
    assert [label.get_text() for label in labels] == NAMES
    assert [k for k, label in enumerate(labels) if label.get_color() == "tab:red"] == [1, 2]
    dashed = sorted(
        line.get_xdata()[0] for line in heatmap.get_lines() if line.get_linestyle() == "--"
    )
    assert dashed == [4.5, 8.5]  # the key frames 5..8, bounded
    np.testing.assert_allclose(beta_panel.get_lines()[0].get_ydata(), beta)
    np.testing.assert_allclose(score_panel.get_lines()[0].get_ydata(), score)
    assert score_panel.get_ylabel() == "score\nwave" and "clip" in heatmap.get_title()
    for panel in (beta_panel, score_panel):  # the key frames shaded
        (span,) = panel.patches
        assert (span.get_x(), span.get_width()) == pytest.approx((4.5, 4.0))
    assert saved_figures.inked_share(path) > 0.3  # the heatmap fills much of the picture


def test_beta_only_picture_for_a_model_without_spatial_attention(
    tmp_path: Path, saved_figures
) -> None:
    _, beta = _attention()
    path = plot_attention(None, beta, tmp_path / "beta.png", joint_names=NAMES)
    ((figure, _),) = saved_figures
    beta_panel, _ = figure.axes
    assert not beta_panel.get_images()
    np.testing.assert_allclose(beta_panel.get_lines()[0].get_ydata(), beta)
    assert beta_panel.get_ylabel() == "beta\n(temporal)"
    assert saved_figures.inked_share(path) > 0.15  # an empty beta panel inks about 0.04


@pytest.mark.parametrize(
    ("alpha_shape", "names", "score_frames", "field"),
    [
        ((19, 6), NAMES, None, "alpha"),
        ((20, 6), NAMES[:5], None, "joint_names"),
        ((20, 6), NAMES, 21, "running_score"),
    ],
)
def test_mismatched_inputs_name_the_field(
    tmp_path: Path, alpha_shape: tuple, names: list, score_frames: int | None, field: str
) -> None:
    score = None if score_frames is None else np.zeros(score_frames)
    with pytest.raises(LayoutMismatchError) as raised:
        plot_attention(
            np.full(alpha_shape, 1.0 / 6),
            np.ones(20),
            tmp_path / "bad.png",
            joint_names=names,
            running_score=score,
        )
    assert raised.value.field == field
    assert not (tmp_path / "bad.png").exists()


def test_marked_joint_outside_the_heatmap_is_refused(tmp_path: Path) -> None:
    alpha, beta = _attention()
    with pytest.raises(LayoutMismatchError, match="marked joints"):
        plot_attention(alpha, beta, tmp_path / "x.png", joint_names=NAMES, marked_joints=[6])


def test_frame_runs() -> None:
    flags = np.array([0, 1, 1, 0, 0, 1, 0, 1, 1, 1], dtype=bool)
    assert _frame_runs(flags) == [(1, 2), (5, 5), (7, 9)]
    assert _frame_runs(np.zeros(4, dtype=bool)) == []
