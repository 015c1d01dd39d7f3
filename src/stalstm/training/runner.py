"""The training API behind the commands: ``train``, ``evaluate``, ``cross_validate``, ``ablate``.

A run folder holds ``recipe.yaml`` (the resolved recipe), ``run.json`` (data path, fold),
``stages/`` (per-stage checkpoints and logs), ``model/`` (the final model, written by
``stalstm.modelfile.save_model``), ``evaluation-<split>/`` (metrics, confusion matrix CSV and PNG,
per-clip scores keyed by clip name), ``training_curves.png``, ``summary.json`` and ``summary.md``.

Reported numbers are always those of the model after the last epoch of the last stage (a fixed
rule): the ``best.ckpt`` Lightning keeps per stage is chosen on the validation split, which for
SBU and MSR is the test split, so using it would be selecting on the test set.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from stalstm.training.recipes import Recipe, load_recipe, recipe_from_dict, save_recipe

RUN_FILE = "run.json"
SUMMARY_FILE = "summary.json"
TABLE_FILE = "summary.md"


class RunExistsError(FileExistsError):
    """A run folder that already holds a run (pass ``resume=True`` to continue it)."""


def resolve_recipe(recipe: str | Path | Recipe, overrides: Sequence[str] = ()) -> Recipe:
    """A recipe object from a name, a YAML path or a recipe, with ``key=value`` overrides."""
    if isinstance(recipe, Recipe):
        if not overrides:
            return recipe
        from stalstm.training.recipes import apply_override

        values = recipe.to_dict()
        for override in overrides:
            apply_override(values, override)
        return recipe_from_dict(values, f"recipe {recipe.name}")
    return load_recipe(recipe, overrides)


def train(
    recipe: str | Path | Recipe,
    data: str | Path,
    out: str | Path,
    fold: int | None = None,
    overrides: Sequence[str] = (),
    *,
    resume: bool = False,
    progress_bar: bool = True,
) -> dict[str, Any]:
    """Train one model by ``recipe`` on ``data`` (a prepared store or a raw data-set folder) into
    the run folder ``out``, evaluate it on the test split and return the summary.

    ``fold`` picks the test fold of a cross-validated protocol (required when the recipe has
    folds). ``resume`` continues a killed run in ``out``."""
    import torch
    import torch.distributed

    from stalstm.dataset import ClipDataset
    from stalstm.modelfile import save_model
    from stalstm.protocols import split_indices
    from stalstm.training.data import open_data
    from stalstm.training.engine import fit

    started = time.perf_counter()
    recipe = resolve_recipe(recipe, overrides)
    if recipe.detection is not None:  # frame-wise training of a detector
        from stalstm.detection.training import train_detector

        return train_detector(recipe, data, out, resume=resume, progress_bar=progress_bar)
    if recipe.training.threads > 0:
        # small LSTMs gain nothing from more threads, and lose much when cores are shared
        torch.set_num_threads(recipe.training.threads)
    out = Path(out)
    if recipe.data.folds and fold is None:
        raise ValueError(f"recipe {recipe.name!r} is cross-validated: pass a fold or use cv")
    if (out / RUN_FILE).is_file() and not resume:
        raise RunExistsError(f"{out} already holds a run; resume it or choose another folder")
    store = open_data(data, recipe)
    split = split_indices(store.metadata, recipe.data.protocol, fold)
    _check_split(split, store, recipe.data.protocol, fold)
    augment = _augmentation(recipe)
    seed = recipe.training.seed
    train_set = ClipDataset(store, split["train"], augment=augment, seed=seed)
    test_set = ClipDataset(store, split["test"])
    info = store.info
    config = recipe.model_config(
        num_joints=int(info["num_persons"]) * int(info["num_joints"]),
        num_classes=len(store.class_names),
        num_coords=int(info["num_coords"]),
    )
    settings = replace(recipe.training, progress_bar=progress_bar)
    run = {"data": str(Path(data).resolve()), "store": str(store.directory), "fold": fold}
    out.mkdir(parents=True, exist_ok=True)
    if _is_global_zero():
        save_recipe(recipe, out / "recipe.yaml")
        (out / RUN_FILE).write_text(json.dumps(run, indent=2) + "\n")
    result = fit(config, train_set, out, settings, validation_set=test_set, resume=resume)
    if not result.is_global_zero:
        if torch.distributed.is_initialized():
            torch.distributed.barrier()  # wait until rank 0 has written the model and summary
        return {}
    metadata = {"recipe": recipe.name, "dataset": recipe.data.dataset,
                "protocol": recipe.data.protocol, "fold": fold}  # fmt: skip
    save_model(
        out / "model",
        result.model,
        class_names=store.class_names,
        layout=store.layout or info.get("layout", "unknown"),
        preset=info.get("preset", recipe.data.preset),
        joint_names=info.get("joints"),
        metadata=metadata,
    )
    metrics = _write_evaluation(result.model, test_set, store.class_names, out, "test")
    from stalstm.training.evaluation import plot_training_curves

    plot_training_curves(
        result.stage_folders, out / "training_curves.png", f"{recipe.name} {_fold_text(fold)}"
    )
    summary = {
        "recipe": recipe.name,
        "variant": recipe.model["variant"],
        "schedule": recipe.schedule.kind,
        "fold": fold,
        "seed": seed,
        **metrics,
        "train_clips": len(train_set),
        "test_clips": len(test_set),
        "epochs": settings.schedule.for_config(config).total_epochs,
        "training_seconds": round(result.seconds, 2),
        "seconds": round(time.perf_counter() - started, 2),
        # per stage, its last epoch's diagnostics; every stage's attention-collapse warnings
        "diagnostics": result.diagnostics,
        "warnings": result.warnings,
    }
    _write_summary(out, summary, _run_table(summary))
    if torch.distributed.is_initialized():
        torch.distributed.barrier()
    return summary


def evaluate(run_dir: str | Path, split: str = "test", data: str | Path | None = None) -> dict:
    """Evaluate the final model of a run on one split of its protocol (``train`` or ``test``),
    writing ``evaluation-<split>/`` into the run folder; ``data`` replaces the recorded path."""
    from stalstm.dataset import ClipDataset
    from stalstm.modelfile import load_model
    from stalstm.protocols import split_indices
    from stalstm.training.data import open_data

    run_dir = Path(run_dir)
    if not (run_dir / RUN_FILE).is_file():
        raise FileNotFoundError(f"{run_dir} is not a run folder (no {RUN_FILE})")
    recipe = load_recipe(run_dir / "recipe.yaml")
    run = json.loads((run_dir / RUN_FILE).read_text())
    store = open_data(data or run["store"], recipe)
    splits = split_indices(store.metadata, recipe.data.protocol, run["fold"])
    if split not in splits:
        raise ValueError(f"unknown split {split!r}; choose one of {sorted(splits)}")
    loaded = load_model(run_dir / "model")
    dataset = ClipDataset(store, splits[split])
    metrics = _write_evaluation(loaded.model, dataset, list(loaded.class_names), run_dir, split)
    return {"run": str(run_dir), "split": split, "fold": run["fold"], **metrics}


@dataclass(frozen=True)
class _Job:
    """One training of a cross-validation or an ablation, picklable for a worker process."""

    recipe: dict
    data: str
    out: str
    fold: int | None
    resume: bool
    progress_bar: bool


def _run_job(job: _Job) -> dict[str, Any]:
    summary_path = Path(job.out) / SUMMARY_FILE
    if job.resume and summary_path.is_file():
        return json.loads(summary_path.read_text())  # finished before the interruption
    if job.resume and not (Path(job.out) / RUN_FILE).is_file():
        shutil.rmtree(job.out, ignore_errors=True)  # never started: start it afresh
    recipe = recipe_from_dict(job.recipe)
    return train(recipe, job.data, job.out, job.fold, resume=job.resume,
                 progress_bar=job.progress_bar)  # fmt: skip


def _run_jobs(jobs: Sequence[_Job], parallel: int) -> list[dict[str, Any]]:
    """Independent trainings, in order, ``parallel`` at a time in worker processes (small LSTMs
    on a CPU gain more from running folds side by side than from threads)."""
    if parallel <= 1:
        return [_run_job(job) for job in jobs]
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(parallel, mp_context=context) as pool:
        return list(pool.map(_run_job, jobs))


def cross_validate(
    recipe: str | Path | Recipe,
    data: str | Path,
    out: str | Path,
    overrides: Sequence[str] = (),
    *,
    folds: Sequence[int] | None = None,
    parallel: int = 1,
    resume: bool = False,
    progress_bar: bool = True,
) -> dict[str, Any]:
    """Train and test on every fold of the recipe (``out/fold-K``); write and return the summary:
    ``folds`` (top-1 per fold), ``mean_accuracy``, ``std_accuracy`` (population std over folds),
    ``seconds``, and each fold's full summary."""
    from stalstm.training.data import open_data

    started = time.perf_counter()
    recipe = resolve_recipe(recipe, overrides)
    folds = list(folds or recipe.data.folds)
    if not folds:
        raise ValueError(f"recipe {recipe.name!r} has no folds to cross-validate")
    store = open_data(data, recipe)  # prepare once, before the workers start
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_recipe(recipe, out / "recipe.yaml")
    jobs = [
        _Job(recipe.to_dict(), str(store.directory), str(out / f"fold-{fold}"), fold, resume,
             progress_bar and parallel <= 1)
        for fold in folds
    ]  # fmt: skip
    runs = _run_jobs(jobs, parallel)
    accuracies = [run["top1"] for run in runs]
    summary = {
        "recipe": recipe.name,
        "variant": recipe.model["variant"],
        "schedule": recipe.schedule.kind,
        "fold_numbers": folds,
        "folds": accuracies,
        "mean_accuracy": float(np.mean(accuracies)),
        "std_accuracy": float(np.std(accuracies)),
        "mean_class_accuracy": float(np.mean([run["mean_class_accuracy"] for run in runs])),
        "parallel": parallel,
        "seconds": round(time.perf_counter() - started, 2),
        "runs": runs,
    }
    _write_summary(out, summary, _cross_validation_table(summary))
    return summary


def ablation_name(variant: str, regularised: bool, schedule: str) -> str:
    """The folder and row name of one ablation configuration."""
    return f"{variant}-{'reg' if regularised else 'noreg'}-{schedule}"


def ablate(
    recipe: str | Path | Recipe,
    data: str | Path,
    out: str | Path,
    overrides: Sequence[str] = (),
    *,
    variants: Sequence[str] | None = None,
    seeds: Sequence[int] | None = None,
    folds: Sequence[int] | None = None,
    parallel: int = 1,
    resume: bool = False,
) -> dict[str, Any]:
    """Every configuration of ``recipe.ablation`` (variants x with/without regularisers x
    schedules) on every fold and seed; write and return per-run results, mean and std.

    Without regularisers all three lambdas are 0. ``out/<variant>-<reg|noreg>-<schedule>/
    seed-S/fold-K`` holds each run."""
    from stalstm.objective import ObjectiveConfig
    from stalstm.training.data import open_data
    from stalstm.training.recipes import with_changes

    started = time.perf_counter()
    recipe = resolve_recipe(recipe, overrides)
    plan = recipe.ablation
    variants = list(variants or plan.variants)
    seeds = list(seeds if seeds is not None else plan.seeds)
    fold_list: list[int | None] = list(folds or recipe.data.folds) or [None]
    store = open_data(data, recipe)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_recipe(recipe, out / "recipe.yaml")
    configurations = []
    jobs = []
    for variant in variants:
        for regularised in plan.regularised:
            for schedule in plan.schedules:
                objective = recipe.objective if regularised else ObjectiveConfig.unregularised()
                name = ablation_name(variant, regularised, schedule)
                configurations.append((name, variant, regularised, schedule))
                for seed in seeds:
                    changed = with_changes(
                        recipe,
                        model={"variant": variant},
                        objective=objective.to_dict(),
                        schedule={"kind": schedule},
                        training={"seed": seed},
                    )
                    for fold in fold_list:
                        where = out / name / f"seed-{seed}" / _fold_text(fold).replace(" ", "-")
                        jobs.append(_Job(changed.to_dict(), str(store.directory), str(where),
                                         fold, resume, False))  # fmt: skip
    runs = _run_jobs(jobs, parallel)
    rows = []
    per_configuration = len(seeds) * len(fold_list)
    for number, (name, variant, regularised, schedule) in enumerate(configurations):
        results = runs[number * per_configuration : (number + 1) * per_configuration]
        accuracies = [run["top1"] for run in results]
        rows.append({
            "name": name, "variant": variant, "regularised": regularised, "schedule": schedule,
            "runs": [{"seed": run["seed"], "fold": run["fold"], "top1": run["top1"],
                      "mean_class_accuracy": run["mean_class_accuracy"]} for run in results],
            "mean_accuracy": float(np.mean(accuracies)),
            "std_accuracy": float(np.std(accuracies)),
        })  # fmt: skip
    summary = {
        "recipe": recipe.name,
        "seeds": seeds,
        "folds": fold_list,
        "configurations": rows,
        "parallel": parallel,
        "seconds": round(time.perf_counter() - started, 2),
    }
    _write_summary(out, summary, _ablation_table(summary))
    return summary


def _check_split(split: dict[str, list[int]], store: Any, protocol: str, fold: int | None) -> None:
    from stalstm.errors import EmptySplitError

    empty = [side for side in ("train", "test") if not split[side]]
    if empty:
        where = f"{protocol}" + (f" fold {fold}" if fold is not None else "")
        raise EmptySplitError(
            f"{store.directory}: protocol {where} leaves the {' and '.join(empty)} split empty "
            f"({len(split['train'])} train / {len(split['test'])} test of {len(store)} clips); "
            "is this the data set the protocol is for?"
        )


def _augmentation(recipe: Recipe) -> Any:
    if not recipe.augmentation:
        return None
    from stalstm.transforms import build_augmentation

    return build_augmentation(recipe.augmentation)


def _write_evaluation(model: Any, dataset: Any, class_names: list[str], out: Path, split: str):
    from stalstm.training.evaluation import (
        accuracy_metrics,
        confusion_matrix,
        plot_confusion,
        predict,
        write_confusion_csv,
        write_scores,
    )

    folder = out / f"evaluation-{split}"
    folder.mkdir(parents=True, exist_ok=True)
    predictions = predict(model, dataset)
    metrics = accuracy_metrics(predictions, len(class_names))
    matrix = confusion_matrix(predictions, len(class_names))
    write_confusion_csv(matrix, class_names, folder / "confusion.csv")
    plot_confusion(matrix, class_names, folder / "confusion.png",
                   f"{split}: top-1 {100 * metrics['top1']:.1f} %")  # fmt: skip
    write_scores(predictions, class_names, folder / "scores.json")
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def _is_global_zero() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def _fold_text(fold: int | None) -> str:
    return "all" if fold is None else f"fold {fold}"


def _write_summary(out: Path, summary: dict[str, Any], table: str) -> None:
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    (out / TABLE_FILE).write_text(table)


def _percent(value: float) -> str:
    return f"{100 * value:.1f}"


def _run_table(summary: dict[str, Any]) -> str:
    return (
        f"# {summary['recipe']} ({summary['variant']}, {summary['schedule']}), "
        f"{_fold_text(summary['fold'])}\n\n"
        "| top-1 % | top-5 % | mean class % | test clips | epochs | seconds |\n"
        "| ---: | ---: | ---: | ---: | ---: | ---: |\n"
        f"| {_percent(summary['top1'])} | {_percent(summary['top5'])} "
        f"| {_percent(summary['mean_class_accuracy'])} | {summary['test_clips']} "
        f"| {summary['epochs']} | {summary['seconds']:.0f} |\n"
    )


def _cross_validation_table(summary: dict[str, Any]) -> str:
    lines = [
        f"# {summary['recipe']}: {len(summary['folds'])}-fold cross-validation "
        f"({summary['variant']}, {summary['schedule']})\n",
        "| fold | top-1 % | mean class % | test clips |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for number, run in zip(summary["fold_numbers"], summary["runs"], strict=True):
        top1, mean_class = _percent(run["top1"]), _percent(run["mean_class_accuracy"])
        lines.append(f"| {number} | {top1} | {mean_class} | {run['test_clips']} |")
    lines.append(
        f"| **mean +/- std** | **{_percent(summary['mean_accuracy'])} +/- "
        f"{_percent(summary['std_accuracy'])}** | {_percent(summary['mean_class_accuracy'])} | |"
    )
    lines.append(f"\n{summary['seconds']:.0f} s in all.\n")
    return "\n".join(lines)


def _ablation_table(summary: dict[str, Any]) -> str:
    lines = [
        f"# {summary['recipe']}: ablation, top-1 % mean +/- std over "
        f"{len(summary['folds'])} fold(s) x {len(summary['seeds'])} seed(s)\n",
        "| variant | regularisers | schedule | top-1 % | runs |",
        "| --- | --- | --- | ---: | ---: |",
    ]
    for row in summary["configurations"]:
        lines.append(
            f"| {row['variant']} | {'yes' if row['regularised'] else 'no'} | {row['schedule']} "
            f"| {_percent(row['mean_accuracy'])} +/- {_percent(row['std_accuracy'])} "
            f"| {len(row['runs'])} |"
        )
    lines.append(f"\n{summary['seconds']:.0f} s in all.\n")
    return "\n".join(lines)
