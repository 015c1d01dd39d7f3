"""The demo: does STA-LSTM look where the action is? Measured on synthetic data where we know.

``run_demo`` generates train and test clips with ``stalstm.synthetic`` (NTU layout, K = 50
joints; each class is one limb's movement in a short key window, among distractors and decoys),
trains STA-LSTM and the plain LSTM through the training engine (``stalstm.training.fit``, the same
Lightning path as every recipe), evaluates both on the held-out clips, measures where the STA
model's attention goes, draws the attention of one test clip, saves the STA model, and writes
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

The model is small (one main LSTM layer of 64 units, attention LSTMs of 64) so that both models
train in about a minute on two CPU cores; the schedule is two stages (main network and spatial
attention with the temporal attention frozen at its positive start, then everything jointly),
because trained jointly from the first step the ReLU gate beta is driven to zero by the random
class scores of an untrained main network before they become useful. The README section "The
demo and its synthetic data" lists what each setting is for and what was measured without it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from stalstm.clip import Clip
from stalstm.model import STALSTM, STALSTMConfig, STALSTMOutput
from stalstm.objective import ObjectiveConfig
from stalstm.synthetic import CLASS_NAMES, LAYOUT_NAME, NUM_JOINTS, NUM_PERSONS, SyntheticConfig
from stalstm.training.schedule import OptimiserSettings

SUMMARY_FILE = "summary.json"
PICTURE_FILE = "attention.png"
MODEL_FOLDER = "model"


@dataclass(frozen=True)
class DemoSettings:
    """Everything the demo does, with the defaults of ``stalstm demo``."""

    train_clips: int = 2000
    test_clips: int = 400
    seed: int = 0
    data: SyntheticConfig = field(
        default_factory=lambda: SyntheticConfig(min_decoys=1, max_decoys=2, key_lean=0.15)
    )
    main_hidden: int = 64
    main_layers: int = 1
    attention_hidden: int = 64
    first_stage_epochs: int = 4  # main + spatial attention, temporal frozen
    joint_stage_epochs: int = 12  # everything
    learning_rate: float = 3e-3  # first stage
    joint_learning_rate: float = 3e-3  # second stage (a fresh optimiser, cosine decay)
    batch_size: int = 32
    objective: ObjectiveConfig = field(
        default_factory=lambda: ObjectiveConfig(
            spatial_weight=1e-3, temporal_weight=3e-2, temporal_exponent=1.0, l1_weight=1e-5
        )
    )
    progress_bar: bool = True
    # STALSTMConfig fields to change (an ablation: benchmarks/robustness.py --set
    # 'model_overrides={standardise_input: false}'), and the optimiser's warm-up
    model_overrides: dict = field(default_factory=dict)
    warmup_steps: int = OptimiserSettings().warmup_steps

    def model_config(self, variant: str) -> STALSTMConfig:
        return STALSTMConfig(
            **self.model_overrides,
            num_joints=NUM_JOINTS,
            num_classes=len(CLASS_NAMES),
            variant=variant,  # type: ignore[arg-type]
            main_hidden=self.main_hidden,
            main_layers=self.main_layers,
            spatial_hidden=self.attention_hidden,
            spatial_tanh=self.attention_hidden,
            temporal_hidden=self.attention_hidden,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class InMemoryClips(Dataset):
    """Clips held in memory as training items: ``dict(joints (T, K, C) float tensor with the
    persons flattened person-major, label, name)`` like ``stalstm.dataset.ClipDataset``."""

    def __init__(self, clips: Sequence[Clip]) -> None:
        self.clips = list(clips)

    def __len__(self) -> int:
        return len(self.clips)

    def __getitem__(self, index: int) -> dict[str, Any]:
        clip = self.clips[index]
        frames, persons, joints, coords = clip.joints.shape
        return {
            "joints": torch.from_numpy(clip.joints.reshape(frames, persons * joints, coords)),
            "label": clip.label,
            "name": clip.name,
        }


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
    from stalstm.dataset import collate_clips

    model.eval()
    dataset = InMemoryClips(clips)
    predicted, alphas, betas, running = [], [], [], []
    for start in range(0, len(dataset), batch_size):
        items = [dataset[i] for i in range(start, min(start + batch_size, len(dataset)))]
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


def _schedule(settings: DemoSettings):  # -> stalstm.training.Schedule
    from stalstm.training import Schedule, Stage

    # constant in the first stage (it only prepares the second), cosine decay in the second
    first = OptimiserSettings(
        learning_rate=settings.learning_rate, cosine_decay=False, warmup_steps=settings.warmup_steps
    )
    joint = OptimiserSettings(
        learning_rate=settings.joint_learning_rate, warmup_steps=settings.warmup_steps
    )
    return Schedule(
        (
            Stage("main-and-spatial", ("main", "spatial"), settings.first_stage_epochs,
                  optimiser=first),
            Stage("joint", ("main", "spatial", "temporal"), settings.joint_stage_epochs,
                  optimiser=joint),
        )
    )  # fmt: skip


def _draw(out: Path, clip: Clip, evaluation: Evaluation, index: int) -> Path:
    from stalstm.modelfile import model_joint_names
    from stalstm.pictures import plot_attention
    from stalstm.synthetic import SyntheticActions

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


def run_demo(
    out_dir: str | Path = "stalstm-demo",
    settings: DemoSettings | None = None,
    log: Callable[[str], None] = print,
    started: float | None = None,
) -> dict[str, Any]:
    """Generate data, train STA-LSTM and the plain LSTM, evaluate, draw, save; return the summary.

    Writes into ``out_dir``: ``summary.json`` (the returned dict), ``attention.png`` (the STA
    model's attention on one test clip, planted joints and key frames marked), ``model/`` (the
    STA model, ``stalstm.modelfile`` format, loadable by ``stalstm predict``/``explain``) and
    ``runs/{sta,lstm}/`` (the training engine's checkpoints and logs). ``started``: a
    ``time.perf_counter()`` reading to count ``seconds`` from (the CLI passes its own start, so
    that importing torch counts); now when None.
    """
    started = time.perf_counter() if started is None else started
    settings = settings or DemoSettings()
    # Values decaying towards zero (attention far from the planted joints, optimiser state of
    # unused weights) become subnormal floats, on which CPU arithmetic is many times slower: a run
    # whose beta had died crawled at 1.2 instead of 7.5 steps/s. Flushing them to zero is free.
    torch.set_flush_denormal(True)
    # One thread: these small LSTMs gain little from intra-op threads, and on a busy machine
    # two spinning OpenMP threads made a training step 35 times slower (117 ms -> 4.1 s, measured).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _run(out_dir, settings, log, started)
    finally:
        torch.set_num_threads(threads)
        torch.set_flush_denormal(False)  # torch's default (it has no getter to restore from)


def train_variant(
    settings: DemoSettings,
    variant: str,
    train_clips: Sequence[Clip],
    test_clips: Sequence[Clip],
    out: str | Path,
) -> tuple[STALSTM, Evaluation, list[str]]:
    """Train one variant on ``train_clips`` through the training engine with the demo's
    settings, into the run folder ``out``; return the model, its evaluation on ``test_clips``
    and the engine's attention-collapse warnings. (``benchmarks/robustness.py`` calls this for
    many seeds and perturbations.)"""
    from stalstm.training import TrainingSettings, fit

    training = TrainingSettings(
        schedule=_schedule(settings),
        objective=settings.objective,
        batch_size=settings.batch_size,
        seed=settings.seed,
        progress_bar=settings.progress_bar,
    )
    fitted = fit(settings.model_config(variant), InMemoryClips(train_clips), out, training)
    return fitted.model, evaluate(fitted.model, test_clips), fitted.warnings


def demo_data(settings: DemoSettings) -> tuple[list[Clip], list[Clip]]:
    """The demo's training and test clips (seeded by ``settings.seed``)."""
    from stalstm.synthetic import SyntheticActions

    generator = SyntheticActions(settings.data)
    return (
        generator.generate(settings.train_clips, settings.seed, "train"),
        generator.generate(settings.test_clips, settings.seed + 1, "test"),
    )


def _run(
    out_dir: str | Path, settings: DemoSettings, log: Callable[[str], None], started: float
) -> dict[str, Any]:
    from stalstm.modelfile import save_model
    from stalstm.synthetic import SyntheticActions

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    train_clips, test_clips = demo_data(settings)
    log(
        f"synthetic data: {len(train_clips)} training and {len(test_clips)} test clips, "
        f"{len(CLASS_NAMES)} classes, K = {NUM_JOINTS} joints of {NUM_PERSONS} persons"
    )
    results: dict[str, Evaluation] = {}
    models: dict[str, STALSTM] = {}
    warnings: list[str] = []
    for variant in ("sta", "lstm"):
        log(f"training {variant.upper()}-LSTM" if variant == "sta" else "training plain LSTM")
        models[variant], results[variant], found = train_variant(
            settings, variant, train_clips, test_clips, out / "runs" / variant
        )
        warnings += [f"{variant}: {text}" for text in found]
        log(f"{variant}: test accuracy {results[variant].accuracy:.1%}")

    sta = results["sta"]
    concentration = attention_concentration(sta, test_clips)
    picture = _draw(out, test_clips[0], sta, 0)
    summary: dict[str, Any] = {
        "sta_accuracy": sta.accuracy,
        "lstm_accuracy": results["lstm"].accuracy,
        **concentration,
        "seconds": 0.0,
        "test_clips": len(test_clips),
        "train_clips": len(train_clips),
        "class_names": list(CLASS_NAMES),
        "layout": LAYOUT_NAME,
        "picture": str(picture),
        "model": str(out / MODEL_FOLDER),
        "warnings": warnings,
        "settings": settings.to_dict(),
    }
    save_model(
        out / MODEL_FOLDER,
        models["sta"],
        class_names=CLASS_NAMES,
        layout=SyntheticActions().layout,
        preset="none",
        metadata={
            "dataset": "stalstm.synthetic",
            "test_accuracy": sta.accuracy,
            **concentration,
        },
    )
    summary["seconds"] = round(time.perf_counter() - started, 1)
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    return summary
