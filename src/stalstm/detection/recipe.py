"""Detection recipes: a recipe (``stalstm.training.recipes``) with one more section,
``detection``, read by the same validated loader: ``load_recipe(name, kind=DetectionRecipe)``.

The model is the recipe's STA-LSTM with one more class, the background, trained frame-wise:
``detection.window`` is W of the per-frame score (``stalstm.scores``) and sets the
objective's ``frame_window``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from stalstm.detection.building import StreamBuildSettings
from stalstm.detection.segmenting import PostProcessing
from stalstm.errors import SettingError
from stalstm.objective import ObjectiveConfig
from stalstm.training.recipes import Recipe
from stalstm.transforms.presets import PRESETS


@dataclass(frozen=True)
class DetectionSection:
    """How a detector trains and how its post-processing is chosen.

    Training streams are built afresh every epoch from the training clips
    (``streams_per_epoch`` of them, shaped by ``build``:
    ``stalstm.detection.building.StreamBuildSettings``). ``held_out_fraction`` of the training
    material (clips of each class, and whole recorded streams) is kept apart; ``held_out_streams``
    streams built from it choose the post-processing: every combination of the ``search`` lists
    (``PostProcessing`` fields) is tried, and the one with the most detections minus false
    positives is kept (``post_processing`` gives the values not searched); with
    ``class_thresholds`` each class then gets its own start threshold, calibrated on the same
    held-out streams (``stalstm.detection.calibration``). ``steps``: the training budget in
    optimiser steps, whatever the amount of data (0: ``schedule.epochs`` as given;
    ``stalstm.detection.budget``). ``build_from_segments``: for ``streams`` data, also build
    streams from the training streams' annotated segments; ``recorded_windows``: random windows
    of the recorded training streams an epoch (0: each stream once, whole). ``test_streams``:
    streams built from the test clips of a clip data set, shaped by ``test_build`` (empty: as
    ``build``). ``pictures``: timeline pictures of the first test streams."""

    window: int = 1
    streams_per_epoch: int = 200
    build: dict = field(default_factory=dict)
    held_out_fraction: float = 0.15
    held_out_streams: int = 60
    test_streams: int = 100
    post_processing: dict = field(default_factory=dict)
    search: dict = field(default_factory=dict)
    pictures: int = 4
    steps: int = 0
    class_thresholds: bool = False
    build_from_segments: bool = False
    recorded_windows: int = 0
    test_build: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("window", "streams_per_epoch", "held_out_streams", "test_streams"):
            if getattr(self, name) < 1:
                raise SettingError(name, f"must be at least 1, got {getattr(self, name)}")
        for name in ("steps", "recorded_windows"):
            if getattr(self, name) < 0:
                raise SettingError(name, f"must be at least 0, got {getattr(self, name)}")
        if not 0.0 < self.held_out_fraction < 1.0:
            raise SettingError(
                "held_out_fraction", f"must be in (0, 1), got {self.held_out_fraction}"
            )
        for name in ("build", "test_build"):
            try:
                StreamBuildSettings.from_dict(getattr(self, name))
            except (TypeError, ValueError) as error:
                raise SettingError(name, str(error)) from None
        try:
            PostProcessing(**self.post_processing)
        except (TypeError, ValueError) as error:
            raise SettingError("post_processing", str(error)) from None
        for name, values in self.search.items():
            if not isinstance(values, list) or not values:
                raise SettingError(f"search.{name}", "must be a non-empty list")
            for value in values:
                try:
                    PostProcessing(**{**self.post_processing, name: value})
                except (TypeError, ValueError) as error:
                    raise SettingError(f"search.{name}", str(error)) from None


@dataclass(frozen=True)
class DetectionRecipe(Recipe):
    """A recipe that trains a detector (``stalstm.detection.training.train_detector``)."""

    detection: DetectionSection = field(default_factory=DetectionSection)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not PRESETS[self.data.preset].causal:
            raise SettingError(
                "data.preset",
                "must be a preset that can run online (a detector prepares frames as they "
                f"arrive): one of {sorted(n for n, p in PRESETS.items() if p.causal)}",
            )
        if self.objective.frame_window not in (0, self.detection.window):
            raise SettingError(
                "objective.frame_window", "must be left out: detection.window sets it"
            )
        if self.detection.steps and self.schedule.kind not in ("end-to-end", "stages"):
            raise SettingError(
                "detection.steps", "must be 0 unless schedule.kind is end-to-end or stages (a "
                "budget in steps sets their epochs)",
            )  # fmt: skip
        augmentation = self.augmentation_config()
        if augmentation.crop_min_ratio is not None or augmentation.num_frames is not None:
            raise SettingError(
                "augmentation",
                "must be without crop_min_ratio and num_frames (a stream's frames carry its "
                "labels)",
            )

    def training_objective(self) -> ObjectiveConfig:
        """The recipe's objective scoring every frame by the window of the detection score."""
        return replace(self.objective, frame_window=self.detection.window)
