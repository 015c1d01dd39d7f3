"""Seeds of the pose estimators' readers in the reader fuzz campaign (``reader_fuzzing.py``):
files written as OpenPose, MMPose, COCO and the pose step write them (``helpers.pose_files``)
from real 2D keypoints of NTU RGB+D recordings in ``$STALSTM_DATA``, and the JSON lines of live
frames."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from helpers.pose_files import (
    coco_results,
    detections,
    mmpose_demo,
    mmpose_instances,
    mmpose_video,
    openpose_document,
    real_keypoints,
)
from stalstm.frames import Frame, frame_to_dict, read_frame_lines
from stalstm.layouts import get_layout
from stalstm.readers.pose_step import write_pose_step
from stalstm.stream import Stream

FRAMES = slice(30, 40)  # ten frames of the recording, both persons in them
POSE_STEP_FOLDER = "pose-step"


def openpose_seeds(root: Path) -> list[dict]:
    joints, scores = real_keypoints(root, "openpose_body25")
    return [openpose_document(joints, scores, frame) for frame in (30, 31, 45)]


def mmpose_seeds(root: Path) -> list[Any]:
    joints, scores = real_keypoints(root, "coco17")
    part, part_scores = joints[FRAMES], scores[FRAMES]
    return [mmpose_video(part, part_scores), mmpose_demo(part, part_scores),
            mmpose_instances(joints, scores, 33)]  # fmt: skip


def coco_seeds(root: Path) -> list[Any]:
    joints, scores = real_keypoints(root, "coco17")
    return [coco_results(joints[FRAMES], scores[FRAMES], first_id=100)]


def _pose_step_frames(root: Path) -> list[Frame]:
    joints, scores = real_keypoints(root, "coco17")
    return [
        Frame(joints[t, detections(joints, scores, t)], scores[t, detections(joints, scores, t)],
              t / 30)
        for t in range(FRAMES.start, FRAMES.stop)
    ]  # fmt: skip


def _pose_step_files(root: Path) -> tuple[bytes, dict]:
    """The ``.npy`` and ``.pose.json`` the pose step writes for ten real frames."""
    with tempfile.TemporaryDirectory() as scratch:
        path = write_pose_step(
            Path(scratch) / "take", _pose_step_frames(root), "coco17", estimator="mediapipe",
            source="take.mp4", image_size=(1920, 1080),
        )  # fmt: skip
        return path.read_bytes(), json.loads(path.with_name("take.pose.json").read_text())


def pose_step_seeds(root: Path) -> list[Any]:
    """The ``.pose.json`` of the pose step's files (its ``.npy`` is the companion)."""
    return [_pose_step_files(root)[1]]


def pose_step_companions(root: Path) -> dict[str, bytes]:
    return {f"{POSE_STEP_FOLDER}/take.npy": _pose_step_files(root)[0]}


def frame_line_seeds(root: Path) -> list[bytes]:
    lines = [json.dumps(frame_to_dict(frame)) for frame in _pose_step_frames(root)]
    return ["\n".join(lines).encode() + b"\n"]


def read_frame_file(path: Path) -> list[Frame | Any]:
    """Every frame of a JSON lines file, as ``stalstm stream MODEL -`` reads stdin: the items
    when they are sane frames, else (all checked first) the first line's typed error raised, as
    the command ends with exit 1."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        items = list(read_frame_lines(io.StringIO(handle.read()), str(path)))
    errors = [item for item in items if not isinstance(item, Frame)]
    if errors and not frame_lines_check(items):
        raise errors[0]
    return items


def frame_lines_check(result: Any) -> str:
    """Each line a sane frame or a typed error naming its line."""
    if not isinstance(result, list):
        return f"a {type(result).__name__}, not a list"
    for item in result:
        if isinstance(item, Frame):
            if item.joints.dtype != np.float32 or not np.isfinite(item.joints).all():
                return f"frame of line {item.line}: {item.joints.dtype}, not finite float32"
            if item.scores is not None and not np.isfinite(item.scores).all():
                return f"frame of line {item.line}: non-finite scores"
        elif getattr(item, "line", None) is None:
            return f"{type(item).__name__} without a line: {item}"
    return ""


def keypoint_stream_check(coordinates: tuple[int, ...]) -> Any:
    """A ``Stream`` in a known layout, its joints of that layout's count, finite, with scores
    of its (T, M, V) shape."""

    def check(result: Any) -> str:
        if not isinstance(result, Stream):
            return f"a {type(result).__name__}, not a Stream"
        joints = result.joints
        if joints.dtype != np.float32 or not np.isfinite(joints).all():
            return "joints not finite float32"
        if joints.shape[2] != get_layout(result.layout).num_joints:
            return f"{joints.shape[2]} joints in layout {result.layout}"
        if joints.shape[3] not in coordinates:
            return f"joints of shape {joints.shape}"
        if result.extras["scores"].shape != joints.shape[:3]:
            return f"scores {result.extras['scores'].shape} for joints {joints.shape}"
        return ""

    return check
