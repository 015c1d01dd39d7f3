"""Training-time augmentation of (T, M, V, C) arrays, configured by a plain dict (a recipe's
``augmentation:`` block) and driven by a ``numpy.random.Generator`` the caller passes in, so a
data loader can seed each item by (seed, epoch, index) and runs are reproducible.

Config keys (all optional; an absent or null key switches that step off), applied in this order:

- ``crop_min_ratio``: keep a random contiguous ``ratio * T`` frames, ratio in [min, 1];
- ``num_frames``: resample to this many frames, one random frame per equal segment;
- ``rotation_degrees``: a number (same limit about every axis) or ``[x, y, z]`` limits in degrees
  of one random rotation of the whole clip (2D keypoints use the z limit in their plane);
- ``scale``: ``[low, high]`` range of a per-axis factor (a number s means ``[1 - s, 1 + s]``);
- ``noise_std``: standard deviation of Gaussian noise added to present joints.

Absent persons and frames (all zeros) stay zero through every step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from stalstm.transforms import functional as F


@dataclass(frozen=True)
class AugmentationConfig:
    """Validated augmentation settings (see the module docstring)."""

    crop_min_ratio: float | None = None
    num_frames: int | None = None
    rotation_degrees: tuple[float, float, float] | None = None
    scale: tuple[float, float] | None = None
    noise_std: float | None = None

    @classmethod
    def from_dict(cls, config: Mapping[str, Any] | None) -> AugmentationConfig:
        """Read a recipe's dict; unknown keys and bad values are errors naming the key."""
        config = dict(config or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ValueError(f"unknown augmentation key(s) {unknown}; known: {sorted(known)}")
        values: dict[str, Any] = {}
        if (ratio := config.get("crop_min_ratio")) is not None:
            values["crop_min_ratio"] = _number("crop_min_ratio", ratio, 0.0, 1.0)
            if values["crop_min_ratio"] <= 0:
                raise ValueError("augmentation key 'crop_min_ratio' must be in (0, 1]")
        if (frames := config.get("num_frames")) is not None:
            if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
                raise ValueError(
                    f"augmentation key 'num_frames' must be a positive int: {frames!r}"
                )
            values["num_frames"] = frames
        if (degrees := config.get("rotation_degrees")) is not None:
            limits = [degrees] * 3 if not isinstance(degrees, Sequence) else list(degrees)
            if len(limits) != 3:
                raise ValueError("augmentation key 'rotation_degrees' needs one or three numbers")
            values["rotation_degrees"] = tuple(
                _number("rotation_degrees", limit, 0.0, 180.0) for limit in limits
            )
        if (scale := config.get("scale")) is not None:
            if isinstance(scale, Sequence):
                if len(scale) != 2:
                    raise ValueError("augmentation key 'scale' needs [low, high]")
                low, high = (_number("scale", value, 0.0, None) for value in scale)
            else:
                spread = _number("scale", scale, 0.0, 1.0)
                low, high = 1.0 - spread, 1.0 + spread
            if not 0 < low <= high:
                raise ValueError(f"augmentation key 'scale' needs 0 < low <= high: {scale!r}")
            values["scale"] = (low, high)
        if (std := config.get("noise_std")) is not None:
            values["noise_std"] = _number("noise_std", std, 0.0, None)
        return cls(**values)


def _number(key: str, value: Any, low: float, high: float | None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"augmentation key {key!r} must be a number, got {value!r}")
    if value < low or (high is not None and value > high):
        bound = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"augmentation key {key!r} must be {bound}, got {value!r}")
    return float(value)


class Augmentation:
    """``augment(joints (T, M, V, C), generator) -> joints``: the configured random steps."""

    def __init__(self, config: AugmentationConfig, generator: np.random.Generator | None = None):
        self.config = config
        self.generator = generator if generator is not None else np.random.default_rng()

    def __call__(
        self, joints: np.ndarray, generator: np.random.Generator | None = None
    ) -> np.ndarray:
        rng = generator if generator is not None else self.generator
        config = self.config
        if config.crop_min_ratio is not None and config.crop_min_ratio < 1.0:
            joints = F.random_crop(joints, config.crop_min_ratio, rng)
        if config.num_frames is not None:
            joints = joints[F.uniform_frame_indices(len(joints), config.num_frames, rng)]
        if config.rotation_degrees is not None and any(config.rotation_degrees):
            joints = F.random_rotate(joints, config.rotation_degrees, rng)
        if config.scale is not None and config.scale != (1.0, 1.0):
            joints = F.random_scale(joints, *config.scale, rng)
        if config.noise_std:
            joints = F.gaussian_noise(joints, config.noise_std, rng)
        return joints

    def __repr__(self) -> str:
        return f"Augmentation({self.config})"


def build_augmentation(
    config: Mapping[str, Any] | AugmentationConfig | None,
    generator: np.random.Generator | None = None,
) -> Augmentation:
    """The training augmentation a recipe's dict describes. Call it as ``augment(joints,
    generator)``; without a generator it uses ``generator`` given here (or a fresh one)."""
    if not isinstance(config, AugmentationConfig):
        config = AugmentationConfig.from_dict(config)
    return Augmentation(config, generator)
