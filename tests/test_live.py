"""Live frames into the model: ``Recognizer.run`` and ``Detector.run`` over frames of any
number of persons give, frame by frame, what the offline model gives on the file the same
frames make; the ONNX backend of the live commands equals PyTorch; bad frames pass through as
errors; a layout the model cannot read is refused at once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers.models import detection_model, same, saved_model, sfinge_stream
from helpers.pose_files import coco_results, detections, real_keypoints

from stalstm.detection.detector import Detector, detect_stream
from stalstm.errors import DataError, LayoutMismatchError
from stalstm.frames import Frame, PersonSettings
from stalstm.online import FrameEvent, Recognizer, replay_clip
from stalstm.readers import read_coco_keypoints


def live_frames(joints: np.ndarray, scores: np.ndarray) -> list[Frame]:
    """The frames an estimator would give: detected persons only, in its order, with times."""
    frames = []
    for t in range(len(joints)):
        found = detections(joints, scores, t)
        frames.append(Frame(joints[t, found], scores[t, found], t / 30))
    return frames


def test_recognizer_run_equals_the_offline_model_on_the_file(data_root: Path, tmp_path: Path):
    joints, scores = real_keypoints(data_root, "coco17")
    scores[20:30, :, 9] = 0.1  # a wrist the estimator is unsure of: filled
    (tmp_path / "take.json").write_text(json.dumps(coco_results(joints, scores)))
    clip = read_coco_keypoints(tmp_path / "take.json").as_clip()
    loaded = saved_model(tmp_path / "m", joints=34, classes=5, layout="coco17",
                         preset="canonical", coords=2)  # fmt: skip
    offline = np.stack([probabilities for _, probabilities in replay_clip(loaded, clip)])
    frames = live_frames(np.round(joints, 3), np.round(scores, 3))
    frames.insert(40, DataError("<stdin>", "a bad line", 41))  # passes through, changes nothing
    for backend in ("torch", "onnx"):
        events = list(Recognizer(loaded, backend=backend).run(frames, layout="coco17"))
        errors = [event for event in events if isinstance(event, DataError)]
        assert [error.line for error in errors] == [41]
        found = [event for event in events if isinstance(event, FrameEvent)]
        assert [event.frame for event in found] == list(range(74))
        assert found[3].time == pytest.approx(0.1)
        np.testing.assert_allclose([e.probabilities for e in found], offline, atol=1e-4)
        assert found[5].to_dict(loaded.class_names)["t"] == pytest.approx(5 / 30)


def test_frames_of_another_layout_are_mapped_or_refused(data_root: Path, tmp_path: Path):
    joints, scores = real_keypoints(data_root, "openpose_body25")
    loaded = saved_model(tmp_path / "m", joints=34, classes=5, layout="coco17",
                         preset="canonical", coords=2)  # fmt: skip
    frames = live_frames(joints, scores)
    mapped = [event.probabilities for event in Recognizer(loaded).run(frames,
              layout="openpose_body25")]  # fmt: skip
    coco, coco_scores = real_keypoints(data_root, "coco17")
    direct = [e.probabilities for e in Recognizer(loaded).run(live_frames(coco, coco_scores))]
    np.testing.assert_allclose(mapped, direct, atol=1e-5)
    with pytest.raises(LayoutMismatchError, match="'hand21' cannot feed a model of layout"):
        next(Recognizer(loaded).run(frames, layout="hand21"))
    # without a layout the frames are the model's: a frame of other joints is an error event
    events = list(Recognizer(loaded).run(frames[:3]))
    assert all(isinstance(event, DataError) and "25 joints" in str(event) for event in events)


def test_detector_run_opens_and_closes_segments_as_offline(data_root: Path, tmp_path: Path):
    loaded = detection_model(tmp_path / "model")
    stream = sfinge_stream(data_root, 3, 150)
    offline = detect_stream(loaded, stream).detections
    assert len(offline) >= 2
    frames = [Frame(frame, None, t / 20) for t, frame in enumerate(stream.joints)]
    for backend in ("torch", "onnx"):
        events = list(Detector(loaded, backend=backend).run(frames, layout="hand20"))
        closed = [event.detection for event in events if event.kind == "close"]
        opened = [event for event in events if event.kind == "open"]
        assert same(closed, offline), backend  # the end of the frames closes the last one
        assert [event.frame for event in opened] == [d.reported_at for d in offline]
        assert [event.detection.start for event in opened] == [d.start for d in offline]
        assert opened[0].start_time == pytest.approx(offline[0].start / 20)
        record = events[0].to_dict(loaded.class_names)
        assert record["event"] == "open" and record["class"] == loaded.class_names[
            offline[0].label]  # fmt: skip


def test_scores_and_persons_settings_reach_the_model(data_root: Path, tmp_path: Path):
    joints, scores = real_keypoints(data_root, "coco17")
    loaded = saved_model(tmp_path / "m", joints=34, classes=5, layout="coco17",
                         preset="canonical", coords=2)  # fmt: skip
    frames = live_frames(joints, scores)
    default = [e.probabilities for e in Recognizer(loaded).run(frames)]
    strict = PersonSettings(score_threshold=0.5)  # Kinect's inferred joints (0.4) now missing
    stricter = [e.probabilities for e in Recognizer(loaded).run(frames, settings=strict)]
    assert not np.allclose(default, stricter, atol=1e-4)


def test_predict_reads_a_pose_estimators_folder_in_the_models_layout(
    data_root: Path, tmp_path: Path
) -> None:
    from helpers.pose_files import write_openpose

    from stalstm.predict import predict_files

    joints, scores = real_keypoints(data_root, "openpose_body25")
    write_openpose(tmp_path / "json", "take", joints, scores)
    loaded = saved_model(tmp_path / "m", joints=34, classes=5, layout="coco17",
                         preset="canonical", coords=2)  # fmt: skip
    prediction = predict_files(loaded, [tmp_path / "json"])[0]
    clip = read_coco_keypoints_like(data_root, tmp_path)
    expected = list(replay_clip(loaded, clip))[-1][1]
    np.testing.assert_allclose(prediction.probabilities, expected, atol=1e-4)


def read_coco_keypoints_like(data_root: Path, tmp_path: Path):
    """The same persons written as COCO results and read: the clip the folder should give."""
    coco, coco_scores = real_keypoints(data_root, "coco17")
    (tmp_path / "coco.json").write_text(json.dumps(coco_results(coco, coco_scores)))
    return read_coco_keypoints(tmp_path / "coco.json").as_clip()
