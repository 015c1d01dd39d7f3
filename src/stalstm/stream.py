"""`Stream`: the record of an untrimmed recording, the second record type beside ``Clip``.

A clip holds one action from its first frame to its last; a stream is what a camera or a hand
tracker actually delivers: idle time, transitions and several actions in a row. Besides the
coordinates (``joints``, (T, M, V, C) as in a clip) a stream carries its annotated ``segments``,
each a class label and its first and last frame, counted from 0 and inclusive. Every frame
outside a segment is background; ``frame_labels`` spells that out per frame, with
``BACKGROUND`` (-1) for background, so the two views of the annotation can never disagree.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from stalstm.clip import Clip, JointsAxes
from stalstm.errors import SegmentError

BACKGROUND = -1  # frame label of a frame outside every segment


@dataclass(frozen=True)
class Segment:
    """One annotated action: ``label`` (0-based class) from frame ``start`` to frame ``end``,
    both counted from 0 and both inside the action."""

    label: int
    start: int
    end: int

    @property
    def num_frames(self) -> int:
        return self.end - self.start + 1

    def to_dict(self) -> dict[str, int]:
        return {"label": self.label, "start": self.start, "end": self.end}


def check_segments(segments: Iterable[Segment], num_frames: int, where: str) -> tuple[Segment, ...]:
    """The segments in time order, checked: labels >= 0, 0 <= start <= end < num_frames, no
    two overlapping. ``SegmentError`` names the stream and the offending segment."""
    ordered = tuple(sorted(segments, key=lambda segment: (segment.start, segment.end)))
    for segment in ordered:
        text = f"segment {segment.to_dict()}"
        if segment.label < 0:
            raise SegmentError(where, f"{text}: a label is a class index >= 0", field="segments")
        if not 0 <= segment.start <= segment.end:
            raise SegmentError(where, f"{text}: needs 0 <= start <= end", field="segments")
        if segment.end >= num_frames:
            raise SegmentError(
                where, f"{text}: ends after the last frame ({num_frames - 1})", field="segments"
            )
    for before, after in itertools.pairwise(ordered):
        if after.start <= before.end:
            raise SegmentError(
                where,
                f"segments {before.to_dict()} and {after.to_dict()} overlap",
                field="segments",
            )
    return ordered


@dataclass(frozen=True)
class Stream(JointsAxes):
    """An untrimmed skeleton recording with its annotated segments.

    Attributes:
        name: unique stream name, e.g. ``1`` for SFINGE3D's ``Sequences/1.txt``.
        joints: float32 array (T, M, V, C): frames, persons, joints, coordinates.
        segments: the annotated actions in time order (``Segment``; frames from 0, inclusive).
        layout: name of the skeleton layout (see ``stalstm.layouts``).
        extras: arrays kept beside the coordinates, per frame and person with the leading
            (T, M, ...) axes of ``joints`` (e.g. ``orientation``), or notes about the stream
            (``notes``: what a reader had to correct in the annotation, and why).
    """

    name: str
    joints: np.ndarray
    segments: tuple[Segment, ...] = ()
    layout: str = "unknown"
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # the same shape rules as a clip (one place: Clip checks them)
        clip = Clip(name=self.name, joints=self.joints, layout=self.layout)
        object.__setattr__(self, "joints", clip.joints)
        object.__setattr__(
            self, "segments", check_segments(self.segments, self.num_frames, self.name)
        )

    @property
    def frame_labels(self) -> np.ndarray:
        """(T,) int64: each frame's class, ``BACKGROUND`` outside every segment."""
        labels = np.full(self.num_frames, BACKGROUND, dtype=np.int64)
        for segment in self.segments:
            labels[segment.start : segment.end + 1] = segment.label
        return labels

    def as_clip(self) -> Clip:
        """The coordinates as an (unlabelled) clip, for the clip transforms and presets."""
        return Clip(name=self.name, joints=self.joints, layout=self.layout, extras=self.extras)

    def with_joints(self, joints: np.ndarray) -> Stream:
        """A copy with new coordinates of the same frames (a per-frame transform's result);
        per-frame extras are dropped when the person axis changes."""
        if len(joints) != self.num_frames:
            raise ValueError(
                f"stream {self.name!r}: {len(joints)} frames given for {self.num_frames}; a "
                "stream transform must keep every frame, or the segments would move"
            )
        extras = self.extras
        if joints.shape[:2] != self.joints.shape[:2]:
            extras = {key: value for key, value in extras.items() if key == "notes"}
        return replace(self, joints=joints, extras=extras)


def segments_from_frame_labels(labels: np.ndarray) -> tuple[Segment, ...]:
    """The runs of equal non-background labels of a (T,) frame-label array, as segments."""
    labels = np.asarray(labels)
    segments = []
    start = 0
    for frame in range(1, len(labels) + 1):
        if frame == len(labels) or labels[frame] != labels[start]:
            if labels[start] != BACKGROUND:
                segments.append(Segment(int(labels[start]), start, frame - 1))
            start = frame
    return tuple(segments)


@dataclass(frozen=True)
class RecordedSplit:
    """What a detection protocol over recorded material trains and tests on (a data-set
    registry entry's ``stream_protocols`` give it): trimmed clips to build training streams
    from, recorded streams trained on as they are, the recorded test streams, the class names
    (without the background) and a description of each side for the run's summary."""

    train_clips: list[Clip]
    train_streams: list[Stream]
    test_streams: list[Stream]
    class_names: list[str]
    description: dict[str, str]
