"""The detection step graph: onnxruntime frame by frame gives the PyTorch detector's
probabilities and segments on a real stream, for a window of 1 and of 3 frames."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from helpers.models import SETTINGS, detection_model, same, sfinge_stream

from stalstm.detection.detector import detect_stream, stream_model_joints
from stalstm.export import OnnxStreamingDetector, export_detection


@pytest.mark.parametrize(("window", "heads"), [(1, False), (3, False), (3, True)])
def test_detection_step_matches_the_detector(
    data_root: Path, tmp_path: Path, window: int, heads: bool
) -> None:
    loaded = detection_model(tmp_path / "model", replace(SETTINGS, window=window), heads)
    stream = sfinge_stream(data_root, 1, 150)
    # thresholds from this random model's own probabilities, so that the tracker has work
    untracked = detect_stream(loaded, stream, replace(SETTINGS, window=window))
    start, end = np.quantile(untracked.probabilities.max(1), [0.6, 0.4])
    gate = float(np.median(untracked.boundaries[:, 0])) if heads else 0.0
    tracking = replace(
        SETTINGS.post_processing, start_threshold=start, end_threshold=end, start_confidence=gate
    )
    settings = replace(SETTINGS, window=window, post_processing=tracking)
    path = export_detection(loaded.model, tmp_path / "step.onnx", window)
    onnx_detector = OnnxStreamingDetector(path, loaded.config, settings)
    joints = stream_model_joints(loaded, stream)  # prepared frames, (T, K, C)
    probabilities = np.concatenate([onnx_detector.update(frame[None]) for frame in joints])
    expected = detect_stream(loaded, stream, settings)
    np.testing.assert_allclose(probabilities, expected.probabilities, atol=1e-4)
    assert expected.detections and same(onnx_detector.detections(), expected.detections)
