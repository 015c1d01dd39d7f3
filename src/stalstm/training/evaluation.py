"""Evaluation: predictions keyed by clip name, top-1/top-5/mean-class accuracy (torchmetrics),
the confusion matrix as CSV and PNG with class names, and training curves from the CSV logs.

Evaluation runs in one process over the whole split (never sharded), so the numbers do not depend
on how many processes trained the model or on distributed padding.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torchmetrics.functional.classification import multiclass_accuracy, multiclass_confusion_matrix

from stalstm.dataset import collate_clips
from stalstm.model import STALSTM


@dataclass
class Predictions:
    """The model's class scores for every clip of a split, in dataset order, with clip names."""

    names: list[str]
    labels: np.ndarray  # (N,) int
    logits: np.ndarray  # (N, classes) float

    @property
    def predicted(self) -> np.ndarray:
        return self.logits.argmax(axis=1)


@torch.inference_mode()
def predict(
    model: STALSTM,
    dataset: Dataset,
    batch_size: int = 64,
    collate: Callable[[list[dict]], dict] | None = None,
) -> Predictions:
    """Run ``model`` (in eval mode, on its own device) over every item of ``dataset``."""
    collate = collate or collate_clips
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    names: list[str] = []
    labels: list[np.ndarray] = []
    logits: list[np.ndarray] = []
    for batch in DataLoader(dataset, batch_size=batch_size, collate_fn=collate):
        output = model(batch["joints"].to(device), batch["mask"].to(device))
        names += list(batch["names"])
        labels.append(batch["labels"].numpy())
        logits.append(output.logits.float().cpu().numpy())
    model.train(was_training)
    return Predictions(names, np.concatenate(labels), np.concatenate(logits))


def accuracy_metrics(predictions: Predictions, num_classes: int) -> dict[str, float]:
    """top1, top5 (top-k with k = min(5, classes)) and mean_class_accuracy (macro average over
    the classes that occur), as fractions, plus the clip count."""
    logits = torch.from_numpy(predictions.logits)
    labels = torch.from_numpy(predictions.labels).long()
    top_k = min(5, num_classes)
    return {
        "top1": float(multiclass_accuracy(logits, labels, num_classes, average="micro")),
        "top5": float(
            multiclass_accuracy(logits, labels, num_classes, average="micro", top_k=top_k)
        ),
        "mean_class_accuracy": float(
            multiclass_accuracy(logits, labels, num_classes, average="macro")
        ),
        "clips": len(predictions.names),
    }


def confusion_matrix(predictions: Predictions, num_classes: int) -> np.ndarray:
    """(classes, classes) counts: row = true class, column = predicted class."""
    return multiclass_confusion_matrix(
        torch.from_numpy(predictions.logits),
        torch.from_numpy(predictions.labels).long(),
        num_classes,
    ).numpy()


def write_confusion_csv(matrix: np.ndarray, class_names: Sequence[str], path: Path) -> Path:
    """The confusion matrix with a header row and column of class names."""
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["true \\ predicted", *class_names])
        for name, row in zip(class_names, matrix, strict=True):
            writer.writerow([name, *(int(count) for count in row)])
    return path


def plot_confusion(matrix: np.ndarray, class_names: Sequence[str], path: Path, title: str) -> Path:
    """The confusion matrix as a PNG, rows normalised, counts written in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(4.0, 0.45 * len(class_names) + 2.5)
    figure, axes = plt.subplots(figsize=(size + 1, size))
    totals = matrix.sum(axis=1, keepdims=True).clip(min=1)
    image = axes.imshow(matrix / totals, cmap="Blues", vmin=0.0, vmax=1.0)
    axes.set_xticks(range(len(class_names)), class_names, rotation=60, ha="right")
    axes.set_yticks(range(len(class_names)), class_names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    if len(class_names) <= 30:
        for row in range(matrix.shape[0]):
            for column in range(matrix.shape[1]):
                if matrix[row, column]:
                    share = matrix[row, column] / totals[row, 0]
                    colour = "white" if share > 0.5 else "black"
                    axes.text(column, row, int(matrix[row, column]), ha="center", va="center",
                              fontsize=7, color=colour)  # fmt: skip
    figure.colorbar(image, ax=axes, fraction=0.046, label="share of the true class")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def write_scores(predictions: Predictions, class_names: Sequence[str], path: Path) -> Path:
    """Per-clip results keyed by clip name: true and predicted class, and the class scores."""
    probabilities = torch.softmax(torch.from_numpy(predictions.logits), dim=1).numpy()
    scores = {
        name: {
            "label": class_names[int(label)] if label >= 0 else None,
            "predicted": class_names[int(predicted)],
            "correct": bool(label == predicted),
            "probabilities": dict(zip(class_names, (round(float(p), 6) for p in row), strict=True)),
        }
        for name, label, predicted, row in zip(
            predictions.names, predictions.labels, predictions.predicted, probabilities, strict=True
        )
    }
    path.write_text(json.dumps(scores, indent=1) + "\n")
    return path


def read_stage_logs(stage_folders: Sequence[Path]) -> list[dict[str, float | str]]:
    """The epoch rows of every stage's CSV log, in order, with a running ``global_epoch``."""
    rows: list[dict[str, float | str]] = []
    offset = 0
    for folder in stage_folders:
        log = folder / "logs" / "metrics.csv"
        if not log.is_file():
            continue
        epochs: dict[int, dict[str, float | str]] = {}
        with open(log, newline="") as stream:
            for row in csv.DictReader(stream):
                if not row.get("epoch"):
                    continue
                epoch = int(float(row["epoch"]))
                merged = epochs.setdefault(epoch, {"stage": folder.name})
                merged.update({key: float(value) for key, value in row.items() if value})
        for epoch in sorted(epochs):
            rows.append({**epochs[epoch], "global_epoch": offset + epoch + 1})
        offset += max(epochs, default=-1) + 1
    return rows


def plot_training_curves(stage_folders: Sequence[Path], path: Path, title: str = "") -> Path:
    """Loss and accuracy against epoch over all stages, stage boundaries marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_stage_logs(stage_folders)
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(11, 4))
    for axes, keys in (
        (loss_axes, ("train/loss", "train/cross_entropy", "val/cross_entropy")),
        (accuracy_axes, ("train/top1", "val/top1")),
    ):
        for key in keys:
            points = [(row["global_epoch"], row[key]) for row in rows if key in row]
            if points:
                x, y = zip(*points, strict=True)
                axes.plot(x, y, marker="." if key.startswith("val") else None, label=key)
        boundaries = [
            row["global_epoch"] - 0.5
            for previous, row in itertools.pairwise(rows)
            if row["stage"] != previous["stage"]
        ]
        for boundary in boundaries:
            axes.axvline(boundary, color="grey", linewidth=0.6, linestyle=":")
        axes.set_xlabel("epoch (all stages)")
        axes.legend(fontsize=8)
    loss_axes.set_ylabel("loss")
    loss_axes.set_yscale("log")
    accuracy_axes.set_ylabel("accuracy")
    accuracy_axes.set_ylim(0, 1)
    figure.suptitle(title or "training curves (dotted: stage boundaries)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def write_evaluation(
    model: STALSTM, dataset: Dataset, class_names: Sequence[str], out: Path, split: str
) -> dict[str, float]:
    """Evaluate ``model`` on ``dataset`` into ``out/evaluation-<split>/``: ``metrics.json``,
    ``confusion.csv`` and ``confusion.png`` with class names, ``scores.json`` (per clip, keyed
    by its name); return the metrics."""
    folder = Path(out) / f"evaluation-{split}"
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
