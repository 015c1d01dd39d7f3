"""A UTD-MHAD model end to end: trained for a few steps on real clips through ``fit``, saved, then
predict, explain, stream (offline = online on every prefix) and ONNX export (parity) on a real
``.mat`` file, by the API and by the command line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.models import TOLERANCE, model_input, offline_prefix_logits, session
from typer.testing import CliRunner

from stalstm.cli import app
from stalstm.export import OnnxStreamingRecognizer
from stalstm.model import STALSTMConfig
from stalstm.modelfile import LoadedModel, load_model, save_model
from stalstm.online import Recognizer
from stalstm.predict import predict_files
from stalstm.readers import read_utd_mhad
from stalstm.readers.utd_mhad import UTD_MHAD_CLASSES
from stalstm.training import TrainingSettings, end_to_end_schedule, fit

TRAINING_CLIPS = ("a1_s1_t1", "a4_s3_t1", "a22_s5_t1", "a1_s3_t2", "a4_s1_t2", "a22_s7_t2")
TEST_CLIP = "a4_s2_t1"  # two hand front clap, a test subject


@pytest.fixture(scope="module")
def utd_model(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(model folder, the test clip's .mat file): a tiny STA-LSTM on the 20 raw joints, trained
    for 4 steps (2 epochs of batches of 3) on six real clips of three actions."""
    torch.set_num_threads(1)  # module fixtures run before conftest's per-test thread setting
    folder = data_root / "utd_mhad_skeleton"
    clips = [read_utd_mhad(folder / f"{name}_skeleton.mat") for name in TRAINING_CLIPS]
    items = [
        {"joints": torch.from_numpy(clip.joints[:, 0]), "label": clip.label, "name": clip.name}
        for clip in clips
    ]
    config = STALSTMConfig(
        num_joints=20, num_classes=len(UTD_MHAD_CLASSES), variant="sta", main_layers=1,
        main_hidden=16, spatial_hidden=8, spatial_tanh=8, temporal_hidden=8,
    )  # fmt: skip
    out = tmp_path_factory.mktemp("utd")
    settings = TrainingSettings(
        schedule=end_to_end_schedule(2), batch_size=3, progress_bar=False, accelerator="cpu"
    )
    result = fit(config, items, out / "run", settings)
    [stage] = result.stage_folders
    with (stage / "logs" / "metrics.csv").open() as handle:
        losses = [float(row["train/loss"]) for row in csv.DictReader(handle)]
    assert len(losses) == 2 and losses[1] < losses[0]  # one row an epoch: it learnt something
    model_folder = save_model(
        out / "model", result.model, class_names=UTD_MHAD_CLASSES, layout="utd_mhad20",
        preset="none", metadata={"dataset": "utd-mhad", "protocol": "utd-mhad-cs"},
    )  # fmt: skip
    return model_folder, folder / f"{TEST_CLIP}_skeleton.mat"


def test_predict_and_explain_a_real_mat_file(utd_model, tmp_path: Path) -> None:
    model_folder, clip_path = utd_model
    loaded = load_model(model_folder)
    assert loaded.layout == "utd_mhad20" and loaded.joint_names[0] == "head"
    [prediction] = predict_files(loaded, [clip_path], top_k=3)
    assert prediction.clip_name == TEST_CLIP and prediction.label == 3
    assert np.isclose(prediction.probabilities.sum(), 1.0, atol=1e-5)

    command = ["predict", str(model_folder), str(clip_path), "--json", "--top-k", "3"]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert (printed["clip"], printed["label"]) == (TEST_CLIP, 3)
    assert [entry["class"] for entry in printed["top"]] == [name for name, _ in prediction.top]

    out = tmp_path / "explain"
    result = CliRunner().invoke(
        app, ["explain", str(model_folder), str(clip_path), "--out", str(out), "--no-gif"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads((out / "attention.json").read_text())
    frames = read_utd_mhad(clip_path).num_frames
    assert np.asarray(record["alpha"]).shape == (frames, 20) and len(record["beta"]) == frames
    assert record["joint_names"][:2] == ["head", "shoulder_center"]
    assert record["prediction"][0]["class"] == prediction.top[0][0]
    assert (out / "attention.png").stat().st_size > 0 and (out / "skeletons.png").stat().st_size > 0


def offline_logits(loaded: LoadedModel, clip_path: Path) -> np.ndarray:
    return offline_prefix_logits(loaded, model_input(loaded, read_utd_mhad(clip_path)))


def test_stream_equals_the_offline_model_on_every_prefix(utd_model) -> None:
    model_folder, clip_path = utd_model
    loaded = load_model(model_folder)
    clip = read_utd_mhad(clip_path)
    expected = offline_logits(loaded, clip_path)  # (T, 27)
    recognizer = Recognizer(loaded)  # raw camera frames in, one at a time
    for t, frame in enumerate(clip.joints):
        recognizer.update(frame)
        np.testing.assert_allclose(recognizer.logits, expected[t], rtol=1e-5, atol=1e-5)
    result = CliRunner().invoke(app, ["stream", str(model_folder), str(clip_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == clip.num_frames
    last_best = UTD_MHAD_CLASSES[int(expected[-1].argmax())]
    assert lines[-1].startswith(f"frame {clip.num_frames:>4}/{clip.num_frames}  {last_best} ")


def test_onnx_export_matches_pytorch(utd_model, tmp_path: Path) -> None:
    model_folder, clip_path = utd_model
    offline, streaming = tmp_path / "utd.onnx", tmp_path / "utd_step.onnx"
    result = CliRunner().invoke(
        app, ["export", str(model_folder), "--onnx", str(offline), "--streaming", str(streaming)]
    )
    assert result.exit_code == 0, result.output
    loaded = load_model(model_folder)
    joints = model_input(loaded, read_utd_mhad(clip_path))  # (T, 20, 3)
    expected = offline_logits(loaded, clip_path)
    logits, *_ = session(offline).run(
        None, {"joints": joints[None], "mask": np.ones((1, len(joints)), bool)}
    )
    np.testing.assert_allclose(logits[0], expected[-1], rtol=0, atol=TOLERANCE)
    assert logits[0].argmax() == expected[-1].argmax()
    recognizer = OnnxStreamingRecognizer(streaming, loaded.config, streams=1)
    for t, frame in enumerate(joints):
        recognizer.update(frame[None])
        np.testing.assert_allclose(recognizer.logits[0], expected[t], rtol=0, atol=TOLERANCE)
