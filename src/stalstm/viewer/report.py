"""A training run's report (``stalstm report RUN -o FILE``; ``report.html`` in the run folder at
the end of ``stalstm train``): one page with the run's facts, its training curves (every
stage's CSV log), and for a recognition run the per-class accuracy, the confusion matrix (a
click on a cell lists its clips, from ``scores.json``) and a viewer for a few test clips the
model got right and wrong (the most confident of each), their clips read from the run's data
through ``run.json``.

Everything comes from the run folder as ``stalstm.training.pipeline`` writes it. What a folder
lacks (an interrupted run has no evaluation, a moved data set no clips to show) is said on the
page, not raised; a folder that is not a run at all is a ``DataError``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from stalstm.errors import DataError
from stalstm.explain import clip_attention
from stalstm.modelfile import LoadedModel, load_model
from stalstm.store import ClipStore
from stalstm.training.data import open_data
from stalstm.training.engine import torch_threads
from stalstm.training.evaluation import read_stage_logs
from stalstm.training.pipeline import MODEL_FOLDER, RUN_FILE, SUMMARY_FILE
from stalstm.training.recipes import load_recipe
from stalstm.viewer.clips import clip_view
from stalstm.viewer.page import write_page

REPORT_FILE = "report.html"
EVALUATION_FOLDER = "evaluation-test"
CLIPS_SHOWN = 3  # right and wrong test clips each, with a viewer on the page
CURVE_KEYS = ("loss", "cross_entropy", "top1", "accuracy")  # logged columns the page plots


def run_report(
    run_dir: str | Path, *, store: ClipStore | None = None, clips_shown: int = CLIPS_SHOWN
) -> dict[str, Any]:
    """The report's data for one run folder. ``store`` holds the test clips (the run's own
    data, when the caller has it open; else it is opened through ``run.json``)."""
    run_dir = Path(run_dir)
    recorded = read_run_file(run_dir)
    summary = _read_json(run_dir / SUMMARY_FILE)
    absent: list[str] = []
    if summary is None:
        absent.append(
            f"no {SUMMARY_FILE}: the run has not finished (resume it with stalstm train "
            "... --resume)"
        )
    task = str(recorded.get("task", "recognition"))
    report: dict[str, Any] = {
        "kind": "report",
        "run": str(run_dir),
        "name": run_dir.name,
        "task": task,
        "facts": _facts(run_dir, recorded, summary or {}),
        "curves": training_curves(run_dir),
        "evaluation": None,
        "detection": None,
        "views": [],
        "absent": absent,
    }
    if not report["curves"]:
        absent.append("no training log (stages/*/logs/metrics.csv): no curves to draw")
    if task == "recognition":
        _recognition_part(run_dir, recorded, report, store, clips_shown)
    else:
        _detection_part(run_dir, summary or {}, report)
    return report


def write_run_report(
    run_dir: str | Path,
    path: str | Path | None = None,
    *,
    store: ClipStore | None = None,
    clips_shown: int = CLIPS_SHOWN,
) -> Path:
    """Write the report of ``run_dir`` to ``path`` (default ``RUN/report.html``)."""
    run_dir = Path(run_dir)
    data = run_report(run_dir, store=store, clips_shown=clips_shown)
    target = Path(path) if path is not None else run_dir / REPORT_FILE
    return write_page(target, "report", f"run {run_dir.name}: report", data)


def read_run_file(run_dir: Path) -> dict[str, Any]:
    """``run.json`` of a run folder; a ``DataError`` naming what the folder is otherwise."""
    if not run_dir.is_dir():
        raise DataError(run_dir, "no such run folder")
    recorded = _read_json(run_dir / RUN_FILE)
    if recorded is None:
        inside = sorted(
            str(path.parent.relative_to(run_dir))
            for pattern in (f"*/{RUN_FILE}", f"*/*/{RUN_FILE}")
            for path in run_dir.glob(pattern)
        )
        hint = f" (it holds the runs {', '.join(inside)}: report one of them)" if inside else ""
        raise DataError(run_dir, f"not a run folder: no {RUN_FILE} (stalstm train writes it){hint}")
    return recorded


def training_curves(run_dir: Path) -> list[dict[str, Any]]:
    """Every logged epoch of every stage, in order: ``global_epoch``, ``stage`` and the
    logged losses and accuracies."""
    stages = run_dir / "stages"
    folders = sorted(path for path in stages.iterdir() if path.is_dir()) if stages.is_dir() else []
    rows = []
    for row in read_stage_logs(folders):
        kept = {
            key: round(float(value), 6)
            for key, value in row.items()
            if "/" in key and any(word in key for word in CURVE_KEYS)
        }
        if kept:
            rows.append({"epoch": int(row["global_epoch"]), "stage": row["stage"], **kept})
    return rows


def _facts(run_dir: Path, recorded: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    recipe = _read_yaml(run_dir / "recipe.yaml") or {}
    facts = {
        "recipe": summary.get("recipe", recipe.get("name")),
        "variant": summary.get("variant", (recipe.get("model") or {}).get("variant")),
        "task": recorded.get("task", "recognition"),
        "fold": recorded.get("fold"),
        "data": recorded.get("data"),
        "stalstm version": recorded.get("stalstm_version"),
        "epochs": summary.get("epochs"),
        "training seconds": summary.get("training_seconds"),
    }
    for key in ("top1", "top5", "mean_class_accuracy", "train_clips", "test_clips"):
        if key in summary:
            facts[key.replace("_", " ")] = summary[key]
    return {key: value for key, value in facts.items() if value is not None}


def _recognition_part(
    run_dir: Path,
    recorded: dict[str, Any],
    report: dict[str, Any],
    store: ClipStore | None,
    clips_shown: int,
) -> None:
    absent = report["absent"]
    folder = run_dir / EVALUATION_FOLDER
    scores = _read_json(folder / "scores.json")
    if scores is None or not (folder / "confusion.csv").is_file():
        absent.append(
            f"no evaluation ({EVALUATION_FOLDER}/scores.json and confusion.csv): the run "
            f"stopped before its test; stalstm eval {run_dir} writes it"
        )
        return
    classes, matrix = read_confusion(folder / "confusion.csv")
    index = {name: number for number, name in enumerate(classes)}
    clips = [
        {
            "name": name,
            "truth": index.get(entry.get("label"), -1),
            "predicted": index[entry["predicted"]],
            "probability": round(float(entry["probabilities"][entry["predicted"]]), 6),
            "correct": bool(entry["correct"]),
        }
        for name, entry in scores.items()
    ]
    report["evaluation"] = {
        "split": "test",
        "metrics": _read_json(folder / "metrics.json") or {},
        "classes": classes,
        "confusion": matrix.tolist(),
        "clips": clips,
    }
    chosen = choose_clips(clips, clips_shown)
    if not chosen:
        return
    try:
        loaded = load_model(run_dir / MODEL_FOLDER)
    except (DataError, OSError) as error:
        absent.append(f"no test clips to view: the model cannot be read ({error})")
        return
    try:
        store = store if store is not None else open_run_store(run_dir, recorded)
    except (DataError, OSError, ValueError) as error:
        absent.append(f"no test clips to view: the run's data cannot be read ({error})")
        return
    report["views"] = clip_views(loaded, store, [clip["name"] for clip in chosen])
    missing = {clip["name"] for clip in chosen} - {view["name"] for view in report["views"]}
    if missing:
        absent.append(f"clips not found in the run's data: {', '.join(sorted(missing))}")


def choose_clips(clips: Sequence[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """The ``count`` most confident wrong clips and the ``count`` most confident right ones
    (the right ones from different classes first), wrong ones first."""
    wrong = sorted((c for c in clips if not c["correct"]), key=lambda c: -c["probability"])
    right = sorted((c for c in clips if c["correct"]), key=lambda c: -c["probability"])
    seen: set[int] = set()
    varied = []
    for clip in right:
        if clip["truth"] not in seen:
            seen.add(clip["truth"])
            varied.append(clip)
    varied += [clip for clip in right if clip not in varied]
    return wrong[:count] + varied[:count]


def open_run_store(run_dir: Path, recorded: dict[str, Any]) -> ClipStore:
    """The run's prepared store: the one ``run.json`` names, else its data opened as training
    opened it (prepared into the cache if needed; generated again for the demo)."""
    where = recorded.get("store")
    if where and ClipStore.is_store(where):
        return ClipStore.open(where)
    return open_data(recorded.get("data"), load_recipe(run_dir / "recipe.yaml"))


def clip_views(loaded: LoadedModel, store: ClipStore, names: Sequence[str]) -> list[dict]:
    """The viewer data of the named clips of a prepared store, in the order named."""
    position = {row["name"]: number for number, row in enumerate(store.metadata)}
    views = []
    # one short clip at a time: a second thread only contends (on a busy 2-core machine it
    # made the six clips of a report take 10 s instead of 0.1 s)
    with torch_threads(1):
        for name in names:
            if name in position:
                clip = store[position[name]]
                attention = clip_attention(loaded, clip, prepared=True)
                views.append(clip_view(loaded, attention))
    return views


def read_confusion(path: Path) -> tuple[list[str], np.ndarray]:
    """Class names and the (true, predicted) counts of a ``confusion.csv``."""
    with open(path, newline="") as stream:
        rows = list(csv.reader(stream))
    if not rows or len(rows[0]) < 2:
        raise DataError(path, "not a confusion matrix (a header row of class names first)")
    classes = rows[0][1:]
    try:
        matrix = np.array([[int(cell) for cell in row[1:]] for row in rows[1:]], dtype=np.int64)
    except ValueError as error:
        raise DataError(path, f"a count that is not a whole number ({error})") from None
    if matrix.shape != (len(classes), len(classes)):
        raise DataError(path, f"{matrix.shape} counts for {len(classes)} classes")
    return classes, matrix


def _detection_part(run_dir: Path, summary: dict[str, Any], report: dict[str, Any]) -> None:
    metrics = {
        split: summary[split]
        for split in ("test", "held_out")
        if isinstance(summary.get(split), dict)
    }
    if not metrics:
        test = _read_json(run_dir / EVALUATION_FOLDER / "metrics.json")
        if test is None:
            report["absent"].append(
                f"no evaluation ({EVALUATION_FOLDER}/metrics.json): the run stopped before its test"
            )
            return
        metrics = {"test": test}
    report["detection"] = {
        "metrics": metrics,
        "post_processing": summary.get("post_processing"),
        "window": summary.get("window"),
        "see": f"stalstm detect {run_dir} STREAM --html FILE shows a stream frame by frame",
    }


def _read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DataError(path, f"not valid JSON ({error})") from None


def _read_yaml(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise DataError(path, f"not valid YAML ({error})") from None
