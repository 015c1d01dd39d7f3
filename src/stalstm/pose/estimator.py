"""MediaPipe's legacy solutions as the pose step's estimator (the ``[pose]`` extra pins
``mediapipe==0.10.14``, the last release whose wheels carry the models of ``solutions.pose`` and
``solutions.hands``, so nothing is downloaded at run time).

- ``body``: ``mp.solutions.pose.Pose`` in video mode (it tracks the person from frame to frame
  and smooths the landmarks, as MediaPipe's defaults do), the full model (the one the wheel
  carries), one person: 33 landmarks, layout ``mediapipe33``; the score of a landmark is its
  ``visibility``.
- ``hands``: ``mp.solutions.hands.Hands`` in video mode, up to two hands: 21 points each,
  layout ``hand21``; the score of every point of a hand is the hand's handedness score (the
  solution gives no per-point score).

Coordinates are in pixels: MediaPipe's normalised x and y times the image's width and height,
and its z (depth relative to the hips, or to the wrist, "roughly the same scale as x") times
the width.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from stalstm.layouts import Layout, get_layout
from stalstm.pose.video import PoseExtraError

PARTS = {"body": "mediapipe33", "hands": "hand21"}


def import_mediapipe() -> Any:
    # MediaPipe's C++ side logs every graph it starts to stderr: warnings and errors only
    os.environ.setdefault("GLOG_minloglevel", "2")
    try:
        import mediapipe  # the [pose] extra: heavy and optional, loaded when a pose step starts
    except ImportError as error:
        raise PoseExtraError(
            f"the pose step needs the [pose] extra: pip install 'stalstm[pose]' ({error})"
        ) from None
    return mediapipe


class MediaPipeEstimator:
    """One MediaPipe solution for one source (it tracks from frame to frame: one estimator a
    video). Call it with an RGB image; it returns the image's detections, joints (P, V, 3) in
    pixels and scores (P, V)."""

    def __init__(self, part: str = "body") -> None:
        if part not in PARTS:
            raise ValueError(f"part is one of {sorted(PARTS)}, got {part!r}")
        mediapipe = import_mediapipe()
        self.part = part
        self.layout: Layout = get_layout(PARTS[part])
        solution = "pose" if part == "body" else "hands"
        self.name = f"mediapipe {mediapipe.__version__} solutions.{solution}"
        if part == "body":
            self.solution = mediapipe.solutions.pose.Pose(
                static_image_mode=False, model_complexity=1, smooth_landmarks=True
            )
        else:
            self.solution = mediapipe.solutions.hands.Hands(
                static_image_mode=False, max_num_hands=2, model_complexity=1
            )

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        height, width = image.shape[:2]
        scale = np.array([width, height, width], np.float32)
        with warnings.catch_warnings():  # its own use of a protobuf call deprecated upstream
            warnings.filterwarnings("ignore", "SymbolDatabase.GetPrototype", UserWarning)
            result = self.solution.process(np.ascontiguousarray(image))
        if self.part == "body":
            found = [result.pose_landmarks] if result.pose_landmarks else []
            scores = [[mark.visibility for mark in marks.landmark] for marks in found]
        else:
            found = list(result.multi_hand_landmarks or [])
            handedness = list(result.multi_handedness or [])
            scores = [
                [hand.classification[0].score] * self.layout.num_joints for hand in handedness
            ]
        joints = [[(mark.x, mark.y, mark.z) for mark in marks.landmark] for marks in found]
        if not joints:
            empty = np.zeros((0, self.layout.num_joints, 3), np.float32)
            return empty, np.zeros((0, self.layout.num_joints), np.float32)
        array = np.asarray(joints, np.float32) * scale  # (P, V, 3) pixels
        return array, np.clip(np.asarray(scores, np.float32), 0.0, 1.0)

    def close(self) -> None:
        self.solution.close()
