"""What built streams borrow from their pool of training clips, beyond the clips themselves:
idle time that moves, and placements that say nothing about the class.

**Background that moves.** A recorded stream's background is not a still pose. Between
SFINGE3D's gestures the relaxed hand turns and its fingers move (the annotated background frames
of the 72 Sequences: the hand turns by 3.0 degrees a frame and, the turn removed, its joints move
by 0.061 hand sizes a frame relative to the palm, medians; the Dictionary's gestures: 1.4 degrees
and 0.027). A detector trained on streams whose background holds one pose learns that a moving
hand is a gesture, and fires on recorded background (``docs/detection-results.md``). The remedy
here uses no recorded background at all: idle time *wanders* between poses of the training
clips, at the speeds the training clips move.

- **Key poses**: the first and last frame of every training clip (the poses a built stream
  already holds as background), each person relative to its centre joint (``Layout.center``)
  and divided by its mean bone length.
- **Speeds**: every frame-to-frame change of the training clips' poses (the mean distance a joint
  moves relative to the centre joint, in mean bone lengths a frame, hand or body turning
  included): the distribution of how fast the data's own poses change, still frames included.

``wander`` starts at a pose and moves through key poses drawn at random: each leg turns the pose
towards the key's orientation (the best rotation between the two, ``kabsch``, interpolated
about its axis) while the shape moves linearly towards the key's shape, cosine-eased, at a speed
drawn from the measured ones (the leg's length in frames is the mean joint distance over the
speed), so the synthetic background changes as fast, frame by frame, as the gestures do, and the
amount of motion alone no longer tells a gesture from background. The centre joint stays where
it is (a recorded hand's path between gestures did not make the detector fire; its shape and
turning did).

**Placements that say nothing about the class.** Where a clip was recorded and how the hand or
body was turned can tell its class: SFINGE3D's Dictionary gestures were recorded class by class,
and the first frame's palm position and hand orientation alone name the class of 60 % of them
(a nearest-neighbour probe; chance is 8 %), which a detector learns and recorded streams do not
honour. ``place`` moves a clip to the placement of another clip of the pool, drawn at random:
its centre joint's path starts where the other clip's started, and its shape is turned about the
centre joint, in every frame, by the rotation that best turns its first pose into the other
clip's first pose; the centre joint's path itself is not turned (a swipe keeps its direction).
Placements keep the pool's own distribution, but no longer follow the class.

Everything random comes from the generator the caller passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from stalstm.clip import Clip
from stalstm.errors import DataError
from stalstm.layouts import get_layout

MIN_SPEED = 1e-3  # mean bone lengths a frame: a still frame's speed makes a leg a hold


@dataclass(frozen=True)
class PoolStatistics:
    """Key poses, speeds and placements measured on training clips (``measure``).

    Attributes:
        keys: (N, M, V, C) key poses, each person relative to its centre joint and divided by
            its mean bone length (absent persons all zero): clip i's first frame is key 2 i,
            its last frame key 2 i + 1.
        speeds: (S,) frame-to-frame pose changes of the clips, mean bone lengths a frame.
        centre: the layout's centre joint.
        bones: the layout's bones (a pose's size is their mean length).
        anchors: (N / 2, M, C) clip i's centre joint in its first frame, as recorded.
    """

    keys: np.ndarray
    speeds: np.ndarray
    centre: int
    bones: tuple[tuple[int, int], ...]
    anchors: np.ndarray | None = None  # (N/2, M, C) every clip's first centre-joint position

    @classmethod
    def measure(cls, clips: Sequence[Clip]) -> PoolStatistics:
        """Key poses and speeds of ``clips`` (one layout); a ``DataError`` for a layout without
        bones (no size to measure speeds in)."""
        if not clips:
            raise ValueError("background motion needs training clips to measure")
        layout = get_layout(clips[0].layout)
        if not layout.bones:
            raise DataError(clips[0].name, f"layout {layout.name} has no bones to measure sizes")
        bones = tuple((int(a), int(b)) for a, b in layout.bones)
        keys, speeds, anchors = [], [], []
        for clip in clips:
            anchors.append(clip.joints[0, :, layout.center])
            shapes = relative_shapes(clip.joints, layout.center, bones)  # (T, M, V, C)
            keys.extend([shapes[0], shapes[-1]])
            present = np.any(clip.joints != 0, axis=(-2, -1))  # (T, M)
            moved = np.linalg.norm(np.diff(shapes, axis=0), axis=-1).mean(axis=-1)  # (T-1, M)
            both = present[1:] & present[:-1]
            speeds.append(moved[both])
        values = np.concatenate(speeds) if speeds else np.zeros(0)
        if values.size == 0:
            raise DataError(clips[0].name, "the clips have no two consecutive frames to measure")
        return cls(np.stack(keys).astype(np.float32), values.astype(np.float32),
                   layout.center, bones, np.stack(anchors).astype(np.float32))  # fmt: skip

    def summary(self) -> dict[str, float]:
        """The measured speeds' quartiles (for logs and the docs)."""
        quartiles = np.percentile(self.speeds, [25, 50, 75])
        return {"keys": len(self.keys), "speed_quartiles": [float(q) for q in quartiles]}


def pose_sizes(pose: np.ndarray, bones: Sequence[tuple[int, int]]) -> np.ndarray:
    """(..., M, V, C) -> (..., M) mean bone length of every person."""
    first = np.array([a for a, _ in bones])
    second = np.array([b for _, b in bones])
    return np.linalg.norm(pose[..., second, :] - pose[..., first, :], axis=-1).mean(axis=-1)


def relative_shapes(joints: np.ndarray, centre: int, bones: Sequence[tuple[int, int]]):
    """(T, M, V, C) -> the same, every person relative to its centre joint and divided by its
    size in that frame (0 for an absent person)."""
    sizes = pose_sizes(joints, bones)[..., None, None]  # (T, M, 1, 1)
    relative = joints - joints[..., centre : centre + 1, :]
    return np.where(sizes > 0, relative / np.where(sizes > 0, sizes, 1.0), 0.0)


def kabsch(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The rotation R (C, C) with ``source @ R.T`` closest to ``target`` (both (V, C), centred
    on the same joint): the orthogonal Procrustes solution, reflections excluded."""
    covariance = source.T @ target
    left, _, right = np.linalg.svd(covariance)
    sign = np.sign(np.linalg.det(right.T @ left.T)) or 1.0
    correction = np.eye(len(covariance))
    correction[-1, -1] = sign
    return right.T @ correction @ left.T


def partial_rotations(rotation: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """(F, C, C) rotations each ``fraction`` of the way from the identity to ``rotation``, about
    its axis (2-D or 3-D; Rodrigues' formula)."""
    fractions = np.asarray(fractions, dtype=np.float64)
    if rotation.shape == (2, 2):
        angles = fractions * np.arctan2(rotation[1, 0], rotation[0, 0])
        cos, sin = np.cos(angles), np.sin(angles)
        return np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    from scipy.spatial.transform import Rotation

    vector = Rotation.from_matrix(rotation).as_rotvec()  # axis x angle, any angle
    angle = float(np.linalg.norm(vector))
    if angle < 1e-9:
        return np.repeat(np.eye(3)[None], len(fractions), axis=0)
    axis = vector / angle
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    angles = (fractions * angle)[:, None, None]
    return np.eye(3) + np.sin(angles) * cross + (1 - np.cos(angles)) * (cross @ cross)


def _ease(steps: np.ndarray) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(np.pi * steps)


def wander(
    start: np.ndarray,
    frames: int,
    statistics: PoolStatistics,
    generator: np.random.Generator,
) -> np.ndarray:
    """(frames, M, V, C) poses wandering from ``start`` (M, V, C) through key poses (see the
    module docstring); every present person moves independently, absent ones stay 0."""
    output = np.repeat(start[None].astype(np.float64), frames, axis=0)
    if frames == 0:
        return output.astype(np.float32)
    sizes = pose_sizes(start, statistics.bones)  # (M,)
    for person in range(start.shape[0]):
        if not np.any(start[person] != 0) or sizes[person] <= 0:
            continue
        size = float(sizes[person])
        centre = start[person, statistics.centre]
        current = start[person] - centre  # (V, C), real units
        made = 0
        while made < frames:
            key = statistics.keys[int(generator.integers(len(statistics.keys))), person] * size
            if not np.any(key != 0):  # the key's clip lacks this person: hold
                key = current
            rotation = kabsch(current, key)
            aligned = key @ rotation  # the key's shape in the current orientation
            distance = float(np.linalg.norm(key - current, axis=-1).mean()) / size
            speed = max(float(statistics.speeds[int(generator.integers(len(statistics.speeds)))]),
                        MIN_SPEED)  # fmt: skip
            length = max(1, round(distance / speed))
            count = min(length, frames - made)
            weights = _ease(np.arange(1, count + 1) / length)[:, None, None]  # (F, 1, 1)
            shapes = (1 - weights) * current + weights * aligned  # (F, V, C)
            turns = partial_rotations(rotation, weights[:, 0, 0])  # (F, C, C)
            output[made : made + count, person] = shapes @ turns.transpose(0, 2, 1) + centre
            made += count
            current = output[made - 1, person] - centre
    return output.astype(np.float32)


def place(clip: Clip, statistics: PoolStatistics, generator: np.random.Generator) -> Clip:
    """``clip`` at the placement of a pool clip drawn at random (module docstring); joints
    absent in a frame stay 0, orientations (``extras["orientation"]``, (w, x, y, z)) turn with
    the shape."""
    if statistics.anchors is None:
        raise ValueError("these pool statistics have no placements (measure them with clips)")
    other = int(generator.integers(len(statistics.anchors)))
    centre = statistics.centre
    joints = clip.joints.astype(np.float64)
    placed = np.zeros_like(joints)
    turns = {}
    for person in range(joints.shape[1]):
        own = joints[0, person] - joints[0, person, centre]
        target = statistics.keys[2 * other, person]
        if not np.any(own != 0) or not np.any(target != 0):
            placed[:, person] = joints[:, person]  # absent here or there: left as recorded
            continue
        rotation = kabsch(own, target)
        turns[person] = rotation
        origin = joints[:, person, centre : centre + 1]  # (T, 1, C)
        moved = (joints[:, person] - origin) @ rotation.T + origin
        moved = moved - joints[0, person, centre] + statistics.anchors[other, person]
        present = np.any(joints[:, person] != 0, axis=-1, keepdims=True)
        placed[:, person] = np.where(present, moved, 0.0)
    extras = dict(clip.extras)
    if "orientation" in extras and turns and joints.shape[-1] == 3:
        from scipy.spatial.transform import Rotation

        orientation = np.array(extras["orientation"], dtype=np.float64)  # (T, M, V, 4)
        for person, rotation in turns.items():
            quaternions = orientation[:, person].reshape(-1, 4)
            valid = np.linalg.norm(quaternions, axis=-1) > 0
            if np.any(valid):
                xyzw = Rotation.from_quat(quaternions[valid][:, [1, 2, 3, 0]])
                turned = (Rotation.from_matrix(rotation) * xyzw).as_quat()[:, [3, 0, 1, 2]]
                quaternions[valid] = turned
            orientation[:, person] = quaternions.reshape(orientation.shape[0], -1, 4)
        extras["orientation"] = orientation.astype(np.float32)
    return replace(clip, joints=placed.astype(np.float32), extras=extras)
