"""STA-LSTM: the spatio-temporal attention LSTM for skeleton action recognition.

References:
    S. Song, C. Lan, J. Xing, W. Zeng, J. Liu, "An End-to-End Spatio-Temporal Attention Model for
    Human Action Recognition from Skeleton Data", AAAI 2017 (arXiv 1611.06067); journal version
    IEEE TIP 27(7), 2018. Equation numbers below follow the AAAI paper; the project's own
    statement of the model is ``docs/sta-lstm.md`` in this repository.

Reading guide (B batch, T frames, K joints of all persons, C coordinates, N classes):

    X_t (K x C)                       the joints of frame t, flattened to D = K * C inputs
    spatial attention  (eq. 1-3):     h^s = LSTM_s(X)
                                      s_t = U_s tanh(W_xs X_t + W_hs h^s_{t-1} + b_si) + b_so
                                      alpha_t = softmax_K(s_t);  Y_t = alpha_t * X_t (per joint)
    temporal attention (eq. 6):       h^p = LSTM_p(X)
                                      beta_t = ReLU(w_xp X_t + w_hp h^p_{t-1} + b_p)
    main network       (eq. 4):       h = LSTM^3(Y);  z_t = W_z h_t + b_z
    output             (eq. 7):       o = sum_t beta_t z_t over valid frames

Neither attention LSTM reads the main network, so every recurrent part is ONE fused
full-sequence ``nn.LSTM`` call, and h_{t-1} for all t is that call's output shifted right by one
frame (the initial state in front). There is no Python loop over time anywhere in this file; the
per-step form of the same model lives in ``tests/reference_model.py`` as the test oracle.

Variants come from the same code: ``lstm`` (Y = X, beta_t = 1), ``sa`` (spatial only),
``ta`` (temporal only), ``sta`` (both).

Streaming: ``forward`` takes an optional ``ModelState`` (the three LSTMs' states and the running
sum o) and returns the state after the last frame, so feeding a clip one frame at a time gives
exactly the offline result on every prefix. That is the whole online recogniser.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal, NamedTuple

import torch
from torch import Tensor, nn

from stalstm.errors import SettingError

Variant = Literal["lstm", "sa", "ta", "sta"]
VARIANTS: tuple[Variant, ...] = ("lstm", "sa", "ta", "sta")

LSTMState = tuple[Tensor, Tensor]  # (h, c), each (layers, B, hidden)


@dataclass(frozen=True)
class STALSTMConfig:
    """Every size and switch of the model. The paper gives no widths (docs: "Settings and why")."""

    num_joints: int  # K: joints of all persons together, e.g. 2 x 25 = 50 for NTU RGB+D
    num_classes: int  # N
    num_coords: int = 3  # C: 3 for 3D skeletons, 2 for 2D keypoints
    variant: Variant = "sta"
    main_hidden: int = 100  # units in each main LSTM layer          (not confirmed; ours)
    main_layers: int = 3  # main LSTM layers                          (paper: 3)
    dropout: float = 0.5  # between main LSTM layers                  (not confirmed; ours)
    spatial_hidden: int = 100  # units of the spatial attention LSTM  (not confirmed; ours)
    spatial_tanh: int = 100  # units of the tanh layer producing s_t  (not confirmed; ours)
    temporal_hidden: int = 100  # units of the temporal attention LSTM (not confirmed; ours)
    temporal_bias: float = 1.0  # initial b_p > 0 so that beta does not start dead at 0
    # X = (joints - centre) / scale by the training set's statistics: any coordinates train
    # alike (docs: the model, "why each default")
    standardise_input: bool = True
    gate_gradient_leak: float = 0.1  # backward slope of the ReLU gate below 0 (training only)
    boundary_heads: bool = False  # detection: per-frame start/end confidences (JCR-RNN style)
    # Legacy: False only in model files written by stalstm 0.1 (modelfile.LEGACY_CONFIG); the
    # main network then reads alpha_t X_t instead of K alpha_t X_t. Not a recipe key.
    rescale_attended_input: bool = True

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise SettingError("variant", f"must be one of {VARIANTS}, got {self.variant!r}")
        if self.num_coords not in (2, 3):
            raise SettingError("num_coords", f"must be 2 or 3, got {self.num_coords}")
        for name in ("num_joints", "num_classes", "main_hidden", "main_layers", "spatial_hidden",
                     "spatial_tanh", "temporal_hidden"):  # fmt: skip
            if getattr(self, name) < 1:
                raise SettingError(name, f"must be at least 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise SettingError("dropout", f"must be in [0, 1), got {self.dropout}")
        if not 0.0 <= self.gate_gradient_leak <= 1.0:
            raise SettingError(
                "gate_gradient_leak", f"must be in [0, 1], got {self.gate_gradient_leak}"
            )

    @property
    def input_size(self) -> int:
        return self.num_joints * self.num_coords  # D

    @property
    def has_spatial_attention(self) -> bool:
        return self.variant in ("sa", "sta")

    @property
    def has_temporal_attention(self) -> bool:
        return self.variant in ("ta", "sta")

    def to_dict(self) -> dict:
        return asdict(self)


class ModelState(NamedTuple):
    """Everything needed to continue a sequence: LSTM states and the running output o."""

    spatial: LSTMState | None  # (1, B, Hs) each, or None without spatial attention
    temporal: LSTMState | None  # (1, B, Hp) each, or None without temporal attention
    main: LSTMState  # (layers, B, H) each
    logits: Tensor  # (B, N): sum of beta_t z_t so far


@dataclass
class STALSTMOutput:
    """What one forward pass returns; pictures and online use need nothing else."""

    logits: Tensor  # (B, N)    o = sum_t beta_t z_t over valid frames
    frame_scores: Tensor  # (B, T, N) z_t
    alpha: Tensor | None  # (B, T, K) spatial attention, None without it (then Y = X)
    beta: Tensor  # (B, T)    temporal attention; 1 on valid frames without it; 0 on padding
    mask: Tensor  # (B, T)    True on valid frames
    state: ModelState | None  # state after the last frame, to continue the sequences; None
    #                           when a clip is padded (the state after padding is no clip's)
    has_temporal_attention: bool  # whether beta is learned (else it is 1 on valid frames)
    boundaries: Tensor | None = None  # (B, T, 2) start and end confidences, with boundary_heads


def previous_hidden(hidden: Tensor, initial: Tensor) -> Tensor:
    """h_{t-1} for every t: the LSTM output (B, T, H) shifted right by one frame, with the
    hidden state before the first frame (B, H) in front."""
    return torch.cat([initial.unsqueeze(1), hidden[:, :-1]], dim=1)  # (B, T, H)


class SpatialAttention(nn.Module):
    """Joint selection (eq. 1-3): alpha_t = softmax_K(U_s tanh(W_xs X_t + W_hs h^s_{t-1} + b_si)
    + b_so), its own LSTM reading the raw X."""

    def __init__(self, config: STALSTMConfig) -> None:
        super().__init__()
        self.lstm = nn.LSTM(config.input_size, config.spatial_hidden, batch_first=True)
        self.input_to_tanh = nn.Linear(config.input_size, config.spatial_tanh)  # W_xs, b_si
        self.hidden_to_tanh = nn.Linear(config.spatial_hidden, config.spatial_tanh, bias=False)
        self.joint_scores = nn.Linear(config.spatial_tanh, config.num_joints)  # U_s, b_so
        # alpha starts uniform on every frame (U_s = 0, b_so = 0)
        nn.init.zeros_(self.joint_scores.weight)
        nn.init.zeros_(self.joint_scores.bias)

    def forward(self, x: Tensor, state: LSTMState | None) -> tuple[Tensor, LSTMState]:
        hidden, new_state = self.lstm(x, state)  # (B, T, Hs)
        initial = hidden.new_zeros(x.shape[0], hidden.shape[-1]) if state is None else state[0][-1]
        hidden_before = previous_hidden(hidden, initial)  # h^s_{t-1}: (B, T, Hs)
        s = self.joint_scores(
            torch.tanh(self.input_to_tanh(x) + self.hidden_to_tanh(hidden_before))
        )  # (B, T, K)
        return torch.softmax(s, dim=-1), new_state  # alpha: (B, T, K)


class LeakyGradientReLU(torch.autograd.Function):
    """ReLU forward; backward passes ``leak`` times the gradient where the input is negative."""

    @staticmethod
    def forward(ctx, gate: Tensor, leak: float) -> Tensor:
        ctx.save_for_backward(gate)
        ctx.leak = leak
        return gate.clamp_min(0.0)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:
        (gate,) = ctx.saved_tensors
        return torch.where(gate > 0, grad, grad * ctx.leak), None


class TemporalAttention(nn.Module):
    """Frame selection (eq. 6): beta_t = ReLU(w_xp X_t + w_hp h^p_{t-1} + b_p), its own LSTM
    reading the raw X. ReLU rather than softmax, as the paper chose; b_p starts positive."""

    def __init__(self, config: STALSTMConfig) -> None:
        super().__init__()
        self.lstm = nn.LSTM(config.input_size, config.temporal_hidden, batch_first=True)
        self.input_to_gate = nn.Linear(config.input_size, 1)  # w_xp, b_p
        self.hidden_to_gate = nn.Linear(config.temporal_hidden, 1, bias=False)  # w_hp
        # beta starts at b_p on every frame (w_xp = w_hp = 0): STA-LSTM starts as the plain LSTM
        nn.init.constant_(self.input_to_gate.bias, config.temporal_bias)
        nn.init.zeros_(self.input_to_gate.weight)
        nn.init.zeros_(self.hidden_to_gate.weight)
        self.gradient_leak = config.gate_gradient_leak

    def forward(self, x: Tensor, state: LSTMState | None) -> tuple[Tensor, LSTMState]:
        hidden, new_state = self.lstm(x, state)  # (B, T, Hp)
        initial = hidden.new_zeros(x.shape[0], hidden.shape[-1]) if state is None else state[0][-1]
        hidden_before = previous_hidden(hidden, initial)  # h^p_{t-1}: (B, T, Hp)
        gate = self.input_to_gate(x) + self.hidden_to_gate(hidden_before)  # (B, T, 1)
        if self.training and self.gradient_leak > 0.0 and gate.requires_grad:
            return LeakyGradientReLU.apply(gate, self.gradient_leak).squeeze(-1), new_state
        return torch.relu(gate).squeeze(-1), new_state  # beta: (B, T)


class MainNetwork(nn.Module):
    """The classifier (eq. 4): a stack of LSTM layers over Y and a linear layer giving the
    per-frame class scores z_t."""

    def __init__(self, config: STALSTMConfig) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            config.input_size,
            config.main_hidden,
            num_layers=config.main_layers,
            dropout=config.dropout if config.main_layers > 1 else 0.0,
            batch_first=True,
        )
        self.classifier = nn.Linear(config.main_hidden, config.num_classes)  # W_z, b_z
        # Detection only (not in the paper; Li et al., ECCV 2016, JCR-RNN): how close each frame
        # is to an action's start and end, regressed from the same hidden state.
        self.boundaries = nn.Linear(config.main_hidden, 2) if config.boundary_heads else None

    def forward(
        self, y: Tensor, state: LSTMState | None
    ) -> tuple[Tensor, Tensor | None, LSTMState]:
        hidden, new_state = self.lstm(y, state)  # (B, T, H)
        boundaries = None if self.boundaries is None else torch.sigmoid(self.boundaries(hidden))
        return self.classifier(hidden), boundaries, new_state  # z: (B, T, N); (B, T, 2)


class STALSTM(nn.Module):
    """The full model; ``config.variant`` chooses which attention branches exist."""

    def __init__(self, config: STALSTMConfig) -> None:
        super().__init__()
        self.config = config
        self.spatial_attention = SpatialAttention(config) if config.has_spatial_attention else None
        self.temporal_attention = (
            TemporalAttention(config) if config.has_temporal_attention else None
        )
        self.main = MainNetwork(config)
        # per (joint, coordinate): X is (joints - input_mean) / input_scale; identity until the
        # training set's statistics are set (set_input_statistics)
        self.register_buffer("input_mean", torch.zeros(config.num_joints, config.num_coords))
        self.register_buffer("input_scale", torch.ones(config.num_joints, config.num_coords))

    def set_input_statistics(self, mean: Tensor, scale: Tensor) -> None:
        """Standardise the input by these (K, C) statistics of the training set."""
        self.input_mean.copy_(mean)
        self.input_scale.copy_(scale)

    def standardise(self, joints: Tensor) -> Tensor:
        """(B, T, K, C) joints -> X, standardised; a joint whose coordinates are all exactly 0
        (an absent person, padding) stays 0, i.e. at the training mean."""
        if not self.config.standardise_input:
            return joints
        present = (joints != 0).any(dim=-1, keepdim=True)  # (B, T, K, 1)
        standardised = (joints - self.input_mean) / self.input_scale
        return torch.where(present, standardised, torch.zeros_like(standardised))

    def attended_input(self, joints: Tensor, alpha: Tensor) -> Tensor:
        """Y_t = alpha_t X_t, what the main network reads: (B, T, K, C) standardised joints X
        and (B, T, K) attention alpha -> (B, T, K, C)."""
        attended = alpha.unsqueeze(-1) * joints
        if self.config.rescale_attended_input:
            attended = attended * self.config.num_joints
        return attended

    def forward(
        self, joints: Tensor, mask: Tensor | None = None, state: ModelState | None = None
    ) -> STALSTMOutput:
        """Run the model over a batch of clips.

        Args:
            joints: (B, T, K, C) coordinates, clips padded with anything on the right.
            mask: (B, T) bool, True on valid frames; all frames valid when None. Every part is
                causal, so the valid frames' outputs never depend on the padding.
            state: the state returned by a previous call, to continue those sequences (online
                recognition); None starts from zeros. The returned state is None when a clip
                of the batch is padded: an LSTM run through padding has no clip's final state.
        """
        batch, frames, num_joints, num_coords = joints.shape
        config = self.config
        if (num_joints, num_coords) != (config.num_joints, config.num_coords):
            raise ValueError(
                f"model expects {config.num_joints} joints x {config.num_coords} coordinates "
                f"per frame, got {num_joints} x {num_coords}"
            )
        padded = False
        if mask is None:
            mask = torch.ones(batch, frames, dtype=torch.bool, device=joints.device)
        else:
            # Padding may hold anything, NaN included; zero it so that 0 * NaN never reaches o.
            joints = joints.masked_fill(~mask[:, :, None, None], 0.0)
            if not (torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()):
                padded = not bool(mask.all())
        joints = self.standardise(joints)
        x = joints.reshape(batch, frames, num_joints * num_coords)  # X: (B, T, D)

        # Spatial attention: which joints to read in each frame.
        if self.spatial_attention is not None:
            alpha, spatial_state = self.spatial_attention(x, state.spatial if state else None)
            y = self.attended_input(joints, alpha).reshape(batch, frames, -1)  # Y: (B, T, D)
        else:
            alpha, spatial_state, y = None, None, x

        # Temporal attention: how much each frame's class scores count.
        valid = mask.to(x.dtype)  # (B, T)
        if self.temporal_attention is not None:
            beta, temporal_state = self.temporal_attention(x, state.temporal if state else None)
            beta = beta * valid  # (B, T): padding frames count nothing
        else:
            beta, temporal_state = valid, None

        # Main network and the attention-weighted sum of per-frame class scores.
        frame_scores, boundaries, main_state = self.main(y, state.main if state else None)
        logits = torch.einsum("bt,btn->bn", beta, frame_scores)  # o: (B, N)
        if state is not None:
            logits = logits + state.logits
        new_state = (
            None if padded else ModelState(spatial_state, temporal_state, main_state, logits)
        )
        return STALSTMOutput(
            logits, frame_scores, alpha, beta, mask, new_state, self.temporal_attention is not None,
            boundaries,
        )  # fmt: skip

    def parts(self) -> dict[str, nn.Module]:
        """The named sub-networks a training stage can train or freeze."""
        parts: dict[str, nn.Module] = {"main": self.main}
        if self.spatial_attention is not None:
            parts["spatial"] = self.spatial_attention
        if self.temporal_attention is not None:
            parts["temporal"] = self.temporal_attention
        return parts


def build_model(config: STALSTMConfig) -> STALSTM:
    """The model for a config (the one entry point, so that every variant is built the same way)."""
    return STALSTM(config)
