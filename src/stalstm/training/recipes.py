"""Recipes: one YAML file says everything a training run needs, validated before anything runs.

A recipe has these sections (see ``src/stalstm/recipes/*.yaml``; every key is optional except
``data.dataset``, ``data.preset`` and ``data.protocol``; defaults are those of the dataclasses):

    data:         ``DataSection``: dataset, preset, protocol, folds (empty: one split)
    model:        ``STALSTMConfig`` itself, less what the data decides (``MODEL_KEYS_FROM_DATA``)
    objective:    ``ObjectiveConfig``: the lambdas of the regularised loss
    optimiser:    ``OptimiserSettings`` of every stage (fine-tuning stages scale the rate)
    schedule:     ``ScheduleSection``: kind "end-to-end" (epochs), "paper" (stage epochs), or
                  "stages" (a list of ``Stage`` fields and auxiliary models)
    training:     ``TrainingSettings`` itself, less ``TRAINING_KEYS_ELSEWHERE`` (the schedule and
                  objective come from their own sections; the progress bar is the caller's)
    augmentation: passed to ``stalstm.transforms.build_augmentation`` (empty: none)
    ablation:     ``AblationSection``: variants, regularised (bools), schedules (kinds), seeds
    detection:    (detection recipes only) frame-wise training for online detection in
                  untrimmed streams: ``DetectionSection`` below, ``stalstm.detection.training``

One source of truth: the model and training sections are checked against the API's own
dataclasses, so a field added to ``STALSTMConfig`` or ``TrainingSettings`` is a recipe key, with
its default, its type and its ``__post_init__`` check, without an edit here. ``_build`` reads a
section into its dataclass from the type hints (an int is accepted for a float, never a bool for
an int); a ``SettingError`` raised by a dataclass's own check names its field.

Unknown keys and wrong types are errors naming the key (``RecipeError``). ``--set a.b=value``
overrides a key before validation (the value is read as YAML: ``0.5``, ``true``, ``[1, 2]``).
The resolved recipe is saved as ``recipe.yaml`` into every run folder, and ``load_recipe`` of
that file gives the same recipe back.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

from stalstm.errors import DataError, SettingError
from stalstm.model import VARIANTS, STALSTMConfig, Variant
from stalstm.objective import ObjectiveConfig
from stalstm.training.engine import TrainingSettings
from stalstm.training.schedule import (
    OptimiserSettings,
    Schedule,
    Stage,
    end_to_end_schedule,
    paper_schedule,
)

ScheduleKind = Literal["end-to-end", "paper", "stages"]
SCHEDULE_KINDS: tuple[ScheduleKind, ...] = ("end-to-end", "paper", "stages")
# the fields of STALSTMConfig and TrainingSettings that are not recipe keys, and why
MODEL_KEYS_FROM_DATA: dict[str, str] = {
    name: "decided by the data" for name in ("num_joints", "num_classes", "num_coords")
}
TRAINING_KEYS_ELSEWHERE: dict[str, str] = {
    "schedule": "made from the schedule and optimiser sections",
    "objective": "the objective section",
    "progress_bar": "chosen by the caller, not the recipe",
}
# stand-ins for the data's sizes, so that STALSTMConfig itself checks a model section before
# any data is opened
_DATA_SIZES_FOR_CHECKING: dict[str, int] = {"num_joints": 1, "num_classes": 1, "num_coords": 3}


class RecipeError(DataError):
    """A recipe key that is unknown, of the wrong type, or of an invalid value."""

    kind = "invalid recipe"


@dataclass(frozen=True)
class DataSection:
    dataset: str
    preset: str
    protocol: str
    folds: list[int] = field(default_factory=list)  # 1-based test folds of a cross-validation

    def __post_init__(self) -> None:
        if any(fold < 1 for fold in self.folds):
            raise SettingError("folds", f"must be 1-based fold numbers, got {self.folds}")


@dataclass(frozen=True)
class ScheduleSection:
    kind: ScheduleKind = "end-to-end"
    epochs: int = 100  # end-to-end
    pretrain_epochs: int = 30  # paper
    main_epochs: int = 30  # paper
    finetune_epochs: int = 30  # paper
    final_epochs: int = 60  # paper
    small_main_hidden: int = 32  # paper
    finetune_learning_rate_factor: float = 0.5  # paper
    stages: list[dict] = field(default_factory=list)  # stages: Stage fields
    models: dict = field(default_factory=dict)  # stages: model name -> config overrides

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULE_KINDS:
            raise SettingError("kind", f"must be one of {SCHEDULE_KINDS}, got {self.kind!r}")


@dataclass(frozen=True)
class AblationSection:
    variants: list[Variant] = field(default_factory=lambda: list(VARIANTS))
    regularised: list[bool] = field(default_factory=lambda: [True, False])
    schedules: list[ScheduleKind] = field(default_factory=lambda: ["paper", "end-to-end"])
    seeds: list[int] = field(default_factory=lambda: [0, 1])

    def __post_init__(self) -> None:
        for name, allowed in (("variants", VARIANTS), ("schedules", SCHEDULE_KINDS)):
            unknown = [value for value in getattr(self, name) if value not in allowed]
            if unknown:
                raise SettingError(name, f"must be a list of {allowed}, got {unknown}")


@dataclass(frozen=True)
class DetectionSection:
    """Frame-wise training of a detector (``stalstm.detection.training``).

    ``window`` is W of the detection score (``stalstm.detection.scores``; it also sets the
    objective's ``frame_window``). Training streams are built afresh every epoch from the
    training clips (``streams_per_epoch`` of them, shaped by ``build``:
    ``stalstm.detection.building.StreamBuildSettings``). ``held_out_fraction`` of the training
    material (clips of each class, or whole streams) is kept apart; ``held_out_streams`` streams
    built from it choose the post-processing: every combination of the ``search`` lists
    (``PostProcessing`` fields) is tried, and the one with the most detections minus false
    positives is kept (``post_processing`` gives the values not searched). ``test_streams``:
    streams built from the test clips of a clip data set. ``layout``: the layout of ``streams``
    data. ``pictures``: timeline pictures of the first test streams.

    Added in 0.4.0 (``docs/detection-results.md``): ``steps``, the training budget in optimiser
    steps (0: ``schedule.epochs`` as given; ``stalstm.detection.budget``); ``class_thresholds``,
    a start threshold per class calibrated on the held-out streams
    (``stalstm.detection.calibration``); ``build_from_segments``, for ``streams`` data also
    build streams from the training streams' annotated segments; ``recorded_windows``, random
    windows of the recorded training streams an epoch (0: each stream once, whole);
    ``test_build``, how the test streams of a clip data set are built (empty: as ``build``)."""

    window: int = 1
    streams_per_epoch: int = 200
    build: dict = field(default_factory=dict)
    held_out_fraction: float = 0.15
    held_out_streams: int = 60
    test_streams: int = 100
    post_processing: dict = field(default_factory=dict)
    search: dict = field(default_factory=dict)
    layout: str = ""
    pictures: int = 4
    steps: int = 0
    class_thresholds: bool = False
    build_from_segments: bool = False
    recorded_windows: int = 0
    test_build: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Recipe:
    """A validated recipe; ``to_dict`` gives back the resolved YAML content.

    ``model`` holds every ``STALSTMConfig`` field but the data's sizes (``model_config`` adds
    them). ``training`` is the ``TrainingSettings`` the recipe trains with: its ``schedule`` and
    ``objective`` are always the ones the schedule, optimiser and objective sections make."""

    name: str
    data: DataSection
    description: str = ""
    model: dict[str, Any] = field(default_factory=dict)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    optimiser: OptimiserSettings = field(default_factory=OptimiserSettings)
    schedule: ScheduleSection = field(default_factory=ScheduleSection)
    training: TrainingSettings = field(default_factory=TrainingSettings)
    augmentation: dict = field(default_factory=dict)
    ablation: AblationSection = field(default_factory=AblationSection)
    detection: DetectionSection | None = None

    def __post_init__(self) -> None:
        made = replace(self.training, schedule=self.build_schedule(), objective=self.objective)
        object.__setattr__(self, "training", made)  # frozen: set once, here

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["training"] = {
            name: value
            for name, value in values["training"].items()
            if name not in TRAINING_KEYS_ELSEWHERE
        }
        return values

    def model_config(self, num_joints: int, num_classes: int, num_coords: int) -> STALSTMConfig:
        """The model config for data with these sizes."""
        return STALSTMConfig(
            num_joints=num_joints, num_classes=num_classes, num_coords=num_coords, **self.model
        )

    def build_schedule(self) -> Schedule:
        """The schedule the recipe describes (before adapting it to the variant)."""
        source = f"recipe {self.name}"
        section = self.schedule
        try:
            if section.kind == "end-to-end":
                return end_to_end_schedule(section.epochs, self.optimiser)
            if section.kind == "paper":
                return paper_schedule(
                    section.pretrain_epochs,
                    section.main_epochs,
                    section.finetune_epochs,
                    section.final_epochs,
                    small_main_hidden=section.small_main_hidden,
                    optimiser=self.optimiser,
                    finetune_learning_rate_factor=section.finetune_learning_rate_factor,
                )
            return Schedule(self._stages(source), self._auxiliary_models(source))
        except ValueError as error:
            raise RecipeError(source, str(error), field="schedule") from error

    def _stages(self, source: str) -> tuple[Stage, ...]:
        stages = []
        for number, values in enumerate(self.schedule.stages, start=1):
            where = f"schedule.stages[{number}]"
            values = dict(_mapping(values, where, source))
            optimiser = _build(
                OptimiserSettings,
                {**asdict(self.optimiser), **values.pop("optimiser", {})},
                source,
                prefix=f"{where}.optimiser",
            )
            values["train"] = tuple(values.get("train", ()))
            stages.append(_build(Stage, {**values, "optimiser": optimiser}, source, where))
        return tuple(stages)

    def _auxiliary_models(self, source: str) -> dict[str, Any]:
        """``schedule.models``, each checked as overrides of the recipe's model config."""
        for name, overrides in self.schedule.models.items():
            where = f"schedule.models.{name}"
            overrides = _mapping(overrides, where, source)
            _build(STALSTMConfig, {**self.model, **overrides}, source, where,
                   not_keys=MODEL_KEYS_FROM_DATA, fixed=_DATA_SIZES_FOR_CHECKING)  # fmt: skip
        return dict(self.schedule.models)


def recipe_names() -> list[str]:
    """The recipes shipped with the package."""
    folder = resources.files("stalstm") / "recipes"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_recipe(name_or_path: str | Path, overrides: Sequence[str] = ()) -> Recipe:
    """A shipped recipe by name (``sbu``) or a YAML file, with ``key.sub=value`` overrides."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        if not path.is_file():
            raise RecipeError(path, "recipe file not found")
        text, where = path.read_text(), str(path)
    else:
        resource = resources.files("stalstm") / "recipes" / f"{name_or_path}.yaml"
        if not resource.is_file():
            raise RecipeError(
                str(name_or_path), f"no such recipe; shipped recipes: {', '.join(recipe_names())}"
            )
        text, where = resource.read_text(), f"recipe {name_or_path}"
    try:
        values = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise RecipeError(where, f"not valid YAML: {error}", line=line) from error
    if not isinstance(values, dict):
        raise RecipeError(where, "a recipe is a mapping of sections")
    for override in overrides:
        apply_override(values, override, where)
    return recipe_from_dict(values, where)


def apply_override(values: dict[str, Any], override: str, where: str = "--set") -> None:
    """Set ``values[a][b] = value`` for ``override`` = ``"a.b=value"`` (value read as YAML)."""
    key, separator, text = override.partition("=")
    if not separator or not key.strip():
        raise RecipeError(where, f"override {override!r} is not key.sub=value")
    *parents, leaf = key.strip().split(".")
    target = values
    for parent in parents:
        target = target.setdefault(parent, {})
        if not isinstance(target, dict):
            raise RecipeError(where, f"override {override!r}: {parent!r} is not a section")
    target[leaf] = yaml.safe_load(text)


def recipe_from_dict(values: Mapping[str, Any], where: str = "recipe") -> Recipe:
    """Validate a recipe mapping; errors name the offending key."""
    sections = dict(_mapping(values, "", where))
    # the model and training sections are checked by the API's own dataclasses
    model = _build(STALSTMConfig, sections.pop("model", {}), where, "model",
                   not_keys=MODEL_KEYS_FROM_DATA, fixed=_DATA_SIZES_FOR_CHECKING)  # fmt: skip
    sections["model"] = {
        name: getattr(model, name)
        for name in (spec.name for spec in fields(model))
        if name not in MODEL_KEYS_FROM_DATA
    }
    sections["training"] = _build(TrainingSettings, sections.pop("training", {}), where,
                                  "training", not_keys=TRAINING_KEYS_ELSEWHERE)  # fmt: skip
    recipe = _build(Recipe, sections, where, prefix="")
    from stalstm.transforms.augmentation import AugmentationConfig

    try:  # checked when the recipe loads, not when training first builds it
        augmentation = AugmentationConfig.from_dict(recipe.augmentation)
    except ValueError as error:
        raise RecipeError(where, str(error), field="augmentation") from error
    if recipe.detection is not None:
        from stalstm.detection.training import check_detection_recipe

        check_detection_recipe(recipe, augmentation, where)
    return recipe


def save_recipe(recipe: Recipe, path: str | Path) -> Path:
    """Write the resolved recipe as YAML."""
    path = Path(path)
    path.write_text(yaml.safe_dump(recipe.to_dict(), sort_keys=False))
    return path


def with_changes(recipe: Recipe, **sections: Mapping[str, Any]) -> Recipe:
    """A copy of ``recipe`` with some keys of some sections changed (validated again)."""
    values = recipe.to_dict()
    for section, changes in sections.items():
        values[section] = {**values[section], **changes}
    return recipe_from_dict(values, f"recipe {recipe.name}")


def _mapping(values: Any, key: str, where: str) -> Mapping[str, Any]:
    if not isinstance(values, Mapping):
        raise RecipeError(where, f"{key or 'recipe'} must be a mapping", field=key or None)
    return values


def _build(
    cls: type,
    values: Any,
    where: str,
    prefix: str | None = None,
    *,
    not_keys: Mapping[str, str] | None = None,
    fixed: Mapping[str, Any] | None = None,
) -> Any:
    """Instantiate dataclass ``cls`` from a mapping, checking keys and types recursively.

    ``not_keys``: fields that are not keys of this section, with the reason (they keep their
    defaults, or take the values in ``fixed``)."""
    prefix = "" if prefix is None else prefix
    not_keys = not_keys or {}
    values = _mapping(values, prefix, where)
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls) if f.name not in not_keys}

    def key_of(name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    for name in sorted(set(values) - set(known)):
        if name in not_keys:
            raise RecipeError(
                where, f"{key_of(name)} is not a recipe key: {not_keys[name]}", field=key_of(name)
            )
        raise RecipeError(
            where,
            f"unknown key {key_of(name)!r}; known keys: {', '.join(known)}",
            field=key_of(name),
        )
    arguments = dict(fixed or {})
    for name, spec in known.items():
        if name not in values:
            if spec.default is MISSING and spec.default_factory is MISSING:
                raise RecipeError(where, f"missing key {key_of(name)!r}", field=key_of(name))
            continue
        arguments[name] = _convert(hints[name], values[name], key_of(name), where)
    try:
        return cls(**arguments)
    except SettingError as error:  # the dataclass's own check, naming its field
        key = key_of(error.field)
        raise RecipeError(where, f"{key} {error.reason}", field=key) from error
    except (TypeError, ValueError) as error:
        raise RecipeError(where, f"{prefix or 'recipe'}: {error}", field=prefix or None) from error


def _convert(hint: Any, value: Any, key: str, where: str) -> Any:
    """``value`` checked against type ``hint`` (ints accepted for floats, not bools for ints)."""
    origin = typing.get_origin(hint)
    if hasattr(hint, "__dataclass_fields__"):
        if isinstance(value, hint):
            return value
        return _build(hint, value, where, prefix=key)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        sections = [option for option in options if hasattr(option, "__dataclass_fields__")]
        if value is not None and len(sections) == 1:  # an optional section: its own errors
            return _convert(sections[0], value, key, where)
        for option in options:
            try:
                return _convert(option, value, key, where)
            except RecipeError:
                continue
        raise RecipeError(where, f"{key} has the wrong type: {value!r}", field=key)
    if origin is typing.Literal:
        if value in typing.get_args(hint):
            return value
        raise RecipeError(
            where, f"{key} must be one of {typing.get_args(hint)}, got {value!r}", field=key
        )
    if origin in (list, tuple, Sequence) or hint in (list, tuple):
        if not isinstance(value, list | tuple):
            raise RecipeError(where, f"{key} must be a list, got {value!r}", field=key)
        arguments = typing.get_args(hint)
        item_hint = arguments[0] if arguments else Any
        items = [_convert(item_hint, item, f"{key}[{i}]", where) for i, item in enumerate(value)]
        return tuple(items) if origin is tuple or hint is tuple else items
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise RecipeError(where, f"{key} must be a mapping, got {value!r}", field=key)
        return dict(value)
    if hint is Any:
        return value
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is bool or hint is str:
        if isinstance(value, hint):
            return value
    elif hint is type(None) and value is None:
        return None
    raise RecipeError(
        where,
        f"{key} must be of type {getattr(hint, '__name__', hint)}, got {value!r}",
        field=key,
    )


__all__ = [
    "Recipe",
    "RecipeError",
    "load_recipe",
    "recipe_from_dict",
    "recipe_names",
    "save_recipe",
    "with_changes",
]
