"""A stream's page (``stalstm detect MODEL STREAM --html FILE``): what the detector computed
(``stalstm.detection.detector.detect_streams``: per-frame probabilities over the classes and
background, beta, alpha, the segments), the annotation when the stream has one, and the
tracker's settings, one view per stream."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stalstm.detection.detector import (
    DetectionSettings,
    StreamDetection,
    detection_settings,
    stream_model_joints,
)
from stalstm.explain import missing_branches
from stalstm.modelfile import LoadedModel
from stalstm.stream import Stream
from stalstm.viewer.page import numbers, write_page
from stalstm.viewer.skeleton import model_facts, skeleton_view


def stream_view(
    loaded: LoadedModel,
    stream: Stream,
    result: StreamDetection,
    settings: DetectionSettings,
    *,
    source: str | Path | None = None,
) -> dict[str, Any]:
    """The page's data for one stream and its detections (frames from 0, inclusive). ``truth``
    is None for a stream without annotated segments (the page says so)."""
    return {
        "kind": "stream",
        "name": stream.name,
        "source": str(source or stream.name),
        "model": model_facts(loaded),
        "skeleton": skeleton_view(loaded, stream_model_joints(loaded, stream)),
        "alpha": numbers(result.alpha),
        "beta": numbers(result.beta),
        "note": missing_branches(loaded),
        "has_temporal_attention": loaded.config.has_temporal_attention,
        "classes": list(loaded.class_names),
        "probabilities": numbers(result.probabilities),
        "probabilities_are": "per-frame",
        "background": settings.background,
        "thresholds": {"window": settings.window, **settings.post_processing.to_dict()},
        "detections": [detection.to_dict() for detection in result.detections],
        "truth": [segment.to_dict() for segment in stream.segments] or None,
        "key_frames": [],
    }


def write_stream_page(
    loaded: LoadedModel,
    streams: Sequence[Stream],
    results: Sequence[StreamDetection],
    path: str | Path,
    *,
    sources: Sequence[str | Path] | None = None,
) -> Path:
    """Write one page showing every stream (a chooser when there are several) to ``path``."""
    settings = detection_settings(loaded)
    sources = list(sources) if sources is not None else [stream.name for stream in streams]
    views = [
        stream_view(loaded, stream, result, settings, source=source)
        for stream, result, source in zip(streams, results, sources, strict=True)
    ]
    names = ", ".join(stream.name for stream in streams[:3])
    more = f" and {len(streams) - 3} more" if len(streams) > 3 else ""
    data = {"kind": "stream", "views": views}
    return write_page(path, "stream", f"detections in {names}{more}", data)
