"""Seeds of the stream readers' entries in the reader fuzz campaign (``reader_fuzzing.py``):
SFINGE3D gestures, streams and ground truth, and the stream folder's ``segments.csv``. Each is a
real file of ``$STALSTM_DATA``; where a reader finds the annotation of its input by the input's
name, the seed keeps its real name (``NamedSeed``), and the other real files each reader reads
beside its input are its companions, written once into the scratch folder.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stalstm.readers.sfinge import SFINGE_CLASSES, read_sfinge_stream
from stalstm.stream import Segment, Stream


@dataclass(frozen=True)
class NamedSeed:
    """A seed written to ``filename`` (relative to the scratch folder) rather than to its
    reader's: a SFINGE3D stream keeps its number, which finds its line of the ground truth."""

    filename: str
    value: Any


SFINGE_GESTURES = ("1/5", "6/20", "13/26", "11/19")  # short ones; 11/19 has a blank line
SFINGE_STREAMS = (31, 34, 35)  # 366, 127 and 116 rows; a gesture of 31 ends past its last row


def sfinge_folder(root: Path) -> Path:
    return root / "sfinge3d_v1"


def sfinge_gesture_seeds(root: Path) -> list[bytes]:
    folder = sfinge_folder(root) / "Dictionary"
    return [(folder / f"{name}.txt").read_bytes() for name in SFINGE_GESTURES]


def sfinge_ground_truth_lines(root: Path) -> dict[int, bytes]:
    """The real ``sequencesGT.csv`` line of each stream in ``SFINGE_STREAMS``."""
    lines = (sfinge_folder(root) / "Sequences" / "sequencesGT.csv").read_bytes().splitlines()
    by_stream = {int(line.split(b",")[0]): line + b"\n" for line in lines if line.strip()}
    return {number: by_stream[number] for number in SFINGE_STREAMS}


def sfinge_stream_bytes(root: Path, number: int) -> bytes:
    return (sfinge_folder(root) / "Sequences" / f"{number}.txt").read_bytes()


def sfinge_stream_seeds(root: Path) -> list[NamedSeed]:
    return [
        NamedSeed(f"sfinge-stream-{n}/Sequences/{n}.txt", sfinge_stream_bytes(root, n))
        for n in SFINGE_STREAMS
    ]


def sfinge_stream_companions(root: Path) -> dict[str, bytes]:
    """Each seed stream's folder holds the real ground truth of that stream alone."""
    return {
        f"sfinge-stream-{number}/Sequences/sequencesGT.csv": line
        for number, line in sfinge_ground_truth_lines(root).items()
    }


def sfinge_ground_truth_seeds(root: Path) -> list[bytes]:
    return [b"".join(sfinge_ground_truth_lines(root).values())]


def sfinge_ground_truth_companions(root: Path) -> dict[str, bytes]:
    return {
        f"sfinge-ground-truth/Sequences/{number}.txt": sfinge_stream_bytes(root, number)
        for number in SFINGE_STREAMS
    }


def sfinge_streams(root: Path) -> list[Stream]:
    """Streams 34 and 35 with their real gestures (0-based), as the SFINGE3D reader reads them."""
    annotation = {
        number: ground_truth_segments(line)
        for number, line in sfinge_ground_truth_lines(root).items()
    }
    folder = sfinge_folder(root) / "Sequences"
    return [read_sfinge_stream(folder / f"{n}.txt", annotation[n]) for n in (34, 35)]


def ground_truth_segments(line: bytes) -> tuple[Segment, ...]:
    """The 1-based gestures of one real ground-truth line, as written."""
    values = [int(cell) for cell in line.split(b",")]
    return tuple(Segment(*values[k : k + 3]) for k in range(2, len(values), 3))


def stream_folder_companions(root: Path) -> dict[str, bytes]:
    """Two real SFINGE3D streams in the bring-your-own stream format: 34 as ``.csv`` rows of
    positions, 35 as ``.npy``."""
    by_text, by_array = sfinge_streams(root)
    rows = [",".join(f"{v:.9g}" for v in frame.ravel()) for frame in by_text.joints]
    buffer = io.BytesIO()
    np.save(buffer, by_array.joints)
    return {
        "stream-folder/34.csv": ("\n".join(rows) + "\n").encode(),
        "stream-folder/35.npy": buffer.getvalue(),
    }


def stream_folder_seeds(root: Path) -> list[bytes]:
    """``segments.csv`` of streams 34 and 35, their real gestures: by class name and by index."""
    streams = sfinge_streams(root)
    seeds = []
    for by_name in (True, False):
        rows = [
            f"{stream.name},{SFINGE_CLASSES[s.label] if by_name else s.label},{s.start},{s.end}"
            for stream in streams
            for s in stream.segments
        ]
        seeds.append(("\n".join(["stream,label,start,end", *rows]) + "\n").encode())
    return seeds
