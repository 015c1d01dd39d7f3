"""Pure functions over skeleton arrays: denoising, normalisation, resampling, augmentation.

Every function takes a float array ``joints`` of shape (T, M, V, C) -- frames, persons, joints,
coordinates -- and returns a new array (inputs are never modified). A person absent in a frame is
all zeros there, and every function here keeps it so: nothing moves a zero person away from zero.

The recipes followed (by name, so results can be compared with the papers that use them):

- **SGN / CTR-GCN denoising** (Zhang et al., CVPR 2020, ``data/ntu/get_raw_denoised_data.py`` and
  ``seq_transformation.py``; CTR-GCN reuses the same scripts): ``denoise_bodies``,
  ``remove_empty_frames``, ``translate_to_first_frame``.
- **2s-AGCN / MS-G3D** ``pre_normalization`` (Shi et al., CVPR 2019; Liu et al., CVPR 2020):
  ``select_most_active``, ``centre_per_frame``, ``align_bone_to_axis``.
- **PYSKL** ``PreNormalize3D`` (Duan et al., 2022): ``keep_main_body_frames``,
  ``translate_to_first_frame`` and the same two ``align_bone_to_axis`` rotations.
- Uniform frame sampling as in SGN / TSN (one frame from each of N equal segments, the centre one
  at test time, a random one in training): ``uniform_frame_indices``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

# SGN's published thresholds (get_raw_denoised_data.py).
NOISE_LENGTH_THRESHOLD = 11  # noise_len_thres: a body seen in <= 11 frames is noise
NOISE_SPREAD_RATIO = 0.8  # noise_spr_thres1: x-extent > 0.8 * y-extent is not a standing body
NOISE_SPREAD_THRESHOLD = 0.69754  # noise_spr_thres2: share of such frames that makes a body noise


# ---------------------------------------------------------------------------------------------
# Presence and motion


def person_presence(joints: np.ndarray) -> np.ndarray:
    """(T, M) bool: the person has at least one non-zero coordinate in the frame."""
    return np.any(joints != 0, axis=(2, 3))


def pooled_motion(points: np.ndarray) -> float:
    """SGN's body motion: the per-axis variance of all the body's joints over all its frames
    pooled together (``np.sum(np.var(joints.reshape(-1, 3), axis=0))``), summed over axes."""
    if points.size == 0:
        return 0.0
    return float(np.sum(np.var(points.reshape(-1, points.shape[-1]), axis=0)))


def activity_energy(person: np.ndarray) -> float:
    """2s-AGCN's ``get_nonzero_std``: over the person's non-empty frames (T', V, C), the standard
    deviation of each coordinate over frames and joints, summed over coordinates."""
    person = person[np.any(person != 0, axis=(1, 2))]
    if len(person) == 0:
        return 0.0
    return float(sum(person[..., axis].std() for axis in range(person.shape[-1])))


# ---------------------------------------------------------------------------------------------
# SGN / CTR-GCN body denoising


@dataclass(frozen=True)
class DenoisedBodies:
    """Result of ``denoise_bodies``.

    Attributes:
        joints: (T, 2, V, C): actor 1 and actor 2 (zeros when there is none).
        actors: the input person indices placed in each actor slot, in placement order.
        dropped: input person index -> why it was removed (``length``, ``spread``, ``overlap``).
    """

    joints: np.ndarray
    actors: tuple[tuple[int, ...], tuple[int, ...]]
    dropped: dict[int, str] = field(default_factory=dict)

    @property
    def num_actors(self) -> int:
        return sum(1 for slot in self.actors if slot)


def _spread_noise_frames(body: np.ndarray, ratio: float) -> np.ndarray:
    """(T',) bool: frames where the body is wider (x) than ``ratio`` times its height (y)."""
    extent = body.max(axis=1) - body.min(axis=1)  # (T', C)
    return extent[:, 0] > ratio * extent[:, 1]


def denoise_bodies(
    joints: np.ndarray,
    presence: np.ndarray | None = None,
    length_threshold: int = NOISE_LENGTH_THRESHOLD,
    spread_ratio: float = NOISE_SPREAD_RATIO,
    spread_threshold: float = NOISE_SPREAD_THRESHOLD,
) -> DenoisedBodies:
    """Keep at most two actors of a multi-body recording, following SGN's
    ``get_raw_denoised_data.py`` (``denoising_bodies_data`` + ``get_two_actors_points``).

    ``joints`` holds one person slot per tracked body (NTU: one per bodyID, in order of first
    appearance), ``presence`` (T, M) says in which frames each body was tracked (default: where
    it is non-zero). The steps, with SGN's published thresholds:

    1. drop bodies tracked in ``<= length_threshold`` (11) frames; stop if one body is left;
    2. spread: a frame is noisy when the body's x-extent exceeds ``spread_ratio`` (0.8) times
       its y-extent; a body with ``>= spread_threshold`` (69.754 %) noisy frames is dropped (while
       more than one body is left); otherwise its motion becomes the smaller of its motion and
       the motion over its non-noisy frames;
    3. rank the remaining bodies by motion (``pooled_motion``), most moving first (ties keep
       the order of first appearance);
    4. the most moving body is actor 1; each next body joins actor 1 if their frame spans do not
       overlap (SGN: ``min(end1, end) - max(start1, start) <= 0``), else actor 2 under the same
       rule (actor 2's span starts as SGN's virtual ``[0, 0]``), else it is dropped.

    Simplifications, because we start from bodies tracked by ID rather than SGN's intermediate
    pickle: a body's frames are the frames where it is present (SGN assumes they are contiguous);
    if step 1 drops every body, the longest-tracked one is kept instead of failing; SGN's third,
    disabled step (motion thresholds) is not applied, as in the published code.
    """
    if presence is None:
        presence = person_presence(joints)
    frames, persons = presence.shape
    lengths = presence.sum(axis=0)
    dropped: dict[int, str] = {}
    bodies = [m for m in range(persons) if lengths[m] > 0]
    motion = {m: pooled_motion(joints[presence[:, m], m]) for m in bodies}

    survivors = [m for m in bodies if lengths[m] > length_threshold]
    dropped.update({m: "length" for m in bodies if m not in survivors})
    if not survivors and bodies:
        longest = max(bodies, key=lambda m: (lengths[m], -m))
        survivors = [longest]
        del dropped[longest]

    if len(survivors) > 1:
        for body in list(survivors):
            if len(survivors) == 1:
                break
            points = joints[presence[:, body], body]  # (T', V, C)
            noisy = _spread_noise_frames(points, spread_ratio)
            if not noisy.any():
                continue
            if noisy.mean() >= spread_threshold:
                survivors.remove(body)
                dropped[body] = "spread"
            else:
                motion[body] = min(motion[body], pooled_motion(points[~noisy]))

    ranked = sorted(survivors, key=lambda m: -motion[m])  # stable: first appearance breaks ties
    out = np.zeros((frames, 2, *joints.shape[2:]), dtype=joints.dtype)
    actors: tuple[list[int], list[int]] = ([], [])
    if ranked:
        spans = [None, (0, 0)]
        for body in ranked:
            where = np.flatnonzero(presence[:, body])
            start, end = int(where[0]), int(where[-1])
            slot = None
            for candidate in (0, 1):
                span = spans[candidate]
                if span is None or min(span[1], end) - max(span[0], start) <= 0:
                    slot = candidate
                    break
            if slot is None:
                dropped[body] = "overlap"
                continue
            out[where, slot] = joints[where, body]
            actors[slot].append(body)
            span = spans[slot]
            spans[slot] = (start, end) if span is None else (min(start, span[0]), max(end, span[1]))
    return DenoisedBodies(out, (tuple(actors[0]), tuple(actors[1])), dropped)


def remove_empty_frames(joints: np.ndarray) -> np.ndarray:
    """Drop the frames where every person is all zeros (SGN's ``remove_missing_frames``)."""
    return joints[person_presence(joints).any(axis=1)]


def first_present_frame(joints: np.ndarray, person: int = 0) -> int | None:
    """Index of the first frame where ``person`` is non-zero, or None."""
    where = np.flatnonzero(person_presence(joints)[:, person])
    return int(where[0]) if len(where) else None


def translate_to_first_frame(joints: np.ndarray, joint: int, person: int = 0) -> np.ndarray:
    """Subtract ``person``'s ``joint`` at its first present frame from every present joint.

    SGN's ``seq_translation`` (joint 2, 1-based, of actor 1 in its first real frame) and PYSKL's
    ``PreNormalize3D`` centring (``skeleton[0, 0, 1]``) are this with ``joint`` = spine middle.
    Joints that are zero (absent persons) stay zero.
    """
    frame = first_present_frame(joints, person)
    if frame is None:
        return joints.copy()
    return translate_to_point(joints, joints[frame, person, joint])


def translate_to_point(joints: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """Subtract a fixed point from every non-zero joint (zeros stay zero)."""
    present = np.any(joints != 0, axis=-1, keepdims=True)
    return np.where(present, joints - origin, 0).astype(joints.dtype)


# ---------------------------------------------------------------------------------------------
# 2s-AGCN / MS-G3D and PYSKL normalisation


def select_most_active(joints: np.ndarray, count: int = 2, pad: bool = True) -> np.ndarray:
    """Keep the ``count`` persons of highest ``activity_energy``, most active first, as 2s-AGCN's
    ``read_xyz`` does (``energy.argsort()[::-1][0:max_body_true]``); with ``pad``, a clip of fewer
    persons is padded with zero persons to ``count`` (2s-AGCN's fixed M), else it keeps its own."""
    energy = np.array([activity_energy(joints[:, m]) for m in range(joints.shape[1])])
    order = sorted(range(len(energy)), key=lambda m: -energy[m])[:count]
    kept = joints[:, order]
    if pad and kept.shape[1] < count:
        kept = np.pad(kept, ((0, 0), (0, count - kept.shape[1]), (0, 0), (0, 0)))
    return kept


def centre_per_frame(joints: np.ndarray, joint: int, person: int = 0) -> np.ndarray:
    """Subtract, frame by frame, ``person``'s ``joint`` in that frame from every present joint
    (2s-AGCN ``pre_normalization``: ``(s - main_body_center) * mask``). In a frame where the
    main person is absent its centre is zero, so the others are left as they are (as published)."""
    centre = joints[:, person : person + 1, joint : joint + 1]  # (T, 1, 1, C)
    present = np.any(joints != 0, axis=-1, keepdims=True)
    return np.where(present, joints - centre, 0).astype(joints.dtype)


def keep_main_body_frames(joints: np.ndarray) -> np.ndarray:
    """PYSKL ``PreNormalize3D``: of the first two persons, the one present in more frames becomes
    person 0 (ties keep person 0), and only the frames where it is present are kept."""
    presence = person_presence(joints)
    if joints.shape[1] >= 2 and presence[:, 1].sum() > presence[:, 0].sum():
        order = [1, 0, *range(2, joints.shape[1])]
        joints, presence = joints[:, order], presence[:, order]
    return joints[presence[:, 0]]


def rotation_matrix(axis: np.ndarray, angle: float) -> np.ndarray:
    """3x3 matrix of a rotation by ``angle`` radians about ``axis`` (Euler-Rodrigues; the
    ``rotation_matrix`` of 2s-AGCN / PYSKL). The identity for a zero axis or angle."""
    axis = np.asarray(axis, dtype=np.float64)
    norm = float(np.linalg.norm(axis))
    if norm < 1e-6 or abs(angle) < 1e-6:
        return np.eye(3)
    axis = axis / norm
    a = math.cos(angle / 2.0)
    b, c, d = -axis * math.sin(angle / 2.0)
    aa, bb, cc, dd = a * a, b * b, c * c, d * d
    bc, ad, ac, ab, bd, cd = b * c, a * d, a * c, a * b, b * d, c * d
    return np.array(
        [
            [aa + bb - cc - dd, 2 * (bc + ad), 2 * (bd - ac)],
            [2 * (bc - ad), aa + cc - bb - dd, 2 * (cd + ab)],
            [2 * (bd + ac), 2 * (cd - ab), aa + dd - bb - cc],
        ]
    )


def rotation_onto(vector: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The shortest rotation taking the direction of ``vector`` onto ``target`` (as 2s-AGCN:
    about ``vector x target`` by the angle between them). Unlike the published helper, a vector
    pointing exactly away from the target is turned by 180 degrees instead of left alone."""
    vector = np.asarray(vector, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if np.linalg.norm(vector) < 1e-9:
        return np.eye(3)
    unit = vector / np.linalg.norm(vector)
    goal = target / np.linalg.norm(target)
    angle = math.acos(float(np.clip(np.dot(unit, goal), -1.0, 1.0)))
    axis = np.cross(unit, goal)
    if np.linalg.norm(axis) < 1e-9 and angle > math.pi / 2:
        helper = np.eye(3)[int(np.argmin(np.abs(goal)))]
        axis = np.cross(goal, helper)
    return rotation_matrix(axis, angle)


def apply_rotation(joints: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Rotate every joint (column vectors: ``matrix @ joint``); zeros stay zeros."""
    return np.einsum("tmvc,kc->tmvk", joints, matrix).astype(joints.dtype)


def align_bone_to_axis(
    joints: np.ndarray,
    bone: tuple[int, int],
    axis: Sequence[float],
    person: int = 0,
    sign: float = 1.0,
) -> np.ndarray:
    """Rotate the clip so that ``sign * (joint[bone[1]] - joint[bone[0]])`` of ``person`` in its
    first present frame points along ``axis``.

    2s-AGCN / PYSKL use it twice: base of spine -> middle of spine onto +z (``zaxis=[0, 1]``),
    then ``joint[8] - joint[4]`` (right shoulder minus left shoulder, ``xaxis=[8, 4]``) onto +x.
    The second rotation is the shortest one onto +x, so it keeps the spine exactly on +z only
    when spine and shoulders are perpendicular; that is the published behaviour, kept as is.
    """
    if joints.shape[-1] != 3:
        raise ValueError("rotations need 3D coordinates")
    frame = first_present_frame(joints, person)
    if frame is None:
        return joints.copy()
    start, end = joints[frame, person, bone[0]], joints[frame, person, bone[1]]
    return apply_rotation(joints, rotation_onto(sign * (end - start), np.asarray(axis)))


def body_axes(pose: np.ndarray, up: tuple[int, int], left_right: tuple[int, int]) -> np.ndarray:
    """The rotation (3 x 3, rows = new axes) that turns a pose's own axes into the coordinate
    axes: its up bone onto +y exactly, its left-right bone (towards the person's left), made
    perpendicular to up, onto +x, and their cross product onto +z. With a degenerate or absent
    (zero end) left-right bone only up is aligned (the shortest rotation); with a degenerate or
    absent up bone, nothing."""
    present = np.any(pose != 0, axis=-1)
    upward = pose[up[1]] - pose[up[0]]
    if not present[list(up)].all() or np.linalg.norm(upward) < 1e-9:
        return np.eye(3)
    upward = upward / np.linalg.norm(upward)
    left = pose[left_right[1]] - pose[left_right[0]]
    left = left - np.dot(left, upward) * upward  # Gram-Schmidt: perpendicular to up
    if not present[list(left_right)].all() or np.linalg.norm(left) < 1e-9:
        return rotation_onto(upward, np.array([0.0, 1.0, 0.0]))
    left = left / np.linalg.norm(left)
    return np.stack([left, upward, np.cross(left, upward)])


def canonical_frame(
    joints: np.ndarray,
    center: int,
    up: tuple[int, int],
    left_right: tuple[int, int],
    bones: Sequence[tuple[int, int]],
    person: int = 0,
) -> np.ndarray:
    """Put a clip in its main person's own frame of reference, from the layout's joints only.

    Taken from ``person`` in its first present frame (so the transform is causal: a stream can
    apply it from that frame on): translate its ``center`` joint to the origin; for 3D joints,
    rotate its ``up`` bone onto +y and its ``left_right`` bone (made perpendicular to up) onto
    +x (``body_axes``); divide by its mean bone length over the layout's ``bones`` whose two ends
    are present, so coordinates are in bone lengths whatever the unit (metres, millimetres,
    pixels). Every person gets the same transform (their relative placement is kept); absent
    joints stay zero. Any layout works, a user's JSON layout included.
    """
    frame = first_present_frame(joints, person)
    if frame is None:
        return joints.copy()
    pose = joints[frame, person].astype(np.float64)  # (V, C)
    result = translate_to_point(joints, pose[center])
    if joints.shape[-1] == 3:
        result = apply_rotation(result, body_axes(pose, up, left_right))
    present = np.any(pose != 0, axis=-1)
    lengths = [np.linalg.norm(pose[j] - pose[i]) for i, j in bones if present[i] and present[j]]
    size = float(np.mean(lengths)) if lengths else 0.0
    return scale_joints(result, 1.0 / size) if size > 0 else result


# ---------------------------------------------------------------------------------------------
# Data-set specific coordinates


def sbu_to_world(joints: np.ndarray) -> np.ndarray:
    """SBU Kinect Interaction's normalised coordinates to metres, by the conversion its README
    gives (``X = 1280 - x * 2560``, ``Y = 960 - y * 1920``, ``Z = z * 10000 / 7.8125``, in
    millimetres), divided by 1000. Undoes the anisotropic normalisation (so rotations are
    rotations) and makes y point up. Absent persons stay zero."""
    scale = np.array([-2560.0, -1920.0, 10000.0 / 7.8125]) / 1000.0
    offset = np.array([1280.0, 960.0, 0.0]) / 1000.0
    present = np.any(joints != 0, axis=-1, keepdims=True)
    return np.where(present, joints * scale + offset, 0).astype(joints.dtype)


def mean_bone_length(
    joints: np.ndarray, bones: Sequence[tuple[int, int]], person: int = 0, frame: int | None = None
) -> float:
    """Mean length of ``bones`` of ``person`` in ``frame`` (its first present frame by default):
    a body size that needs only the first frame, so scaling by it stays causal."""
    if frame is None:
        frame = first_present_frame(joints, person)
    if frame is None or not bones:
        return 0.0
    pose = joints[frame, person]
    return float(np.mean([np.linalg.norm(pose[j] - pose[i]) for i, j in bones]))


# ---------------------------------------------------------------------------------------------
# Frame sampling and augmentation


def uniform_frame_indices(
    num_frames: int, count: int, generator: np.random.Generator | None = None
) -> np.ndarray:
    """``count`` frame indices, one from each of ``count`` equal segments of the clip: the middle
    of each segment when ``generator`` is None (evaluation), a uniformly random frame inside it
    otherwise (training), as SGN and TSN sample. Shorter clips repeat frames."""
    if num_frames <= 0 or count <= 0:
        raise ValueError(f"need frames and a positive count, got {num_frames} and {count}")
    edges = np.linspace(0, num_frames, count + 1)
    if generator is None:
        positions = (edges[:-1] + edges[1:]) / 2
    else:
        positions = edges[:-1] + generator.random(count) * (edges[1:] - edges[:-1])
    return np.minimum(np.floor(positions).astype(np.int64), num_frames - 1)


def random_crop(joints: np.ndarray, min_ratio: float, generator: np.random.Generator) -> np.ndarray:
    """A contiguous sub-sequence of ``ratio * T`` frames (``ratio`` uniform in
    ``[min_ratio, 1]``, at least one frame) at a random start."""
    frames = joints.shape[0]
    ratio = generator.uniform(min_ratio, 1.0)
    length = max(1, min(frames, round(ratio * frames)))
    start = int(generator.integers(0, frames - length + 1))
    return joints[start : start + length]


def random_rotation_matrix(
    max_degrees: Sequence[float], generator: np.random.Generator
) -> np.ndarray:
    """Rotation by angles drawn uniformly in ``[-max, max]`` degrees about x, then y, then z."""
    angles = np.radians([generator.uniform(-limit, limit) for limit in max_degrees])
    cx, cy, cz = np.cos(angles)
    sx, sy, sz = np.sin(angles)
    about_x = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    about_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    about_z = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return about_z @ about_y @ about_x


def random_rotate(
    joints: np.ndarray, max_degrees: Sequence[float], generator: np.random.Generator
) -> np.ndarray:
    """Rotate the whole clip by one random rotation (``max_degrees`` about x, y, z for 3D data;
    2D keypoints turn in their plane by the z limit)."""
    if joints.shape[-1] == 2:
        angle = math.radians(generator.uniform(-max_degrees[2], max_degrees[2]))
        matrix = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    else:
        matrix = random_rotation_matrix(max_degrees, generator)
    return np.einsum("tmvc,kc->tmvk", joints, matrix).astype(joints.dtype)


def random_scale(
    joints: np.ndarray, low: float, high: float, generator: np.random.Generator
) -> np.ndarray:
    """Multiply every coordinate axis by its own factor drawn uniformly in ``[low, high]``."""
    factors = generator.uniform(low, high, size=joints.shape[-1])
    return (joints * factors).astype(joints.dtype)


def gaussian_noise(joints: np.ndarray, std: float, generator: np.random.Generator) -> np.ndarray:
    """Add N(0, std^2) noise to the joints of present persons only (absent ones stay zero)."""
    present = np.any(joints != 0, axis=-1, keepdims=True)
    noise = generator.normal(0.0, std, size=joints.shape)
    return np.where(present, joints + noise, 0).astype(joints.dtype)


def translate_to_persons_midpoint(joints: np.ndarray, joint: int) -> np.ndarray:
    """Subtract the mid-point of ``joint`` over the persons present in the first frame where
    anyone is present (for two-person data such as SBU: the point between the two torsos)."""
    presence = person_presence(joints)
    frames = np.flatnonzero(presence.any(axis=1))
    if len(frames) == 0:
        return joints.copy()
    first = int(frames[0])
    origin = joints[first, presence[first], joint].mean(axis=0)
    return translate_to_point(joints, origin)


def scale_joints(joints: np.ndarray, factor: float) -> np.ndarray:
    """Multiply every coordinate by ``factor`` (zeros stay zeros)."""
    return (joints * factor).astype(joints.dtype)
