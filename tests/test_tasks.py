"""The task of a recipe: detection recipes are read as detection recipes and train detectors,
every other recipe trains a recogniser; the train API refuses nothing it can train."""

from __future__ import annotations

import pytest

from stalstm.detection.recipe import DetectionRecipe
from stalstm.detection.training import DetectionTask
from stalstm.tasks import load_any_recipe, task_for
from stalstm.training.recipes import Recipe, RecipeError, recipe_names
from stalstm.training.runner import RecognitionTask


def test_every_shipped_recipe_loads_as_its_kind_and_picks_its_task():
    kinds = {name: type(load_any_recipe(name)) for name in recipe_names()}
    assert [name for name, kind in kinds.items() if kind is DetectionRecipe] == [
        "generic-detect", "msr-detect", "sfinge3d-detect"
    ]  # fmt: skip
    assert {kind for kind in kinds.values()} == {Recipe, DetectionRecipe}
    assert isinstance(task_for(load_any_recipe("sfinge3d-detect")), DetectionTask)
    assert isinstance(task_for(load_any_recipe("sbu")), RecognitionTask)


def test_overrides_reach_either_kind_and_are_checked_by_it():
    recipe = load_any_recipe("sfinge3d-detect", ["detection.window=3", "schedule.epochs=2"])
    assert recipe.detection.window == 3 and recipe.training.objective.frame_window == 3
    with pytest.raises(RecipeError) as caught:
        load_any_recipe("sbu", ["detection.window=3"])
    assert caught.value.field == "detection"
