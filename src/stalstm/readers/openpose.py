"""OpenPose's per-frame JSON (``--write_json DIR``): one file a frame,
``<video>_<frame, 12 digits>_keypoints.json`` (for a folder of images, ``<image>_keypoints.json``),
each ``{"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": [x, y, c, ...],
"face_keypoints_2d": [...], "hand_left_keypoints_2d": [...], "hand_right_keypoints_2d": [...],
"pose_keypoints_3d": [x, y, z, c, ...], ...}, ...]}`` (OpenPose's ``doc/02_output.md``; files
of versions before 1.2 name the keys without ``_2d``).

``part`` chooses what becomes the stream's persons: ``body`` (``pose_keypoints``: 25 points
``openpose_body25``, or 18 ``openpose18`` for the COCO model), ``hands`` (each hand a
detection of ``hand21``, right before left; OpenPose with ``--hand``) or ``face``
(``openpose_face70``, with ``--face``); ``dimensions=3`` reads the ``_3d`` keys
(``--3d``: x, y, z and a confidence). A keypoint OpenPose did not find is written 0, 0, 0 and
counts as missing. Persons are tracked across frames and missing joints filled as
``stalstm.frames`` documents; the confidences are kept in ``extras["scores"]``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from stalstm.errors import DataError, EmptyFileError, JointCountError
from stalstm.frames import Frame, PersonSettings
from stalstm.layouts import Layout, get_layout
from stalstm.readers._keypoint_json import (
    assemble_stream,
    checked_scores,
    load_json_file,
    number_list,
)
from stalstm.stream import Stream

FILE_SUFFIX = "_keypoints.json"
_NUMBERED = re.compile(r"^(?P<video>.*)_(?P<frame>\d{12})_keypoints\.json$")
BODY_LAYOUTS = {25: "openpose_body25", 18: "openpose18"}
PARTS = {
    "body": (("pose_keypoints",), None),
    "hands": (("hand_right_keypoints", "hand_left_keypoints"), "hand21"),
    "face": (("face_keypoints",), "openpose_face70"),
}
MAX_FRAMES = 10**6  # a folder of more frame files than this is not read


def is_openpose_file(path: Path) -> bool:
    return path.name.endswith(FILE_SUFFIX)


def openpose_files(path: str | Path) -> list[Path]:
    """The frame files of an OpenPose output, in frame order: a folder of them, or one file.
    Numbered files (a video's) must be of one video and follow each other without a gap;
    unnumbered ones (a folder of images) are taken in name order."""
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise DataError(path, "no such file or folder")
    files = sorted(p for p in path.iterdir() if is_openpose_file(p) and p.is_file())
    if not files:
        raise EmptyFileError(path, f"no OpenPose frame files (*{FILE_SUFFIX}) in the folder")
    if len(files) > MAX_FRAMES:
        raise DataError(path, f"{len(files)} frame files: more than {MAX_FRAMES} are not read")
    numbered = [_NUMBERED.match(p.name) for p in files]
    if not all(numbered):
        return files
    videos = sorted({match["video"] for match in numbered})
    if len(videos) > 1:
        raise DataError(path, f"frames of several videos in one folder: {videos[:3]}")
    frames = [int(match["frame"]) for match in numbered]
    for before, after, file in zip(frames, frames[1:], files[1:], strict=False):
        if after != before + 1:
            raise DataError(
                file, f"frame {after} follows frame {before}: frames {before + 1}..{after - 1} "
                "are missing"
            )  # fmt: skip
    return files


def _part_values(person: dict, keys: tuple[str, ...], suffix: str, where: str) -> list[Any]:
    """The keypoint lists of one person for the part's keys (newer ``_2d`` names first)."""
    values = []
    for key in keys:
        for name in (f"{key}{suffix}", key if suffix == "_2d" else None):
            if name is not None and name in person:
                values.append((name, person[name]))
                break
        else:
            values.append((f"{key}{suffix}", None))
    return values


def read_openpose_frame(
    path: Path, part: str = "body", dimensions: int = 2
) -> tuple[np.ndarray, np.ndarray]:
    """One frame file -> joints (P, V, C) and scores (P, V) of the part's detections."""
    if part not in PARTS:
        raise ValueError(f"part is one of {sorted(PARTS)}, got {part!r}")
    if dimensions not in (2, 3):
        raise ValueError("dimensions is 2 or 3")
    document = load_json_file(path)
    where = str(path)
    if not isinstance(document, dict) or not isinstance(document.get("people"), list):
        raise DataError(where, "an OpenPose frame file is an object with a 'people' list")
    keys, _ = PARTS[part]
    suffix = "_2d" if dimensions == 2 else "_3d"
    width = dimensions + 1  # x, y(, z) and a confidence
    joints, scores = [], []
    for number, person in enumerate(document["people"]):
        if not isinstance(person, dict):
            raise DataError(where, f"person {number} is not an object", field="people")
        for name, value in _part_values(person, keys, suffix, where):
            if value is None or value == []:
                continue  # this part was not estimated for this person
            values = number_list(value, where, name)
            if len(values) % width:
                raise JointCountError(
                    where, f"person {number}: {len(values)} values in '{name}' are not "
                    f"{width} a keypoint", field=name,
                )  # fmt: skip
            rows = values.reshape(-1, width)
            joints.append(rows[:, :dimensions])
            scores.append(checked_scores(rows[:, dimensions], where, name))
    counts = {len(rows) for rows in joints}
    if len(counts) > 1:
        raise JointCountError(where, f"persons of {sorted(counts)} keypoints in one frame")
    if not joints:
        return np.zeros((0, 0, dimensions), np.float32), np.zeros((0, 0), np.float32)
    return np.stack(joints).astype(np.float32), np.stack(scores).astype(np.float32)


def read_openpose(
    path: str | Path,
    part: str = "body",
    dimensions: int = 2,
    settings: PersonSettings | None = None,
    layout: str | Path | Layout | None = None,
) -> Stream:
    """An OpenPose output (a folder of frame files, or one file) as a ``Stream`` of the chosen
    ``part`` (see the module docstring), converted to ``layout`` when one is given
    (``openpose_body25`` frames as ``coco17``: ``stalstm.frames.LayoutConversion``)."""
    files = openpose_files(path)
    raw = [read_openpose_frame(file, part, dimensions) for file in files]
    _, layout_name = PARTS[part]
    counts = [len(scores[0]) for _, scores in raw if len(scores)]
    for file, (_, scores) in zip(files, raw, strict=True):
        if len(scores) and len(scores[0]) != counts[0]:
            raise JointCountError(file, f"{len(scores[0])} keypoints a person where the first "
                                  f"frame has {counts[0]}")  # fmt: skip
    if not counts:
        raise EmptyFileError(path, f"no person with {part} keypoints in any frame")
    count = counts[0]
    if layout_name is None:
        if count not in BODY_LAYOUTS:
            raise JointCountError(
                path, f"{count} body keypoints: BODY_25 (25) and COCO (18) are read"
            )
        layout_name = BODY_LAYOUTS[count]
    own: Layout = get_layout(layout_name)
    if count != own.num_joints:
        raise JointCountError(path, f"{count} {part} keypoints, layout {own.name} has "
                              f"{own.num_joints}")  # fmt: skip
    frames = [Frame(joints, scores) if len(joints) else None for joints, scores in raw]
    name = Path(path).name if Path(path).is_dir() else Path(path).name[: -len(FILE_SUFFIX)]
    numbered = _NUMBERED.match(files[0].name)
    if numbered:
        name = numbered["video"] or name
    extras = {"files": [file.name for file in files]}
    return assemble_stream(frames, own, name, path, settings, extras, layout)
