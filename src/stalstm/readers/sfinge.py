"""Reader of SFINGE3D V1 (Caputo, Giachetti, Giannini et al., Computers & Graphics 2020): hand
gestures from a Leap Motion style tracker at 20 fps, 20 joints a frame (layout ``hand20``), each
joint a position (x, y, z, metres) and an orientation quaternion (x, y, z, w).

- ``Dictionary/G/N.txt``: one segmented gesture (class G = 1..13, instance N), a row a frame of
  140 values separated by ``;``, every row ending with a ``;``;
- ``Sequences/N.txt`` (N = 1..72): an untrimmed stream, 140 values a row separated by ``,``;
- ``Sequences/sequencesGT.csv``: a line a stream: stream number, number of gestures n, then n
  times (gesture 1..13, first frame, last frame).

Positions become ``joints`` (T, 1, 20, 3); the quaternions are kept as ``extras["orientation"]``
(T, 1, 20, 4) in the order (w, x, y, z), the NTU reader's convention, so that one package-wide
convention holds.

**Frames of the annotation count from 1.** ``sequencesGT.csv`` gives 1-based frame numbers: the
row of frame f is line f of the stream file. Decided from the files (docs: "Online detection"): with
1-based numbers two gestures end one frame past the last row of their stream (stream 29:
424-444 of 443 rows; stream 31: 326-367 of 366), with 0-based numbers they would end two past,
and no other annotation reaches the last row; the data set's successor by the same authors
(SHREC 2021) documents line numbers starting from 1. Motion onsets cannot settle a one-frame
offset here: change points of the finger poses fall within +/- 6 frames of the annotated starts,
centred on them either way. Stream segments are stored 0-based (``Segment``), so frame f of the
file is frame f - 1 of the stream. An annotated end past the last row is set to the last row and
said in the stream's ``extras["notes"]``: such a gesture is never dropped.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np

from stalstm.clip import Clip
from stalstm.errors import DataError, EmptyFileError, MalformedTokenError, SegmentError
from stalstm.readers._text import read_delimited
from stalstm.stream import RecordedSplit, Segment, Stream

SFINGE_JOINTS = 20
SFINGE_VALUES = SFINGE_JOINTS * 7  # position (3) and quaternion (4) per joint
SFINGE_LAYOUT = "hand20"
GROUND_TRUTH_FILE = "sequencesGT.csv"
# The 13 gestures in label order (the data set's README); 1-5 are static poses.
SFINGE_CLASSES = (
    "one",
    "two",
    "three",
    "four",
    "OK",
    "pinch",
    "grab",
    "expand",
    "tap",
    "swipe left",
    "swipe right",
    "swipe V",
    "swipe O",
)
_NUMBER = re.compile(r"[0-9]+")  # ASCII digits only: int() takes other scripts' digits too
# Digits a ground-truth number may have: frame numbers of hours of recording fit in far fewer,
# and int() refuses numbers of more than 4300 digits with a ValueError.
_MAX_DIGITS = 18


def _split_values(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(T, 140) rows -> joints (T, 1, 20, 3) and orientation (T, 1, 20, 4) as (w, x, y, z)."""
    values = rows.reshape(len(rows), 1, SFINGE_JOINTS, 7)
    joints = values[..., :3].astype(np.float32)
    orientation = values[..., [6, 3, 4, 5]].astype(np.float32)  # (x, y, z, w) -> (w, x, y, z)
    return joints, orientation


def read_sfinge_gesture(path: str | Path) -> Clip:
    """One dictionary gesture ``Dictionary/G/N.txt`` as a Clip (T, 1, 20, 3) of layout
    ``hand20``: name ``G/N``, label G - 1, replication N."""
    path = Path(path)
    rows, _ = read_delimited(path, ";", SFINGE_VALUES, trailing_separator=True)
    joints, orientation = _split_values(rows)
    fields: dict[str, int] = {}
    gesture, instance = path.parent.name, path.stem
    if _NUMBER.fullmatch(gesture) and _NUMBER.fullmatch(instance):
        if not 1 <= int(gesture) <= len(SFINGE_CLASSES):
            raise DataError(path, f"gesture folder {gesture} is not one of 1..13")
        fields = {"label": int(gesture) - 1, "replication": int(instance)}
    return Clip(
        name=f"{gesture}/{instance}",
        joints=joints,
        layout=SFINGE_LAYOUT,
        extras={"orientation": orientation},
        **fields,
    )


def read_sfinge_ground_truth(path: str | Path) -> dict[int, tuple[Segment, ...]]:
    """``sequencesGT.csv``: stream number -> its gestures as 1-based segments exactly as written
    (gesture label 1..13, first and last frame), checked line by line: integers only, the
    announced number of gestures, labels 1..13, 1 <= first <= last, no overlap, no stream twice."""
    return {stream: segments for stream, (segments, _) in _ground_truth_lines(path).items()}


def _ground_truth_lines(path: str | Path) -> dict[int, tuple[tuple[Segment, ...], int]]:
    """``read_sfinge_ground_truth`` with the line of each stream's annotation."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "ground-truth file not found")
    annotation: dict[int, tuple[tuple[Segment, ...], int]] = {}
    lines = path.read_text(encoding="utf-8-sig", errors="replace").split("\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        cells = [cell.strip() for cell in line.split(",")]
        if cells[-1] == "":
            cells = cells[:-1]
        for column, cell in enumerate(cells, start=1):
            if not _NUMBER.fullmatch(cell):
                raise MalformedTokenError(
                    path, f"column {column}: {cell!r} is not a whole number", number
                )
            if len(cell) > _MAX_DIGITS:
                raise MalformedTokenError(
                    path, f"column {column}: a number of {len(cell)} digits", number
                )
        values = [int(cell) for cell in cells]
        if len(values) < 2 or len(values) != 2 + 3 * values[1]:
            count = values[1] if len(values) >= 2 else "?"
            raise MalformedTokenError(
                path, f"{len(values)} values for {count} gestures (2 + 3 per gesture)", number
            )
        stream = values[0]
        if stream in annotation:
            raise DataError(path, f"stream {stream} annotated twice", line=number)
        segments = []
        for offset in range(2, len(values), 3):
            label, first, last = values[offset : offset + 3]
            if not 1 <= label <= len(SFINGE_CLASSES):
                raise SegmentError(path, f"gesture {label} is not one of 1..13", line=number)
            if not 1 <= first <= last:
                raise SegmentError(
                    path, f"gesture {label}: frames {first}-{last} need 1 <= first <= last", number
                )
            segments.append(Segment(label, first, last))
        for before, after in itertools.pairwise(segments):
            if after.start <= before.end:
                raise SegmentError(
                    path,
                    f"gestures at frames {before.start}-{before.end} and "
                    f"{after.start}-{after.end} overlap or are out of order",
                    line=number,
                )
        annotation[stream] = (tuple(segments), number)
    if not annotation:
        raise EmptyFileError(path, "no annotated streams")
    return annotation


def sfinge_segments(
    annotated: tuple[Segment, ...], num_frames: int, where: str | Path
) -> tuple[tuple[Segment, ...], list[str]]:
    """1-based annotated gestures (labels 1..13) -> 0-based stream segments (labels 0..12), and
    notes on what had to be corrected: an end past the stream's last frame is set to it (the
    data set's streams 29 and 31); a gesture that starts past the end is an error."""
    segments, notes = [], []
    for gesture in annotated:
        start, end = gesture.start - 1, gesture.end - 1
        if start >= num_frames:
            raise SegmentError(
                where,
                f"gesture {gesture.label} starts at frame {gesture.start}, after the stream's "
                f"{num_frames} frames",
                field="segments",
            )
        if end >= num_frames:
            notes.append(
                f"gesture {gesture.label} annotated at frames {gesture.start}-{gesture.end} "
                f"(1-based) ends {end - num_frames + 1} frame(s) past the last of the "
                f"{num_frames} rows; its end is set to the last row"
            )
            end = num_frames - 1
        segments.append(Segment(gesture.label - 1, start, end))
    return tuple(segments), notes


def read_sfinge_stream(path: str | Path, annotated: tuple[Segment, ...] = ()) -> Stream:
    """One untrimmed stream ``Sequences/N.txt`` as a Stream (T, 1, 20, 3) of layout ``hand20``,
    with its gestures from the ground truth (``read_sfinge_ground_truth``: 1-based, as written);
    name ``N``."""
    path = Path(path)
    rows, _ = read_delimited(path, ",", SFINGE_VALUES)
    joints, orientation = _split_values(rows)
    segments, notes = sfinge_segments(annotated, len(rows), path)
    extras: dict = {"orientation": orientation}
    if notes:
        extras["notes"] = notes
    return Stream(
        name=path.stem, joints=joints, segments=segments, layout=SFINGE_LAYOUT, extras=extras
    )


def _numbered(folder: Path, suffix: str) -> list[Path]:
    """Files ``<number><suffix>`` of a folder in numeric order; anything else is an error (a
    file that is not read would be silently lost data)."""
    files = []
    for path in folder.iterdir():
        if path.is_dir() or path.name == GROUND_TRUTH_FILE:
            continue
        if path.suffix != suffix or not _NUMBER.fullmatch(path.stem):
            raise DataError(path, f"unexpected file: expected <number>{suffix}")
        files.append(path)
    return sorted(files, key=lambda path: int(path.stem))


def read_sfinge_dictionary(root: str | Path) -> list[Clip]:
    """Every gesture of ``root/Dictionary`` (468 in SFINGE3D V1), by gesture then instance."""
    folder = Path(root) / "Dictionary"
    if not folder.is_dir():
        raise DataError(folder, "no Dictionary folder: is this the SFINGE3D V1 folder?")
    gestures = sorted(
        (path for path in folder.iterdir() if path.is_dir()), key=lambda path: path.name
    )
    for gesture in gestures:
        if not _NUMBER.fullmatch(gesture.name):
            raise DataError(gesture, "unexpected folder: expected a gesture number 1..13")
    gestures.sort(key=lambda path: int(path.name))
    clips = [
        read_sfinge_gesture(path) for gesture in gestures for path in _numbered(gesture, ".txt")
    ]
    if not clips:
        raise DataError(folder, "no gestures found")
    return clips


def read_sfinge_sequences(root: str | Path) -> list[Stream]:
    """Every stream of ``root/Sequences`` with its gestures from ``sequencesGT.csv`` (72 streams
    and 278 gestures in SFINGE3D V1), in stream order. A stream without an annotation line, or
    an annotation line without a stream file, is an error."""
    folder = Path(root) / "Sequences"
    if not folder.is_dir():
        raise DataError(folder, "no Sequences folder: is this the SFINGE3D V1 folder?")
    ground_truth_path = folder / GROUND_TRUTH_FILE
    annotation = _ground_truth_lines(ground_truth_path)
    files = _numbered(folder, ".txt")
    numbers = {int(path.stem) for path in files}
    for stream in sorted(set(annotation) - numbers, key=lambda stream: annotation[stream][1]):
        raise DataError(
            ground_truth_path,
            f"stream {stream} is annotated but has no file",
            line=annotation[stream][1],
        )
    streams = []
    for path in files:
        if int(path.stem) not in annotation:
            raise DataError(path, f"stream not annotated in {GROUND_TRUTH_FILE}")
        streams.append(read_sfinge_stream(path, annotation[int(path.stem)][0]))
    return streams


def sfinge_split(root: str | Path, protocol: str) -> RecordedSplit:
    """SFINGE3D's detection protocols: ``dictionary`` trains on the Dictionary's segmented
    gestures (the material the data set intends for training) and tests on the 72 Sequences;
    ``dictionary+odd-sequences`` also trains on the odd-numbered Sequences and tests on the
    even-numbered ones."""
    dictionary = read_sfinge_dictionary(root)
    sequences = read_sfinge_sequences(root)
    if protocol == "dictionary":
        return RecordedSplit(
            dictionary, [], sequences, list(SFINGE_CLASSES),
            {"train": f"Dictionary ({len(dictionary)} gestures)", "test": "Sequences 1-72"},
        )  # fmt: skip
    odd = [stream for stream in sequences if int(stream.name) % 2 == 1]
    even = [stream for stream in sequences if int(stream.name) % 2 == 0]
    return RecordedSplit(
        dictionary, odd, even, list(SFINGE_CLASSES),
        {"train": f"Dictionary ({len(dictionary)} gestures) and the {len(odd)} odd Sequences",
         "test": f"the {len(even)} even Sequences"},
    )  # fmt: skip
