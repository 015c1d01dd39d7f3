"""The files the pose step writes (``stalstm pose VIDEO -o OUT``): a stream in the generic format
plus its scores and frame times.

- ``<name>.npy``: float32 (T, D, V, C), frame t's detections in the estimator's order (D the
  most detections of any frame; zeros where a frame has fewer, and where nobody was found):
  the generic stream format, so any reader of ``.npy`` streams can read it as it is;
- ``<name>.pose.json``: ``{"format": "stalstm-pose", "format_version": 1, "layout": NAME,
  "estimator": TEXT, "source": TEXT, "image_size": [width, height], "times": [T seconds],
  "scores": [T x D x V confidences]}``. A detection whose scores are all 0 is no detection.

Read with ``read_pose_step`` (and by ``read_stream``, ``read_clip`` and the generic clip and
stream folders whenever a ``.pose.json`` sits beside a ``.npy``), the frames go through the same
``stalstm.frames.FrameAssembler`` as the live pose step: persons tracked into slots, joints
scored below the threshold filled causally. So a file read at once gives what the same video
gives live.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stalstm.errors import DataError, JointCountError
from stalstm.frames import Frame, PersonSettings, frame_where
from stalstm.layouts import LAYOUTS, Layout, get_layout
from stalstm.readers._keypoint_json import assemble_stream, load_json_file, number_list
from stalstm.readers._npy import read_npy_joints
from stalstm.stream import Stream

SIDECAR_SUFFIX = ".pose.json"
FORMAT_NAME = "stalstm-pose"
FORMAT_VERSION = 1
REQUIRED_KEYS = ("format", "format_version", "layout", "times", "scores")


def sidecar_path(path: str | Path) -> Path:
    """``<name>.pose.json`` beside ``<name>.npy``."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(".npy") + SIDECAR_SUFFIX)


def joints_path(path: str | Path) -> Path:
    """``<name>.npy`` of ``<name>.npy`` or of ``<name>.pose.json``."""
    path = Path(path)
    if path.name.endswith(SIDECAR_SUFFIX):
        return path.with_name(path.name.removesuffix(SIDECAR_SUFFIX) + ".npy")
    return path


def is_pose_step_output(path: str | Path) -> bool:
    """A ``.npy`` with its ``.pose.json`` beside it, or the ``.pose.json`` itself."""
    path = Path(path)
    if path.name.endswith(SIDECAR_SUFFIX):
        return True
    return path.suffix == ".npy" and sidecar_path(path).is_file()


def write_pose_step(
    path: str | Path,
    frames: Sequence[Frame],
    layout: Layout | str,
    *,
    estimator: str,
    source: str,
    image_size: tuple[int, int],
) -> Path:
    """Write frames (raw detections, times) as ``<name>.npy`` and ``<name>.pose.json``;
    returns the ``.npy`` path."""
    layout = get_layout(layout)
    path = joints_path(path)
    if path.suffix != ".npy":
        path = path.with_name(path.name + ".npy")
    detections = max([frame.num_persons for frame in frames] + [1])
    coords = next((f.joints.shape[2] for f in frames if f.num_persons), layout.num_coords)
    joints = np.zeros((len(frames), detections, layout.num_joints, coords), np.float32)
    scores = np.zeros((len(frames), detections, layout.num_joints), np.float32)
    for index, frame in enumerate(frames):
        joints[index, : frame.num_persons] = frame.joints
        if frame.num_persons:
            scores[index, : frame.num_persons] = 1.0 if frame.scores is None else frame.scores
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, joints)
    description = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION, "layout": layout.name,
        "estimator": estimator, "source": source, "image_size": list(image_size),
        "times": [round(float(frame.time or 0.0), 6) for frame in frames],
        "scores": np.round(scores, 4).tolist(),
    }  # fmt: skip
    sidecar_path(path).write_text(json.dumps(description) + "\n", encoding="utf-8")
    return path


def _description(path: Path) -> dict[str, Any]:
    description = load_json_file(path)
    where = str(path)
    if not isinstance(description, dict):
        raise DataError(where, "a .pose.json file is a JSON object")
    missing = [key for key in REQUIRED_KEYS if key not in description]
    if missing:
        raise DataError(where, f"missing keys {missing}")
    if description["format"] != FORMAT_NAME or description["format_version"] != FORMAT_VERSION:
        raise DataError(
            where, f"not a {FORMAT_NAME} file of version {FORMAT_VERSION}", field="format"
        )
    return description


def pose_step_layout(path: str | Path) -> str:
    """The layout a pose step output names."""
    sidecar = sidecar_path(joints_path(path))
    return _named_layout(_description(sidecar), sidecar).name


def _named_layout(description: dict[str, Any], sidecar: Path) -> Layout:
    name = description["layout"]
    if not isinstance(name, str) or name not in LAYOUTS:
        raise DataError(sidecar, f"'layout' {name!r} is not a built-in layout", field="layout")
    return LAYOUTS[name]


def read_pose_frames(path: str | Path) -> tuple[list[Frame], Layout]:
    """The raw frames of a pose step output (detections as written, with scores and times)."""
    npy = joints_path(path)
    sidecar = sidecar_path(npy)
    where = str(sidecar)
    description = _description(sidecar)
    layout = _named_layout(description, sidecar)
    if not npy.is_file():
        raise DataError(npy, f"file not found (its {SIDECAR_SUFFIX} is {sidecar.name})")
    joints = read_npy_joints(npy, layout)  # (T, D, V, C), checked
    frames_count, detections = joints.shape[:2]
    times = number_list(description["times"], where, "times")
    if len(times) != frames_count:
        raise JointCountError(where, f"{len(times)} times for {frames_count} frames",
                              field="times")  # fmt: skip
    if (np.diff(times) < 0).any():
        frame = int(np.argmax(np.diff(times) < 0)) + 1
        raise DataError(frame_where(where, frame), "the time goes back", field="times")
    scores = description["scores"]
    if not isinstance(scores, list) or len(scores) != frames_count:
        raise JointCountError(where, f"'scores' must hold one entry for each of the "
                              f"{frames_count} frames", field="scores")  # fmt: skip
    frames = []
    for index, per_frame in enumerate(scores):
        frame_text = frame_where(where, index)
        if not isinstance(per_frame, list) or len(per_frame) != detections:
            raise JointCountError(frame_text, f"scores of {detections} detections expected",
                                  field="scores")  # fmt: skip
        values = np.zeros((detections, layout.num_joints), np.float64)
        for detection, row in enumerate(per_frame):
            row_values = number_list(row, frame_text, "scores")
            if len(row_values) != layout.num_joints:
                raise JointCountError(frame_text, f"{len(row_values)} scores for "
                                      f"{layout.num_joints} joints", field="scores")  # fmt: skip
            values[detection] = row_values
        if (values < 0).any() or (values > 1).any():
            raise DataError(frame_text, "a score outside [0, 1]", field="scores")
        found = values.max(axis=1) > 0
        frames.append(Frame(joints[index, found], values[found], float(times[index])))
    return frames, layout


def read_pose_step(
    path: str | Path,
    layout: str | Path | Layout | None = None,
    settings: PersonSettings | None = None,
) -> Stream:
    """A pose step output (``<name>.npy`` or its ``<name>.pose.json``) as a ``Stream`` in its
    own layout, or in ``layout`` when the model reads another one whose joints it names
    (``mediapipe33`` as ``coco17``). Scores in ``extras["scores"]``, times in
    ``extras["times"]``."""
    frames, own = read_pose_frames(path)
    npy = joints_path(path)
    return assemble_stream(frames, own, npy.stem, npy, settings, target=layout)
