"""The pure transform functions on small arrays whose answers are known by construction."""

from __future__ import annotations

import numpy as np
import pytest

from stalstm.transforms import functional as F


def standing_body(frames: int, offset: float = 0.0, wobble: float = 0.0, seed: int = 0):
    """(T, V=5, 3) a thin tall body (y-extent 1.6, x-extent 0.4), moving by ``wobble``."""
    generator = np.random.default_rng(seed)
    pose = np.array([[0, 0, 3], [0, 0.5, 3], [0, 1.6, 3], [-0.2, 1.2, 3], [0.2, 1.2, 3]])
    motion = wobble * generator.normal(size=(frames, 1, 3))
    return (pose + np.array([offset, 0, 0]) + motion).astype(np.float32)


def lying_body(frames: int) -> np.ndarray:
    """A body wider than tall in every frame: the spread rule's noise."""
    return standing_body(frames)[:, :, [1, 0, 2]] + np.float32(0.01)


def test_denoise_drops_short_bodies_and_wide_bodies_and_keeps_two_actors():
    frames = 40
    joints = np.zeros((frames, 4, 5, 3), np.float32)
    joints[:, 0] = standing_body(frames, wobble=0.01)
    joints[:, 1] = standing_body(frames, offset=1.0, wobble=0.05, seed=1)  # moves most
    joints[:, 2] = lying_body(frames)  # 100 % wide frames
    joints[5:15, 3] = standing_body(10, offset=-1.0)  # 10 frames <= 11
    result = F.denoise_bodies(joints)
    assert result.dropped == {3: "length", 2: "spread"}
    assert result.actors == ((1,), (0,))
    np.testing.assert_array_equal(result.joints[:, 0], joints[:, 1])
    np.testing.assert_array_equal(result.joints[:, 1], joints[:, 0])


def test_denoise_puts_a_body_that_follows_actor_one_in_its_slot():
    joints = np.zeros((60, 3, 5, 3), np.float32)
    joints[:30, 0] = standing_body(30, wobble=0.2)  # actor 1, frames 0..29
    joints[30:, 1] = standing_body(30, wobble=0.1, seed=2)  # same person re-identified
    joints[:, 2] = standing_body(60, offset=1.0, wobble=0.01, seed=3)
    result = F.denoise_bodies(joints)
    assert result.actors == ((0, 1), (2,))
    assert result.num_actors == 2
    np.testing.assert_array_equal(result.joints[30:, 0], joints[30:, 1])


def test_denoise_of_one_short_body_keeps_it():
    joints = np.zeros((20, 1, 5, 3), np.float32)
    joints[:5, 0] = standing_body(5)
    result = F.denoise_bodies(joints)
    assert result.actors == ((0,), ()) and result.dropped == {}


def test_translation_keeps_absent_joints_at_zero():
    joints = np.zeros((4, 2, 5, 3), np.float32)
    joints[1:, 0] = standing_body(3, offset=2.0)
    moved = F.translate_to_first_frame(joints, joint=1)
    np.testing.assert_allclose(moved[1, 0, 1], 0.0)
    assert not moved[0].any() and not moved[:, 1].any()


def test_rotation_onto_axis_handles_opposite_vectors():
    for vector in ([0, 0, -2.0], [1.0, 2.0, 3.0], [0, 0, 5.0]):
        matrix = F.rotation_onto(np.array(vector), np.array([0, 0, 1.0]))
        turned = matrix @ np.array(vector)
        np.testing.assert_allclose(turned / np.linalg.norm(turned), [0, 0, 1], atol=1e-9)
        np.testing.assert_allclose(matrix @ matrix.T, np.eye(3), atol=1e-9)


def test_select_most_active_orders_by_energy_and_pads():
    joints = np.zeros((10, 3, 5, 3), np.float32)
    joints[:, 0] = standing_body(10, wobble=0.01)
    joints[:, 1] = standing_body(10, wobble=0.5, seed=1)
    kept = F.select_most_active(joints[:, :2], count=3)
    assert kept.shape == (10, 3, 5, 3)
    np.testing.assert_array_equal(kept[:, 0], joints[:, 1])
    assert not kept[:, 2].any()


def test_keep_main_body_frames_puts_the_longer_body_first():
    joints = np.zeros((10, 2, 5, 3), np.float32)
    joints[:3, 0] = standing_body(3)
    joints[2:, 1] = standing_body(8, offset=1.0)
    kept = F.keep_main_body_frames(joints)
    assert kept.shape[0] == 8
    np.testing.assert_array_equal(kept[:, 0], joints[2:, 1])


@pytest.mark.parametrize(("frames", "count"), [(100, 20), (7, 20), (20, 20)])
def test_uniform_frame_indices(frames: int, count: int):
    middle = F.uniform_frame_indices(frames, count)
    assert len(middle) == count and middle.min() >= 0 and middle.max() < frames
    assert np.all(np.diff(middle) >= 0)
    drawn = F.uniform_frame_indices(frames, count, np.random.default_rng(0))
    assert np.all(np.diff(drawn) >= 0) and drawn.max() < frames
    segments = np.linspace(0, frames, count + 1)
    assert np.all((drawn >= np.floor(segments[:-1])) & (drawn <= np.ceil(segments[1:])))


def test_sbu_conversion_restores_aspect_and_keeps_zeros():
    joints = np.zeros((2, 2, 15, 3), np.float32)
    joints[:, 0] = [0.5, 0.5, 1.0]
    world = F.sbu_to_world(joints)
    np.testing.assert_allclose(world[0, 0, 0], [0.0, 0.0, 1.28], atol=1e-6)
    assert not world[:, 1].any()
