"""What a detector saw in a stream: a timeline picture and ``segments.json``.

The timeline has three panels on one frame axis:

1. the segments: the ground truth (top row, when the stream is annotated) and the detections
   (bottom row), one colour per class, each labelled with its class (and confidence); a dot marks
   the frame at which the online detector reported each detection;
2. the per-frame class probabilities as a classes x frames heatmap (background last);
3. the temporal attention beta.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from stalstm.detection.detector import StreamDetection
from stalstm.stream import Stream


def segments_document(
    streams: Sequence[Stream], results: Sequence[StreamDetection], class_names: Sequence[str]
) -> dict[str, Any]:
    """The JSON form of detections (and the truth, when annotated): frames from 0, inclusive."""
    entries = []
    for stream, result in zip(streams, results, strict=True):
        entries.append(
            {
                "stream": stream.name,
                "frames": stream.num_frames,
                "detections": [
                    {"class": class_names[d.label], **d.to_dict()} for d in result.detections
                ],
                "truth": [{"class": class_names[s.label], **s.to_dict()} for s in stream.segments],
            }
        )
    return {"class_names": list(class_names), "frames_count_from": 0, "streams": entries}


def plot_timeline(
    stream: Stream,
    result: StreamDetection,
    class_names: Sequence[str],
    path: str | Path,
    title: str | None = None,
) -> Path:
    """Write the timeline picture of one stream (see the module docstring) to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frames = len(result.probabilities)
    colours = plt.get_cmap("tab20")
    figure, (segment_axes, probability_axes, beta_axes) = plt.subplots(
        3,
        1,
        figsize=(max(8.0, frames / 45), 7.5),
        sharex=True,
        gridspec_kw={"height_ratios": [1.1, 3.0, 1.0]},
    )
    rows = [("detected", result.detections, 0.0)]
    if stream.segments:
        rows.append(("truth", stream.segments, 1.0))
    for _, segments, level in rows:
        for segment in segments:
            width = segment.end - segment.start + 1
            segment_axes.broken_barh(
                [(segment.start - 0.5, width)], (level + 0.1, 0.8),
                facecolors=colours(segment.label % 20), edgecolor="black", linewidth=0.5,
            )  # fmt: skip
            text = class_names[segment.label]
            confidence = getattr(segment, "confidence", None)
            if confidence is not None:
                text += f" {confidence:.2f}"
            segment_axes.text(
                segment.start + width / 2, level + 0.5, text, ha="center", va="center", fontsize=7
            )
            reported = getattr(segment, "reported_at", None)
            if reported is not None:
                segment_axes.plot([reported], [level + 0.15], "k.", markersize=4)
    segment_axes.set_yticks([0.5 + level for _, _, level in rows], [name for name, _, _ in rows])
    segment_axes.set_ylim(0, len(rows))
    segment_axes.set_title(title or f"stream {stream.name}: ground truth and detections")
    image = probability_axes.imshow(
        result.probabilities.T, aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0,
        interpolation="nearest", extent=(-0.5, frames - 0.5, len(class_names) - 0.5, -0.5),
    )  # fmt: skip
    probability_axes.set_yticks(range(len(class_names)), class_names, fontsize=7)
    probability_axes.set_ylabel("probability")
    figure.colorbar(image, ax=[probability_axes], fraction=0.02, pad=0.01)
    beta_axes.plot(np.arange(frames), result.beta, color="tab:red", linewidth=1.0)
    beta_axes.set_ylabel("beta")
    beta_axes.set_xlabel("frame")
    beta_axes.set_xlim(-0.5, frames - 0.5)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path
