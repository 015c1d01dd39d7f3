"""ONNX export: the offline model over whole clips, and a streaming step model for online use.

Two graphs come out of one trained model:

- offline: ``joints`` (B, T, K, C) float32 and ``mask`` (B, T) bool in; ``logits`` (B, N),
  ``probabilities`` (B, N), ``beta`` (B, T) and, when the variant has spatial attention,
  ``alpha`` (B, T, K) out. Batch and time axes are dynamic.
- streaming step: one frame ``joints`` (B, K, C) and the state (``spatial_h``, ``spatial_c``,
  ``temporal_h``, ``temporal_c`` when those branches exist; ``main_h``, ``main_c``; ``logits``,
  the running sum o) in; ``probabilities`` (B, N) and the next state (``next_<name>``) out. The
  batch axis is dynamic. Start from ``initial_state`` (zeros) and feed each output state back.
- detection step (a frame-wise detection model, ``stalstm.detection``): the streaming step plus,
  for a window W > 1, the ``window`` state (B, W - 1, N) of the last weighted frame scores;
  outputs ``probabilities`` of this frame over the classes and background (the detection score
  of ``stalstm.scores``), ``beta`` (B,), the next state and, with boundary heads,
  ``boundaries`` (B, 2). Its probabilities feed
  the same segment tracker as the PyTorch ``Detector`` (``OnnxStreamingDetector``).

Exporter: the TorchScript-based ``torch.onnx.export(..., dynamo=False)``. In torch 2.13 the
default exporter (``dynamo=True``) goes through ``torch.export``, which specialises the time
axis of ``nn.LSTM`` to the example's length (a constraint violation when time is declared
dynamic; the fallback graph then declares a fixed time on its outputs). The TorchScript
exporter writes each ``nn.LSTM`` layer as one ONNX ``LSTM`` op with dynamic batch and time, in
well under a second; it is deprecated upstream, so this module keeps the exporter call in one
place. Parity with PyTorch is tested in ``tests/test_export.py``.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from stalstm.detection.segmenting import SegmentTracker
from stalstm.model import STALSTM, ModelState, STALSTMConfig
from stalstm.scores import window_scores

OPSET = 17


def state_names(config: STALSTMConfig, window: int = 0) -> list[str]:
    """Names of the streaming model's state inputs, in order (outputs are ``next_<name>``);
    with a detection ``window`` W > 1 the last one is ``window``."""
    names = []
    if config.has_spatial_attention:
        names += ["spatial_h", "spatial_c"]
    if config.has_temporal_attention:
        names += ["temporal_h", "temporal_c"]
    return [*names, "main_h", "main_c", "logits", *(["window"] if window > 1 else [])]


def initial_state(config: STALSTMConfig, batch: int = 1, window: int = 0) -> dict[str, np.ndarray]:
    """The zero state before the first frame, as onnxruntime inputs (``window``: of a detection
    step graph)."""
    sizes = {
        "spatial": (1, config.spatial_hidden),
        "temporal": (1, config.temporal_hidden),
        "main": (config.main_layers, config.main_hidden),
    }
    state = {}
    for name in state_names(config, window):
        if name == "logits":
            state[name] = np.zeros((batch, config.num_classes), np.float32)
        elif name == "window":
            state[name] = np.zeros((batch, window - 1, config.num_classes), np.float32)
        else:
            layers, hidden = sizes[name.rsplit("_", 1)[0]]
            state[name] = np.zeros((layers, batch, hidden), np.float32)
    return state


class OfflineGraph(nn.Module):
    """The model with plain tensor outputs, as the ONNX graph sees it."""

    def __init__(self, model: STALSTM) -> None:
        super().__init__()
        self.model = model

    def forward(self, joints: Tensor, mask: Tensor) -> tuple[Tensor, ...]:
        output = self.model(joints, mask)
        outputs = (output.logits, torch.softmax(output.logits, dim=-1), output.beta)
        return outputs if output.alpha is None else (*outputs, output.alpha)


class StreamingStep(nn.Module):
    """One frame and the state in; probabilities and the next state out."""

    def __init__(self, model: STALSTM) -> None:
        super().__init__()
        self.model = model

    def forward(self, joints: Tensor, *state: Tensor) -> tuple[Tensor, ...]:
        config = self.model.config
        values = list(state)
        spatial = (values.pop(0), values.pop(0)) if config.has_spatial_attention else None
        temporal = (values.pop(0), values.pop(0)) if config.has_temporal_attention else None
        main_h, main_c, logits = values
        previous = ModelState(spatial, temporal, (main_h, main_c), logits)
        output = self.model(joints.unsqueeze(1), None, previous)  # one frame: (B, 1, K, C)
        following = output.state
        flat: list[Tensor] = []
        for part in (following.spatial, following.temporal):
            if part is not None:
                flat += [part[0], part[1]]
        flat += [following.main[0], following.main[1], following.logits]
        return (torch.softmax(following.logits, dim=-1), *flat)


class DetectionStep(nn.Module):
    """One frame and the state in; this frame's detection probabilities, beta and the next
    state out (``stalstm.scores.window_scores``, the detector's own function)."""

    def __init__(self, model: STALSTM, window: int) -> None:
        super().__init__()
        self.step = StreamingStep(model)
        self.window = window

    def forward(self, joints: Tensor, *state: Tensor) -> tuple[Tensor, ...]:

        config = self.step.model.config
        values = list(state)
        history = values.pop() if self.window > 1 else None
        spatial = (values.pop(0), values.pop(0)) if config.has_spatial_attention else None
        temporal = (values.pop(0), values.pop(0)) if config.has_temporal_attention else None
        main_h, main_c, logits = values
        previous = ModelState(spatial, temporal, (main_h, main_c), logits)
        output = self.step.model(joints.unsqueeze(1), None, previous)  # one frame: (B, 1, K, C)
        if history is None:  # W = 1: no state beyond the model's
            history = output.frame_scores.new_zeros(joints.shape[0], 0, config.num_classes)
        scores, following_history = window_scores(
            output.beta, output.frame_scores, self.window, history
        )
        following = output.state
        flat: list[Tensor] = []
        for part in (following.spatial, following.temporal):
            if part is not None:
                flat += [part[0], part[1]]
        flat += [following.main[0], following.main[1], following.logits]
        if self.window > 1:
            flat.append(following_history)
        if output.boundaries is not None:  # boundary heads: this frame's (start, end)
            flat.append(output.boundaries[:, -1])
        return (torch.softmax(scores[:, -1], dim=-1), output.beta[:, -1], *flat)


def _export(module: nn.Module, example: tuple[Tensor, ...], path: Path, **names: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # The tracer warns about the model's shape check and the LSTM batch-size note; both are
        # about shapes the parity tests vary (batch 1..3, 1..46 frames) and are harmless here.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(), example, str(path), dynamo=False, opset_version=OPSET, **names
        )
    return path


def export_offline(model: STALSTM, path: str | Path) -> Path:
    """Write the whole-clip model to ``path`` with dynamic batch and time axes."""
    config = model.config
    model = model.eval()
    example = (
        torch.zeros(2, 3, config.num_joints, config.num_coords),
        torch.ones(2, 3, dtype=torch.bool),
    )
    outputs = ["logits", "probabilities", "beta"]
    if config.has_spatial_attention:
        outputs.append("alpha")
    axes = {"joints": {0: "batch", 1: "time"}, "mask": {0: "batch", 1: "time"}}
    axes |= {"logits": {0: "batch"}, "probabilities": {0: "batch"}, "beta": {0: "batch", 1: "time"}}
    if config.has_spatial_attention:
        axes["alpha"] = {0: "batch", 1: "time"}
    return _export(
        OfflineGraph(model),
        example,
        Path(path),
        input_names=["joints", "mask"],
        output_names=outputs,
        dynamic_axes=axes,
    )


def export_streaming(model: STALSTM, path: str | Path) -> Path:
    """Write the one-frame step model to ``path`` with a dynamic batch (stream) axis."""
    config = model.config
    model = model.eval()
    names = state_names(config)
    state = tuple(torch.from_numpy(value) for value in initial_state(config, batch=2).values())
    example = (torch.zeros(2, config.num_joints, config.num_coords), *state)
    axes: dict[str, dict[int, str]] = {"joints": {0: "batch"}, "probabilities": {0: "batch"}}
    for name in names:
        batch_axis = 0 if name == "logits" else 1
        axes[name] = {batch_axis: "batch"}
        axes[f"next_{name}"] = {batch_axis: "batch"}
    return _export(
        StreamingStep(model),
        example,
        Path(path),
        input_names=["joints", *names],
        output_names=["probabilities", *(f"next_{name}" for name in names)],
        dynamic_axes=axes,
    )


def export_detection(model: STALSTM, path: str | Path, window: int) -> Path:
    """Write the one-frame detection step of a frame-wise model with detection ``window`` W."""
    config = model.config
    model = model.eval()
    names = state_names(config, window)
    state = tuple(torch.from_numpy(v) for v in initial_state(config, 2, window).values())
    example = (torch.zeros(2, config.num_joints, config.num_coords), *state)
    axes: dict[str, dict[int, str]] = {
        "joints": {0: "batch"}, "probabilities": {0: "batch"}, "beta": {0: "batch"}
    }  # fmt: skip
    for name in names:
        batch_axis = 0 if name in ("logits", "window") else 1
        axes[name] = {batch_axis: "batch"}
        axes[f"next_{name}"] = {batch_axis: "batch"}
    outputs = ["probabilities", "beta", *(f"next_{name}" for name in names)]
    if config.boundary_heads:
        outputs.append("boundaries")
        axes["boundaries"] = {0: "batch"}
    return _export(
        DetectionStep(model, window),
        example,
        Path(path),
        input_names=["joints", *names],
        output_names=outputs,
        dynamic_axes=axes,
    )


class OnnxStreamingRecognizer:
    """The streaming ONNX model driven frame by frame with onnxruntime: the deployment twin of
    ``stalstm.online.Recognizer`` (frames must be prepared and persons flattened: (S, K, C))."""

    def __init__(self, path: str | Path, config: STALSTMConfig, streams: int = 1) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # one frame is far too little work to share out
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self.config = config
        self.streams = streams
        self.names = state_names(config)
        self.reset()

    @classmethod
    def for_model(cls, model: STALSTM, streams: int = 1) -> OnnxStreamingRecognizer:
        """The streaming graph of ``model`` exported and loaded (the file is temporary)."""
        with tempfile.TemporaryDirectory(prefix="stalstm-onnx-") as folder:
            return cls(export_streaming(model, Path(folder) / "step.onnx"), model.config, streams)

    def reset(self, streams: list[int] | None = None) -> None:
        """Start every stream over (None) or the given stream indices."""
        if streams is None:
            self.state = initial_state(self.config, self.streams)
        else:
            self.state = zero_state_rows(self.state, streams)

    def update(self, frames: np.ndarray) -> np.ndarray:
        """(S, K, C) prepared frames -> (S, N) class probabilities so far."""
        feeds = {"joints": np.ascontiguousarray(frames, dtype=np.float32), **self.state}
        probabilities, *following = self.session.run(None, feeds)
        self.state = dict(zip(self.names, following, strict=True))
        return probabilities

    @property
    def logits(self) -> np.ndarray:
        return self.state["logits"]


class OnnxStreamingDetector:
    """The detection step graph driven frame by frame with onnxruntime, its probabilities fed to
    the same segment tracker as ``stalstm.detection.Detector`` (frames prepared, persons
    flattened: (S, K, C))."""

    def __init__(self, path: str | Path, config: STALSTMConfig, settings: object, streams: int = 1):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self.config = config
        self.settings = settings
        self.streams = streams
        self.names = state_names(config, settings.window)
        self.trackers = [
            SegmentTracker(settings.post_processing, settings.background) for _ in range(streams)
        ]
        self.state = initial_state(config, streams, settings.window)

    @classmethod
    def for_model(cls, model: STALSTM, settings: Any, streams: int = 1) -> OnnxStreamingDetector:
        """The detection step graph of ``model`` exported and loaded (the file is temporary)."""
        with tempfile.TemporaryDirectory(prefix="stalstm-onnx-") as folder:
            path = export_detection(model, Path(folder) / "step.onnx", settings.window)
            return cls(path, model.config, settings, streams)

    def reset(self, streams: list[int] | None = None) -> None:
        """Start every stream over (None) or the given stream indices (state and tracker)."""
        if streams is None:
            self.state = initial_state(self.config, self.streams, self.settings.window)
        else:
            self.state = zero_state_rows(self.state, streams)
        for index in range(self.streams) if streams is None else streams:
            self.trackers[index].reset()

    def step(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(S, K, C) prepared frames -> this frame's detection probabilities (S, N), beta (S,)
        and, with boundary heads, the (start, end) confidences (S, 2); the state is carried on,
        the trackers are not touched."""
        feeds = {"joints": np.ascontiguousarray(frames, dtype=np.float32), **self.state}
        probabilities, beta, *following = self.session.run(None, feeds)
        boundaries = following.pop() if self.config.boundary_heads else None
        self.state = dict(zip(self.names, following, strict=True))
        return probabilities, beta, boundaries

    def update(self, frames: np.ndarray) -> np.ndarray:
        """(S, K, C) prepared frames -> (S, N) this frame's detection probabilities (the
        trackers are updated; their segments are in ``detections``)."""
        probabilities, _, found = self.step(frames)
        boundaries = [None] * len(self.trackers) if found is None else list(found)
        for tracker, row, frame_boundaries in zip(
            self.trackers, probabilities, boundaries, strict=True
        ):
            tracker.update(row, frame_boundaries)
        return probabilities

    def detections(self, stream: int = 0) -> list:
        return self.trackers[stream].detections()


def zero_state_rows(state: dict[str, np.ndarray], streams: list[int]) -> dict[str, np.ndarray]:
    """A copy of an onnxruntime state with the given streams' rows zeroed (their batch axis: 0
    for ``logits`` and ``window``, 1 for the LSTM states)."""
    zeroed = {}
    for name, value in state.items():
        value = value.copy()
        if name in ("logits", "window"):
            value[streams] = 0.0
        else:
            value[:, streams] = 0.0
        zeroed[name] = value
    return zeroed


def export_model(
    model: STALSTM,
    onnx: str | Path | None = None,
    streaming: str | Path | None = None,
    detection: str | Path | None = None,
    window: int = 1,
) -> list[Path]:
    """Write the offline graph to ``onnx``, the streaming step graph to ``streaming`` and/or the
    detection step graph (detection ``window`` W) to ``detection``."""
    written = []
    if onnx is not None:
        written.append(export_offline(model, onnx))
    if streaming is not None:
        written.append(export_streaming(model, streaming))
    if detection is not None:
        written.append(export_detection(model, detection, window))
    return written
