"""Background that moves: key poses and speeds measured on the clips, wandering idle time that
turns and reshapes the pose at those speeds, streams built with it, and (on the real
Dictionary) synthetic background that moves like the gestures where held poses do not."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from stalstm.clip import Clip
from stalstm.detection.background import (
    PoolStatistics,
    kabsch,
    partial_rotations,
    pose_sizes,
    relative_shapes,
    wander,
)
from stalstm.detection.building import StreamBuildSettings, build_stream, build_streams
from stalstm.layouts import get_layout

BONES = tuple(get_layout("hand20").bones)
CENTRE = get_layout("hand20").center


def hand_pose(seed: int) -> np.ndarray:
    """(1, 20, 3) a random hand pose."""
    return np.random.default_rng(seed).normal(size=(1, 20, 3)).astype(np.float32)


def moving_clip(name: str, label: int, frames: int, step: float, seed: int) -> Clip:
    """A clip whose joints (not the centre) all move by ``step`` sizes a frame, in a straight
    line."""
    pose = hand_pose(seed)
    size = float(pose_sizes(pose, BONES)[0])
    direction = np.zeros((1, 20, 3), dtype=np.float32)
    direction[0, :, 0] = 1.0
    direction[0, CENTRE] = 0.0
    joints = np.stack([pose + t * step * size * direction for t in range(frames)])
    return Clip(name, joints.astype(np.float32), label=label, layout="hand20")


def shape_speed(joints: np.ndarray) -> np.ndarray:
    """Per frame, the mean distance the joints move relative to the centre joint, in sizes."""
    shapes = relative_shapes(joints, CENTRE, BONES)
    return np.linalg.norm(np.diff(shapes, axis=0), axis=-1).mean(axis=-1)[:, 0]


def test_measure_takes_boundary_poses_and_frame_speeds() -> None:
    clips = [moving_clip("a", 0, 5, 0.02, 1), moving_clip("b", 1, 4, 0.02, 2)]
    statistics = PoolStatistics.measure(clips)
    assert statistics.keys.shape == (4, 1, 20, 3) and statistics.centre == CENTRE
    first, second = (relative_shapes(clip.joints, CENTRE, BONES) for clip in clips)
    np.testing.assert_allclose(statistics.keys[0], first[0])
    np.testing.assert_allclose(statistics.keys[3], second[-1])
    assert len(statistics.speeds) == 4 + 3
    # the sizes change a little as the joints move; the speeds are about the step
    np.testing.assert_allclose(statistics.speeds, 0.02 * 19 / 20, rtol=0.15)
    with pytest.raises(ValueError, match="training clips"):
        PoolStatistics.measure([])


def test_kabsch_and_partial_rotations() -> None:
    shape = hand_pose(3)[0] - hand_pose(3)[0, CENTRE]
    for seed in range(5):
        rotation = Rotation.random(random_state=seed).as_matrix()
        np.testing.assert_allclose(kabsch(shape, shape @ rotation.T), rotation, atol=1e-5)
        vector = Rotation.from_matrix(rotation).as_rotvec()
        expected = [Rotation.from_rotvec(f * vector).as_matrix() for f in (0.0, 0.25, 1.0)]
        np.testing.assert_allclose(
            partial_rotations(rotation, np.array([0.0, 0.25, 1.0])), expected, atol=1e-6
        )
    quarter = np.array([[0.0, -1.0], [1.0, 0.0]])
    half_way = partial_rotations(quarter, np.array([0.5]))[0]
    np.testing.assert_allclose(half_way @ half_way, quarter, atol=1e-9)


def test_wander_turns_towards_a_key_keeping_the_shape_and_centre() -> None:
    pose = hand_pose(4)
    rotation = Rotation.from_rotvec([0.0, 0.0, np.pi / 2]).as_matrix()
    centre = pose[0, CENTRE]
    turned = (pose - centre) @ rotation.T  # the same hand turned by 90 degrees
    size = float(pose_sizes(pose, BONES)[0])
    statistics = PoolStatistics(
        keys=(turned / size)[None].astype(np.float32),
        speeds=np.array([0.05], dtype=np.float32),
        centre=CENTRE,
        bones=BONES,
    )
    path = wander(pose, 400, statistics, np.random.default_rng(0))
    assert path.shape == (400, 1, 20, 3)
    np.testing.assert_allclose(path[:, 0, CENTRE], np.repeat(centre[None], 400, 0), atol=1e-5)
    distances = np.linalg.norm(path[:, 0] - path[:, 0, CENTRE : CENTRE + 1], axis=-1)
    np.testing.assert_allclose(distances, np.repeat(distances[:1], 400, 0), rtol=1e-4)
    length = round(np.linalg.norm(turned - (pose - centre), axis=-1).mean() / size / 0.05)
    np.testing.assert_allclose(path[length - 1, 0], turned[0] + centre, atol=1e-4)
    # on its way: frame-to-frame changes average the measured speed
    assert np.mean(shape_speed(path[:length])) == pytest.approx(0.05, rel=0.2)


def test_wander_holds_still_among_identical_keys_and_leaves_absent_persons() -> None:
    pose = np.concatenate([hand_pose(5), np.zeros((1, 20, 3), np.float32)])  # one of two present
    keys = relative_shapes(pose[None], CENTRE, BONES)
    statistics = PoolStatistics(keys, np.array([0.1], np.float32), CENTRE, BONES)
    path = wander(pose, 30, statistics, np.random.default_rng(1))
    np.testing.assert_allclose(path, np.repeat(pose[None], 30, 0), atol=1e-5)
    assert not np.any(path[:, 1])


def test_built_streams_wander_between_actions_and_keep_the_actions() -> None:
    pool = [moving_clip(f"c{k}", k % 3, 10 + k, 0.03, k) for k in range(6)]
    held = StreamBuildSettings(jitter=0.0, idle_frames=(20, 30))
    moving = StreamBuildSettings(jitter=0.0, idle_frames=(20, 30), idle="wander")
    for settings, still in ((held, True), (moving, False)):
        stream = build_streams(pool, 1, 3, settings)[0]
        labels = stream.frame_labels
        for segment, name in zip(stream.segments, stream.extras["clips"], strict=True):
            clip = next(c for c in pool if c.name == name)
            np.testing.assert_array_equal(stream.joints[segment.start : segment.end + 1],
                                          clip.joints)  # fmt: skip
        first = stream.segments[0].start
        idle_speed = shape_speed(stream.joints[:first])
        assert (np.max(idle_speed) < 1e-6) == still
        # the first idle stretch ends where the first action starts
        step = shape_speed(stream.joints[first - 1 : first + 1])[0]
        assert step < 0.1
        assert labels[:first].max() == -1
    with pytest.raises(ValueError, match="idle"):
        StreamBuildSettings(idle="fidget")


def test_wander_streams_follow_their_seed() -> None:
    pool = [moving_clip(f"c{k}", k % 2, 8, 0.05, k) for k in range(4)]
    settings = StreamBuildSettings(idle="wander")
    one = build_streams(pool, 2, 11, settings)
    again = build_streams(pool, 2, 11, settings, statistics=PoolStatistics.measure(pool))
    for first, second in zip(one, again, strict=True):
        np.testing.assert_array_equal(first.joints, second.joints)
    stream = build_stream(pool[:2], np.random.default_rng(0), settings)
    assert np.all(np.isfinite(stream.joints))


def test_dictionary_background_moves_like_the_gestures(data_root: Path) -> None:
    """The synthesis' statistics on SFINGE3D's Dictionary: idle frames held still change by a
    fraction of what the gestures' frames do; wandering ones change by about as much."""
    from stalstm.readers.sfinge import read_sfinge_dictionary

    dictionary = read_sfinge_dictionary(data_root / "sfinge3d_v1")
    statistics = PoolStatistics.measure(dictionary)
    gesture = float(np.median(statistics.speeds))
    assert 0.03 < gesture < 0.1  # hand sizes a frame, the Dictionary's median
    medians = {}
    for idle in ("hold", "wander"):
        settings = StreamBuildSettings(idle=idle, jitter=0.0)
        streams = build_streams(dictionary, 40, 5, settings, statistics=statistics)
        speeds = [shape_speed(s.joints)[(s.frame_labels[1:] < 0) & (s.frame_labels[:-1] < 0)]
                  for s in streams]  # fmt: skip
        medians[idle] = float(np.median(np.concatenate(speeds)))
    assert medians["hold"] < 0.01 * gesture  # held poses do not move at all without jitter
    assert 0.5 * gesture < medians["wander"] < 2.0 * gesture
