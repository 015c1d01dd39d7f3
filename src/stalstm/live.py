"""Live sources for the online recogniser and detector: JSON lines on standard input, or the
pose step over a video file or a camera. Each is an iterable of ``stalstm.frames.Frame`` (and,
from standard input, the ``DataError`` of a line that could not be read) with the layout of
its keypoints when the source knows it; ``Recognizer.run`` and ``Detector.run`` consume it.

    source = open_source("-", model_layout=loaded.layout_object)
    for event in Recognizer(loaded, backend="onnx").run(source.frames, layout=source.layout,
                                                        source=source.name):
        ...
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from stalstm.errors import DataError
from stalstm.frames import Frame, read_frame_lines
from stalstm.layouts import Layout, get_layout
from stalstm.pose import part_for_layout, pose_frames

STDIN = "-"


@dataclass
class LiveSource:
    """Frames as they come, their layout (None: the model's, checked frame by frame) and the
    source's name for errors."""

    frames: Iterable[Frame | DataError]
    layout: Layout | None
    name: str


def open_source(
    input_name: str | Path | None = None,
    *,
    video: str | Path | None = None,
    camera: int | None = None,
    layout: str | Path | Layout | None = None,
    model_layout: Layout | str | None = None,
    stdin: IO[str] | None = None,
) -> LiveSource:
    """Exactly one of: ``input_name`` = ``-`` (JSON lines on ``stdin``, by default the
    process's; their layout is ``layout``, or the model's when not given), ``video`` (a file)
    or ``camera`` (an index), through the pose step: the body, or the hands for a model that
    reads hand keypoints (``stalstm.pose.part_for_layout``)."""
    given = [input_name is not None, video is not None, camera is not None]
    if sum(given) != 1:
        raise ValueError("give one live source: '-' (JSON lines on stdin), --video or --camera")
    if input_name is not None:
        if str(input_name) != STDIN:
            raise ValueError(f"a live input is '-' (standard input), got {input_name!r}")
        lines = stdin if stdin is not None else sys.stdin
        frames_layout = get_layout(layout) if layout is not None else None
        return LiveSource(read_frame_lines(lines, "<stdin>"), frames_layout, "<stdin>")
    if model_layout is None:
        raise ValueError("the pose step needs the model's layout to choose body or hands")
    source = pose_frames(video, camera, part_for_layout(model_layout))
    return LiveSource(source, source.layout, source.name)
