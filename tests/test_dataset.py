"""ClipDataset flattens persons, augments reproducibly per epoch and index, and works in
DataLoader workers; collate_clips pads on the right and masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from helpers.stores import build_store, make_clips
from torch.utils.data import DataLoader

from stalstm.dataset import ClipDataset, collate_clips
from stalstm.store import ClipStore


def jitter(joints: np.ndarray, generator: np.random.Generator) -> np.ndarray:
    return joints + generator.normal(size=joints.shape).astype(np.float32)


def open_store(tmp_path: Path, count: int = 6) -> ClipStore:
    build_store(tmp_path / "store", make_clips(count, persons=2), num_persons=2)
    return ClipStore.open(tmp_path / "store")


def test_items_flatten_persons_person_major(tmp_path: Path):
    store = open_store(tmp_path)
    dataset = ClipDataset(store, indices=[3, 1])
    assert len(dataset) == 2 and dataset.labels == [0, 1]
    item = dataset[0]
    assert item["name"] == "clip003" and item["index"] == 3
    assert item["joints"].dtype == torch.float32
    assert item["joints"].shape == (store.metadata[3]["num_frames"], 2 * 4, 3)
    original = store[3].joints
    np.testing.assert_array_equal(item["joints"][:, 4:].numpy(), original[:, 1])


def test_augmentation_depends_on_seed_epoch_and_index_only(tmp_path: Path):
    store = open_store(tmp_path)
    dataset = ClipDataset(store, augment=jitter, seed=7)
    first = dataset[2]["joints"]
    assert torch.equal(first, ClipDataset(store, augment=jitter, seed=7)[2]["joints"])
    assert not torch.equal(first, ClipDataset(store, augment=jitter, seed=8)[2]["joints"])
    # the same clip reached at another position of another subset draws the same numbers
    assert torch.equal(first, ClipDataset(store, [5, 2], augment=jitter, seed=7)[1]["joints"])
    dataset.set_epoch(1)
    assert not torch.equal(first, dataset[2]["joints"])


def test_collate_pads_on_the_right_and_masks(tmp_path: Path):
    dataset = ClipDataset(open_store(tmp_path), indices=[0, 4])
    batch = collate_clips([dataset[0], dataset[1]])
    lengths = [5, 17]
    assert batch["joints"].shape == (2, 17, 8, 3)
    assert batch["mask"].sum(1).tolist() == lengths
    assert not batch["joints"][0, 5:].any()
    assert torch.equal(batch["joints"][0, :5], dataset[0]["joints"])
    assert batch["labels"].dtype == torch.long and batch["labels"].tolist() == [0, 1]
    assert batch["names"] == ["clip000", "clip004"]


def test_dataloader_workers_give_the_same_batches(tmp_path: Path):
    dataset = ClipDataset(open_store(tmp_path), augment=jitter, seed=3)
    dataset.store[0]  # the parent's map is open; workers must open their own
    single = list(DataLoader(dataset, batch_size=3, collate_fn=collate_clips))
    multi = list(DataLoader(dataset, batch_size=3, collate_fn=collate_clips, num_workers=2))
    for one, other in zip(single, multi, strict=True):
        assert torch.equal(one["joints"], other["joints"])
        assert one["names"] == other["names"]
