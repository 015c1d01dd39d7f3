"""Pose estimators' files written exactly as their documentation shows, from real 2D keypoints:
the colour-image coordinates (pixels of the 1920 x 1080 camera) of the Kinect joints of real NTU
RGB+D recordings, picked into COCO 17 and OpenPose BODY_25 order by joint (the face points of
COCO and BODY_25 are placed around NTU's head joint), with a score per joint from Kinect's own
tracking state (tracked 0.9, inferred 0.4, not tracked 0: a missing joint). The writers follow:

- OpenPose ``doc/02_output.md``: one ``<video>_<frame:012d>_keypoints.json`` a frame,
  ``{"version": 1.3, "people": [{"person_id": [-1], "pose_keypoints_2d": [x, y, c, ...],
  "face_keypoints_2d": [], "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": [],
  "pose_keypoints_3d": [], ...}]}``;
- MMPose's inferencer (``pred_out_dir``, a video: ``[{"frame_id": 0, "instances": [...]}]``;
  an image: the instances) and ``topdown_demo_with_mmdet.py --save-predictions``
  (``{"meta_info": ..., "instance_info": [{"frame_id": 1, ...}]}``), an instance as
  ``split_instances`` makes it;
- COCO's results format: ``[{"image_id", "category_id": 1, "keypoints": [x, y, v, ...],
  "score"}]``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from stalstm.readers import read_ntu_skeleton

NTU_SAMPLE = "ntu_rgbd_samples/S001C001P001R001A050.skeleton"  # two persons, 74 frames
HEAD = 3
# NTU joint (0-based) of each COCO 17 joint; the face points sit around the head
NTU_OF_COCO17 = (HEAD, HEAD, HEAD, HEAD, HEAD, 4, 8, 5, 9, 6, 10, 12, 16, 13, 17, 14, 18)
FACE_OFFSETS_COCO17 = {0: (0, 12), 1: (8, 0), 2: (-8, 0), 3: (18, 4), 4: (-18, 4)}
NTU_OF_BODY25 = (
    HEAD, 20, 8, 9, 10, 4, 5, 6, 0, 16, 17, 18, 12, 13, 14, HEAD, HEAD, HEAD, HEAD,
    15, 15, 14, 19, 19, 18,
)  # fmt: skip
FACE_OFFSETS_BODY25 = {0: (0, 12), 15: (-8, 0), 16: (8, 0), 17: (-18, 4), 18: (18, 4)}
SCORE_OF_TRACKING_STATE = np.array([0.0, 0.4, 0.9], np.float32)


def real_keypoints(data_root: Path, layout: str = "coco17") -> tuple[np.ndarray, np.ndarray]:
    """(T, 2, V, 2) pixels and (T, 2, V) scores of the two persons of an NTU recording in
    ``coco17`` or ``openpose_body25`` order (a person absent from a frame has score 0)."""
    clip = read_ntu_skeleton(data_root / NTU_SAMPLE)
    colour = clip.extras["color_xy"].astype(np.float32)  # (T, M, 25, 2)
    state = clip.extras["tracking_state"].astype(np.int64)  # (T, M, 25)
    present = clip.extras["present"].astype(bool)  # (T, M)
    picks, offsets = (
        (NTU_OF_COCO17, FACE_OFFSETS_COCO17) if layout == "coco17"
        else (NTU_OF_BODY25, FACE_OFFSETS_BODY25)
    )  # fmt: skip
    joints = colour[:, :, list(picks)].copy()
    for joint, (dx, dy) in offsets.items():
        joints[:, :, joint] += np.array([dx, -dy], np.float32)
    scores = SCORE_OF_TRACKING_STATE[state[:, :, list(picks)]]
    scores = np.where(present[..., None], scores, 0.0).astype(np.float32)
    return joints, scores


def detections(joints: np.ndarray, scores: np.ndarray, frame: int) -> list[int]:
    """The persons detected in a frame, in the order an estimator lists them: reversed on odd
    frames, so that a reader must track identities rather than trust the order."""
    found = [person for person in range(joints.shape[1]) if scores[frame, person].max() > 0]
    return found[::-1] if frame % 2 else found


def _triples(points: np.ndarray, scores: np.ndarray) -> list[float]:
    """x, y, c per keypoint; OpenPose writes a keypoint it did not find as 0, 0, 0."""
    rows = np.concatenate([points, scores[:, None]], axis=1)
    rows[scores == 0] = 0.0
    return [round(float(value), 3) for value in rows.reshape(-1)]


def openpose_document(
    joints: np.ndarray, scores: np.ndarray, frame: int, part: str = "pose"
) -> dict[str, Any]:
    """One OpenPose 1.3 frame file's content, the keypoints under ``<part>_keypoints_2d``
    (``pose``, ``hand_right``, ``face``...)."""
    keys = ("pose", "face", "hand_left", "hand_right")
    people = []
    for person in detections(joints, scores, frame):
        entry: dict[str, Any] = {"person_id": [-1]}
        for key in keys:
            entry[f"{key}_keypoints_2d"] = []
        entry[f"{part}_keypoints_2d"] = _triples(joints[frame, person], scores[frame, person])
        for key in keys:
            entry[f"{key}_keypoints_3d"] = []
        people.append(entry)
    return {"version": 1.3, "people": people}


def write_openpose(
    folder: Path, video: str, joints: np.ndarray, scores: np.ndarray, part: str = "pose"
) -> list[Path]:
    """One OpenPose frame file a frame (``openpose_document``)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for frame in range(len(joints)):
        path = folder / f"{video}_{frame:012d}_keypoints.json"
        path.write_text(json.dumps(openpose_document(joints, scores, frame, part)))
        written.append(path)
    return written


def mmpose_instances(joints: np.ndarray, scores: np.ndarray, frame: int) -> list[dict]:
    instances = []
    for person in detections(joints, scores, frame):
        points = joints[frame, person]
        box = [*points.min(axis=0).tolist(), *points.max(axis=0).tolist()]
        instances.append({
            "keypoints": np.round(points, 3).tolist(),
            "keypoint_scores": np.round(scores[frame, person], 4).tolist(),
            "bbox": [box], "bbox_score": 0.97,
        })  # fmt: skip
    return instances


def mmpose_video(joints: np.ndarray, scores: np.ndarray) -> list[dict]:
    """What ``MMPoseInferencer(...)(video, pred_out_dir=...)`` writes."""
    return [
        {"frame_id": frame, "instances": mmpose_instances(joints, scores, frame)}
        for frame in range(len(joints))
    ]


def mmpose_demo(joints: np.ndarray, scores: np.ndarray) -> dict:
    """What ``topdown_demo_with_mmdet.py --save-predictions`` writes for a video."""
    meta = {"dataset_name": "coco", "num_keypoints": joints.shape[2], "keypoint_id2name": {}}
    frames = [
        {"frame_id": frame + 1, "instances": mmpose_instances(joints, scores, frame)}
        for frame in range(len(joints))
    ]
    return {"meta_info": meta, "instance_info": frames}


def coco_results(joints: np.ndarray, scores: np.ndarray, first_id: int = 1) -> list[dict]:
    """COCO keypoint results, image ``first_id + t`` for frame t (frames without a detection
    have no entry)."""
    entries = []
    for frame in range(len(joints)):
        for person in detections(joints, scores, frame):
            entries.append({
                "image_id": first_id + frame, "category_id": 1,
                "keypoints": _triples(joints[frame, person], scores[frame, person]),
                "score": round(float(scores[frame, person].mean()), 4),
            })  # fmt: skip
    return entries
