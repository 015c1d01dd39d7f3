"""Recipes: every shipped one validates; unknown keys and wrong types are errors naming the key;
overrides apply before validation; the resolved recipe saved into a run folder loads back."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import pytest

from stalstm.errors import SettingError
from stalstm.model import STALSTMConfig
from stalstm.objective import ObjectiveConfig
from stalstm.training import recipes
from stalstm.training.engine import TrainingSettings
from stalstm.training.recipes import (
    MODEL_KEYS_FROM_DATA,
    TRAINING_KEYS_ELSEWHERE,
    RecipeError,
    load_recipe,
    recipe_from_dict,
    recipe_names,
    save_recipe,
)

DETECTION = ["generic-detect", "msr-detect", "sfinge3d-detect"]  # tests/test_tasks.py: their kind


def test_every_shipped_recognition_recipe_validates_and_builds_its_schedule():
    names = [name for name in recipe_names() if name not in DETECTION]
    expected = ["demo", "generic", "msr-cs", "ntu120-xset", "ntu120-xsub", "ntu60-xsub",
                "ntu60-xview", "sbu", "sfinge3d-gestures", "utd-mhad-cs"]  # fmt: skip
    assert names == expected
    for name in names:
        recipe = load_recipe(name)
        assert recipe.name == name
        assert recipe.build_schedule().total_epochs > 0
        config = recipe.model_config(num_joints=30, num_classes=8, num_coords=3)
        assert config.variant == recipe.model["variant"]
    assert load_recipe("sbu").data.folds == [1, 2, 3, 4, 5]
    # every recipe standardises its input but msr-cs, whose preset centres and scales already
    # (docs: the model, "why each default")
    unstandardised = [name for name in names if not load_recipe(name).model_config(
        num_joints=30, num_classes=8, num_coords=3).standardise_input]  # fmt: skip
    assert unstandardised == ["msr-cs"]
    for name in DETECTION:  # another kind: read as one, refused with what trains it
        with pytest.raises(RecipeError, match="a detection recipe") as caught:
            load_recipe(name)
        assert caught.value.field == "detection"


def test_overrides_apply_before_validation():
    recipe = load_recipe("sbu", ["schedule.kind=end-to-end", "schedule.epochs=7",
                                 "model.dropout=0.25", "augmentation.noise_std=0"])  # fmt: skip
    assert recipe.schedule.kind == "end-to-end"
    assert recipe.build_schedule().total_epochs == 7
    assert recipe.model["dropout"] == 0.25
    assert recipe.augmentation["noise_std"] == 0


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("model.dropuot=0.1", "model.dropuot"),
        ("model.main_hidden=many", "model.main_hidden"),
        ("training.deterministic=3", "training.deterministic"),
        ("optimiser.learning_rate=[1]", "optimiser.learning_rate"),
        ("data.folds=1", "data.folds"),
        ("colour=red", "colour"),
        ("model.variant=xyz", "model.variant"),
        ("model.main_hiden=100", "model.main_hiden"),
        ("model.num_joints=30", "model.num_joints"),  # the data decides it
        ("training.batch_size=0", "training.batch_size"),
        ("training.threads=-1", "training.threads"),
        ("training.ema_decay=0.9", "training.ema_decay"),
        ("training.schedule=3", "training.schedule"),  # a section of its own
        ("optimiser.learning_rate=0", "optimiser.learning_rate"),
        ("data.folds=[1, 0]", "data.folds"),
        ("ablation.variants=[sta, stla]", "ablation.variants[1]"),
        ("ablation.schedules=[weekly]", "ablation.schedules[0]"),
        ("schedule.kind=weekly", "schedule.kind"),
        ("augmentation.mirro=0.5", "mirro"),
        ("augmentation.scale=-1", "scale"),
    ],
)
def test_unknown_keys_and_wrong_types_are_errors_naming_the_key(override: str, key: str):
    with pytest.raises(RecipeError) as caught:
        load_recipe("sbu", [override])
    assert key in str(caught.value)


def test_a_missing_required_key_and_bad_yaml_are_named(tmp_path: Path):
    with pytest.raises(RecipeError, match=r"data\.protocol"):
        recipe_from_dict({"name": "x", "data": {"dataset": "sbu", "preset": "sbu"}})
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\ndata: [unclosed\n")
    with pytest.raises(RecipeError) as caught:
        load_recipe(broken)
    assert caught.value.line is not None and "broken.yaml" in str(caught.value)


def test_an_explicit_stage_list_is_a_schedule():
    recipe = load_recipe("sbu", [
        "schedule.kind=stages",
        "schedule.models={small: {variant: ta, main_hidden: 8}}",
        "schedule.stages=[{name: pre, train: [main, temporal], epochs: 2, model: small},"
        " {name: all, train: [main, spatial, temporal], epochs: 3, take: {temporal: small},"
        " optimiser: {learning_rate: 0.0005}}]",
    ])  # fmt: skip
    schedule = recipe.build_schedule()
    assert [stage.name for stage in schedule.stages] == ["pre", "all"]
    assert schedule.stages[1].optimiser.learning_rate == 0.0005
    assert schedule.stages[1].optimiser.gradient_clip == recipe.optimiser.gradient_clip
    with pytest.raises(RecipeError, match=r"schedule\.stages\[2\]\.trian"):
        load_recipe("sbu", ["schedule.kind=stages", "schedule.stages=[{name: x, train: [main],"
                            " epochs: 1}, {name: y, trian: [main], epochs: 1}]"])  # fmt: skip
    with pytest.raises(RecipeError, match=r"schedule\.models\.small\.main_hiden"):
        load_recipe("sbu", ["schedule.kind=stages", "schedule.models={small: {main_hiden: 8}}",
                            "schedule.stages=[{name: x, train: [main], epochs: 1}]"])  # fmt: skip


def test_the_saved_resolved_recipe_loads_back_equal(tmp_path: Path):
    recipe = load_recipe("sbu", ["training.seed=9"])
    path = save_recipe(recipe, tmp_path / "recipe.yaml")
    assert load_recipe(path) == recipe


def test_the_model_and_training_sections_are_the_api_dataclasses_field_for_field():
    recipe = load_recipe("sbu", ["training.seed=4", "objective.l1_weight=0"])
    values = recipe.to_dict()
    model_fields = [f.name for f in fields(STALSTMConfig) if f.name not in MODEL_KEYS_FROM_DATA]
    assert list(values["model"]) == model_fields
    assert list(values["training"]) == [
        f.name for f in fields(TrainingSettings) if f.name not in TRAINING_KEYS_ELSEWHERE
    ]
    # recipe.training is what training gets: the schedule and objective of their sections
    assert isinstance(recipe.training, TrainingSettings) and recipe.training.seed == 4
    assert recipe.training.schedule == recipe.build_schedule()
    assert recipe.training.objective == ObjectiveConfig(l1_weight=0.0)
    assert recipe.training.threads == 1 and load_recipe("ntu60-xsub").training.threads == 0


def test_a_field_added_to_the_api_dataclasses_is_a_recipe_key_with_no_other_edit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    @dataclass(frozen=True)
    class ConfigWithScale(STALSTMConfig):
        input_scale: float = 1.0

    @dataclass(frozen=True)
    class SettingsWithWarmUp(TrainingSettings):
        warm_up_epochs: int = 0

        def __post_init__(self) -> None:
            super().__post_init__()
            if self.warm_up_epochs < 0:
                raise SettingError("warm_up_epochs", f"must be >= 0, got {self.warm_up_epochs}")

    monkeypatch.setattr(recipes, "STALSTMConfig", ConfigWithScale)
    monkeypatch.setattr(recipes, "TrainingSettings", SettingsWithWarmUp)
    recipe = load_recipe("sbu", ["model.input_scale=2", "training.warm_up_epochs=3"])
    assert recipe.model["input_scale"] == 2.0
    assert recipe.model_config(30, 8, 3).input_scale == 2.0
    assert recipe.training.warm_up_epochs == 3
    assert load_recipe("sbu").model["input_scale"] == 1.0  # the dataclass's default
    assert load_recipe(save_recipe(recipe, tmp_path / "recipe.yaml")) == recipe
    for override, key in (("model.input_scale=big", "model.input_scale"),
                          ("training.warm_up_epochs=-1", "training.warm_up_epochs")):  # fmt: skip
        with pytest.raises(RecipeError) as caught:
            load_recipe("sbu", [override])
        assert caught.value.field == key
