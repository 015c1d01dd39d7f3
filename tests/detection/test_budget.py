"""The training budget in optimiser steps, recorded streams cut into windows and their segments
made into clips, and the warnings of a run too short to learn or a detector that never leaves
background (in the log and in summary.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from helpers.detection import TINY, hand_clips

from stalstm.detection.budget import (
    DetectionWarning,
    budget_warnings,
    epochs_for_steps,
    silence_warnings,
    split_epochs,
)
from stalstm.detection.building import build_streams, segment_clips, stream_window
from stalstm.detection.data import StreamWindowDataset
from stalstm.detection.training import budgeted_recipe, train_detector
from stalstm.readers.stream_folder import write_stream_folder
from stalstm.stream import Segment, Stream
from stalstm.tasks import load_any_recipe


def test_epochs_follow_the_steps_not_the_passes() -> None:
    assert epochs_for_steps(1500, 200, 8) == 60  # 25 batches a pass
    assert epochs_for_steps(1500, 9, 8) == 750  # a small folder: 2 batches a pass
    assert epochs_for_steps(10, 1000, 8) == 1
    with pytest.raises(ValueError):
        epochs_for_steps(0, 10, 8)


def test_stages_share_the_budget_as_their_epochs_in_the_recipe_do() -> None:
    assert split_epochs(60, [10, 50]) == [10, 50]
    assert split_epochs(40, [10, 50]) == [7, 33]
    assert split_epochs(7, [1, 1, 1]) == [3, 2, 2]
    assert split_epochs(1, [10, 50]) == [1, 1]  # every stage trains
    with pytest.raises(ValueError):
        split_epochs(10, [0, 5])
    stages = (
        "schedule={kind: stages, stages: [{name: first, train: [main, spatial], epochs: 10}, "
        "{name: joint, train: [main, spatial, temporal], epochs: 50}]}"
    )
    recipe, budget = budgeted_recipe(load_any_recipe("msr-detect", [stages]), 300)
    assert [stage.epochs for stage in recipe.training.schedule.stages] == [7, 33]
    assert budget == {"steps": 40 * 38, "epochs": 40, "items_per_epoch": 300, "warmup_steps": 100}


def test_a_short_run_is_named_and_a_long_enough_one_is_not() -> None:
    (message,) = budget_warnings(60, 100)
    assert "60 optimiser steps" in message and "400" in message
    assert budget_warnings(400, 100) == [] and budget_warnings(5, 0) == []


def test_silence_is_a_detector_that_finds_nothing() -> None:
    silent = {"gestures": 10, "detected": 0, "false_positives": 0, "action_frame_share": 0.0}
    (message,) = silence_warnings("test", silent)
    assert "finds no action" in message
    rare = {**silent, "false_positives": 1, "action_frame_share": 0.002}
    assert "never leaves background" in silence_warnings("test", rare)[0]
    working = {**silent, "detected": 4, "action_frame_share": 0.3}
    assert silence_warnings("test", working) == []
    assert silence_warnings("test", {**silent, "gestures": 0}) == []


def test_windows_of_recorded_streams_keep_their_labels() -> None:
    joints = np.arange(60 * 3 * 3, dtype=np.float32).reshape(60, 1, 3, 3)
    stream = Stream("s", joints, (Segment(1, 5, 14), Segment(0, 30, 49)))
    window = stream_window(stream, 10, 39)
    assert window.segments == (Segment(1, 0, 4), Segment(0, 20, 29))
    np.testing.assert_array_equal(window.joints, joints[10:40])
    dataset = StreamWindowDataset([stream], 20, background=2, num_persons=1, seed=3)
    for index in range(20):
        part = dataset.window(index)
        assert 30 <= part.num_frames <= 60
        first = int(part.name.split("[")[1].split(":")[0])
        np.testing.assert_array_equal(part.joints, joints[first : first + part.num_frames])
        expected = np.where(stream.frame_labels < 0, 2, stream.frame_labels)
        item = dataset[index]
        np.testing.assert_array_equal(item["label"].numpy(),
                                      expected[first : first + part.num_frames])  # fmt: skip
    clips = segment_clips([stream])
    assert [(c.label, c.num_frames) for c in clips] == [(1, 10), (0, 20)]
    np.testing.assert_array_equal(clips[1].joints, joints[30:50])


def test_a_small_folder_trains_for_its_steps_and_says_when_it_is_too_short(
    tmp_path: Path,
) -> None:
    names = ["clap", "point", "wave"]
    write_stream_folder(tmp_path / "data" / "train", build_streams(hand_clips(12, 0), 8, 0), names)
    write_stream_folder(tmp_path / "data" / "test", build_streams(hand_clips(6, 1), 3, 1), names)
    settings = [
        *TINY, "data.layout=hand20", "detection.steps=6", "detection.recorded_windows=5",
        "detection.build_from_segments=true", "detection.streams_per_epoch=3",
        "detection.build={idle: wander, placement: shuffled}",
    ]  # fmt: skip
    with pytest.warns(DetectionWarning, match="too short to learn"):
        summary = train_detector("generic-detect", tmp_path / "data", tmp_path / "run",
                                 overrides=settings, progress_bar=False)  # fmt: skip
    # 7 training streams: 3 built + 5 windows a pass = 2 batches of 4, so 3 epochs for 6 steps
    assert summary["budget"] == {"steps": 6, "epochs": 3, "items_per_epoch": 8,
                                 "warmup_steps": 100}  # fmt: skip
    assert summary["epochs"] == 3
    written = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert any("too short to learn" in text for text in written["warnings"])
    assert "built from their" in summary["split"]["train"]
    assert summary["held_out"]["streams"] == 1 + 3  # a recorded stream and 3 built from it
