"""The attention picture: written for every combination of panels; mismatched inputs named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stalstm.errors import LayoutMismatchError
from stalstm.pictures import _frame_runs, plot_attention

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
NAMES = [f"joint {k}" for k in range(6)]


def _attention(frames: int = 20) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    alpha = rng.random((frames, len(NAMES)))
    return alpha / alpha.sum(axis=1, keepdims=True), rng.random(frames)


def test_full_picture_is_a_png(tmp_path: Path) -> None:
    alpha, beta = _attention()
    key = np.zeros(20, dtype=bool)
    key[5:9] = True
    path = plot_attention(
        alpha,
        beta,
        tmp_path / "sub" / "attention.png",
        joint_names=NAMES,
        title="clip",
        running_score=np.linspace(0.0, 1.0, 20),
        class_name="wave",
        key_frames=key,
        marked_joints=[1, 2],
    )
    assert path == tmp_path / "sub" / "attention.png"
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_beta_only_picture_for_a_model_without_spatial_attention(tmp_path: Path) -> None:
    _, beta = _attention()
    path = plot_attention(None, beta, tmp_path / "beta.png", joint_names=NAMES)
    assert path.read_bytes()[:8] == PNG_MAGIC


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
