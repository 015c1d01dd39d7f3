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
from collections.abc import Iterable
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
from stalstm.readers._checks import first_beyond_float32
from stalstm.readers._tokens import Tokens, tokenize_numbers

NTU_JOINTS = 25
BODY_INFO_FIELDS = 10
JOINT_FIELDS = 12
BODY_TOKENS = BODY_INFO_FIELDS + 1 + NTU_JOINTS * JOINT_FIELDS
MAX_BODY_ID = 2**63 - 1  # kept as int64 (the real ones have 17 digits)
MIN_GRID_CAP = 256 * 2**20  # bytes of the dense (frames, persons, 311) grid always allowed
GRID_BYTES_PER_FILE_BYTE = 64
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
# Columns of a body block holding integers kept as int8: the info fields above and every
# joint's trackingState.
INTEGER_COLUMNS = [
    *BODY_INTEGER_FIELDS.values(),
    *(
        BODY_INFO_FIELDS + 1 + joint * JOINT_FIELDS + JOINT_FIELDS - 1
        for joint in range(NTU_JOINTS)
    ),
]


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
    walk = _walk_quickly(tokens)
    if walk is None:  # something is off: the strict walk names what and where
        walk = _walk_strictly(tokens, path)
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
    text = tokens.text(index)
    if not text.isdigit():
        shown = text.decode("utf-8", errors="replace")
        raise MalformedTokenError(
            path, f"{what} must be a non-negative integer, got {shown!r}", tokens.line_of(index)
        )
    return int(text)


def _check_dense_size(tokens: Tokens, walk: _Walk, path: Path) -> None:
    """The clip is dense over (frames, persons): a file whose bodyIDs each appear in one frame
    would need frames x persons x 311 float32 from a few kilobytes per body. Refuse a grid
    larger than ``MIN_GRID_CAP`` or ``GRID_BYTES_PER_FILE_BYTE`` x the file's size."""
    frames, persons = len(walk.body_count), len(walk.body_ids)
    grid_bytes = frames * persons * BODY_TOKENS * 4
    cap = max(MIN_GRID_CAP, GRID_BYTES_PER_FILE_BYTE * len(tokens.data))
    if grid_bytes > cap:
        last_person_starts = walk.body_starts[walk.body_slots.index(persons - 1)]
        raise MalformedTokenError(
            path,
            f"{persons} distinct bodyIDs over {frames} frames would take "
            f"{grid_bytes / 2**30:.1f} GiB as a dense clip (at most {cap / 2**30:.2f} GiB for a "
            "file this size)",
            tokens.line_of(last_person_starts),
        )


def _walk_quickly(tokens: Tokens) -> _Walk | None:
    """The structure of a well-formed file, jumping from body count to body count (a body is
    always BODY_TOKENS tokens) and checking joint counts and bodyIDs for all bodies at once.
    Returns None at the first inconsistency; ``_walk_strictly`` then reports it precisely."""
    data, starts_of, ends_of, values = tokens.data, tokens.starts, tokens.ends, tokens.values
    total = len(tokens)

    def count_at(index: int) -> int | None:
        if index >= total:
            return None
        text = data[starts_of[index] : ends_of[index]]
        return int(text) if text.isdigit() else None

    frame_count = count_at(0)
    if frame_count is None:
        return None
    walk = _Walk()
    cursor = 1
    body_starts: list[int] = []
    body_frames: list[int] = []
    for frame in range(frame_count):
        bodies = count_at(cursor)
        if bodies is None:
            return None
        walk.body_count.append(bodies)
        first = cursor + 1
        cursor = first + bodies * BODY_TOKENS
        if cursor > total:
            return None
        body_starts.extend(range(first, cursor, BODY_TOKENS))
        body_frames.extend([frame] * bodies)
    if cursor != total:
        return None
    starts = np.asarray(body_starts, dtype=np.int64)
    joint_counts = starts + BODY_INFO_FIELDS
    if not (
        np.all(values[joint_counts] == NTU_JOINTS)
        and np.all(ends_of[joint_counts] - starts_of[joint_counts] == len(str(NTU_JOINTS)))
    ):
        return None
    id_texts = [data[starts_of[k] : ends_of[k]] for k in body_starts]
    if not all(text.isdigit() and int(text) <= MAX_BODY_ID for text in id_texts):
        return None
    ids = np.asarray([int(text) for text in id_texts], dtype=np.int64)  # exact, never via float
    frames = np.asarray(body_frames, dtype=np.int64)
    if len(ids) > 1:  # the same bodyID twice in one frame
        order = np.lexsort((ids, frames))
        if np.any((np.diff(frames[order]) == 0) & (np.diff(ids[order]) == 0)):
            return None
    unique_ids, first_seen, inverse = np.unique(ids, return_index=True, return_inverse=True)
    appearance = np.argsort(first_seen, kind="stable")  # slots in order of first appearance
    slot_of_unique = np.empty(len(unique_ids), dtype=np.int64)
    slot_of_unique[appearance] = np.arange(len(unique_ids))
    walk.body_starts = body_starts
    walk.body_frames = body_frames
    walk.body_slots = slot_of_unique[inverse.reshape(-1)].tolist()
    walk.body_ids = [int(i) for i in unique_ids[appearance]]
    return walk


def _walk_strictly(tokens: Tokens, path: Path) -> _Walk:
    """Token by token, every count checked where it stands: slower, and exact about the first
    problem's kind and line."""
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
            if body_id > MAX_BODY_ID:
                raise MalformedTokenError(
                    path,
                    f"bodyID {body_id} of {where} does not fit 64 bits",
                    tokens.line_of(cursor),
                )
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
    _check_dense_size(tokens, walk, path)
    starts = np.asarray(walk.body_starts, dtype=np.int64)
    # Every body block (info line, joint count, 25 joint lines) in one gather: (bodies, 311).
    token_index = starts[:, None] + np.arange(BODY_TOKENS)
    blocks = tokens.values[token_index]
    blocks[:, 0] = 0.0  # the bodyID column: kept exactly in body_ids, not as a float
    if not np.isfinite(blocks).all():
        first = int(token_index[~np.isfinite(blocks)].min())
        shown = tokens.text(first).decode("utf-8", errors="replace")
        raise NonFiniteError(path, f"value {shown!r}", tokens.line_of(first))
    beyond = first_beyond_float32(blocks)
    if beyond is not None:  # finite as float64, inf in the float32 clip
        first = int(token_index.reshape(-1)[beyond])
        shown = tokens.text(first).decode("utf-8", errors="replace")
        raise NonFiniteError(
            path, f"value {shown} is beyond float32's range", tokens.line_of(first)
        )
    # The flag and state fields are kept as int8: a value that is no small integer would be
    # silently wrapped or truncated there.
    flags = blocks[:, INTEGER_COLUMNS]
    bad = (flags != np.round(flags)) | (flags < -128) | (flags > 127)
    if bad.any():
        first = int(token_index[:, INTEGER_COLUMNS][bad].min())
        shown = tokens.text(first).decode("utf-8", errors="replace")
        raise MalformedTokenError(
            path, f"{shown} where a small integer (a flag or state) belongs", tokens.line_of(first)
        )
    # One scatter onto the (frame, person) grid; absent bodies stay zero.
    body_frames = np.asarray(walk.body_frames, dtype=np.int64)
    body_slots = np.asarray(walk.body_slots, dtype=np.int64)
    grid = np.zeros((frames, persons, BODY_TOKENS), dtype=np.float32)
    grid[body_frames, body_slots] = blocks
    info = grid[:, :, :BODY_INFO_FIELDS]  # (T, M, 10)
    joint_fields = grid[:, :, BODY_INFO_FIELDS + 1 :].reshape(
        frames, persons, NTU_JOINTS, JOINT_FIELDS
    )  # (T, M, 25, 12)
    present = np.zeros((frames, persons), dtype=bool)
    present[body_frames, body_slots] = True
    # The float extras are views of the grid (no copies): one allocation holds the whole clip.
    extras: dict[str, object] = {
        "body_ids": np.asarray(walk.body_ids, dtype=np.int64),
        "present": present,
        "body_count": np.asarray(walk.body_count, dtype=np.int64),
        "lean": info[:, :, 7:9],
        "depth_xy": joint_fields[..., 3:5],
        "color_xy": joint_fields[..., 5:7],
        "orientation": joint_fields[..., 7:11],
        "tracking_state": joint_fields[..., 11].astype(np.int8),
    }
    for key, column in BODY_INTEGER_FIELDS.items():
        extras[key] = info[:, :, column].astype(np.int8)
    return Clip(
        name=path.stem,
        joints=np.ascontiguousarray(joint_fields[..., 0:3]),
        layout="ntu25",
        extras=extras,
        **parse_ntu_name(path.stem),
    )


def ntu_class_names(root: Path, labels: Iterable[int]) -> list[str]:
    """NTU class names from a ``class_names.txt`` in the data folder (its first block of lines),
    else ``A001``, ``A002``..."""
    listing = Path(root) / "class_names.txt"
    if listing.is_file():
        lines = listing.read_text().splitlines()
        end = lines.index("") if "" in lines else len(lines)
        return [line.strip() for line in lines[:end]]
    return [f"A{label + 1:03d}" for label in range(max(labels, default=-1) + 1)]


def ntu_missing_samples(root: Path, listing: Path | None = None) -> frozenset[str]:
    """Sample names of NTU's official list of samples with missing skeletons (``listing``, or a
    ``*samples_with_missing_skeletons*.txt`` in the data folder; its text header is ignored)."""
    if listing is None:
        found = sorted(Path(root).glob("*samples_with_missing_skeletons*.txt"))
        listing = found[0] if found else None
    if listing is None:
        return frozenset()
    text = Path(listing).read_text()
    return frozenset(match.group(0) for match in NAME_PATTERN.finditer(text))
