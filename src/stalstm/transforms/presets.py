"""Named preparation presets: each a fixed composition of documented transforms.

``build_preset(name)`` returns a ``Clip -> Clip`` callable; ``PRESETS`` describes each one.
A preset is recorded in every prepared store and model file, so a model is always fed data
prepared the way it was trained on. ``causal`` says whether a preset needs only the frames seen
so far (then ``stalstm stream`` can apply it online, frame by frame).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from stalstm.clip import Clip
from stalstm.layouts import Layout, get_layout
from stalstm.transforms.clip_transforms import (
    AlignBone,
    CanonicalFrame,
    CentrePerFrame,
    Compose,
    DenoiseBodies,
    KeepMainBodyFrames,
    RemoveEmptyFrames,
    SbuToWorld,
    ScaleByBodySize,
    SelectMostActive,
    TranslateToFirstFrame,
    TranslateToPersonsMidpoint,
)

Z_AXIS = (0.0, 0.0, 1.0)
X_AXIS = (1.0, 0.0, 0.0)


@dataclass(frozen=True)
class PresetInfo:
    """What a preset does, whose recipe it follows and whether it can run online."""

    description: str
    causal: bool


PRESETS: dict[str, PresetInfo] = {
    "none": PresetInfo("coordinates as read, no change", causal=True),
    "canonical": PresetInfo(
        "any layout, from its centre, up, left-right joints and bones: the main person's centre "
        "joint of its first frame at the origin, its up bone on +y and its left-right bone on +x, "
        "divided by its mean bone length (coordinates in bone lengths); persons kept as read",
        causal=True,
    ),
    "sgn": PresetInfo(
        "SGN / CTR-GCN: body-ID denoising with the published thresholds to at most two actors, "
        "frames without any actor dropped, translation by actor 1's spine-middle joint in its "
        "first frame (M = 2)",
        causal=False,  # denoising ranks bodies by their motion over the whole clip
    ),
    "agcn": PresetInfo(
        "2s-AGCN / MS-G3D pre_normalization: two most active bodies, per-frame centring on the "
        "main body's spine middle, rotation of its first frame's spine onto +z and of its "
        "shoulders (right minus left) onto +x; variable lengths kept, no loop-padding to 300",
        causal=False,  # the two most active bodies are chosen over the whole clip
    ),
    "pyskl": PresetInfo(
        "PYSKL PreNormalize3D: the body present in more frames first, frames without it dropped, "
        "its spine middle of frame 0 subtracted, the same two rotations; raw NTU bodies tracked "
        "by ID are first denoised as in sgn (PYSKL's own NTU annotations were made so), other "
        "data with more than two persons keeps the two most active",
        causal=False,  # on raw NTU the denoising needs the whole clip; causal on pyskl data
    ),
    "sbu": PresetInfo(
        "SBU Kinect Interaction: the data set's normalised coordinates converted to metres "
        "(formula of its README, y up), then centred on the mid-point of the two persons' torso "
        "joints in the first frame",
        causal=True,
    ),
    "msr": PresetInfo(
        "MSR Action3D: centred on the hip centre of the first frame and divided by the mean bone "
        "length of the first frame (a body size, so subjects of different height match)",
        causal=True,
    ),
    "hand": PresetInfo(
        "a hand (or any layout): centred on the layout's centre joint (the palm) of the first "
        "frame and divided by the mean bone length of the first frame (the hand's size), so "
        "hands of different size and recordings at different places match while the hand's "
        "path (swipes) is kept",
        causal=True,
    ),
}


def build_preset(name: str, layout: Layout | str | None = None) -> Callable[[Clip], Clip]:
    """The ``Clip -> Clip`` preparation of a preset named in ``PRESETS``.

    ``layout`` (a ``Layout``, a built-in name or a JSON file) is the layout the clips are in;
    when None, each transform looks up the built-in layout a clip names. Pass it for a user's
    JSON layout, which no name lookup can find."""
    layout = get_layout(layout) if layout is not None else None
    rotations = [
        AlignBone("up", Z_AXIS, layout=layout),
        AlignBone("left_right", X_AXIS, sign=-1.0, layout=layout),
    ]
    builders: dict[str, Callable[[], list]] = {
        "none": list,
        "canonical": lambda: [CanonicalFrame(layout)],
        "sgn": lambda: [DenoiseBodies(), RemoveEmptyFrames(), TranslateToFirstFrame(layout=layout)],
        # two persons at most, as 2s-AGCN, but one-person data stays one person
        "agcn": lambda: [SelectMostActive(2, pad=False), CentrePerFrame(layout=layout), *rotations],
        "pyskl": lambda: [
            DenoiseBodies(only_tracked=True),
            SelectMostActive(2, only_if_more=True),
            KeepMainBodyFrames(),
            TranslateToFirstFrame(layout=layout),
            *rotations,
        ],
        "sbu": lambda: [SbuToWorld(), TranslateToPersonsMidpoint(layout=layout)],
        "msr": lambda: [
            TranslateToFirstFrame(role="up_base", layout=layout),
            ScaleByBodySize(layout=layout),
        ],
        "hand": lambda: [TranslateToFirstFrame(layout=layout), ScaleByBodySize(layout=layout)],
    }
    if name not in builders:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return Compose(builders[name]())
