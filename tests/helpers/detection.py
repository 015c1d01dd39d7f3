"""Hand clips for detection tests: random ones (for the plumbing) and ones a detector can learn,
and the overrides that make a detection recipe tiny."""

from __future__ import annotations

import numpy as np

from stalstm.clip import Clip

TINY = [
    "model.main_hidden=8", "model.main_layers=1", "model.spatial_hidden=8",
    "model.spatial_tanh=8", "model.temporal_hidden=8", "schedule.epochs=1",
    "training.batch_size=4", "detection.streams_per_epoch=4", "detection.held_out_streams=3",
    "detection.test_streams=3", "detection.pictures=1", "detection.steps=0",
    "detection.search={start_threshold: [0.3, 0.5], start_frames: [2], end_frames: [2]}",
]  # fmt: skip


def hand_clips(count: int, seed: int) -> list[Clip]:
    generator = np.random.default_rng(seed)
    return [
        Clip(f"c{k}", generator.normal(size=(8, 1, 20, 3)) + k % 3, label=k % 3, layout="hand20")
        for k in range(count)
    ]


def moving_clips(count: int, seed: int, frames: int = 12) -> list[Clip]:
    """Three classes a detector can learn: a class moves its own six joints along its own axis
    and back, on one fixed hand pose, with tracker-like noise."""
    generator = np.random.default_rng(seed)
    base = np.random.default_rng(99).normal(size=(20, 3)).astype(np.float32)
    phase = np.sin(2 * np.pi * np.arange(frames) / frames)[:, None]
    clips = []
    for k in range(count):
        label = k % 3
        joints = np.repeat(base[None], frames, 0)
        joints[:, 1 + 6 * label : 7 + 6 * label, label] += 1.5 * phase
        joints += generator.normal(scale=0.02, size=joints.shape)
        clips.append(Clip(f"c{k}", joints[:, None], label=label, layout="hand20"))
    return clips
