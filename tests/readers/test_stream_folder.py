"""The bring-your-own stream format: a folder of streams and segments.csv (frames from 0)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stalstm.errors import DataError, LayoutMismatchError, NonFiniteError, SegmentError
from stalstm.readers.stream_folder import (
    TouchingSegmentsWarning,
    read_stream_folder,
    train_test_streams,
    write_stream_folder,
)
from stalstm.stream import Segment, Stream


def make_folder(folder: Path, segments: str, frames: int = 30) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    generator = np.random.default_rng(0)
    np.save(folder / "morning.npy", generator.normal(size=(frames, 17, 2)))
    rows = generator.normal(size=(frames // 2, 17 * 2))
    (folder / "evening.csv").write_text(
        "\n".join(",".join(f"{value:.4f}" for value in row) for row in rows) + "\n"
    )
    (folder / "segments.csv").write_text("stream,label,start,end\n" + segments)
    return folder


def test_streams_with_named_labels_and_a_stream_without_segments(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, "morning,wave,0,9\nmorning,clap,12,29\nevening,wave,3,5\n")
    result = read_stream_folder(folder, "coco17")
    assert result.class_names == ["clap", "wave"]
    streams = {stream.name: stream for stream in result.streams}
    assert streams["morning"].segments == (Segment(1, 0, 9), Segment(0, 12, 29))
    assert streams["evening"].segments == (Segment(1, 3, 5),)
    assert streams["evening"].joints.shape == (15, 1, 17, 2)
    assert streams["morning"].frame_labels[10:12].tolist() == [-1, -1]


def test_a_test_folder_may_lack_training_classes_but_not_bring_new_ones(tmp_path: Path) -> None:
    make_folder(tmp_path / "train", "morning,wave,0,9\nmorning,clap,12,29\nevening,sit,3,5\n")
    make_folder(tmp_path / "test", "morning,wave,0,9\nevening,sit,2,6\n")
    split = train_test_streams(tmp_path, "coco17")
    assert split.class_names == ["clap", "sit", "wave"]
    test = {stream.name: stream for stream in split.test_streams}
    assert test["morning"].segments == (Segment(2, 0, 9),)  # wave keeps train/'s number
    assert test["evening"].segments == (Segment(1, 2, 6),)
    make_folder(tmp_path / "test", "morning,wave,0,9\nevening,jump,2,6\n")
    with pytest.raises(DataError, match="'jump' is not one of the training classes") as error:
        train_test_streams(tmp_path, "coco17")
    assert error.value.line == 3 and "test" in str(error.value)
    make_folder(tmp_path / "test", "morning,0,0,9\n")
    with pytest.raises(DataError, match="both name their classes or both number them"):
        train_test_streams(tmp_path, "coco17")


def test_a_stream_with_no_segment_is_all_background(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, "morning,0,2,4\n")
    streams = {s.name: s for s in read_stream_folder(folder, "coco17").streams}
    assert streams["evening"].segments == () and set(streams["evening"].frame_labels) == {-1}


def test_write_and_read_back(tmp_path: Path) -> None:
    stream = Stream("take-1", np.ones((12, 1, 20, 3)), (Segment(2, 1, 4), Segment(0, 6, 11)))
    write_stream_folder(tmp_path, [stream])
    (back,) = read_stream_folder(tmp_path, "hand20").streams
    assert back.name == "take-1" and back.segments == stream.segments
    np.testing.assert_array_equal(back.joints, stream.joints)


@pytest.mark.parametrize(
    ("segments", "error", "message", "line"),
    [
        ("morning,wave,10,9\n", SegmentError, "start <= end", 2),
        ("morning,wave,0,30\n", SegmentError, "<= 29", 2),  # one past the last frame
        ("morning,wave,-1,9\n", SegmentError, "not a frame number", 2),
        ("morning,wave,1.5,9\n", SegmentError, "not a frame number", 2),
        ("morning,wave,0,9\nmorning,clap,8,12\n", SegmentError, "overlaps 0-9", 3),
        ("night,wave,0,9\n", DataError, r"no \.npy or \.csv file for stream 'night'", 2),
        ("morning,,0,9\n", DataError, "empty label", 2),
    ],
)
def test_bad_segments_name_their_line(tmp_path: Path, segments, error, message, line) -> None:
    folder = make_folder(tmp_path, segments)
    with pytest.raises(error, match=message) as caught:
        read_stream_folder(folder, "coco17")
    assert caught.value.line == line and "segments.csv" in str(caught.value)


def test_an_end_on_the_next_start_is_read_by_the_rule_with_a_warning(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, "morning,clap,9,12\nmorning,wave,0,9\n")
    with pytest.warns(TouchingSegmentsWarning, match=r"line 3: segment 0-9 .* read as 0-8"):
        streams = {s.name: s for s in read_stream_folder(folder, "coco17").streams}
    stream = streams["morning"]
    assert [(segment.start, segment.end) for segment in stream.segments] == [(0, 8), (9, 12)]
    assert stream.frame_labels[8] == stream.segments[0].label != stream.frame_labels[9]


def test_a_true_overlap_says_how_to_fix_it(tmp_path: Path) -> None:
    folder = make_folder(tmp_path, "morning,wave,0,9\nmorning,clap,7,12\n")
    with pytest.raises(SegmentError, match="by 3 frames: end the earlier one before frame 7"):
        read_stream_folder(folder, "coco17")


@pytest.mark.parametrize(
    ("segments", "message", "line"),
    [
        (b"morning,wave,0,9\nmorning,clap,\xff,12\n", "not UTF-8", 3),  # UnicodeDecodeError
        (b"morning,wave,0," + b"9" * 200_000 + b"\n", "not readable CSV", 2),  # csv.Error
        (b"morning,wave,0,\xc2\xb2\n", "not a frame number", 2),  # int("²"): ValueError
        (b"morning,wave,0," + b"9" * 5000 + b"\n", "not a frame number", 2),  # over 4300 digits
    ],
)
def test_unreadable_segments_csv_names_the_line(
    tmp_path: Path, segments: bytes, message: str, line: int
) -> None:
    folder = make_folder(tmp_path, "")
    (folder / "segments.csv").write_bytes(b"stream,label,start,end\n" + segments)
    with pytest.raises(DataError, match=message) as caught:
        read_stream_folder(folder, "coco17")
    assert caught.value.line == line and str(folder / "segments.csv") in str(caught.value)


def test_a_label_of_other_digits_is_a_class_name(tmp_path: Path) -> None:
    # "²".isdigit() is true and int("²") a ValueError: only ASCII digits make a class index
    folder = make_folder(tmp_path, "morning,\u00b2,0,9\nmorning,1,12,14\n")
    result = read_stream_folder(folder, "coco17")
    assert result.class_names == ["1", "\u00b2"]
    streams = {stream.name: stream for stream in result.streams}
    assert streams["morning"].segments == (Segment(1, 0, 9), Segment(0, 12, 14))


def test_bad_folders_and_files(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "a", "")
    (folder / "segments.csv").write_text("stream,label,start\n")
    with pytest.raises(DataError, match="missing column 'end'"):
        read_stream_folder(folder, "coco17")
    folder = make_folder(tmp_path / "b", "")
    with pytest.raises(LayoutMismatchError, match="layout hand20"):
        read_stream_folder(folder, "hand20")
    np.save(folder / "morning.npy", np.full((5, 17, 2), np.nan))
    with pytest.raises(NonFiniteError):
        read_stream_folder(folder, "coco17")
    empty = tmp_path / "c"
    empty.mkdir()
    (empty / "segments.csv").write_text("stream,label,start,end\n")
    with pytest.raises(DataError, match=r"no \.npy or \.csv stream files"):
        read_stream_folder(empty, "coco17")
    with pytest.raises(DataError, match="not found"):
        read_stream_folder(tmp_path / "missing", "coco17")
