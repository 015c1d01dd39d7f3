"""Small in-memory data sets for the training tests: each class lifts one joint, so a tiny model
learns it in a few epochs."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from stalstm.model import STALSTMConfig


class LiftedJointClips(Dataset):
    """``size`` clips of ``num_joints`` joints; class c lifts joint c by 1 in every frame."""

    def __init__(self, size: int, seed: int, num_classes: int = 3, num_joints: int = 4) -> None:
        generator = np.random.default_rng(seed)
        self.items = []
        for index in range(size):
            label = index % num_classes
            frames = int(generator.integers(4, 10))
            joints = generator.normal(0.0, 0.3, size=(frames, num_joints, 3)).astype(np.float32)
            joints[:, label, 1] += 1.0
            self.items.append(
                {"joints": torch.from_numpy(joints), "label": label, "name": f"clip-{seed}-{index}"}
            )

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]


def tiny_config(variant: str = "sta", dropout: float = 0.5) -> STALSTMConfig:
    return STALSTMConfig(
        num_joints=4,
        num_classes=3,
        variant=variant,
        main_hidden=8,
        main_layers=2,
        dropout=dropout,
        spatial_hidden=6,
        spatial_tanh=6,
        temporal_hidden=6,
    )
