"""The commands that use a model (predict, explain, export, detect) on real files: what they
print, what they write, and how they refuse what they cannot do."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import onnx
from helpers.models import detection_model, saved_model
from typer.testing import CliRunner

from stalstm.cli import app
from stalstm.detection.detector import detect_stream
from stalstm.readers import read_stream

SBU_FILE = Path("sbu_kinect_interaction/s01s02/08/001/skeleton_pos.txt")
NTU_FILE = Path("ntu_rgbd_samples/S001C001P001R001A050.skeleton")


def test_predict_command_json_and_errors(data_root: Path, tmp_path: Path) -> None:
    saved_model(tmp_path / "s", joints=30, classes=8, layout="openni15", preset="sbu")
    runner = CliRunner()
    result = runner.invoke(
        app, ["predict", str(tmp_path / "s"), str(data_root / SBU_FILE), "--json", "-k", "2"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout.strip())
    assert record["clip"] == "s01s02/08/001" and len(record["top"]) == 2

    wrong = runner.invoke(app, ["predict", str(tmp_path / "s"), str(data_root / NTU_FILE)])
    assert wrong.exit_code == 1 and "layout mismatch" in wrong.output

    marker = tmp_path / "marker"

    class WritesMarker:
        def __reduce__(self) -> tuple:
            return (os.system, (f"touch {marker}",))

    (tmp_path / "evil.pt").write_bytes(pickle.dumps(WritesMarker()))
    evil = runner.invoke(app, ["predict", str(tmp_path / "evil.pt"), str(data_root / SBU_FILE)])
    assert evil.exit_code == 1 and "--allow-pickle" in evil.output
    assert not marker.exists()


def test_explain_command(data_root: Path, tmp_path: Path) -> None:
    saved_model(tmp_path / "m", joints=30, classes=8, layout="openni15", preset="sbu")
    clip_file = data_root / "sbu_kinect_interaction/s01s02/08/001/skeleton_pos.txt"
    result = CliRunner().invoke(
        app, ["explain", str(tmp_path / "m"), str(clip_file), "--out", str(tmp_path / "o"),
              "--no-gif"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert {path.name for path in (tmp_path / "o").iterdir()} == {
        "attention.png", "skeletons.png", "attention.json",
    }  # fmt: skip


def test_export_command_writes_both_graphs(tmp_path: Path) -> None:
    saved_model(tmp_path / "m", joints=30, classes=8, layout="openni15", preset="sbu")
    result = CliRunner().invoke(
        app,
        ["export", str(tmp_path / "m"), "--onnx", str(tmp_path / "a.onnx"),
         "--streaming", str(tmp_path / "b.onnx")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("a.onnx", "b.onnx"):
        onnx.checker.check_model(str(tmp_path / name))
    refused = CliRunner().invoke(app, ["export", str(tmp_path / "m")])
    assert refused.exit_code != 0


def test_export_command_writes_the_detection_step(tmp_path: Path) -> None:
    detection_model(tmp_path / "model")
    result = CliRunner().invoke(
        app, ["export", str(tmp_path / "model"), "--detection", str(tmp_path / "step.onnx")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "step.onnx").is_file()


def test_detect_command_prints_segments_and_writes_timeline(data_root: Path, tmp_path: Path):
    loaded = detection_model(tmp_path / "model")
    path = data_root / "sfinge3d_v1" / "Sequences" / "1.txt"
    runner = CliRunner()
    result = runner.invoke(app, ["detect", str(tmp_path / "model"), str(path), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    expected = detect_stream(loaded, read_stream(path)).detections
    assert len(lines) == len(expected) > 0
    assert [(line["class"], line["start"], line["end"]) for line in lines] == [
        (loaded.class_names[d.label], d.start, d.end) for d in expected
    ]
    result = runner.invoke(
        app, ["detect", str(tmp_path / "model"), str(path), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert f"{path}: " in result.output and "confidence" in result.output
    document = json.loads((tmp_path / "out" / "segments.json").read_text())
    assert (
        document["streams"][0]["truth"][0] == {"class": "pinch", "label": 7, "start": 50, "end": 92}
        or document["streams"][0]["truth"][0]["start"] == 50
    )
    assert (tmp_path / "out" / "timeline-1.png").is_file()


def test_detect_command_refuses_what_it_cannot_detect(data_root: Path, tmp_path: Path) -> None:
    detection_model(tmp_path / "classifier", settings=None)
    path = data_root / "sfinge3d_v1" / "Sequences" / "1.txt"
    result = CliRunner().invoke(app, ["detect", str(tmp_path / "classifier"), str(path)])
    assert result.exit_code == 1 and "not trained for detection" in result.output
    detection_model(tmp_path / "model")
    dictionary = data_root / "sfinge3d_v1" / "Dictionary" / "1" / "1.txt"  # ';'-separated
    result = CliRunner().invoke(app, ["detect", str(tmp_path / "model"), str(dictionary)])
    assert result.exit_code == 1 and "unknown stream format" in result.output
