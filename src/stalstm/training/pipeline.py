"""One training pipeline for every task: recognising clips, detecting actions in streams, and
the demo all run ``run`` below, and differ only in their ``Task``.

The steps, in order: refuse a run folder that already holds a run (unless resuming); the task
builds its material from the recipe and the data (datasets, model config, class names); the
recipe and ``run.json`` are written; ``fit`` trains (stages, checkpoints, resume, DDP); the task
finishes the model (detection chooses its post-processing on held-out streams) and the model
file is saved (``stalstm.modelfile``); the saved model is evaluated by the task; the training
curves are drawn; ``summary.json`` and ``summary.md`` are written. A run folder holds
``recipe.yaml``, ``run.json``, ``stages/``, ``model/``, ``evaluation-<split>/``,
``training_curves.png``, ``summary.json`` and ``summary.md``.

Reported numbers are those of the model after the last epoch of the last stage (a fixed rule):
the ``best.ckpt`` Lightning keeps per stage is chosen on the validation split, which for SBU and
MSR is the test split, so reporting it would be selecting on the test set.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import torch
import torch.distributed
from torch.utils.data import Dataset

from stalstm import __version__
from stalstm.model import STALSTM, STALSTMConfig
from stalstm.modelfile import LoadedModel, load_model, save_model
from stalstm.training.engine import fit, torch_threads
from stalstm.training.evaluation import plot_training_curves
from stalstm.training.recipes import Recipe, save_recipe

RUN_FILE = "run.json"
SUMMARY_FILE = "summary.json"
TABLE_FILE = "summary.md"
MODEL_FOLDER = "model"


class RunExistsError(FileExistsError):
    """A run folder that already holds a run (pass ``resume=True`` to continue it)."""


@dataclass
class Material:
    """What a task trains and tests on, built from a recipe and the data.

    Attributes:
        model_config: the full model to train.
        train_set: training items (``dict(joints, label, name)``).
        validation_set: evaluated every few epochs while training (None: none).
        class_names: one per model output, in output order.
        layout: the input's skeleton layout (a ``Layout`` or a registered name).
        preset: the preparation preset the training data went through.
        joint_names: names of one person's joints, when the layout does not give them.
        collate: batches items (``stalstm.dataset.collate_clips`` when None).
        run: what ``run.json`` records: the data path, the store, the fold, the task.
        description: facts for the summary: clip or stream counts, the split.
        recipe: the recipe as the task resolved it against the data (detection sets its
            epochs from a budget in optimiser steps); None: the recipe as given.
        warnings: what the task found wrong with the material (a run too short to learn...);
            logged by the task, and kept in the summary's ``warnings``.
    """

    model_config: STALSTMConfig
    train_set: Dataset
    validation_set: Dataset | None
    class_names: list[str]
    layout: Any
    preset: str
    joint_names: Sequence[str] | None = None
    collate: Callable[[list[dict]], dict] | None = None
    run: dict[str, Any] = field(default_factory=dict)
    description: dict[str, Any] = field(default_factory=dict)
    recipe: Recipe | None = None
    warnings: list[str] = field(default_factory=list)


class Task(Protocol):
    """What differs between recognition and detection (and anything else that trains)."""

    name: str

    def material(self, recipe: Recipe, data: str | Path | None, fold: int | None) -> Material:
        """The datasets and the model config of a run."""

    def finish(self, model: STALSTM, material: Material, out: Path) -> tuple[dict, dict]:
        """After training, before saving: the model file's metadata of the task and facts for
        the summary (detection: the post-processing chosen on held-out streams). A fact
        ``warnings`` (a list) joins the summary's warnings."""

    def evaluate(self, model: LoadedModel, material: Material, out: Path) -> dict[str, Any]:
        """The saved model's test metrics (written into ``out/evaluation-test/``); a key
        ``warnings`` (a list) joins the summary's warnings."""

    def table(self, summary: dict[str, Any]) -> str:
        """The summary as a small Markdown table."""

    def report(self, out: Path, material: Material) -> Path | None:
        """The run's page, written last (``report.html``; None when the task writes none)."""


@dataclass
class RunResult:
    """A finished run: its summary, the saved model (None on DDP ranks other than 0) and the
    material it trained on."""

    summary: dict[str, Any]
    model: LoadedModel | None
    material: Material


def is_global_zero() -> bool:
    """Rank 0 of a torchrun launch, or a process outside one."""
    return int(os.environ.get("RANK", "0")) == 0


def start_run(out: Path, resume: bool) -> None:
    """Refuse a folder that already holds a run unless resuming it."""
    if (out / RUN_FILE).is_file() and not resume:
        raise RunExistsError(f"{out} already holds a run; resume it (--resume) or choose another")


def write_summary(out: Path, summary: dict[str, Any], table: str) -> None:
    """``summary.json`` and ``summary.md`` of a run (or of a cross-validation, an ablation)."""
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    (out / TABLE_FILE).write_text(table)


def run(
    task: Task,
    recipe: Recipe,
    data: str | Path | None,
    out: str | Path,
    fold: int | None = None,
    *,
    resume: bool = False,
    progress_bar: bool = True,
) -> RunResult:
    """Train, save and evaluate one model of ``task`` by ``recipe`` on ``data`` into the run
    folder ``out`` (see the module docstring); ``resume`` continues a killed run there."""
    started = time.perf_counter()
    out = Path(out)
    start_run(out, resume)
    with torch_threads(recipe.training.threads):
        material = task.material(recipe, data, fold)
        recipe = material.recipe or recipe
        settings = replace(recipe.training, progress_bar=progress_bar)
        out.mkdir(parents=True, exist_ok=True)
        if is_global_zero():
            save_recipe(recipe, out / "recipe.yaml")
            run_file = {"task": task.name, "stalstm_version": __version__, **material.run}
            (out / RUN_FILE).write_text(json.dumps(run_file, indent=2) + "\n")
        result = fit(
            material.model_config, material.train_set, out, settings,
            validation_set=material.validation_set, resume=resume, collate=material.collate,
        )  # fmt: skip
        if not result.is_global_zero:
            _wait_for_rank_zero()
            return RunResult({}, None, material)
        metadata, facts = task.finish(result.model, material, out)
        warnings = [*material.warnings, *facts.pop("warnings", [])]
        save_model(
            out / MODEL_FOLDER, result.model, class_names=material.class_names,
            layout=material.layout, preset=material.preset, joint_names=material.joint_names,
            metadata={"recipe": recipe.name, "dataset": recipe.data.dataset,
                      "protocol": recipe.data.protocol, "fold": fold, **metadata},
        )  # fmt: skip
        loaded = load_model(out / MODEL_FOLDER)
        metrics = task.evaluate(loaded, material, out)
        warnings += metrics.pop("warnings", [])
        plot_training_curves(result.stage_folders, out / "training_curves.png", recipe.name)
        summary = {
            "stalstm_version": __version__,
            "task": task.name,
            "recipe": recipe.name,
            "variant": recipe.model["variant"],
            "schedule": recipe.schedule.kind,
            "fold": fold,
            "seed": recipe.training.seed,
            **metrics,
            **material.description,
            **facts,
            "epochs": settings.schedule.for_config(material.model_config).total_epochs,
            "training_seconds": round(result.seconds, 2),
            "seconds": round(time.perf_counter() - started, 2),
            # per stage, its last epoch's diagnostics; the task's and every stage's warnings
            "diagnostics": result.diagnostics,
            "warnings": [*warnings, *result.warnings],
        }
        write_summary(out, summary, task.table(summary))
        task.report(out, material)
        _wait_for_rank_zero()
        return RunResult(summary, loaded, material)


def _wait_for_rank_zero() -> None:
    """Under DDP, every process waits until rank 0 has written the model and summary."""
    if torch.distributed.is_initialized():
        torch.distributed.barrier()
