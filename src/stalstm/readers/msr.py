"""Reader of MSR Action3D skeletons (Li et al., 2010): ``aAA_sSS_eEE_skeleton3D.txt``, 20
rows a frame (the data set's own joint order, layout ``msr20``) of x, y, z, confidence."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from stalstm.clip import Clip
from stalstm.errors import DataError, TruncatedFileError
from stalstm.readers._text import read_rows

MSR_JOINTS = 20
MSR_PROTOCOL_LIST = "files_used_in_cvpr12_paper.txt"
# The 20 actions in label order (Li et al., 2010).
MSR_CLASSES = (
    "high arm wave",
    "horizontal arm wave",
    "hammer",
    "hand catch",
    "forward punch",
    "high throw",
    "draw x",
    "draw tick",
    "draw circle",
    "hand clap",
    "two hand wave",
    "side boxing",
    "bend",
    "forward kick",
    "side kick",
    "jogging",
    "tennis swing",
    "tennis serve",
    "golf swing",
    "pick up and throw",
)
_NAME_PATTERN = re.compile(r"a(\d\d)_s(\d\d)_e(\d\d)")


class AllZeroClipError(DataError):
    """A recording whose every coordinate is zero (MSR Action3D ``a13_s09_e02``)."""

    kind = "all-zero clip"


def msr_clip_name(path: str | Path) -> str:
    """``a01_s01_e01`` from ``a01_s01_e01_skeleton3D.txt``."""
    return Path(path).name.removesuffix("_skeleton3D.txt").removesuffix(".txt")


def msr_protocol_files(root: str | Path) -> set[str] | None:
    """Clip names of ``files_used_in_cvpr12_paper.txt`` under ``root`` (the usual 557), or
    None when the list is not there."""
    listing = Path(root) / MSR_PROTOCOL_LIST
    if not listing.is_file():
        return None
    return {line.strip() for line in listing.read_text().splitlines() if line.strip()}


def read_msr_skeleton(path: str | Path) -> Clip:
    """Read one MSR Action3D file into a Clip (T, 1, 20, 3) of layout ``msr20``.

    Name ``aAA_sSS_eEE``: label = action - 1, subject, replication = take. The confidence
    column is kept as ``extras["confidence"]`` (T, 1, 20). A clip that is all zeros (the known
    defect ``a13_s09_e02``, which is not in the 557-file protocol list) raises
    AllZeroClipError.
    """
    path = Path(path)
    rows, lines = read_rows(path, None, columns=4)
    if len(rows) % MSR_JOINTS:
        raise TruncatedFileError(
            path,
            f"{len(rows)} rows is not a whole number of {MSR_JOINTS}-joint frames",
            line=lines[-1] + 1,
        )
    frames = rows.reshape(-1, 1, MSR_JOINTS, 4)
    if not frames[..., :3].any():
        raise AllZeroClipError(path, "every coordinate is zero: nothing was recorded")
    name = msr_clip_name(path)
    fields: dict[str, int] = {}
    match = _NAME_PATTERN.fullmatch(name)
    if match:
        action, subject, take = map(int, match.groups())
        fields = {"label": action - 1, "subject": subject, "replication": take}
    return Clip(
        name=name,
        joints=frames[..., :3],
        layout="msr20",
        extras={"confidence": frames[..., 3].astype(np.float32)},
        **fields,
    )
