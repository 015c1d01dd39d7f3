"""The skeleton part of a page: the prepared coordinates the model read, which persons are
present in each frame, the layout's bones, and the direction of "up" that the page turns to
the top of the screen (3D data orbits about it)."""

from __future__ import annotations

from typing import Any

import numpy as np

from stalstm.modelfile import LoadedModel
from stalstm.viewer.page import decimals_for, numbers


def skeleton_view(loaded: LoadedModel, joints: np.ndarray) -> dict[str, Any]:
    """The page's description of a skeleton sequence.

    ``joints`` (T, K, C) is what the model read: persons flattened person-major, absent persons
    all zeros. The returned ``coords`` are (T, K, C) flattened; ``present`` is (T, M) flattened,
    1 where a person has any non-zero joint; ``bones`` are one person's (from, to) joint pairs;
    ``centre`` and ``radius`` frame the whole sequence, ``size`` the largest single frame (the
    page's "follow the skeleton" view).
    """
    frames, num_joints, dims = joints.shape
    persons = loaded.num_persons
    per_person = num_joints // persons
    by_person = joints.reshape(frames, persons, per_person, dims).astype(np.float64)
    present = np.any(by_person != 0.0, axis=(2, 3))  # (T, M)
    shown = by_person[present] if present.any() else np.zeros((1, per_person, dims))
    points = shown.reshape(-1, dims)
    low, high = points.min(axis=0), points.max(axis=0)
    centre = (low + high) / 2.0
    radius = float(np.max(np.linalg.norm(points - centre, axis=1))) or 1.0
    radii = [frame_radius(by_person[t][present[t]]) for t in np.flatnonzero(present.any(axis=1))]
    size = max(radii, default=0.0) or radius
    layout = loaded.layout_object
    bones: list[list[int]] = []
    up = None
    if layout is not None and layout.num_joints == per_person:
        bones = [[int(start), int(end)] for start, end in layout.bones]
        up = up_direction(by_person, present, layout.up)
    return {
        "frames": frames,
        "dims": dims,
        "persons": persons,
        "joints_per_person": per_person,
        "joint_names": list(loaded.joint_names),
        "bones": bones,
        "up": up,
        "centre": numbers(centre, 6),
        "radius": radius,
        "size": size,
        "coords": numbers(joints, decimals_for(2.0 * radius)),
        "present": present.astype(int).ravel().tolist(),
    }


def frame_radius(persons: np.ndarray) -> float:
    """The largest distance of a frame's joints from their mean: (M', V, C) -> radius."""
    points = persons.reshape(-1, persons.shape[-1])
    return float(np.max(np.linalg.norm(points - points.mean(axis=0), axis=1)))


def up_direction(
    by_person: np.ndarray, present: np.ndarray, pair: tuple[int, int]
) -> list[float] | None:
    """The mean direction of the layout's "up" pair over the frames where its person is
    present, as a unit vector; None when it cannot be told (no person, or no length)."""
    start, end = pair
    vectors = by_person[:, :, end] - by_person[:, :, start]  # (T, M, C)
    vectors = vectors[present]
    if not len(vectors):
        return None
    mean = vectors.mean(axis=0)
    length = float(np.linalg.norm(mean))
    if length <= 1e-12:
        return None
    return numbers(mean / length, 6)


def model_facts(loaded: LoadedModel) -> dict[str, Any]:
    """What a page says about the model it shows."""
    return {
        "path": str(loaded.path) if loaded.path is not None else "",
        "variant": loaded.config.variant,
        "layout": loaded.layout,
        "preset": loaded.preset,
        "version": loaded.version,
    }
