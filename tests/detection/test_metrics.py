"""Every detection metric on small cases whose answers were worked out by hand (in the comments)."""

from __future__ import annotations

import numpy as np
import pytest

from stalstm.detection.metrics import (
    StreamOutcome,
    class_average_precision,
    detection_metrics,
    frame_labels_of,
    frame_scores,
    localisation_scores,
    mean_average_precision,
    sfinge_matches,
    stream_jaccard,
    temporal_iou,
)
from stalstm.detection.segmenting import Detection
from stalstm.stream import Segment


def outcome(truth, detections, frames: int, predictions=None) -> StreamOutcome:
    frame_truth = frame_labels_of(truth, frames)
    predicted = frame_truth if predictions is None else np.asarray(predictions)
    return StreamOutcome("s", tuple(truth), tuple(detections), frame_truth, predicted)


# Stream A: gestures of class 2 at 50-90 and class 5 at 150-180.
STREAM_A_TRUTH = (Segment(2, 50, 90), Segment(5, 150, 180))
STREAM_A_DETECTIONS = (
    Detection(2, 30, 85, 0.9, reported_at=38),  # starts exactly 20 frames early: detects 2
    Detection(2, 60, 70, 0.8, reported_at=64),  # a second detection of the same gesture: FP
    Detection(5, 129, 160, 0.7, reported_at=133),  # 21 frames early: too early, FP
    Detection(1, 200, 210, 0.6, reported_at=203),  # a class that is not there: FP
)
# Stream B: one gesture of class 0 at 10-30, detected by a detection starting on its last frame.
STREAM_B_TRUTH = (Segment(0, 10, 30),)
STREAM_B_DETECTIONS = (Detection(0, 30, 40, 0.5, reported_at=33),)


def test_sfinge_rule_start_inside_the_window_or_up_to_20_frames_early() -> None:
    matches = sfinge_matches(STREAM_A_TRUTH, STREAM_A_DETECTIONS)
    assert matches == [(STREAM_A_TRUTH[0], STREAM_A_DETECTIONS[0]), (STREAM_A_TRUTH[1], None)]
    assert sfinge_matches(STREAM_B_TRUTH, STREAM_B_DETECTIONS)[0][1] == STREAM_B_DETECTIONS[0]
    late = Detection(0, 31, 40, 0.5)  # one frame after the gesture's last frame
    assert sfinge_matches(STREAM_B_TRUTH, [late]) == [(STREAM_B_TRUTH[0], None)]


def test_detection_rate_false_positives_and_median_delay() -> None:
    outcomes = [
        outcome(STREAM_A_TRUTH, STREAM_A_DETECTIONS, 220),
        outcome(STREAM_B_TRUTH, STREAM_B_DETECTIONS, 50),
    ]
    metrics = detection_metrics(outcomes, num_classes=6)
    # 2 of 3 gestures detected; 3 false positives in stream A, none in B: 3 / 2 streams
    assert metrics["detection_rate"] == pytest.approx(2 / 3)
    assert metrics["false_positives_per_stream"] == pytest.approx(1.5)
    assert (metrics["gestures"], metrics["detected"], metrics["false_positives"]) == (3, 2, 3)
    # delays: 38 - 50 = -12 and 33 - 10 = 23; median 5.5
    assert metrics["median_delay_frames"] == pytest.approx(5.5)
    assert set(metrics) >= {
        "detection_rate", "false_positives_per_stream", "jaccard", "frame_f1",
        "map_iou_0.5", "median_delay_frames", "sl", "el", "frame_accuracy",
    }  # fmt: skip


def test_jaccard_per_stream_then_averaged() -> None:
    truth = frame_labels_of([Segment(0, 1, 4), Segment(1, 6, 8)], 10)
    predicted = frame_labels_of([Detection(0, 2, 5, 1.0), Detection(2, 8, 9, 1.0)], 10)
    # class 0: frames 2-4 of 1-5 -> 3/5; class 1: 0 of 3 -> 0; class 2: 0 of 2 -> 0; mean 0.2
    assert stream_jaccard(truth, predicted, num_classes=3) == pytest.approx(0.2)
    empty = np.full(10, -1)
    assert stream_jaccard(empty, empty, num_classes=3) == 1.0
    metrics = detection_metrics(
        [
            outcome(
                [Segment(0, 1, 4), Segment(1, 6, 8)],
                [Detection(0, 2, 5, 1.0), Detection(2, 8, 9, 1.0)],
                10,
            ),
            outcome([], [], 10),
        ],
        num_classes=3,
    )
    assert metrics["jaccard"] == pytest.approx((0.2 + 1.0) / 2)


def test_frame_accuracy_and_macro_f1_with_background() -> None:
    truth = [Segment(0, 0, 1), Segment(1, 2, 3)]  # frames: 0 0 1 1 bg bg
    predictions = [0, 1, 1, 1, -1, 0]
    accuracy, f1 = frame_scores([outcome(truth, [], 6, predictions)], num_classes=2)
    assert accuracy == pytest.approx(4 / 6)
    # class 0: P 1/2 R 1/2 F1 0.5; class 1: P 2/3 R 1 F1 0.8; background: P 1 R 1/2 F1 2/3
    assert f1 == pytest.approx((0.5 + 0.8 + 2 / 3) / 3)


def test_instance_average_precision_at_two_thresholds() -> None:
    stream_a = outcome(
        [Segment(0, 0, 9), Segment(0, 20, 29)],
        [
            Detection(0, 0, 9, 0.9),  # IoU 1 with 0-9: TP
            Detection(0, 2, 11, 0.8),  # 0-9 already taken, 20-29 not touched: FP
            Detection(0, 20, 24, 0.6),  # IoU 5/10 = 0.5 with 20-29: TP at 0.3 and 0.5
        ],
        30,
    )
    stream_b = outcome(
        [Segment(0, 0, 9), Segment(1, 30, 39)],
        [Detection(0, 5, 14, 0.7), Detection(2, 0, 3, 0.9)],  # IoU 5/15 = 1/3 with 0-9
        40,
    )
    outcomes = [stream_a, stream_b]
    assert temporal_iou(Detection(0, 5, 14, 0.7), Segment(0, 0, 9)) == pytest.approx(1 / 3)
    # ranked 0.9 0.8 0.7 0.6; at 0.5: hits 1 0 0 1, 3 true segments:
    # precision 1 .5 .33 .5, recall 1/3 1/3 1/3 2/3 -> envelope area 1/3*1 + 1/3*0.5 = 0.5
    assert class_average_precision(outcomes, 0, 0.5) == pytest.approx(0.5)
    # at 0.3: hits 1 0 1 1 -> precision 1 .5 .67 .75, recall 1/3 1/3 2/3 1 -> 1/3 (1 + .75 + .75)
    assert class_average_precision(outcomes, 0, 0.3) == pytest.approx(2.5 / 3)
    assert class_average_precision(outcomes, 1, 0.5) == 0.0  # a class never detected
    assert class_average_precision(outcomes, 2, 0.5) is None  # no true segment: not counted
    assert mean_average_precision(outcomes, 3, 0.5) == pytest.approx(0.25)


def test_start_and_end_localisation_scores() -> None:
    truth = [Segment(0, 10, 29), Segment(1, 40, 49)]  # lengths 20 and 10
    detections = [Detection(0, 14, 29, 1.0), Detection(0, 12, 13, 1.0)]
    start, end = localisation_scores([outcome(truth, detections, 60)])
    # the first true segment matches 14-29 (the larger overlap): exp(-4/20) and exp(0);
    # the second is not overlapped by a detection of its class: 0 and 0
    assert start == pytest.approx(np.exp(-4 / 20) / 2)
    assert end == pytest.approx(0.5)
