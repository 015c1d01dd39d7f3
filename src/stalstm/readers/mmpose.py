"""MMPose / RTMPose prediction JSON, in the forms MMPose writes it:

- ``MMPoseInferencer(...)(video, pred_out_dir=DIR)`` (and ``demo/inferencer_demo.py
  --pred-out-dir``): ``<video>.json``, a list of ``{"frame_id": 0, "instances": [...]}``, one
  a frame, ``frame_id`` from 0;
- the same for an image: ``<image>.json``, the list of instances itself (one frame);
- ``demo/topdown_demo_with_mmdet.py --save-predictions``: ``results_<name>.json``,
  ``{"meta_info": {...}, "instance_info": [...]}`` with the video's frames (``frame_id`` from 1)
  or an image's instances.

An instance is ``{"keypoints": [[x, y], ...], "keypoint_scores": [s, ...], "bbox": [[x1, y1,
x2, y2]], "bbox_score": s}`` (MMPose's ``split_instances``); the keypoints and their scores are
read, the box is not needed. Frames must follow each other (``frame_id`` rising by one). The
layout is ``coco17`` for 17 keypoints in 2D and ``hand21`` for 21 (MMPose's hand data sets
number as OpenPose does); any other skeleton (Halpe 26, COCO-WholeBody 133, 3D Human3.6M 17)
needs its ``layout`` given, e.g. a JSON layout of your own. A ``layout`` of another joint count
is the layout to convert to (``stalstm.frames.LayoutConversion``). Persons are tracked across frames
and missing joints filled as ``stalstm.frames`` documents; scores in ``extras["scores"]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from stalstm.errors import DataError, EmptyFileError, JointCountError, LayoutMismatchError
from stalstm.frames import Frame, PersonSettings, frame_where
from stalstm.layouts import Layout, get_layout
from stalstm.readers._keypoint_json import (
    assemble_stream,
    checked_scores,
    load_json_file,
    number_list,
    point_rows,
)
from stalstm.stream import Stream

DEFAULT_LAYOUTS = {(17, 2): "coco17", (21, 2): "hand21", (21, 3): "hand21"}


def looks_like_mmpose(document: Any) -> bool:
    """Whether a JSON document has the shape of MMPose predictions (for ``read_stream``)."""
    if isinstance(document, dict):
        return "instance_info" in document
    if not isinstance(document, list) or not document or not isinstance(document[0], dict):
        return False
    return "instances" in document[0] or "keypoint_scores" in document[0]


def _frames_of(document: Any, where: str) -> tuple[list[Any], list[int] | None]:
    """The per-frame instance lists of a document, and the frame ids (None for an image)."""
    if isinstance(document, dict):
        if "instance_info" not in document:
            raise DataError(where, "an MMPose results object has 'meta_info' and 'instance_info'")
        document = document["instance_info"]
    if not isinstance(document, list):
        raise DataError(where, "MMPose predictions are a list of frames or of instances")
    if not document or not isinstance(document[0], dict) or "frame_id" not in document[0]:
        return [document], None  # one image's instances
    instances, ids = [], []
    for position, frame in enumerate(document):
        frame_text = frame_where(where, position)
        if not isinstance(frame, dict) or "instances" not in frame or "frame_id" not in frame:
            raise DataError(frame_text, "a frame is {'frame_id': N, 'instances': [...]}")
        frame_id = frame["frame_id"]
        if isinstance(frame_id, bool) or not isinstance(frame_id, int):
            raise DataError(frame_text, f"frame_id {frame_id!r} is no integer", field="frame_id")
        if ids and frame_id != ids[-1] + 1:
            raise DataError(
                frame_text, f"frame_id {frame_id} follows {ids[-1]}: frames must follow each "
                "other", field="frame_id",
            )  # fmt: skip
        ids.append(frame_id)
        instances.append(frame["instances"])
    return instances, ids


def _frame(instances: Any, where: str) -> Frame | None:
    if not isinstance(instances, list):
        raise DataError(where, "'instances' must be a list", field="instances")
    joints, scores = [], []
    for number, instance in enumerate(instances):
        if not isinstance(instance, dict):
            raise DataError(where, f"instance {number} is not an object", field="instances")
        for key in ("keypoints", "keypoint_scores"):
            if key not in instance:
                raise DataError(where, f"instance {number} has no '{key}'", field=key)
        points = point_rows(instance["keypoints"], where, "keypoints")
        confidence = checked_scores(
            number_list(instance["keypoint_scores"], where, "keypoint_scores"),
            where, "keypoint_scores",
        )  # fmt: skip
        if len(confidence) != len(points):
            raise JointCountError(
                where, f"instance {number}: {len(points)} keypoints, {len(confidence)} scores",
                field="keypoint_scores",
            )  # fmt: skip
        joints.append(points)
        scores.append(confidence)
    if not joints:
        return None
    if len({points.shape for points in joints}) > 1:
        raise JointCountError(where, "instances of different keypoint counts in one frame")
    return Frame(np.stack(joints), np.stack(scores))


def read_mmpose(
    path: str | Path,
    layout: str | Path | Layout | None = None,
    settings: PersonSettings | None = None,
    document: Any = None,
) -> Stream:
    """MMPose predictions (any of the forms in the module docstring) as a ``Stream``.
    ``document``: the file's JSON when already loaded."""
    path = Path(path)
    where = str(path)
    document = load_json_file(path) if document is None else document
    instances, ids = _frames_of(document, where)
    frames = [
        _frame(frame, frame_where(where, position)) for position, frame in enumerate(instances)
    ]
    shapes = {frame.joints.shape[1:] for frame in frames if frame is not None}
    if len(shapes) > 1:
        raise JointCountError(where, f"frames of different keypoint counts: {sorted(shapes)}")
    if not shapes:
        raise EmptyFileError(where, "no instance in any frame")
    own, target = file_layout(shapes.pop(), layout, where)
    extras = {} if ids is None else {"frame_ids": np.array(ids, dtype=np.int64)}
    return assemble_stream(frames, own, path.stem, where, settings, extras, target)


def file_layout(
    shape: tuple[int, int], layout: str | Path | Layout | None, where: str
) -> tuple[Layout, Layout | None]:
    """The layout of a file's (V, C) keypoints and the one to convert them to: ``layout`` when
    it has V joints (it names the file's skeleton), else the default for V and C (``coco17``,
    ``hand21``) converted to ``layout`` when one is given."""
    wanted = get_layout(layout) if layout is not None else None
    if wanted is not None and wanted.num_joints == shape[0]:
        return wanted, None
    if shape not in DEFAULT_LAYOUTS:
        raise LayoutMismatchError(
            where, f"{shape[0]} keypoints of {shape[1]} coordinates: give their layout (17 in "
            "2D are read as coco17, 21 as hand21)",
        )  # fmt: skip
    return get_layout(DEFAULT_LAYOUTS[shape]), wanted
