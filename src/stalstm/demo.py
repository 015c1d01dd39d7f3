"""The demo: does STA-LSTM look where the action is? Measured on synthetic data where we know.

``run_demo`` trains STA-LSTM and the plain LSTM by the shipped ``demo`` recipe, through the one
training pipeline every recipe runs (``stalstm.training.pipeline``; the recipe's data set
``synthetic`` generates its clips: NTU layout, K = 50 joints; each class is one limb's movement
in a short key window, among distractors and decoys), then measures where the STA model's
attention goes on the held-out clips, draws the attention of one test clip, and writes
``summary.json``.

The two attention numbers (both computed from the model's own alpha and beta on the held-out
clips, never from the generator's labels alone):

- ``spatial_attention_on_planted_joints``: for each test clip, the spatial attention mass on its
  planted joints, sum_{k in planted} alpha_{t,k}, averaged over the clip's KEY frames (the only
  frames where the planted joints move; outside them there is nothing of the class to look at),
  divided by the planted joints' uniform share |planted| / K; then averaged over test clips.
  1 means no preference; K / |planted| (10 for an arm's 5 joints) means all attention on them.
- ``temporal_attention_on_key_frames``: for each test clip, the share of its beta mass on the key
  frames, sum_{t in key} beta_t / sum_{t valid} beta_t, divided by the key frames' share of the
  clip's valid frames |key| / T; then averaged over test clips (a clip whose beta is zero
  everywhere counts 0). 1 means no preference.

The recipe (``src/stalstm/recipes/demo.yaml``) says why each of its settings is what it is.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stalstm import __version__
from stalstm.clip import Clip
from stalstm.dataset import collate_clips
from stalstm.model import STALSTM, STALSTMOutput
from stalstm.modelfile import model_joint_names
from stalstm.pictures import plot_attention
from stalstm.synthetic import CLASS_NAMES, NUM_JOINTS, NUM_PERSONS, SyntheticActions
from stalstm.training.pipeline import MODEL_FOLDER
from stalstm.training.recipes import Recipe, load_recipe, with_changes
from stalstm.training.runner import train_run

DEMO_RECIPE = "demo"
SUMMARY_FILE = "summary.json"
PICTURE_FILE = "attention.png"


def spatial_attention_on_planted_joints(
    alpha: np.ndarray, planted_joints: np.ndarray, key_frames: np.ndarray
) -> float:
    """Attention mass on the planted joints over the key frames, over their uniform share.

    Args:
        alpha: (T, K) spatial attention of one clip's valid frames.
        planted_joints: indices into K.
        key_frames: bool (T,).
    """
    num_joints = alpha.shape[1]
    mass = alpha[key_frames][:, planted_joints].sum(axis=1).mean()
    return float(mass / (len(planted_joints) / num_joints))


def temporal_attention_on_key_frames(beta: np.ndarray, key_frames: np.ndarray) -> float:
    """Share of the beta mass on the key frames over their share of the frames (0 when beta is
    zero everywhere). ``beta``: (T,) of one clip's valid frames; ``key_frames``: bool (T,)."""
    total = float(beta.sum())
    if total <= 0.0:
        return 0.0
    return float((beta[key_frames].sum() / total) / (key_frames.sum() / len(key_frames)))


@dataclass
class Evaluation:
    """A model's outputs on the test clips, trimmed to each clip's valid frames."""

    accuracy: float
    predicted: np.ndarray  # (N,)
    alphas: list[np.ndarray | None]  # (T_i, K) each
    betas: list[np.ndarray]  # (T_i,) each
    running_scores: list[np.ndarray]  # (T_i, classes): softmax of o over every prefix


@torch.inference_mode()
def evaluate(model: STALSTM, clips: Sequence[Clip], batch_size: int = 100) -> Evaluation:
    """Accuracy, attention and running class probabilities of ``model`` on ``clips``."""
    model.eval()
    predicted, alphas, betas, running = [], [], [], []
    for start in range(0, len(clips), batch_size):
        items = [_item(clip) for clip in clips[start : start + batch_size]]
        batch = collate_clips(items)
        output: STALSTMOutput = model(batch["joints"], batch["mask"])
        predicted.append(output.logits.argmax(dim=1).numpy())
        # o on every prefix: the running sum of beta_t z_t (what the online recogniser reports)
        prefix_logits = torch.cumsum(output.beta.unsqueeze(-1) * output.frame_scores, dim=1)
        prefix_probabilities = torch.softmax(prefix_logits, dim=-1)  # (B, T, N)
        for row, item in enumerate(items):
            length = item["joints"].shape[0]
            alphas.append(None if output.alpha is None else output.alpha[row, :length].numpy())
            betas.append(output.beta[row, :length].numpy())
            running.append(prefix_probabilities[row, :length].numpy())
    predicted_labels = np.concatenate(predicted)
    labels = np.array([clip.label for clip in clips])
    accuracy = float((predicted_labels == labels).mean())
    return Evaluation(accuracy, predicted_labels, alphas, betas, running)


def attention_concentration(evaluation: Evaluation, clips: Sequence[Clip]) -> dict[str, float]:
    """The two attention numbers of the module docstring, averaged over ``clips``."""
    spatial = [
        spatial_attention_on_planted_joints(
            alpha, clip.extras["planted_joints"], clip.extras["key_frames"]
        )
        for alpha, clip in zip(evaluation.alphas, clips, strict=True)
        if alpha is not None
    ]
    temporal = [
        temporal_attention_on_key_frames(beta, clip.extras["key_frames"])
        for beta, clip in zip(evaluation.betas, clips, strict=True)
    ]
    return {
        "spatial_attention_on_planted_joints": float(np.mean(spatial)) if spatial else 1.0,
        "temporal_attention_on_key_frames": float(np.mean(temporal)),
    }


def _item(clip: Clip) -> dict[str, Any]:
    frames, persons, joints, coords = clip.joints.shape
    return {
        "joints": torch.from_numpy(clip.joints.reshape(frames, persons * joints, coords)),
        "label": clip.label,
        "name": clip.name,
    }


def _draw(out: Path, clip: Clip, evaluation: Evaluation, index: int) -> Path:
    names, _ = model_joint_names(NUM_JOINTS, SyntheticActions().layout.joint_names)
    predicted = int(evaluation.predicted[index])
    title = (
        f"STA-LSTM on held-out clip {clip.name}: true {CLASS_NAMES[clip.label]!r}, "
        f"predicted {CLASS_NAMES[predicted]!r}"
    )
    return plot_attention(
        evaluation.alphas[index],
        evaluation.betas[index],
        out / PICTURE_FILE,
        joint_names=names,
        title=title,
        running_score=evaluation.running_scores[index][:, clip.label],
        class_name=CLASS_NAMES[clip.label],
        key_frames=clip.extras["key_frames"],
        marked_joints=clip.extras["planted_joints"],
    )


@dataclass
class VariantRun:
    """One variant of the demo, trained and looked at: the pipeline's summary, the model's
    outputs on the held-out clips, and those clips (with the generator's truth in extras)."""

    summary: dict[str, Any]
    model: STALSTM
    evaluation: Evaluation
    test_clips: list[Clip]

    @property
    def attention(self) -> dict[str, float]:
        return attention_concentration(self.evaluation, self.test_clips)


def demo_recipe(overrides: Sequence[str] = ()) -> Recipe:
    """The shipped ``demo`` recipe with ``key=value`` overrides."""
    return load_recipe(DEMO_RECIPE, overrides)


def train_variant(
    recipe: Recipe, variant: str, out: str | Path, progress_bar: bool = True
) -> VariantRun:
    """Train one variant by the demo recipe through the training pipeline into the run folder
    ``out`` and evaluate its attention on the held-out clips. (``benchmarks/robustness.py``
    calls this for many seeds and perturbations.)"""
    changed = with_changes(recipe, model={"variant": variant})
    result = train_run(changed, None, out, progress_bar=progress_bar)
    assert result.model is not None  # one process
    test_set = result.material.validation_set  # the generated clips, extras included
    test_clips = [test_set.store[index] for index in test_set.indices]
    evaluation = evaluate(result.model.model, test_clips)
    return VariantRun(result.summary, result.model.model, evaluation, test_clips)


def run_demo(
    out_dir: str | Path = "stalstm-demo",
    overrides: Sequence[str] = (),
    *,
    progress_bar: bool = True,
    log: Callable[[str], None] = print,
    started: float | None = None,
) -> dict[str, Any]:
    """Train STA-LSTM and the plain LSTM by the ``demo`` recipe (with ``key=value``
    overrides), evaluate, draw; return the summary.

    Writes into ``out_dir``: ``summary.json`` (the returned dict), ``attention.png`` (the STA
    model's attention on one test clip, planted joints and key frames marked), ``model/`` (the
    STA model, loadable by ``stalstm predict``/``explain``) and ``runs/{sta,lstm}/`` (each a
    run folder of the pipeline). ``started``: a ``time.perf_counter()`` reading to count
    ``seconds`` from (the CLI passes its own start, so that importing torch counts).
    """
    started = time.perf_counter() if started is None else started
    recipe = demo_recipe(overrides)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    options = recipe.data.options
    log(
        f"synthetic data: {options.get('train_clips', 2000)} training and "
        f"{options.get('test_clips', 400)} test clips, {len(CLASS_NAMES)} classes, "
        f"K = {NUM_JOINTS} joints of {NUM_PERSONS} persons"
    )
    runs: dict[str, VariantRun] = {}
    for variant in ("sta", "lstm"):
        log(f"training {variant.upper()}-LSTM" if variant == "sta" else "training plain LSTM")
        runs[variant] = train_variant(recipe, variant, out / "runs" / variant, progress_bar)
        log(f"{variant}: test accuracy {runs[variant].evaluation.accuracy:.1%}")
    sta = runs["sta"]
    picture = _draw(out, sta.test_clips[0], sta.evaluation, 0)
    if (out / MODEL_FOLDER).exists():
        shutil.rmtree(out / MODEL_FOLDER)
    shutil.copytree(out / "runs" / "sta" / MODEL_FOLDER, out / MODEL_FOLDER)
    summary: dict[str, Any] = {
        "stalstm_version": __version__,
        "sta_accuracy": sta.evaluation.accuracy,
        "lstm_accuracy": runs["lstm"].evaluation.accuracy,
        **sta.attention,
        "seconds": round(time.perf_counter() - started, 1),
        "test_clips": len(sta.test_clips),
        "train_clips": sta.summary["train_clips"],
        "class_names": list(CLASS_NAMES),
        "layout": "ntu25",
        "picture": str(picture),
        "model": str(out / MODEL_FOLDER),
        "warnings": [f"{name}: {text}" for name, run in runs.items()
                     for text in run.summary["warnings"]],
        "recipe": recipe.to_dict(),
    }  # fmt: skip
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    return summary
