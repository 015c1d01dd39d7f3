"""Reader of UTD-MHAD skeletons (Chen, Jafari, Kehtarnavaz, ICIP 2015):
``aAA_sS_tT_skeleton.mat``, a MATLAB file whose variable ``d_skel`` holds 20 joints x 3
coordinates x T frames of Kinect v1 camera coordinates in metres (layout ``utd_mhad20``: the data
set's own joint order, ``Skeleton_joint_order.txt``). The file is read by scipy.io through
``stalstm.readers.matlab``, which checks what a crafted file declares before reading it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from stalstm.clip import Clip
from stalstm.errors import (
    DataError,
    EmptyFileError,
    JointCountError,
    LayoutMismatchError,
    NonFiniteError,
)
from stalstm.layouts import get_layout
from stalstm.readers.matlab import read_real_array

UTD_MHAD_JOINTS = 20
UTD_MHAD_VARIABLE = "d_skel"
UTD_MHAD_LAYOUT = "utd_mhad20"
UTD_MHAD_SUFFIX = "_skeleton.mat"
# Clips run 41-125 frames; the limit only stops a crafted header from asking for gigabytes
# (100,000 frames x 60 values x 8 bytes = 48 MB).
UTD_MHAD_MAX_FRAMES = 100_000
UTD_MHAD_SUBJECTS = 8
UTD_MHAD_TRIALS = 4
# The 27 actions in label order (the data set's README and paper).
UTD_MHAD_CLASSES = (
    "right arm swipe to the left",
    "right arm swipe to the right",
    "right hand wave",
    "two hand front clap",
    "right arm throw",
    "cross arms in the chest",
    "basketball shoot",
    "right hand draw x",
    "right hand draw circle (clockwise)",
    "right hand draw circle (counter clockwise)",
    "draw triangle",
    "bowling (right hand)",
    "front boxing",
    "baseball swing from right",
    "tennis right hand forehand swing",
    "arm curl (two arms)",
    "tennis serve",
    "two hand push",
    "right hand knock on door",
    "right hand catch an object",
    "right hand pick up and throw",
    "jogging in place",
    "walking in place",
    "sit to stand",
    "stand to sit",
    "forward lunge (left foot forward)",
    "squat (two arms stretch out)",
)
_NAME_PATTERN = re.compile(r"a(\d+)_s(\d+)_t(\d+)")


def utd_mhad_clip_name(path: str | Path) -> str:
    """``a1_s1_t1`` from ``a1_s1_t1_skeleton.mat``."""
    return Path(path).name.removesuffix(UTD_MHAD_SUFFIX).removesuffix(".mat")


def utd_mhad_fields(name: str) -> tuple[int, int, int] | None:
    """(action, subject, trial), 1-based, of a clip name ``aA_sS_tT``; None for another name."""
    match = _NAME_PATTERN.fullmatch(name)
    if match is None:
        return None
    action, subject, trial = (int(number) for number in match.groups())
    return action, subject, trial


def utd_mhad_expected_names() -> list[str]:
    """Every clip of the full recording plan: 27 actions x 8 subjects x 4 trials, in that order."""
    return [
        f"a{action}_s{subject}_t{trial}"
        for action in range(1, len(UTD_MHAD_CLASSES) + 1)
        for subject in range(1, UTD_MHAD_SUBJECTS + 1)
        for trial in range(1, UTD_MHAD_TRIALS + 1)
    ]


def missing_utd_mhad_clips(found: Iterable[str]) -> list[str]:
    """The clips of the recording plan that are not among ``found`` (names), in plan order; the
    published data set lacks three (a8_s1_t4, a23_s6_t4, a27_s8_t4)."""
    present = set(found)
    return [name for name in utd_mhad_expected_names() if name not in present]


def utd_mhad_sort_key(path: str | Path) -> tuple:
    """Order files by (action, subject, trial) as numbers, other names after them by name."""
    name = utd_mhad_clip_name(path)
    fields = utd_mhad_fields(name)
    return (0, fields, "") if fields else (1, (), name)


def read_utd_mhad(path: str | Path) -> Clip:
    """Read one UTD-MHAD file into a Clip (T, 1, 20, 3) of layout ``utd_mhad20``, in the file's
    camera coordinates (metres, z the depth).

    Name ``aA_sS_tT``: label = action - 1, subject, replication = trial; a file named otherwise
    (a user's own recording with a ``d_skel`` variable) gets no label or fields. MATLAB drops a
    trailing dimension of 1, so a (20, 3) array is one frame. A bad file raises a typed
    ``DataError`` naming it: ``stalstm.readers.matlab``'s errors for the file itself,
    ``JointCountError`` / ``LayoutMismatchError`` for another shape, ``EmptyFileError`` for no
    frames, ``NonFiniteError`` (with frame and joint) for NaN or infinity.
    """
    path = Path(path)
    array = read_real_array(
        path, UTD_MHAD_VARIABLE, max_values=UTD_MHAD_JOINTS * 3 * UTD_MHAD_MAX_FRAMES
    )
    if array.ndim == 2:
        array = array[:, :, None]
    _check_shape(path, array.shape)
    # a value beyond float32 becomes inf, and a signalling NaN (a bit pattern a damaged file
    # can hold) raises the invalid flag as it becomes a NaN: both are refused below
    with np.errstate(over="ignore", invalid="ignore"):
        joints = np.ascontiguousarray(array.transpose(2, 0, 1)[:, None], dtype=np.float32)
    _check_finite(path, joints)
    name = utd_mhad_clip_name(path)
    fields: dict[str, int] = {}
    numbers = utd_mhad_fields(name)
    if numbers is not None:
        action, subject, trial = numbers
        if not 1 <= action <= len(UTD_MHAD_CLASSES):
            raise DataError(
                path, f"action {action} in the name; UTD-MHAD has actions 1 to 27", field="name"
            )
        fields = {"label": action - 1, "subject": subject, "replication": trial}
    return Clip(name=name, joints=joints, layout=UTD_MHAD_LAYOUT, **fields)


def _check_shape(path: Path, shape: tuple[int, ...]) -> None:
    described = " x ".join(map(str, shape))
    if len(shape) != 3:
        raise LayoutMismatchError(
            path,
            f"{UTD_MHAD_VARIABLE} is {described}; expected 20 joints x 3 coordinates x frames",
            field=UTD_MHAD_VARIABLE,
        )
    if shape[0] != UTD_MHAD_JOINTS:
        raise JointCountError(
            path,
            f"{UTD_MHAD_VARIABLE} is {described}: {shape[0]} joints, layout "
            f"{UTD_MHAD_LAYOUT} has {UTD_MHAD_JOINTS}",
            field=UTD_MHAD_VARIABLE,
        )
    if shape[1] != 3:
        raise LayoutMismatchError(
            path,
            f"{UTD_MHAD_VARIABLE} is {described}: {shape[1]} coordinates a joint, expected 3",
            field=UTD_MHAD_VARIABLE,
        )
    if shape[2] == 0:
        raise EmptyFileError(path, f"{UTD_MHAD_VARIABLE} has no frames", field=UTD_MHAD_VARIABLE)


def _check_finite(path: Path, joints: np.ndarray) -> None:
    bad = ~np.isfinite(joints)
    if bad.any():
        frame, _, joint, _ = np.argwhere(bad)[0]
        joint_name = get_layout(UTD_MHAD_LAYOUT).joint_names[joint]
        raise NonFiniteError(
            path,
            f"{int(bad.sum())} values are NaN or infinite (or beyond float32); the first at "
            f"frame {frame + 1}, joint {joint + 1} ({joint_name})",
            field=UTD_MHAD_VARIABLE,
        )
