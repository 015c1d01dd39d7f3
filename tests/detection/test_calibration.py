"""Per-class start thresholds: the tracker uses them, and calibration on held-out streams picks
a higher threshold for a class that fires on background and keeps a low one for a class whose
true segments are faint, where one common threshold must sacrifice one or the other."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stalstm.detection.calibration import class_thresholds, net_detections
from stalstm.detection.segmenting import PostProcessing, track
from stalstm.stream import Segment, Stream

BACKGROUND = 3  # classes 0, 1, 2 and background


def probabilities(frames: int, runs: list[tuple[int, int, int, float]]) -> np.ndarray:
    """(frames, 4): background at 0.9 except in the runs (class, start, end, probability)."""
    table = np.full((frames, 4), 0.1 / 3)
    table[:, BACKGROUND] = 0.9
    for label, start, end, value in runs:
        table[start : end + 1] = (1 - value) / 3
        table[start : end + 1, label] = value
    return table


def held_out() -> tuple[list[Stream], list[np.ndarray]]:
    """Ten streams: a class-0 action (probability 0.9) and a spurious class-0 run on background
    (0.65), and a class-1 action that is only ever 0.55 sure of itself."""
    streams, tables = [], []
    for k in range(10):
        segments = (Segment(0, 10, 29), Segment(1, 60, 79))
        streams.append(Stream(f"s{k}", np.zeros((100, 1, 3, 3), np.float32), segments))
        tables.append(probabilities(100, [(0, 10, 29, 0.9), (0, 40, 49, 0.65), (1, 60, 79, 0.55)]))
    return streams, tables


def test_tracker_uses_a_class_own_threshold() -> None:
    table = probabilities(50, [(0, 5, 20, 0.6), (1, 30, 45, 0.6)])
    common = PostProcessing(start_threshold=0.5, start_frames=2, end_threshold=0.3, end_frames=2)
    assert [d.label for d in track(table, common, BACKGROUND)] == [0, 1]
    per_class = PostProcessing(start_threshold=0.5, start_frames=2, end_threshold=0.3,
                               end_frames=2, class_start_thresholds=(0.7, 0.5, 0.5))  # fmt: skip
    assert [d.label for d in track(table, per_class, BACKGROUND)] == [1]
    assert per_class.threshold_of(0) == 0.7 and per_class.threshold_of(2) == 0.5
    assert PostProcessing(**json.loads(json.dumps(per_class.to_dict()))) == per_class
    with pytest.raises(ValueError, match="class_start_thresholds"):
        PostProcessing(end_threshold=0.3, class_start_thresholds=(0.2,))


def test_calibration_prices_false_positives_per_class() -> None:
    streams, tables = held_out()
    base = PostProcessing(start_threshold=0.5, start_frames=3, end_threshold=0.3, end_frames=2)
    # one common threshold: 0.5 keeps the faint class and the spurious runs, 0.6 and above
    # drops the faint class too
    assert net_detections(streams, tables, base, BACKGROUND) == (20, 10)
    assert net_detections(streams, tables, PostProcessing(0.7, 3, 0.3, 2), BACKGROUND) == (10, 0)
    chosen, report = class_thresholds(
        streams, tables, BACKGROUND, base, [0.4, 0.5, 0.6, 0.7, 0.8], min_instances=5
    )
    assert chosen.class_start_thresholds[0] == 0.7  # above the spurious runs, below 0.9
    assert chosen.class_start_thresholds[1] <= 0.5  # the faint class keeps a low threshold
    assert report["before"] == {"detected": 20, "false_positives": 10}
    assert (report["detected"], report["false_positives"]) == (20, 0)
    assert net_detections(streams, tables, chosen, BACKGROUND) == (20, 0)
    assert report["calibrated_classes"] == [0, 1]  # class 2 has no held-out instance


def test_too_few_instances_keep_the_common_threshold() -> None:
    streams, tables = held_out()
    base = PostProcessing(start_threshold=0.5, start_frames=3, end_threshold=0.3, end_frames=2)
    chosen, report = class_thresholds(
        streams, tables, BACKGROUND, base, [0.5, 0.7], min_instances=11
    )
    assert chosen.class_start_thresholds == (0.5, 0.5, 0.5)
    assert report["calibrated_classes"] == [] and report["false_positives"] == 10
