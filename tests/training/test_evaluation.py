"""Evaluation helpers on hand-made predictions, where every number is known."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from stalstm.training.evaluation import (
    Predictions,
    accuracy_metrics,
    confusion_matrix,
    plot_confusion,
    plot_training_curves,
    read_stage_logs,
    write_confusion_csv,
    write_scores,
)

CLASSES = ["wave", "kick", "punch"]


@pytest.fixture
def predictions() -> Predictions:
    # true: wave wave kick punch; predicted: wave kick kick wave; punch's 2nd choice is right
    logits = np.array([[3, 1, 0], [1, 3, 0], [0, 3, 1], [3, 0, 2]], dtype=np.float32)
    return Predictions(["c/1", "c/2", "c/3", "c/4"], np.array([0, 0, 1, 2]), logits)


def test_metrics_are_top1_top_k_and_the_mean_of_per_class_accuracies(predictions):
    metrics = accuracy_metrics(predictions, len(CLASSES))
    assert metrics["top1"] == pytest.approx(2 / 4)
    assert metrics["top5"] == pytest.approx(1.0)  # k = min(5, classes) = 3
    assert metrics["mean_class_accuracy"] == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert metrics["clips"] == 4


def test_confusion_matrix_rows_are_true_classes_and_files_carry_class_names(
    predictions, tmp_path: Path, saved_figures
):
    matrix = confusion_matrix(predictions, len(CLASSES))
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 0]]
    write_confusion_csv(matrix, CLASSES, tmp_path / "confusion.csv")
    with open(tmp_path / "confusion.csv", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["true \\ predicted", *CLASSES]
    assert rows[3] == ["punch", "1", "0", "0"]
    plot_confusion(matrix, CLASSES, tmp_path / "confusion.png", "test")
    ((figure, _),) = saved_figures
    axes = figure.axes[0]
    (image,) = axes.get_images()  # rows normalised: wave's two clips split half and half
    np.testing.assert_allclose(image.get_array(), [[0.5, 0.5, 0], [0, 1, 0], [1, 0, 0]])
    cells = {(text.get_position(), text.get_text()) for text in axes.texts}
    assert cells == {((0, 0), "1"), ((1, 0), "1"), ((1, 1), "1"), ((0, 2), "1")}  # (x, y)
    assert [label.get_text() for label in axes.get_xticklabels()] == CLASSES
    assert [label.get_text() for label in axes.get_yticklabels()] == CLASSES
    picture = imread(tmp_path / "confusion.png")
    assert picture.shape[:2] == (480, 600)  # 4 x 5 inches at 120 dots per inch
    assert saved_figures.inked_share(tmp_path / "confusion.png") > 0.2  # blank cells: 0.05


def test_scores_are_keyed_by_clip_name(predictions, tmp_path: Path):
    write_scores(predictions, CLASSES, tmp_path / "scores.json")
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert list(scores) == ["c/1", "c/2", "c/3", "c/4"]
    assert scores["c/4"]["label"] == "punch" and scores["c/4"]["predicted"] == "wave"
    assert not scores["c/4"]["correct"]
    assert sum(scores["c/2"]["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)


def test_training_curves_join_the_stages_logs_in_order(tmp_path: Path, saved_figures):
    for stage, rows in (("01-a", [(0, 1.0), (1, 0.5)]), ("02-b", [(0, 0.4)])):
        log = tmp_path / stage / "logs" / "metrics.csv"
        log.parent.mkdir(parents=True)
        lines = ["epoch,step,train/loss,val/top1"]
        lines += [f"{epoch},{epoch},{loss}," for epoch, loss in rows]
        lines += [f"{rows[-1][0]},{rows[-1][0]},,0.75"]
        log.write_text("\n".join(lines) + "\n")
    folders = [tmp_path / "01-a", tmp_path / "02-b"]
    joined = read_stage_logs(folders)
    assert [row["global_epoch"] for row in joined] == [1, 2, 3]
    assert [row["train/loss"] for row in joined] == [1.0, 0.5, 0.4]
    assert joined[1]["val/top1"] == 0.75 and joined[2]["stage"] == "02-b"
    plot_training_curves(folders, tmp_path / "curves.png")
    ((figure, _),) = saved_figures
    loss_axes, accuracy_axes = figure.axes
    curves = {line.get_label(): line for line in loss_axes.get_lines() + accuracy_axes.get_lines()}
    assert list(curves["train/loss"].get_xdata()) == [1, 2, 3]
    assert list(curves["train/loss"].get_ydata()) == [1.0, 0.5, 0.4]
    assert list(curves["val/top1"].get_xdata()) == [2, 3]
    assert list(curves["val/top1"].get_ydata()) == [0.75, 0.75]
    for axes in (loss_axes, accuracy_axes):  # the stage boundary between global epochs 2 and 3
        assert [
            list(line.get_xdata()) for line in axes.get_lines() if line.get_linestyle() == ":"
        ] == [[2.5, 2.5]]
    assert imread(tmp_path / "curves.png").shape[:2] == (440, 1210)  # 11 x 4 inches, 110 dpi
