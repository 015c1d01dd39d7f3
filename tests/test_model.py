"""The vectorised model against its per-time-step oracle, and the properties that make it usable:
padding changes nothing, streaming equals the offline pass, every variant builds and trains."""

from __future__ import annotations

import pytest
import torch
from helpers.models import random_attention_start
from helpers.reference_model import ReferenceSTALSTM
from torch.testing import assert_close

from stalstm.model import VARIANTS, STALSTMConfig, build_model
from stalstm.objective import ObjectiveConfig, regularised_loss

TOLERANCE = {"atol": 1e-6, "rtol": 1e-6}

# Deliberately distinct widths, so that a transposed or swapped weight cannot go unnoticed.
SMALL_WIDTHS = {
    "main_hidden": 7,
    "main_layers": 3,
    "dropout": 0.5,  # must be inert in eval(): the oracle has no dropout
    "spatial_hidden": 5,
    "spatial_tanh": 6,
    "temporal_hidden": 4,
    "temporal_bias": 0.0,  # so that the ReLU is both open and shut on random data
}
# Large enough that each regulariser moves the gradients visibly.
STRONG_OBJECTIVE = ObjectiveConfig(
    spatial_weight=0.7, temporal_weight=0.3, temporal_exponent=2.0, l1_weight=0.01
)


def small_model(variant: str, num_coords: int = 3, seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    config = STALSTMConfig(
        num_joints=4, num_classes=3, num_coords=num_coords, variant=variant, **SMALL_WIDTHS
    )
    # random starting weights everywhere (the neutral starts would leave paths at exactly 0)
    model = random_attention_start(build_model(config)).double().eval()
    # input statistics far from the identity, so that standardising is exercised
    model.set_input_statistics(
        torch.randn(4, num_coords, dtype=torch.float64),
        torch.rand(4, num_coords, dtype=torch.float64) + 0.5,
    )
    return model


def random_batch(
    lengths: list[int], frames: int, num_joints: int, num_coords: int, seed: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random joints (B, T, K, C) in float64 and the mask of the given lengths; padding frames
    hold random values too, which must not matter."""
    generator = torch.Generator().manual_seed(seed)
    joints = torch.randn(
        len(lengths), frames, num_joints, num_coords, generator=generator, dtype=torch.float64
    )
    mask = torch.arange(frames)[None] < torch.tensor(lengths)[:, None]
    return joints, mask


def parameter_gradients(
    loss: torch.Tensor, model: torch.nn.Module, joints: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """d loss / d parameter for every named parameter (and under "joints" d loss / d joints)."""
    names, tensors = map(list, zip(*model.named_parameters(), strict=True))
    if joints is not None:
        names.append("joints")
        tensors.append(joints)
    return dict(zip(names, torch.autograd.grad(loss, tensors), strict=True))


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("num_coords", [3, 2])
@pytest.mark.parametrize("variant", VARIANTS)
def test_model_matches_per_step_reference(variant: str, num_coords: int, seed: int) -> None:
    model = small_model(variant, num_coords, seed=seed)
    reference = ReferenceSTALSTM(model)
    frames = 9
    generator = torch.Generator().manual_seed(seed)
    # The full length, length 1, and random others.
    lengths = [frames, 1, *torch.randint(1, frames + 1, (3,), generator=generator).tolist()]
    joints, mask = random_batch(lengths, frames, num_joints=4, num_coords=num_coords, seed=seed)
    targets = torch.randint(0, 3, (len(lengths),), generator=generator)
    valid = mask
    if model.config.has_temporal_attention:
        # b_p at the median of the gate's input on these frames, so that the data exercises
        # both sides of the ReLU (the comparison means nothing on one side only)
        gate, lift = model.temporal_attention.input_to_gate, 1e3
        with torch.no_grad():
            gate.bias.fill_(lift)  # the ReLU open everywhere: beta - lift is its input
            opened = model(joints, mask).beta[valid] - lift
            gate.bias.fill_(-float(opened.median()))

    joints_model = joints.clone().requires_grad_()
    out = model(joints_model, mask)
    joints_reference = joints.clone().requires_grad_()
    expected = reference(joints_reference, mask)

    assert_close(out.logits, expected.logits, **TOLERANCE)
    assert_close(out.frame_scores[valid], expected.frame_scores[valid], **TOLERANCE)
    assert_close(out.beta, expected.beta, **TOLERANCE)  # zero on padding in both
    if model.config.has_spatial_attention:
        assert_close(out.alpha[valid], expected.alpha[valid], **TOLERANCE)
    else:
        assert out.alpha is None and expected.alpha is None
    if model.config.has_temporal_attention:
        # The data must exercise both sides of the ReLU for the comparison to mean anything.
        assert (expected.beta[valid] == 0).any() and (expected.beta[valid] > 0).any()

    loss = regularised_loss(out, targets, model, STRONG_OBJECTIVE).total
    loss_reference = regularised_loss(expected, targets, model, STRONG_OBJECTIVE).total
    assert_close(loss, loss_reference, **TOLERANCE)

    # Every parameter and the input; padding frames must receive exactly no gradient.
    gradients = parameter_gradients(loss, model, joints_model)
    gradients_reference = parameter_gradients(loss_reference, model, joints_reference)
    assert gradients.keys() == gradients_reference.keys()
    for name, gradient in gradients.items():
        assert gradient.abs().sum() > 0, f"{name} receives no gradient"
        assert_close(gradient, gradients_reference[name], **TOLERANCE, msg=name)
    assert (gradients["joints"][~mask] == 0).all()


def test_reference_uses_the_models_own_parameters() -> None:
    model = small_model("sta")
    reference = ReferenceSTALSTM(model)
    model_parameters = {id(parameter) for parameter in model.parameters()}
    assert {id(parameter) for parameter in reference.parameters()} == model_parameters


@pytest.mark.parametrize("variant", VARIANTS)
def test_padding_contents_change_nothing(variant: str) -> None:
    model = small_model(variant)
    frames, lengths = 10, [10, 4, 1, 7]
    joints, mask = random_batch(lengths, frames, num_joints=4, num_coords=3)
    targets = torch.tensor([0, 1, 2, 0])
    garbage = joints.clone()
    garbage[~mask] = 1e4 * torch.randn_like(garbage[~mask])  # huge values on padding frames
    garbage[1, -1, 0, 0] = float("nan")  # and the non-finite values a corrupt pad may hold
    garbage[2, -1, 1, 2] = float("inf")

    clean_out = model(joints, mask)
    garbage_out = model(garbage, mask)
    assert_close(garbage_out.logits, clean_out.logits, atol=1e-12, rtol=1e-12)
    assert_close(garbage_out.beta, clean_out.beta, atol=1e-12, rtol=1e-12)
    assert (garbage_out.beta[~mask] == 0).all()
    assert_close(
        garbage_out.frame_scores[mask], clean_out.frame_scores[mask], atol=1e-12, rtol=1e-12
    )
    if clean_out.alpha is not None:
        assert_close(garbage_out.alpha[mask], clean_out.alpha[mask], atol=1e-12, rtol=1e-12)

    clean_loss = regularised_loss(clean_out, targets, model, STRONG_OBJECTIVE).total
    garbage_loss = regularised_loss(garbage_out, targets, model, STRONG_OBJECTIVE).total
    clean_gradients = parameter_gradients(clean_loss, model)
    garbage_gradients = parameter_gradients(garbage_loss, model)
    for name, gradient in clean_gradients.items():
        assert_close(garbage_gradients[name], gradient, atol=1e-12, rtol=1e-12, msg=name)


@pytest.mark.parametrize("variant", VARIANTS)
def test_state_is_withheld_for_padded_batches_and_given_for_full_ones(variant: str) -> None:
    # An LSTM run through padding ends in no clip's state: continuing from it would be wrong.
    model = small_model(variant)
    joints, mask = random_batch([6, 3], 6, num_joints=4, num_coords=3)
    assert model(joints, mask).state is None
    full = model(joints, torch.ones_like(mask))
    assert full.state is not None
    assert_close(full.state.logits, full.logits, atol=0, rtol=0)


@pytest.mark.parametrize("variant", VARIANTS)
def test_objective_reads_the_branches_from_the_output_not_the_module(variant: str) -> None:
    # Training wraps the model (DDP, Lightning); the temporal term must not depend on that.
    model = small_model(variant)
    joints, mask = random_batch([5, 2], 5, num_joints=4, num_coords=3)
    out = model(joints, mask)
    targets = torch.tensor([0, 1])
    direct = regularised_loss(out, targets, model, STRONG_OBJECTIVE)
    wrapped = regularised_loss(out, targets, torch.nn.ModuleList([model]), STRONG_OBJECTIVE)
    assert_close(wrapped.total, direct.total, atol=1e-12, rtol=1e-12)
    assert (direct.temporal > 0) == model.config.has_temporal_attention


@pytest.mark.parametrize("variant", VARIANTS)
def test_clip_alone_equals_the_same_clip_in_a_padded_batch(variant: str) -> None:
    model = small_model(variant)
    frames, lengths = 12, [12, 5, 9]
    joints, mask = random_batch(lengths, frames, num_joints=4, num_coords=3)
    batch_out = model(joints, mask)
    for index, length in enumerate(lengths):
        alone = model(joints[index : index + 1, :length])  # no padding, no mask
        assert_close(alone.logits[0], batch_out.logits[index], atol=1e-12, rtol=1e-12)
        assert_close(alone.beta[0], batch_out.beta[index, :length], atol=1e-12, rtol=1e-12)
        assert_close(
            alone.frame_scores[0],
            batch_out.frame_scores[index, :length],
            atol=1e-12,
            rtol=1e-12,
        )
        if alone.alpha is not None:
            assert_close(alone.alpha[0], batch_out.alpha[index, :length], atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
def test_streaming_frame_by_frame_equals_the_offline_pass_on_every_prefix(variant: str) -> None:
    model = small_model(variant)
    frames = 8
    joints, _ = random_batch([frames, frames], frames, num_joints=4, num_coords=3)
    offline = model(joints)

    state = None
    for t in range(frames):
        step = model(joints[:, t : t + 1], state=state)
        state = step.state
        prefix = model(joints[:, : t + 1])
        assert_close(step.logits, prefix.logits, atol=1e-12, rtol=1e-12)
        assert_close(step.beta[:, 0], offline.beta[:, t], atol=1e-12, rtol=1e-12)
        assert_close(step.frame_scores[:, 0], offline.frame_scores[:, t], atol=1e-12, rtol=1e-12)
        if step.alpha is not None:
            assert_close(step.alpha[:, 0], offline.alpha[:, t], atol=1e-12, rtol=1e-12)
    assert_close(state.logits, offline.logits, atol=1e-12, rtol=1e-12)


def test_streaming_in_uneven_chunks_equals_the_offline_pass() -> None:
    model = small_model("sta")
    joints, _ = random_batch([11, 11], 11, num_joints=4, num_coords=3)
    offline = model(joints)
    state, start = None, 0
    for chunk in (1, 4, 2, 4):
        step = model(joints[:, start : start + chunk], state=state)
        assert_close(step.alpha, offline.alpha[:, start : start + chunk], atol=1e-12, rtol=1e-12)
        state, start = step.state, start + chunk
    assert_close(state.logits, offline.logits, atol=1e-12, rtol=1e-12)


def lifted_joint_task(
    num_joints: int, num_coords: int, clips: int = 12, frames: int = 6, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A separable task: clip i is of class i % 4, which lifts joint i % 4 in every frame above
    noise; clip lengths vary, so padding is part of it. Returns joints, mask and labels."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(clips) % 4
    joints = 0.3 * torch.randn(clips, frames, num_joints, num_coords, generator=generator)
    joints[torch.arange(clips), :, labels, 1] += 1.0
    lengths = torch.randint(3, frames + 1, (clips,), generator=generator)
    return joints, torch.arange(frames)[None] < lengths[:, None], labels


@pytest.mark.parametrize("num_coords", [3, 2])
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_builds_runs_and_trains(variant: str, num_coords: int) -> None:
    """The timm-style test over every registered variant, at the default widths: its outputs
    are well formed, and 30 Adam steps on a separable task bring its regularised loss below a
    quarter of where it started (2.2-2.5, about ln 10; measured after 30 steps over two seeds:
    0.015-0.28)."""
    torch.manual_seed(0)
    config = STALSTMConfig(num_joints=5, num_classes=10, num_coords=num_coords, variant=variant)
    assert STALSTMConfig(**config.to_dict()) == config
    model = build_model(config).train()
    joints, mask, labels = lifted_joint_task(5, num_coords)
    batch, frames = mask.shape

    out = model(joints, mask)
    assert out.logits.shape == (batch, 10)
    assert out.frame_scores.shape == (batch, frames, 10)
    assert (out.beta[~mask] == 0).all() and (out.beta >= 0).all()
    if config.has_spatial_attention:
        assert_close(out.alpha.sum(dim=-1), torch.ones(batch, frames))
    else:
        assert out.alpha is None
    if not config.has_temporal_attention:
        assert torch.equal(out.beta, mask.float())
    assert set(model.parts()) == {"main"} | {
        part
        for part, present in (
            ("spatial", config.has_spatial_attention),
            ("temporal", config.has_temporal_attention),
        )
        if present
    }

    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    reached: set[str] = set()
    for step in range(30):
        optimiser.zero_grad()
        loss = regularised_loss(model(joints, mask), labels, model, ObjectiveConfig()).total
        loss.backward()
        reached |= {name for name, p in model.named_parameters()
                    if p.grad is not None and p.grad.abs().sum() > 0}  # fmt: skip
        if step == 2:
            # from the neutral start (the attention's output layers at 0) the gradient reaches
            # the attention's output layers first and the attention LSTMs one step later
            assert reached == {name for name, _ in model.named_parameters()}
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] / 4, losses


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"variant": "stla"}, "variant must be one of"),
        ({"num_coords": 4}, "num_coords"),
        ({"num_coords": 1}, "num_coords"),
        ({"num_joints": 0}, "num_joints must be at least 1"),
        ({"num_classes": 0}, "num_classes must be at least 1"),
        ({"main_layers": 0}, "main_layers must be at least 1"),
        ({"dropout": 1.0}, "dropout must be in"),
        ({"gate_gradient_leak": -0.1}, "gate_gradient_leak must be in"),
    ],
)
def test_config_rejects_invalid_settings(changes: dict, message: str) -> None:
    settings = {"num_joints": 25, "num_classes": 10, **changes}
    with pytest.raises(ValueError, match=message):
        STALSTMConfig(**settings)


def test_forward_rejects_joints_of_the_wrong_layout() -> None:
    model = build_model(STALSTMConfig(num_joints=25, num_classes=10))
    with pytest.raises(ValueError, match=r"25 joints x 3 coordinates.*got 15 x 3"):
        model(torch.zeros(1, 4, 15, 3))
    with pytest.raises(ValueError, match="got 25 x 2"):
        model(torch.zeros(1, 4, 25, 2))


def test_boundary_heads_add_start_and_end_confidences_and_change_nothing_else() -> None:
    torch.manual_seed(0)
    plain = build_model(STALSTMConfig(num_joints=5, num_classes=4, main_hidden=8))
    config = STALSTMConfig(num_joints=5, num_classes=4, main_hidden=8, boundary_heads=True)
    heads = build_model(config)
    heads.load_state_dict(plain.state_dict(), strict=False)  # every weight but the heads'
    joints = torch.randn(2, 7, 5, 3)
    out, reference = heads.eval()(joints), plain.eval()(joints)
    assert reference.boundaries is None and out.boundaries.shape == (2, 7, 2)
    assert float(out.boundaries.min()) >= 0 and float(out.boundaries.max()) <= 1
    torch.testing.assert_close(out.logits, reference.logits)
    assert set(heads.state_dict()) - set(plain.state_dict()) == {
        "main.boundaries.weight",
        "main.boundaries.bias",
    }
