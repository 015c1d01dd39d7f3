"""The bring-your-own stream format: a folder of untrimmed recordings plus ``segments.csv``.

- ``<stream>.npy``: float array (T, M, V, C) or (T, V, C) (one person), C = 2 or 3;
- ``<stream>.csv``: one row per frame, x, y[, z] per joint per person in layout order, an
  optional header row (the clip format of ``stalstm.readers.generic``);
- ``segments.csv``: columns ``stream, label, start, end``, one row per annotated action.
  ``start`` and ``end`` are the action's first and last frame, **counted from 0** (row 0 of a
  ``.csv`` stream, index 0 of a ``.npy`` one) and both inside the action. ``label`` is an
  integer class index or a class name (names get indices in sorted order). Frames outside every
  segment are background.

Every file is a stream (a stream with no row in ``segments.csv`` is all background) and every
stream named in ``segments.csv`` must have a file. A segment that ends before it starts, runs
past its stream's last frame or overlaps another segment of its stream is a ``SegmentError``
naming the line and saying how to fix it: nothing is clipped or dropped quietly. One case is
read by a rule instead, with a ``TouchingSegmentsWarning``: a segment that ends on the very
frame where the next one begins (an end written inclusive by hand, meaning "up to the next
start") ends one frame before it.
"""

from __future__ import annotations

import csv
import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from stalstm.errors import DataError, SegmentError
from stalstm.layouts import Layout, get_layout
from stalstm.readers._text import NATURAL, read_csv_table
from stalstm.readers.generic import CLIP_SUFFIXES, read_generic_clip
from stalstm.stream import RecordedSplit, Segment, Stream

SEGMENTS_FILE = "segments.csv"


class TouchingSegmentsWarning(UserWarning):
    """A segment that ends on the frame where the next one begins (read by the documented
    rule: the earlier segment ends one frame before)."""


SEGMENT_COLUMNS = ("stream", "label", "start", "end")


@dataclass(frozen=True)
class StreamFolder:
    """The streams of a folder, in file-name order, and the class names (empty when the labels
    were given as integers)."""

    streams: list[Stream]
    class_names: list[str]


@dataclass(frozen=True)
class _SegmentRow:
    stream: str
    label_text: str
    start: int
    end: int
    line: int


def _read_segment_rows(path: Path) -> list[_SegmentRow]:
    if not path.is_file():
        raise DataError(path.parent, f"no {SEGMENTS_FILE} in the folder")
    rows = []
    for line, row in read_csv_table(path, SEGMENT_COLUMNS):
        values = {column: (row.get(column) or "").strip() for column in SEGMENT_COLUMNS}
        for column in ("stream", "label"):
            if not values[column]:
                raise DataError(path, f"empty {column}", line=line, field=column)
        frames = {}
        for column in ("start", "end"):
            if not NATURAL.fullmatch(values[column]):
                raise SegmentError(
                    path,
                    f"{values[column]!r} is not a frame number (0, 1, 2...)",
                    line=line,
                    field=column,
                )
            frames[column] = int(values[column])
        rows.append(
            _SegmentRow(values["stream"], values["label"], frames["start"], frames["end"], line)
        )
    return rows


def read_stream_folder(
    folder: str | Path, layout: str | Path | Layout, class_names: Sequence[str] | None = None
) -> StreamFolder:
    """Every stream of a bring-your-own folder with its segments, checked against ``layout``.
    Labels that are names are numbered in sorted order, or by ``class_names`` when given (a
    test folder read with its training folder's names: it may lack some of them, but a name
    not among them is a ``DataError`` naming its line)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(folder, "stream folder not found")
    layout = get_layout(layout)
    segments_path = folder / SEGMENTS_FILE
    rows = _read_segment_rows(segments_path)
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in CLIP_SUFFIXES and path.name != SEGMENTS_FILE:
            if path.stem in files:
                raise DataError(path, f"two files for stream {path.stem!r}")
            files[path.stem] = path
    if not files:
        raise DataError(folder, "no .npy or .csv stream files")
    for row in rows:
        if row.stream not in files:
            raise DataError(
                segments_path, f"no .npy or .csv file for stream {row.stream!r}", line=row.line
            )
    texts = [row.label_text for row in rows]
    by_name = not all(NATURAL.fullmatch(text) for text in texts)
    if class_names and by_name:
        for row in rows:
            if row.label_text not in class_names:
                raise DataError(segments_path, f"class {row.label_text!r} is not one of the "
                                f"training classes {list(class_names)}", row.line)  # fmt: skip
        names = list(class_names)
    else:
        names = sorted(set(texts)) if by_name else []
    streams = [
        _stream_with_segments(path, layout, rows, names, segments_path) for path in files.values()
    ]
    return StreamFolder(streams, names)


def _stream_with_segments(
    path: Path,
    layout: Layout,
    rows: list[_SegmentRow],
    class_names: list[str],
    segments_path: Path,
) -> Stream:
    """One stream file with its rows of ``segments.csv`` (labels by ``class_names`` when the
    labels are names), every segment checked against the stream."""
    clip = read_generic_clip(path, layout)
    name = path.stem
    own = [row for row in rows if row.stream == name]
    segments = []
    for row in own:
        if row.end < row.start or row.end >= clip.num_frames:
            raise SegmentError(
                segments_path,
                f"segment {row.start}-{row.end} of stream {name!r} needs start <= end <= "
                f"{clip.num_frames - 1} (its last frame, counting from 0)",
                line=row.line,
            )
        if class_names:
            label = class_names.index(row.label_text)
        elif NATURAL.fullmatch(row.label_text):
            label = int(row.label_text)
        else:
            raise DataError(
                segments_path, f"label {row.label_text!r} is not a class index", row.line
            )
        segments.append(Segment(label, row.start, row.end))
    ordered = sorted(zip(segments, own, strict=True), key=lambda pair: pair[0].start)
    for index, ((before, before_row), (after, row)) in enumerate(itertools.pairwise(ordered)):
        if after.start == before.end and before.start < before.end:
            # an end written inclusive by hand on the frame the next segment starts at: the
            # earlier segment ends on the frame before (the rule of the docs' stream format)
            warnings.warn(
                f"{segments_path}, line {before_row.line}: segment {before.start}-{before.end} "
                f"of stream {name!r} ends on the frame where the next begins (line {row.line}); "
                f"read as {before.start}-{before.end - 1}",
                TouchingSegmentsWarning,
                stacklevel=2,
            )
            before = replace(before, end=before.end - 1)
            ordered[index] = (before, before_row)
        if after.start <= before.end:
            overlap = before.end - after.start + 1
            raise SegmentError(
                segments_path,
                f"segment {after.start}-{after.end} of stream {name!r} overlaps "
                f"{before.start}-{before.end} (line {before_row.line}) by {overlap} frames: end "
                f"the earlier one before frame {after.start}, or start the later one after "
                f"frame {before.end}",
                line=row.line,
            )
    return Stream(name, clip.joints, tuple(pair[0] for pair in ordered), layout.name)


def read_stream_file(
    path: str | Path, layout: str | Path | Layout, class_names: list[str] | None = None
) -> Stream:
    """One stream file of this format; its segments come from the ``segments.csv`` beside it
    when there is one (labels that are names are looked up in ``class_names``)."""
    path = Path(path)
    layout = get_layout(layout)
    segments_path = path.parent / SEGMENTS_FILE
    rows = _read_segment_rows(segments_path) if segments_path.is_file() else []
    if rows and not all(NATURAL.fullmatch(row.label_text) for row in rows) and not class_names:
        class_names = sorted({row.label_text for row in rows})
    if class_names and any(
        row.label_text not in class_names for row in rows if row.stream == path.stem
    ):
        unknown = next(r for r in rows if r.stream == path.stem and r.label_text not in class_names)
        raise DataError(segments_path, f"unknown class {unknown.label_text!r}", unknown.line)
    return _stream_with_segments(path, layout, rows, list(class_names or []), segments_path)


def write_stream_folder(
    folder: str | Path, streams: Sequence[Stream], class_names: Sequence[str] | None = None
) -> Path:
    """Write streams in this format (``<name>.npy`` each, and ``segments.csv`` with class names
    when given, else integer labels); ``read_stream_folder`` reads them back."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / SEGMENTS_FILE).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(SEGMENT_COLUMNS)
        for stream in streams:
            if "/" in stream.name or "\\" in stream.name:
                raise ValueError(f"stream name {stream.name!r} cannot be a file name")
            np.save(folder / f"{stream.name}.npy", stream.joints)
            for segment in stream.segments:
                label = class_names[segment.label] if class_names else segment.label
                writer.writerow([stream.name, label, segment.start, segment.end])
    return folder


def train_test_streams(root: str | Path, layout: str | Path | Layout | None) -> RecordedSplit:
    """A bring-your-own detection folder: ``train/`` and ``test/`` stream folders (each with its
    ``segments.csv``) in the layout the user names. Classes named in ``test/`` must be classes of
    ``train/`` (the test folder may lack some); both name their classes or both number them."""
    root = Path(root)
    if layout is None or layout == "":
        raise DataError(root, "stream folders need a layout: --layout NAME or a layout .json")
    train = read_stream_folder(root / "train", layout)
    test = read_stream_folder(root / "test", layout, train.class_names)
    if bool(train.class_names) != bool(test.class_names) and any(
        stream.segments for stream in test.streams
    ):
        raise DataError(root / "test", "train/ and test/ must both name their classes or both "
                        "number them")  # fmt: skip
    labels = [segment.label for stream in train.streams for segment in stream.segments]
    names = train.class_names or test.class_names
    class_names = names or [f"class {label}" for label in range(1 + max(labels, default=0))]
    return RecordedSplit(
        [], train.streams, test.streams, class_names,
        {"train": f"{len(train.streams)} streams of train/",
         "test": f"{len(test.streams)} streams of test/"},
    )  # fmt: skip
