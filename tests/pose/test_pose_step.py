"""The bundled pose step (the ``[pose]`` extra) on videos built from a real photograph of a
person (scikit-image's ``astronaut``), moved, scaled and rotated frame by frame: MediaPipe finds
the person on most frames and its keypoints follow the applied motion; the pose step's files
read back; ``stalstm pose`` and ``stalstm detect MODEL --video`` run end to end, live giving
what the written file gives; bad videos are typed errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from stalstm.cli import app
from stalstm.detection.detector import DetectionSettings, detect_stream
from stalstm.detection.segmenting import PostProcessing
from stalstm.errors import DataError, EmptyFileError, LayoutMismatchError
from stalstm.model import STALSTMConfig, build_model
from stalstm.modelfile import load_model, save_model
from stalstm.readers import read_stream

FRAMES = 40


def applied_motion(frame: int, size: tuple[int, int]) -> np.ndarray:
    """The 2 x 3 affine map of frame ``frame``: turned 1.5 degrees a frame about the centre,
    shrunk 0.6 % a frame, moved (2, 1) pixels a frame."""
    import cv2

    width, height = size
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), 1.5 * frame, 1.0 - 0.006 * frame)
    matrix[:, 2] += (2.0 * frame, 1.0 * frame)
    return matrix


@pytest.fixture(scope="module")
def moving_video(pose_extra: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 40-frame, 25 fps video of the astronaut photograph under ``applied_motion``."""
    import cv2
    from skimage import data

    image = data.astronaut()
    height, width = image.shape[:2]
    path = tmp_path_factory.mktemp("video") / "astronaut.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (width, height))
    for frame in range(FRAMES):
        moved = cv2.warpAffine(image, applied_motion(frame, (width, height)), (width, height))
        writer.write(cv2.cvtColor(moved, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture(scope="module")
def estimated(moving_video: Path) -> list:
    from stalstm.pose import pose_frames

    return list(pose_frames(moving_video))


def similarity(before: np.ndarray, after: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Scale, angle (degrees, image axes) and centre shift of the similarity taking the (N, 2)
    points ``before`` onto ``after`` (least squares, Umeyama)."""
    centred_before, centred_after = before - before.mean(0), after - after.mean(0)
    u, singular, vt = np.linalg.svd(centred_before.T @ centred_after)
    rotation = (u @ vt).T
    scale = singular.sum() / (centred_before**2).sum()
    return scale, math.degrees(math.atan2(rotation[1, 0], rotation[0, 0])), after.mean(0)


def test_the_person_is_found_and_the_keypoints_follow_the_motion(estimated: list) -> None:
    found = [frame for frame in estimated if frame.num_persons == 1]
    assert len(estimated) == FRAMES and len(found) >= 36
    assert [frame.time for frame in estimated[:3]] == pytest.approx([0.0, 0.04, 0.08])
    first = estimated[0]
    assert first.joints.shape == (1, 33, 3) and first.scores[0, :13].min() > 0.5  # face, shoulders
    face, upper = slice(0, 11), slice(0, 13)
    reference = first.joints[0, :, :2]
    angles, scales, centres = [], [], []
    for index, frame in enumerate(estimated[1:], start=1):
        if frame.num_persons == 0:
            continue
        matrix = applied_motion(index, (512, 512))
        points = frame.joints[0, :, :2]
        _, angle, _ = similarity(reference[upper], points[upper])
        scale, _, centre = similarity(reference[face], points[face])
        angles.append(abs(angle - (-1.5 * index)))  # image y points down: clockwise
        scales.append(abs(scale / (1.0 - 0.006 * index) - 1.0))
        expected_centre = matrix[:, :2] @ reference[face].mean(0) + matrix[:, 2]
        centres.append(float(np.linalg.norm(centre - expected_centre)))
    # applied over the 40 frames: 58.5 degrees, a scale of 0.77, a shift of 87 pixels
    assert np.median(angles) < 3.0 and max(angles) < 8.0, angles
    assert np.median(scales) < 0.05 and max(scales) < 0.2, scales
    assert np.median(centres) < 6.0 and max(centres) < 25.0, centres  # of a 512-pixel image


def coco_detector(directory: Path) -> None:
    """A random 2D COCO 17 detection model (3 classes and background), its class scores made
    large so that segments open and close; it reads the pose step's body by joint names."""
    torch.manual_seed(5)
    config = STALSTMConfig(num_joints=17, num_classes=4, num_coords=2, main_hidden=24,
                           spatial_hidden=12, spatial_tanh=12, temporal_hidden=12)  # fmt: skip
    model = build_model(config)
    with torch.no_grad():
        model.main.classifier.weight.mul_(25.0)
    settings = DetectionSettings(3, 2, PostProcessing(0.4, 2, 0.3, 2))
    save_model(
        directory, model, class_names=["wave", "bow", "turn", "background"], layout="coco17",
        preset="canonical", metadata={"detection": settings.to_dict()},
    )  # fmt: skip


def test_pose_and_detect_commands_run_end_to_end(moving_video: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["pose", str(moving_video), "-o", str(tmp_path / "out"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["frames"] == FRAMES and summary["found"] >= 36
    assert summary["layout"] == "mediapipe33"
    written = Path(summary["written"])
    stream = read_stream(written)
    assert stream.joints.shape == (FRAMES, 1, 33, 3)
    np.testing.assert_allclose(stream.extras["times"], np.arange(FRAMES) / 25, atol=1e-6)

    coco_detector(tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    result = runner.invoke(app, ["detect", str(tmp_path / "model"), "--video", str(moving_video),
                                 "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.strip().splitlines()]
    offline = detect_stream(loaded, read_stream(written, "coco17")).detections
    closed = [(e["label"], e["start"], e["end"]) for e in events if e["event"] == "close"]
    assert closed == [(d.label, d.start, d.end) for d in offline]  # live = the written file
    assert all(event["t"] == pytest.approx(event["frame"] / 25) for event in events)

    result = runner.invoke(app, ["stream", str(tmp_path / "model"), "--video", str(moving_video),
                                 "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert len(result.stdout.strip().splitlines()) == FRAMES

    lines = runner.invoke(app, ["pose", str(moving_video), "-o", "-"])
    frames = [json.loads(line) for line in lines.stdout.strip().splitlines()]
    assert len(frames) == FRAMES and len(frames[0]["joints"][0]) == 33


def test_bad_videos_and_cameras_are_typed_errors(pose_extra: None, tmp_path: Path) -> None:
    import cv2

    from stalstm.pose import part_for_layout, pose_frames
    from stalstm.pose.video import TruncatedVideoWarning, VideoError, open_camera

    with pytest.raises(DataError, match="video file not found"):
        pose_frames(tmp_path / "missing.mp4")
    (tmp_path / "text.avi").write_text("not a video\n" * 100)
    with pytest.raises(VideoError, match=r"text\.avi"):
        pose_frames(tmp_path / "text.avi")
    empty = tmp_path / "empty.avi"
    cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 64)).release()
    with pytest.raises((VideoError, EmptyFileError), match=r"empty\.avi"):
        list(pose_frames(empty))
    whole = tmp_path / "whole.avi"
    writer = cv2.VideoWriter(str(whole), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 64))
    for shade in range(30):
        writer.write(np.full((64, 64, 3), shade * 8, np.uint8))
    writer.release()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.warns(TruncatedVideoWarning, match=r"cut\.avi: decoded"):
        frames = list(pose_frames(cut))
    assert 0 < len(frames) < 30
    with pytest.raises(VideoError, match="camera 57"):
        open_camera(57)
    assert part_for_layout("coco17") == "body" and part_for_layout("hand21") == "hands"
    with pytest.raises(LayoutMismatchError, match="reads neither"):
        part_for_layout("ntu25")
    result = CliRunner().invoke(app, ["pose", "--camera", "57", "-o", str(tmp_path)])
    assert result.exit_code == 1 and "camera 57" in result.output
