"""The readers of pose estimators' files (OpenPose, MMPose, COCO keypoint results, the pose
step's own) on files written as each estimator's documentation shows, from real 2D keypoints
(``helpers.pose_files``): identities tracked although the estimators list persons in any
order, low-score joints filled with their last seen value, the same frames read alike from
every format, and bad files refused with typed errors naming the file and the frame."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers.pose_files import (
    coco_results,
    mmpose_demo,
    mmpose_instances,
    mmpose_video,
    real_keypoints,
    write_openpose,
)

from stalstm.errors import (
    DataError,
    EmptyFileError,
    JointCountError,
    LayoutMismatchError,
    NonFiniteError,
    TruncatedFileError,
)
from stalstm.frames import Frame, PersonSettings
from stalstm.readers import (
    read_clip,
    read_coco_keypoints,
    read_keypoints,
    read_mmpose,
    read_openpose,
    read_pose_step,
    read_stream,
    read_stream_folder,
)
from stalstm.readers.pose_step import sidecar_path, write_pose_step

THRESHOLD = 0.5  # above Kinect's inferred joints (0.4): they count as missing here


def expected_fill(joints: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Per person, each joint scored below the threshold holds its last value scored at or
    above it (zeros before): written out frame by frame, independently of the reader."""
    filled = np.zeros_like(joints)
    last = np.zeros_like(joints[0])
    for frame in range(len(joints)):
        seen = scores[frame] >= THRESHOLD
        last = np.where(seen[..., None], joints[frame], last)
        filled[frame] = last
    return filled


def slots_of_truth(stream_joints: np.ndarray, truth: np.ndarray, scores: np.ndarray) -> list[int]:
    """For each slot of a read stream, the true person whose seen joints it carries on every
    frame (asserting there is exactly one)."""
    order = []
    for slot in range(stream_joints.shape[1]):
        matches = [
            person for person in range(truth.shape[1])
            if np.allclose(
                stream_joints[:, slot][scores[:, person] >= THRESHOLD],
                truth[:, person][scores[:, person] >= THRESHOLD], atol=2e-3,
            )
        ]  # fmt: skip
        assert len(matches) == 1, (slot, matches)
        order.append(matches[0])
    return order


def test_openpose_folder_tracks_persons_and_fills_low_scores(data_root: Path, tmp_path: Path):
    joints, scores = real_keypoints(data_root, "openpose_body25")
    write_openpose(tmp_path / "json", "take", joints, scores)
    stream = read_openpose(tmp_path / "json", settings=PersonSettings(score_threshold=THRESHOLD))
    assert (stream.name, stream.layout, stream.joints.shape) == ("take", "openpose_body25",
                                                                 (74, 2, 25, 2))  # fmt: skip
    order = slots_of_truth(stream.joints, joints, scores)
    assert sorted(order) == [0, 1]
    truth = np.round(joints[:, order], 3)
    np.testing.assert_allclose(stream.joints, expected_fill(truth, scores[:, order]), atol=2e-3)
    np.testing.assert_allclose(stream.extras["scores"], scores[:, order], atol=1e-3)
    assert (scores < THRESHOLD).any() and (scores >= THRESHOLD).any()  # both cases occur
    # the default threshold (0.3) keeps the inferred joints as they are
    default = read_openpose(tmp_path / "json")
    np.testing.assert_allclose(default.joints, expected_fill(truth, scores[:, order] + 0.1),
                               atol=2e-3)  # fmt: skip
    # the same folder as a clip, and as COCO 17 joints picked by name
    assert read_clip(tmp_path / "json").joints.shape == (74, 2, 25, 2)
    assert read_keypoints(tmp_path / "json", "coco17").layout == "coco17"


def test_the_same_frames_read_alike_from_every_format(data_root: Path, tmp_path: Path):
    body25, body_scores = real_keypoints(data_root, "openpose_body25")
    coco, coco_scores = real_keypoints(data_root, "coco17")
    write_openpose(tmp_path / "openpose", "take", body25, body_scores)
    (tmp_path / "video.json").write_text(json.dumps(mmpose_video(coco, coco_scores)))
    (tmp_path / "results_take.json").write_text(json.dumps(mmpose_demo(coco, coco_scores)))
    (tmp_path / "coco.json").write_text(json.dumps(coco_results(coco, coco_scores)))
    streams = [
        read_keypoints(tmp_path / "openpose", "coco17"),  # BODY_25, its COCO joints by name
        read_mmpose(tmp_path / "video.json"),
        read_mmpose(tmp_path / "results_take.json"),
        read_coco_keypoints(tmp_path / "coco.json"),
        read_stream(tmp_path / "coco.json"),
    ]
    for stream in streams:
        assert stream.layout == "coco17"
        np.testing.assert_allclose(stream.joints, streams[-1].joints, atol=2e-3)
        np.testing.assert_allclose(stream.extras["scores"], streams[-1].extras["scores"],
                                   atol=1e-3)  # fmt: skip
    assert streams[2].extras["frame_ids"][0] == 1 and streams[1].extras["frame_ids"][0] == 0
    # an MMPose image: one frame
    (tmp_path / "image.json").write_text(json.dumps(mmpose_instances(coco, coco_scores, 5)))
    assert read_mmpose(tmp_path / "image.json").joints.shape == (1, 2, 17, 2)


def test_coco_results_gaps_are_frames_with_nobody(data_root: Path, tmp_path: Path):
    joints, scores = real_keypoints(data_root, "coco17")
    entries = [e for e in coco_results(joints, scores) if e["image_id"] not in (11, 12)]
    (tmp_path / "gaps.json").write_text(json.dumps(entries))
    stream = read_coco_keypoints(tmp_path / "gaps.json")
    assert stream.num_frames == 74  # ids 1..74, 11 and 12 without detections
    assert stream.extras["image_ids"].tolist() == list(range(1, 75))
    assert (stream.extras["scores"][10:12] == 0).all()
    # the persons hold their last pose through the two frames (max_missing is 10)
    np.testing.assert_array_equal(stream.joints[10], stream.joints[9])
    far = [dict(entries[0], image_id=1000), *entries]
    (tmp_path / "far.json").write_text(json.dumps(far))
    with pytest.raises(DataError, match="image ids jump from 74 to 1000"):
        read_coco_keypoints(tmp_path / "far.json")


def test_hands_face_and_3d_keys_of_openpose(tmp_path: Path) -> None:
    generator = np.random.default_rng(0)
    hand = generator.uniform(100, 200, size=(6, 1, 21, 2)).astype(np.float32)
    hand_scores = np.full((6, 1, 21), 0.8, np.float32)
    write_openpose(tmp_path / "hands", "clip", hand, hand_scores, part="hand_right")
    stream = read_openpose(tmp_path / "hands", part="hands")
    assert (stream.layout, stream.joints.shape) == ("hand21", (6, 1, 21, 2))
    face = generator.uniform(100, 200, size=(3, 1, 70, 2)).astype(np.float32)
    write_openpose(tmp_path / "face", "clip", face, np.ones((3, 1, 70), np.float32), "face")
    assert read_openpose(tmp_path / "face", part="face").layout == "openpose_face70"
    # 3D (x, y, z, c) and a file of a version before 1.2 (keys without _2d)
    people = [{"pose_keypoints_3d": [1.0, 2.0, 3.0, 0.9] * 25, "pose_keypoints": []}]
    (tmp_path / "x_000000000000_keypoints.json").write_text(json.dumps({"people": people}))
    stream = read_openpose(tmp_path / "x_000000000000_keypoints.json", dimensions=3)
    assert stream.joints.shape == (1, 1, 25, 3) and stream.layout == "openpose_body25"
    old = [{"pose_keypoints": [5.0, 6.0, 0.7] * 18}]
    (tmp_path / "old_keypoints.json").write_text(json.dumps({"version": 1.0, "people": old}))
    assert read_openpose(tmp_path / "old_keypoints.json").layout == "openpose18"


def test_pose_step_files_read_with_scores_times_and_in_folders(data_root: Path, tmp_path: Path):
    coco, coco_scores = real_keypoints(data_root, "coco17")
    coco_scores[10:20, :, 9] = 0.1  # a left wrist the estimator is unsure of for ten frames
    frames = [
        Frame(coco[t][coco_scores[t].max(axis=1) > 0], coco_scores[t][coco_scores[t].max(axis=1)
              > 0], t / 30)
        for t in range(len(coco))
    ]  # fmt: skip
    written = write_pose_step(
        tmp_path / "streams" / "take", frames, "coco17", estimator="test", source="take.mp4",
        image_size=(1920, 1080),
    )  # fmt: skip
    assert written.name == "take.npy" and sidecar_path(written).is_file()
    stream = read_pose_step(written)
    (tmp_path / "coco.json").write_text(json.dumps(coco_results(coco, coco_scores)))
    np.testing.assert_allclose(stream.joints, read_coco_keypoints(tmp_path / "coco.json").joints,
                               atol=2e-3)  # fmt: skip
    np.testing.assert_allclose(stream.extras["times"], np.arange(74) / 30, atol=1e-6)
    assert read_stream(written).layout == "coco17"
    assert read_clip(sidecar_path(written)).joints.shape == stream.joints.shape
    # in a stream folder with segments.csv: read with scores applied, segments attached
    (tmp_path / "streams" / "segments.csv").write_text("stream,label,start,end\ntake,wave,5,20\n")
    folder = read_stream_folder(tmp_path / "streams", "coco17")
    assert [s.name for s in folder.streams] == ["take"] and folder.class_names == ["wave"]
    np.testing.assert_array_equal(folder.streams[0].joints, stream.joints)
    assert folder.streams[0].segments[0].start == 5
    raw = np.load(written)  # the .npy alone: raw detections, low scores not filled
    assert not np.array_equal(raw[10:20, :, 9], stream.joints[10:20, :, 9])
    np.testing.assert_array_equal(stream.joints[10:20, :, 9], stream.joints[[9] * 10, :, 9])


def test_bad_pose_files_are_typed_errors_naming_file_and_frame(data_root: Path, tmp_path: Path):
    joints, scores = real_keypoints(data_root, "openpose_body25")
    files = write_openpose(tmp_path / "gap", "take", joints[:5], scores[:5])
    files[2].unlink()
    with pytest.raises(DataError, match="frame 3 follows frame 1"):
        read_openpose(tmp_path / "gap")
    files = write_openpose(tmp_path / "bad", "take", joints[:4], scores[:4])
    text = files[1].read_text()
    files[1].write_text(text[: len(text) // 2])
    with pytest.raises(TruncatedFileError, match=files[1].name):
        read_openpose(tmp_path / "bad")
    files[1].write_text(text.replace("0.9,", "NaN,", 1))
    with pytest.raises(NonFiniteError, match=files[1].name) as raised:
        read_openpose(tmp_path / "bad")
    assert raised.value.line == 1
    files[1].write_text(json.dumps({"people": [{"pose_keypoints_2d": [1.0, 2.0] * 30}]}))
    with pytest.raises(JointCountError, match=files[1].name):
        read_openpose(tmp_path / "bad")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmptyFileError):
        read_openpose(tmp_path / "empty")

    coco, coco_scores = real_keypoints(data_root, "coco17")
    video = mmpose_video(coco[:6], coco_scores[:6])
    del video[3]["instances"][0]["keypoint_scores"]
    (tmp_path / "m.json").write_text(json.dumps(video))
    with pytest.raises(DataError, match=r"m\.json, frame 3.*keypoint_scores"):
        read_mmpose(tmp_path / "m.json")
    video = mmpose_video(coco[:6], coco_scores[:6])
    video[4]["frame_id"] = 9
    (tmp_path / "m.json").write_text(json.dumps(video))
    with pytest.raises(DataError, match="frame_id 9 follows 3"):
        read_mmpose(tmp_path / "m.json")
    wide = mmpose_video(np.zeros((2, 1, 26, 2)) + 5, np.ones((2, 1, 26)))
    (tmp_path / "halpe.json").write_text(json.dumps(wide))
    with pytest.raises(LayoutMismatchError, match="26 keypoints of 2 coordinates: give their"):
        read_mmpose(tmp_path / "halpe.json")
    entries = coco_results(coco[:3], coco_scores[:3])
    entries[2]["keypoints"] = entries[2]["keypoints"][:-3]
    (tmp_path / "c.json").write_text(json.dumps(entries))
    with pytest.raises(JointCountError, match=r"c\.json, entry 2.*48 keypoint values"):
        read_coco_keypoints(tmp_path / "c.json")
    (tmp_path / "other.json").write_text(json.dumps({"something": 1}))
    with pytest.raises(DataError, match="not a keypoint file"):
        read_keypoints(tmp_path / "other.json")

    frames = [Frame(coco[t, :1], coco_scores[t, :1], t / 30) for t in range(4)]
    written = write_pose_step(tmp_path / "p", frames, "coco17", estimator="t", source="s",
                              image_size=(1, 1))  # fmt: skip
    description = json.loads(sidecar_path(written).read_text())
    for change, message in (
        ({"times": [0, 1, 2]}, "3 times for 4 frames"),
        ({"times": [0, 2, 1, 3]}, "frame 2.*time goes back"),
        ({"layout": "nope"}, "not a built-in layout"),
        ({"scores": [[[2.0] * 17]] * 4}, "frame 0.*outside"),
        ({"format_version": 7}, "version 1"),
    ):
        sidecar_path(written).write_text(json.dumps(description | change))
        with pytest.raises(DataError, match=message) as raised:
            read_pose_step(written)
        assert str(sidecar_path(written)) in str(raised.value)
    sidecar_path(written).write_text(json.dumps(description))
    written.unlink()
    with pytest.raises(DataError, match="file not found"):
        read_pose_step(sidecar_path(written))
