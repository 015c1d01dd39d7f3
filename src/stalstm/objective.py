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
o_t = sum of beta_u z_u over its last W frames (``stalstm.detection.scores``), averaged over
the batch's valid frames. The regularisers are unchanged.

The lambdas are not given by the paper. Our defaults and why are in the README: in short,
lambda3 must make the l1 term a small part of the loss (summed over ~10^5 weights, |W| is ~10^3
to 10^4), or it drives every weight to zero.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from stalstm.model import STALSTMOutput


@dataclass(frozen=True)
class ObjectiveConfig:
    spatial_weight: float = 1e-3  # lambda1                       (a public port's value; ours)
    temporal_weight: float = 1e-4  # lambda2                      (a public port's value; ours)
    temporal_exponent: float = 2.0  # p in beta_t^p: paper writes an l2 norm of beta_t
    l1_weight: float = 1e-6  # lambda3                            (ours: keeps the term small)
    frame_window: int = 0  # 0: one label per clip (the paper); W >= 1: frame-wise detection

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

    def detached(self) -> dict[str, float]:
        return {name: float(getattr(self, name).detach()) for name in self.__dataclass_fields__}


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
    """(B, T, N) detection scores of every frame (``stalstm.detection.scores``)."""
    from stalstm.detection.scores import window_scores

    return window_scores(output.beta, output.frame_scores, window)[0]


def predictions(output: STALSTMOutput, targets: Tensor, config: ObjectiveConfig) -> tuple:
    """(predicted, expected) classes to count accuracy on: one per clip, or, frame-wise, one
    per valid frame (flattened)."""
    if targets.ndim == 1:
        return output.logits.argmax(dim=1), targets
    valid = targets != IGNORE
    return frame_scores(output, config.frame_window).argmax(dim=-1)[valid], targets[valid]


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
    return LossTerms(total, cross_entropy, spatial, temporal, l1)
