"""Untrimmed training streams from trimmed clips: actions in a row with idle time and
transitions between them, so that any classification data set can train a detector.

A built stream is, for a list of clips (the actions, in order):

    idle | action 1 | idle, transition | action 2 | ... | action n | idle

- **idle**: ``idle_frames`` long, drawn uniformly in the given range, at the start, between
  actions and at the end. With ``idle: hold`` (stalstm 0.3.0) the neighbouring action's boundary
  pose held still; with ``idle: wander`` the pose moves from the boundary pose through key poses
  of the training clips at the speeds the training clips move (``stalstm.detection.background``;
  the first idle stretch is a wander played backwards, so that it ends at the first action's
  first pose). Either way plus tracker-like jitter (every coordinate moves by Gaussian noise of
  ``jitter`` x the pose's mean bone length, so the amount is right for any layout and unit);
- **transition**: the last idle pose moved into the first pose of the next action along a
  smooth (cosine-eased) interpolation, ``transition_frames`` long: the hand or body travels to
  where the next action starts, as it does in a real recording;
- **actions**: the clips' frames unchanged. Their frames carry the clip's label; idle and
  transition frames are background.

Per-frame orientations (``extras["orientation"]``, quaternions (w, x, y, z)) are carried
along when every clip has them: held in idle frames and normalised-linearly interpolated in
transitions (wandering idle time holds the boundary orientation: the recipes do not feed
orientations to the model). Everything random comes from the ``numpy.random.Generator`` the
caller passes, so a stream is a function of its seed (``random_stream`` below draws the clips
too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from stalstm.clip import Clip
from stalstm.detection.background import PoolStatistics, place, wander
from stalstm.errors import DataError
from stalstm.layouts import get_layout
from stalstm.stream import Segment, Stream, segments_from_frame_labels
from stalstm.transforms import functional as F

IDLE_KINDS = ("hold", "wander")
PLACEMENTS = ("recorded", "shuffled")


@dataclass(frozen=True)
class StreamBuildSettings:
    """How built streams look (see the module docstring); ranges are inclusive."""

    actions_per_stream: tuple[int, int] = (3, 5)
    idle_frames: tuple[int, int] = (5, 40)
    transition_frames: tuple[int, int] = (5, 20)
    jitter: float = 0.01  # idle noise, in mean bone lengths of the held pose
    idle: str = "hold"  # "hold" (0.3.0) or "wander" (stalstm.detection.background)
    placement: str = "recorded"  # "recorded" (0.3.0) or "shuffled" (... background.place)

    def __post_init__(self) -> None:
        if self.idle not in IDLE_KINDS:
            raise ValueError(f"idle must be one of {IDLE_KINDS}, got {self.idle!r}")
        if self.placement not in PLACEMENTS:
            raise ValueError(f"placement must be one of {PLACEMENTS}, got {self.placement!r}")
        for name in ("actions_per_stream", "idle_frames", "transition_frames"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"{name} must be a range [low, high] with 0 <= low <= high")
        if self.actions_per_stream[0] < 1:
            raise ValueError("actions_per_stream must start at 1 or more")
        if self.jitter < 0:
            raise ValueError("jitter must be >= 0")

    @property
    def uses_pool(self) -> bool:
        """Whether streams need the pool's statistics (``PoolStatistics``)."""
        return self.idle == "wander" or self.placement == "shuffled"

    @classmethod
    def from_dict(cls, values: dict) -> StreamBuildSettings:
        """From a recipe's mapping (ranges as two-element lists)."""
        converted = {
            key: tuple(value) if isinstance(value, list | tuple) else value
            for key, value in values.items()
        }
        return cls(**converted)


def _draw(generator: np.random.Generator, bounds: tuple[int, int]) -> int:
    return int(generator.integers(bounds[0], bounds[1] + 1))


def _hold(
    pose: np.ndarray,
    frames: int,
    scale: float,
    generator: np.random.Generator,
    presence: np.ndarray | None = None,
) -> np.ndarray:
    """(M, V, C) pose held for ``frames`` frames with Gaussian jitter on the joints present in
    ``presence`` (the pose itself by default; absent persons stay 0)."""
    held = np.repeat(pose[None], frames, axis=0)
    if scale > 0 and frames:
        present = np.any((pose if presence is None else presence) != 0, axis=-1, keepdims=True)
        present = present[None]
        held = held + generator.normal(0.0, scale, held.shape) * present
    return held.astype(np.float32)


def _ease(frames: int) -> np.ndarray:
    """Interpolation weights of the ``frames`` in-between frames, cosine-eased, excluding both
    end poses: (frames,)."""
    steps = np.arange(1, frames + 1) / (frames + 1)
    return 0.5 - 0.5 * np.cos(np.pi * steps)


def _transition(start: np.ndarray, end: np.ndarray, frames: int) -> np.ndarray:
    """(frames, M, V, C) poses between two (M, V, C) poses; a person absent in the target pose is
    absent throughout, one absent only in the source appears at its target pose."""
    weights = _ease(frames)[:, None, None, None]
    source_present = np.any(start != 0, axis=(-2, -1), keepdims=True)
    source = np.where(source_present, start, end)
    moving = source[None] * (1 - weights) + end[None] * weights
    target_present = np.any(end != 0, axis=(-2, -1), keepdims=True)[None]
    return np.where(target_present, moving, 0.0).astype(np.float32)


def _orientation_transition(start: np.ndarray, end: np.ndarray, frames: int) -> np.ndarray:
    """Normalised linear interpolation of (M, V, 4) unit quaternions over ``frames`` frames,
    taking the shorter way (q and -q are the same rotation)."""
    sign = np.where(np.sum(start * end, axis=-1, keepdims=True) < 0, -1.0, 1.0)
    weights = _ease(frames)[:, None, None, None]
    mixed = start[None] * (1 - weights) + (sign * end)[None] * weights
    norms = np.linalg.norm(mixed, axis=-1, keepdims=True)
    return (mixed / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _pose_size(pose: np.ndarray, bones: Sequence[tuple[int, int]]) -> float:
    """Mean bone length of the first person of an (M, V, C) pose (0 without bones)."""
    return F.mean_bone_length(pose[None], bones, person=0, frame=0) if bones else 0.0


def build_stream(
    clips: Sequence[Clip],
    generator: np.random.Generator,
    settings: StreamBuildSettings | None = None,
    name: str = "built",
    statistics: PoolStatistics | None = None,
) -> Stream:
    """One stream of the given clips in order, with drawn idle and transition lengths.

    Every clip must have the same persons, joints, coordinates and layout and a label >= 0.
    ``statistics``: the pool's key poses, speeds and placements, for wandering idle time
    (``settings.idle == "wander"``) and shuffled placements (``settings.placement ==
    "shuffled"``: every clip first moved to a pool clip's placement, ``background.place``);
    measured on ``clips`` when None (pass the training pool's, measured once).
    """
    settings = settings or StreamBuildSettings()
    if not clips:
        raise ValueError("a built stream needs at least one clip")
    first = clips[0]
    for clip in clips:
        if clip.joints.shape[1:] != first.joints.shape[1:] or clip.layout != first.layout:
            raise ValueError(
                f"clip {clip.name!r} has shape {clip.joints.shape[1:]} and layout {clip.layout}; "
                f"{first.name!r} has {first.joints.shape[1:]} and {first.layout}"
            )
        if clip.label < 0 or clip.num_frames == 0:
            raise ValueError(f"clip {clip.name!r} needs a label >= 0 and at least one frame")
    try:
        bones = get_layout(first.layout).bones
    except DataError:  # an unknown layout: no bones, so no jitter scale
        bones = ()
    if not settings.uses_pool:
        statistics = None
    elif statistics is None:
        statistics = PoolStatistics.measure(clips)
    if statistics is not None and settings.placement == "shuffled":
        clips = [place(clip, statistics, generator) for clip in clips]
    wandering = statistics if settings.idle == "wander" else None
    with_orientation = all("orientation" in clip.extras for clip in clips)
    pieces: list[np.ndarray] = []
    turns: list[np.ndarray] = []
    segments: list[Segment] = []
    frame = 0

    def idle(
        pose: np.ndarray, orientation: np.ndarray | None, backwards: bool = False
    ) -> np.ndarray:
        """Append an idle stretch next to ``pose``; returns its last pose without jitter."""
        nonlocal frame
        frames = _draw(generator, settings.idle_frames)
        scale = settings.jitter * _pose_size(pose, bones)
        end = pose
        if wandering is not None and frames:
            moving = wander(pose, frames, wandering, generator)
            moving = moving[::-1] if backwards else moving
            end = moving[-1]
            pieces.append(moving + _hold(np.zeros_like(pose), frames, scale, generator, pose))
        else:
            pieces.append(_hold(pose, frames, scale, generator))
        if orientation is not None:
            turns.append(np.repeat(orientation[None], frames, axis=0))
        frame += frames
        return end

    for index, clip in enumerate(clips):
        orientation = clip.extras["orientation"] if with_orientation else None
        if index == 0:
            idle(clip.joints[0], None if orientation is None else orientation[0], backwards=True)
        else:
            previous = clips[index - 1]
            last_turn = previous.extras["orientation"][-1] if with_orientation else None
            last_pose = idle(previous.joints[-1], last_turn)
            frames = _draw(generator, settings.transition_frames)
            pieces.append(_transition(last_pose, clip.joints[0], frames))
            if orientation is not None:
                turns.append(_orientation_transition(last_turn, orientation[0], frames))
            frame += frames
        pieces.append(clip.joints)
        if orientation is not None:
            turns.append(np.asarray(orientation, dtype=np.float32))
        segments.append(Segment(clip.label, frame, frame + clip.num_frames - 1))
        frame += clip.num_frames
    last = clips[-1]
    idle(last.joints[-1], last.extras["orientation"][-1] if with_orientation else None)
    extras = {"orientation": np.concatenate(turns)} if with_orientation else {}
    extras["clips"] = [clip.name for clip in clips]
    return Stream(name, np.concatenate(pieces), tuple(segments), first.layout, extras)


def random_stream(
    pool: Sequence[Clip],
    generator: np.random.Generator,
    settings: StreamBuildSettings | None = None,
    name: str = "built",
    statistics: PoolStatistics | None = None,
) -> Stream:
    """A stream of ``settings.actions_per_stream`` clips drawn from ``pool`` without
    replacement (with replacement when the pool is smaller); wandering idle time moves as
    ``statistics`` (measured on the pool when None)."""
    settings = settings or StreamBuildSettings()
    if not pool:
        raise ValueError("no clips to build streams from")
    if settings.uses_pool and statistics is None:
        statistics = PoolStatistics.measure(pool)
    count = _draw(generator, settings.actions_per_stream)
    chosen = generator.choice(len(pool), size=count, replace=count > len(pool))
    return build_stream([pool[int(i)] for i in chosen], generator, settings, name, statistics)


def build_streams(
    pool: Sequence[Clip],
    count: int,
    seed: int,
    settings: StreamBuildSettings | None = None,
    prefix: str = "built",
    statistics: PoolStatistics | None = None,
) -> list[Stream]:
    """``count`` streams drawn from ``pool``, stream ``i`` from a generator seeded by
    (seed, i), so a set of streams is reproducible and each stream independent of ``count``."""
    settings = settings or StreamBuildSettings()
    if settings.uses_pool and statistics is None and pool:
        statistics = PoolStatistics.measure(pool)
    return [
        random_stream(
            pool, np.random.default_rng((seed, index)), settings, f"{prefix}-{index}", statistics
        )
        for index in range(count)
    ]


def segment_clips(streams: Sequence[Stream]) -> list[Clip]:
    """Every annotated segment of recorded streams as a clip (its frames and label, named
    ``<stream>:<start>-<end>``), so that more streams can be built from recorded actions."""
    clips = []
    for stream in streams:
        for segment in stream.segments:
            frames = slice(segment.start, segment.end + 1)
            extras = {
                key: value[frames]
                for key, value in stream.extras.items()
                if isinstance(value, np.ndarray) and len(value) == stream.num_frames
            }
            name = f"{stream.name}:{segment.start}-{segment.end}"
            clips.append(Clip(name, stream.joints[frames], segment.label, stream.layout, extras))
    return clips


def stream_window(stream: Stream, start: int, end: int) -> Stream:
    """Frames ``start`` to ``end`` (inclusive) of a stream as a stream of their own: its
    segments cut at the window's edges (a cut action keeps its label on the frames kept)."""
    if not 0 <= start <= end < stream.num_frames:
        raise ValueError(f"window {start}-{end} outside the {stream.num_frames} frames")
    labels = stream.frame_labels[start : end + 1]
    extras = {
        key: value[start : end + 1]
        for key, value in stream.extras.items()
        if isinstance(value, np.ndarray) and len(value) == stream.num_frames
    }
    return Stream(
        f"{stream.name}[{start}:{end + 1}]",
        stream.joints[start : end + 1],
        segments_from_frame_labels(labels),
        stream.layout,
        extras,
    )
