"""Online action detection in untrimmed streams (the journal version of STA-LSTM, Song et al.,
IEEE TIP 2018): the same causal model classifies every frame into the classes and background,
and an online post-processing turns its per-frame scores into segments.

- ``building``: training streams from trimmed clips (actions with idle time and transitions);
- ``scores``: the per-frame detection score, defined once (a window over beta_t z_t);
- ``segmenting``: the online post-processing (``PostProcessing``, ``SegmentTracker``);
- ``detector``: ``Detector`` (online, one frame at a time) and ``detect_streams`` (recorded);
- ``metrics``: SFINGE3D's rule, Jaccard, frame F1, instance mAP, SL / EL, delay;
- ``data``, ``training``: stream datasets and frame-wise training with a detection recipe;
- ``pictures``: the timeline picture and ``segments.json``.
"""

from stalstm.detection.building import StreamBuildSettings, build_stream, build_streams
from stalstm.detection.detector import (
    DetectionSettings,
    Detector,
    StreamDetection,
    detect_stream,
    detect_streams,
)
from stalstm.detection.metrics import StreamOutcome, detection_metrics
from stalstm.detection.segmenting import Detection, PostProcessing, SegmentTracker

__all__ = [
    "Detection",
    "DetectionSettings",
    "Detector",
    "PostProcessing",
    "SegmentTracker",
    "StreamBuildSettings",
    "StreamDetection",
    "StreamOutcome",
    "build_stream",
    "build_streams",
    "detect_stream",
    "detect_streams",
    "detection_metrics",
]
