"""Input statistics: what the model's input standardisation uses, and whether data look prepared.

``input_statistics`` computes, per (joint, coordinate), the mean and standard deviation of a
training set's present joints (a joint whose coordinates are all exactly 0 is absent: the
convention of every reader for a missing person). The model standardises its input with them
(``STALSTM.set_input_statistics``); they are buffers of the model, so they travel in the model
file and in the ONNX graphs, and training, ``predict``, the online ``Recognizer`` and ONNX apply
exactly the same transform.

``placement_warnings`` reads the same statistics for signs that the coordinates were never
centred or scaled (raw camera coordinates with the person metres from the sensor, millimetres,
pixels): ``stalstm info`` prints them and training warns with them. The model copes with either
(it standardises), but the rotation and scale augmentations act about the origin and in the
data's units, so a layout-driven preset (``canonical``) is still what such data should get.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

# |mean skeleton centre| above this many body radii: not centred (a centred skeleton's centre
# sits within about one radius of the origin; a person 3 m from a sensor is ~10 radii away)
OFF_CENTRE_RADII = 3.0
# ... and above this many of the coordinates' own typical deviations: an offset that every frame
# shares (raw camera coordinates: 18-21 deviations on MSR and UTD-MHAD), not a centred clip whose
# body moves away from its first frame's reference joint (SFINGE3D hand streams with the ``hand``
# preset: 1-1.5, though 3 radii away; prepared body data: under 2)
OFF_CENTRE_DEVIATIONS = 5.0
# a body radius (RMS distance of the mean pose's joints from its centre) outside this range:
# not in metres nor in bone lengths (millimetres, pixels, or nearly collapsed coordinates)
BODY_RADIUS_RANGE = (0.02, 20.0)
DEVIATION_FLOOR = 0.01  # deviations below 1 % of the typical one are raised to it
DEFAULT_MAX_CLIPS = 2000


class InputPlacementWarning(UserWarning):
    """The training input looks uncentred or unscaled (see ``placement_warnings``)."""


@dataclass(frozen=True)
class InputStatistics:
    """Per (joint, coordinate) mean and deviation, and how many present values each counts."""

    mean: np.ndarray  # (K, C)
    deviation: np.ndarray  # (K, C), floored (see ``input_statistics``)
    present: np.ndarray  # (K,) present joint-frames counted per joint
    clips: int

    def shared_centre(self) -> np.ndarray:
        """One centre for every joint: the mean of all present joints' coordinates (C,),
        repeated per joint that occurs (0 where a joint never occurs). Subtracting it moves the
        data, not the skeleton's shape: each joint keeps its place about the body's centre."""
        occurs = self.present > 0
        if not occurs.any():
            return np.zeros_like(self.mean)
        weights = self.present[occurs] / self.present[occurs].sum()
        centre = (self.mean[occurs] * weights[:, None]).sum(axis=0)  # (C,)
        return np.where(occurs[:, None], centre, 0.0).astype(np.float32)

    def shared_deviation(self) -> np.ndarray:
        """One deviation for every feature: the RMS of the per-feature deviations of the
        features that occur (1 where a feature never occurs)."""
        occurs = np.broadcast_to((self.present > 0)[:, None], self.deviation.shape)
        typical = float(np.sqrt(np.mean(self.deviation[occurs] ** 2))) if occurs.any() else 1.0
        return np.where(occurs, typical, 1.0).astype(np.float32)


def input_statistics(
    clips: Iterable[np.ndarray], deviation_floor: float = DEVIATION_FLOOR
) -> InputStatistics:
    """Statistics of ``clips`` ((T, K, C) arrays, persons flattened) over present joints.

    A deviation below ``deviation_floor`` times the typical deviation (RMS over the features
    that occur) is raised to that floor (a joint the preparation pins, e.g. the centre joint of
    a centred clip, must not have its float noise blown up); a joint that never occurs gets mean
    0 and deviation 1 (it stays 0 after standardising)."""
    total = total_square = counts = None
    number = 0
    for joints in clips:
        values = np.asarray(joints, dtype=np.float64)  # (T, K, C)
        present = np.any(values != 0, axis=-1)  # (T, K)
        if total is None:
            total = np.zeros(values.shape[1:])
            total_square = np.zeros(values.shape[1:])
            counts = np.zeros(values.shape[1])
        values = values * present[..., None]
        total += values.sum(axis=0)
        total_square += (values**2).sum(axis=0)
        counts += present.sum(axis=0)
        number += 1
    if total is None or counts is None or total_square is None:
        raise ValueError("no clips to compute input statistics from")
    seen = np.maximum(counts, 1.0)[:, None]
    mean = total / seen
    deviation = np.sqrt(np.maximum(total_square / seen - mean**2, 0.0))
    occurs = np.broadcast_to((counts > 0)[:, None], deviation.shape)
    typical = float(np.sqrt(np.mean(deviation[occurs] ** 2))) if occurs.any() else 0.0
    floor = deviation_floor * typical if typical > 0 else 1.0
    deviation = np.where(occurs, np.maximum(deviation, floor), 1.0)
    mean = np.where(occurs, mean, 0.0)
    return InputStatistics(mean.astype(np.float32), deviation.astype(np.float32), counts, number)


def dataset_statistics(dataset, max_clips: int = DEFAULT_MAX_CLIPS) -> InputStatistics:
    """``input_statistics`` of a training ``Dataset`` of items ``dict(joints (T, K, C) tensor)``,
    over all its clips or ``max_clips`` evenly spaced ones (the same ones in every process)."""
    count = len(dataset)
    chosen = range(count) if count <= max_clips else np.linspace(0, count - 1, max_clips)
    return input_statistics(np.asarray(dataset[int(index)]["joints"]) for index in chosen)


def store_statistics(store, max_clips: int = DEFAULT_MAX_CLIPS) -> InputStatistics:
    """``input_statistics`` of a prepared store's clips (persons flattened), as the training
    set's would be before augmentation."""
    count = len(store)
    chosen = range(count) if count <= max_clips else np.linspace(0, count - 1, max_clips)

    def flattened(index: int) -> np.ndarray:
        joints = store.clip_joints(int(index))  # (T, M, V, C)
        return joints.reshape(joints.shape[0], -1, joints.shape[-1])

    return input_statistics(flattened(index) for index in chosen)


def placement_warnings(statistics: InputStatistics) -> list[str]:
    """What looks unprepared about data with these statistics (empty when nothing does)."""
    occurs = statistics.present > 0
    if not occurs.any():
        return []
    mean_pose = statistics.mean[occurs]  # (K', C): the average skeleton
    centre = mean_pose.mean(axis=0)
    radius = float(np.sqrt(np.mean(np.sum((mean_pose - centre) ** 2, axis=-1))))
    found = []
    distance = float(np.linalg.norm(centre))
    deviation = float(statistics.shared_deviation()[occurs][0, 0])
    if (
        radius > 0
        and distance > OFF_CENTRE_RADII * radius
        and distance > OFF_CENTRE_DEVIATIONS * deviation
    ):
        found.append(
            f"the input is far from centred: the average skeleton's centre is "
            f"{distance:.3g} from the origin, {distance / radius:.0f} times its own radius "
            f"({radius:.3g}); raw sensor coordinates? Prepare with --preset canonical (or the "
            "data set's preset): augmentation rotates and scales about the origin"
        )
    low, high = BODY_RADIUS_RANGE
    if not low <= radius <= high:
        found.append(
            f"the input's scale looks unusual: the average skeleton's radius is {radius:.3g} "
            f"(metres give about 0.3-0.5, bone lengths about 2); millimetres or pixels? "
            "--preset canonical measures coordinates in bone lengths"
        )
    return found
