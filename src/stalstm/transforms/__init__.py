"""Transforms of skeleton clips, the torchvision way: pure array functions in ``functional``,
small callable classes over ``Clip`` in ``clip_transforms``, the named preparation presets
(``build_preset``, ``PRESETS``) and training augmentation (``build_augmentation``)."""

from stalstm.transforms import functional
from stalstm.transforms.augmentation import Augmentation, AugmentationConfig, build_augmentation
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
    UniformSample,
)
from stalstm.transforms.presets import PRESETS, PresetInfo, build_preset

__all__ = [
    "PRESETS",
    "AlignBone",
    "Augmentation",
    "AugmentationConfig",
    "CanonicalFrame",
    "CentrePerFrame",
    "Compose",
    "DenoiseBodies",
    "KeepMainBodyFrames",
    "PresetInfo",
    "RemoveEmptyFrames",
    "SbuToWorld",
    "ScaleByBodySize",
    "SelectMostActive",
    "TranslateToFirstFrame",
    "TranslateToPersonsMidpoint",
    "UniformSample",
    "build_augmentation",
    "build_preset",
    "functional",
]
