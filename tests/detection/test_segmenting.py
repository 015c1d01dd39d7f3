"""The online post-processing on probability sequences written out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from stalstm.detection.segmenting import Detection, PostProcessing, SegmentTracker, track

BACKGROUND = 2  # classes 0 and 1, background last


def frames(*rows: tuple[float, float]) -> np.ndarray:
    """(T, 3) probabilities from (class 0, class 1) pairs; background gets the rest."""
    return np.array([[a, b, 1.0 - a - b] for a, b in rows])


def same(found: list[Detection], expected: list[Detection]) -> bool:
    """Equal segments, confidences equal up to float rounding."""
    return [d.to_dict() for d in found] == [pytest.approx(d.to_dict()) for d in expected]


SETTINGS = PostProcessing(start_threshold=0.5, start_frames=2, end_threshold=0.3, end_frames=2)


def test_open_after_start_frames_bridge_a_short_dip_close_after_end_frames() -> None:
    probabilities = frames(
        (0.1, 0.1),  # 0 background
        (0.6, 0.1),  # 1 class 0 on
        (0.7, 0.1),  # 2 on twice: opens at 1, reported at 2
        (0.2, 0.1),  # 3 below 0.3: one frame dips
        (0.8, 0.1),  # 4 back: the dip is bridged
        (0.4, 0.1),  # 5 not on (background 0.5 is the most probable) but >= 0.3: kept
        (0.1, 0.1),  # 6 below
        (0.1, 0.1),  # 7 below twice: closed at frame 7, ending at 5
        (0.1, 0.1),  # 8
    )
    tracker = SegmentTracker(SETTINGS, BACKGROUND)
    closed_at = {}
    for frame, row in enumerate(probabilities):
        for detection in tracker.update(row):
            closed_at[frame] = detection
        if frame == 2:
            assert same(tracker.detections(), [Detection(0, 1, 2, 0.65, reported_at=2)])
    expected = Detection(0, 1, 5, np.mean([0.6, 0.7, 0.2, 0.8, 0.4]), reported_at=2)
    assert list(closed_at) == [7]
    assert closed_at[7].to_dict() == pytest.approx(expected.to_dict())
    assert track(probabilities, SETTINGS, BACKGROUND) == tracker.detections()


def test_one_frame_blips_never_open_and_a_new_class_takes_over() -> None:
    probabilities = frames(
        (0.9, 0.0),  # 0 class 0 on once: a blip
        (0.0, 0.0),  # 1
        (0.6, 0.3),  # 2 class 0 on
        (0.6, 0.3),  # 3 opens class 0 at 2
        (0.35, 0.6),  # 4 class 1 on; class 0 still >= 0.3
        (0.35, 0.6),  # 5 class 1 on twice: class 0 closes before 4, class 1 opens at 4
        (0.0, 0.0),  # 6
    )
    assert same(
        track(probabilities, SETTINGS, BACKGROUND),
        [
            Detection(0, 2, 3, 0.6, reported_at=3),
            Detection(1, 4, 5, 0.6, reported_at=5),  # open at the end: ends at its last on
        ],
    )


def test_a_segment_ends_before_the_run_of_the_class_that_follows_it() -> None:
    settings = PostProcessing(start_threshold=0.5, start_frames=3, end_threshold=0.3, end_frames=1)
    probabilities = frames(
        (0.6, 0.0), (0.6, 0.0), (0.6, 0.0),  # 0-2 class 0 opens at 0
        (0.35, 0.6),  # 3 class 1's run starts; class 0 still >= 0.3
        (0.1, 0.6),  # 4 class 0 below: closes, before class 1's run: at 2, not 3
        (0.1, 0.6),  # 5 class 1 on three times: opens at 3
    )  # fmt: skip
    found = track(probabilities, settings, BACKGROUND)
    assert [(d.label, d.start, d.end) for d in found] == [(0, 0, 2), (1, 3, 5)]


def test_a_stream_ending_inside_a_segment_and_bad_settings() -> None:
    probabilities = frames((0.6, 0.0), (0.6, 0.0), (0.6, 0.0))
    assert same(
        track(probabilities, SETTINGS, BACKGROUND), [Detection(0, 0, 2, 0.6, reported_at=1)]
    )
    assert track(frames((0.4, 0.1), (0.4, 0.1)), SETTINGS, BACKGROUND) == []
    with pytest.raises(ValueError, match="end_threshold <= start_threshold"):
        PostProcessing(start_threshold=0.3, end_threshold=0.5)
    with pytest.raises(ValueError, match="at least 1"):
        PostProcessing(start_frames=0)


def test_with_boundary_heads_a_run_opens_only_after_a_confident_start() -> None:
    settings = PostProcessing(
        start_threshold=0.5, start_frames=2, end_threshold=0.3, end_frames=2, start_confidence=0.6
    )
    probabilities = frames(
        (0.7, 0.0), (0.7, 0.0), (0.7, 0.0),  # 0-2 class 0 on, but no start seen: stays shut
        (0.0, 0.0), (0.0, 0.0), (0.0, 0.0),  # 3-5 background (a start is seen at 5)
        (0.7, 0.0), (0.7, 0.0), (0.0, 0.0),  # 6-7 on, the start at 5 counts: opens at 6
    )  # fmt: skip
    starts = [0.1, 0.2, 0.1, 0.1, 0.1, 0.9, 0.2, 0.1, 0.0]
    boundaries = np.array([[start, 0.0] for start in starts])
    assert same(
        track(probabilities, settings, BACKGROUND, boundaries),
        [Detection(0, 6, 7, 0.7, reported_at=7)],
    )
    # without the confidences (a model without heads) the gate is not applied
    assert len(track(probabilities, settings, BACKGROUND)) == 2
