"""The per-time-step reference of STA-LSTM: the test oracle for ``stalstm.model``.

Written straight from the equations of ``docs/sta-lstm.md`` of this repository (AAAI 2017, eq.
1-7), one frame at a time, with every LSTM cell computed by hand:

    i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)      input gate
    f = sigmoid(W_if x + b_if + W_hf h + b_hf)      forget gate
    g = tanh   (W_ig x + b_ig + W_hg h + b_hg)      cell candidate
    o = sigmoid(W_io x + b_io + W_ho h + b_ho)      output gate
    c' = f * c + i * g;   h' = o * tanh(c')

(PyTorch stores the four gates stacked in the order i, f, g, o in ``weight_ih``/``weight_hh``.)
At frame t, the spatial attention reads X_t and the spatial LSTM's h^s_{t-1} BEFORE that LSTM
steps; the temporal attention likewise reads h^p_{t-1}; the main stack reads Y_t = alpha_t X_t;
z_t = W_z h_t + b_z; o = sum over the clip's valid frames of beta_t z_t.

It shares no code with ``stalstm.model``: it only reads the numbers of a ``STALSTM`` instance.
The parameters it holds ARE that instance's ``nn.Parameter`` objects, so gradients of either
model land on the same leaves and the reference can be trained (the benchmark does). Dropout is
not applied (compare with the model in ``eval()`` mode). Clips are batched; the loop is over time.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass
class ReferenceOutput:
    """The reference's results, with the field names the objective reads."""

    logits: Tensor  # (B, N)
    frame_scores: Tensor  # (B, T, N)
    alpha: Tensor | None  # (B, T, K)
    beta: Tensor  # (B, T), 0 on padding frames
    mask: Tensor  # (B, T)
    has_temporal_attention: bool


class LSTMCellByHand(nn.Module):
    """One LSTM cell, the four gate equations written out; parameters shared with ``lstm``'s
    layer ``layer`` (an ``nn.LSTM``)."""

    def __init__(self, lstm: nn.LSTM, layer: int) -> None:
        super().__init__()
        self.weight_input = getattr(lstm, f"weight_ih_l{layer}")  # (4H, D_in)
        self.weight_hidden = getattr(lstm, f"weight_hh_l{layer}")  # (4H, H)
        self.bias_input = getattr(lstm, f"bias_ih_l{layer}")  # (4H,)
        self.bias_hidden = getattr(lstm, f"bias_hh_l{layer}")  # (4H,)
        self.hidden_size = lstm.hidden_size

    def forward(self, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
        size = self.hidden_size

        def gate(index: int) -> Tensor:
            rows = slice(index * size, (index + 1) * size)
            return (
                x @ self.weight_input[rows].T
                + self.bias_input[rows]
                + h @ self.weight_hidden[rows].T
                + self.bias_hidden[rows]
            )

        input_gate = torch.sigmoid(gate(0))
        forget_gate = torch.sigmoid(gate(1))
        candidate = torch.tanh(gate(2))
        output_gate = torch.sigmoid(gate(3))
        c_next = forget_gate * c + input_gate * candidate
        h_next = output_gate * torch.tanh(c_next)
        return h_next, c_next


class ReferenceSTALSTM(nn.Module):
    """STA-LSTM one frame at a time, holding the parameters of ``model`` (a ``stalstm.STALSTM``).

    The variant is read from which branches ``model`` has: no spatial attention means Y = X, no
    temporal attention means beta_t = 1 on every valid frame. ``cell`` builds each LSTM cell
    (the benchmark swaps in a faster formulation of the same equations).
    """

    def __init__(self, model: nn.Module, cell: type[LSTMCellByHand] = LSTMCellByHand) -> None:
        super().__init__()
        spatial = model.spatial_attention
        temporal = model.temporal_attention
        self.num_joints = model.config.num_joints
        self.num_coords = model.config.num_coords
        self.standardise = model.config.standardise_input
        self.input_mean = model.input_mean  # (K, C)
        self.input_scale = model.input_scale  # (K, C)
        self.rescale = model.config.rescale_attended_input

        self.has_spatial = spatial is not None
        if spatial is not None:
            self.spatial_cell = cell(spatial.lstm, 0)
            self.W_xs = spatial.input_to_tanh.weight  # (S, D)
            self.b_si = spatial.input_to_tanh.bias  # (S,)
            self.W_hs = spatial.hidden_to_tanh.weight  # (S, Hs)
            self.U_s = spatial.joint_scores.weight  # (K, S)
            self.b_so = spatial.joint_scores.bias  # (K,)

        self.has_temporal = temporal is not None
        if temporal is not None:
            self.temporal_cell = cell(temporal.lstm, 0)
            self.w_xp = temporal.input_to_gate.weight  # (1, D)
            self.b_p = temporal.input_to_gate.bias  # (1,)
            self.w_hp = temporal.hidden_to_gate.weight  # (1, Hp)

        main_lstm = model.main.lstm
        self.main_cells = nn.ModuleList(
            cell(main_lstm, layer) for layer in range(main_lstm.num_layers)
        )
        self.W_z = model.main.classifier.weight  # (N, H)
        self.b_z = model.main.classifier.bias  # (N,)

    def forward(self, joints: Tensor, mask: Tensor | None = None) -> ReferenceOutput:
        """joints (B, T, K, C), mask (B, T) True on valid frames (right padding)."""
        batch, frames = joints.shape[:2]
        if mask is None:
            mask = torch.ones(batch, frames, dtype=torch.bool)

        def zeros_state(cell: LSTMCellByHand) -> tuple[Tensor, Tensor]:
            zero = joints.new_zeros(batch, cell.hidden_size)
            return zero, zero

        spatial_state = zeros_state(self.spatial_cell) if self.has_spatial else None
        temporal_state = zeros_state(self.temporal_cell) if self.has_temporal else None
        main_states = [zeros_state(cell) for cell in self.main_cells]

        alphas, betas, scores = [], [], []
        logits = joints.new_zeros(batch, self.W_z.shape[0])
        for t in range(frames):
            joints_t = joints[:, t] * mask[:, t, None, None]  # (B, K, C); padding is zeros
            if self.standardise:  # a joint that is exactly zero (absent) stays zero
                present = (joints_t != 0).any(dim=-1, keepdim=True)
                joints_t = torch.where(
                    present, (joints_t - self.input_mean) / self.input_scale, 0.0 * joints_t
                )
            x_t = joints_t.reshape(batch, -1)  # X_t: (B, D)
            valid_t = mask[:, t].to(joints.dtype)  # (B,)

            if spatial_state is not None:
                h_s_previous = spatial_state[0]  # h^s_{t-1}
                s_t = (
                    torch.tanh(x_t @ self.W_xs.T + h_s_previous @ self.W_hs.T + self.b_si)
                    @ self.U_s.T
                    + self.b_so
                )  # (B, K)
                alpha_t = torch.exp(s_t - s_t.max(dim=1, keepdim=True).values)
                alpha_t = alpha_t / alpha_t.sum(dim=1, keepdim=True)  # softmax over joints
                y_t = (alpha_t[:, :, None] * joints_t).reshape(batch, -1)  # Y_t: (B, D)
                if self.rescale:  # the main input weights parametrised as K x W'
                    y_t = y_t * self.num_joints
                spatial_state = self.spatial_cell(x_t, *spatial_state)
                alphas.append(alpha_t)
            else:
                y_t = x_t

            if temporal_state is not None:
                h_p_previous = temporal_state[0]  # h^p_{t-1}
                gate = x_t @ self.w_xp.T + h_p_previous @ self.w_hp.T + self.b_p  # (B, 1)
                beta_t = torch.clamp(gate[:, 0], min=0.0) * valid_t  # ReLU; 0 on padding
                temporal_state = self.temporal_cell(x_t, *temporal_state)
            else:
                beta_t = valid_t

            layer_input = y_t
            for layer, cell in enumerate(self.main_cells):
                main_states[layer] = cell(layer_input, *main_states[layer])
                layer_input = main_states[layer][0]
            z_t = layer_input @ self.W_z.T + self.b_z  # (B, N)

            logits = logits + beta_t[:, None] * z_t
            betas.append(beta_t)
            scores.append(z_t)

        alpha = torch.stack(alphas, dim=1) if alphas else None
        return ReferenceOutput(
            logits=logits,
            frame_scores=torch.stack(scores, dim=1),
            alpha=alpha,
            beta=torch.stack(betas, dim=1),
            mask=mask,
            has_temporal_attention=self.has_temporal,
        )
