"""Stream datasets for frame-wise training: targets per frame with the background class, padding
ignored, built streams a function of (seed, epoch, index)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stalstm.clip import Clip
from stalstm.detection.data import BuiltStreamDataset, StreamDataset, collate_streams
from stalstm.objective import IGNORE
from stalstm.stream import Segment, Stream
from stalstm.transforms import build_augmentation, build_preset


def pool() -> list[Clip]:
    generator = np.random.default_rng(0)
    return [
        Clip(f"c{k}", generator.normal(size=(6 + k, 1, 20, 3)) + 1.0, label=k % 3, layout="hand20")
        for k in range(9)
    ]


def test_stream_items_and_their_padded_batch() -> None:
    streams = [
        Stream("a", np.ones((6, 1, 20, 3)), (Segment(1, 1, 2),), "hand20"),
        Stream("b", np.ones((4, 1, 20, 3)), (Segment(0, 3, 3),), "hand20"),
    ]
    dataset = StreamDataset(streams, background=3, num_persons=1)
    item = dataset[0]
    assert item["joints"].shape == (6, 20, 3)
    assert item["label"].tolist() == [3, 1, 1, 3, 3, 3]  # background is class 3
    batch = collate_streams([dataset[0], dataset[1]])
    assert batch["joints"].shape == (2, 6, 20, 3)
    assert batch["labels"][1].tolist() == [3, 3, 3, 0, IGNORE, IGNORE]
    assert batch["mask"].sum(dim=1).tolist() == [6, 4]


def test_built_streams_follow_seed_epoch_and_index_and_are_prepared() -> None:
    dataset = BuiltStreamDataset(
        pool(), count=3, background=3, num_persons=1, preparation=build_preset("hand"), seed=5
    )
    first = dataset[1]
    assert torch.equal(first["joints"], dataset[1]["joints"])
    assert torch.allclose(first["joints"][0, 0], torch.zeros(3), atol=1e-6)  # palm at origin
    dataset.set_epoch(1)
    assert not torch.equal(first["joints"][:3], dataset[1]["joints"][:3])
    assert set(first["label"].tolist()) <= {0, 1, 2, 3} and 3 in first["label"].tolist()


def test_augmentation_that_drops_frames_is_refused() -> None:
    streams = [Stream("a", np.ones((20, 1, 20, 3)), (Segment(0, 2, 9),), "hand20")]
    dataset = StreamDataset(
        streams, 3, 1, augment=build_augmentation({"crop_min_ratio": 0.5}), seed=1
    )
    with pytest.raises(ValueError, match="keep every frame"):
        dataset[0]
