"""Training-time augmentation of (T, M, V, C) arrays, configured by a plain dict (a recipe's
``augmentation:`` block) and driven by a ``numpy.random.Generator`` the caller passes in, so a
data loader can seed each item by (seed, epoch, index) and runs are reproducible.

Config keys (all optional; an absent or null key switches that step off), applied in this order:

- ``swap_persons``: probability of reversing the order of the persons (for two persons: swapping
  them), for data sets whose labels do not depend on which person is listed first (SBU);
- ``mirror``: probability of a left-right mirror: the coordinate ``mirror_axis`` (default 0, x)
  is negated and every left joint trades places with its right twin, paired by name in the
  layout ``mirror_layout`` (required with ``mirror``; ``left``/``right`` as a ``_``-separated
  part of the name, e.g. ``hand_left`` <-> ``hand_right``), so a mirrored skeleton is again a
  plausible body with the same action;
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

from stalstm.layouts import LayoutError, get_layout
from stalstm.transforms import functional as F


@dataclass(frozen=True)
class AugmentationConfig:
    """Validated augmentation settings (see the module docstring)."""

    crop_min_ratio: float | None = None
    num_frames: int | None = None
    rotation_degrees: tuple[float, float, float] | None = None
    scale: tuple[float, float] | None = None
    noise_std: float | None = None
    swap_persons: float | None = None
    mirror: float | None = None
    mirror_layout: str | None = None
    mirror_axis: int = 0

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
        if (swap := config.get("swap_persons")) is not None:
            values["swap_persons"] = _number("swap_persons", swap, 0.0, 1.0)
        values.update(_mirror_values(config))
        return cls(**values)

    def mirror_permutation(self) -> np.ndarray:
        """Joint order of the mirrored skeleton: index ``j`` of the output reads joint
        ``permutation[j]`` of the input (left and right twins exchanged, others in place)."""
        if self.mirror_layout is None:
            raise ValueError("augmentation key 'mirror' needs 'mirror_layout'")
        return left_right_permutation(self.mirror_layout)


def _mirror_values(config: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    layout = config.get("mirror_layout")
    if (probability := config.get("mirror")) is not None:
        values["mirror"] = _number("mirror", probability, 0.0, 1.0)
        if layout is None:
            raise ValueError("augmentation key 'mirror' needs 'mirror_layout' (a layout name)")
    if layout is not None:
        if not isinstance(layout, str):
            raise ValueError(f"augmentation key 'mirror_layout' must be a layout name: {layout!r}")
        left_right_permutation(layout)  # unknown layouts fail here, while the recipe is read
        values["mirror_layout"] = layout
    if (axis := config.get("mirror_axis")) is not None:
        if isinstance(axis, bool) or not isinstance(axis, int) or axis < 0:
            raise ValueError(
                f"augmentation key 'mirror_axis' must be a coordinate index >= 0: {axis!r}"
            )
        values["mirror_axis"] = axis
    return values


def left_right_permutation(layout_name: str) -> np.ndarray:
    """For a layout, the joint index permutation that exchanges every ``left`` joint with its
    ``right`` twin (names equal but for that ``_``-separated part); unpaired joints stay."""
    try:
        names = list(get_layout(layout_name).joint_names)
    except LayoutError as error:
        raise ValueError(f"augmentation key 'mirror_layout': {error}") from error
    index = {name: position for position, name in enumerate(names)}
    swapped = {"left": "right", "right": "left"}
    permutation = np.arange(len(names))
    for position, name in enumerate(names):
        twin = "_".join(swapped.get(part, part) for part in name.split("_"))
        if twin != name and twin not in index:
            raise ValueError(
                f"augmentation key 'mirror_layout': layout {layout_name!r} has {name!r} "
                f"but no {twin!r} to mirror it to"
            )
        permutation[position] = index.get(twin, position)
    return permutation


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
        self._mirror_permutation = config.mirror_permutation() if config.mirror else None

    def __call__(
        self, joints: np.ndarray, generator: np.random.Generator | None = None
    ) -> np.ndarray:
        rng = generator if generator is not None else self.generator
        config = self.config
        # each random step draws only when it is switched on, so enabling one leaves the draws of
        # recipes without it unchanged
        if config.swap_persons and rng.random() < config.swap_persons:
            joints = swap_persons(joints)
        if self._mirror_permutation is not None and rng.random() < config.mirror:
            joints = mirror(joints, self._mirror_permutation, config.mirror_axis)
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


def swap_persons(joints: np.ndarray) -> np.ndarray:
    """(T, M, V, C) with the persons in reverse order (two persons: swapped)."""
    return np.ascontiguousarray(joints[:, ::-1])


def mirror(joints: np.ndarray, permutation: np.ndarray, axis: int = 0) -> np.ndarray:
    """(T, M, V, C) mirrored: coordinate ``axis`` negated and joints reordered by
    ``permutation`` (``left_right_permutation``). Zeros (absent joints) stay zero."""
    if joints.shape[2] != len(permutation):
        raise ValueError(
            f"mirror: clip has {joints.shape[2]} joints, the layout {len(permutation)}"
        )
    if not 0 <= axis < joints.shape[-1]:
        raise ValueError(f"mirror: axis {axis} out of range for {joints.shape[-1]} coordinates")
    mirrored = joints[:, :, permutation].copy()
    mirrored[..., axis] *= -1
    return mirrored


def build_augmentation(
    config: Mapping[str, Any] | AugmentationConfig | None,
    generator: np.random.Generator | None = None,
) -> Augmentation:
    """The training augmentation a recipe's dict describes. Call it as ``augment(joints,
    generator)``; without a generator it uses ``generator`` given here (or a fresh one)."""
    if not isinstance(config, AugmentationConfig):
        config = AugmentationConfig.from_dict(config)
    return Augmentation(config, generator)
