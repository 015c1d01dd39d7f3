"""The recognition API behind the commands: ``train``, ``evaluate``, ``cross_validate``,
``ablate``. ``train`` runs the one training pipeline (``stalstm.training.pipeline``) with the
recognition task below; ``cross_validate`` and ``ablate`` run many trainings side by side and
summarise them, ``ablate`` with every variant's difference to the plain LSTM paired by seed and
fold (``stalstm.training.comparison``).
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from stalstm import __version__
from stalstm.dataset import ClipDataset
from stalstm.datasets import get_dataset
from stalstm.errors import DataError, EmptySplitError
from stalstm.model import STALSTM
from stalstm.modelfile import LoadedModel, load_model
from stalstm.objective import ObjectiveConfig
from stalstm.protocols import split_indices
from stalstm.store import ClipStore
from stalstm.training.comparison import paired_by_key
from stalstm.training.data import open_data
from stalstm.training.evaluation import write_evaluation
from stalstm.training.pipeline import (
    RUN_FILE,
    SUMMARY_FILE,
    Material,
    RunResult,
    run,
    write_summary,
)
from stalstm.training.recipes import (
    Recipe,
    load_recipe,
    recipe_from_dict,
    save_recipe,
    with_changes,
    with_overrides,
)
from stalstm.transforms import build_augmentation
from stalstm.viewer.report import write_run_report

REFERENCE_VARIANT = "lstm"  # what ablate pairs every variant against


class RecognitionTask:
    """Training on trimmed clips: a store split by the recipe's protocol, evaluated by top-1,
    top-5 and mean-class accuracy, the confusion matrix and per-clip scores."""

    name = "recognition"

    def material(self, recipe: Recipe, data: str | Path | None, fold: int | None) -> Material:
        if recipe.data.folds and fold is None:
            raise ValueError(f"recipe {recipe.name!r} is cross-validated: pass a fold or use cv")
        store = open_data(data, recipe)
        protocol = get_dataset(recipe.data.dataset).protocol(recipe.data.protocol)
        split = split_indices(store.metadata, protocol, fold)
        check_split(split, store, data, recipe.data.protocol, fold)
        augment = build_augmentation(recipe.augmentation) if recipe.augmentation else None
        train_set = ClipDataset(store, split["train"], augment=augment, seed=recipe.training.seed)
        test_set = ClipDataset(store, split["test"])
        info = store.info
        config = recipe.model_config(
            num_joints=int(info["num_persons"]) * int(info["num_joints"]),
            num_classes=len(store.class_names),
            num_coords=int(info["num_coords"]),
        )
        where = None if data is None else str(Path(data).resolve())
        return Material(
            config, train_set, test_set, store.class_names,
            layout=store.layout or info.get("layout", "unknown"),
            preset=info.get("preset", recipe.data.preset), joint_names=info.get("joints"),
            run={"data": where, "store": str(store.directory), "fold": fold},
            description={
                "split": {"protocol": protocol.name, "rule": protocol.description},
                "train_clips": len(train_set), "test_clips": len(test_set),
            },
        )  # fmt: skip

    def finish(self, model: STALSTM, material: Material, out: Path) -> tuple[dict, dict]:
        return {}, {}

    def evaluate(self, model: LoadedModel, material: Material, out: Path) -> dict[str, Any]:
        assert material.validation_set is not None
        return write_evaluation(model.model, material.validation_set, material.class_names,
                                out, "test")  # fmt: skip

    def report(self, out: Path, material: Material) -> Path:
        # the test clips are in memory already: the page's viewers read them from there
        store = getattr(material.validation_set, "store", None)
        return write_run_report(out, store=store)

    def table(self, summary: dict[str, Any]) -> str:
        return (
            f"# {summary['recipe']} ({summary['variant']}, {summary['schedule']}), "
            f"{_fold_text(summary['fold'])}\n\n"
            "| top-1 % | top-5 % | mean class % | test clips | epochs | seconds |\n"
            "| ---: | ---: | ---: | ---: | ---: | ---: |\n"
            f"| {_percent(summary['top1'])} | {_percent(summary['top5'])} "
            f"| {_percent(summary['mean_class_accuracy'])} | {summary['test_clips']} "
            f"| {summary['epochs']} | {summary['seconds']:.0f} |\n"
        )


def check_split(
    split: dict[str, list[int]],
    store: ClipStore,
    data: str | Path | None,
    protocol: str,
    fold: int | None,
) -> None:
    """An ``EmptySplitError`` naming the user's data (and the store it was prepared into) when
    the protocol leaves a side empty, with the protocols that would split it."""
    empty = [side for side in ("train", "test") if not split[side]]
    if not empty:
        return
    where = protocol + (f" fold {fold}" if fold is not None else "")
    prepared = (
        "" if data is None or Path(data) == store.directory else f" (prepared as {store.directory})"
    )
    raise EmptySplitError(
        data if data is not None else store.directory,
        f"protocol {where} leaves the {' and '.join(empty)} split empty "
        f"({len(split['train'])} train / {len(split['test'])} test of {len(store)} clips)"
        f"{prepared}; is this the data set the protocol is for? For your own data use "
        "--set data.protocol=holdout (a stratified 20 % of each class tests) or "
        "--set data.protocol=column:<field>=<test values> (e.g. column:subject=9,10)",
    )


def resolve_recipe(recipe: str | Path | Recipe, overrides: Sequence[str] = ()) -> Recipe:
    """A recognition recipe from a name, a YAML path or a recipe, with ``key=value`` overrides."""
    if isinstance(recipe, Recipe):
        return with_overrides(recipe, overrides)
    return load_recipe(recipe, overrides)


def train(
    recipe: str | Path | Recipe,
    data: str | Path | None,
    out: str | Path,
    fold: int | None = None,
    overrides: Sequence[str] = (),
    *,
    resume: bool = False,
    progress_bar: bool = True,
) -> dict[str, Any]:
    """Train one recogniser by ``recipe`` on ``data`` (a prepared store or a raw data-set
    folder; None for generated data) into the run folder ``out``, evaluate it on the test split
    and return the summary (``stalstm.training.pipeline``). ``fold`` picks the test fold of a
    cross-validated protocol; ``resume`` continues a killed run in ``out``."""
    return train_run(recipe, data, out, fold, overrides, resume=resume,
                     progress_bar=progress_bar).summary  # fmt: skip


def train_run(
    recipe: str | Path | Recipe,
    data: str | Path | None,
    out: str | Path,
    fold: int | None = None,
    overrides: Sequence[str] = (),
    *,
    resume: bool = False,
    progress_bar: bool = True,
) -> RunResult:
    """``train``, returning the saved model and the material too."""
    recipe = resolve_recipe(recipe, overrides)
    return run(RecognitionTask(), recipe, data, out, fold, resume=resume,
               progress_bar=progress_bar)  # fmt: skip


def evaluate(run_dir: str | Path, split: str = "test", data: str | Path | None = None) -> dict:
    """Evaluate the final model of a recognition run on one split of its protocol (``train``
    or ``test``), writing ``evaluation-<split>/`` into the run folder; ``data`` replaces the
    recorded path."""
    run_dir = Path(run_dir)
    if not (run_dir / RUN_FILE).is_file():
        raise DataError(run_dir, f"not a run folder (no {RUN_FILE}; `stalstm train` writes it)")
    recorded = json.loads((run_dir / RUN_FILE).read_text())
    if recorded.get("task", "recognition") != RecognitionTask.name:
        raise DataError(
            run_dir,
            f"a {recorded['task']} run: its evaluation is in {run_dir / 'evaluation-test'}; "
            "eval evaluates recognition runs",
        )
    recipe = load_recipe(run_dir / "recipe.yaml")
    store = open_data(data or recorded.get("store") or recorded.get("data"), recipe)
    protocol = get_dataset(recipe.data.dataset).protocol(recipe.data.protocol)
    splits = split_indices(store.metadata, protocol, recorded["fold"])
    if split not in splits:
        raise ValueError(f"unknown split {split!r}; choose one of {sorted(splits)}")
    loaded = load_model(run_dir / "model")
    dataset = ClipDataset(store, splits[split])
    metrics = write_evaluation(loaded.model, dataset, list(loaded.class_names), run_dir, split)
    return {"run": str(run_dir), "split": split, "fold": recorded["fold"], **metrics}


@dataclass(frozen=True)
class _Job:
    """One training of a cross-validation or an ablation, picklable for a worker process."""

    recipe: dict
    data: str | None
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
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(parallel, mp_context=context) as pool:
        return list(pool.map(_run_job, jobs))


def _prepared(data: str | Path | None, recipe: Recipe) -> str | None:
    """The store the jobs read: prepared once, before the workers start (None: generated)."""
    if data is None:
        return None
    return str(open_data(data, recipe).directory)


def cross_validate(
    recipe: str | Path | Recipe,
    data: str | Path | None,
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
    started = time.perf_counter()
    recipe = resolve_recipe(recipe, overrides)
    folds = list(folds or recipe.data.folds)
    if not folds:
        raise ValueError(f"recipe {recipe.name!r} has no folds to cross-validate")
    store = _prepared(data, recipe)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_recipe(recipe, out / "recipe.yaml")
    jobs = [
        _Job(recipe.to_dict(), store, str(out / f"fold-{fold}"), fold, resume,
             progress_bar and parallel <= 1)
        for fold in folds
    ]  # fmt: skip
    runs = _run_jobs(jobs, parallel)
    accuracies = [result["top1"] for result in runs]
    summary = {
        "stalstm_version": __version__,
        "recipe": recipe.name,
        "variant": recipe.model["variant"],
        "schedule": recipe.schedule.kind,
        "fold_numbers": folds,
        "folds": accuracies,
        "mean_accuracy": float(np.mean(accuracies)),
        "std_accuracy": float(np.std(accuracies)),
        "mean_class_accuracy": float(np.mean([r["mean_class_accuracy"] for r in runs])),
        "parallel": parallel,
        "seconds": round(time.perf_counter() - started, 2),
        "runs": runs,
    }
    write_summary(out, summary, _cross_validation_table(summary))
    return summary


def ablation_name(variant: str, regularised: bool, schedule: str) -> str:
    """The folder and row name of one ablation configuration."""
    return f"{variant}-{'reg' if regularised else 'noreg'}-{schedule}"


def ablate(
    recipe: str | Path | Recipe,
    data: str | Path | None,
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
    schedules) on every fold and seed; write and return per-run results, their mean and std,
    and each variant's difference to the plain LSTM of the same configuration, paired by
    (seed, fold).

    Without regularisers all three lambdas are 0. ``out/<variant>-<reg|noreg>-<schedule>/
    seed-S/fold-K`` holds each run; with ``resume`` finished runs are kept."""
    started = time.perf_counter()
    recipe = resolve_recipe(recipe, overrides)
    plan = recipe.ablation
    variants = list(variants or plan.variants)
    seeds = list(seeds if seeds is not None else plan.seeds)
    fold_list: list[int | None] = list(folds or recipe.data.folds) or [None]
    store = _prepared(data, recipe)
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
                        recipe, model={"variant": variant}, objective=objective.to_dict(),
                        schedule={"kind": schedule}, training={"seed": seed},
                    )  # fmt: skip
                    for fold in fold_list:
                        where = out / name / f"seed-{seed}" / _fold_text(fold).replace(" ", "-")
                        jobs.append(_Job(changed.to_dict(), store, str(where), fold, resume,
                                         False))  # fmt: skip
    results = _run_jobs(jobs, parallel)
    per_configuration = len(seeds) * len(fold_list)
    rows = []
    for number, (name, variant, regularised, schedule) in enumerate(configurations):
        chosen = results[number * per_configuration : (number + 1) * per_configuration]
        accuracies = [result["top1"] for result in chosen]
        rows.append({
            "name": name, "variant": variant, "regularised": regularised, "schedule": schedule,
            "runs": [{"seed": r["seed"], "fold": r["fold"], "top1": r["top1"],
                      "mean_class_accuracy": r["mean_class_accuracy"]} for r in chosen],
            "mean_accuracy": float(np.mean(accuracies)),
            "std_accuracy": float(np.std(accuracies)),
        })  # fmt: skip
    _pair_with_reference(rows)
    summary = {
        "stalstm_version": __version__,
        "recipe": recipe.name,
        "seeds": seeds,
        "folds": fold_list,
        "configurations": rows,
        "parallel": parallel,
        "seconds": round(time.perf_counter() - started, 2),
    }
    write_summary(out, summary, _ablation_table(summary))
    return summary


def _pair_with_reference(rows: list[dict[str, Any]]) -> None:
    """Add to each row its top-1 difference to the plain LSTM of the same regularisers and
    schedule, paired by (seed, fold) (``minus_lstm``; None for the LSTM's own rows)."""

    def by_run(row: dict[str, Any]) -> dict[tuple, float]:
        return {(run["seed"], run["fold"]): run["top1"] for run in row["runs"]}

    references = {
        (row["regularised"], row["schedule"]): by_run(row)
        for row in rows
        if row["variant"] == REFERENCE_VARIANT
    }
    for row in rows:
        reference = references.get((row["regularised"], row["schedule"]))
        paired = None
        if row["variant"] != REFERENCE_VARIANT and reference is not None:
            paired = paired_by_key(by_run(row), reference)
        row["minus_lstm"] = None if paired is None else paired.to_dict()


def _fold_text(fold: int | None) -> str:
    return "all" if fold is None else f"fold {fold}"


def _percent(value: float) -> str:
    return f"{100 * value:.1f}"


def _cross_validation_table(summary: dict[str, Any]) -> str:
    lines = [
        f"# {summary['recipe']}: {len(summary['folds'])}-fold cross-validation "
        f"({summary['variant']}, {summary['schedule']})\n",
        "| fold | top-1 % | mean class % | test clips |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for number, result in zip(summary["fold_numbers"], summary["runs"], strict=True):
        top1, mean_class = _percent(result["top1"]), _percent(result["mean_class_accuracy"])
        lines.append(f"| {number} | {top1} | {mean_class} | {result['test_clips']} |")
    lines.append(
        f"| **mean +/- std** | **{_percent(summary['mean_accuracy'])} +/- "
        f"{_percent(summary['std_accuracy'])}** | {_percent(summary['mean_class_accuracy'])} | |"
    )
    lines.append(f"\n{summary['seconds']:.0f} s in all.\n")
    return "\n".join(lines)


def _ablation_table(summary: dict[str, Any]) -> str:
    lines = [
        f"# {summary['recipe']}: ablation, top-1 % over {len(summary['folds'])} fold(s) x "
        f"{len(summary['seeds'])} seed(s)\n",
        "| variant | regularisers | schedule | top-1 % (mean +/- std) | minus LSTM, paired "
        "(mean +/- s.e.) | pairs better / worse | runs |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in summary["configurations"]:
        paired = row["minus_lstm"]
        if paired is None:
            difference = counts = ""
        else:
            error = paired["standard_error"]
            difference = f"{100 * paired['mean']:+.2f}" + (
                "" if error is None else f" +/- {100 * error:.2f}"
            )
            counts = f"{paired['better']} / {paired['worse']} of {paired['pairs']}"
        lines.append(
            f"| {row['variant']} | {'yes' if row['regularised'] else 'no'} | {row['schedule']} "
            f"| {_percent(row['mean_accuracy'])} +/- {_percent(row['std_accuracy'])} "
            f"| {difference} | {counts} | {len(row['runs'])} |"
        )
    lines.append(f"\n{summary['seconds']:.0f} s in all.\n")
    return "\n".join(lines)
