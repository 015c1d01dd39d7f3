"""Per-class start thresholds, calibrated on held-out streams.

One start threshold for every class treats the classes alike, but they are not: on held-out
streams some classes take background for themselves far more readily than others (on SFINGE3D
pinch, grab and OK; ``docs/detection-results.md``), and a static pose is sure of itself where a
swipe is not. ``class_thresholds`` starts from the post-processing chosen for all classes and
then, one class at a time (in class order), tries every candidate threshold for that class
with the others fixed, keeping the value with the most detections minus false positives on the
held-out streams (ties: the threshold in place, then the lower one). A class with fewer than
``min_instances`` held-out instances keeps the common threshold: too few to calibrate on.

The streams must be held-out training material, never test streams: the thresholds travel in
the model file with the rest of the post-processing (``PostProcessing.class_start_thresholds``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from stalstm.detection.metrics import sfinge_matches
from stalstm.detection.segmenting import PostProcessing, track
from stalstm.stream import Stream

MIN_INSTANCES = 8  # held-out instances a class needs before its threshold is calibrated
EXTRA_CANDIDATES = (0.95,)  # beyond the common search's start thresholds


def net_detections(
    streams: Sequence[Stream],
    probabilities: Sequence[np.ndarray],
    settings: PostProcessing,
    background: int,
    boundaries: Sequence[np.ndarray | None] | None = None,
) -> tuple[int, int]:
    """(detected, false positives) of these settings on these streams, by SFINGE3D's rule."""
    detected = false_positives = 0
    for index, (stream, frames) in enumerate(zip(streams, probabilities, strict=True)):
        detections = track(frames, settings, background, boundaries and boundaries[index])
        found = sum(match is not None for _, match in sfinge_matches(stream.segments, detections))
        detected += found
        false_positives += len(detections) - found
    return detected, false_positives


def class_thresholds(
    streams: Sequence[Stream],
    probabilities: Sequence[np.ndarray],
    background: int,
    chosen: PostProcessing,
    candidates: Sequence[float],
    min_instances: int = MIN_INSTANCES,
    boundaries: Sequence[np.ndarray | None] | None = None,
) -> tuple[PostProcessing, dict[str, Any]]:
    """``chosen`` with a start threshold per class calibrated on the streams (module
    docstring), and the counts before and after."""
    counts = Counter(segment.label for stream in streams for segment in stream.segments)
    values = sorted({*candidates, *EXTRA_CANDIDATES})
    values = [value for value in values if chosen.end_threshold <= value <= 1.0]
    thresholds = [chosen.start_threshold] * background
    current = replace(chosen, class_start_thresholds=tuple(thresholds))
    detected, false_positives = net_detections(
        streams, probabilities, current, background, boundaries
    )
    before = {"detected": detected, "false_positives": false_positives}
    best_key = (detected - false_positives, -false_positives)
    calibrated = []
    for label in range(background):
        if counts[label] < min_instances:
            continue
        calibrated.append(label)
        for value in values:
            if value == thresholds[label]:
                continue
            trial = list(thresholds)
            trial[label] = value
            settings = replace(chosen, class_start_thresholds=tuple(trial))
            found, wrong = net_detections(streams, probabilities, settings, background, boundaries)
            key = (found - wrong, -wrong)
            if key > best_key:
                best_key, thresholds = key, trial
                detected, false_positives = found, wrong
    result = replace(chosen, class_start_thresholds=tuple(thresholds))
    report = {
        "before": before,
        "detected": detected,
        "false_positives": false_positives,
        "calibrated_classes": calibrated,
    }
    return result, report
