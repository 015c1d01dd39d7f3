"""Fixtures of the viewer tests: headless Chromium driven by Playwright (skipped and counted
without them, failed where ``STALSTM_REQUIRE`` asks for the browser), and the real material the
pages are built on, made once per session: a small SBU recogniser trained for a few seconds by
``stalstm train`` (its run folder has the report), a small SFINGE3D detector trained the same
way, and a 2,000-frame stream of real SFINGE3D recordings played one after another."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from helpers.browser import CHROMIUM_ARGUMENTS
from typer.testing import CliRunner

from stalstm.cli import app
from stalstm.readers import read_stream
from stalstm.readers.sfinge import SFINGE_CLASSES
from stalstm.readers.stream_folder import write_stream_folder
from stalstm.stream import Segment, Stream

LONG_STREAM_FRAMES = 2000
SMALL_MODEL = [
    "model.main_hidden=32", "model.main_layers=1", "model.spatial_hidden=16",
    "model.spatial_tanh=16", "model.temporal_hidden=16",
]  # fmt: skip


@pytest.fixture(scope="session")
def browser(chromium_executable: Path) -> Iterator[Any]:
    """Headless Chromium (Debian's), launched by Playwright through its executable path; each
    launch gets a fresh, empty profile."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium_executable), headless=True, args=CHROMIUM_ARGUMENTS
        )
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def viewer_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A prepared-data cache of the session's own (raw SBU is prepared into it once)."""
    cache = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STALSTM_CACHE", str(cache))
        yield cache


def train(arguments: list[str]) -> None:
    torch.set_num_threads(1)  # session fixtures run before conftest's per-test setting
    result = CliRunner().invoke(app, ["train", *arguments, "--quiet"])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="session")
def sbu_run(data_root: Path, viewer_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder of the SBU recipe, fold 1, a small STA-LSTM trained for 15 epochs (about
    ten seconds; about two test clips in three right, so the report has right and wrong ones)."""
    out = tmp_path_factory.mktemp("runs") / "sbu-fold-1"
    train([
        "--recipe", "sbu", "--data", str(data_root / "sbu_kinect_interaction"), "--fold", "1",
        "-o", str(out), *[f"--set={value}" for value in SMALL_MODEL],
        "--set=schedule.kind=end-to-end", "--set=schedule.epochs=15",
        "--set=training.batch_size=16", "--set=optimiser.warmup_steps=4",
        "--set=training.validate_every=5",
    ])  # fmt: skip
    return out


@pytest.fixture(scope="session")
def detection_run(
    data_root: Path, viewer_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A run folder of the SFINGE3D detection recipe: a small detector trained for 20 epochs
    of 60 built streams (it finds a quarter of the gestures of the 72 recorded streams)."""
    out = tmp_path_factory.mktemp("runs") / "sfinge3d"
    train([
        "--recipe", "sfinge3d-detect", "--data", str(data_root / "sfinge3d_v1"), "-o", str(out),
        *[f"--set={value}" for value in SMALL_MODEL], "--set=schedule.epochs=20",
        "--set=detection.streams_per_epoch=60", "--set=detection.held_out_streams=10",
        "--set=training.validate_every=100",
        "--set=detection.search={start_threshold: [0.3, 0.5], start_frames: [2, 4], "
        "end_frames: [3]}",
    ])  # fmt: skip
    return out


@pytest.fixture(scope="session")
def long_stream(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2,000-frame stream (``long.npy`` and its ``segments.csv``): SFINGE3D Sequences 1, 2, ...
    one after another, cut at 2,000 frames, their gestures kept where they end inside."""
    folder = data_root / "sfinge3d_v1" / "Sequences"
    parts, segments, start, number = [], [], 0, 1
    while start < LONG_STREAM_FRAMES:
        stream = read_stream(folder / f"{number}.txt")
        parts.append(stream.joints)
        segments += [Segment(s.label, s.start + start, s.end + start) for s in stream.segments]
        start, number = start + stream.num_frames, number + 1
    joints = np.concatenate(parts)[:LONG_STREAM_FRAMES]
    kept = [segment for segment in segments if segment.end < LONG_STREAM_FRAMES]
    out = tmp_path_factory.mktemp("streams")
    write_stream_folder(out, [Stream("long", joints, kept, layout="hand20")], SFINGE_CLASSES)
    return out / "long.npy"
