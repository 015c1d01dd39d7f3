"""The per-frame detection score, defined once, from the model's own outputs.

STA-LSTM's clip output is o = sum_t beta_t z_t over the whole clip. An untrimmed stream has no
clip: the detection score of frame t is the same sum over the last ``window`` frames,

    o_t = sum_{u = t - W + 1 .. t} beta_u z_u        (frames before the stream count 0)

and the class probabilities of frame t are softmax(o_t) over the classes and background.
W = 1 gives beta_t z_t: the temporal attention then scales the frame's own scores (its
confidence); a larger W lets the frames the attention picked carry over to the next few. Every
term is causal, so o_t is known when frame t arrives, and an online detector needs only the
last W - 1 weighted scores as its state. Training (``stalstm.objective``, frame-wise), the
offline and online ``Detector`` and the ONNX detection step all call ``window_scores`` below, so
the three cannot drift apart.
"""

from __future__ import annotations

import torch
from torch import Tensor


def window_scores(
    beta: Tensor, frame_scores: Tensor, window: int, history: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Detection scores o_t of every frame and the state to continue with.

    Args:
        beta: (B, T) temporal attention (0 on padding frames).
        frame_scores: (B, T, N) per-frame class scores z_t.
        window: W >= 1, frames summed.
        history: (B, W - 1, N) weighted scores beta_u z_u of the W - 1 frames before these
            (zeros, or None, at the start of a stream).

    Returns:
        o: (B, T, N) the scores; and the (B, W - 1, N) history after the last frame.
    """
    if window < 1:
        raise ValueError(f"the detection window must be at least 1 frame, got {window}")
    weighted = beta.unsqueeze(-1) * frame_scores  # beta_t z_t: (B, T, N)
    if window == 1:
        return weighted, weighted[:, :0]
    batch, frames, classes = weighted.shape
    if history is None:
        history = weighted.new_zeros(batch, window - 1, classes)
    padded = torch.cat([history, weighted], dim=1)  # (B, W - 1 + T, N)
    # frame t's sum, oldest term first; W shifted slices rather than Tensor.unfold, which the
    # ONNX exporter cannot write for a dynamic time axis
    scores = padded[:, :frames]
    for shift in range(1, window):
        scores = scores + padded[:, shift : shift + frames]  # (B, T, N)
    return scores, padded[:, frames:]  # the last W - 1 weighted scores
