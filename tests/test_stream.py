"""The Stream record: segments checked and ordered, frame labels derived from them."""

from __future__ import annotations

import numpy as np
import pytest

from stalstm.errors import SegmentError
from stalstm.stream import BACKGROUND, Segment, Stream, segments_from_frame_labels


def joints(frames: int) -> np.ndarray:
    return np.zeros((frames, 1, 4, 3), dtype=np.float64)


def test_frame_labels_follow_the_segments_and_back() -> None:
    stream = Stream("s", joints(10), (Segment(2, 6, 8), Segment(0, 1, 3)))
    assert stream.segments == (Segment(0, 1, 3), Segment(2, 6, 8))  # time order
    expected = [-1, 0, 0, 0, -1, -1, 2, 2, 2, -1]
    assert stream.frame_labels.tolist() == expected
    assert segments_from_frame_labels(np.array(expected)) == stream.segments
    assert stream.joints.dtype == np.float32 and BACKGROUND == -1


def test_touching_segments_of_different_labels_stay_apart() -> None:
    labels = np.array([0, 0, 1, 1, -1, 1])
    assert segments_from_frame_labels(labels) == (
        Segment(0, 0, 1),
        Segment(1, 2, 3),
        Segment(1, 5, 5),
    )


@pytest.mark.parametrize(
    ("segments", "message"),
    [
        ((Segment(0, 5, 4),), "start <= end"),
        ((Segment(0, -1, 4),), "start <= end"),
        ((Segment(0, 5, 10),), "ends after the last frame"),
        ((Segment(-1, 0, 2),), "class index"),
        ((Segment(0, 0, 4), Segment(1, 4, 6)), "overlap"),
    ],
)
def test_impossible_segments_are_refused(segments, message) -> None:
    with pytest.raises(SegmentError, match=message) as caught:
        Stream("stream 7", joints(10), segments)
    assert "stream 7" in str(caught.value)


def test_a_transform_must_keep_every_frame() -> None:
    stream = Stream("s", joints(10), (Segment(0, 1, 3),), extras={"notes": ["n"]})
    moved = stream.with_joints(stream.joints + 1.0)
    assert moved.segments == stream.segments and moved.extras == {"notes": ["n"]}
    with pytest.raises(ValueError, match="keep every frame"):
        stream.with_joints(stream.joints[:-1])
