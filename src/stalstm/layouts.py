"""Skeleton layouts: joint names, bones and the few joints normalisation needs, as data.

A layout says what the V axis of a clip's (T, M, V, C) array means. Every layout carries

- ``joint_names``: one unique name per joint, in the order the data stores them;
- ``bones``: (parent, child) pairs of 0-based joint indices, as drawn by the device or toolkit
  that defines the layout;
- ``center``: the joint a clip is translated to (NTU presets use the middle of the spine);
- ``up``: a (from, to) pair whose direction is "up" for the rotation presets (base of spine ->
  middle of spine for Kinect skeletons);
- ``left_right``: a (from, to) pair whose direction is "to the person's left" (right shoulder ->
  left shoulder), the second axis of the rotation presets;
- ``num_coords``: 3 for 3D skeletons, 2 for image keypoints.

Built-in layouts are in ``LAYOUTS``; a user's own layout is a JSON file read by
``Layout.from_json`` (see ``get_layout``). Sources of the joint orders and bones:
NTU RGB+D (Shahroudy et al., 2016) and the Kinect v2 SDK; SBU Kinect Interaction (Yun et al.,
2012, OpenNI order); MSR Action3D (Li et al., 2010, its own order); the Kinect v1 SDK
(``NUI_SKELETON_POSITION_INDEX``); UTD-MHAD (Chen et al., 2015,
``Skeleton_joint_order.txt``); COCO keypoints (Lin et al., 2014); MediaPipe Pose
(``POSE_CONNECTIONS``); OpenPose COCO-18 (``POSE_COCO_PAIRS``), BODY_25 and its face (70
points); the 21-point hand of MediaPipe Hands and OpenPose (one numbering); the 20-joint hand of
SFINGE3D (Caputo et al., 2020; palm, then each finger from its base to its tip).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stalstm.errors import DataError

JointPair = tuple[int, int]


class LayoutError(DataError):
    """A layout definition that is inconsistent (unknown joint, bone out of range...)."""

    kind = "bad layout"


@dataclass(frozen=True)
class Layout:
    """One skeleton definition (see the module docstring for the meaning of each field)."""

    name: str
    joint_names: tuple[str, ...]
    bones: tuple[JointPair, ...]
    center: int
    up: JointPair
    left_right: JointPair
    num_coords: int = 3
    description: str = ""

    def __post_init__(self) -> None:
        self.validate()

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    def index(self, joint_name: str) -> int:
        """0-based index of a joint by name."""
        try:
            return self.joint_names.index(joint_name)
        except ValueError:
            raise LayoutError(
                self.name, f"no joint named {joint_name!r}; joints are {list(self.joint_names)}"
            ) from None

    def validate(self) -> None:
        """Raise ``LayoutError`` unless names are unique and every index is in range."""
        where = self.name or "<unnamed layout>"
        if not self.name:
            raise LayoutError(where, "a layout needs a name", field="name")
        if not self.joint_names:
            raise LayoutError(where, "a layout needs at least one joint", field="joint_names")
        seen: set[str] = set()
        for joint in self.joint_names:
            if not isinstance(joint, str) or not joint:
                raise LayoutError(where, f"joint names must be non-empty strings, got {joint!r}")
            if joint in seen:
                raise LayoutError(where, f"joint name {joint!r} appears twice", field="joint_names")
            seen.add(joint)
        count = self.num_joints

        def check_pair(pair: Any, field: str) -> None:
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise LayoutError(where, f"expected a (from, to) pair, got {pair!r}", field=field)
            for joint in pair:
                if not isinstance(joint, int) or not 0 <= joint < count:
                    raise LayoutError(
                        where, f"joint index {joint!r} not in 0..{count - 1}", field=field
                    )
            if pair[0] == pair[1]:
                raise LayoutError(where, f"pair {pair!r} joins a joint to itself", field=field)

        for bone in self.bones:
            check_pair(bone, "bones")
        if len(set(map(frozenset, self.bones))) != len(self.bones):
            raise LayoutError(where, "a bone is listed twice", field="bones")
        if not isinstance(self.center, int) or not 0 <= self.center < count:
            raise LayoutError(
                where, f"center {self.center!r} not in 0..{count - 1}", field="center"
            )
        check_pair(self.up, "up")
        check_pair(self.left_right, "left_right")
        if self.num_coords not in (2, 3):
            raise LayoutError(
                where, f"num_coords must be 2 or 3, got {self.num_coords!r}", field="num_coords"
            )

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form that ``from_dict`` reads back."""
        return {
            "name": self.name,
            "joint_names": list(self.joint_names),
            "bones": [list(bone) for bone in self.bones],
            "center": self.center,
            "up": list(self.up),
            "left_right": list(self.left_right),
            "num_coords": self.num_coords,
            "description": self.description,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "<layout>") -> Layout:
        """Build a layout from a dict; joints in ``bones``/``center``/``up``/``left_right`` may be
        given by index or by name."""
        if not isinstance(data, dict):
            raise LayoutError(where, f"a layout must be a JSON object, got {type(data).__name__}")
        required = ("name", "joint_names", "bones", "center", "up", "left_right")
        missing = [key for key in required if key not in data]
        if missing:
            raise LayoutError(where, f"missing required keys {missing}")
        allowed = {*required, "num_coords", "description"}
        unknown = set(data) - allowed
        if unknown:
            raise LayoutError(where, f"unknown keys {sorted(unknown)}; allowed: {sorted(allowed)}")
        names = data["joint_names"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise LayoutError(where, "joint_names must be a list of strings", field="joint_names")

        def joint(value: Any, field: str) -> int:
            if isinstance(value, str):
                if value not in names:
                    raise LayoutError(where, f"no joint named {value!r}", field=field)
                return names.index(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise LayoutError(
                    where, f"a joint is an index or a name, got {value!r}", field=field
                )
            return value

        def pair(value: Any, field: str) -> JointPair:
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise LayoutError(where, f"expected a [from, to] pair, got {value!r}", field=field)
            return (joint(value[0], field), joint(value[1], field))

        bones_value = data["bones"]
        if not isinstance(bones_value, list):
            raise LayoutError(where, "bones must be a list of [from, to] pairs", field="bones")
        bones = tuple(pair(bone, "bones") for bone in bones_value)
        center = joint(data["center"], "center")
        up = pair(data["up"], "up")
        left_right = pair(data["left_right"], "left_right")
        try:
            return cls(
                name=str(data["name"]),
                joint_names=tuple(names),
                bones=bones,
                center=center,
                up=up,
                left_right=left_right,
                num_coords=data.get("num_coords", 3),
                description=str(data.get("description", "")),
            )
        except LayoutError as error:
            raise LayoutError(where, error.message, field=error.field) from None

    @classmethod
    def from_json(cls, path: str | Path) -> Layout:
        """Read a user layout from a JSON file (keys as in ``to_dict``)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise LayoutError(path, f"cannot read layout file: {error.strerror}") from None
        except UnicodeDecodeError as error:
            line = path.read_bytes().count(b"\n", 0, error.start) + 1
            raise LayoutError(path, f"not UTF-8 text: {error.reason}", line=line) from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise LayoutError(path, f"not valid JSON: {error.msg}", line=error.lineno) from None
        except RecursionError:  # Python's JSON parser recurses once per nested array or object
            raise LayoutError(path, "not a layout: JSON nested too deeply") from None
        return cls.from_dict(data, where=str(path))

    def to_json(self, path: str | Path) -> Path:
        """Write this layout as JSON (readable by ``from_json``)."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        return path


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _bones(text: str, first_index: int = 0) -> tuple[JointPair, ...]:
    """Bones written compactly as ``"a-b c-d ..."`` (1-based where the source numbers so)."""
    pairs = (token.split("-") for token in text.split())
    return tuple((int(a) - first_index, int(b) - first_index) for a, b in pairs)


NTU25 = Layout(
    name="ntu25",
    joint_names=_names(
        """spine_base spine_mid neck head
        shoulder_left elbow_left wrist_left hand_left
        shoulder_right elbow_right wrist_right hand_right
        hip_left knee_left ankle_left foot_left
        hip_right knee_right ankle_right foot_right
        spine_shoulder hand_tip_left thumb_left hand_tip_right thumb_right"""
    ),
    # Kinect v2 SDK bones (BodyBasics sample), 1-based as in the NTU README; a tree.
    bones=_bones(
        """1-2 2-21 21-3 3-4
        21-5 5-6 6-7 7-8 8-22 7-23
        21-9 9-10 10-11 11-12 12-24 11-25
        1-13 13-14 14-15 15-16
        1-17 17-18 18-19 19-20""",
        first_index=1,
    ),
    center=1,  # middle of the spine, the origin of the SGN/AGCN recipes
    up=(0, 1),  # base of spine -> middle of spine
    left_right=(8, 4),  # right shoulder -> left shoulder
    description="NTU RGB+D / Kinect v2, 25 joints, 3D metres",
)

OPENNI15 = Layout(
    name="openni15",
    joint_names=_names(
        """head neck torso
        shoulder_left elbow_left hand_left shoulder_right elbow_right hand_right
        hip_left knee_left foot_left hip_right knee_right foot_right"""
    ),
    bones=_bones("1-0 2-1 1-3 3-4 4-5 1-6 6-7 7-8 2-9 9-10 10-11 2-12 12-13 13-14"),
    center=2,  # torso
    up=(2, 1),  # torso -> neck
    left_right=(6, 3),
    description="OpenNI 15 joints (SBU Kinect Interaction): normalised image x, y and depth z",
)

MSR20 = Layout(
    name="msr20",
    joint_names=_names(
        """shoulder_left shoulder_right neck spine hip_left hip_right hip_center
        elbow_left elbow_right wrist_left wrist_right hand_left hand_right
        knee_left knee_right ankle_left ankle_right foot_left foot_right head"""
    ),
    bones=_bones(
        """7-4 4-3 3-20
        3-1 1-8 8-10 10-12 3-2 2-9 9-11 11-13
        7-5 5-14 14-16 16-18 7-6 6-15 15-17 17-19""",
        first_index=1,
    ),
    center=3,  # spine
    up=(6, 3),  # hip centre -> spine
    left_right=(1, 0),
    description="MSR Action3D, 20 joints in its own order, 3D real-world coordinates",
)

KINECT_V1_20 = Layout(
    name="kinect_v1_20",
    joint_names=_names(
        """hip_center spine shoulder_center head
        shoulder_left elbow_left wrist_left hand_left
        shoulder_right elbow_right wrist_right hand_right
        hip_left knee_left ankle_left foot_left
        hip_right knee_right ankle_right foot_right"""
    ),
    bones=_bones(
        """0-1 1-2 2-3 2-4 4-5 5-6 6-7 2-8 8-9 9-10 10-11
        0-12 12-13 13-14 14-15 0-16 16-17 17-18 18-19"""
    ),
    center=1,
    up=(0, 1),
    left_right=(8, 4),
    description="Kinect v1 SDK, 20 joints (NUI_SKELETON_POSITION_INDEX order), 3D metres",
)

# UTD-MHAD's Skeleton_joint_order.txt: Kinect v1's joints with the trunk listed head first;
# names, bones, centre (spine), up and left-right are kinect_v1_20's, re-indexed.
UTD_MHAD20 = Layout(
    name="utd_mhad20",
    joint_names=_names(
        """head shoulder_center spine hip_center
        shoulder_left elbow_left wrist_left hand_left
        shoulder_right elbow_right wrist_right hand_right
        hip_left knee_left ankle_left foot_left
        hip_right knee_right ankle_right foot_right"""
    ),
    bones=_bones(
        """3-2 2-1 1-0 1-4 4-5 5-6 6-7 1-8 8-9 9-10 10-11
        3-12 12-13 13-14 14-15 3-16 16-17 17-18 18-19"""
    ),
    center=2,  # spine
    up=(3, 2),  # hip centre -> spine
    left_right=(8, 4),  # right shoulder -> left shoulder
    description="UTD-MHAD (Kinect v1), 20 joints in its own order, 3D camera metres",
)

COCO17 = Layout(
    name="coco17",
    joint_names=_names(
        """nose left_eye right_eye left_ear right_ear left_shoulder right_shoulder
        left_elbow right_elbow left_wrist right_wrist left_hip right_hip
        left_knee right_knee left_ankle right_ankle"""
    ),
    # The COCO keypoint "skeleton" field (1-based in the annotation files); has cycles.
    bones=_bones(
        """16-14 14-12 17-15 15-13 12-13 6-12 7-13 6-7 6-8 7-9 8-10 9-11
        2-3 1-2 1-3 2-4 3-5 4-6 5-7""",
        first_index=1,
    ),
    center=0,  # nose, as PYSKL's coco graph (the layout has no torso joint)
    up=(11, 5),  # left hip -> left shoulder
    left_right=(6, 5),
    num_coords=2,
    description="COCO 17 keypoints (HRNet, PYSKL 2D), image pixels",
)

MEDIAPIPE33 = Layout(
    name="mediapipe33",
    joint_names=_names(
        """nose left_eye_inner left_eye left_eye_outer right_eye_inner right_eye
        right_eye_outer left_ear right_ear mouth_left mouth_right
        left_shoulder right_shoulder left_elbow right_elbow left_wrist right_wrist
        left_pinky right_pinky left_index right_index left_thumb right_thumb
        left_hip right_hip left_knee right_knee left_ankle right_ankle
        left_heel right_heel left_foot_index right_foot_index"""
    ),
    # mediapipe.solutions.pose.POSE_CONNECTIONS verbatim: face (0-8), mouth
    # (9-10) and body (11-32) are three separate parts.
    bones=_bones(
        """0-1 1-2 2-3 3-7 0-4 4-5 5-6 6-8 9-10
        11-12 11-13 13-15 15-17 15-19 15-21 17-19 12-14 14-16 16-18 16-20 16-22 18-20
        11-23 12-24 23-24 23-25 24-26 25-27 26-28 27-29 28-30 29-31 30-32 27-31 28-32"""
    ),
    center=0,
    up=(23, 11),  # left hip -> left shoulder
    left_right=(12, 11),
    num_coords=3,
    description="MediaPipe Pose landmarks, 33 joints (x, y image, z relative depth; in pixels "
    "from stalstm pose, z on the scale of x)",
)

OPENPOSE18 = Layout(
    name="openpose18",
    joint_names=_names(
        """nose neck right_shoulder right_elbow right_wrist left_shoulder left_elbow
        left_wrist right_hip right_knee right_ankle left_hip left_knee left_ankle
        right_eye left_eye right_ear left_ear"""
    ),
    # OpenPose POSE_COCO_PAIRS without the two ear-shoulder rendering links: a tree.
    bones=_bones("1-2 1-5 2-3 3-4 5-6 6-7 1-8 8-9 9-10 1-11 11-12 12-13 1-0 0-14 14-16 0-15 15-17"),
    center=1,  # neck
    up=(11, 5),  # left hip -> left shoulder
    left_right=(2, 5),
    num_coords=2,
    description="OpenPose COCO-18 keypoints (as used by ST-GCN's Kinetics skeletons), pixels",
)

HAND20 = Layout(
    name="hand20",
    joint_names=_names(
        """palm thumb_a thumb_b thumb_tip
        index_a index_b index_c index_tip middle_a middle_b middle_c middle_tip
        ring_a ring_b ring_c ring_tip pinky_a pinky_b pinky_c pinky_tip"""
    ),
    # each finger a chain from the palm to its tip (the order of the SFINGE3D files)
    bones=_bones(
        """0-1 1-2 2-3 0-4 4-5 5-6 6-7 0-8 8-9 9-10 10-11
        0-12 12-13 13-14 14-15 0-16 16-17 17-18 18-19"""
    ),
    center=0,  # palm
    up=(0, 8),  # palm -> base of the middle finger: along the hand
    left_right=(16, 4),  # base of the little finger -> base of the index: across the palm
    description="one hand of a Leap Motion style tracker (SFINGE3D), 20 joints: palm, thumb "
    "(3), index, middle, ring and little finger (4 each), 3D metres",
)

# OpenPose BODY_25 (its default model); names as openpose18's, so that frames of it feed an
# openpose18 or coco17 model (``joint_mapping``).
OPENPOSE_BODY25 = Layout(
    name="openpose_body25",
    joint_names=_names(
        """nose neck right_shoulder right_elbow right_wrist left_shoulder left_elbow
        left_wrist mid_hip right_hip right_knee right_ankle left_hip left_knee left_ankle
        right_eye left_eye right_ear left_ear left_big_toe left_small_toe left_heel
        right_big_toe right_small_toe right_heel"""
    ),
    # OpenPose POSE_BODY_25_PAIRS_RENDER without the two ear-shoulder links: a tree.
    bones=_bones(
        """1-8 1-2 1-5 2-3 3-4 5-6 6-7 8-9 9-10 10-11 8-12 12-13 13-14 1-0 0-15 15-17
        0-16 16-18 14-19 19-20 14-21 11-22 22-23 11-24"""
    ),
    center=8,  # mid hip
    up=(8, 1),  # mid hip -> neck
    left_right=(2, 5),
    num_coords=2,
    description="OpenPose BODY_25 keypoints (its default body model), pixels",
)

# One hand as MediaPipe Hands and OpenPose number it (the same order): the wrist, then each
# finger from its base to its tip.
HAND21 = Layout(
    name="hand21",
    joint_names=_names(
        """wrist thumb_cmc thumb_mcp thumb_ip thumb_tip
        index_mcp index_pip index_dip index_tip middle_mcp middle_pip middle_dip middle_tip
        ring_mcp ring_pip ring_dip ring_tip pinky_mcp pinky_pip pinky_dip pinky_tip"""
    ),
    # each finger a chain from the wrist (OpenPose's hand pairs; MediaPipe's HAND_CONNECTIONS
    # join the finger bases across the palm instead)
    bones=_bones(
        """0-1 1-2 2-3 3-4 0-5 5-6 6-7 7-8 0-9 9-10 10-11 11-12
        0-13 13-14 14-15 15-16 0-17 17-18 18-19 19-20"""
    ),
    center=0,  # wrist
    up=(0, 9),  # wrist -> base of the middle finger: along the hand
    left_right=(17, 5),  # base of the little finger -> base of the index: across the palm
    num_coords=3,
    description="one hand, 21 keypoints as MediaPipe Hands (x, y pixels, z relative depth) and "
    "OpenPose (x, y pixels) number them",
)

# OpenPose's 70 face keypoints (the 68 of iBUG 300-W and the two pupils). Names say the
# person's side; paired points are numbered from the outside in on both sides, so that the
# left-right mirror of the augmentation swaps true twins.
OPENPOSE_FACE70 = Layout(
    name="openpose_face70",
    joint_names=_names(
        """right_jaw_0 right_jaw_1 right_jaw_2 right_jaw_3 right_jaw_4 right_jaw_5 right_jaw_6
        right_jaw_7 chin left_jaw_7 left_jaw_6 left_jaw_5 left_jaw_4 left_jaw_3 left_jaw_2
        left_jaw_1 left_jaw_0
        right_brow_0 right_brow_1 right_brow_2 right_brow_3 right_brow_4
        left_brow_4 left_brow_3 left_brow_2 left_brow_1 left_brow_0
        nose_bridge_0 nose_bridge_1 nose_bridge_2 nose_bridge_3
        right_nostril_1 right_nostril_0 nose_base left_nostril_0 left_nostril_1
        right_eye_0 right_eye_1 right_eye_2 right_eye_3 right_eye_4 right_eye_5
        left_eye_3 left_eye_2 left_eye_1 left_eye_0 left_eye_5 left_eye_4
        right_mouth_corner right_upper_lip_1 right_upper_lip_0 upper_lip
        left_upper_lip_0 left_upper_lip_1 left_mouth_corner left_lower_lip_1
        left_lower_lip_0 lower_lip right_lower_lip_0 right_lower_lip_1
        right_inner_corner right_inner_upper inner_upper left_inner_upper left_inner_corner
        left_inner_lower inner_lower right_inner_lower right_pupil left_pupil"""
    ),
    # the outline of each part (POSE_FACE_PAIRS_RENDER): jaw, brows, nose, eyes and lips apart
    bones=_bones(
        """0-1 1-2 2-3 3-4 4-5 5-6 6-7 7-8 8-9 9-10 10-11 11-12 12-13 13-14 14-15 15-16
        17-18 18-19 19-20 20-21 22-23 23-24 24-25 25-26 27-28 28-29 29-30
        31-32 32-33 33-34 34-35 36-37 37-38 38-39 39-40 40-41 41-36
        42-43 43-44 44-45 45-46 46-47 47-42
        48-49 49-50 50-51 51-52 52-53 53-54 54-55 55-56 56-57 57-58 58-59 59-48
        60-61 61-62 62-63 63-64 64-65 65-66 66-67 67-60"""
    ),
    center=30,  # the tip of the nose
    up=(8, 27),  # chin -> top of the nose bridge
    left_right=(36, 45),  # outer corner of the right eye -> of the left eye
    num_coords=2,
    description="OpenPose face, 70 keypoints (iBUG 68 and the pupils), pixels",
)

LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        NTU25,
        OPENNI15,
        MSR20,
        KINECT_V1_20,
        UTD_MHAD20,
        COCO17,
        MEDIAPIPE33,
        OPENPOSE18,
        HAND20,
        OPENPOSE_BODY25,
        HAND21,
        OPENPOSE_FACE70,
    )
}


def get_layout(name_or_path: str | Path | Layout) -> Layout:
    """A built-in layout by name (see ``LAYOUTS``), or a user layout from a ``.json`` file."""
    if isinstance(name_or_path, Layout):
        return name_or_path
    key = str(name_or_path)
    if key in LAYOUTS:
        return LAYOUTS[key]
    if key.endswith(".json") or Path(key).is_file():
        return Layout.from_json(key)
    raise LayoutError(
        key, f"unknown layout; built-in layouts are {sorted(LAYOUTS)}, or give a .json file"
    )


def joint_mapping(source: Layout, target: Layout) -> tuple[int, ...] | None:
    """The joints of ``source`` that make up ``target``, by name: for each joint of ``target``
    the index of the ``source`` joint of the same name, or None when ``source`` lacks one. So
    frames of ``mediapipe33`` or ``openpose_body25`` feed a ``coco17`` model (the same named
    joints picked out), and a user's JSON layout that names its joints as a built-in one gets
    the same."""
    if source.name == target.name and source.joint_names == target.joint_names:
        return tuple(range(source.num_joints))
    index = {name: position for position, name in enumerate(source.joint_names)}
    if not all(name in index for name in target.joint_names):
        return None
    return tuple(index[name] for name in target.joint_names)
