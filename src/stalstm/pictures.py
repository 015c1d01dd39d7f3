"""Attention pictures: what the model looked at, joint by joint and frame by frame.

One figure per clip, every panel on the same frame axis:

1. the spatial attention alpha as a joints x frames heatmap (rows labelled with joint names);
2. the temporal attention beta as a curve below it;
3. optionally the running score of one class (e.g. its probability on every prefix of the clip,
   the online recogniser's view).

Key frames (e.g. the frames a synthetic class was planted in, or a ground-truth action interval)
are shaded on every panel, and chosen joints (e.g. the planted ones) are marked on the heatmap, so
that a reader sees at a glance whether the attention landed where it should. Rendering uses
matplotlib's Agg backend (files only, no display needed).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

from stalstm.errors import LayoutMismatchError

_WHERE = "attention picture"
_KEY_FRAME_COLOUR = "tab:orange"
_MARKED_JOINT_COLOUR = "tab:red"


def _as_vector(values: object, name: str, frames: int | None) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise LayoutMismatchError(
            _WHERE, f"expected a 1-D array, got shape {array.shape}", None, name
        )
    if frames is not None and array.shape[0] != frames:
        raise LayoutMismatchError(
            _WHERE, f"has {array.shape[0]} frames, the attention has {frames}", None, name
        )
    return array


def _frame_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) frame of every run of True in a bool (T,) array."""
    padded = np.concatenate([[False], flags, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [
        (int(start), int(stop) - 1) for start, stop in zip(edges[::2], edges[1::2], strict=True)
    ]


def _checked_alpha(alpha: np.ndarray | None, frames: int, names: list[str]) -> np.ndarray | None:
    if alpha is None:
        return None
    values = np.asarray(alpha, dtype=np.float64)
    if values.ndim != 2 or values.shape[0] != frames:
        raise LayoutMismatchError(
            _WHERE,
            f"alpha must be (frames, joints) with {frames} frames like beta, got shape "
            f"{values.shape}",
            None,
            "alpha",
        )
    if values.shape[1] != len(names):
        raise LayoutMismatchError(
            _WHERE,
            f"alpha has {values.shape[1]} joints but {len(names)} joint names were given",
            None,
            "joint_names",
        )
    return values


def _draw_heatmap(
    figure: Any, axis: Any, side: Any, alpha: np.ndarray, names: list[str], marked: list[int],
    key_runs: list[tuple[int, int]],
) -> None:  # fmt: skip
    """The joints x frames heatmap of alpha, marked joints in red, key frames as dashed lines."""
    frames = alpha.shape[0]
    image = axis.imshow(
        alpha.T, aspect="auto", origin="upper", interpolation="nearest", cmap="magma",
        extent=(-0.5, frames - 0.5, len(names) - 0.5, -0.5),
    )  # fmt: skip
    figure.colorbar(image, cax=side, label="alpha (spatial attention)")
    axis.set_yticks(range(len(names)))
    axis.set_yticklabels(names, fontsize=6)
    for index in marked:
        label = axis.get_yticklabels()[index]
        label.set_color(_MARKED_JOINT_COLOUR)
        label.set_fontweight("bold")
        axis.plot(frames - 0.5, index, marker="<", color=_MARKED_JOINT_COLOUR, clip_on=False,
                  markersize=5)  # fmt: skip
    for first, last in key_runs:
        axis.axvline(first - 0.5, color=_KEY_FRAME_COLOUR, linewidth=1.2, linestyle="--")
        axis.axvline(last + 0.5, color=_KEY_FRAME_COLOUR, linewidth=1.2, linestyle="--")
    axis.set_ylabel("joint")


def _draw_curve(
    axis: Any, values: np.ndarray, colour: str, label: str, key_runs: list[tuple[int, int]],
    probability: bool = False,
) -> None:  # fmt: skip
    """One curve over the frames (beta, or a running score), key frames shaded."""
    frames = np.arange(len(values))
    axis.plot(frames, values, color=colour, linewidth=1.5)
    axis.fill_between(frames, 0.0, values, color=colour, alpha=0.15)
    for first, last in key_runs:
        axis.axvspan(first - 0.5, last + 0.5, color=_KEY_FRAME_COLOUR, alpha=0.2, linewidth=0)
    axis.set_ylim(bottom=min(0.0, float(values.min())))
    if probability and values.min() >= 0.0 and values.max() <= 1.0:
        axis.set_ylim(0.0, 1.0)
    axis.set_ylabel(label)
    axis.grid(True, alpha=0.3)


def plot_attention(
    alpha: np.ndarray | None,
    beta: np.ndarray,
    path: str | Path,
    *,
    joint_names: Sequence[str],
    title: str = "",
    running_score: np.ndarray | None = None,
    class_name: str | None = None,
    key_frames: np.ndarray | None = None,
    marked_joints: Sequence[int] | None = None,
) -> Path:
    """Draw the attention of one clip and save it (PNG, or any format matplotlib knows by suffix).

    Args:
        alpha: (T, K) spatial attention, or None for a model without it (then only beta is drawn).
        beta: (T,) temporal attention.
        path: the file to write; its folder is created.
        joint_names: K names, one per heatmap row (persons concatenated: K = M * V).
        title: figure title.
        running_score: optional (T,) score of one class after every frame, drawn in a third panel.
        class_name: the class the running score belongs to (its panel label).
        key_frames: optional bool (T,) frames to shade on every panel.
        marked_joints: optional joint indices to mark on the heatmap (red label and a red tick).

    Returns:
        the path written.

    Raises:
        LayoutMismatchError: when the arrays disagree on the number of frames or joints.
    """
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    beta_values = _as_vector(beta, "beta", None)
    frames = beta_values.shape[0]
    names = list(joint_names)
    alpha_values = _checked_alpha(alpha, frames, names)
    score_values = (
        None if running_score is None else _as_vector(running_score, "running_score", frames)
    )
    key_flags = None if key_frames is None else _as_vector(key_frames, "key_frames", frames) > 0
    marked = sorted({int(j) for j in marked_joints}) if marked_joints is not None else []
    if alpha_values is not None and any(not 0 <= j < len(names) for j in marked):
        raise LayoutMismatchError(
            _WHERE, f"marked joints {marked} outside 0..{len(names) - 1}", None, "marked_joints"
        )

    panels = (["alpha"] if alpha_values is not None else []) + ["beta"]
    panels += ["score"] if score_values is not None else []
    heights = [0.16 * len(names) + 0.6 if panel == "alpha" else 1.6 for panel in panels]
    figure, axes = plt.subplots(
        len(panels), 2, figsize=(min(16.0, max(8.0, 0.09 * frames + 3.0)), sum(heights) + 1.0),
        gridspec_kw={"height_ratios": heights, "width_ratios": [1.0, 0.02], "hspace": 0.08},
        squeeze=False,
    )  # fmt: skip
    key_runs = _frame_runs(key_flags) if key_flags is not None else []
    score_label = f"score\n{class_name}" if class_name else "running\nscore"
    for row, panel in enumerate(panels):
        axis, side = axes[row, 0], axes[row, 1]
        if panel == "alpha":
            _draw_heatmap(figure, axis, side, alpha_values, names, marked, key_runs)
        else:
            side.axis("off")
            if panel == "beta":
                _draw_curve(axis, beta_values, "tab:blue", "beta\n(temporal)", key_runs)
            else:
                _draw_curve(axis, score_values, "tab:green", score_label, key_runs, True)
        axis.set_xlim(-0.5, frames - 0.5)
        if row < len(panels) - 1:
            axis.tick_params(labelbottom=False)
    axes[-1, 0].set_xlabel("frame")
    legend = ["key frames: orange"] * bool(key_runs) + ["marked joints: red"] * bool(marked)
    heading = title + (f"   ({', '.join(legend)})" if legend else "")
    if heading:
        axes[0, 0].set_title(heading, fontsize=10)

    output = Path(path)
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return output
