"""Reader of SBU Kinect Interaction clips (Yun et al., 2012): ``sAAsBB/CC/NNN/skeleton_pos.txt``.

Each line is one frame: the frame index, then 2 persons x 15 OpenNI joints x (x, y, z), comma
separated (91 columns); x and y are normalised image coordinates, z normalised depth.
"""

from __future__ import annotations

import re
from pathlib import Path

from stalstm.clip import Clip
from stalstm.errors import GluedClipsError
from stalstm.readers._text import read_rows

SBU_COLUMNS = 1 + 2 * 15 * 3
SBU_CLASSES = (
    "approaching",
    "departing",
    "kicking",
    "pushing",
    "shaking hands",
    "hugging",
    "exchanging",
    "punching",
)
# The standard 5-fold split over subject pairs (the data set's own README).
SBU_FOLDS = {
    **dict.fromkeys(("s01s02", "s03s04", "s05s02", "s06s04"), 1),
    **dict.fromkeys(("s02s03", "s02s07", "s03s05", "s05s03"), 2),
    **dict.fromkeys(("s01s03", "s01s07", "s07s01", "s07s03"), 3),
    **dict.fromkeys(("s02s01", "s02s06", "s03s02", "s03s06"), 4),
    **dict.fromkeys(("s04s02", "s04s03", "s04s06", "s06s02", "s06s03"), 5),
}
SBU_PAIRS = tuple(sorted(SBU_FOLDS))
_PATH_PATTERN = re.compile(r"(s\d\ds\d\d)/(\d\d)/(\d\d\d)")


def sbu_clip_name(path: str | Path) -> str:
    """``s01s02/01/001`` from ``.../s01s02/01/001/skeleton_pos.txt`` (or the file stem)."""
    path = Path(path)
    folder = path.parent if path.name == "skeleton_pos.txt" else path.with_suffix("")
    return "/".join(folder.parts[-3:])


def read_sbu_clip(path: str | Path) -> Clip:
    """Read one SBU ``skeleton_pos.txt`` into a Clip (T, 2, 15, 3) of layout ``openni15``.

    Name ``sAAsBB/CC/NNN``; label = class - 1; subject = 1-based index of the pair among the
    21 pairs (sorted), fold = its standard fold, replication = NNN. A frame index that repeats
    or goes back raises GluedClipsError; wrong column counts, text, NaN and empty files raise
    the other typed errors, each naming the line.
    """
    path = Path(path)
    rows, lines = read_rows(path, ",", columns=SBU_COLUMNS)
    frame_index = rows[:, 0]
    for k in range(1, len(frame_index)):
        if frame_index[k] <= frame_index[k - 1]:
            raise GluedClipsError(
                path,
                f"frame index {frame_index[k]:g} follows {frame_index[k - 1]:g}: "
                "two recordings in one file?",
                line=lines[k],
            )
    joints = rows[:, 1:].reshape(len(rows), 2, 15, 3)
    name = sbu_clip_name(path)
    fields: dict[str, int] = {}
    match = _PATH_PATTERN.fullmatch(name)
    if match:
        pair, action, repetition = match.groups()
        fields = {"label": int(action) - 1, "replication": int(repetition)}
        if pair in SBU_FOLDS:
            fields |= {"subject": SBU_PAIRS.index(pair) + 1, "fold": SBU_FOLDS[pair]}
    return Clip(name=name, joints=joints, layout="openni15", **fields)
