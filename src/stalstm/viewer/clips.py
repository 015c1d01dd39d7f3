"""A clip's page (``stalstm explain MODEL CLIP --html FILE``): the numbers of
``stalstm.explain.clip_attention``, the ones ``attention.json`` holds, with the prepared
skeleton they were computed on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stalstm.clip import Clip
from stalstm.explain import ClipAttention, clip_attention
from stalstm.modelfile import LoadedModel
from stalstm.viewer.page import numbers, write_page
from stalstm.viewer.skeleton import model_facts, skeleton_view


def clip_view(loaded: LoadedModel, attention: ClipAttention) -> dict[str, Any]:
    """The page's data for one clip: skeleton, alpha (T x K, or None without spatial
    attention), beta, the running probabilities of every class (T x N), key frames, the
    prediction and, when the clip carries a label the model knows, the true class."""
    prediction = attention.prediction
    classes = list(loaded.class_names)
    label = prediction.label
    return {
        "kind": "clip",
        "name": prediction.clip_name,
        "source": prediction.source,
        "model": model_facts(loaded),
        "skeleton": skeleton_view(loaded, attention.joints),
        "alpha": numbers(attention.alpha),
        "beta": numbers(attention.beta),
        "note": attention.note,
        "has_temporal_attention": loaded.config.has_temporal_attention,
        "classes": classes,
        "probabilities": numbers(attention.running_probabilities),
        "probabilities_are": "running",
        "predicted": attention.predicted,
        "probability": float(prediction.probabilities[attention.predicted]),
        "truth": int(label) if 0 <= label < len(classes) else None,
        "key_frames": list(attention.key_frames),
    }


def write_clip_page(
    loaded: LoadedModel,
    clip: Clip,
    path: str | Path,
    *,
    source: str | Path | None = None,
    prepared: bool = False,
) -> tuple[Path, ClipAttention]:
    """Run the model on one clip and write its page to ``path``; returns the page's path and
    the attention it shows."""
    attention = clip_attention(loaded, clip, source=source, prepared=prepared)
    view = clip_view(loaded, attention)
    title = f"{clip.name}: what the model looked at"
    return write_page(path, "clip", title, {"kind": "clip", "views": [view]}), attention
