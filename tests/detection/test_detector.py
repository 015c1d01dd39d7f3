"""The Detector: online, one frame at a time, it gives the offline detector's segments and
probabilities on every prefix of real SFINGE3D streams; batched streams and bad input."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from helpers.models import SETTINGS, detection_model, same, sfinge_stream

from stalstm.detection.detector import (
    Detector,
    detect_stream,
    detect_streams,
    detection_settings,
)
from stalstm.errors import DataError, LayoutMismatchError
from stalstm.stream import Stream


def test_online_equals_offline_on_every_prefix(data_root: Path, tmp_path: Path) -> None:
    loaded = detection_model(tmp_path / "model")
    stream = sfinge_stream(data_root, 1, 150)
    detector = Detector(loaded)
    closed = []
    for frame in range(stream.num_frames):
        closed += detector.update(stream.joints[frame])  # raw frames: prepared causally
        prefix = Stream("prefix", stream.joints[: frame + 1], layout="hand20")
        offline = detect_stream(loaded, prefix)
        assert same(detector.detections(), offline.detections), frame
        np.testing.assert_allclose(detector.probabilities[0], offline.probabilities[-1], atol=1e-5)
        np.testing.assert_allclose(detector.beta[0], offline.beta[-1], atol=1e-5)
    whole = detect_stream(loaded, stream)
    assert len(whole.detections) >= 3  # the test exercises opening, closing and switching
    assert same(closed, whole.detections[: len(closed)])
    assert len(closed) >= len(whole.detections) - 1
    assert whole.probabilities.shape == (150, 14) and whole.alpha.shape == (150, 20)
    assert set(whole.frame_predictions.tolist()) <= {-1, *range(13)}


def test_boundary_heads_gate_the_segments_online_as_offline(data_root: Path, tmp_path: Path):
    loaded = detection_model(tmp_path / "model", boundary_heads=True)
    stream = sfinge_stream(data_root, 1, 150)
    # a gate at this random model's median start confidence, so that it shuts some runs
    gate = float(np.median(detect_stream(loaded, stream).boundaries[:, 0]))
    tracking = replace(SETTINGS.post_processing, start_confidence=gate)
    loaded = replace(
        loaded, metadata={"detection": replace(SETTINGS, post_processing=tracking).to_dict()}
    )
    detector = Detector(loaded)
    for frame in range(stream.num_frames):
        detector.update(stream.joints[frame])
        if frame % 10 == 9:  # every tenth prefix
            prefix = Stream("prefix", stream.joints[: frame + 1], layout="hand20")
            assert same(detector.detections(), detect_stream(loaded, prefix).detections)
    whole = detect_stream(loaded, stream)
    assert whole.boundaries.shape == (150, 2) and whole.boundaries.min() >= 0
    ungated = detect_stream(loaded, stream, SETTINGS)
    assert len(whole.detections) < len(ungated.detections)  # the gate keeps some runs shut


def test_batched_streams_and_resetting_one(data_root: Path, tmp_path: Path) -> None:
    loaded = detection_model(tmp_path / "model")
    streams = [sfinge_stream(data_root, 2, 90), sfinge_stream(data_root, 3, 60)]
    offline = detect_streams(loaded, streams)  # padded to 90 frames in one batch
    assert [len(result.probabilities) for result in offline] == [90, 60]
    for stream, result in zip(streams, offline, strict=True):
        np.testing.assert_allclose(
            result.probabilities, detect_stream(loaded, stream).probabilities, atol=1e-5
        )
    detector = Detector(loaded, streams=2)
    frames = np.stack([streams[0].joints[:60], streams[1].joints[:60]], axis=1)  # (60, 2, 1, V, C)
    for frame in frames:
        detector.update(frame)
    assert same(detector.detections(1), offline[1].detections)
    detector.reset(0)  # stream 0 starts over with stream 1's frames
    for frame in frames:
        detector.update(np.stack([frame[1], frame[1]]))
    assert same(detector.detections(0), offline[1].detections)


def test_models_that_cannot_detect_and_bad_frames(tmp_path: Path) -> None:
    classifier = detection_model(tmp_path / "classifier", settings=None)
    with pytest.raises(DataError, match="not trained for detection"):
        Detector(classifier)
    loaded = detection_model(tmp_path / "model")
    bad = replace(loaded, metadata={"detection": {"background": 14}})
    with pytest.raises(DataError, match="background class outside"):
        detection_settings(bad)
    with pytest.raises(DataError, match="bad detection settings"):
        detection_settings(replace(loaded, metadata={"detection": {"window": 2}}))
    with pytest.raises(LayoutMismatchError):
        Detector(loaded).update(np.zeros((1, 25, 3), np.float32))
    with pytest.raises(LayoutMismatchError):
        detect_stream(loaded, Stream("s", np.zeros((9, 1, 25, 3)), layout="ntu25"))
