"""Detection recipes end to end with a tiny model: the SFINGE3D recipe (Dictionary -> the 72
Sequences), a user's own stream folders, a clip data set; the detect command; recipe checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers.detection import TINY, hand_clips, moving_clips

from stalstm.detection.building import build_streams
from stalstm.detection.recipe import DetectionRecipe
from stalstm.detection.training import DetectionTask, train_detector
from stalstm.modelfile import load_model
from stalstm.readers.stream_folder import write_stream_folder
from stalstm.training.recipes import RecipeError, load_recipe, recipe_from_dict

SUMMARY_KEYS = {
    "detection_rate", "false_positives_per_stream", "jaccard", "frame_f1", "map_iou_0.5",
    "median_delay_frames",
}  # fmt: skip


def test_sfinge3d_recipe_trains_chooses_on_held_out_and_tests_on_the_72_streams(
    data_root: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    summary = train_detector("sfinge3d-detect", data_root / "sfinge3d_v1", out, overrides=TINY,
                    progress_bar=False)  # fmt: skip
    assert set(summary) >= SUMMARY_KEYS and summary["test"]["streams"] == 72
    assert summary["test"]["gestures"] == 278 and summary["held_out"]["streams"] == 3
    assert summary["post_processing"]["start_threshold"] in (0.3, 0.5)
    written = json.loads((out / "summary.json").read_text())
    assert {key: written[key] for key in SUMMARY_KEYS} == {
        key: summary[key] for key in SUMMARY_KEYS
    }
    loaded = load_model(out / "model")
    assert loaded.class_names[-1] == "background" and len(loaded.class_names) == 14
    assert loaded.metadata["detection"]["post_processing"] == summary["post_processing"]
    assert loaded.preset == "hand" and loaded.layout == "hand20"
    segments = json.loads((out / "evaluation-test" / "segments.json").read_text())
    assert len(segments["streams"]) == 72 and segments["streams"][0]["truth"][0]["start"] == 50
    assert (out / "evaluation-test" / "timeline-1.png").is_file()
    assert (out / "evaluation-held-out" / "metrics.json").is_file()
    with pytest.raises(FileExistsError):
        train_detector("sfinge3d-detect", data_root / "sfinge3d_v1", out, overrides=TINY)


def test_generic_streams_recipe(tmp_path: Path) -> None:
    names = ["clap", "point", "wave"]
    write_stream_folder(tmp_path / "data" / "train", build_streams(hand_clips(12, 0), 8, 0), names)
    write_stream_folder(tmp_path / "data" / "test", build_streams(hand_clips(6, 1), 3, 1), names)
    overrides = [*TINY, "data.layout=hand20"]
    summary = train_detector("generic-detect", tmp_path / "data", tmp_path / "run",
                             overrides=overrides, progress_bar=False)  # fmt: skip
    # one recorded stream held out, and 3 streams built from its segments (build_from_segments)
    assert summary["test"]["streams"] == 3 and summary["held_out"]["streams"] == 1 + 3
    assert load_model(tmp_path / "run" / "model").class_names == (
        "clap",
        "point",
        "wave",
        "background",
    )


def test_detection_on_streams_built_from_a_clip_data_set(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("STALSTM_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "clips"
    folder.mkdir()
    rows = ["clip,label,fold"]
    for clip in moving_clips(30, 2):
        np.save(folder / f"{clip.name}.npy", clip.joints)
        rows.append(f"{clip.name},{clip.label},{1 + int(clip.name[1:]) % 2}")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    values = load_recipe("generic-detect", kind=DetectionRecipe).to_dict()
    values["data"] = {"dataset": "generic", "preset": "hand", "protocol": "column:fold=2",
                      "layout": "hand20"}  # fmt: skip
    recipe = recipe_from_dict(values, kind=DetectionRecipe)
    learning = [
        "model.main_hidden=16", "model.main_layers=1", "model.spatial_hidden=16",
        "model.spatial_tanh=16", "model.temporal_hidden=16", "schedule.epochs=16",
        "training.batch_size=4", "detection.streams_per_epoch=48", "detection.held_out_streams=6",
        "detection.test_streams=6", "detection.pictures=0", "optimiser.warmup_steps=10",
        "detection.steps=0",
    ]  # fmt: skip
    summary = train_detector(recipe, folder, tmp_path / "run", overrides=learning,
                             progress_bar=False)  # fmt: skip
    assert summary["test"]["streams"] == 6 and "15 test clips" in summary["split"]["test"]
    # it learnt: every built test action found, no false alarm, frames mostly right (a
    # detector that never leaves background scores 0 on the first and about 0.25 on the last)
    assert summary["detection_rate"] == 1.0 and summary["false_positives_per_stream"] == 0.0
    assert summary["frame_f1"] > 0.8


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("augmentation.crop_min_ratio=0.8", "augmentation"),
        ("data.preset=sgn", "data.preset"),
        ("detection.window=0", "detection.window"),
        ("detection.windw=3", "detection.windw"),
        ("data.protocol=odd", "data.protocol"),
        ("objective.frame_window=5", "objective.frame_window"),
        ("detection.search={start_frames: []}", "detection.search.start_frames"),
    ],
)
def test_detection_recipe_checks_name_the_key(override: str, key: str) -> None:
    with pytest.raises(RecipeError) as caught:
        load_recipe("sfinge3d-detect", [override], kind=DetectionRecipe)
    assert caught.value.field == key


def test_a_detection_recipe_read_as_a_recognition_recipe_says_what_trains_it() -> None:
    with pytest.raises(RecipeError, match="a detection recipe: `stalstm train` trains it"):
        load_recipe("sfinge3d-detect")


def test_the_split_of_sfinge3d_with_the_odd_sequences(data_root: Path) -> None:
    recipe = load_recipe(
        "sfinge3d-detect", ["data.protocol=dictionary+odd-sequences"], kind=DetectionRecipe
    )
    material = DetectionTask().material(recipe, data_root / "sfinge3d_v1", None)
    held_recorded = [stream for stream in material.held_out if not stream.name.startswith("held")]
    built, recorded = material.train_set.parts  # streams built from clips, recorded streams
    assert [int(s.name) % 2 for s in material.test] == [0] * 36
    assert len(recorded.streams) + len(held_recorded) == 36
    assert {s.name for s in recorded.streams}.isdisjoint(s.name for s in held_recorded)
    assert all(int(s.name) % 2 == 1 for s in [*recorded.streams, *held_recorded])
    assert len(built.pool) == 468 - 65 and len(held_recorded) == 5
