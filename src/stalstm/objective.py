"""The regularised objective of STA-LSTM (AAAI 2017, eq. 8):

    L = cross_entropy(o, y)
      + lambda1 * sum_k (1 - sum_t alpha_{t,k} / T)^2     spatial: do not ignore any joint for good
      + lambda2 / T * sum_t beta_t^p                      temporal: keep beta small
      + lambda3 * sum |W|                                 l1 on the weight matrices (not biases)

T is each clip's own number of valid frames; the two attention terms are computed per clip and
averaged over the batch, like the cross-entropy. A term whose branch the variant lacks is zero.

Frame-wise (detection in untrimmed streams, ``stalstm.detection``): with
``frame_window`` W >= 1 the targets are one class per frame (background included; padding
frames ``IGNORE``), and the cross-entropy is that of every frame's detection score
o_t = sum of beta_u z_u over its last W frames (``stalstm.scores``), averaged over
the batch's valid frames. The regularisers are unchanged. A model with ``boundary_heads``
(JCR-RNN, Li et al. ECCV 2016) adds ``boundary_weight`` x the mean squared error of its start
and end confidences against Gaussians of width ``boundary_sigma`` frames around every action's
first and last frame (the actions are read off the frame targets, background last).

The lambdas are not given by the paper. Our defaults and why are in the docs ("Settings and
why"): in short,
lambda3 must make the l1 term a small part of the loss (summed over ~10^5 weights, |W| is ~10^3
to 10^4), or it drives every weight to zero.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from stalstm.model import STALSTMOutput
from stalstm.scores import window_scores


@dataclass(frozen=True)
class ObjectiveConfig:
    spatial_weight: float = 1e-3  # lambda1                       (a public port's value; ours)
    temporal_weight: float = 1e-4  # lambda2                      (a public port's value; ours)
    temporal_exponent: float = 2.0  # p in beta_t^p: paper writes an l2 norm of beta_t
    l1_weight: float = 1e-6  # lambda3                            (ours: keeps the term small)
    frame_window: int = 0  # 0: one label per clip (the paper); W >= 1: frame-wise detection
    boundary_weight: float = 1.0  # frame-wise with boundary_heads: weight of their regression
    boundary_sigma: float = 3.0  # frames: width of the start/end confidence targets

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def unregularised(cls) -> ObjectiveConfig:
        return cls(spatial_weight=0.0, temporal_weight=0.0, l1_weight=0.0)


@dataclass
class LossTerms:
    total: Tensor
    cross_entropy: Tensor
    spatial: Tensor  # unweighted sum_k (1 - mean_t alpha_{t,k})^2, batch mean
    temporal: Tensor  # unweighted mean_t beta_t^p, batch mean
    l1: Tensor  # unweighted sum |W|
    boundary: Tensor | None = None  # unweighted start/end confidence error (boundary heads)

    def detached(self) -> dict[str, float]:
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return {name: float(value.detach()) for name, value in values.items() if value is not None}


def spatial_regulariser(alpha: Tensor, mask: Tensor) -> Tensor:
    """sum_k (1 - sum_t alpha_{t,k} / T)^2 per clip, T its own valid length; mean over the batch."""
    valid = mask.to(alpha.dtype)  # (B, T)
    lengths = valid.sum(dim=1).clamp(min=1.0)  # (B,)
    mean_alpha = (alpha * valid.unsqueeze(-1)).sum(dim=1) / lengths.unsqueeze(-1)  # (B, K)
    return ((1.0 - mean_alpha) ** 2).sum(dim=1).mean()


def temporal_regulariser(beta: Tensor, mask: Tensor, exponent: float) -> Tensor:
    """1/T sum_t beta_t^p per clip, T its own valid length; mean over the batch."""
    valid = mask.to(beta.dtype)  # (B, T)
    lengths = valid.sum(dim=1).clamp(min=1.0)  # (B,)
    return ((beta.abs() ** exponent) * valid).sum(dim=1).div(lengths).mean()


def weight_l1(model: nn.Module) -> Tensor:
    """sum |W| over every weight matrix of the model (parameters with two or more dimensions,
    i.e. not the biases)."""
    weights = [p.abs().sum() for p in model.parameters() if p.ndim >= 2]
    if not weights:
        return torch.zeros(())
    return torch.stack(weights).sum()


IGNORE = -100  # frame target of padding frames (F.cross_entropy's default ignore_index)


def frame_scores(output: STALSTMOutput, window: int) -> Tensor:
    """(B, T, N) detection scores of every frame (``stalstm.scores``)."""
    return window_scores(output.beta, output.frame_scores, window)[0]


def predictions(output: STALSTMOutput, targets: Tensor, config: ObjectiveConfig) -> tuple:
    """(predicted, expected) classes to count accuracy on: one per clip, or, frame-wise, one
    per valid frame (flattened)."""
    if targets.ndim == 1:
        return output.logits.argmax(dim=1), targets
    valid = targets != IGNORE
    return frame_scores(output, config.frame_window).argmax(dim=-1)[valid], targets[valid]


def boundary_targets(targets: Tensor, background: int, sigma: float) -> Tensor:
    """(B, T) frame targets -> (B, T, 2) start and end confidences: exp(-d^2 / 2 sigma^2), d the
    distance in frames to the nearest action start (end); an action is a run of one class that
    is neither ``background`` nor ``IGNORE``."""
    labels = targets.tolist()
    frames = torch.arange(targets.shape[1], dtype=torch.float64)
    result = torch.zeros(*targets.shape, 2, dtype=torch.float64)
    for row, sequence in enumerate(labels):
        starts, ends = [], []
        for t, label in enumerate(sequence):
            if label in (background, IGNORE):
                continue
            if t == 0 or sequence[t - 1] != label:
                starts.append(t)
            if t == len(sequence) - 1 or sequence[t + 1] != label:
                ends.append(t)
        for column, points in enumerate((starts, ends)):
            if points:
                distance = (frames[:, None] - torch.tensor(points, dtype=torch.float64)).abs()
                nearest = distance.min(dim=1).values
                result[row, :, column] = torch.exp(-(nearest**2) / (2 * sigma**2))
    return result


def regularised_loss(
    output: STALSTMOutput,
    targets: Tensor,
    model: nn.Module,
    config: ObjectiveConfig = ObjectiveConfig(),
) -> LossTerms:
    """The objective of eq. 8 for one batch: ``targets`` (B,) one class per clip, or (B, T) one
    per frame when ``config.frame_window`` >= 1 (frame-wise detection)."""
    if targets.ndim == 2:
        if config.frame_window < 1:
            raise ValueError("frame targets need a frame_window >= 1 in the objective")
        scores = frame_scores(output, config.frame_window)  # (B, T, N)
        cross_entropy = F.cross_entropy(
            scores.flatten(0, 1), targets.flatten(), ignore_index=IGNORE
        )
    else:
        cross_entropy = F.cross_entropy(output.logits, targets)
    zero = cross_entropy.new_zeros(())
    boundary = None
    if targets.ndim == 2 and output.boundaries is not None:
        # the heads regress how near each frame is to an action's first and last frame
        expected = boundary_targets(targets, scores.shape[-1] - 1, config.boundary_sigma)
        valid = targets != IGNORE
        boundary = ((output.boundaries - expected.to(output.boundaries))[valid] ** 2).mean()
    spatial = spatial_regulariser(output.alpha, output.mask) if output.alpha is not None else zero
    temporal = (
        temporal_regulariser(output.beta, output.mask, config.temporal_exponent)
        if output.has_temporal_attention
        else zero
    )
    l1 = weight_l1(model).to(cross_entropy) if config.l1_weight > 0 else zero
    total = (
        cross_entropy
        + config.spatial_weight * spatial
        + config.temporal_weight * temporal
        + config.l1_weight * l1
    )
    if boundary is not None:
        total = total + config.boundary_weight * boundary
    return LossTerms(total, cross_entropy, spatial, temporal, l1, boundary)
