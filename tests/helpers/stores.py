"""Small stores of random clips, written through the store's own shard writer."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stalstm.clip import Clip
from stalstm.store import clip_metadata, write_shard, write_store


def make_clips(count: int, persons: int = 1, seed: int = 0) -> list[Clip]:
    generator = np.random.default_rng(seed)
    return [
        Clip(
            name=f"clip{i:03d}",
            joints=generator.normal(size=(5 + 3 * i, persons if i % 2 else 1, 4, 3)),
            label=i % 3,
            layout="test4",
            subject=1 + i % 4,
            fold=1 + i % 2,
        )
        for i in range(count)
    ]


def build_store(directory: Path, clips: list[Clip], shard_size: int = 3, **kwargs) -> dict:
    work = directory.parent / f"{directory.name}-shards"
    work.mkdir()
    shards = []
    for start in range(0, len(clips), shard_size):
        part = clips[start : start + shard_size]
        shards.append(work / f"shard-{start:05d}.npz")
        write_shard(shards[-1], part, [clip_metadata(clip) for clip in part])
    info = {"dataset": "test", "layout": "test4", "preset": "none", "class_names": ["a", "b", "c"]}
    return write_store(directory, shards, info, **kwargs)
