"""The tasks a recipe can describe, and the one place that tells them apart: a recipe with a
``detection`` section trains a detector (``stalstm.detection.training``), any other a recogniser
of clips (``stalstm.training.runner``). This module sits above both, so that training never
imports detection; ``stalstm train`` is ``train`` below."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stalstm.detection.recipe import DetectionRecipe
from stalstm.detection.training import DetectionTask
from stalstm.training.pipeline import RunResult, Task, run
from stalstm.training.recipes import (
    Recipe,
    apply_override,
    read_recipe_values,
    recipe_from_dict,
    with_overrides,
)
from stalstm.training.runner import RecognitionTask


def recipe_kind(values: dict[str, Any]) -> type[Recipe]:
    """The recipe kind of a recipe's raw mapping."""
    return DetectionRecipe if "detection" in values else Recipe


def task_for(recipe: Recipe) -> Task:
    """The task that trains a recipe of this kind."""
    return DetectionTask() if isinstance(recipe, DetectionRecipe) else RecognitionTask()


def load_any_recipe(recipe: str | Path | Recipe, overrides: Sequence[str] = ()) -> Recipe:
    """A recipe of whichever kind it is (by name, YAML file, or a recipe), with overrides."""
    if isinstance(recipe, Recipe):
        return with_overrides(recipe, overrides)
    values, where = read_recipe_values(recipe)
    kind = recipe_kind(values)  # the file's kind: an override cannot change it
    for override in overrides:
        apply_override(values, override, where)
    return recipe_from_dict(values, where, kind)


def train(
    recipe: str | Path | Recipe,
    data: str | Path | None,
    out: str | Path,
    fold: int | None = None,
    overrides: Sequence[str] = (),
    *,
    layout: str | None = None,
    resume: bool = False,
    progress_bar: bool = True,
) -> RunResult:
    """Train whatever ``recipe`` describes on ``data`` into the run folder ``out``: a
    recogniser or a detector (see the module docstring). ``layout`` sets ``data.layout``: the
    layout of data whose files do not say (your own clips or streams)."""
    if layout is not None:
        overrides = (*overrides, f"data.layout={layout}")
    chosen = load_any_recipe(recipe, overrides)
    return run(task_for(chosen), chosen, data, out, fold, resume=resume,
               progress_bar=progress_bar)  # fmt: skip
