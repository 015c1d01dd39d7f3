"""A torch ``Dataset`` over a prepared store and a protocol split, and the padding collate.

Items are variable-length: ``collate_clips`` pads a batch on the right to its longest clip and
returns a boolean mask of the real frames, which the model takes beside the joints.

Augmentation is reproducible: item ``i`` of epoch ``e`` draws its random numbers from a
generator seeded by ``(seed, e, store index)``, whatever worker process reads it and in whatever
order. Call ``set_epoch(e)`` at the start of each epoch (Lightning: in
``on_train_epoch_start``); with ``persistent_workers=True`` the workers keep the epoch they were
started with, so use non-persistent workers when augmenting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from stalstm.store import ClipStore

Augmentation = Callable[[np.ndarray, np.random.Generator], np.ndarray]


class ClipDataset(Dataset):
    """Clips of a store, optionally a subset of them (a protocol split's indices).

    Args:
        store: an open ``ClipStore`` (its memory map opens lazily in each worker).
        indices: store indices of the clips to serve, in order; all clips when ``None``.
        augment: ``augment(joints (T, M, V, C), generator) -> joints``, e.g. from
            ``stalstm.transforms.build_augmentation``; ``None`` for evaluation.
        seed: base seed of the augmentation.

    An item is ``dict(joints=float32 tensor (T, K, C) with K = M * V persons flattened
    person-major, label=int, name=str, index=int store index)``.
    """

    def __init__(
        self,
        store: ClipStore,
        indices: Sequence[int] | None = None,
        augment: Augmentation | None = None,
        seed: int = 0,
    ) -> None:
        self.store = store
        self.indices = list(range(len(store))) if indices is None else [int(i) for i in indices]
        self.augment = augment
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose augmentation draws the next items use."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def labels(self) -> list[int]:
        """The label of every item, in item order (from the metadata: no coordinates read)."""
        return [int(self.store.metadata[i]["label"]) for i in self.indices]

    def __getitem__(self, item: int) -> dict[str, Any]:
        index = self.indices[item]
        joints = np.array(self.store.clip_joints(index), dtype=np.float32)  # (T, M, V, C)
        if self.augment is not None:
            generator = np.random.default_rng((self.seed, self.epoch, index))
            joints = np.ascontiguousarray(self.augment(joints, generator), dtype=np.float32)
        frames, persons, num_joints, coords = joints.shape
        row = self.store.metadata[index]
        return {
            "joints": torch.from_numpy(joints.reshape(frames, persons * num_joints, coords)),
            "label": int(row["label"]),
            "name": row["name"],
            "index": index,
        }


def collate_clips(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stack variable-length items: ``joints (B, T_max, K, C)`` zero-padded on the right,
    ``mask (B, T_max)`` True on real frames, ``labels (B,)`` long, ``names`` list of str."""
    if not items:
        raise ValueError("collate_clips needs at least one item")
    lengths = [item["joints"].shape[0] for item in items]
    _, num_joints, coords = items[0]["joints"].shape
    joints = torch.zeros(len(items), max(lengths), num_joints, coords)  # (B, T_max, K, C)
    mask = torch.zeros(len(items), max(lengths), dtype=torch.bool)  # (B, T_max)
    for row, (item, length) in enumerate(zip(items, lengths, strict=True)):
        joints[row, :length] = item["joints"]
        mask[row, :length] = True
    return {
        "joints": joints,
        "mask": mask,
        "labels": torch.tensor([item["label"] for item in items], dtype=torch.long),
        "names": [item["name"] for item in items],
    }
