"""The synthetic generator: deterministic, on the NTU layout, and its recorded planted joints and
key frames are where the class's movement actually is."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from stalstm.layouts import get_layout
from stalstm.synthetic import (
    CLASS_NAMES,
    NUM_JOINTS,
    SYNTHETIC_CLASSES,
    SyntheticActions,
    SyntheticConfig,
    generate_clips,
)

QUIET = SyntheticConfig(min_distractors=0, max_distractors=0, noise=0.0, sway=0.0)


def test_same_seed_same_clips_other_seed_other_clips() -> None:
    first, again, other = (generate_clips(12, seed) for seed in (3, 3, 4))
    for a, b in zip(first, again, strict=True):
        assert a.name == b.name and a.label == b.label
        np.testing.assert_array_equal(a.joints, b.joints)
        np.testing.assert_array_equal(a.extras["key_frames"], b.extras["key_frames"])
    assert any(
        a.joints.shape != c.joints.shape or not np.array_equal(a.joints, c.joints)
        for a, c in zip(first, other, strict=True)
    )


def test_clips_are_ntu_shaped_with_balanced_labels_and_a_zero_absent_body() -> None:
    config = SyntheticConfig()
    clips = generate_clips(80, seed=0, config=config)
    layout = get_layout("ntu25")
    assert NUM_JOINTS == 2 * layout.num_joints == 50
    assert np.bincount([clip.label for clip in clips]).tolist() == [10] * len(CLASS_NAMES)
    persons_seen = set()
    for clip in clips:
        frames = clip.num_frames
        assert config.min_frames <= frames <= config.max_frames
        assert clip.joints.shape == (frames, 2, layout.num_joints, 3)
        assert clip.joints.dtype == np.float32 and np.isfinite(clip.joints).all()
        assert clip.layout == "ntu25"
        two_persons = bool(np.abs(clip.joints[:, 1]).sum() > 0)
        persons_seen.add(two_persons)
        key = clip.extras["key_frames"]
        assert key.dtype == bool and key.shape == (frames,)
        assert config.min_key_frames <= key.sum() <= config.max_key_frames
        run = np.flatnonzero(key)
        assert (np.diff(run) == 1).all()  # one contiguous window
    assert persons_seen == {True, False}  # both one- and two-person clips occur


def test_planted_joints_are_the_class_limb_and_move_only_in_the_key_window() -> None:
    layout = get_layout("ntu25")
    generator = SyntheticActions(QUIET)
    rng = np.random.default_rng(0)
    for label, action in enumerate(SYNTHETIC_CLASSES):
        clip = generator.generate_clip(label, rng, f"check/{label}")
        planted = clip.extras["planted_joints"]
        assert sorted(layout.joint_names[k] for k in planted) == sorted(action.joint_names)
        flat = clip.joints.reshape(clip.num_frames, NUM_JOINTS, 3)
        rest = flat[0] if not clip.extras["key_frames"][0] else flat[-1]
        displacement = np.linalg.norm(flat - rest, axis=-1)  # (T, K)
        key = clip.extras["key_frames"]
        # the planted joints move well inside the key window and not at all outside it
        assert displacement[key][:, planted].max() > 0.2
        assert displacement[~key][:, planted].max() < 1e-5
        # without distractors, decoys or lean nothing else moves
        others = np.setdiff1d(np.arange(NUM_JOINTS), planted)
        assert displacement[:, others].max() < 1e-5


def test_class_pairs_and_distractor_pairs_are_disjoint() -> None:
    from stalstm.synthetic import _PERSON1_DISTRACTORS

    classes = {(action.limb, action.pattern) for action in SYNTHETIC_CLASSES}
    assert len(classes) == len(SYNTHETIC_CLASSES) == 8
    assert not classes & set(_PERSON1_DISTRACTORS)
    # every limb and every pattern occurs both in a class and in a distractor
    for axis in (0, 1):
        class_values = {pair[axis] for pair in classes}
        assert class_values <= {pair[axis] for pair in _PERSON1_DISTRACTORS}


def test_the_key_window_lean_moves_the_upper_body_only_in_the_key_window() -> None:
    lean_only = SyntheticConfig(
        min_distractors=0, max_distractors=0, noise=0.0, sway=0.0, key_lean=0.15
    )
    clip = SyntheticActions(lean_only).generate_clip(0, np.random.default_rng(1), "lean")
    head = get_layout("ntu25").index("head")
    key = clip.extras["key_frames"]
    depth = clip.joints[:, 0, head, 2]
    assert depth[key].min() < depth[~key].min() - 0.1  # leans forward (negative z) in the window
    assert np.ptp(depth[~key]) < 1e-6


@pytest.mark.parametrize(
    "changes",
    [
        {"min_frames": 50, "max_frames": 40},
        {"min_key_frames": 20, "max_key_frames": 10},
        {"max_key_frames": 90},
        {"min_distractors": 3, "max_distractors": 1},
    ],
)
def test_inconsistent_settings_are_refused(changes: dict) -> None:
    with pytest.raises(ValueError):
        SyntheticConfig(**changes)


def test_decoys_move_the_actor_only_outside_the_key_window() -> None:
    decoys_only = replace(QUIET, min_decoys=1, max_decoys=1)
    generator = SyntheticActions(decoys_only)
    rng = np.random.default_rng(2)
    moved_outside = 0
    for label in range(len(SYNTHETIC_CLASSES)):
        clip = generator.generate_clip(label, rng, f"decoy/{label}")
        key = clip.extras["key_frames"]
        flat = clip.joints.reshape(clip.num_frames, NUM_JOINTS, 3)
        # the pose every movement starts from: the most common frame (movements are short)
        _, first, counts = np.unique(flat, axis=0, return_index=True, return_counts=True)
        rest = flat[first[counts.argmax()]]
        displacement = np.linalg.norm(flat - rest, axis=-1)  # (T, K)
        others = np.setdiff1d(np.arange(NUM_JOINTS), clip.extras["planted_joints"])
        # inside the key window only the planted joints move; a decoy never overlaps it
        assert displacement[key][:, others].max() < 1e-5
        moved_outside += bool(displacement[~key].max() > 0.1)
    assert moved_outside >= len(SYNTHETIC_CLASSES) - 1  # a decoy needs room outside the window
