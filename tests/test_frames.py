"""Live frames: JSON lines parsed or refused line by line, the identity tracker and the person
rule, the causal fill, and layout conversion by joint names."""

from __future__ import annotations

import io

import numpy as np
import pytest

from stalstm.errors import (
    DataError,
    EmptyFileError,
    JointCountError,
    LayoutMismatchError,
    MalformedTokenError,
    NonFiniteError,
    TruncatedFileError,
)
from stalstm.frames import (
    MAX_LINE_CHARACTERS,
    Frame,
    FrameAssembler,
    LayoutConversion,
    PersonSettings,
    frame_to_dict,
    parse_frame_line,
    read_frame_lines,
)
from stalstm.layouts import get_layout


def stick(x: float, y: float, size: float = 10.0) -> np.ndarray:
    """A person of four joints around (x, y)."""
    return np.array([[x, y], [x + size, y], [x, y + size], [x + size, y + size]], np.float32)


def test_json_lines_parse_and_each_bad_line_is_its_own_typed_error() -> None:
    lines = [
        '{"joints": [[1, 2], [3, 4]], "scores": [0.9, 0.1], "t": 0.5}',
        '{"joints": [[[1, 2], [3, 4]], [[5, 6], [7, 8]]], "scores": [[1, 1], [0.5, 0.5]]}',
        '{"joints": []}',
        '{"joints": [[1, 2], [3',
        "",
        '{"joints": [[1, NaN], [3, 4]]}',
        '{"joints": [[1, 2], [3]]}',
        '{"joints": [[1, 2], [3, 4]], "scores": [0.9]}',
        '{"joint": [[1, 2]]}',
        '{"joints": [[true, 2], [3, 4]]}',
        '{"joints": [[1, 2, 3, 4]]}',
        '{"joints": [[1, 2]], "t": "noon"}',
        '{"joints": [[1e300, 2]]}',
        "[1, 2]",
        '{"joints": [[1, 2], [3, 4]]} trailing',
    ]
    items = list(read_frame_lines(io.StringIO("\n".join(lines) + "\n")))
    assert len(items) == len(lines)
    first, two, nobody, *bad = items
    assert first.joints.shape == (1, 2, 2) and first.time == 0.5 and first.line == 1
    np.testing.assert_allclose(first.scores, [[0.9, 0.1]])
    assert two.joints.shape == (2, 2, 2) and two.scores.shape == (2, 2)
    assert nobody.num_persons == 0
    expected = [
        TruncatedFileError, EmptyFileError, NonFiniteError, MalformedTokenError,
        JointCountError, DataError, MalformedTokenError, JointCountError, MalformedTokenError,
        NonFiniteError, DataError, MalformedTokenError,
    ]  # fmt: skip
    assert [type(item) for item in bad] == expected
    for number, item in enumerate(bad, start=4):
        assert item.line == number and item.where == "<stdin>", item
    # a frame written by frame_to_dict reads back
    again = parse_frame_line(__import__("json").dumps(frame_to_dict(two)))
    np.testing.assert_allclose(again.joints, two.joints)


def test_an_overlong_line_is_refused_without_being_held() -> None:
    text = '{"joints": [[1, 2]]}\n' + "x" * (MAX_LINE_CHARACTERS + 10) + '\n{"joints": [[3, 4]]}\n'
    items = list(read_frame_lines(io.StringIO(text)))
    assert isinstance(items[1], MalformedTokenError) and items[1].line == 2
    assert isinstance(items[2], Frame) and items[2].line == 3


def test_tracker_keeps_identities_and_slots_by_the_person_rule() -> None:
    assembler = FrameAssembler(PersonSettings(max_missing=2))
    a, b = stick(0, 0), stick(100, 0)
    # persons listed in either order keep their slots
    first = assembler(Frame(np.stack([a, b])))
    swapped = assembler(Frame(np.stack([b + 1, a + 1])))
    np.testing.assert_array_equal(first.joints, [a, b])
    np.testing.assert_array_equal(swapped.joints, [a + 1, b + 1])
    # a goes away: held for max_missing frames, then its slot is freed (zeros)
    for _ in range(2):
        held = assembler(Frame((b + 1)[None]))
        np.testing.assert_array_equal(held.joints[0], a + 1)
        assert held.scores[0].max() == 0 and held.scores[1].min() == 1
    gone = assembler(Frame((b + 1)[None]))
    assert not gone.joints[0].any()
    # a newcomer far from b takes the lowest free slot (0); b keeps slot 1
    newcomer = assembler(Frame(np.stack([b + 2, stick(300, 300)])))
    np.testing.assert_array_equal(newcomer.joints, [stick(300, 300), b + 2])
    # too far to be the same person: a new person, in a new slot
    jump = assembler(Frame(np.stack([stick(300, 300), b + 200])))
    assert len(jump.joints) == 3
    np.testing.assert_array_equal(jump.joints[2], b + 200)


def test_low_scores_are_filled_with_the_last_seen_value() -> None:
    assembler = FrameAssembler(PersonSettings(score_threshold=0.5))
    person = stick(0, 0)
    scores = np.array([[0.9, 0.2, 0.9, 0.9]], np.float32)  # joint 1 never seen at first
    out = assembler(Frame(person[None], scores))
    np.testing.assert_array_equal(out.joints[0, 1], [0, 0])  # zeros before it is seen
    assembler(Frame((person + 1)[None]))  # no scores: every non-zero joint seen
    out = assembler(Frame((person + 5)[None], np.array([[0.9, 0.1, 0.9, 0.9]], np.float32)))
    np.testing.assert_array_equal(out.joints[0], [person[0] + 5, person[1] + 1, *(person[2:] + 5)])
    # an all-zero joint counts as missing too (the data sets' mark)
    zeroed = (person + 6).copy()
    zeroed[3] = 0
    out = assembler(Frame(zeroed[None]))
    np.testing.assert_array_equal(out.joints[0, 3], person[3] + 5)
    with pytest.raises(JointCountError, match="frame 9"):
        assembler(Frame(np.zeros((1, 5, 2)) + 1), "take, frame 9")


def test_layout_conversion_picks_joints_by_name_or_refuses() -> None:
    mediapipe, coco = get_layout("mediapipe33"), get_layout("coco17")
    conversion = LayoutConversion(mediapipe, coco, 2, "camera 0")
    frame = Frame(np.arange(33 * 3, dtype=np.float32).reshape(1, 33, 3), np.ones((1, 33)))
    converted = conversion(frame, "camera 0")
    assert converted.joints.shape == (1, 17, 2)
    np.testing.assert_array_equal(converted.joints[0, 5], frame.joints[0, 11, :2])  # l shoulder
    with pytest.raises(JointCountError, match="25 joints"):
        conversion(Frame(np.ones((1, 25, 3))), "camera 0")
    with pytest.raises(LayoutMismatchError, match="'hand21' cannot feed a model of layout"):
        LayoutConversion(get_layout("hand21"), coco, 2, "<stdin>")
    with pytest.raises(LayoutMismatchError, match="2 coordinates a joint; the model reads 3"):
        LayoutConversion(coco, coco, 3, "x")(Frame(np.ones((1, 17, 2))), "x")
