"""The runner on real SBU data, with a tiny model and a few epochs: a raw folder is prepared into
the cache, a run folder gets everything the README promises, evaluation is keyed by clip name,
and cv / ablate write their summaries."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from stalstm import __version__
from stalstm.cli import app
from stalstm.errors import EmptySplitError
from stalstm.training.pipeline import RunExistsError
from stalstm.training.runner import ablate, cross_validate, evaluate, train

TINY = [
    "model.main_hidden=8", "model.main_layers=2", "model.spatial_hidden=8",
    "model.spatial_tanh=8", "model.temporal_hidden=8", "schedule.kind=end-to-end",
    "schedule.epochs=2", "training.validate_every=1", "training.batch_size=32",
    "optimiser.warmup_steps=4",  # 16 steps in all: the default 100 would never end
]  # fmt: skip
FOLD_1_PAIRS = ("s01s02", "s03s04", "s05s02", "s06s04")


@pytest.fixture(scope="module")
def sbu_run(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(raw SBU folder, a finished fold-1 run folder), the raw folder prepared into a cache."""
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("STALSTM_CACHE", str(cache))
    raw = data_root / "sbu_kinect_interaction"
    out = tmp_path_factory.mktemp("runs") / "fold-1"
    summary = train("sbu", raw, out, fold=1, overrides=TINY, progress_bar=False)
    assert summary["test_clips"] == 55 and summary["train_clips"] == 227
    yield raw, out
    monkeypatch.undo()


def test_a_run_folder_has_recipe_model_checkpoints_logs_evaluation_and_curves(sbu_run):
    _, out = sbu_run
    for name in ("recipe.yaml", "run.json", "summary.json", "summary.md", "training_curves.png",
                 "model/model.json", "model/model.safetensors",
                 "stages/01-end-to-end/checkpoints/last.ckpt",
                 "stages/01-end-to-end/checkpoints/best.ckpt",
                 "stages/01-end-to-end/logs/metrics.csv",
                 "evaluation-test/confusion.csv", "evaluation-test/confusion.png",
                 "evaluation-test/scores.json", "evaluation-test/metrics.json",
                 "report.html"):  # fmt: skip
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text())
    # every file that records the run names the version that wrote it
    for name in ("summary.json", "run.json"):
        assert json.loads((out / name).read_text())["stalstm_version"] == __version__, name
    assert json.loads((out / "model" / "model.json").read_text())["stalstm_version"] == __version__
    # the metrics, recomputed from the per-clip scores written beside them
    scores = json.loads((out / "evaluation-test/scores.json").read_text()).values()
    assert summary["top1"] == pytest.approx(np.mean([clip["correct"] for clip in scores]))
    top5 = [clip["label"] in sorted(clip["probabilities"], key=clip["probabilities"].get)[-5:]
            for clip in scores]  # fmt: skip
    assert summary["top5"] == pytest.approx(np.mean(top5))
    by_class: dict[str, list[bool]] = {}
    for clip in scores:
        by_class.setdefault(clip["label"], []).append(clip["correct"])
    assert summary["mean_class_accuracy"] == pytest.approx(
        np.mean([np.mean(hits) for hits in by_class.values()])
    )
    assert summary["seconds"] >= summary["training_seconds"] > 0
    # the last epoch's diagnostics of the one stage, as its diagnostics.json has them
    epochs = json.loads((out / "stages/01-end-to-end/diagnostics.json").read_text())["epochs"]
    [stage] = summary["diagnostics"]
    assert stage["last_epoch"] == {k: v for k, v in epochs[-1].items() if k != "epoch"}
    assert isinstance(summary["warnings"], list)
    assert json.loads((out / "model/model.json").read_text())["preset"] == "sbu"


def test_evaluation_is_keyed_by_clip_name_with_class_names(sbu_run):
    _, out = sbu_run
    scores = json.loads((out / "evaluation-test/scores.json").read_text())
    assert len(scores) == 55
    assert all(name.split("/")[0] in FOLD_1_PAIRS for name in scores)
    first = scores["s01s02/01/001"]
    assert first["label"] == "approaching"
    assert set(first["probabilities"]) >= {"approaching", "kicking", "punching"}
    with open(out / "evaluation-test/confusion.csv", newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0][1:] == [row[0] for row in rows[1:]]
    assert "shaking hands" in rows[0]
    assert sum(int(count) for row in rows[1:] for count in row[1:]) == 55


def test_evaluate_on_the_train_split_and_through_the_command_line(sbu_run):
    _, out = sbu_run
    assert evaluate(out, "train")["clips"] == 227
    result = CliRunner().invoke(app, ["eval", str(out), "--split", "test", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["clips"] == 55


def test_training_into_a_used_run_folder_needs_resume(sbu_run):
    raw, out = sbu_run
    with pytest.raises(RunExistsError):
        train("sbu", raw, out, fold=1, overrides=TINY, progress_bar=False)


def test_cross_validation_and_ablation_write_their_summaries(sbu_run, tmp_path: Path):
    raw, _ = sbu_run
    summary = cross_validate("sbu", raw, tmp_path / "cv", TINY, folds=[1, 2], progress_bar=False)
    assert summary["folds"] == [run["top1"] for run in summary["runs"]]
    assert summary["mean_accuracy"] == pytest.approx(sum(summary["folds"]) / 2)
    assert summary["fold_numbers"] == [1, 2] and summary["seconds"] > 0
    assert "mean +/- std" in (tmp_path / "cv" / "summary.md").read_text()

    plan = [
        "ablation.variants=[lstm, sta]", "ablation.regularised=[false]",
        "ablation.schedules=[paper]", "ablation.seeds=[0]", "schedule.pretrain_epochs=1",
        "schedule.main_epochs=1", "schedule.finetune_epochs=1", "schedule.final_epochs=1",
    ]  # fmt: skip
    result = ablate("sbu", raw, tmp_path / "ablation", [*TINY, *plan], folds=[1])
    names = [row["name"] for row in result["configurations"]]
    assert names == ["lstm-noreg-paper", "sta-noreg-paper"]
    sta_run = tmp_path / "ablation" / "sta-noreg-paper" / "seed-0" / "fold-1"
    assert len(list((sta_run / "stages").iterdir())) == 8  # the whole staged schedule
    recipe_text = (sta_run / "recipe.yaml").read_text()
    assert "l1_weight: 0.0" in recipe_text


@pytest.mark.parametrize(("recipe", "empty"), [("ntu60-xview", "train"), ("ntu60-xsub", "test")])
def test_a_protocol_leaving_a_split_empty_is_a_clear_error(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recipe: str, empty: str
):
    # the 60 NTU samples are all camera 1 (cross-view test) and performer 1 (cross-subject train)
    monkeypatch.setenv("STALSTM_CACHE", str(tmp_path / "cache"))
    raw = data_root / "ntu_rgbd_samples"
    with pytest.raises(EmptySplitError, match=rf"{recipe} leaves the {empty} split empty"):
        train(recipe, raw, tmp_path / "run", overrides=TINY, progress_bar=False)
    assert not (tmp_path / "run" / "stages").exists()
    result = CliRunner().invoke(
        app, ["train", "--recipe", recipe, "--data", str(raw), "--out", str(tmp_path / "cli")]
    )
    assert result.exit_code != 0
    assert f"leaves the {empty} split empty (" in result.output
    assert "Traceback" not in result.output
