"""Online recognition: class probabilities after every frame, while the frames arrive.

STA-LSTM is causal: frame t's attention and class scores depend only on frames 1..t, and the
clip's output is the running sum o_t = sum_{u<=t} beta_u z_u. ``STALSTM.forward`` takes and
returns a ``ModelState`` (the three LSTMs' states and o_t), so the recogniser below is nothing
but the offline model called on one frame at a time with the state carried over; it gives the
offline result on every prefix of a clip by construction, and ``tests/test_online.py`` checks
that on real clips.

Preparation must be causal too. A preset that converts each frame on its own and translates,
scales or rotates every frame by a reference taken from the first frame (``none``, ``sbu``,
``msr``) can prepare frame t as soon as it arrives; ``Recognizer`` then applies it through
``CausalPreparation``. Presets that look at the whole clip cannot stream: ``sgn`` ranks bodies
by their motion over the whole clip (denoising) and drops empty frames; ``agcn`` and ``pyskl``
pick the main actor by activity / presence over the whole clip (on NTU A060 the online and
offline choices differ). ``STREAMING_PRESETS`` lists the presets that can stream, checked on
real clips in ``tests/test_online.py``; the Recognizer refuses the others unless it is given
frames that are already prepared (``prepared=True``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from stalstm import export  # the module, not its names: see stalstm.detection.detector
from stalstm.clip import Clip
from stalstm.errors import DataError, LayoutMismatchError
from stalstm.frames import Frame, FrameFeed, PersonSettings
from stalstm.layouts import Layout, get_layout
from stalstm.model import STALSTM, ModelState, STALSTMOutput
from stalstm.modelfile import LoadedModel
from stalstm.predict import check_clip_fits, fit_persons, prepare_for_model
from stalstm.transforms import build_preset
from stalstm.transforms.presets import PRESETS

# Presets whose frame t depends only on the reference frame and frame t (their ``causal`` flag;
# checked on real clips in tests/test_online.py). agcn and pyskl are left out: they choose the
# main actor from the whole clip.
STREAMING_PRESETS: tuple[str, ...] = tuple(name for name, info in PRESETS.items() if info.causal)
BACKENDS = ("torch", "onnx")


class CausalPreparation:
    """Prepares frames one at a time with a preset whose reference is the first frame: frame t
    of a stream is prepared as the last frame of the two-frame clip [reference, frame t], where
    the reference is the stream's first frame in which anybody is present (frames before it
    have nobody in them and stay zeros, the convention for absent persons).

    Every streaming preset maps the present joints of every frame by one affine map that the
    reference fixes (translations, rotations and scales taken from it; absent joints stay
    zero). So once the reference is known the map is read off the preset itself, by preparing
    probe frames after the reference, and each frame then costs one small matrix product; the
    map is checked on the reference, and a stream whose person 0 is absent from its reference
    (the presets key on person 0) is prepared the long way."""

    def __init__(self, preset: Callable[[Clip], Clip], layout: str) -> None:
        self.preset = preset
        self.layout = layout
        self.reference: list[np.ndarray | None] = []  # (M, V, C) per stream, None until seen
        self.maps: list[tuple[np.ndarray, np.ndarray] | None] = []  # (A (C, C), b (C,))

    def reset(self, streams: Sequence[int] | None = None) -> None:
        """Forget the reference frame of every stream (None) or of the given streams."""
        if streams is None:
            self.reference, self.maps = [], []
        else:
            for stream in streams:
                self.reference[stream], self.maps[stream] = None, None

    def _affine_map(self, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The preset's map of frames after ``reference`` as (A, b): y = A x + b for a present
        joint x; None when it cannot be read off (person 0 absent) or is not affine."""
        if not np.any(reference[0] != 0.0):
            return None
        coords = reference.shape[-1]
        scale = float(np.abs(reference[reference != 0.0]).mean())
        points = scale * np.vstack([np.ones(coords), np.ones(coords) + np.eye(coords)])
        probes = np.broadcast_to(points[:, None, None, :], (coords + 1, *reference.shape))
        clip = Clip("probe", np.concatenate([reference[None], probes]), layout=self.layout)
        prepared = self.preset(clip).joints.astype(np.float64)  # (2 + C, M, V, C)
        outputs = prepared[1:, 0, 0]  # each probe frame is one point everywhere: (1 + C, C)
        matrix = (outputs[1:] - outputs[0]).T / scale  # columns: images of the unit vectors
        offset = outputs[0] - matrix @ points[0]
        present = np.any(reference != 0.0, axis=-1, keepdims=True)
        mapped = np.where(present, reference @ matrix.T + offset, 0.0)
        if not np.allclose(mapped, prepared[0], rtol=1e-4, atol=1e-4 * max(1.0, scale)):
            return None
        return matrix.astype(np.float32), offset.astype(np.float32)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        """(S, M, V, C) raw frames of S streams -> (S, M, V, C) prepared frames."""
        if not self.reference:
            self.reference, self.maps = [None] * len(frames), [None] * len(frames)
        prepared = []
        for stream, frame in enumerate(frames):
            if self.reference[stream] is None:
                if not np.any(frame != 0.0):
                    prepared.append(frame)  # nobody yet: zeros, and no reference frame
                    continue
                self.reference[stream] = frame.copy()
                self.maps[stream] = self._affine_map(self.reference[stream])
            affine = self.maps[stream]
            if affine is not None:
                matrix, offset = affine
                present = np.any(frame != 0.0, axis=-1, keepdims=True)
                prepared.append(np.where(present, frame @ matrix.T + offset, 0.0))
                continue
            pair = np.stack([self.reference[stream], frame])  # (2, M, V, C)
            clip = Clip(name=f"stream {stream}", joints=pair, layout=self.layout)
            prepared.append(self.preset(clip).joints[-1])
        return np.stack(prepared).astype(np.float32, copy=False)


class Recognizer:
    """Class probabilities after every frame, for one stream or S streams batched.

    Args:
        loaded: a model from ``stalstm.modelfile.load_model`` (or a bare ``STALSTM``, whose
            input is then taken as prepared, one person).
        streams: None for one stream (``update`` takes one frame (M, V, C) or (K, C) and returns
            (N,)); S for S streams batched (``update`` takes (S, M, V, C) or (S, K, C) and
            returns (S, N)).
        prepared: True when the frames given to ``update`` are already prepared (the model's
            preset applied); False to prepare them here, causally (needs a streaming preset).
        backend: ``torch`` runs the model's step in PyTorch (``step`` gives its whole output);
            ``onnx`` runs the exported streaming graph in onnxruntime (``update`` only), the
            fast path of the live commands (``benchmarks/live.py``).
    """

    def __init__(
        self,
        loaded: LoadedModel | STALSTM,
        *,
        streams: int | None = None,
        prepared: bool = False,
        backend: str = "torch",
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"backend is one of {BACKENDS}, got {backend!r}")
        if isinstance(loaded, STALSTM):
            # persons unknown: (M, V, C) frames are flattened as they come
            self.model, self.num_persons, preset = loaded.eval(), None, "none"
            self.layout = "unknown"
        else:
            self.model, self.num_persons, preset = loaded.model, loaded.num_persons, loaded.preset
            self.layout = loaded.layout
        self.layout_object = loaded.layout_object if isinstance(loaded, LoadedModel) else None
        self.streams = streams
        self.preparation: CausalPreparation | None = None
        if not prepared and preset != "none":
            if preset not in STREAMING_PRESETS:
                raise ValueError(
                    f"preset {preset!r} needs the whole clip and cannot prepare frames online; "
                    f"streaming presets are {STREAMING_PRESETS}. Prepare the frames yourself "
                    "and pass prepared=True."
                )
            layout = loaded.layout_object if isinstance(loaded, LoadedModel) else None
            self.preparation = CausalPreparation(build_preset(preset, layout), self.layout)
        self.state: ModelState | None = None
        self.frames_seen = 0
        self.backend = backend
        self.onnx: export.OnnxStreamingRecognizer | None = None
        if backend == "onnx":
            self.onnx = export.OnnxStreamingRecognizer.for_model(self.model, streams or 1)

    def reset(self, streams: int | Sequence[int] | None = None) -> None:
        """Forget everything (streams=None) or start the given stream indices over."""
        if self.onnx is not None:
            self.onnx.reset(None if streams is None else _indices(streams))
        if streams is None or self.state is None:
            self.state, self.frames_seen = None, 0
            if self.preparation is not None:
                self.preparation.reset()
            return
        indices = torch.as_tensor([streams] if isinstance(streams, int) else list(streams))
        self.state = ModelState(*(_zero_streams(part, indices) for part in self.state))
        if self.preparation is not None:
            # the next frame of those streams becomes their new reference frame
            self.preparation.reset(indices.tolist())

    def _model_input(self, frames: np.ndarray | Tensor) -> Tensor:
        """Frames of the shape ``update`` accepts -> (S, 1, K, C) float32."""
        array = np.asarray(frames.detach().cpu() if isinstance(frames, Tensor) else frames)
        array = array.astype(np.float32, copy=False)
        batched = self.streams is not None
        per_stream_dims = array.ndim - (1 if batched else 0)
        if not batched:
            array = array[None]
        if batched and array.shape[0] != self.streams:
            raise LayoutMismatchError(
                "online input", f"{array.shape[0]} streams given, {self.streams} expected"
            )
        config = self.model.config
        if per_stream_dims == 2:  # (S, K, C): persons already flattened
            if self.preparation is not None and self.num_persons is not None:
                array = array.reshape(array.shape[0], self.num_persons, -1, array.shape[-1])
        elif per_stream_dims != 3:
            raise LayoutMismatchError(
                "online input",
                f"a frame must be (persons, joints, coordinates) or (joints, coordinates), got "
                f"shape {tuple(array.shape[1:])}",
            )
        if array.ndim == 4:  # (S, M, V, C)
            if self.num_persons is not None:
                array = fit_persons(array, self.num_persons)
            if self.preparation is not None:
                array = self.preparation(array)
            array = array.reshape(array.shape[0], -1, array.shape[-1])  # (S, K, C)
        if array.shape[1:] != (config.num_joints, config.num_coords):
            raise LayoutMismatchError(
                "online input",
                f"a frame has {array.shape[1]} joints x {array.shape[2]} coordinates; the model "
                f"expects {config.num_joints} x {config.num_coords}",
            )
        return torch.from_numpy(np.ascontiguousarray(array)).unsqueeze(1)  # (S, 1, K, C)

    def model_input(self, frames: np.ndarray | Tensor) -> np.ndarray:
        """Frames of the shape ``update`` accepts, prepared and flattened: (S, K, C) float32."""
        return self._model_input(frames)[:, 0].numpy()

    @torch.inference_mode()
    def step(self, frames: np.ndarray | Tensor) -> STALSTMOutput:
        """Feed one frame (of every stream); return the model's whole output for it (batch S,
        one frame: beta (S, 1), frame scores z (S, 1, N), alpha...), the state carried on."""
        if self.backend != "torch":
            raise ValueError("step gives the PyTorch model's whole output: backend 'torch'")
        joints = self._model_input(frames)
        output = self.model(joints, None, self.state)
        self.state = output.state
        self.frames_seen += 1
        return output

    def update(self, frames: np.ndarray | Tensor) -> np.ndarray:
        """Feed one frame (of every stream); return the class probabilities so far."""
        if self.onnx is not None:
            probabilities = self.onnx.update(self.model_input(frames))
            self.frames_seen += 1
            return probabilities if self.streams is not None else probabilities[0]
        output = self.step(frames)
        probabilities = torch.softmax(output.state.logits, dim=-1).numpy()  # (S, N)
        return probabilities if self.streams is not None else probabilities[0]

    @property
    def logits(self) -> np.ndarray | None:
        """The running output o_t (S, N) or (N,), None before the first frame."""
        if self.onnx is not None:
            logits = self.onnx.logits if self.frames_seen else None
        else:
            logits = None if self.state is None else self.state.logits.numpy()
        if logits is None:
            return None
        return logits if self.streams is not None else logits[0]

    def run(
        self,
        frames: Iterable[Frame | np.ndarray | DataError],
        *,
        layout: Layout | str | None = None,
        settings: PersonSettings | None = None,
        source: str = "frames",
    ) -> Iterator[FrameEvent | DataError]:
        """Feed a live source's frames one by one, yielding a ``FrameEvent`` (the class
        probabilities so far) after each, as it comes.

        ``frames`` are ``stalstm.frames.Frame``\\ s (any number of persons, with scores: persons
        are tracked into slots and low-score joints filled, ``stalstm.frames``), raw (M, V, C)
        arrays, or the ``DataError`` of a frame a source could not read. A bad frame is
        yielded as its ``DataError`` and the stream goes on. ``layout`` is the frames' layout
        when known (a pose estimator's): frames of another layout than the model's are
        converted by joint names, and refused at once (``LayoutMismatchError``) when they
        cannot be. One stream (``streams=None``) only."""
        if self.streams is not None:
            raise ValueError("run feeds one stream: make the Recognizer with streams=None")
        feed = self.frame_feed(layout, settings, source)
        for outcome in step_frames(frames, feed, self.update):
            if isinstance(outcome, DataError):
                yield outcome
                continue
            probabilities, time = outcome
            yield FrameEvent(self.frames_seen - 1, time, probabilities)

    def frame_feed(
        self, layout: Layout | str | None, settings: PersonSettings | None, source: str
    ) -> FrameFeed:
        """The ``FrameFeed`` that brings a source's frames to this model's layout."""
        target = self.layout_object
        coords = self.model.config.num_coords
        source_layout = get_layout(layout) if layout is not None else None
        if target is None and source_layout is not None:
            target = source_layout
        return FrameFeed(source, source_layout, target, coords if target else None, settings)


def step_frames(
    frames: Iterable[Frame | np.ndarray | DataError],
    feed: FrameFeed,
    step: Callable[[np.ndarray], object],
) -> Iterator[tuple[object, float | None] | DataError]:
    """A live source's items through ``feed`` (``Frame``\\ s; raw arrays pass as they are) and
    ``step``: ``(step's result, the frame's time)`` for each, or the ``DataError`` of an item
    that could not be read, brought to the model's layout or stepped (yielded; the stream goes
    on). ``Recognizer.run`` and ``Detector.run`` share it."""
    index = 0
    for item in frames:
        if isinstance(item, DataError):
            yield item
            continue
        try:
            result = step(feed(item, index) if isinstance(item, Frame) else item)
        except DataError as error:
            yield error
            continue
        finally:
            index += 1
        yield result, (item.time if isinstance(item, Frame) else None)


@dataclass(frozen=True)
class FrameEvent:
    """What ``Recognizer.run`` yields after each frame: the frame's index (from 0), its time
    (None when the source gives none) and the class probabilities so far (N,)."""

    frame: int
    time: float | None
    probabilities: np.ndarray

    def to_dict(self, class_names: Sequence[str]) -> dict:
        """The most probable class so far, as ``stalstm stream --json`` prints it."""
        best = int(self.probabilities.argmax())
        record = {"frame": self.frame, "class": class_names[best]}
        record["probability"] = float(self.probabilities[best])
        if self.time is not None:
            record["t"] = self.time
        return record


def _indices(streams: int | Sequence[int]) -> list[int]:
    return [streams] if isinstance(streams, int) else list(streams)


def _zero_streams(part: object, indices: Tensor) -> object:
    """A copy of one ModelState field with the given streams (batch entries) zeroed."""
    if part is None:
        return None
    if isinstance(part, tuple):  # an LSTM (h, c), batch on axis 1
        return tuple(_zero_streams_axis(tensor, indices, 1) for tensor in part)
    return _zero_streams_axis(part, indices, 0)  # logits (S, N)


def _zero_streams_axis(tensor: Tensor, indices: Tensor, axis: int) -> Tensor:
    tensor = tensor.clone()
    tensor.index_fill_(axis, indices, 0.0)
    return tensor


def replay_clip(
    loaded: LoadedModel, clip: Clip, *, source: str | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """Feed a recorded clip to a ``Recognizer`` frame by frame, yielding (frame index,
    probabilities so far). With a streaming preset the raw frames are prepared one at a time,
    as a live feed would be; with a whole-clip preset (``sgn``) the clip is prepared first and
    then replayed, which a live feed could not do."""
    where = source or clip.name
    if loaded.preset in STREAMING_PRESETS:
        check_clip_fits(loaded, clip, where)
        recognizer, frames = Recognizer(loaded), clip.joints
    else:
        recognizer, frames = (
            Recognizer(loaded, prepared=True),
            prepare_for_model(loaded, clip, where).joints,
        )
    for index, frame in enumerate(frames):
        yield index, recognizer.update(frame)
