"""``Detector``: segments out of an untrimmed stream, one frame at a time or a recorded stream at
once, from a model trained frame-wise (``stalstm train --recipe sfinge3d-detect``).

The detector is not a second model. Online, it is the ``Recognizer`` (the offline STA-LSTM called
on one frame with its ``ModelState`` carried over, the preset applied causally) plus the window
of ``stalstm.scores`` and a ``SegmentTracker`` per stream. Offline, the same model
runs over the whole stream in one call, the same window function gives the same scores, and the
same tracker runs over them; so the online detector's segments after t frames are the offline
detector's segments of the first t frames (tested on every prefix of real streams).

What a detector needs besides the weights travels in the model file (``model.json`` metadata,
key ``detection``): the index of the background class, the window W and the post-processing
settings (``DetectionSettings``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

# stalstm.export imports detection.segmenting, whose package imports this module, and online
# imports export: the modules are imported, not their names, so that any of them loads first
from stalstm import export, online
from stalstm.detection.segmenting import Detection, PostProcessing, SegmentTracker, track
from stalstm.errors import DataError
from stalstm.frames import Frame, PersonSettings
from stalstm.layouts import Layout
from stalstm.model import STALSTM
from stalstm.modelfile import LoadedModel
from stalstm.predict import check_clip_fits, model_joints, prepare_for_model
from stalstm.scores import window_scores
from stalstm.stream import BACKGROUND, Stream

DETECTION_KEY = "detection"  # the model file's metadata key


@dataclass(frozen=True)
class DetectionSettings:
    """What turns a frame-wise model into a detector.

    Attributes:
        background: index of the background class among the model's outputs.
        window: W, frames summed into each frame's score (``stalstm.scores``).
        post_processing: the segment tracker's settings.
    """

    background: int
    window: int = 1
    post_processing: PostProcessing = field(default_factory=PostProcessing)

    def __post_init__(self) -> None:
        if self.window < 1 or self.background < 0:
            raise ValueError("window must be >= 1 and background a class index")

    def to_dict(self) -> dict[str, Any]:
        return {
            "background": self.background,
            "window": self.window,
            "post_processing": self.post_processing.to_dict(),
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], where: str = "detection settings") -> Any:
        """Read the dict ``to_dict`` wrote; bad values are a ``DataError`` naming the field."""
        try:
            return cls(
                background=int(values["background"]),
                window=int(values.get("window", 1)),
                post_processing=PostProcessing(**dict(values.get("post_processing") or {})),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise DataError(
                where, f"bad detection settings: {error}", field=DETECTION_KEY
            ) from None


def detection_settings(loaded: LoadedModel) -> DetectionSettings:
    """The detection settings recorded in a model file; a ``DataError`` for a model that was
    not trained to detect (a clip classifier has no background class)."""
    values = loaded.metadata.get(DETECTION_KEY)
    where = str(loaded.path or "model")
    if not isinstance(values, Mapping):
        raise DataError(
            where,
            "this model was not trained for detection (no 'detection' settings in its "
            "model.json): train one with a detection recipe, e.g. sfinge3d-detect",
            field=DETECTION_KEY,
        )
    settings = DetectionSettings.from_dict(values, where)
    if settings.background >= loaded.config.num_classes:
        raise DataError(where, "background class outside the model's classes", field=DETECTION_KEY)
    return settings


def frame_classes(probabilities: np.ndarray, background: int) -> np.ndarray:
    """(T, N) probabilities -> (T,) most probable class per frame, ``BACKGROUND`` for the
    background class."""
    best = probabilities.argmax(axis=-1)
    return np.where(best == background, BACKGROUND, best)


@dataclass
class StreamDetection:
    """A detector's answer for one recorded stream.

    Attributes:
        name: the stream's name.
        detections: the detected segments, in time order.
        probabilities: (T, N) per-frame probabilities over the classes and background.
        beta: (T,) temporal attention.
        alpha: (T, K) spatial attention, None without it.
        frame_predictions: (T,) most probable class per frame (``BACKGROUND`` for background).
        boundaries: (T, 2) start and end confidences of a model with boundary heads, else None.
    """

    name: str
    detections: list[Detection]
    probabilities: np.ndarray
    beta: np.ndarray
    alpha: np.ndarray | None
    frame_predictions: np.ndarray
    boundaries: np.ndarray | None = None


def stream_model_joints(
    loaded: LoadedModel | STALSTM, stream: Stream, prepared: bool = False
) -> np.ndarray:
    """A stream's joints as the model reads them: prepared by the model's preset (unless
    ``prepared``), persons fitted and flattened: (T, K, C)."""
    if isinstance(loaded, STALSTM):
        return stream.joints.reshape(stream.num_frames, -1, stream.num_coords)

    clip = stream.as_clip()
    if prepared:
        check_clip_fits(loaded, clip, stream.name)
    else:
        clip = prepare_for_model(loaded, clip, stream.name)
    return model_joints(loaded, clip)


@torch.inference_mode()
def detect_streams(
    loaded: LoadedModel | STALSTM,
    streams: Sequence[Stream],
    settings: DetectionSettings | None = None,
    *,
    prepared: bool = False,
    batch_size: int = 8,
) -> list[StreamDetection]:
    """Detect the segments of recorded streams, ``batch_size`` at a time (padded and masked; the
    model is causal, so padding changes nothing)."""
    model = loaded if isinstance(loaded, STALSTM) else loaded.model
    if settings is None:
        if isinstance(loaded, STALSTM):
            raise ValueError("a bare STALSTM needs DetectionSettings")
        settings = detection_settings(loaded)
    results: list[StreamDetection] = []
    for first in range(0, len(streams), batch_size):
        batch = streams[first : first + batch_size]
        arrays = [stream_model_joints(loaded, stream, prepared) for stream in batch]
        lengths = [len(array) for array in arrays]
        if min(lengths) == 0:
            raise DataError(batch[lengths.index(0)].name, "the stream has no frames")
        joints = torch.zeros(len(batch), max(lengths), *arrays[0].shape[1:])  # (B, T, K, C)
        mask = torch.zeros(len(batch), max(lengths), dtype=torch.bool)
        for row, array in enumerate(arrays):
            joints[row, : len(array)] = torch.from_numpy(np.ascontiguousarray(array))
            mask[row, : len(array)] = True
        output = model.eval()(joints, mask)
        scores, _ = window_scores(output.beta, output.frame_scores, settings.window)
        probabilities = torch.softmax(scores, dim=-1).numpy()  # (B, T, N)
        for row, stream in enumerate(batch):
            length = lengths[row]
            frame_probabilities = probabilities[row, :length]
            boundaries = None
            if output.boundaries is not None:
                boundaries = output.boundaries[row, :length].numpy()
            results.append(
                StreamDetection(
                    name=stream.name,
                    detections=track(
                        frame_probabilities,
                        settings.post_processing,
                        settings.background,
                        boundaries,
                    ),
                    boundaries=boundaries,
                    probabilities=frame_probabilities,
                    beta=output.beta[row, :length].numpy(),
                    alpha=None if output.alpha is None else output.alpha[row, :length].numpy(),
                    frame_predictions=frame_classes(frame_probabilities, settings.background),
                )
            )
    return results


def detect_stream(
    loaded: LoadedModel | STALSTM,
    stream: Stream,
    settings: DetectionSettings | None = None,
    *,
    prepared: bool = False,
) -> StreamDetection:
    """Detect the segments of one recorded stream (``detect_streams`` of one)."""
    return detect_streams(loaded, [stream], settings, prepared=prepared)[0]


class Detector:
    """Segments while the frames arrive, for one stream or S streams batched.

    Args:
        loaded: a detection model from ``stalstm.modelfile.load_model`` (or a bare ``STALSTM``
            with ``settings``; its frames are then taken as prepared).
        settings: the detection settings; those of the model file when None.
        streams: None for one stream (``update`` takes one frame (M, V, C) or (K, C)); S for S
            streams batched (frames (S, M, V, C) or (S, K, C)).
        prepared: True when the frames are already prepared (the model's preset applied).
        backend: ``torch`` (the model's PyTorch step) or ``onnx`` (the exported detection step
            in onnxruntime, the fast path of the live commands; the same tracker).
    """

    def __init__(
        self,
        loaded: LoadedModel | STALSTM,
        settings: DetectionSettings | None = None,
        *,
        streams: int | None = None,
        prepared: bool = False,
        backend: str = "torch",
    ) -> None:
        if settings is None:
            if isinstance(loaded, STALSTM):
                raise ValueError("a bare STALSTM needs DetectionSettings")
            settings = detection_settings(loaded)
        if backend not in online.BACKENDS:
            raise ValueError(f"backend is one of {online.BACKENDS}, got {backend!r}")
        self.settings = settings
        self.backend = backend
        # the Recognizer prepares and flattens the frames; its model step is the torch path's
        self.recognizer = online.Recognizer(loaded, streams=streams, prepared=prepared)
        self.onnx: export.OnnxStreamingDetector | None = None
        if backend == "onnx":
            model = loaded if isinstance(loaded, STALSTM) else loaded.model
            self.onnx = export.OnnxStreamingDetector.for_model(model, settings, streams or 1)
        self.streams = streams
        count = 1 if streams is None else streams
        self.trackers = [
            SegmentTracker(settings.post_processing, settings.background) for _ in range(count)
        ]
        self.history: Tensor | None = None
        self.probabilities: np.ndarray | None = None  # (S, N) of the latest frame
        self.beta: np.ndarray | None = None  # (S,) of the latest frame

    def reset(self, streams: int | Sequence[int] | None = None) -> None:
        """Start over: every stream (None) or the given stream indices."""
        if streams is None:
            if self.onnx is not None:
                self.onnx.reset()
            self.recognizer.reset()
            self.history = None
            for tracker in self.trackers:
                tracker.reset()
            return
        indices = [streams] if isinstance(streams, int) else list(streams)
        if self.onnx is not None:
            self.onnx.reset(indices)
        self.recognizer.reset(indices)
        if self.history is not None:
            with torch.inference_mode():
                self.history = self.history.clone()
                self.history[indices] = 0.0
        for index in indices:
            self.trackers[index].reset()

    @torch.inference_mode()
    def update(self, frames: np.ndarray | Tensor) -> list[Detection] | list[list[Detection]]:
        """Feed one frame (of every stream); return the segments that frame closed (per stream
        when batched). Open segments are in ``detections()`` from the frame they open."""
        boundaries = [None] * len(self.trackers)
        if self.onnx is not None:
            self.probabilities, self.beta, found = self.onnx.step(
                self.recognizer.model_input(frames)
            )
            self.recognizer.frames_seen += 1
            if found is not None:
                boundaries = list(found)
        else:
            output = self.recognizer.step(frames)
            scores, self.history = window_scores(
                output.beta, output.frame_scores, self.settings.window, self.history
            )
            self.probabilities = torch.softmax(scores[:, -1], dim=-1).numpy()  # (S, N)
            self.beta = output.beta[:, -1].numpy()
            if output.boundaries is not None:
                boundaries = list(output.boundaries[:, -1].numpy())  # (start, end) per stream
        closed = [
            tracker.update(probabilities, frame_boundaries)
            for tracker, probabilities, frame_boundaries in zip(
                self.trackers, self.probabilities, boundaries, strict=True
            )
        ]
        return closed if self.streams is not None else closed[0]

    def detections(self, stream: int = 0) -> list[Detection]:
        """The segments of a stream so far (closed ones, and the open one as it stands)."""
        return self.trackers[stream].detections()

    def finish(self, stream: int = 0) -> Detection | None:
        """The end of a stream: close its open segment as it stands (None when none is open)."""
        return self.trackers[stream].finish()

    def run(
        self,
        frames: Iterable[Frame | np.ndarray | DataError],
        *,
        layout: Layout | str | None = None,
        settings: PersonSettings | None = None,
        source: str = "frames",
    ) -> Iterator[SegmentEvent | DataError]:
        """Feed a live source's frames one by one (as ``Recognizer.run`` does: ``Frame``\\ s
        tracked and filled, raw arrays, or a source's ``DataError``\\ s, which are yielded and
        the stream goes on), yielding a ``SegmentEvent`` as each segment opens and closes; the
        end of the frames closes the open segment. One stream only."""
        if self.streams is not None:
            raise ValueError("run feeds one stream: make the Detector with streams=None")
        feed = self.recognizer.frame_feed(layout, settings, source)
        tracker = self.trackers[0]
        times: list[float | None] = []
        for outcome in online.step_frames(frames, feed, self.update):
            if isinstance(outcome, DataError):
                yield outcome
                continue
            closed, time = outcome
            times.append(time)
            for detection in closed:
                yield SegmentEvent("close", detection, tracker.frame, times)
            if tracker.label >= 0 and tracker.reported_at == tracker.frame:
                yield SegmentEvent("open", tracker.open_detection(), tracker.frame, times)
        last = self.finish()
        if last is not None:
            yield SegmentEvent("close", last, tracker.frame, times)


@dataclass(frozen=True)
class SegmentEvent:
    """What ``Detector.run`` yields: a segment that ``kind`` = ``open``\\ s (as it stands when
    reported) or ``close``\\ s, at frame ``frame`` (from 0), and the times of its first and
    last frame and of ``frame`` when the source gives times."""

    kind: str
    detection: Detection
    frame: int
    start_time: float | None
    end_time: float | None
    time: float | None

    def __init__(
        self, kind: str, detection: Detection, frame: int, times: Sequence[float | None]
    ) -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "detection", detection)
        object.__setattr__(self, "frame", frame)
        object.__setattr__(self, "start_time", times[detection.start])
        object.__setattr__(self, "end_time", times[detection.end])
        object.__setattr__(self, "time", times[frame] if frame < len(times) else None)

    def to_dict(self, class_names: Sequence[str]) -> dict[str, Any]:
        """As ``stalstm detect --json`` prints it."""
        record = {"event": self.kind, "class": class_names[self.detection.label]}
        record |= self.detection.to_dict() | {"frame": self.frame}
        if self.time is not None:
            record |= {"t": self.time, "start_t": self.start_time, "end_t": self.end_time}
        return record
