"""Reader of NTU RGB+D / NTU RGB+D 120 ``.skeleton`` files (Shahroudy et al., 2016).

Format (whitespace-separated text): the frame count; per frame the body count (0 is legal);
per body one line of 10 fields (bodyID, clippedEdges, handLeftConfidence, handLeftState,
handRightConfidence, handRightState, isRestricted, leanX, leanY, trackingState), the joint
count (25), then 25 lines of 12 fields (x, y, z; depthX, depthY; colorX, colorY; orientation
w, x, y, z; trackingState).

The whole file is tokenised once; the walk over the structure touches only the count tokens
and bodyIDs (kept as Python ints from their text: they have 17 digits, beyond float precision),
and the joint blocks are gathered with one fancy index. Bodies are tracked by bodyID: the
persons axis holds the distinct bodyIDs in order of first appearance, zeros where absent.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from stalstm.clip import Clip
from stalstm.errors import (
    EmptyFileError,
    JointCountError,
    MalformedTokenError,
    NonFiniteError,
    TruncatedFileError,
)
from stalstm.readers._tokens import Tokens, tokenize_numbers

NTU_JOINTS = 25
BODY_INFO_FIELDS = 10
JOINT_FIELDS = 12
BODY_TOKENS = BODY_INFO_FIELDS + 1 + NTU_JOINTS * JOINT_FIELDS
NAME_PATTERN = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")
# Per-body-frame integer fields of the info line (after the bodyID) and their extras keys.
BODY_INTEGER_FIELDS = {
    "clipped_edges": 1,
    "hand_left_confidence": 2,
    "hand_left_state": 3,
    "hand_right_confidence": 4,
    "hand_right_state": 5,
    "is_restricted": 6,
    "body_tracking_state": 9,
}


def parse_ntu_name(stem: str) -> dict[str, int]:
    """Fields of an NTU sample name ``SsssCcccPpppRrrrAaaa``: setup, view (camera), subject
    (performer), replication, label (action - 1); empty when the name does not follow it."""
    match = NAME_PATTERN.fullmatch(stem)
    if not match:
        return {}
    setup, camera, performer, replication, action = map(int, match.groups())
    return {
        "setup": setup,
        "view": camera,
        "subject": performer,
        "replication": replication,
        "label": action - 1,
    }


def read_ntu_skeleton(path: str | Path) -> Clip:
    """Read one ``.skeleton`` file into a Clip (T, M, 25, 3) of layout ``ntu25``.

    ``extras`` keeps every other field: ``body_ids`` (M,) int64, ``present`` (T, M) bool,
    ``body_count`` (T,) bodies listed per frame, the info fields ``clipped_edges``,
    ``hand_left_confidence``, ``hand_left_state``, ``hand_right_confidence``,
    ``hand_right_state``, ``is_restricted``, ``body_tracking_state`` (T, M) int8 and ``lean``
    (T, M, 2); per joint ``depth_xy`` and ``color_xy`` (T, M, 25, 2), ``orientation``
    (T, M, 25, 4, as w, x, y, z) and ``tracking_state`` (T, M, 25) int8.

    Raises the typed errors of ``stalstm.errors`` naming the file and line: EmptyFileError,
    TruncatedFileError, MalformedTokenError, JointCountError, NonFiniteError.
    """
    path = Path(path)
    data = path.read_bytes()
    tokens = tokenize_numbers(data, path)
    if len(tokens) == 0:
        raise EmptyFileError(path, "no frame count")
    walk = _walk(tokens, path)
    return _assemble(tokens, walk, path)


class _Walk:
    """Token offsets of every body block, with its frame and person slot."""

    def __init__(self) -> None:
        self.body_starts: list[int] = []
        self.body_frames: list[int] = []
        self.body_slots: list[int] = []
        self.body_ids: list[int] = []
        self.body_count: list[int] = []


def _count(tokens: Tokens, index: int, what: str, path: Path) -> int:
    """The non-negative integer count at token ``index``, strictly written as an integer."""
    if index >= len(tokens):
        raise TruncatedFileError(path, f"data ended where {what} was expected", tokens.end_line())
    text = tokens.text[index]
    if not text.isdigit():
        shown = text.decode("utf-8", errors="replace")
        raise MalformedTokenError(
            path, f"{what} must be a non-negative integer, got {shown!r}", tokens.line_of(index)
        )
    return int(text)


def _walk(tokens: Tokens, path: Path) -> _Walk:
    walk = _Walk()
    slot_of_id: dict[int, int] = {}
    frame_count = _count(tokens, 0, "the frame count", path)
    cursor = 1
    for frame in range(frame_count):
        bodies = _count(tokens, cursor, f"the body count of frame {frame + 1}", path)
        walk.body_count.append(bodies)
        cursor += 1
        seen_in_frame: set[int] = set()
        for body in range(bodies):
            where = f"body {body + 1} of frame {frame + 1}"
            body_id = _count(tokens, cursor, f"the bodyID of {where}", path)
            if body_id in seen_in_frame:
                raise MalformedTokenError(
                    path,
                    f"bodyID {body_id} listed twice in frame {frame + 1}",
                    tokens.line_of(cursor),
                )
            seen_in_frame.add(body_id)
            joint_index = cursor + BODY_INFO_FIELDS
            joints = _count(tokens, joint_index, f"the joint count of {where}", path)
            if joints != NTU_JOINTS:
                raise JointCountError(
                    path,
                    f"{where} has {joints} joints, expected {NTU_JOINTS}",
                    tokens.line_of(joint_index),
                )
            if cursor + BODY_TOKENS > len(tokens):
                raise TruncatedFileError(path, f"data ended inside {where}", tokens.end_line())
            walk.body_starts.append(cursor)
            walk.body_frames.append(frame)
            walk.body_slots.append(slot_of_id.setdefault(body_id, len(slot_of_id)))
            cursor += BODY_TOKENS
    if cursor != len(tokens):
        raise MalformedTokenError(
            path,
            f"unexpected data after the {frame_count} frames the file announces",
            tokens.line_of(cursor),
        )
    walk.body_ids = list(slot_of_id)
    return walk


def _assemble(tokens: Tokens, walk: _Walk, path: Path) -> Clip:
    frames = len(walk.body_count)
    persons = len(walk.body_ids)
    values = tokens.values
    starts = np.asarray(walk.body_starts, dtype=np.int64)
    frame_index = np.asarray(walk.body_frames, dtype=np.int64)
    slot_index = np.asarray(walk.body_slots, dtype=np.int64)

    info = values[starts[:, None] + np.arange(BODY_INFO_FIELDS)]  # (B, 10)
    joint_offsets = BODY_INFO_FIELDS + 1 + np.arange(NTU_JOINTS * JOINT_FIELDS)
    blocks = values[starts[:, None] + joint_offsets].reshape(-1, NTU_JOINTS, JOINT_FIELDS)
    _check_finite(tokens, info[:, 1:], starts[:, None] + np.arange(1, BODY_INFO_FIELDS), path)
    _check_finite(tokens, blocks, (starts[:, None] + joint_offsets).reshape(blocks.shape), path)

    def per_body(array: np.ndarray, dtype: type, trailing: tuple[int, ...] = ()) -> np.ndarray:
        out = np.zeros((frames, persons, *trailing), dtype=dtype)
        out[frame_index, slot_index] = array
        return out

    extras: dict[str, object] = {
        "body_ids": np.asarray(walk.body_ids, dtype=np.int64),
        "present": per_body(np.ones(len(starts), dtype=bool), bool),
        "body_count": np.asarray(walk.body_count, dtype=np.int64),
        "lean": per_body(info[:, 7:9], np.float32, (2,)),
        "depth_xy": per_body(blocks[:, :, 3:5], np.float32, (NTU_JOINTS, 2)),
        "color_xy": per_body(blocks[:, :, 5:7], np.float32, (NTU_JOINTS, 2)),
        "orientation": per_body(blocks[:, :, 7:11], np.float32, (NTU_JOINTS, 4)),
        "tracking_state": per_body(blocks[:, :, 11], np.int8, (NTU_JOINTS,)),
    }
    for key, column in BODY_INTEGER_FIELDS.items():
        extras[key] = per_body(info[:, column], np.int8)
    joints = per_body(blocks[:, :, 0:3], np.float32, (NTU_JOINTS, 3))
    return Clip(
        name=path.stem,
        joints=joints,
        layout="ntu25",
        extras=extras,
        **parse_ntu_name(path.stem),
    )


def _check_finite(tokens: Tokens, values: np.ndarray, token_index: np.ndarray, path: Path) -> None:
    bad = ~np.isfinite(values)
    if bad.any():
        first = int(token_index[bad].min())
        shown = tokens.text[first].decode("utf-8", errors="replace")
        raise NonFiniteError(path, f"value {shown!r}", tokens.line_of(first))
