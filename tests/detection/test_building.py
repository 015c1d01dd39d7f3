"""Streams built from trimmed clips: actions unchanged and labelled, idle and transition frames
background, orientations carried along, everything a function of the seed."""

from __future__ import annotations

import numpy as np
import pytest

from stalstm.clip import Clip
from stalstm.detection.building import StreamBuildSettings, build_stream, build_streams
from stalstm.stream import Segment


def hand_clip(name: str, label: int, frames: int, offset: float) -> Clip:
    generator = np.random.default_rng(label)
    joints = generator.normal(size=(frames, 1, 20, 3)).astype(np.float32) + offset
    orientation = generator.normal(size=(frames, 1, 20, 4))
    orientation /= np.linalg.norm(orientation, axis=-1, keepdims=True)
    return Clip(name, joints, label=label, layout="hand20", extras={"orientation": orientation})


def test_actions_in_order_with_idle_and_transitions_between() -> None:
    clips = [hand_clip("a", 2, 7, 0.0), hand_clip("b", 0, 5, 10.0)]
    settings = StreamBuildSettings(idle_frames=(3, 3), transition_frames=(4, 4), jitter=0.0)
    stream = build_stream(clips, np.random.default_rng(0), settings)
    # idle 3 | a 7 | idle 3 + transition 4 | b 5 | idle 3
    assert stream.num_frames == 3 + 7 + 3 + 4 + 5 + 3
    assert stream.segments == (Segment(2, 3, 9), Segment(0, 17, 21))
    np.testing.assert_array_equal(stream.joints[3:10], clips[0].joints)
    np.testing.assert_array_equal(stream.joints[17:22], clips[1].joints)
    np.testing.assert_array_equal(stream.joints[0], clips[0].joints[0])  # held without jitter
    np.testing.assert_array_equal(stream.joints[12], clips[0].joints[-1])
    transition = stream.joints[13:17, 0, 0, 0]
    start, end = clips[0].joints[-1, 0, 0, 0], clips[1].joints[0, 0, 0, 0]
    assert np.all(np.diff(np.concatenate([[start], transition, [end]])) > 0)  # on its way
    assert stream.extras["clips"] == ["a", "b"]
    orientation = stream.extras["orientation"]
    assert orientation.shape == (stream.num_frames, 1, 20, 4)
    np.testing.assert_allclose(np.linalg.norm(orientation, axis=-1), 1.0, atol=1e-5)


def test_jitter_scales_with_the_pose_and_streams_follow_their_seed() -> None:
    pool = [hand_clip(f"c{k}", k % 3, 6 + k, float(k)) for k in range(6)]
    settings = StreamBuildSettings(jitter=0.05)
    first = build_streams(pool, 3, seed=7, settings=settings)
    again = build_streams(pool, 5, seed=7, settings=settings)[:3]
    for one, other in zip(first, again, strict=True):
        np.testing.assert_array_equal(one.joints, other.joints)
        assert one.segments == other.segments
    assert all(3 <= len(stream.segments) <= 5 for stream in first)
    assert not np.array_equal(
        first[0].joints[:2], build_streams(pool, 1, 8, settings)[0].joints[:2]
    )


def test_clips_that_do_not_fit_together() -> None:
    clips = [hand_clip("a", 0, 5, 0.0), Clip("b", np.zeros((5, 1, 17, 2)), label=1)]
    with pytest.raises(ValueError, match="shape"):
        build_stream(clips, np.random.default_rng(0))
    with pytest.raises(ValueError, match="label"):
        build_stream([Clip("u", np.ones((5, 1, 20, 3)), layout="hand20")], np.random.default_rng(0))
    with pytest.raises(ValueError, match="range"):
        StreamBuildSettings(idle_frames=(5, 2))
