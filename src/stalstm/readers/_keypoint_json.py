"""What the readers of pose estimators' JSON share: loading a JSON file with typed errors, plain
number lists checked, and a whole file's frames assembled into a ``Stream``
(``stalstm.frames.FrameAssembler``: persons tracked into slots, low-score joints filled)."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stalstm.errors import (
    DataError,
    EmptyFileError,
    MalformedTokenError,
    NonFiniteError,
    TruncatedFileError,
)
from stalstm.frames import (
    Frame,
    FrameAssembler,
    LayoutConversion,
    PersonSettings,
    frame_where,
    stack_slots,
)
from stalstm.layouts import Layout, get_layout
from stalstm.readers._checks import FLOAT32_MAX
from stalstm.stream import Stream

_NON_FINITE = re.compile(r"-?\b(?:NaN|Infinity)\b")


def _refuse_constant(name: str) -> float:
    raise ValueError(name)


def load_json_file(path: Path) -> Any:
    """The JSON document of a file; a ``DataError`` subclass naming the file (and the line) for
    a file that is empty, not UTF-8, not JSON, cut short, or holds NaN or Infinity (which
    Python's reader would accept and JSON does not)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataError(path, f"cannot read: {error.strerror or error}") from None
    if not data.strip():
        raise EmptyFileError(path, "no JSON in the file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise MalformedTokenError(path, f"not UTF-8 text: {error.reason}", line) from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        cut = error.pos >= len(text.rstrip()) or error.msg.startswith("Unterminated")
        kind = TruncatedFileError if cut else MalformedTokenError
        raise kind(path, f"not JSON: {error.msg}", error.lineno) from None
    except ValueError:
        found = _NON_FINITE.search(text)
        line = text.count("\n", 0, found.start()) + 1 if found else None
        raise NonFiniteError(path, "NaN or Infinity is not a JSON number", line) from None
    except RecursionError:  # Python's JSON reader recurses once per nested list or object
        raise MalformedTokenError(path, "JSON nested too deeply") from None


def number_list(value: Any, where: str, field: str) -> np.ndarray:
    """A flat list of plain numbers -> float64 (1-D); ``MalformedTokenError`` otherwise."""
    if not isinstance(value, list):
        raise MalformedTokenError(where, f"'{field}' must be a list of numbers", field=field)
    if any(isinstance(item, bool) or not isinstance(item, int | float) for item in value):
        raise MalformedTokenError(where, f"'{field}' holds other things than numbers", field=field)
    array = np.array(value, dtype=np.float64)
    bad = ~np.isfinite(array) | (np.abs(array) > FLOAT32_MAX)
    if bad.any():
        raise NonFiniteError(where, f"'{field}' value {int(np.argmax(bad))} is {array[bad][0]}",
                             field=field)  # fmt: skip
    return array


def point_rows(value: Any, where: str, field: str) -> np.ndarray:
    """A list of [x, y(, z)] rows of plain numbers -> float64 (V, C); typed errors otherwise."""
    if not isinstance(value, list) or not all(isinstance(row, list) for row in value):
        raise MalformedTokenError(where, f"'{field}' must be a list of [x, y] rows", field=field)
    widths = {len(row) for row in value}
    if len(widths) > 1 or (widths and widths.pop() not in (2, 3)):
        raise MalformedTokenError(where, f"'{field}' rows must all be [x, y] or [x, y, z]",
                                  field=field)  # fmt: skip
    flat = number_list([item for row in value for item in row], where, field)
    return flat.reshape(len(value), -1) if value else flat.reshape(0, 2)


def checked_scores(scores: np.ndarray, where: str, field: str) -> np.ndarray:
    """Scores must be finite; estimators' confidences are in [0, 1], heatmap maxima may exceed
    1 a little, so only negative scores are refused."""
    if (scores < 0).any():
        raise DataError(where, f"a negative score in '{field}'", field=field)
    return scores


def assemble_stream(
    frames: Sequence[Frame | None],
    layout: Layout,
    name: str,
    source: str | Path,
    settings: PersonSettings | None = None,
    extras: dict[str, Any] | None = None,
    target: Layout | str | Path | None = None,
) -> Stream:
    """A whole file's frames (None for a frame in which nobody was detected) as a ``Stream``:
    persons tracked into slots and missing joints filled by ``FrameAssembler``, the raw scores
    in ``extras["scores"]`` (T, M, V) and the frame times, when every frame has one, in
    ``extras["times"]`` (T,). With a ``target`` layout other than ``layout`` the frames are
    first converted to it, as a live source's are (``LayoutConversion``: joints picked by name;
    a 2D target reads 3D frames by x and y)."""
    if not frames:
        raise EmptyFileError(source, "no frames")
    if target is not None and get_layout(target).name != layout.name:
        target = get_layout(target)
        have = next((f.joints.shape[2] for f in frames if f is not None and f.num_persons), 2)
        conversion = LayoutConversion(layout, target, min(have, target.num_coords), str(source))
        frames = [
            None if frame is None else conversion(frame, frame_where(source, index))
            for index, frame in enumerate(frames)
        ]
        layout = target
    coords = next((f.joints.shape[2] for f in frames if f is not None and f.num_persons), None)
    if coords is None:
        raise EmptyFileError(source, "nobody is detected in any frame")
    shape = (layout.num_joints, int(coords))
    assembler = FrameAssembler(settings, shape)
    empty = Frame(np.zeros((0, *shape), np.float32))
    assembled = [
        assembler(frame if frame is not None else empty, frame_where(source, index))
        for index, frame in enumerate(frames)
    ]
    joints, scores = stack_slots(assembled, shape)
    extras = {**(extras or {}), "scores": scores}
    times = [None if frame is None else frame.time for frame in frames]
    if all(time is not None for time in times):
        extras["times"] = np.array(times, dtype=np.float64)
    return Stream(name, joints, layout=layout.name, extras=extras)
