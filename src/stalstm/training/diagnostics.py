"""Training diagnostics: what the attention, the gradients and the inputs did in every epoch.

STA-LSTM can fail quietly: the temporal gate beta is a ReLU and, once it is 0 on every frame,
gets no gradient again (the clip scores o = sum_t beta_t z_t are then 0 and the model is stuck
at chance); the spatial softmax alpha can put all its weight on one joint. These numbers show
such failures while they happen. Every training epoch, over the valid frames of its batches:

- ``alpha_entropy``: mean over frames of the entropy of alpha_t divided by log K (1: uniform
  over the K joints, 0: all weight on one joint);
- ``alpha_max``: mean over frames of the largest joint weight max_k alpha_{t,k} (1/K: uniform);
- ``alpha_one_joint_fraction``: share of frames with max_k alpha_{t,k} >= ``ONE_JOINT``;
- ``beta_mean``: mean of beta_t; ``beta_dead_fraction``: share of frames with beta_t = 0;
- ``input_rms``: root mean square of the model input X (after the model's own input
  normalisation, when it has one); ``main_input_rms``: of Y = alpha_t X_t, what the main LSTM
  reads (equal to ``input_rms`` without spatial attention);
- ``logit_rms``: root mean square of the clip scores o;
- ``grad_norm/<part>``: mean over the epoch's steps of the gradient norm of each trained part
  (``main``, ``spatial``, ``temporal``), before clipping; ``grad_norm/total``.

``StageModule`` logs them to TensorBoard and CSV (``diagnostics/...``) and keeps one row per
epoch, which the engine writes to ``diagnostics.json`` in the stage folder; the run's summary
carries the last epoch's row and every warning. ``collapse_warnings`` turns a row into warnings:
beta 0 on every frame of an epoch, or on nearly every frame while the clip scores are near 0, or
alpha on one joint on most frames.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from stalstm.model import STALSTMOutput

ONE_JOINT = 0.9  # a frame whose largest joint weight is at least this looks at one joint
ONE_JOINT_MOST_FRAMES = 0.5  # ... and when more than this share of frames do, alpha collapsed
# beta 0 on at least this share of frames while the clip scores are this small: a gate that
# shuts on purpose leaves the frames it keeps scoring loudly, a dying one leaves silence
NEARLY_DEAD = 0.95
SILENT_LOGITS = 0.1


class AttentionCollapseWarning(UserWarning):
    """Spatial or temporal attention collapsed during training (see ``collapse_warnings``)."""


@dataclass
class EpochDiagnostics:
    """Sums over one epoch's batches; ``row()`` gives the means."""

    frames: float = 0.0
    alpha_frames: float = 0.0
    alpha_entropy: float = 0.0
    alpha_max: float = 0.0
    alpha_one_joint: float = 0.0
    beta: float = 0.0
    beta_dead: float = 0.0
    input_square: float = 0.0
    main_input_square: float = 0.0
    input_values: float = 0.0
    logit_square: float = 0.0
    logit_values: float = 0.0
    gradient_norms: dict[str, float] = field(default_factory=dict)
    steps: int = 0

    @torch.no_grad()
    def add_batch(self, output: STALSTMOutput, model_input: Tensor, main_input: Tensor) -> None:
        """Add one batch. ``model_input`` X and ``main_input`` Y: (B, T, K, C)."""
        valid = output.mask.to(torch.float64)  # (B, T)
        frames = float(valid.sum())
        self.frames += frames
        if output.alpha is not None:
            alpha = output.alpha.detach().to(torch.float64)  # (B, T, K)
            entropy = -(alpha * alpha.clamp_min(1e-30).log()).sum(-1)  # (B, T)
            largest = alpha.max(-1).values  # (B, T)
            self.alpha_frames += frames
            self.alpha_entropy += float((entropy * valid).sum()) / math.log(alpha.shape[-1])
            self.alpha_max += float((largest * valid).sum())
            self.alpha_one_joint += float(((largest >= ONE_JOINT) * valid).sum())
        beta = output.beta.detach().to(torch.float64)  # (B, T), 0 on padding
        self.beta += float((beta * valid).sum())
        self.beta_dead += float(((beta <= 0.0) * valid).sum())
        frame_mask = valid[:, :, None, None]
        values_per_frame = model_input.shape[-2] * model_input.shape[-1]
        self.input_square += float((model_input.detach().double() ** 2 * frame_mask).sum())
        self.main_input_square += float((main_input.detach().double() ** 2 * frame_mask).sum())
        self.input_values += frames * values_per_frame
        self.logit_square += float((output.logits.detach().double() ** 2).sum())
        self.logit_values += output.logits.numel()

    def add_gradients(self, norms: dict[str, float]) -> None:
        """Add one optimiser step's gradient norms by part."""
        self.steps += 1
        for name, value in norms.items():
            self.gradient_norms[name] = self.gradient_norms.get(name, 0.0) + value

    def row(self) -> dict[str, float]:
        """The epoch's means (see the module docstring); attention keys only where they apply."""
        row: dict[str, float] = {}
        if self.alpha_frames:
            row["alpha_entropy"] = self.alpha_entropy / self.alpha_frames
            row["alpha_max"] = self.alpha_max / self.alpha_frames
            row["alpha_one_joint_fraction"] = self.alpha_one_joint / self.alpha_frames
        if self.frames:
            row["beta_mean"] = self.beta / self.frames
            row["beta_dead_fraction"] = self.beta_dead / self.frames
        if self.input_values:
            row["input_rms"] = math.sqrt(self.input_square / self.input_values)
            row["main_input_rms"] = math.sqrt(self.main_input_square / self.input_values)
        if self.logit_values:
            row["logit_rms"] = math.sqrt(self.logit_square / self.logit_values)
        for name, total in sorted(self.gradient_norms.items()):
            row[f"grad_norm/{name}"] = total / max(self.steps, 1)
        return row


def gradient_norms(parts: dict[str, torch.nn.Module]) -> dict[str, float]:
    """The gradient norm of each part that has gradients, and of all of them together."""
    norms: dict[str, float] = {}
    total = 0.0
    for name, part in parts.items():
        gradients = [p.grad for p in part.parameters() if p.grad is not None]
        if not gradients:
            continue
        square = float(sum(g.detach().double().pow(2).sum() for g in gradients))
        norms[name] = math.sqrt(square)
        total += square
    if norms:
        norms["total"] = math.sqrt(total)
    return norms


def collapse_warnings(row: dict[str, float], has_temporal_attention: bool) -> list[str]:
    """What looks collapsed in one epoch's row (empty when nothing does)."""
    found = []
    dead = row.get("beta_dead_fraction", 0.0)
    if has_temporal_attention and dead >= 1.0:
        found.append(
            "temporal attention collapsed: beta = 0 on every frame, so the clip scores are 0 "
            "and the temporal gate gets no gradient (a dead ReLU); training cannot recover"
        )
    elif (
        has_temporal_attention
        and dead >= NEARLY_DEAD
        and row.get("logit_rms", math.inf) < SILENT_LOGITS
    ):
        found.append(
            f"temporal attention nearly collapsed: beta = 0 on {dead:.1%} of the frames and the "
            f"clip scores' RMS is {row['logit_rms']:.3g}, so the model says almost nothing and "
            "its gate learns from the few frames left (raw, unstandardised coordinates?)"
        )
    if row.get("alpha_one_joint_fraction", 0.0) > ONE_JOINT_MOST_FRAMES:
        share = row["alpha_one_joint_fraction"]
        found.append(
            f"spatial attention collapsed: on {share:.0%} of the frames alpha puts at least "
            f"{ONE_JOINT:.0%} of its weight on one joint, so the main network barely sees the "
            "others"
        )
    return found


def write_diagnostics(path: Path, rows: dict[int, dict[str, float]], warnings: list[str]) -> None:
    """Write every epoch's row (1-based ``epoch`` key) and the warnings as JSON."""
    epochs = [{"epoch": epoch + 1, **rows[epoch]} for epoch in sorted(rows)]
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"epochs": epochs, "warnings": warnings}, indent=1) + "\n")
    temporary.replace(path)


def read_diagnostics(path: Path | None) -> tuple[dict[int, dict[str, float]], list[str]]:
    """The rows (by 0-based epoch) and warnings of ``write_diagnostics``; empty when absent."""
    if path is None or not path.is_file():
        return {}, []
    content = json.loads(path.read_text())
    rows = {int(row.pop("epoch")) - 1: row for row in content.get("epochs", [])}
    return rows, list(content.get("warnings", []))
