"""Training augmentation: switchable from a dict, reproducible from a generator, and never
moves an absent person away from zero."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stalstm.layouts import get_layout
from stalstm.readers import read_utd_mhad
from stalstm.transforms import AugmentationConfig, build_augmentation
from stalstm.transforms.augmentation import left_right_permutation, mirror, swap_persons

FULL = {
    "crop_min_ratio": 0.7,
    "num_frames": 12,
    "rotation_degrees": [10, 30, 10],
    "scale": 0.1,
    "noise_std": 0.01,
}


def two_person_clip(frames: int = 30) -> np.ndarray:
    joints = np.random.default_rng(0).normal(size=(frames, 2, 25, 3)).astype(np.float32)
    joints[:, 1] = 0  # second person absent throughout
    joints[5:8, 0] = 0  # first person absent in a few frames
    return joints


def test_full_augmentation_keeps_shape_dtype_and_zeros():
    joints = two_person_clip()
    augment = build_augmentation(FULL)
    out = augment(joints, np.random.default_rng(1))
    assert out.shape == (12, 2, 25, 3) and out.dtype == np.float32
    assert not out[:, 1].any()
    present = np.any(joints[:, 0] != 0, axis=(1, 2))
    assert present.sum() < len(present)
    # every output frame of person 0 is either a real (non-zero) frame or an absent one (zero)
    for frame in out[:, 0]:
        assert frame.any() == bool(np.all(np.any(frame != 0, axis=-1)))


def test_each_step_alone_keeps_zeros():
    joints = two_person_clip()
    for key, value in FULL.items():
        out = build_augmentation({key: value})(joints, np.random.default_rng(2))
        assert not out[:, 1].any(), key
        assert out.shape[1:] == joints.shape[1:]


def test_same_generator_seed_same_result_and_empty_config_is_identity():
    joints = two_person_clip()
    augment = build_augmentation(FULL)
    first = augment(joints, np.random.default_rng(5))
    np.testing.assert_array_equal(first, augment(joints, np.random.default_rng(5)))
    assert not np.array_equal(first, augment(joints, np.random.default_rng(6)))
    np.testing.assert_array_equal(build_augmentation({})(joints, np.random.default_rng(0)), joints)
    np.testing.assert_array_equal(build_augmentation(None)(joints), joints)


def test_rotation_preserves_lengths_and_works_on_2d_keypoints():
    joints = two_person_clip()
    out = build_augmentation({"rotation_degrees": 45})(joints, np.random.default_rng(3))
    np.testing.assert_allclose(
        np.linalg.norm(out, axis=-1), np.linalg.norm(joints, axis=-1), rtol=1e-5
    )
    flat = joints[..., :2]
    turned = build_augmentation({"rotation_degrees": 45})(flat, np.random.default_rng(3))
    assert turned.shape == flat.shape
    np.testing.assert_allclose(
        np.linalg.norm(turned, axis=-1), np.linalg.norm(flat, axis=-1), rtol=1e-5
    )


def test_crop_is_a_contiguous_sub_sequence():
    joints = np.arange(40, dtype=np.float32).reshape(40, 1, 1, 1) + 1
    joints = np.repeat(joints, 3, axis=-1)
    out = build_augmentation({"crop_min_ratio": 0.5})(joints, np.random.default_rng(4))
    values = out[:, 0, 0, 0]
    assert 20 <= len(values) <= 40 and np.all(np.diff(values) == 1)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"rotate": 10}, "unknown augmentation key"),
        ({"noise_std": -1}, "noise_std"),
        ({"num_frames": 0}, "num_frames"),
        ({"scale": [1.2, 0.8]}, "scale"),
        ({"rotation_degrees": [1, 2]}, "rotation_degrees"),
        ({"crop_min_ratio": 0}, "crop_min_ratio"),
        ({"swap_persons": 1.5}, "swap_persons"),
        ({"mirror": 0.5}, "mirror_layout"),
        ({"mirror": 0.5, "mirror_layout": "no-such-layout"}, "mirror_layout"),
        ({"mirror": 0.5, "mirror_layout": "openni15", "mirror_axis": -1}, "mirror_axis"),
    ],
)
def test_bad_config_names_the_key(config: dict, message: str):
    with pytest.raises(ValueError, match=message):
        AugmentationConfig.from_dict(config)


def sbu_like_clip(frames: int = 20) -> np.ndarray:
    joints = np.random.default_rng(7).normal(size=(frames, 2, 15, 3)).astype(np.float32)
    joints[:4, 1] = 0  # second person absent in the first frames
    return joints


def test_left_right_permutation_pairs_joints_by_name():
    names = get_layout("openni15").joint_names
    permutation = left_right_permutation("openni15")
    mirrored = [names[index] for index in permutation]
    assert mirrored[names.index("hand_left")] == "hand_right"
    assert mirrored[names.index("foot_right")] == "foot_left"
    assert mirrored[names.index("torso")] == "torso"
    np.testing.assert_array_equal(permutation[permutation], np.arange(len(names)))
    coco = get_layout("coco17").joint_names  # "left" first in these names
    assert coco[left_right_permutation("coco17")[coco.index("left_eye")]] == "right_eye"


def test_mirror_and_swap_twice_are_the_identity_and_keep_absent_persons_zero():
    joints = sbu_like_clip()
    permutation = left_right_permutation("openni15")
    once = mirror(joints, permutation)
    assert once.shape == joints.shape and once.dtype == joints.dtype
    assert not once[:4, 1].any()
    np.testing.assert_array_equal(once[:, :, 5, 0], -joints[:, :, 8, 0])  # left hand <- right
    np.testing.assert_array_equal(once[:, :, 5, 1:], joints[:, :, 8, 1:])
    np.testing.assert_array_equal(mirror(once, permutation), joints)
    swapped = swap_persons(joints)
    assert swapped.shape == joints.shape and not swapped[:4, 0].any()
    np.testing.assert_array_equal(swapped[:, 0], joints[:, 1])
    np.testing.assert_array_equal(swap_persons(swapped), joints)


def test_swap_and_mirror_switched_on_draw_both_outcomes_and_keep_zeros():
    joints = sbu_like_clip()
    augment = build_augmentation({"swap_persons": 0.5, "mirror": 0.5, "mirror_layout": "openni15"})
    permutation = left_right_permutation("openni15")
    candidates = {
        "plain": joints,
        "swap": swap_persons(joints),
        "mirror": mirror(joints, permutation),
        "both": mirror(swap_persons(joints), permutation),
    }
    seen = set()
    for seed in range(40):
        out = augment(joints, np.random.default_rng(seed))
        matches = [name for name, expected in candidates.items() if np.array_equal(out, expected)]
        assert len(matches) == 1
        seen.add(matches[0])
        absent = 0 if matches[0] in ("swap", "both") else 1
        assert not out[:4, absent].any()
    assert seen == set(candidates)


def test_mirror_rejects_a_clip_of_another_layout():
    with pytest.raises(ValueError, match="joints"):
        mirror(two_person_clip(), left_right_permutation("openni15"))


def test_mirrored_utd_mhad_clip_is_a_body_doing_the_mirrored_action(data_root: Path) -> None:
    names = get_layout("utd_mhad20").joint_names
    path = data_root / "utd_mhad_skeleton" / "a1_s1_t1_skeleton.mat"  # right arm swipe
    joints = read_utd_mhad(path).joints
    mirrored = mirror(joints, left_right_permutation("utd_mhad20"))

    def most_moving(clip: np.ndarray) -> str:
        travelled = np.linalg.norm(np.diff(clip[:, 0], axis=0), axis=-1).sum(axis=0)
        return names[int(travelled.argmax())]

    assert (most_moving(joints), most_moving(mirrored)) == ("hand_right", "hand_left")
    # camera x: the person's left shoulder stays on the same side as before the mirror
    left, right = names.index("shoulder_left"), names.index("shoulder_right")
    for clip in (joints, mirrored):
        assert (clip[:, 0, left, 0] < clip[:, 0, right, 0]).all()
