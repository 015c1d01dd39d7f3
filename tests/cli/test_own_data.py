"""Your own keypoints end to end, as a new user runs them: a raw folder trains in one command
without a fold column, the run folder is the model, and every way it can go wrong says what and
where (the user's own path, not a cache) and what to do instead."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from stalstm.cli import app

TINY = [
    "--set", "model.main_hidden=8", "--set", "model.main_layers=1",
    "--set", "model.spatial_hidden=8", "--set", "model.spatial_tanh=8",
    "--set", "model.temporal_hidden=8", "--set", "schedule.epochs=1",
    "--set", "training.batch_size=8",
]  # fmt: skip


def keypoint_folder(folder: Path, clips: int = 15) -> Path:
    """A folder as a pose estimator's user has one: 2D COCO keypoints in pixels, one .npy a
    clip, labels by name, no fold or subject column."""
    folder.mkdir(parents=True)
    generator = np.random.default_rng(0)
    rows = ["clip,label"]
    for k in range(clips):
        frames = 20 + k
        joints = 300 + 40 * generator.normal(size=(frames, 17, 2))
        np.save(folder / f"take{k:02d}.npy", joints.astype(np.float32))
        rows.append(f"take{k:02d},{('wave', 'clap', 'point')[k % 3]}")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    return folder


def invoke(*words: str | Path) -> object:
    return CliRunner().invoke(app, [str(word) for word in words])


def test_a_raw_folder_trains_in_one_command_and_its_run_folder_is_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("STALSTM_CACHE", str(tmp_path / "cache"))
    folder = keypoint_folder(tmp_path / "mine")
    run = tmp_path / "run"
    result = invoke("train", "--recipe", "generic", "--data", folder, "--layout", "coco17",
                    "-o", run, "--quiet", *TINY)  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((run / "summary.json").read_text())
    assert summary["split"]["protocol"] == "holdout"  # no fold column needed
    assert (summary["train_clips"], summary["test_clips"]) == (12, 3)  # 20 % of each class
    predicted = invoke("predict", run, folder / "take00.npy", "--json")  # the run folder
    assert predicted.exit_code == 0, predicted.output
    assert json.loads(predicted.stdout)["top"][0]["class"] in ("clap", "point", "wave")


def test_an_empty_split_names_the_users_folder_and_the_protocol_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("STALSTM_CACHE", str(tmp_path / "cache"))
    folder = keypoint_folder(tmp_path / "mine")
    result = invoke(
        "train",
        "--recipe",
        "generic",
        "--data",
        folder,
        "--layout",
        "coco17",
        "-o",
        tmp_path / "run",
        "--set",
        "data.protocol=column:subject=9,10",
        *TINY,
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {folder}")  # the user's folder, not the cache
    assert "--set data.protocol=holdout" in result.stderr


def test_a_prepare_that_writes_no_clip_fails_and_says_why(tmp_path: Path):
    folder = keypoint_folder(tmp_path / "mine", clips=3)
    for path in folder.glob("*.npy"):
        np.save(path, np.zeros((5, 18, 2), np.float32))  # 18 joints: not coco17
    result = invoke("prepare", "generic", "--root", folder, "--layout", "coco17",
                    "-o", tmp_path / "store", "--quiet")  # fmt: skip
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {folder}")
    assert "all 3 samples were skipped" in result.stderr and "18" in result.stderr


def test_predict_reports_each_bad_input_prints_the_good_ones_and_fails(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("STALSTM_CACHE", str(tmp_path / "cache"))
    folder = keypoint_folder(tmp_path / "mine")
    run = tmp_path / "run"
    assert invoke("train", "--recipe", "generic", "--data", folder, "--layout", "coco17",
                  "-o", run, "--quiet", *TINY).exit_code == 0  # fmt: skip
    broken = tmp_path / "broken.npy"
    broken.write_bytes(b"not an array")
    result = invoke("predict", run, folder / "take01.npy", broken, folder / "take02.npy")
    assert result.exit_code == 1
    printed = result.stdout.strip().splitlines()
    assert [line.split(":")[0] for line in printed] == [
        str(folder / "take01.npy"), str(folder / "take02.npy")
    ]  # fmt: skip
    errors = result.stderr.strip().splitlines()
    assert errors[0].startswith(f"error: {broken}") and "1 of 3 inputs" in errors[-1]


def test_a_folder_that_is_no_model_says_what_a_model_is(tmp_path: Path):
    (tmp_path / "run.json").write_text("{}")
    result = invoke("predict", tmp_path, "x.npy")
    assert result.exit_code == 1 and "a training run without its model yet" in result.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    result = invoke("predict", empty, "x.npy")
    assert result.exit_code == 1 and "nor a training run's folder" in result.stderr


def test_a_layout_file_with_an_unknown_key_names_it(tmp_path: Path):
    layout = tmp_path / "mine.json"
    layout.write_text(json.dumps({"name": "mine", "joint_names": ["a", "b"], "bones": [[0, 1]],
                                  "center": 0, "up": [0, 1], "left_right": [0, 1],
                                  "colour": "red"}))  # fmt: skip
    folder = keypoint_folder(tmp_path / "clips", clips=3)
    result = invoke("prepare", "generic", "--root", folder, "--layout", layout,
                    "-o", tmp_path / "store")  # fmt: skip
    assert result.exit_code == 1 and "colour" in result.stderr and str(layout) in result.stderr
