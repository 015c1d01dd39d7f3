"""Frames of a video file or a camera, decoded with OpenCV (``opencv-contrib-python``, which
the ``[pose]`` extra's MediaPipe brings): RGB images with their times in seconds."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stalstm.errors import DataError, EmptyFileError, StalstmError


class PoseExtraError(StalstmError):
    """The pose step needs an optional dependency that is not installed."""


class VideoError(DataError):
    kind = "unreadable video"


class TruncatedVideoWarning(UserWarning):
    """A video decoded to fewer frames than its container declares."""


def import_cv2() -> Any:
    try:
        import cv2  # the [pose] extra: heavy and optional, so imported where a video is opened
    except ImportError as error:
        raise PoseExtraError(
            f"reading video needs the [pose] extra: pip install 'stalstm[pose]' ({error})"
        ) from None
    return cv2


@dataclass
class VideoSource:
    """An opened video file or camera; iterate for (index, RGB image (H, W, 3) uint8, time in
    seconds). Times of a file come from its frame rate (from its timestamps when the container
    gives no rate); a camera's from the clock, from its first frame."""

    name: str
    capture: Any
    camera: bool
    fps: float
    declared_frames: int
    size: tuple[int, int] = field(default=(0, 0))  # (width, height), known after a frame

    def __iter__(self) -> Iterator[tuple[int, np.ndarray, float]]:
        cv2 = import_cv2()
        index = 0
        start = None
        try:
            while True:
                ok, image = self.capture.read()
                if not ok or image is None:
                    break
                if self.camera:
                    start = time.monotonic() if start is None else start
                    seconds = time.monotonic() - start
                elif self.fps > 0:
                    seconds = index / self.fps
                else:
                    seconds = float(self.capture.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0
                rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
                self.size = (int(rgb.shape[1]), int(rgb.shape[0]))
                yield index, rgb, seconds
                index += 1
        finally:
            self.close()
        if index == 0:
            raise EmptyFileError(self.name, "no frame could be decoded")
        if not self.camera and self.declared_frames > index + 1:
            warnings.warn(
                f"{self.name}: decoded {index} frames of the {self.declared_frames} its "
                "container declares (a truncated file?)",
                TruncatedVideoWarning,
                stacklevel=2,
            )

    def close(self) -> None:
        self.capture.release()


def open_video(path: str | Path) -> VideoSource:
    """A video file; ``VideoError`` naming it when OpenCV cannot open it."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "video file not found")
    cv2 = import_cv2()
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise VideoError(path, "OpenCV cannot open it as a video")
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    declared = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    fps = fps if np.isfinite(fps) and 0 < fps < 1000 else 0.0
    return VideoSource(str(path), capture, False, fps, max(declared, 0))


def open_camera(index: int) -> VideoSource:
    """Camera ``index`` (0 is the first); ``VideoError`` when it cannot be opened."""
    cv2 = import_cv2()
    capture = cv2.VideoCapture(int(index))
    if not capture.isOpened():
        capture.release()
        raise VideoError(f"camera {index}", "cannot be opened (no such camera, or it is busy)")
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    return VideoSource(f"camera {index}", capture, True, fps, 0)
