"""SFINGE3D V1: the real dictionary and streams, the 1-based ground truth, and bad input."""

from __future__ import annotations

import collections
from pathlib import Path

import numpy as np
import pytest

from stalstm.errors import (
    DataError,
    EmptyFileError,
    MalformedTokenError,
    NonFiniteError,
    SegmentError,
)
from stalstm.readers.sfinge import (
    SFINGE_CLASSES,
    read_sfinge_dictionary,
    read_sfinge_gesture,
    read_sfinge_ground_truth,
    read_sfinge_sequences,
    read_sfinge_stream,
)
from stalstm.stream import Segment


@pytest.fixture(scope="module")
def sfinge(data_root: Path) -> Path:
    return data_root / "sfinge3d_v1"


def test_dictionary_has_468_gestures_36_a_class(sfinge: Path) -> None:
    clips = read_sfinge_dictionary(sfinge)
    assert len(clips) == 468
    assert collections.Counter(clip.label for clip in clips) == dict.fromkeys(range(13), 36)
    assert all(clip.joints.shape[1:] == (1, 20, 3) and clip.layout == "hand20" for clip in clips)
    assert sum(clip.num_frames for clip in clips) == 20732
    assert clips[0].name == "1/1" and clips[-1].name == "13/36"
    assert len(SFINGE_CLASSES) == 13


def test_a_gesture_keeps_positions_and_quaternions_value_for_value(sfinge: Path) -> None:
    path = sfinge / "Dictionary" / "1" / "1.txt"
    first = [float(cell) for cell in path.read_text().splitlines()[0].split(";")[:-1]]
    clip = read_sfinge_gesture(path)
    assert clip.label == 0 and clip.replication == 1
    np.testing.assert_array_equal(clip.joints[0, 0, 0], np.float32(first[0:3]))
    np.testing.assert_array_equal(clip.joints[0, 0, 19], np.float32(first[133:136]))
    x, y, z, w = first[3:7]  # the file's order; kept as (w, x, y, z)
    np.testing.assert_array_equal(clip.extras["orientation"][0, 0, 0], np.float32([w, x, y, z]))
    norms = np.linalg.norm(clip.extras["orientation"], axis=-1)
    assert np.allclose(norms, 1.0, atol=1e-4)


def test_a_blank_line_inside_a_gesture_file_is_skipped(sfinge: Path) -> None:
    # Dictionary/11/19.txt has an empty line before its end
    clip = read_sfinge_gesture(sfinge / "Dictionary" / "11" / "19.txt")
    assert clip.num_frames == 33


def test_streams_and_their_278_gestures_counting_frames_from_1(sfinge: Path) -> None:
    streams = read_sfinge_sequences(sfinge)
    assert [stream.name for stream in streams] == [str(n) for n in range(1, 73)]
    assert sum(stream.num_frames for stream in streams) == 27501
    assert sum(len(stream.segments) for stream in streams) == 278
    # the first line of sequencesGT.csv: 1,4,8,51,93,8,155,178,8,242,270,6,358,403
    assert streams[0].segments == (
        Segment(7, 50, 92),
        Segment(7, 154, 177),
        Segment(7, 241, 269),
        Segment(5, 357, 402),
    )
    labels = streams[0].frame_labels
    assert labels[49] == -1 and labels[50] == 7 and labels[92] == 7 and labels[93] == -1


def test_the_two_gestures_past_their_stream_end_are_kept_and_noted(sfinge: Path) -> None:
    streams = {stream.name: stream for stream in read_sfinge_sequences(sfinge)}
    for name, rows, label, start in (("29", 443, 10, 423), ("31", 366, 5, 325)):
        stream = streams[name]
        assert stream.num_frames == rows
        assert stream.segments[-1] == Segment(label, start, rows - 1)
        assert "ends 1 frame(s) past" in stream.extras["notes"][0]
    assert sum("notes" in stream.extras for stream in streams.values()) == 2


def set_cell(line: str, index: int, text: str) -> str:
    cells = line.split(";")
    cells[index] = text
    return ";".join(cells)


def rewrite(source: Path, target: Path, edit) -> Path:
    lines = source.read_text().splitlines()
    target.write_text("\n".join(edit(lines)) + "\n")
    return target


@pytest.mark.parametrize(
    ("edit", "error", "line"),
    [
        (lambda lines: [lines[0], lines[1].rsplit(";", 3)[0] + ";"], MalformedTokenError, 2),
        (lambda lines: [lines[0], lines[1].replace(";", ";;", 1)], MalformedTokenError, 2),
        (lambda lines: [lines[0], "abc" + lines[1][lines[1].index(";") :]], MalformedTokenError, 2),
        (lambda lines: [lines[0], "nan" + lines[1][lines[1].index(";") :]], NonFiniteError, 2),
        (lambda lines: [lines[0], lines[1].replace(";", " ; ", 3)], None, None),
        (lambda lines: [lines[0], "1 2" + lines[1][lines[1].index(";") :]], MalformedTokenError, 2),
        (lambda lines: ["", " "], EmptyFileError, None),
        # finite as float64, inf once stored as float32: a position, then a quaternion value
        (lambda lines: [lines[0], "1e39" + lines[1][lines[1].index(";") :]], NonFiniteError, 2),
        (lambda lines: [lines[0], set_cell(lines[1], 4, "-3.5e38")], NonFiniteError, 2),
        # a form feed ends no line (Python's str.splitlines says it does: line 3 was named)
        (lambda lines: [lines[0] + "\f", lines[1].rsplit(";", 3)[0] + ";"], MalformedTokenError, 2),
    ],
)
def test_bad_gesture_files(sfinge: Path, tmp_path: Path, edit, error, line) -> None:
    folder = tmp_path / "3"
    folder.mkdir()
    path = rewrite(sfinge / "Dictionary" / "3" / "1.txt", folder / "1.txt", edit)
    if error is None:  # spaces around separators are harmless
        assert read_sfinge_gesture(path).num_frames == 2
        return
    with pytest.raises(error) as caught:
        read_sfinge_gesture(path)
    assert caught.value.line == line and str(path) in str(caught.value)


def test_a_stream_with_a_row_cut_short(sfinge: Path, tmp_path: Path) -> None:
    path = rewrite(
        sfinge / "Sequences" / "5.txt",
        tmp_path / "5.txt",
        lambda lines: [*lines[:10], lines[10][: len(lines[10]) // 2]],
    )
    with pytest.raises(MalformedTokenError) as caught:
        read_sfinge_stream(path)
    assert caught.value.line == 11


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("1,2,8,51,93\n", MalformedTokenError, "5 values for 2 gestures"),
        ("1,1,8,51,x\n", MalformedTokenError, "not a whole number"),
        ("1,1,14,51,93\n", SegmentError, "not one of 1..13"),
        ("1,1,8,93,51\n", SegmentError, "first <= last"),
        ("1,1,8,0,51\n", SegmentError, "first <= last"),
        ("1,2,8,51,93,3,90,120\n", SegmentError, "overlap"),
        ("1,1,8,51,93\n1,1,8,51,93\n", DataError, "annotated twice"),
        ("\n", DataError, "no annotated streams"),
        ("\n \n", EmptyFileError, "no annotated streams"),
        ("1,1,8,51," + "9" * 5000 + "\n", MalformedTokenError, "5000 digits"),  # was ValueError
        ("\u0661,1,8,51,93\n", MalformedTokenError, "not a whole number"),  # int() takes it
    ],
)
def test_bad_ground_truth(tmp_path: Path, text: str, error, message: str) -> None:
    path = tmp_path / "sequencesGT.csv"
    path.write_text(text)
    with pytest.raises(error, match=message) as caught:
        read_sfinge_ground_truth(path)
    assert str(path) in str(caught.value)


def test_a_stream_value_beyond_float32_names_its_line(sfinge: Path, tmp_path: Path) -> None:
    path = rewrite(
        sfinge / "Sequences" / "5.txt",
        tmp_path / "5.txt",
        lambda lines: [*lines[:6], "1e300" + lines[6][lines[6].index(",") :], *lines[7:]],
    )
    with pytest.raises(NonFiniteError, match="beyond float32") as caught:
        read_sfinge_stream(path)  # was a stream whose first joint was inf at frame 7
    assert caught.value.line == 7 and str(path) in str(caught.value)


def test_a_gesture_starting_after_its_stream_ends(sfinge: Path, tmp_path: Path) -> None:
    annotated = (Segment(3, 500, 520),)  # 1-based, as written; stream 1 has 426 rows
    with pytest.raises(SegmentError, match="after the stream's 426 frames"):
        read_sfinge_stream(sfinge / "Sequences" / "1.txt", annotated)


def test_streams_and_annotation_must_match(sfinge: Path, tmp_path: Path) -> None:
    folder = tmp_path / "Sequences"
    folder.mkdir()
    for number in (1, 2):
        (folder / f"{number}.txt").write_bytes(
            (sfinge / "Sequences" / f"{number}.txt").read_bytes()
        )
    ground_truth = (sfinge / "Sequences" / "sequencesGT.csv").read_text().splitlines()
    (folder / "sequencesGT.csv").write_text(ground_truth[0] + "\n")
    with pytest.raises(DataError, match="not annotated") as caught:
        read_sfinge_sequences(tmp_path)
    assert "2.txt" in str(caught.value)
    (folder / "sequencesGT.csv").write_text("\n".join(ground_truth[:3]) + "\n")
    with pytest.raises(DataError, match="stream 3 is annotated but has no file") as caught:
        read_sfinge_sequences(tmp_path)
    assert caught.value.line == 3
    (folder / "sequencesGT.csv").write_text("\n".join(ground_truth[:2]) + "\n")
    (folder / "notes.md").write_text("mine")
    with pytest.raises(DataError, match="unexpected file"):
        read_sfinge_sequences(tmp_path)
    (folder / "notes.md").unlink()
    assert [len(stream.segments) for stream in read_sfinge_sequences(tmp_path)] == [4, 5]
