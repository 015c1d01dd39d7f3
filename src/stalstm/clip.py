"""`Clip`: the one in-memory record every reader returns and every later stage consumes.

A clip is a skeleton sequence of one sample: ``joints`` is a float32 array of shape
``(frames, persons, joints, coordinates)`` -- (T, M, V, C) -- with C = 3 for 3D data and 2 for
2D keypoints. A person absent in a frame has zeros there (the convention of NTU RGB+D and of
every toolkit that reads it). Besides the coordinates a clip carries its name (unique in a
data set; everything downstream is keyed by it, never by array position), its label, the
layout its joints follow, and the fields the official protocols split on.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

UNKNOWN = -1  # value of an integer field a data set does not provide


class JointsAxes:
    """The sizes of a record's ``joints`` array (T, M, V, C): for ``Clip`` and ``Stream``."""

    joints: np.ndarray

    @property
    def num_frames(self) -> int:
        return int(self.joints.shape[0])

    @property
    def num_persons(self) -> int:
        return int(self.joints.shape[1])

    @property
    def num_joints(self) -> int:
        return int(self.joints.shape[2])

    @property
    def num_coords(self) -> int:
        return int(self.joints.shape[3])


@dataclass(frozen=True)
class Clip(JointsAxes):
    """One skeleton sequence.

    Attributes:
        name: unique sample name, e.g. ``S001C001P001R001A001`` or ``s01s02/01/001``.
        joints: float32 array (T, M, V, C): frames, persons, joints, coordinates.
        label: 0-based class index, or ``UNKNOWN`` for unlabelled data.
        layout: name of the skeleton layout (see ``stalstm.layouts``), e.g. ``ntu25``.
        subject: performer (NTU), subject pair index (SBU) or subject (MSR), 1-based.
        view: camera / view index, 1-based.
        setup: NTU setup index, 1-based.
        replication: repetition / take index, 1-based.
        fold: cross-validation fold, 1-based (SBU, or a user's own column).
        extras: optional arrays a reader or generator keeps beside the coordinates: per frame and
            person with the leading (T, M, ...) axes of ``joints`` (NTU: ``depth_xy``,
            ``color_xy``, ``orientation``, ``tracking_state``, ``present``), or per clip (NTU
            ``body_ids``; the synthetic generator's ``planted_joints``). ``with_joints`` drops
            them when the frame or person axes change.
    """

    name: str
    joints: np.ndarray
    label: int = UNKNOWN
    layout: str = "unknown"
    subject: int = UNKNOWN
    view: int = UNKNOWN
    setup: int = UNKNOWN
    replication: int = UNKNOWN
    fold: int = UNKNOWN
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        joints = self.joints
        if not isinstance(joints, np.ndarray) or joints.ndim != 4:
            shape = getattr(joints, "shape", None)
            raise ValueError(
                f"clip {self.name!r}: joints must be an array (frames, persons, joints, "
                f"coordinates), got shape {shape}"
            )
        if joints.shape[-1] not in (2, 3):
            raise ValueError(
                f"clip {self.name!r}: joints must have 2 or 3 coordinates, got {joints.shape[-1]}"
            )
        if joints.dtype != np.float32:
            object.__setattr__(self, "joints", joints.astype(np.float32))

    def with_joints(self, joints: np.ndarray, **changes: Any) -> Clip:
        """A copy with new coordinates (and any other field changed), extras dropped when the
        frame or person axes no longer match."""
        extras = self.extras
        if joints.shape[:2] != self.joints.shape[:2]:
            extras = {}
        return replace(self, joints=joints, extras=extras, **changes)
