"""Each term of the regularised objective against a hand computation on a tiny case, where every
clip's own valid length matters and padding frames hold values that must be ignored."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from stalstm.model import STALSTMConfig, STALSTMOutput, build_model
from stalstm.objective import (
    IGNORE,
    ObjectiveConfig,
    boundary_targets,
    predictions,
    regularised_loss,
    spatial_regulariser,
    temporal_regulariser,
    weight_l1,
)

# Two clips of 3 frames; the second has ONE valid frame, its two padding frames hold garbage.
MASK = torch.tensor([[True, True, True], [True, False, False]])
ALPHA = torch.tensor(
    [
        [[0.5, 0.5], [0.2, 0.8], [0.8, 0.2]],  # mean over 3 frames: (0.5, 0.5)
        [[0.9, 0.1], [0.0, 1.0], [0.0, 1.0]],  # mean over its 1 frame: (0.9, 0.1)
    ],
    dtype=torch.float64,
)
# sum_k (1 - mean alpha_k)^2: clip 0 gives 0.25 + 0.25 = 0.5, clip 1 gives 0.01 + 0.81 = 0.82.
SPATIAL_BY_HAND = (0.5 + 0.82) / 2
BETA = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 5.0]], dtype=torch.float64)
# p = 1: clip 0 (1 + 2 + 3) / 3 = 2, clip 1 4 / 1 = 4.   p = 2: 14 / 3 and 16.
TEMPORAL_BY_HAND = {1.0: (2.0 + 4.0) / 2, 2.0: (14.0 / 3.0 + 16.0) / 2}
# Clip 0 gives its target 1 probability 3/4, clip 1 its target 0 probability 2/3.
LOGITS = torch.tensor([[0.0, math.log(3.0)], [math.log(2.0), 0.0]], dtype=torch.float64)
TARGETS = torch.tensor([1, 0])
CROSS_ENTROPY_BY_HAND = (math.log(4.0 / 3.0) + math.log(3.0 / 2.0)) / 2

# A tiny STA-LSTM (D = 2 joints x 3 = 6 inputs) whose weight matrices hold
#   spatial LSTM 4*2*6 + 4*2*2 = 64, tanh layer 3*6 + 3*2 = 24, joint scores 2*3 = 6,
#   temporal LSTM 64, gate 6 + 2 = 8, main LSTM 64 + (4*2*2 + 4*2*2) = 96, classifier 2*2 = 4
# numbers: 266 in all.
TINY_CONFIG = STALSTMConfig(
    num_joints=2,
    num_classes=2,
    main_hidden=2,
    main_layers=2,
    spatial_hidden=2,
    spatial_tanh=3,
    temporal_hidden=2,
)
TINY_WEIGHT_COUNT = 266


def tiny_model_and_output(variant: str = "sta") -> tuple[torch.nn.Module, STALSTMOutput]:
    """The tiny model with every weight matrix -0.5 and every bias 100, and an output carrying
    the hand-made logits, alpha, beta and mask above."""
    model = build_model(replace(TINY_CONFIG, variant=variant)).double()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(-0.5 if parameter.ndim >= 2 else 100.0)
    output = model(torch.zeros(2, 3, 2, 3, dtype=torch.float64), MASK)
    output = replace(output, logits=LOGITS, mask=MASK)
    if output.alpha is not None:
        output = replace(output, alpha=ALPHA)
    if model.temporal_attention is not None:
        output = replace(output, beta=BETA)
    return model, output


def test_spatial_term_uses_each_clips_own_length() -> None:
    assert_close(spatial_regulariser(ALPHA, MASK).item(), SPATIAL_BY_HAND)


@pytest.mark.parametrize("exponent", [1.0, 2.0])
def test_temporal_term_uses_each_clips_own_length(exponent: float) -> None:
    assert_close(temporal_regulariser(BETA, MASK, exponent).item(), TEMPORAL_BY_HAND[exponent])


def test_l1_covers_weight_matrices_and_not_biases() -> None:
    model, _ = tiny_model_and_output()
    l1 = weight_l1(model)
    assert_close(l1.item(), 0.5 * TINY_WEIGHT_COUNT)  # the biases (100 each) add nothing
    l1.backward()
    for name, parameter in model.named_parameters():
        if parameter.ndim >= 2:  # d|w|/dw = sign(w) = -1
            assert torch.equal(parameter.grad, torch.full_like(parameter, -1.0)), name
        else:  # a bias is not part of the term at all
            assert parameter.grad is None, name


@pytest.mark.parametrize("exponent", [1.0, 2.0])
def test_regularised_loss_adds_each_weighted_term(exponent: float) -> None:
    model, output = tiny_model_and_output()
    config = ObjectiveConfig(
        spatial_weight=0.1, temporal_weight=0.01, temporal_exponent=exponent, l1_weight=0.001
    )
    terms = regularised_loss(output, TARGETS, model, config)
    assert_close(terms.cross_entropy.item(), CROSS_ENTROPY_BY_HAND)
    assert_close(terms.spatial.item(), SPATIAL_BY_HAND)
    assert_close(terms.temporal.item(), TEMPORAL_BY_HAND[exponent])
    assert_close(terms.l1.item(), 0.5 * TINY_WEIGHT_COUNT)
    by_hand = (
        CROSS_ENTROPY_BY_HAND
        + 0.1 * SPATIAL_BY_HAND
        + 0.01 * TEMPORAL_BY_HAND[exponent]
        + 0.001 * 0.5 * TINY_WEIGHT_COUNT
    )
    assert_close(terms.total.item(), by_hand)
    assert set(terms.detached()) == {"total", "cross_entropy", "spatial", "temporal", "l1"}


def test_terms_of_a_missing_branch_are_zero() -> None:
    """The plain LSTM has beta = 1 on valid frames and no alpha: neither attention term counts."""
    model, output = tiny_model_and_output("lstm")
    assert output.alpha is None
    config = ObjectiveConfig(spatial_weight=0.1, temporal_weight=0.01, l1_weight=0.0)
    terms = regularised_loss(output, TARGETS, model, config)
    assert terms.spatial.item() == 0.0 and terms.temporal.item() == 0.0
    assert_close(terms.total.item(), CROSS_ENTROPY_BY_HAND)


@pytest.mark.parametrize("variant", ["lstm", "sta"])
def test_unregularised_config_is_plain_cross_entropy(variant: str) -> None:
    model, output = tiny_model_and_output(variant)
    terms = regularised_loss(output, TARGETS, model, ObjectiveConfig.unregularised())
    assert_close(terms.total.item(), CROSS_ENTROPY_BY_HAND)

    # On a real output too, down to the gradients.
    torch.manual_seed(0)
    model = build_model(replace(TINY_CONFIG, variant=variant)).double().eval()
    output = model(torch.randn(2, 3, 2, 3, dtype=torch.float64), MASK)
    total = regularised_loss(output, TARGETS, model, ObjectiveConfig.unregularised()).total
    plain = F.cross_entropy(output.logits, TARGETS)
    assert_close(total, plain)
    parameters = list(model.parameters())
    for regularised, unregularised in zip(
        torch.autograd.grad(total, parameters, retain_graph=True),
        torch.autograd.grad(plain, parameters),
        strict=True,
    ):
        assert_close(regularised, unregularised)


def test_default_l1_weight_keeps_the_term_small_at_ntu_size() -> None:
    """README's claim: at the NTU shape lambda3 * sum|W| is a few per cent of the initial loss."""
    torch.manual_seed(0)
    model = build_model(STALSTMConfig(num_joints=50, num_classes=60))
    weighted_l1 = ObjectiveConfig().l1_weight * weight_l1(model).item()
    assert weighted_l1 < 0.05 * math.log(60)  # log(60): the cross-entropy of a uniform guess


def test_frame_wise_cross_entropy_over_a_window_skips_padding() -> None:
    """Frame targets: the cross-entropy of o_t = beta_{t-1} z_{t-1} + beta_t z_t (W = 2) over the
    valid frames only, computed by hand from the same tensors."""
    beta = torch.tensor([[1.0, 0.5, 2.0], [1.0, 0.0, 0.0]], dtype=torch.float64)
    scores = torch.tensor(
        [
            [[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]],
            [[0.0, 3.0], [9.0, 9.0], [9.0, 9.0]],  # padding after frame 0
        ],
        dtype=torch.float64,
    )
    targets = torch.tensor([[0, 1, 1], [1, IGNORE, IGNORE]])
    output = STALSTMOutput(
        logits=torch.zeros(2, 2, dtype=torch.float64), frame_scores=scores, alpha=None,
        beta=beta, mask=MASK, state=None, has_temporal_attention=True,
    )  # fmt: skip
    config = ObjectiveConfig(spatial_weight=0.0, temporal_weight=0.0, l1_weight=0.0, frame_window=2)
    terms = regularised_loss(output, targets, torch.nn.Linear(1, 1), config)
    # stream 0: o_0 = (1, 0), o_1 = (1, 0) + (0, 1) = (1, 1), o_2 = (0, 1) + (2, 2) = (2, 3)
    # stream 1: o_0 = (0, 3); its two padding frames are not counted
    by_hand = [
        F.cross_entropy(torch.tensor([[1.0, 0.0]]), torch.tensor([0])),
        F.cross_entropy(torch.tensor([[1.0, 1.0]]), torch.tensor([1])),
        F.cross_entropy(torch.tensor([[2.0, 3.0]]), torch.tensor([1])),
        F.cross_entropy(torch.tensor([[0.0, 3.0]]), torch.tensor([1])),
    ]
    assert float(terms.cross_entropy) == pytest.approx(float(sum(by_hand) / 4))
    predicted, expected = predictions(output, targets, config)
    assert predicted.tolist() == [0, 0, 1, 1] and expected.tolist() == [0, 1, 1, 1]
    with pytest.raises(ValueError, match="frame_window"):
        regularised_loss(output, targets, torch.nn.Linear(1, 1), ObjectiveConfig())


def test_boundary_targets_and_their_loss() -> None:
    """Gaussians around every action's first and last frame, read off frame targets
    (background last, here class 2; padding IGNORE)."""
    targets = torch.tensor([[2, 0, 0, 1, 2, IGNORE], [2, 2, 2, 2, 2, 2]])
    expected = boundary_targets(targets, background=2, sigma=1.0)
    g = [math.exp(-(d**2) / 2) for d in range(6)]
    # stream 0: starts at 1 (class 0) and 3 (class 1), ends at 2 and 3
    assert expected[0, :, 0].tolist() == pytest.approx([g[1], g[0], g[1], g[0], g[1], g[2]])
    assert expected[0, :, 1].tolist() == pytest.approx([g[2], g[1], g[0], g[0], g[1], g[2]])
    assert expected[1].abs().sum() == 0  # all background: no boundary
    output = STALSTMOutput(
        logits=torch.zeros(2, 3), frame_scores=torch.zeros(2, 6, 3), alpha=None,
        beta=torch.ones(2, 6), mask=torch.ones(2, 6, dtype=torch.bool), state=None,
        has_temporal_attention=False, boundaries=torch.full((2, 6, 2), 0.5),
    )  # fmt: skip
    config = ObjectiveConfig(
        spatial_weight=0.0, temporal_weight=0.0, l1_weight=0.0, frame_window=1,
        boundary_weight=2.0, boundary_sigma=1.0,
    )  # fmt: skip
    terms = regularised_loss(output, targets, torch.nn.Linear(1, 1), config)
    valid = (targets != IGNORE).unsqueeze(-1).expand(-1, -1, 2)
    by_hand = ((0.5 - expected.float())[valid] ** 2).mean()
    assert float(terms.boundary) == pytest.approx(float(by_hand), rel=1e-5)
    assert float(terms.total) == pytest.approx(float(terms.cross_entropy + 2.0 * by_hand), rel=1e-5)
