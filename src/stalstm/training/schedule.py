"""The training schedule as data: a list of stages, each naming what trains, for how long, with
which optimiser settings, and on which model.

The paper trains STA-LSTM in stages ("alternating joint training", docs/sta-lstm.md "Training
strategy"). One public re-implementation reads it as: temporal attention pre-trained with a small
main network, then a main network trained with it frozen, then both fine-tuned; the same for
spatial attention; then the full model built from the two pre-trained attention parts, its main
network trained with both frozen, then everything jointly. Such a schedule trains several models
(a small pre-training network, single-branch networks, the full model), so a ``Schedule`` holds:

- ``models``: auxiliary models by name, each a set of overrides of the recipe's model config
  (e.g. ``{"variant": "ta", "main_hidden": 32}``); ``"full"`` is always the recipe's own model;
- ``stages``: in order; a stage trains the parts ``train`` of model ``model`` for ``epochs``
  epochs (the other parts are frozen: ``requires_grad`` False and eval mode), after copying the
  parts listed in ``take`` (part -> model name) from the current weights of earlier models.

A model keeps its weights from one of its stages to the next; the result of a schedule is the
``"full"`` model after its last stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from stalstm.errors import SettingError
from stalstm.model import STALSTMConfig

PART_NAMES: tuple[str, ...] = ("main", "spatial", "temporal")
FULL_MODEL = "full"
OptimiserName = Literal["adam", "adamw", "sgd"]
OPTIMISERS: tuple[str, ...] = ("adam", "adamw", "sgd")


@dataclass(frozen=True)
class OptimiserSettings:
    """How one stage optimises: algorithm, learning rate and its decay, clipping."""

    name: OptimiserName = "adam"
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9  # SGD only
    gradient_clip: float = 1.0  # max global gradient norm; 0 disables clipping
    cosine_decay: bool = True  # cosine learning-rate decay to 0 over the stage's epochs
    # linear warm-up over the stage's first steps: Adam's first steps move every weight by about
    # the learning rate whatever its gradient says (docs: "Settings and why")
    warmup_steps: int = 100

    def __post_init__(self) -> None:
        if self.name not in OPTIMISERS:
            raise SettingError("name", f"must be one of {OPTIMISERS}, got {self.name!r}")
        if self.learning_rate <= 0:
            raise SettingError("learning_rate", f"must be positive, got {self.learning_rate}")
        for name in ("weight_decay", "gradient_clip", "warmup_steps"):
            if getattr(self, name) < 0:
                raise SettingError(name, f"must not be negative, got {getattr(self, name)}")


@dataclass(frozen=True)
class Stage:
    """One stage: train ``train`` parts of ``model`` for ``epochs`` epochs, the rest frozen."""

    name: str
    train: tuple[str, ...]
    epochs: int
    model: str = FULL_MODEL
    take: Mapping[str, str] = field(default_factory=dict)  # part -> model to copy it from
    optimiser: OptimiserSettings = field(default_factory=OptimiserSettings)

    def __post_init__(self) -> None:
        unknown = [part for part in (*self.train, *self.take) if part not in PART_NAMES]
        if unknown:
            raise ValueError(f"stage {self.name!r}: unknown parts {unknown}; parts: {PART_NAMES}")
        if not self.train:
            raise ValueError(f"stage {self.name!r} trains nothing")
        if self.epochs < 1:
            raise ValueError(f"stage {self.name!r}: epochs must be >= 1, got {self.epochs}")


@dataclass(frozen=True)
class Schedule:
    """Stages in order, and the auxiliary models they train (config overrides by name)."""

    stages: tuple[Stage, ...]
    models: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.stages:
            raise ValueError("a schedule needs at least one stage")
        if FULL_MODEL in self.models:
            raise ValueError(f"{FULL_MODEL!r} is the recipe's own model; do not redefine it")
        trained: set[str] = set()
        for stage in self.stages:
            if stage.model != FULL_MODEL and stage.model not in self.models:
                raise ValueError(f"stage {stage.name!r}: unknown model {stage.model!r}")
            for part, source in stage.take.items():
                if source not in trained:
                    raise ValueError(
                        f"stage {stage.name!r} takes {part!r} from {source!r}, "
                        "which no earlier stage trains"
                    )
            trained.add(stage.model)
        if self.stages[-1].model != FULL_MODEL:
            raise ValueError("the last stage must train the full model")

    @property
    def total_epochs(self) -> int:
        return sum(stage.epochs for stage in self.stages)

    def model_config(self, name: str, full: STALSTMConfig) -> STALSTMConfig:
        """The config of model ``name``: the full config with that model's overrides."""
        return full if name == FULL_MODEL else replace(full, **dict(self.models[name]))

    def for_config(self, full: STALSTMConfig) -> Schedule:
        """This schedule adapted to a model variant: auxiliary models needing an attention branch
        the full model lacks are dropped with their stages, and parts a model lacks are removed
        from its stages (a stage left training nothing is dropped). So one staged schedule serves
        the ablation of every variant."""
        full_parts = _parts_of(full)
        models = {
            name: overrides
            for name, overrides in self.models.items()
            if _parts_of(self.model_config(name, full)) <= full_parts
        }
        stages = []
        for stage in self.stages:
            if stage.model != FULL_MODEL and stage.model not in models:
                continue
            parts = _parts_of(self.model_config(stage.model, full))
            train = tuple(part for part in stage.train if part in parts)
            take = {
                part: source
                for part, source in stage.take.items()
                if part in parts and (source == FULL_MODEL or source in models)
            }
            if train:
                stages.append(replace(stage, train=train, take=take))
        return Schedule(tuple(stages), models)


def _parts_of(config: STALSTMConfig) -> set[str]:
    parts = {"main"}
    if config.has_spatial_attention:
        parts.add("spatial")
    if config.has_temporal_attention:
        parts.add("temporal")
    return parts


def end_to_end_schedule(epochs: int, optimiser: OptimiserSettings | None = None) -> Schedule:
    """Plain training: every part of the full model, jointly, for ``epochs`` epochs."""
    return Schedule(
        (Stage("end-to-end", PART_NAMES, epochs, optimiser=optimiser or OptimiserSettings()),)
    )


def paper_schedule(
    pretrain_epochs: int,
    main_epochs: int,
    finetune_epochs: int,
    final_epochs: int,
    small_main_hidden: int = 32,
    optimiser: OptimiserSettings | None = None,
    finetune_learning_rate_factor: float = 0.5,
) -> Schedule:
    """The paper's staged schedule (see the module docstring), eight stages:

    1. ``temporal-small`` (a TA-LSTM with a small main network): main + temporal, pre-training;
    2. ``temporal`` (a TA-LSTM): main only, temporal taken from 1 and frozen;
    3. ``temporal``: main + temporal fine-tuned together;
    4-6. the same for spatial attention (``spatial-small``, ``spatial``);
    7. ``full``: main only, spatial and temporal taken from 6 and 3, frozen;
    8. ``full``: everything jointly (``final_epochs``).

    Fine-tuning stages use the learning rate times ``finetune_learning_rate_factor``.
    """
    base = optimiser or OptimiserSettings()
    finetune = replace(base, learning_rate=base.learning_rate * finetune_learning_rate_factor)
    stages: list[Stage] = []
    for branch in ("temporal", "spatial"):
        small = f"{branch}-small"
        stages += [
            Stage(f"{branch}-pretrain", ("main", branch), pretrain_epochs, small, {}, base),
            Stage(f"{branch}-main", ("main",), main_epochs, branch, {branch: small}, base),
            Stage(f"{branch}-finetune", ("main", branch), finetune_epochs, branch, {}, finetune),
        ]
    stages += [
        Stage("full-main", ("main",), main_epochs, FULL_MODEL,
              {"spatial": "spatial", "temporal": "temporal"}, base),
        Stage("full-finetune", PART_NAMES, final_epochs, FULL_MODEL, {}, finetune),
    ]  # fmt: skip
    models = {
        "temporal-small": {"variant": "ta", "main_hidden": small_main_hidden},
        "temporal": {"variant": "ta"},
        "spatial-small": {"variant": "sa", "main_hidden": small_main_hidden},
        "spatial": {"variant": "sa"},
    }
    return Schedule(tuple(stages), models)
