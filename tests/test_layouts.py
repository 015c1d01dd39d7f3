"""Layouts: every built-in layout is consistent, and user layouts are validated."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from stalstm.layouts import LAYOUTS, Layout, LayoutError, get_layout, joint_mapping
from stalstm.transforms.augmentation import left_right_permutation

EXPECTED_JOINTS = {
    "ntu25": 25,
    "openni15": 15,
    "msr20": 20,
    "kinect_v1_20": 20,
    "utd_mhad20": 20,
    "coco17": 17,
    "mediapipe33": 33,
    "openpose18": 18,
    "hand20": 20,
    "openpose_body25": 25,
    "hand21": 21,
    "openpose_face70": 70,
}
TREES = {
    "ntu25", "openni15", "msr20", "kinect_v1_20", "utd_mhad20", "openpose18", "hand20",
    "openpose_body25", "hand21",
}  # fmt: skip


def components(layout: Layout) -> list[set[int]]:
    """Connected components of the bone graph (plain union-find, independent of the code)."""
    parent = list(range(layout.num_joints))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for a, b in layout.bones:
        parent[find(a)] = find(b)
    groups: dict[int, set[int]] = {}
    for joint in range(layout.num_joints):
        groups.setdefault(find(joint), set()).add(joint)
    return list(groups.values())


def test_registry_has_every_layout_with_its_joint_count() -> None:
    assert {name: layout.num_joints for name, layout in LAYOUTS.items()} == EXPECTED_JOINTS


@pytest.mark.parametrize("name", sorted(EXPECTED_JOINTS))
def test_bones_in_range_and_connected(name: str) -> None:
    layout = get_layout(name)
    assert all(0 <= j < layout.num_joints for bone in layout.bones for j in bone)
    parts = components(layout)
    if name == "mediapipe33":  # POSE_CONNECTIONS draws face, mouth and body apart
        face, mouth = list(range(9)), [9, 10]
        assert sorted(map(sorted, parts), key=len) == [mouth, face, list(range(11, 33))]
    elif name == "openpose_face70":  # jaw, brows, nose, eyes, lips, pupils
        assert sorted(len(part) for part in parts) == [1, 1, 4, 5, 5, 5, 6, 6, 8, 12, 17]
    else:
        assert len(parts) == 1
    if name in TREES:
        assert len(layout.bones) == layout.num_joints - 1


def test_axes_name_the_right_joints() -> None:
    ntu = get_layout("ntu25")
    assert ntu.joint_names[ntu.center] == "spine_mid"
    assert [ntu.joint_names[j] for j in ntu.up] == ["spine_base", "spine_mid"]
    assert [ntu.joint_names[j] for j in ntu.left_right] == ["shoulder_right", "shoulder_left"]
    sbu = get_layout("openni15")
    assert sbu.joint_names[:3] == ("head", "neck", "torso")
    assert [sbu.joint_names[j] for j in sbu.left_right] == ["shoulder_right", "shoulder_left"]
    msr = get_layout("msr20")
    assert (msr.joint_names[0], msr.joint_names[6], msr.joint_names[19]) == (
        "shoulder_left",
        "hip_center",
        "head",
    )
    hand = get_layout("hand20")
    assert [hand.joint_names[j] for j in (hand.center, *hand.up)] == ["palm", "palm", "middle_a"]
    # a hand has no left and right joints: its second axis runs across the palm
    assert [hand.joint_names[j] for j in hand.left_right] == ["pinky_a", "index_a"]
    assert [hand.joint_names[j] for j in (3, 7, 11, 15, 19)] == [
        f"{finger}_tip" for finger in ("thumb", "index", "middle", "ring", "pinky")
    ]
    hand21 = get_layout("hand21")
    assert [hand21.joint_names[j] for j in (hand21.center, *hand21.up)] == [
        "wrist", "wrist", "middle_mcp",
    ]  # fmt: skip
    assert [hand21.joint_names[j] for j in (4, 8, 12, 16, 20)] == [
        f"{finger}_tip" for finger in ("thumb", "index", "middle", "ring", "pinky")
    ]
    face = get_layout("openpose_face70")
    assert [face.joint_names[j] for j in (8, 30, 36, 45, 68, 69)] == [
        "chin", "nose_bridge_3", "right_eye_0", "left_eye_0", "right_pupil", "left_pupil",
    ]  # fmt: skip
    for layout in LAYOUTS.values():
        if layout in (hand, hand21):
            continue
        right, left = (layout.joint_names[j] for j in layout.left_right)
        assert "right" in right and "left" in left, layout.name


def test_utd_mhad_is_kinect_v1_with_the_data_sets_joint_order(data_root: Path) -> None:
    utd, kinect = get_layout("utd_mhad20"), get_layout("kinect_v1_20")
    listed = (data_root / "utd_mhad_skeleton" / "Skeleton_joint_order.txt").read_text()
    # "1. head;" ... "20. right_foot;": the file's names, spelt as the layouts spell them
    order = re.findall(r"^\d+\. (\w+);", listed, flags=re.MULTILINE)
    renamed = [re.sub(r"^(left|right)_(\w+)$", r"\2_\1", name) for name in order]
    assert list(utd.joint_names) == renamed and sorted(renamed) == sorted(kinect.joint_names)

    def named(layout: Layout, pairs) -> set[frozenset[str]]:
        return {frozenset(layout.joint_names[j] for j in pair) for pair in pairs}

    assert named(utd, utd.bones) == named(kinect, kinect.bones)
    for field in ("up", "left_right"):
        assert [utd.joint_names[j] for j in getattr(utd, field)] == [
            kinect.joint_names[j] for j in getattr(kinect, field)
        ]
    assert utd.joint_names[utd.center] == kinect.joint_names[kinect.center] == "spine"
    mirrored = [utd.joint_names[j] for j in left_right_permutation("utd_mhad20")]
    assert mirrored[:4] == ["head", "shoulder_center", "spine", "hip_center"]
    assert mirrored[4:12] == list(utd.joint_names[8:12] + utd.joint_names[4:8])
    assert mirrored[12:] == list(utd.joint_names[16:] + utd.joint_names[12:16])


def test_json_round_trip_and_names_allowed(tmp_path: Path) -> None:
    path = get_layout("coco17").to_json(tmp_path / "coco.json")
    assert get_layout(path) == get_layout("coco17")
    custom = {
        "name": "stick3",
        "joint_names": ["hip", "neck", "head"],
        "bones": [["hip", "neck"], [1, 2]],
        "center": "hip",
        "up": ["hip", "neck"],
        "left_right": [0, 2],
        "num_coords": 2,
    }
    (tmp_path / "stick.json").write_text(json.dumps(custom))
    layout = get_layout(str(tmp_path / "stick.json"))
    assert layout.bones == ((0, 1), (1, 2)) and layout.num_coords == 2


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bones": [[0, 7]]}, "not in 0..2"),
        ({"joint_names": ["a", "a", "b"]}, "appears twice"),
        ({"center": "tail"}, "no joint named 'tail'"),
        ({"num_coords": 4}, "num_coords"),
        ({"colour": "red"}, "unknown keys"),
    ],
)
def test_bad_json_layout_is_refused(tmp_path: Path, change: dict, message: str) -> None:
    data = {
        "name": "bad",
        "joint_names": ["a", "b", "c"],
        "bones": [[0, 1]],
        "center": 0,
        "up": [0, 1],
        "left_right": [1, 2],
        **change,
    }
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(LayoutError, match=message) as caught:
        get_layout(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message", "line"),
    [
        (b'{\n  "name": "\xff"\n}', "not UTF-8", 2),  # was a bare UnicodeDecodeError
        (b'{"name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply", None),
    ],
)
def test_unreadable_json_layout_is_a_layout_error(
    tmp_path: Path, content: bytes, message: str, line: int | None
) -> None:
    # both found by the fuzz campaign (the second was a RecursionError from the JSON parser)
    path = tmp_path / "layout.json"
    path.write_bytes(content)
    with pytest.raises(LayoutError, match=message) as caught:
        get_layout(path)
    assert caught.value.line == line and str(path) in str(caught.value)


def test_unknown_layout_name() -> None:
    with pytest.raises(LayoutError, match="built-in layouts"):
        get_layout("kinect99")


def test_joint_mapping_picks_the_same_named_joints() -> None:
    coco = get_layout("coco17")
    for source in ("mediapipe33", "openpose_body25", "openpose18", "coco17"):
        layout = get_layout(source)
        mapping = joint_mapping(layout, coco)
        assert mapping is not None, source
        assert [layout.joint_names[j] for j in mapping] == list(coco.joint_names)
    # BODY_25 is COCO-18 plus the mid hip and the feet
    assert joint_mapping(get_layout("openpose_body25"), get_layout("openpose18")) == (
        0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
    )  # fmt: skip
    assert joint_mapping(get_layout("mediapipe33"), get_layout("openpose18")) is None  # no neck
    assert joint_mapping(get_layout("hand21"), get_layout("hand20")) is None
