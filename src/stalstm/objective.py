"""The regularised objective of STA-LSTM (AAAI 2017, eq. 8):

    L = cross_entropy(o, y)
      + lambda1 * sum_k (1 - sum_t alpha_{t,k} / T)^2     spatial: do not ignore any joint for good
      + lambda2 / T * sum_t beta_t^p                      temporal: keep beta small
      + lambda3 * sum |W|                                 l1 on the weight matrices (not biases)

T is each clip's own number of valid frames; the two attention terms are computed per clip and
averaged over the batch, like the cross-entropy. A term whose branch the variant lacks is zero.

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


def regularised_loss(
    output: STALSTMOutput,
    targets: Tensor,
    model: nn.Module,
    config: ObjectiveConfig = ObjectiveConfig(),
) -> LossTerms:
    """The objective of eq. 8 for one batch."""
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
