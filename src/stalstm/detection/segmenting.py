"""Online post-processing: per-frame class probabilities in, detected segments out, one frame at
a time and with a bounded delay.

A class c is *on* at frame t when it is the most probable of the classes and background and its
probability reaches ``start_threshold`` (or class c's own threshold, ``class_start_thresholds[c]``,
when per-class thresholds were calibrated: ``stalstm.detection.calibration``). The tracker of one
stream:

- **opens** a segment of class c when c has been on for ``start_frames`` frames in a row; the
  segment starts at the first of them and is reported at once (``Detection.reported_at``:
  ``start_frames - 1`` frames after its first frame);
- **keeps** it open while c's probability stays at or above ``end_threshold`` (a dip of fewer
  than ``end_frames`` frames is bridged);
- **closes** it after ``end_frames`` frames in a row below ``end_threshold``, or when another
  class has been on for ``start_frames`` frames (that class opens next); the segment ends at the
  last frame its class was at or above ``end_threshold``, and before the run of another class
  under way, so that segments never overlap. Its confidence is the mean probability of its
  class over its frames.

With a model that has boundary heads (JCR-RNN's per-frame start and end confidences) and
``start_confidence`` > 0, a class must also have had a start confidence of at least
``start_confidence`` during its run of frames on, or in the ``start_frames`` frames before it,
to open.

So a segment is reported ``start_frames - 1`` frames after it starts, and its end is known at
most ``end_frames`` frames after it ends. The tracker keeps a few numbers and the probabilities
of its class over the current run and the open segment (for the confidence); the same code
runs offline over a recorded stream, so offline and online agree on every prefix.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Detection:
    """A detected segment: class ``label`` from frame ``start`` to frame ``end`` (from 0,
    inclusive), its ``confidence`` (mean probability of the label over the segment), and the
    frame at which an online detector first reported it (``reported_at``; None offline)."""

    label: int
    start: int
    end: int
    confidence: float
    reported_at: int | None = None

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "start": self.start,
            "end": self.end,
            "confidence": self.confidence,
            "reported_at": self.reported_at,
        }


@dataclass(frozen=True)
class PostProcessing:
    """The settings of the tracker (see the module docstring)."""

    start_threshold: float = 0.5
    start_frames: int = 3
    end_threshold: float = 0.3
    end_frames: int = 3
    start_confidence: float = 0.0  # boundary heads: a segment needs a start this confident
    # per class (background excluded), in place of start_threshold; empty: start_threshold for all
    class_start_thresholds: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.end_threshold <= self.start_threshold <= 1.0:
            raise ValueError("thresholds are probabilities with end_threshold <= start_threshold")
        thresholds = tuple(float(value) for value in self.class_start_thresholds)
        object.__setattr__(self, "class_start_thresholds", thresholds)  # a list from JSON
        if any(not self.end_threshold <= value <= 1.0 for value in thresholds):
            raise ValueError("class_start_thresholds must lie in [end_threshold, 1]")
        if self.start_frames < 1 or self.end_frames < 1:
            raise ValueError("start_frames and end_frames must be at least 1")
        if not 0.0 <= self.start_confidence <= 1.0:
            raise ValueError("start_confidence is a confidence in [0, 1]")

    def to_dict(self) -> dict:
        values = asdict(self)
        values["class_start_thresholds"] = list(self.class_start_thresholds)
        return values

    def threshold_of(self, label: int) -> float:
        """The start threshold of class ``label``."""
        thresholds = self.class_start_thresholds
        return thresholds[label] if label < len(thresholds) else self.start_threshold


class SegmentTracker:
    """The post-processing of one stream; ``update`` takes frame t's probabilities over the
    classes and background (background at index ``background``)."""

    def __init__(self, settings: PostProcessing, background: int) -> None:
        self.settings = settings
        self.background = background
        self.reset()

    def reset(self) -> None:
        """Forget everything: the next frame is frame 0 of a new stream."""
        self.frame = -1
        self.closed: list[Detection] = []
        self.candidate = -1  # class on in the latest frames (or -1)
        self.candidate_run: list[float] = []  # its probabilities in those frames
        self.label = -1  # class of the open segment (or -1)
        self.start = 0
        self.reported_at = 0
        self.probabilities: list[float] = []  # of the open class, since the segment started
        self.last_on = 0  # last frame at or above end_threshold
        self.below = 0  # frames in a row below end_threshold
        self.started = False  # the current run has seen a confident start (boundary heads)
        self.starts: deque[float] = deque(maxlen=self.settings.start_frames)  # latest ones

    def _close(self, before: int | None = None) -> Detection:
        """Close the open segment at its last frame on (and before frame ``before``)."""
        end = self.last_on if before is None else min(self.last_on, before - 1)
        kept = self.probabilities[: end - self.start + 1]
        detection = Detection(self.label, self.start, end, float(np.mean(kept)), self.reported_at)
        self.closed.append(detection)
        self.label = -1
        self.probabilities = []
        return detection

    def _open(self, label: int) -> None:
        self.label = label
        self.start = self.frame - len(self.candidate_run) + 1
        self.reported_at = self.frame
        self.probabilities = list(self.candidate_run)
        self.last_on = self.frame
        self.below = 0

    def update(
        self, probabilities: np.ndarray, boundaries: np.ndarray | None = None
    ) -> list[Detection]:
        """Feed one frame (and, from a model with boundary heads, its (start, end)
        confidences); returns the segments closed by it (usually none)."""
        settings = self.settings
        self.frame += 1
        best = int(np.argmax(probabilities))
        on = best != self.background and probabilities[best] >= settings.threshold_of(best)
        confident = False
        if boundaries is not None:
            # a start seen in this frame or the start_frames frames before counts for a run
            self.starts.append(float(boundaries[0]))
            confident = max(self.starts) >= settings.start_confidence
        if on and best == self.candidate:
            self.candidate_run.append(float(probabilities[best]))
            self.started = self.started or confident
        elif on:
            self.candidate, self.candidate_run = best, [float(probabilities[best])]
            self.started = confident
        else:
            self.candidate, self.candidate_run, self.started = -1, [], False
        finished: list[Detection] = []
        if self.label >= 0:
            probability = float(probabilities[self.label])
            self.probabilities.append(probability)
            if probability >= settings.end_threshold:
                self.last_on, self.below = self.frame, 0
            else:
                self.below += 1
            switch = self.candidate >= 0 and self.candidate != self.label and self._may_open()
            # a run of another class under way bounds the segment: it ends before the run
            taking_over = self.candidate >= 0 and self.candidate != self.label
            before = self.frame - len(self.candidate_run) + 1 if taking_over else None
            if switch or self.below >= settings.end_frames:
                finished.append(self._close(before=before))
        if self.label < 0 and self.candidate >= 0 and self._may_open():
            self._open(self.candidate)
        return finished

    def _may_open(self) -> bool:
        """The candidate class has been on long enough (and, gated, has started)."""
        enough = len(self.candidate_run) >= self.settings.start_frames
        gated = self.settings.start_confidence > 0 and self.starts
        return enough and (self.started or not gated)

    def open_detection(self) -> Detection | None:
        """The open segment as it stands (ending at its last frame at or above
        ``end_threshold``), or None."""
        if self.label < 0:
            return None
        kept = self.probabilities[: self.last_on - self.start + 1]
        return Detection(
            self.label, self.start, self.last_on, float(np.mean(kept)), self.reported_at
        )

    def finish(self) -> Detection | None:
        """The end of the stream: close the open segment as it stands (None when none is
        open); what the offline tracker gives for the same frames."""
        return self._close() if self.label >= 0 else None

    def detections(self) -> list[Detection]:
        """Every segment so far: the closed ones and the open one as it stands (what an offline
        run over the frames seen so far gives)."""
        current = self.open_detection()
        return [*self.closed, *([current] if current is not None else [])]


def track(
    probabilities: np.ndarray,
    settings: PostProcessing,
    background: int,
    boundaries: np.ndarray | None = None,
) -> list[Detection]:
    """Run the tracker over a recorded stream's (T, N) probabilities (and (T, 2) start and end
    confidences from boundary heads): its segments."""
    tracker = SegmentTracker(settings, background)
    for frame, row in enumerate(probabilities):
        tracker.update(row, None if boundaries is None else boundaries[frame])
    return tracker.detections()
