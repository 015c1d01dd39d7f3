"""What the model looked at in one clip, as pictures and as raw numbers.

``explain_clip`` writes into one folder:

- ``attention.png``: the joints x frames heatmap of alpha above the beta curve and the running
  probability of the predicted class on every prefix (``stalstm.pictures.plot_attention``);
- ``skeletons.png``: the skeleton(s) at the key frames beta picks (the highest-beta frames,
  kept apart so that they show different moments), bones from the layout, each joint coloured
  and sized by its mean attention over the clip;
- ``skeleton.gif``: the whole clip animated, joints coloured by that frame's alpha;
- ``attention.json``: raw alpha (T x K) and beta (T), the running probability, the key frames,
  joint and class names and the prediction.

The numbers come from one function, ``clip_attention``, which the interactive page of
``stalstm.viewer`` calls too, so the page and ``attention.json`` show the same values.

A variant without spatial attention (``lstm``, ``ta``) has no alpha, and one without temporal
attention (``lstm``, ``sa``) has beta = 1 on every frame: the pictures say so in their titles
rather than drawing an empty panel, and key frames are then spread evenly over the clip.

The skeletons are drawn from the prepared coordinates the model read, on the first two axes
(x, y); the vertical axis is flipped when the layout's "up" pair points down the y axis (image
coordinates, as in SBU), so that people stand upright.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stalstm.clip import Clip
from stalstm.errors import DataError
from stalstm.layouts import get_layout
from stalstm.modelfile import LoadedModel
from stalstm.pictures import plot_attention
from stalstm.predict import (
    Prediction,
    check_clip_fits,
    model_joints,
    prepare_for_model,
    run_model,
    top_classes,
)

NUM_KEY_FRAMES = 4
GIF_FRAMES_PER_SECOND = 10


@dataclass(frozen=True)
class Explanation:
    """What ``explain_clip`` computed and where it wrote it."""

    prediction: Prediction
    alpha: np.ndarray | None  # (T, K)
    beta: np.ndarray  # (T,)
    running_probability: np.ndarray  # (T,) probability of the predicted class on every prefix
    key_frames: list[int]
    files: dict[str, Path]


def pick_key_frames(beta: np.ndarray, count: int = NUM_KEY_FRAMES) -> list[int]:
    """The ``count`` highest-beta frames, each at least T / (2 count) frames from the others
    (so they show different moments); evenly spaced frames when beta is flat."""
    frames = len(beta)
    count = min(count, frames)
    if np.ptp(beta) <= 1e-12:
        return sorted({int(x) for x in np.rint(np.linspace(0, frames - 1, count))})
    gap = max(1, frames // (2 * count))
    chosen: list[int] = []
    for frame in np.argsort(-beta, kind="stable"):
        if all(abs(int(frame) - other) >= gap for other in chosen):
            chosen.append(int(frame))
        if len(chosen) == count:
            break
    return sorted(chosen)


def running_probabilities(frame_scores: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Every class's probability after every frame: softmax of o_t = sum_{u<=t} beta_u z_u, the
    online recogniser's view of the clip. frame_scores (T, N), beta (T,) -> (T, N)."""
    running = np.cumsum(beta[:, None] * frame_scores, axis=0)  # (T, N)
    return torch.softmax(torch.from_numpy(running), dim=-1).numpy()


def running_probability(frame_scores: np.ndarray, beta: np.ndarray, class_index: int) -> np.ndarray:
    """Probability of one class after every frame (a column of ``running_probabilities``)."""
    return running_probabilities(frame_scores, beta)[:, class_index]


@dataclass(frozen=True)
class ClipAttention:
    """What the model computed for one clip: the numbers behind every picture, ``attention.json``
    and the viewer page (``stalstm.viewer``), computed in one place (``clip_attention``).

    Attributes:
        clip: the clip as given (raw, or prepared when ``clip_attention(prepared=True)``).
        joints: (T, K, C) the prepared joints the model read, persons flattened.
        prediction: the clip's top classes and all class probabilities.
        alpha: (T, K) spatial attention, None for a variant without it.
        beta: (T,) temporal attention (1 on every frame without it).
        running_probabilities: (T, N) every class's probability after every frame, softmax of
            o_t = sum_{u<=t} beta_u z_u: the online recogniser's view of the clip.
        key_frames: the highest-beta frames, kept apart (``pick_key_frames``).
        note: what the variant lacks, in words ("" for a full STA-LSTM).
    """

    clip: Clip
    joints: np.ndarray
    prediction: Prediction
    alpha: np.ndarray | None
    beta: np.ndarray
    running_probabilities: np.ndarray
    key_frames: list[int]
    note: str

    @property
    def predicted(self) -> int:
        """Index of the predicted class."""
        return int(np.argmax(self.prediction.probabilities))

    @property
    def running_probability(self) -> np.ndarray:
        """(T,) the predicted class's probability after every frame."""
        return self.running_probabilities[:, self.predicted]


def clip_attention(
    loaded: LoadedModel,
    clip: Clip,
    *,
    source: str | Path | None = None,
    top_k: int = 5,
    prepared: bool = False,
) -> ClipAttention:
    """Run the model on one clip (raw, or already prepared by the model's preset, as in a
    prepared store) and return its attention, running probabilities and key frames."""
    if prepared:
        check_clip_fits(loaded, clip, source or clip.name)
        ready = clip
    else:
        ready = prepare_for_model(loaded, clip, source)
    joints = model_joints(loaded, ready)  # (T, K, C)
    output = run_model(loaded, joints)
    probabilities = torch.softmax(output.logits[0], dim=-1).numpy()
    beta = output.beta[0].numpy()  # (T,)
    prediction = Prediction(
        source=str(source or clip.name),
        clip_name=clip.name,
        top=top_classes(loaded, probabilities, top_k),
        probabilities=probabilities,
        label=clip.label,
    )
    return ClipAttention(
        clip=clip,
        joints=joints,
        prediction=prediction,
        alpha=None if output.alpha is None else output.alpha[0].numpy(),  # (T, K)
        beta=beta,
        running_probabilities=running_probabilities(output.frame_scores[0].numpy(), beta),
        key_frames=pick_key_frames(beta),
        note=missing_branches(loaded),
    )


def explain_clip(
    loaded: LoadedModel,
    clip: Clip,
    out: str | Path,
    *,
    source: str | Path | None = None,
    top_k: int = 5,
    gif: bool = True,
) -> Explanation:
    """Run the model on one raw clip and write the pictures and ``attention.json`` to ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    attention = clip_attention(loaded, clip, source=source, top_k=top_k)
    prediction, alpha, beta = attention.prediction, attention.alpha, attention.beta
    probabilities = prediction.probabilities
    predicted = attention.predicted
    running = attention.running_probability
    key_frames = attention.key_frames
    class_name = loaded.class_names[predicted]
    caveats = attention.note
    files = {"attention": out / "attention.png", "skeletons": out / "skeletons.png"}

    truth = (
        f", true: {loaded.class_names[clip.label]}" if 0 <= clip.label < len(probabilities) else ""
    )
    title = f"{clip.name}: predicted {class_name} ({probabilities[predicted]:.2f}){truth}"
    plot_attention(
        alpha,
        beta,
        files["attention"],
        joint_names=loaded.joint_names,
        title=title + (f"\n{caveats}" if caveats else ""),
        running_score=running,
        class_name=class_name,
        key_frames=np.isin(np.arange(len(beta)), key_frames),
    )
    drawing = SkeletonDrawing(loaded, attention.joints, alpha)
    rule = "highest beta" if np.ptp(beta) > 1e-12 else "evenly spaced (beta is flat)"
    drawing.key_frames(
        files["skeletons"], key_frames, beta, title=f"{title}\nkey frames: {rule}", caveats=caveats
    )
    if gif:
        files["gif"] = out / "skeleton.gif"
        drawing.animation(files["gif"], beta, running, class_name, fps=GIF_FRAMES_PER_SECOND)
    files["json"] = out / "attention.json"
    files["json"].write_text(json.dumps(attention_record(loaded, attention), indent=1) + "\n")
    return Explanation(prediction, alpha, beta, running, key_frames, files)


def missing_branches(loaded: LoadedModel) -> str:
    """What a variant without spatial or temporal attention lacks, in words ("" for STA)."""
    config = loaded.config
    notes = []
    if not config.has_spatial_attention:
        notes.append("no spatial attention in this model (alpha absent: every joint counts)")
    if not config.has_temporal_attention:
        notes.append("no temporal attention (beta = 1 on every frame)")
    return f"variant {config.variant}: " + "; ".join(notes) if notes else ""


def attention_record(loaded: LoadedModel, attention: ClipAttention) -> dict[str, Any]:
    """The JSON form of a clip's attention (``attention.json``)."""
    prediction = attention.prediction
    return {
        "clip": prediction.clip_name,
        "source": prediction.source,
        "label": prediction.label,
        "prediction": prediction.to_dict()["top"],
        "variant": loaded.config.variant,
        "note": attention.note,
        "layout": loaded.layout,
        "joint_names": list(loaded.joint_names),
        "class_names": list(loaded.class_names),
        "key_frames": attention.key_frames,
        "alpha": None if attention.alpha is None else attention.alpha.tolist(),
        "beta": attention.beta.tolist(),
        "running_probability": attention.running_probability.tolist(),
    }


class SkeletonDrawing:
    """Draws the K model joints of a clip (persons side by side in one scene) with the layout's
    bones, joints coloured and sized by attention."""

    def __init__(self, loaded: LoadedModel, joints: np.ndarray, alpha: np.ndarray | None) -> None:
        self.joint_names = loaded.joint_names
        self.points = joints[..., :2].astype(np.float64)  # (T, K, 2)
        self.present = np.any(joints != 0.0, axis=-1)  # (T, K): absent persons are zeros
        self.alpha = alpha
        bones, up = _model_bones(loaded)
        self.bones = bones
        if up is not None and self._points_down(up):
            self.points[..., 1] *= -1.0
        shown = self.points[self.present] if self.present.any() else np.zeros((1, 2))
        low, high = shown.min(axis=0), shown.max(axis=0)
        margin = 0.08 * max(float(np.max(high - low)), 1e-6)
        self.limits = (low - margin, high + margin)

    def _points_down(self, up: tuple[int, int]) -> bool:
        """True when the layout's "up" direction runs towards -y (image coordinates)."""
        start, end = up
        both = self.present[:, start] & self.present[:, end]
        if not both.any():
            return False
        return float(np.mean(self.points[both, end, 1] - self.points[both, start, 1])) < 0.0

    def _draw_frame(self, axis: Any, frame: int, weights: np.ndarray, scale: float) -> Any:
        """Bones in grey and joints coloured / sized by ``weights`` (K,) on one axis."""
        points, present = self.points[frame], self.present[frame]
        for start, end in self.bones:
            if present[start] and present[end]:
                axis.plot(*points[[start, end]].T, color="0.6", linewidth=1.5, zorder=1)
        relative = weights / scale if scale > 0 else np.zeros_like(weights)
        scatter = axis.scatter(
            points[present, 0],
            points[present, 1],
            c=weights[present],
            s=12 + 110 * relative[present],
            cmap="magma_r",
            vmin=0.0,
            vmax=scale,
            edgecolors="black",
            linewidths=0.4,
            zorder=2,
        )
        axis.set_xlim(self.limits[0][0], self.limits[1][0])
        axis.set_ylim(self.limits[0][1], self.limits[1][1])
        axis.set_aspect("equal")
        axis.set_xticks([])
        axis.set_yticks([])
        return scatter

    def _mean_attention(self) -> np.ndarray:
        if self.alpha is None:
            return np.full(len(self.joint_names), 1.0 / len(self.joint_names))
        return self.alpha.mean(axis=0)  # (K,)

    def key_frames(
        self, path: Path, frames: list[int], beta: np.ndarray, *, title: str, caveats: str
    ) -> Path:
        """The skeleton at each key frame, joints coloured and sized by mean attention."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        weights = self._mean_attention()
        scale = float(weights.max())
        figure, axes = plt.subplots(
            1, len(frames), figsize=(3.2 * len(frames) + 1.0, 4.6), layout="constrained"
        )
        axes = np.atleast_1d(axes)
        scatter = None
        for axis, frame in zip(axes, frames, strict=True):
            scatter = self._draw_frame(axis, frame, weights, scale)
            axis.set_title(f"frame {frame}   beta {beta[frame]:.2f}", fontsize=9)
        if scatter is not None:
            figure.colorbar(scatter, ax=list(axes), shrink=0.8, label="mean alpha over the clip")
        top = np.argsort(-weights, kind="stable")[:4]
        if self.alpha is None:
            summary = caveats
        else:
            never_present = ~self.present.any(axis=0)  # joints of a person never in the clip
            summary = "most attended joints: " + ", ".join(
                f"{self.joint_names[k]}{' (absent)' if never_present[k] else ''} ({weights[k]:.3f})"
                for k in top
            )
            summary += f"   (uniform would be {1.0 / len(weights):.3f})"
            if caveats:
                summary += f"\n{caveats}"
        figure.suptitle(f"{title}\n{summary}", fontsize=9)
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(figure)
        return path

    def animation(
        self, path: Path, beta: np.ndarray, running: np.ndarray, class_name: str, *, fps: int
    ) -> Path:
        """An animated GIF of the whole clip, joints coloured by each frame's alpha."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.animation import FuncAnimation, PillowWriter

        alpha = self.alpha
        scale = float(alpha.max()) if alpha is not None else 1.0
        figure, axis = plt.subplots(figsize=(4.0, 4.2))

        def draw(frame: int) -> list[Any]:
            axis.clear()
            weights = alpha[frame] if alpha is not None else self._mean_attention()
            scatter = self._draw_frame(axis, frame, weights, scale)
            axis.set_title(
                f"frame {frame}  beta {beta[frame]:.2f}\n"
                f"P({class_name}) so far {running[frame]:.2f}",
                fontsize=9,
            )
            return [scatter]

        frames = self.points.shape[0]
        movie = FuncAnimation(figure, draw, frames=frames, interval=1000 / fps, blit=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        movie.save(str(path), writer=PillowWriter(fps=fps), dpi=60)
        plt.close(figure)
        return path


def _model_bones(loaded: LoadedModel) -> tuple[list[tuple[int, int]], tuple[int, int] | None]:
    """The layout's bones repeated for every person on the model's flattened joint axis, and
    the layout's "up" pair (of the first person); no bones when the layout is not known."""

    try:
        layout = get_layout(loaded.layout)
    except DataError:
        return [], None
    per_person = loaded.joints_per_person
    if layout.num_joints != per_person:
        return [], None
    bones = [
        (start + person * per_person, end + person * per_person)
        for person in range(loaded.num_persons)
        for start, end in layout.bones
    ]
    return bones, tuple(layout.up)
