"""Detection metrics: how well detected segments match a stream's annotated segments.

Every function takes plain records (``Segment`` for the truth, ``Detection`` for what a detector
reported) so that any detector can be scored. Frames count from 0 and segment ends are inside
the segment, as everywhere in the package. The metrics, and whose definition each follows:

- **SFINGE3D's rule** (Caputo et al., 2020, and the data set's README): a true gesture counts as
  detected when a detection with its label *starts* inside its window, up to ``early_frames``
  (20) frames before the window. Each detection can detect one gesture; a detection that detects
  none is a false positive. ``detection_rate`` = detected / gestures;
  ``false_positives_per_stream`` = false positives / streams.
- **Jaccard index of the frames** (ChaLearn LAP continuous gestures, Wan et al. 2016): per
  stream, the mean over the classes present in its truth or its detections of
  |truth frames of c ∩ detected frames of c| / |truth ∪ detected|, then the mean over streams.
  Background is not a class here. Computed with torchmetrics' ``MulticlassJaccardIndex``.
- **Frame accuracy and F1** (OAD, Li et al. 2016): every frame's predicted class (background
  included) against its true class, pooled over the streams; F1 is the unweighted mean over the
  classes and background (torchmetrics ``MulticlassAccuracy`` and ``MulticlassF1Score``).
- **Instance average precision** at temporal IoU 0.1 ... 0.5 (PKU-MMD, Liu et al. 2017): per
  class, detections of every stream ranked by confidence; each is a true positive when it
  overlaps a not yet matched true segment of its class and stream with IoU >= the threshold
  (the best-overlapping one); AP is the area under the precision envelope (all-point
  interpolation, as ActivityNet's evaluation); mAP the mean over classes with true segments.
  torchmetrics has no temporal-detection AP, so it is computed here.
- **Start and end localisation scores** SL and EL (OAD, Li et al. 2016): for each true segment
  of length d matched to a detection of its class (the one overlapping it most, each detection
  matched once), exp(-|detected start - true start| / d), likewise for the end; 0 for a true
  segment no detection overlaps; the mean over true segments. (Our reading of the paper's
  description; it gives no code.)
- **Median delay**: for each gesture detected by SFINGE3D's rule, the frame at which the
  detector reported its detection minus the gesture's true first frame (negative: reported
  before the annotated start); the median over detected gestures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassF1Score,
    MulticlassJaccardIndex,
)

from stalstm.detection.segmenting import Detection
from stalstm.stream import BACKGROUND, Segment

IOU_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5)
EARLY_FRAMES = 20  # SFINGE3D: a detection may start up to 20 frames before its gesture


@dataclass(frozen=True)
class StreamOutcome:
    """One stream's truth and what a detector made of it: the input of ``detection_metrics``.

    Attributes:
        name: the stream's name.
        truth: its annotated segments.
        detections: the detector's segments.
        frame_truth: (T,) true class per frame (``BACKGROUND`` outside segments).
        frame_predictions: (T,) the classifier's class per frame (``BACKGROUND`` for
            background), for the frame-level scores.
    """

    name: str
    truth: tuple[Segment, ...]
    detections: tuple[Detection, ...]
    frame_truth: np.ndarray
    frame_predictions: np.ndarray


def sfinge_matches(
    truth: Sequence[Segment], detections: Sequence[Detection], early_frames: int = EARLY_FRAMES
) -> list[tuple[Segment, Detection | None]]:
    """Each true segment with the detection that detects it by SFINGE3D's rule, or None.

    Gestures are taken in time order; each takes the earliest-starting detection of its label,
    not yet used, that starts in [start - early_frames, end]."""
    used: set[int] = set()
    order = sorted(range(len(detections)), key=lambda k: (detections[k].start, k))
    matches = []
    for segment in sorted(truth, key=lambda s: s.start):
        found = None
        for k in order:
            detection = detections[k]
            if k in used or detection.label != segment.label:
                continue
            if segment.start - early_frames <= detection.start <= segment.end:
                found = k
                break
        if found is not None:
            used.add(found)
        matches.append((segment, None if found is None else detections[found]))
    return matches


def frame_labels_of(segments: Sequence[Segment | Detection], num_frames: int) -> np.ndarray:
    """(T,) class per frame from segments or detections (later ones win where they overlap)."""
    labels = np.full(num_frames, BACKGROUND, dtype=np.int64)
    for segment in segments:
        labels[max(segment.start, 0) : min(segment.end, num_frames - 1) + 1] = segment.label
    return labels


def stream_jaccard(truth: np.ndarray, predicted: np.ndarray, num_classes: int) -> float:
    """ChaLearn's Jaccard index of one stream: the mean per-class frame IoU over the classes in
    its truth or prediction (background excluded); 1 for a stream where both are all
    background."""
    present = sorted((set(truth.tolist()) | set(predicted.tolist())) - {BACKGROUND})
    if not present:
        return 1.0
    background = num_classes  # torchmetrics needs indices >= 0: background is the last one
    metric = MulticlassJaccardIndex(num_classes=num_classes + 1, average="none")
    per_class = metric(
        torch.from_numpy(np.where(predicted == BACKGROUND, background, predicted)),
        torch.from_numpy(np.where(truth == BACKGROUND, background, truth)),
    )
    return float(per_class[present].mean())


def temporal_iou(a: Segment | Detection, b: Segment | Detection) -> float:
    """Intersection over union of two frame ranges (ends inclusive)."""
    overlap = min(a.end, b.end) - max(a.start, b.start) + 1
    if overlap <= 0:
        return 0.0
    union = (a.end - a.start + 1) + (b.end - b.start + 1) - overlap
    return overlap / union


def interpolated_average_precision(precision: np.ndarray, recall: np.ndarray) -> float:
    """Area under the precision envelope (precision made non-increasing in recall), the
    all-point interpolation of VOC 2010+ and ActivityNet."""
    precision = np.concatenate([[0.0], precision, [0.0]])
    recall = np.concatenate([[0.0], recall, [1.0]])
    for k in range(len(precision) - 2, -1, -1):
        precision[k] = max(precision[k], precision[k + 1])
    steps = np.flatnonzero(recall[1:] != recall[:-1]) + 1
    return float(np.sum((recall[steps] - recall[steps - 1]) * precision[steps]))


def class_average_precision(
    outcomes: Sequence[StreamOutcome], label: int, threshold: float
) -> float | None:
    """AP of one class at one IoU threshold over all streams; None when the class has no true
    segment."""
    truth = {
        index: [segment for segment in outcome.truth if segment.label == label]
        for index, outcome in enumerate(outcomes)
    }
    total = sum(len(segments) for segments in truth.values())
    if total == 0:
        return None
    ranked = sorted(
        (
            (detection.confidence, index, detection)
            for index, outcome in enumerate(outcomes)
            for detection in outcome.detections
            if detection.label == label
        ),
        key=lambda item: -item[0],
    )  # sorted() is stable: ties keep stream and detection order
    used: dict[int, set[int]] = {index: set() for index in truth}
    hits = np.zeros(len(ranked))
    for rank, (_, index, detection) in enumerate(ranked):
        overlaps = [
            (temporal_iou(detection, segment), k)
            for k, segment in enumerate(truth[index])
            if k not in used[index]
        ]
        best = max(overlaps, default=(0.0, -1))
        if best[0] >= threshold and best[1] >= 0:
            used[index].add(best[1])
            hits[rank] = 1.0
    true_positives = np.cumsum(hits)
    precision = true_positives / np.arange(1, len(ranked) + 1)
    recall = true_positives / total
    return interpolated_average_precision(precision, recall) if len(ranked) else 0.0


def mean_average_precision(
    outcomes: Sequence[StreamOutcome], num_classes: int, threshold: float
) -> float:
    """mAP over the classes with at least one true segment."""
    values = [class_average_precision(outcomes, label, threshold) for label in range(num_classes)]
    present = [value for value in values if value is not None]
    return float(np.mean(present)) if present else 0.0


def localisation_scores(outcomes: Sequence[StreamOutcome]) -> tuple[float, float]:
    """OAD's start and end localisation scores (SL, EL): see the module docstring."""
    starts, ends = [], []
    for outcome in outcomes:
        pairs = sorted(
            (
                (temporal_iou(segment, detection), s, d)
                for s, segment in enumerate(outcome.truth)
                for d, detection in enumerate(outcome.detections)
                if detection.label == segment.label
            ),
            key=lambda item: -item[0],
        )
        matched: dict[int, Detection] = {}
        used: set[int] = set()
        for overlap, s, d in pairs:
            if overlap > 0 and s not in matched and d not in used:
                matched[s] = outcome.detections[d]
                used.add(d)
        for s, segment in enumerate(outcome.truth):
            detection = matched.get(s)
            if detection is None:
                starts.append(0.0)
                ends.append(0.0)
                continue
            length = segment.end - segment.start + 1
            starts.append(float(np.exp(-abs(detection.start - segment.start) / length)))
            ends.append(float(np.exp(-abs(detection.end - segment.end) / length)))
    if not starts:
        return 0.0, 0.0
    return float(np.mean(starts)), float(np.mean(ends))


def frame_scores(outcomes: Sequence[StreamOutcome], num_classes: int) -> tuple[float, float]:
    """Frame accuracy and macro F1 over the classes and background, pooled over streams."""
    background = num_classes
    truth = np.concatenate([outcome.frame_truth for outcome in outcomes])
    predicted = np.concatenate([outcome.frame_predictions for outcome in outcomes])
    truth = torch.from_numpy(np.where(truth == BACKGROUND, background, truth))
    predicted = torch.from_numpy(np.where(predicted == BACKGROUND, background, predicted))
    accuracy = MulticlassAccuracy(num_classes=num_classes + 1, average="micro")
    f1 = MulticlassF1Score(num_classes=num_classes + 1, average="macro")
    return float(accuracy(predicted, truth)), float(f1(predicted, truth))


def detection_metrics(
    outcomes: Sequence[StreamOutcome], num_classes: int, early_frames: int = EARLY_FRAMES
) -> dict[str, float | int | None]:
    """Every metric of the module docstring over a set of streams, as one flat dict (the keys
    of a detection run's ``summary.json``)."""
    if not outcomes:
        raise ValueError("no streams to evaluate")
    detected, gestures, false_positives, delays = 0, 0, 0, []
    jaccards = []
    for outcome in outcomes:
        matches = sfinge_matches(outcome.truth, outcome.detections, early_frames)
        gestures += len(matches)
        found = [(segment, detection) for segment, detection in matches if detection is not None]
        detected += len(found)
        false_positives += len(outcome.detections) - len(found)
        for segment, detection in found:
            reported = detection.reported_at if detection.reported_at is not None else detection.end
            delays.append(reported - segment.start)
        predicted = frame_labels_of(outcome.detections, len(outcome.frame_truth))
        jaccards.append(stream_jaccard(outcome.frame_truth, predicted, num_classes))
    accuracy, f1 = frame_scores(outcomes, num_classes)
    start_score, end_score = localisation_scores(outcomes)
    metrics: dict[str, float | int | None] = {
        "detection_rate": detected / gestures if gestures else 0.0,
        "false_positives_per_stream": false_positives / len(outcomes),
        "jaccard": float(np.mean(jaccards)),
        "frame_accuracy": accuracy,
        "frame_f1": f1,
    }
    for threshold in IOU_THRESHOLDS:
        metrics[f"map_iou_{threshold}"] = mean_average_precision(outcomes, num_classes, threshold)
    metrics |= {
        "sl": start_score,
        "el": end_score,
        "median_delay_frames": float(np.median(delays)) if delays else None,
        "gestures": gestures,
        "detected": detected,
        "false_positives": false_positives,
        "streams": len(outcomes),
        # the share of frames the classifier gives to an action (0: it never leaves background)
        "action_frame_share": float(
            np.mean(np.concatenate([o.frame_predictions for o in outcomes]) != BACKGROUND)
        ),
    }
    return metrics
