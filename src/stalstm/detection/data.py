"""Streams as torch Datasets for frame-wise training, and their padding collate.

An item is ``dict(joints (T, K, C), label (T,) one class per frame with the background as class
``background``, name)``; ``collate_streams`` pads a batch to its longest stream, with a mask
and ``IGNORE`` targets on the padding, the batch form ``stalstm.training.fit`` and the
frame-wise objective take.

- ``BuiltStreamDataset``: streams built afresh from a pool of trimmed clips
  (``stalstm.detection.building``); item i of epoch e draws from a generator seeded by
  (seed, e, i), so every epoch sees new streams and a run is reproducible however the loader
  orders or parallelises the items (``set_epoch``, called by the engine).
- ``StreamDataset``: fixed streams (recorded ones, or streams built once for testing).

Both prepare each stream with the model's preset (a ``Clip -> Clip`` callable; it must keep every
frame) and then apply the training augmentation, if any, to the whole stream.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from stalstm.clip import Clip
from stalstm.detection.background import PoolStatistics
from stalstm.detection.building import StreamBuildSettings, random_stream, stream_window
from stalstm.objective import IGNORE
from stalstm.predict import fit_persons
from stalstm.stream import BACKGROUND, Stream

Preparation = Callable[[Clip], Clip]
Augmentation = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def prepare_stream(stream: Stream, preparation: Preparation | None) -> Stream:
    """A stream prepared by a preset (every frame kept, or a ValueError says so)."""
    if preparation is None:
        return stream
    return stream.with_joints(preparation(stream.as_clip()).joints)


def fit_stream_persons(joints: np.ndarray, num_persons: int) -> np.ndarray:
    """(T, M, V, C) -> (T, num_persons, V, C), absent persons as zeros."""

    return fit_persons(joints, num_persons)


def stream_item(
    stream: Stream,
    background: int,
    num_persons: int,
    augment: Augmentation | None = None,
    generator: np.random.Generator | None = None,
) -> dict[str, Any]:
    """The training item of a prepared stream."""
    joints = fit_stream_persons(stream.joints, num_persons)
    if augment is not None:
        augmented = augment(joints, generator or np.random.default_rng(0))
        if len(augmented) != len(joints):
            raise ValueError(
                "stream augmentation must keep every frame (no crop_min_ratio or num_frames)"
            )
        joints = augmented
    frames, coords = joints.shape[0], joints.shape[-1]
    labels = stream.frame_labels
    targets = np.where(labels == BACKGROUND, background, labels)
    return {
        "joints": torch.from_numpy(
            np.ascontiguousarray(joints, dtype=np.float32).reshape(frames, -1, coords)
        ),
        "label": torch.from_numpy(targets),
        "name": stream.name,
    }


class StreamDataset(Dataset):
    """Fixed streams, prepared once; augmented per (seed, epoch, index) when ``augment``."""

    def __init__(
        self,
        streams: Sequence[Stream],
        background: int,
        num_persons: int,
        preparation: Preparation | None = None,
        augment: Augmentation | None = None,
        seed: int = 0,
    ) -> None:
        self.streams = [prepare_stream(stream, preparation) for stream in streams]
        self.background = background
        self.num_persons = num_persons
        self.augment = augment
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.streams)

    def __getitem__(self, index: int) -> dict[str, Any]:
        generator = np.random.default_rng((self.seed, self.epoch, index))
        return stream_item(
            self.streams[index], self.background, self.num_persons, self.augment, generator
        )


class BuiltStreamDataset(Dataset):
    """``count`` streams an epoch, built from ``pool`` afresh for every (seed, epoch, index)."""

    def __init__(
        self,
        pool: Sequence[Clip],
        count: int,
        background: int,
        num_persons: int,
        settings: StreamBuildSettings | None = None,
        preparation: Preparation | None = None,
        augment: Augmentation | None = None,
        seed: int = 0,
    ) -> None:
        if not pool or count < 1:
            raise ValueError("a built stream dataset needs clips and at least one stream")
        self.pool = list(pool)
        self.count = count
        self.background = background
        self.num_persons = num_persons
        self.settings = settings or StreamBuildSettings()
        # what wandering idle time moves through: measured once, on the pool
        self.statistics = PoolStatistics.measure(self.pool) if self.settings.uses_pool else None
        self.preparation = preparation
        self.augment = augment
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict[str, Any]:
        generator = np.random.default_rng((self.seed, self.epoch, index))
        stream = random_stream(
            self.pool,
            generator,
            self.settings,
            f"epoch {self.epoch} stream {index}",
            self.statistics,
        )
        stream = prepare_stream(stream, self.preparation)
        return stream_item(stream, self.background, self.num_persons, self.augment, generator)


def collate_streams(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stack streams: ``joints (B, T_max, K, C)`` zero-padded, ``mask (B, T_max)``, ``labels
    (B, T_max)`` with ``IGNORE`` on padding, ``names``."""
    if not items:
        raise ValueError("collate_streams needs at least one item")
    lengths = [item["joints"].shape[0] for item in items]
    _, num_joints, coords = items[0]["joints"].shape
    joints = torch.zeros(len(items), max(lengths), num_joints, coords)
    mask = torch.zeros(len(items), max(lengths), dtype=torch.bool)
    labels = torch.full((len(items), max(lengths)), IGNORE, dtype=torch.long)
    for row, (item, length) in enumerate(zip(items, lengths, strict=True)):
        joints[row, :length] = item["joints"]
        mask[row, :length] = True
        labels[row, :length] = item["label"]
    return {"joints": joints, "mask": mask, "labels": labels, "names": [i["name"] for i in items]}


class StreamWindowDataset(Dataset):
    """``count`` random windows of recorded streams an epoch: item i of epoch e is a window of
    a stream drawn by a generator seeded by (seed, e, i), at least ``min_fraction`` of its
    stream long (whole streams when 1). A recording cut this way serves as many training items
    as needed (a folder of ten streams is otherwise one or two batches an epoch), each one
    prepared as a recording that starts at its first frame."""

    def __init__(
        self,
        streams: Sequence[Stream],
        count: int,
        background: int,
        num_persons: int,
        preparation: Preparation | None = None,
        augment: Augmentation | None = None,
        seed: int = 0,
        min_fraction: float = 0.5,
    ) -> None:
        if not streams or count < 1:
            raise ValueError("a stream window dataset needs streams and at least one window")
        if not 0 < min_fraction <= 1:
            raise ValueError("min_fraction must be in (0, 1]")
        self.streams = list(streams)
        self.count = count
        self.background = background
        self.num_persons = num_persons
        self.preparation = preparation
        self.augment = augment
        self.seed = seed
        self.min_fraction = min_fraction
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.count

    def window(self, index: int) -> Stream:
        """The (unprepared) window of item ``index`` in the current epoch."""
        generator = np.random.default_rng((self.seed, self.epoch, index, 1))
        stream = self.streams[int(generator.integers(len(self.streams)))]
        frames = stream.num_frames
        least = max(1, int(np.ceil(self.min_fraction * frames)))
        length = int(generator.integers(least, frames + 1))
        start = int(generator.integers(0, frames - length + 1))
        return stream_window(stream, start, start + length - 1)

    def __getitem__(self, index: int) -> dict[str, Any]:
        generator = np.random.default_rng((self.seed, self.epoch, index))
        stream = prepare_stream(self.window(index), self.preparation)
        return stream_item(stream, self.background, self.num_persons, self.augment, generator)
