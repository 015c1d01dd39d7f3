"""Live frames: what any source of keypoints delivers one frame at a time, and how a sequence
of them becomes the fixed persons a model reads.

A ``Frame`` is one moment as a pose estimator sees it: the persons it detected (any number,
in no particular order), each with its joints and, optionally, a score per joint, and the
frame's time. Every source yields frames: the files pose estimators write (OpenPose, MMPose,
COCO keypoint results, ``stalstm pose``), the bundled pose step over a video or a camera, and
JSON lines on standard input (``parse_frame_line``). ``FrameAssembler`` turns them, one at a
time, into the (M, V, C) arrays of a ``Clip`` or ``Stream``:

- **scores**: a joint whose score is below ``PersonSettings.score_threshold`` (or that is
  exactly zero, the data sets' mark of an absent joint) counts as missing;
- **identities**: ``PersonTracker`` matches each frame's detections to the persons of the
  frames before by distance (the mean distance of their joints seen in both, divided by the
  person's size: the diagonal of the box around its joints), nearest pairs first, a pair
  further than ``match_distance`` never; an unmatched detection is a new person;
- **the person rule**: each person keeps one slot (a position on the persons axis) while it is
  tracked; a new person takes the lowest free slot; a person unseen for more than
  ``max_missing`` frames ends and frees its slot. A model of M persons reads slots 0..M-1;
- **causal fill**: a missing joint of a tracked person holds the value it had when last seen
  (zeros before it was ever seen), and a person unseen for a few frames holds its last pose
  until it ends; an empty slot is zeros.

Each step looks only at the frames so far, and readers run the very same assembler over a
whole file, so a file read at once and the same frames fed live give the same arrays.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from stalstm.errors import (
    DataError,
    EmptyFileError,
    JointCountError,
    LayoutMismatchError,
    MalformedTokenError,
    NonFiniteError,
    TruncatedFileError,
)
from stalstm.layouts import Layout, joint_mapping

FRAME_KEYS = ("joints", "scores", "t")
FLOAT32_MAX = float(np.finfo(np.float32).max)  # a larger value would become inf
MAX_LINE_CHARACTERS = 4 * 2**20  # one frame of JSON; a longer line is refused, not buffered


@dataclass(frozen=True)
class Frame:
    """One frame of a live source.

    Attributes:
        joints: float32 (P, V, C): the P persons detected in this frame (P may be 0), each
            with V joints of C = 2 or 3 coordinates.
        scores: float32 (P, V) confidences in [0, 1], or None when the source gives none
            (every non-zero joint then counts as seen).
        time: the frame's time in seconds, None when the source does not say.
        line: the line it was read from (JSON lines), for errors that name it.
    """

    joints: np.ndarray
    scores: np.ndarray | None = None
    time: float | None = None
    line: int | None = None

    def __post_init__(self) -> None:
        joints = np.asarray(self.joints, dtype=np.float32)
        if joints.ndim != 3 or (len(joints) and joints.shape[-1] not in (2, 3)):
            raise ValueError(f"a frame's joints are (persons, joints, 2 or 3), got {joints.shape}")
        object.__setattr__(self, "joints", joints)
        if self.scores is not None:
            scores = np.asarray(self.scores, dtype=np.float32)
            if scores.shape != joints.shape[:2]:
                raise ValueError(f"scores {scores.shape} for joints {joints.shape}")
            object.__setattr__(self, "scores", scores)

    @property
    def num_persons(self) -> int:
        return int(self.joints.shape[0])


@dataclass(frozen=True)
class PersonSettings:
    """How frames of detected persons become a clip's persons (see the module docstring).

    Attributes:
        score_threshold: a joint scored below this counts as missing (MMPose draws keypoints
            from 0.3; OpenPose writes 0 for a joint it did not find).
        match_distance: the furthest a detection may be from a tracked person, in units of the
            person's size, and still be that person.
        max_missing: frames a tracked person may go undetected (holding its last pose) before
            it ends and frees its slot.
    """

    score_threshold: float = 0.3
    match_distance: float = 0.5
    max_missing: int = 10

    def __post_init__(self) -> None:
        if not 0.0 <= self.score_threshold <= 1.0:
            raise ValueError("score_threshold is a score in [0, 1]")
        if not self.match_distance > 0.0:
            raise ValueError("match_distance must be positive")
        if self.max_missing < 0:
            raise ValueError("max_missing must be >= 0")


def seen_joints(frame: Frame, threshold: float) -> np.ndarray:
    """(P, V) bool: the joints that count as seen (finite, not all zero, scored at least
    ``threshold`` when the frame has scores)."""
    joints = frame.joints
    seen = np.isfinite(joints).all(axis=-1) & np.any(joints != 0.0, axis=-1)
    if frame.scores is not None:
        seen &= frame.scores >= threshold
    return seen


@dataclass
class _Person:
    """A tracked person: its last seen position of every joint (``known`` says which were ever
    seen) and how many frames in a row it went undetected."""

    last: np.ndarray  # (V, C) float32
    known: np.ndarray  # (V,) bool
    missing: int = 0

    def size(self) -> float:
        return box_diagonal(self.last[self.known])


def box_diagonal(points: np.ndarray) -> float:
    """The diagonal of the axis-aligned box around (N, C) points: a person's size."""
    if len(points) < 2:
        return 0.0
    points = points.astype(np.float64)  # coordinates near float32's limit must not overflow
    return float(np.linalg.norm(points.max(axis=0) - points.min(axis=0)))


class PersonTracker:
    """Identities by distance between frames, in slots (see the module docstring)."""

    def __init__(self, settings: PersonSettings | None = None) -> None:
        self.settings = settings or PersonSettings()
        self.slots: list[_Person | None] = []

    def reset(self) -> None:
        self.slots = []

    def distance(self, person: _Person, joints: np.ndarray, seen: np.ndarray) -> float:
        """Mean distance of the joints seen in both, over the larger of the two sizes."""
        common = seen & person.known
        if not common.any():
            return math.inf
        difference = joints[common].astype(np.float64) - person.last[common]
        mean = float(np.linalg.norm(difference, axis=-1).mean())
        size = max(person.size(), box_diagonal(joints[seen]))
        if size <= 0.0:
            return 0.0 if mean == 0.0 else math.inf
        return mean / size

    def update(self, joints: np.ndarray, seen: np.ndarray) -> list[int]:
        """Match one frame's (P, V, C) detections (``seen``: (P, V)) to the tracked persons;
        returns each detection's slot (-1 for a detection with no joint seen). Persons not
        matched age by one frame; those unseen too long end."""
        detections = [index for index in range(len(joints)) if seen[index].any()]
        pairs = sorted(
            (self.distance(person, joints[index], seen[index]), slot, index)
            for slot, person in enumerate(self.slots)
            if person is not None
            for index in detections
        )
        assigned = [-1] * len(joints)
        taken: set[int] = set()
        for distance, slot, index in pairs:
            if distance > self.settings.match_distance:
                break
            if slot not in taken and assigned[index] < 0:
                assigned[index] = slot
                taken.add(slot)
        for index in detections:  # new persons: the lowest free slots, in detection order
            if assigned[index] < 0:
                free = [s for s, p in enumerate(self.slots) if p is None and s not in taken]
                slot = free[0] if free else len(self.slots)
                if slot == len(self.slots):
                    self.slots.append(None)
                num_joints, num_coords = joints.shape[1:]
                self.slots[slot] = _Person(
                    np.zeros((num_joints, num_coords), np.float32), np.zeros(num_joints, bool)
                )
                assigned[index] = slot
                taken.add(slot)
        for index in detections:
            person = self.slots[assigned[index]]
            person.last[seen[index]] = joints[index][seen[index]]
            person.known |= seen[index]
            person.missing = 0
        for slot, person in enumerate(self.slots):
            if person is not None and slot not in taken:
                person.missing += 1
                if person.missing > self.settings.max_missing:
                    self.slots[slot] = None
        return assigned


@dataclass(frozen=True)
class AssembledFrame:
    """One frame in slots: ``joints`` (S, V, C) with missing joints filled, ``scores`` (S, V)
    the scores of this frame's detections (0 where a slot was not detected), S the slots so
    far."""

    joints: np.ndarray
    scores: np.ndarray


class FrameAssembler:
    """Frames of one source -> persons in slots, missing joints filled causally (see the module
    docstring). ``shape`` is (V, C) of the frames, taken from the first frame with a person
    when not given; a frame of another shape is a ``JointCountError`` and changes nothing."""

    def __init__(
        self, settings: PersonSettings | None = None, shape: tuple[int, int] | None = None
    ) -> None:
        self.settings = settings or PersonSettings()
        self.tracker = PersonTracker(self.settings)
        self.shape = shape

    def reset(self) -> None:
        self.tracker.reset()

    def check(self, frame: Frame, where: str) -> None:
        """Raise ``JointCountError`` for a frame whose persons are not (V, C) = ``shape``."""
        if frame.num_persons == 0 or self.shape is None:
            return
        if tuple(frame.joints.shape[1:]) != self.shape:
            raise JointCountError(
                where,
                f"a person of {frame.joints.shape[1]} joints x {frame.joints.shape[2]} "
                f"coordinates; this source's frames have {self.shape[0]} x {self.shape[1]}",
                frame.line,
            )

    def __call__(self, frame: Frame, where: str = "frame") -> AssembledFrame:
        self.check(frame, where)
        if self.shape is None and frame.num_persons:
            self.shape = (int(frame.joints.shape[1]), int(frame.joints.shape[2]))
        if self.shape is None:  # nobody yet in any frame: nothing to place
            return AssembledFrame(np.zeros((0, 0, 2), np.float32), np.zeros((0, 0), np.float32))
        seen = seen_joints(frame, self.settings.score_threshold)
        slots = self.tracker.update(frame.joints, seen)
        count = len(self.tracker.slots)
        joints = np.zeros((count, *self.shape), np.float32)
        scores = np.zeros((count, self.shape[0]), np.float32)
        for slot, person in enumerate(self.tracker.slots):
            if person is not None:
                joints[slot] = np.where(person.known[:, None], person.last, 0.0)
        for index, slot in enumerate(slots):
            if slot >= 0:
                scores[slot] = 1.0 if frame.scores is None else frame.scores[index]
        return AssembledFrame(joints, scores)


def stack_slots(frames: list[AssembledFrame], shape: tuple[int, int]) -> tuple[np.ndarray, ...]:
    """Assembled frames -> joints (T, S, V, C) and scores (T, S, V), S the most slots any
    frame used (at least one), zeros where a frame had fewer."""
    slots = max([len(frame.joints) for frame in frames] + [1])
    joints = np.zeros((len(frames), slots, *shape), np.float32)
    scores = np.zeros((len(frames), slots, shape[0]), np.float32)
    for index, frame in enumerate(frames):
        joints[index, : len(frame.joints)] = frame.joints
        scores[index, : len(frame.scores)] = frame.scores
    return joints, scores


class LayoutConversion:
    """Frames of layout ``source`` as a model of layout ``target`` with ``coords`` coordinates
    reads them: the same-named joints picked out (``stalstm.layouts.joint_mapping``) and,
    for a 2D model, 3D frames read by their x and y. Raises ``LayoutMismatchError`` at once
    when no mapping exists."""

    def __init__(self, source: Layout, target: Layout, coords: int, where: str) -> None:
        mapping = joint_mapping(source, target)
        if mapping is None:
            raise LayoutMismatchError(
                where,
                f"frames of layout {source.name!r} cannot feed a model of layout "
                f"{target.name!r}: the model's joints {_missing_names(source, target)} are not "
                f"among the frames' joints (a mapping picks joints of the same name)",
            )
        self.source, self.target, self.coords = source, target, coords
        self.indices = None if mapping == tuple(range(source.num_joints)) else np.array(mapping)

    def __call__(self, frame: Frame, where: str) -> Frame:
        if frame.num_persons == 0:
            return frame
        count, have = frame.joints.shape[1:]
        if count != self.source.num_joints:
            raise JointCountError(
                where,
                f"a person of {count} joints; layout {self.source.name!r} has "
                f"{self.source.num_joints}",
                frame.line,
            )
        if have < self.coords:
            raise LayoutMismatchError(
                where, f"{have} coordinates a joint; the model reads {self.coords}", frame.line
            )
        joints, scores = frame.joints[..., : self.coords], frame.scores
        if self.indices is not None:
            joints = joints[:, self.indices]
            scores = None if scores is None else scores[:, self.indices]
        return Frame(joints, scores, frame.time, frame.line)


class FrameFeed:
    """A live source's frames on their way to a model: converted to the model's layout (by
    joint names, when the source's ``layout`` is known and differs; else checked against the
    model's joints), then assembled into slots (``FrameAssembler``). A bad frame raises its
    ``DataError`` (naming ``source`` and the frame's line, or its index) and changes nothing,
    so that the stream can go on."""

    def __init__(
        self,
        source: str,
        layout: Layout | None,
        target: Layout | None,
        coords: int | None,
        settings: PersonSettings | None = None,
    ) -> None:
        self.source = source
        self.conversion = None
        if target is not None and coords is not None:
            self.conversion = LayoutConversion(layout or target, target, coords, source)
        shape = (target.num_joints, coords) if target is not None and coords else None
        self.assembler = FrameAssembler(settings, shape)

    def where(self, frame: Frame, index: int) -> str:
        return self.source if frame.line is not None else frame_where(self.source, index)

    def __call__(self, frame: Frame, index: int) -> np.ndarray:
        """Frame ``index`` (from 0) -> (S, V, C) joints in slots."""
        where = self.where(frame, index)
        if self.conversion is not None:
            frame = self.conversion(frame, where)
        return self.assembler(frame, where).joints


def _missing_names(source: Layout, target: Layout) -> str:
    missing = [name for name in target.joint_names if name not in source.joint_names]
    shown = ", ".join(missing[:4]) + (", ..." if len(missing) > 4 else "")
    return f"({shown})"


# --- JSON lines: one frame an object -----------------------------------------------------------


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a finite number")


def _number_array(value: Any, depth: int, what: str) -> np.ndarray:
    """A nested list of plain numbers of exactly ``depth`` levels (rectangular) -> float64."""
    try:
        array = np.array(value, dtype=object)
    except ValueError:  # ragged nesting numpy cannot shape
        raise ValueError(f"{what}: rows of different lengths") from None
    if array.ndim != depth:
        raise ValueError(f"{what}: expected {depth} levels of lists, got {array.ndim}")
    flat = array.reshape(-1)
    if any(isinstance(item, bool) or not isinstance(item, int | float) for item in flat):
        raise TypeError(f"{what}: every value must be a number")
    return flat.astype(np.float64).reshape(array.shape)


def frame_from_dict(record: Any, where: str, line: int | None = None) -> Frame:
    """The ``Frame`` of one JSON object ``{"joints": ..., "scores": ..., "t": ...}``
    (``joints``: one person's [[x, y(, z)], ...] or a list of persons; ``[]``: nobody;
    ``scores``: one number a joint, nested as the joints; ``t``: seconds). A ``DataError``
    subclass naming ``where`` and ``line`` otherwise."""
    if not isinstance(record, dict):
        raise DataError(where, f"a frame is a JSON object, got {type(record).__name__}", line)
    unknown = sorted(set(record) - set(FRAME_KEYS))
    if unknown:
        raise DataError(where, f"unknown keys {unknown}; a frame has {list(FRAME_KEYS)}", line)
    if "joints" not in record:
        raise DataError(where, "a frame needs 'joints'", line, field="joints")
    value = record["joints"]
    if not isinstance(value, list):
        raise MalformedTokenError(where, "'joints' must be a list", line, field="joints")
    persons_given = bool(value) and isinstance(value[0], list) and bool(value[0])
    persons_given = persons_given and isinstance(value[0][0], list)
    depth = 3 if persons_given or not value else 2
    try:
        joints = _number_array(value, depth, "joints") if value else np.zeros((0, 0, 2))
    except (ValueError, TypeError) as error:
        raise MalformedTokenError(where, str(error), line, field="joints") from None
    if depth == 2:
        joints = joints[None]  # one person
    if len(joints) and (joints.shape[1] == 0 or joints.shape[2] not in (2, 3)):
        raise JointCountError(
            where, f"a joint has 2 or 3 coordinates, got shape {joints.shape[1:]}", line, "joints"
        )
    _check_finite(joints, where, line, "joints")
    scores = None
    if record.get("scores") is not None:
        try:
            scores = _number_array(record["scores"], depth - 1, "scores")
        except (ValueError, TypeError) as error:
            raise MalformedTokenError(where, str(error), line, field="scores") from None
        scores = scores[None] if depth == 2 else scores
        if scores.shape != joints.shape[:2]:
            raise JointCountError(
                where, f"{scores.shape} scores for joints {joints.shape[:2]}", line, "scores"
            )
        _check_finite(scores, where, line, "scores")
    time = record.get("t")
    if time is not None and (
        isinstance(time, bool) or not isinstance(time, int | float) or not math.isfinite(time)
    ):
        raise MalformedTokenError(where, f"'t' must be a number of seconds, got {time!r}", line)
    return Frame(joints.astype(np.float32), scores, None if time is None else float(time), line)


def _check_finite(values: np.ndarray, where: str, line: int | None, field: str) -> None:
    bad = ~np.isfinite(values) | (np.abs(values) > FLOAT32_MAX)
    if bad.any():
        position = tuple(int(i) for i in np.argwhere(bad)[0])
        raise NonFiniteError(where, f"non-finite value at {position}", line, field=field)


def parse_frame_line(text: str, where: str = "<stdin>", line: int | None = None) -> Frame:
    """One line of JSON text -> ``Frame`` (see ``frame_from_dict``); NaN and Infinity, which
    Python's JSON reader would accept, are refused like any malformed value."""
    if not text.strip():
        raise EmptyFileError(where, "an empty line (a frame is one JSON object a line)", line)
    try:
        record = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        # an error at the very end of the text: the line was cut short
        cut = error.pos >= len(text.rstrip()) or error.msg.startswith("Unterminated")
        kind = TruncatedFileError if cut else MalformedTokenError
        raise kind(where, f"not JSON: {error.msg} at character {error.pos}", line) from None
    except ValueError as error:  # NaN / Infinity
        raise NonFiniteError(where, str(error), line) from None
    except RecursionError:
        raise MalformedTokenError(where, "JSON nested too deeply", line) from None
    return frame_from_dict(record, where, line)


def read_frame_lines(
    source: IO[str] | Iterable[str], where: str = "<stdin>"
) -> Iterator[Frame | DataError]:
    """Frames of JSON lines as they arrive (from a pipe: each as soon as its line is complete):
    a ``Frame`` per good line, the ``DataError`` of a bad one (naming the line), so that one
    bad line does not end the stream. A line longer than ``MAX_LINE_CHARACTERS`` is refused
    without holding it."""
    readline = getattr(source, "readline", None)
    lines: Iterator[str] = iter(source) if readline is None else iter(_bounded_lines(readline))
    for number, text in enumerate(lines, start=1):
        if text is None:
            yield MalformedTokenError(
                where, f"a line longer than {MAX_LINE_CHARACTERS} characters", number
            )
            continue
        try:
            yield parse_frame_line(text, where, number)
        except DataError as error:
            yield error


def _bounded_lines(readline: Any) -> Iterator[str | None]:
    """Lines of a text stream as they complete, None for one too long (skipped to its end)."""
    while True:
        text = readline(MAX_LINE_CHARACTERS + 1)
        if not text:
            return
        if len(text) > MAX_LINE_CHARACTERS and not text.endswith("\n"):
            while text and not text.endswith("\n"):
                text = readline(MAX_LINE_CHARACTERS)
            yield None
            continue
        yield text


def frame_to_dict(frame: Frame, digits: int = 3) -> dict[str, Any]:
    """The JSON object of a frame (``parse_frame_line`` reads it back), values rounded."""
    record: dict[str, Any] = {"joints": np.round(frame.joints, digits).tolist()}
    if frame.scores is not None:
        record["scores"] = np.round(frame.scores, digits).tolist()
    if frame.time is not None:
        record["t"] = round(frame.time, 6)
    return record


def frame_where(source: str | Path, index: int) -> str:
    """How an error names frame ``index`` (from 0) of ``source``."""
    return f"{source}, frame {index}"
