"""The Detector: online, one frame at a time, it gives the offline detector's segments and
probabilities on every prefix of real SFINGE3D streams; batched streams and bad input."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from stalstm.detection.detector import (
    DetectionSettings,
    Detector,
    detect_stream,
    detect_streams,
    detection_settings,
)
from stalstm.detection.segmenting import Detection, PostProcessing
from stalstm.errors import DataError, LayoutMismatchError
from stalstm.model import STALSTMConfig, build_model
from stalstm.modelfile import LoadedModel, load_model, save_model
from stalstm.readers.sfinge import SFINGE_CLASSES, read_sfinge_stream
from stalstm.stream import Stream

SETTINGS = DetectionSettings(
    background=13,
    window=3,
    post_processing=PostProcessing(
        start_threshold=0.4, start_frames=2, end_threshold=0.3, end_frames=2
    ),
)


def detection_model(
    directory: Path, settings: DetectionSettings | None = SETTINGS, boundary_heads: bool = False
) -> LoadedModel:
    """A random hand model whose class scores are made large, so that its probabilities swing
    between classes as a trained detector's do and the tracker opens and closes segments."""
    torch.manual_seed(3)
    config = STALSTMConfig(
        num_joints=20, num_classes=14, main_hidden=24, main_layers=2,
        spatial_hidden=12, spatial_tanh=12, temporal_hidden=12, boundary_heads=boundary_heads,
    )  # fmt: skip
    model = build_model(config)
    with torch.no_grad():
        model.main.classifier.weight.mul_(25.0)
    metadata = {"detection": settings.to_dict()} if settings else {}
    save_model(
        directory, model, class_names=[*SFINGE_CLASSES, "background"], layout="hand20",
        preset="hand", metadata=metadata,
    )  # fmt: skip
    return load_model(directory)


def same(found: list[Detection], expected: list[Detection]) -> bool:
    """The same segments (label, frames, report frame); confidences equal up to the float
    rounding between the fused LSTM over a whole stream and its one-frame steps."""
    return [d.to_dict() for d in found] == [pytest.approx(d.to_dict(), abs=1e-5) for d in expected]


def sfinge_stream(data_root: Path, number: int, frames: int) -> Stream:
    stream = read_sfinge_stream(data_root / "sfinge3d_v1" / "Sequences" / f"{number}.txt")
    return Stream(stream.name, stream.joints[:frames], layout=stream.layout)


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
