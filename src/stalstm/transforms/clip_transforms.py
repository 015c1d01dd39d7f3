"""Small callable classes over ``Clip`` that call the pure functions of ``functional``.

Each takes a clip and returns a new clip (the torchvision ``transforms`` pattern); joints that a
transform needs by role (centre, up, left-right) come from the clip's layout
(``stalstm.layouts``) unless given explicitly, so the same preset serves every layout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from stalstm.clip import Clip
from stalstm.errors import LayoutMismatchError
from stalstm.layouts import Layout, get_layout
from stalstm.transforms import functional as F

ClipTransform = Callable[[Clip], Clip]


def clip_layout(clip: Clip, layout: Layout | None = None) -> Layout:
    """``layout`` when given (a preset built for a user's JSON layout carries it), else the
    built-in layout the clip names; checked against the clip's joint count."""
    layout = layout if layout is not None else get_layout(clip.layout)
    if layout.num_joints != clip.num_joints:
        raise LayoutMismatchError(
            clip.name,
            f"layout {layout.name} has {layout.num_joints} joints, the clip has {clip.num_joints}",
            field="joints",
        )
    return layout


def with_new_persons(clip: Clip, joints: np.ndarray) -> Clip:
    """A copy with persons re-selected or re-ordered: the per-person extras no longer line up
    with the persons axis, so they are dropped."""
    return replace(clip, joints=joints, extras={})


class Compose:
    """Apply transforms one after another."""

    def __init__(self, transforms: Sequence[ClipTransform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, clip: Clip) -> Clip:
        for transform in self.transforms:
            clip = transform(clip)
        return clip

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"


@dataclass(frozen=True)
class DenoiseBodies:
    """SGN body denoising (``functional.denoise_bodies``) to two actors (M = 2). The frames a
    body was tracked in come from the NTU reader's ``present`` extra (T, M) when there is one,
    else from where the body's joints are non-zero. ``only_tracked=True`` leaves clips without
    that extra (data whose persons were not tracked by body ID) untouched."""

    only_tracked: bool = False

    def __call__(self, clip: Clip) -> Clip:
        presence = clip.extras.get("present")
        if presence is None and self.only_tracked:
            return clip
        if presence is not None:
            presence = np.asarray(presence, dtype=bool)
        result = F.denoise_bodies(clip.joints, presence)
        return with_new_persons(clip, result.joints)


@dataclass(frozen=True)
class RemoveEmptyFrames:
    """Drop frames where every person is zero."""

    def __call__(self, clip: Clip) -> Clip:
        return clip.with_joints(F.remove_empty_frames(clip.joints))


@dataclass(frozen=True)
class TranslateToFirstFrame:
    """Subtract ``person``'s joint (default: the layout's centre joint) at its first present
    frame; ``role="up_base"`` takes the start of the layout's up bone (hip centre for msr20)."""

    joint: int | None = None
    role: str = "center"
    person: int = 0

    layout: Layout | None = None  # None: the built-in layout the clip names

    def __call__(self, clip: Clip) -> Clip:
        layout = clip_layout(clip, self.layout)
        joint = self.joint
        if joint is None:
            joint = layout.up[0] if self.role == "up_base" else layout.center
        return clip.with_joints(F.translate_to_first_frame(clip.joints, joint, self.person))


@dataclass(frozen=True)
class TranslateToPersonsMidpoint:
    """Subtract the mid-point of the present persons' centre joints of the first frame."""

    layout: Layout | None = None  # None: the built-in layout the clip names

    def __call__(self, clip: Clip) -> Clip:
        layout = clip_layout(clip, self.layout)
        return clip.with_joints(F.translate_to_persons_midpoint(clip.joints, layout.center))


@dataclass(frozen=True)
class SelectMostActive:
    """Keep the ``count`` most active persons (2s-AGCN); ``only_if_more=True`` leaves clips
    with at most ``count`` persons untouched (their order kept)."""

    count: int = 2
    only_if_more: bool = False
    pad: bool = True  # a clip of fewer persons gets zero persons up to ``count``

    def __call__(self, clip: Clip) -> Clip:
        if self.only_if_more and clip.num_persons <= self.count:
            return clip
        return with_new_persons(clip, F.select_most_active(clip.joints, self.count, self.pad))


@dataclass(frozen=True)
class CentrePerFrame:
    """Subtract the main person's centre joint frame by frame (2s-AGCN)."""

    layout: Layout | None = None  # None: the built-in layout the clip names

    def __call__(self, clip: Clip) -> Clip:
        layout = clip_layout(clip, self.layout)
        return clip.with_joints(F.centre_per_frame(clip.joints, layout.center))


@dataclass(frozen=True)
class KeepMainBodyFrames:
    """PYSKL: the person present in more frames first, only its frames kept."""

    def __call__(self, clip: Clip) -> Clip:
        return with_new_persons(clip, F.keep_main_body_frames(clip.joints))


@dataclass(frozen=True)
class AlignBone:
    """Rotate so that a layout bone of the main person's first frame points along ``axis``.

    ``bone`` is ``"up"`` or ``"left_right"`` (the layout's pairs) or explicit joint indices;
    ``sign=-1`` flips the bone (2s-AGCN's x-axis bone is right minus left shoulder, the
    reverse of the layout's right -> left pair). 2D clips pass through unchanged.
    """

    bone: str | tuple[int, int]
    axis: tuple[float, float, float]
    sign: float = 1.0

    layout: Layout | None = None  # None: the built-in layout the clip names

    def __call__(self, clip: Clip) -> Clip:
        if clip.num_coords != 3:
            return clip
        layout = clip_layout(clip, self.layout)
        bone = getattr(layout, self.bone) if isinstance(self.bone, str) else self.bone
        return clip.with_joints(F.align_bone_to_axis(clip.joints, bone, self.axis, sign=self.sign))


@dataclass(frozen=True)
class CanonicalFrame:
    """The main person's own frame of reference from the layout (``functional.canonical_frame``):
    centred, upright (+y), facing with its left on +x, in units of its mean bone length."""

    layout: Layout | None = None  # None: the built-in layout the clip names

    def __call__(self, clip: Clip) -> Clip:
        layout = clip_layout(clip, self.layout)
        return clip.with_joints(
            F.canonical_frame(
                clip.joints, layout.center, layout.up, layout.left_right, layout.bones
            )
        )


@dataclass(frozen=True)
class SbuToWorld:
    """SBU normalised coordinates to metres (``functional.sbu_to_world``)."""

    def __call__(self, clip: Clip) -> Clip:
        if clip.num_coords != 3:
            raise LayoutMismatchError(clip.name, "SBU coordinates are 3D", field="joints")
        return clip.with_joints(F.sbu_to_world(clip.joints))


@dataclass(frozen=True)
class ScaleByBodySize:
    """Divide by the main person's mean bone length (layout bones) in its first frame."""

    layout: Layout | None = None  # None: the built-in layout the clip names

    def __call__(self, clip: Clip) -> Clip:
        layout = clip_layout(clip, self.layout)
        size = F.mean_bone_length(clip.joints, layout.bones)
        if size <= 0:
            return clip
        return clip.with_joints(F.scale_joints(clip.joints, 1.0 / size))


@dataclass(frozen=True)
class UniformSample:
    """Resample to ``count`` frames, one from each equal segment (the middle one: for
    evaluation; training uses the random draw of ``build_augmentation``)."""

    count: int

    def __call__(self, clip: Clip) -> Clip:
        indices = F.uniform_frame_indices(clip.num_frames, self.count)
        return clip.with_joints(clip.joints[indices])
