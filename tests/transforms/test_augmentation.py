"""Training augmentation: switchable from a dict, reproducible from a generator, and never
moves an absent person away from zero."""

from __future__ import annotations

import numpy as np
import pytest

from stalstm.transforms import AugmentationConfig, build_augmentation

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
    ],
)
def test_bad_config_names_the_key(config: dict, message: str):
    with pytest.raises(ValueError, match=message):
        AugmentationConfig.from_dict(config)
