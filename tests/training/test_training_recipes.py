"""Recipes: every shipped one validates; unknown keys and wrong types are errors naming the key;
overrides apply before validation; the resolved recipe saved into a run folder loads back."""

from __future__ import annotations

from pathlib import Path

import pytest

from stalstm.training.recipes import (
    RecipeError,
    load_recipe,
    recipe_from_dict,
    recipe_names,
    save_recipe,
)


def test_every_shipped_recipe_validates_and_builds_its_schedule():
    names = recipe_names()
    expected = ["generic", "generic-detect", "msr-cs", "msr-detect", "ntu120-xset", "ntu120-xsub",
                "ntu60-xsub", "ntu60-xview", "sbu", "sfinge3d-detect"]  # fmt: skip
    assert names == expected
    for name in names:
        recipe = load_recipe(name)
        assert recipe.name == name
        assert recipe.build_schedule().total_epochs > 0
        config = recipe.model_config(num_joints=30, num_classes=8, num_coords=3)
        assert config.variant == recipe.model.variant
    assert load_recipe("sbu").data.folds == [1, 2, 3, 4, 5]
    assert [name for name in names if load_recipe(name).detection is not None] == [
        "generic-detect", "msr-detect", "sfinge3d-detect"
    ]  # fmt: skip


def test_overrides_apply_before_validation():
    recipe = load_recipe("sbu", ["schedule.kind=end-to-end", "schedule.epochs=7",
                                 "model.dropout=0.25", "augmentation.noise_std=0"])  # fmt: skip
    assert recipe.schedule.kind == "end-to-end"
    assert recipe.build_schedule().total_epochs == 7
    assert recipe.model.dropout == 0.25
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
    with pytest.raises(RecipeError, match=r"schedule\.stages\[1\]\.trian"):
        load_recipe("sbu", ["schedule.kind=stages", "schedule.stages=[{name: x, trian: [main],"
                                                    " epochs: 1}]"])  # fmt: skip


def test_the_saved_resolved_recipe_loads_back_equal(tmp_path: Path):
    recipe = load_recipe("sbu", ["training.seed=9"])
    path = save_recipe(recipe, tmp_path / "recipe.yaml")
    assert load_recipe(path) == recipe
