"""The pose step: a video file or a camera through MediaPipe, frame by frame.

``pose_frames`` is the live source (an iterable of ``stalstm.frames.Frame`` with its
``layout``), what ``Recognizer.run`` and ``Detector.run`` consume; ``run_pose`` (``stalstm pose
VIDEO -o OUT``) writes the frames as the pose step's files, ``OUT/<video name>.npy`` and
``.pose.json`` (``stalstm.readers.pose_step``), or as JSON lines (``-o -``), the format any
source can pipe into ``stalstm stream MODEL -`` and ``stalstm detect MODEL -``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from stalstm.errors import LayoutMismatchError
from stalstm.frames import Frame, frame_to_dict
from stalstm.layouts import Layout, get_layout, joint_mapping
from stalstm.pose.estimator import PARTS, MediaPipeEstimator
from stalstm.pose.video import VideoSource, open_camera, open_video
from stalstm.readers.pose_step import write_pose_step


def part_for_layout(layout: Layout | str) -> str:
    """The pose step's part whose keypoints a model of ``layout`` reads (directly or by
    joint names, ``mediapipe33`` as ``coco17``): ``body`` or ``hands``."""
    layout = get_layout(layout)
    for part, name in PARTS.items():
        if joint_mapping(get_layout(name), layout) is not None:
            return part
    raise LayoutMismatchError(
        layout.name,
        "the pose step gives the body as mediapipe33 and hands as hand21; a model of layout "
        f"{layout.name!r} reads neither (nor a layout whose joints they name)",
    )


@dataclass
class PoseFrames:
    """A video or camera through the estimator: iterate for one ``Frame`` a decoded image
    (P = 0 where nobody was found), each with its time. ``pose_seconds`` adds up the time spent
    decoding and estimating, ``frames`` and ``found`` count the frames and those with someone."""

    source: VideoSource
    estimator: MediaPipeEstimator
    layout: Layout
    pose_seconds: float = 0.0
    frames: int = 0
    found: int = 0

    @property
    def name(self) -> str:
        return self.source.name

    def __iter__(self) -> Iterator[Frame]:
        started = time.perf_counter()
        try:
            for _, image, seconds in self.source:
                joints, scores = self.estimator(image)
                self.pose_seconds += time.perf_counter() - started
                self.frames += 1
                self.found += bool(len(joints))
                yield Frame(joints, scores, seconds)
                started = time.perf_counter()
        finally:
            self.source.close()
            self.estimator.close()


def pose_frames(video: str | Path | None = None, camera: int | None = None, part: str = "body"):
    """The pose step over a video file or camera ``camera`` (exactly one of them)."""
    if (video is None) == (camera is None):
        raise ValueError("give a video file or a camera, not both or neither")
    source = open_video(video) if video is not None else open_camera(camera)
    estimator = MediaPipeEstimator(part)
    return PoseFrames(source, estimator, estimator.layout)


@dataclass(frozen=True)
class PoseRun:
    """What ``run_pose`` did: where it wrote (None for JSON lines), frames, frames in which
    someone was found, the layout, and the seconds the pose step took."""

    path: Path | None
    frames: int
    found: int
    layout: str
    seconds: float


def run_pose(
    out: str | Path,
    video: str | Path | None = None,
    camera: int | None = None,
    part: str = "body",
    lines: IO[str] | None = None,
) -> PoseRun:
    """Run the pose step over a whole video (or a camera, until interrupted) and write the
    frames: to ``OUT/<name>.npy`` + ``.pose.json``, or, for ``out`` = ``-``, as JSON lines to
    ``lines`` as they come."""
    source = pose_frames(video, camera, part)
    name = Path(video).stem if video is not None else f"camera-{camera}"
    kept: list[Frame] = []
    try:
        for frame in source:
            if str(out) == "-":
                assert lines is not None, "JSON lines need a stream to go to"
                lines.write(json.dumps(frame_to_dict(frame)) + "\n")
                lines.flush()
            else:
                kept.append(frame)
    except KeyboardInterrupt:  # a camera runs until interrupted: keep what was captured
        if camera is None:
            raise
    path = None
    if str(out) != "-":
        path = write_pose_step(
            Path(out) / f"{name}.npy", kept, source.layout, estimator=source.estimator.name,
            source=source.name, image_size=source.source.size,
        )  # fmt: skip
    return PoseRun(path, source.frames, source.found, source.layout.name, source.pose_seconds)
