"""Run a schedule with Lightning: the lower-level entry point that trains on given torch Datasets.

Every stage is one ``Trainer.fit`` in its own folder ``stages/NN-name/`` (checkpoints ``last.ckpt``
every epoch and ``best.ckpt``, written by Lightning's ``ModelCheckpoint``; TensorBoard and CSV
logs). A finished stage leaves its weights (``model.safetensors``) and ``done.json``; resuming
skips finished stages and continues the first unfinished one from its ``last.ckpt``.

Determinism: the global batch order of an epoch is a function of (seed, stage, epoch) through a
``DistributedSampler`` used in every run (one replica without a distributed environment), and the
torch/numpy random state is re-seeded from (seed, stage, epoch, rank) at every epoch start. So a
run resumed from a checkpoint replays exactly the epochs an uninterrupted run would, and a
2-process run with per-process batch B/2 sees the same global batches as a 1-process run with B.
"""

from __future__ import annotations

import json
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from safetensors.torch import load_file, save_file
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from stalstm.dataset import collate_clips
from stalstm.errors import SettingError
from stalstm.model import STALSTM, STALSTMConfig, build_model
from stalstm.normalisation import InputPlacementWarning, dataset_statistics, placement_warnings
from stalstm.objective import ObjectiveConfig
from stalstm.training.diagnostics import read_diagnostics
from stalstm.training.lightning_module import StageModule
from stalstm.training.schedule import FULL_MODEL, Schedule, end_to_end_schedule

STAGES_FOLDER = "stages"
DONE_FILE = "done.json"
DIAGNOSTICS_FILE = "diagnostics.json"
WEIGHTS_FILE = "model.safetensors"
EPOCHS_PER_STAGE_LIMIT = 100_000


@dataclass(frozen=True)
class TrainingSettings:
    """Everything about how to train, besides the model config and the data.

    A recipe's ``training`` section is this dataclass itself (``stalstm.training.recipes``):
    every field is a recipe key except ``schedule`` and ``objective`` (sections of their own) and
    ``progress_bar`` (the caller's choice), so a field added here is a recipe key too."""

    schedule: Schedule = field(default_factory=lambda: end_to_end_schedule(100))
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    batch_size: int = 16  # global: split evenly over distributed processes
    seed: int = 0
    validate_every: int = 10  # epochs between validations (when a validation set is given)
    num_workers: int = 0  # data-loading worker processes per training process
    accelerator: str = "auto"
    deterministic: bool = True
    # torch threads of the training process while ``fit`` runs (restored after); 0 leaves
    # torch's setting alone. One suits these small LSTMs on a CPU: with two shared cores, two
    # threads a process were many times slower (docs: training, "Threads")
    threads: int = 1
    progress_bar: bool = True

    def __post_init__(self) -> None:
        for name, least in (("batch_size", 1), ("validate_every", 1), ("num_workers", 0),
                            ("threads", 0)):  # fmt: skip
            if getattr(self, name) < least:
                raise SettingError(name, f"must be at least {least}, got {getattr(self, name)}")


@dataclass
class FitResult:
    """The trained full model and where each stage left its logs and checkpoints."""

    model: STALSTM
    stage_folders: list[Path]
    seconds: float
    is_global_zero: bool = True
    # per stage: its name, the diagnostics of its last epoch and its collapse warnings
    # (stalstm.training.diagnostics; every epoch is in the stage folder's diagnostics.json)
    diagnostics: list[dict[str, Any]] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """Every stage's attention-collapse warnings, in order."""
        return [text for stage in self.diagnostics for text in stage["warnings"]]


class EpochSeeding(Callback):
    """Re-seeds torch and numpy from (seed, stage, epoch, rank) at every training epoch start, and
    tells a dataset with ``set_epoch`` (``ClipDataset``: its augmentation draws) which epoch it
    is, so the randomness of an epoch does not depend on what ran before it (exact resume)."""

    def __init__(self, seed: int, stage_index: int) -> None:
        self.seed = seed
        self.stage_index = stage_index

    def on_train_epoch_start(self, trainer: L.Trainer, module: L.LightningModule) -> None:
        sequence = np.random.SeedSequence(
            [self.seed, self.stage_index, trainer.current_epoch, trainer.global_rank]
        )
        value = int(sequence.generate_state(1)[0])
        torch.manual_seed(value)
        np.random.seed(value)
        dataset = getattr(trainer.train_dataloader, "dataset", None)
        if hasattr(dataset, "set_epoch"):
            # distinct per stage, so stages do not replay each other's augmentation draws
            dataset.set_epoch(self.stage_index * EPOCHS_PER_STAGE_LIMIT + trainer.current_epoch)


def is_global_zero_process() -> bool:
    """Rank 0 of a torchrun launch, or a process outside one (Lightning is not set up yet)."""
    return int(os.environ.get("RANK", "0")) == 0


def _distributed_layout() -> dict[str, Any]:
    """Trainer arguments for the process layout: under torchrun (which sets LOCAL_WORLD_SIZE
    and WORLD_SIZE) DDP over all its processes, picked up by Lightning's TorchElastic
    environment; otherwise one process and no distributed environment at all."""
    if "LOCAL_WORLD_SIZE" not in os.environ:
        return {"devices": 1, "num_nodes": 1, "strategy": "auto"}
    local = int(os.environ["LOCAL_WORLD_SIZE"])
    world = int(os.environ.get("WORLD_SIZE", local))
    return {"devices": local, "num_nodes": max(1, world // local), "strategy": "ddp"}


@contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """torch's intra-op threads set to ``count`` (0: left alone), and restored afterwards."""
    before = torch.get_num_threads()
    if count > 0:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def _flushed_subnormals() -> Iterator[None]:
    """Subnormal floats flushed to zero while training: values decaying towards zero (attention
    far from the useful joints, optimiser state of unused weights) are many times slower on a
    CPU, and a run whose gate had died crawled for it. torch's default is restored after."""
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


def fit(
    model_config: STALSTMConfig,
    train_set: Dataset,
    out: str | Path,
    settings: TrainingSettings | None = None,
    validation_set: Dataset | None = None,
    *,
    resume: bool = False,
    collate: Callable[[list[dict]], dict] | None = None,
    callbacks: Sequence[Callback] = (),
) -> FitResult:
    """Train the full model of ``model_config`` by ``settings.schedule`` on ``train_set``.

    Args:
        model_config: the recipe's model (the schedule's ``"full"`` model).
        train_set: items ``dict(joints (T, K, C) float tensor, label int, name str)``.
        out: the run folder; stage folders go to ``out/stages``.
        settings: schedule, objective, batch size, seed, torch threads...; defaults to 100
            epochs end-to-end.
        validation_set: evaluated every ``settings.validate_every`` epochs (logged, and the
            ``best.ckpt`` of each stage is chosen on it); None for no validation.
        resume: continue a killed run in ``out``: finished stages are skipped, the first
            unfinished one continues from its ``last.ckpt``.
        collate: batches items into ``dict(joints, mask, labels, names)``;
            ``stalstm.dataset.collate_clips`` by default.
        callbacks: extra Lightning callbacks for every stage (e.g. to stop a run in a test).

    Returns:
        The trained full model (on the CPU) and the stage folders.
    """
    settings = settings or TrainingSettings()
    with torch_threads(settings.threads), _flushed_subnormals():
        return _fit_schedule(
            model_config, train_set, out, settings, validation_set, resume, collate, callbacks
        )


def _fit_schedule(
    model_config: STALSTMConfig,
    train_set: Dataset,
    out: str | Path,
    settings: TrainingSettings,
    validation_set: Dataset | None,
    resume: bool,
    collate: Callable[[list[dict]], dict] | None,
    callbacks: Sequence[Callback],
) -> FitResult:
    collate = collate or collate_clips
    out = Path(out)
    schedule = settings.schedule.for_config(model_config)
    started = time.perf_counter()
    statistics = dataset_statistics(train_set)
    if is_global_zero_process():
        for message in placement_warnings(statistics):
            warnings.warn(message, InputPlacementWarning, stacklevel=2)
    models: dict[str, STALSTM] = {}
    folders: list[Path] = []
    is_global_zero = True
    for index, stage in enumerate(schedule.stages):
        folder = out / STAGES_FOLDER / f"{index + 1:02d}-{stage.name}"
        folders.append(folder)
        if stage.model not in models:
            L.seed_everything(settings.seed + index, workers=True, verbose=False)
            models[stage.model] = build_model(schedule.model_config(stage.model, model_config))
            if model_config.standardise_input:
                # one centre and one scale for the whole skeleton: a change of origin and unit,
                # so alpha_t X_t still weighs joints' places about the body's centre
                models[stage.model].set_input_statistics(
                    torch.from_numpy(statistics.shared_centre()),
                    torch.from_numpy(statistics.shared_deviation()),
                )
        model = models[stage.model]
        if resume and (folder / DONE_FILE).is_file():
            model.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
            continue
        for part, source in stage.take.items():
            model.parts()[part].load_state_dict(models[source].parts()[part].state_dict())
        is_global_zero = _fit_stage(
            model, stage, index, settings, train_set, validation_set, folder, resume, collate,
            callbacks,
        )  # fmt: skip
        if is_global_zero:
            state = {name: t.detach().cpu().contiguous() for name, t in model.state_dict().items()}
            save_file(state, str(folder / WEIGHTS_FILE))
            (folder / DONE_FILE).write_text(json.dumps({"stage": stage.name}) + "\n")
    full = models[FULL_MODEL].cpu().eval()
    for parameter in full.parameters():
        parameter.requires_grad_(True)
    diagnostics = [
        _stage_diagnostics(stage.name, folder)
        for stage, folder in zip(schedule.stages, folders, strict=True)
    ]
    return FitResult(full, folders, time.perf_counter() - started, is_global_zero, diagnostics)


def _stage_diagnostics(name: str, folder: Path) -> dict[str, Any]:
    rows, found = read_diagnostics(folder / DIAGNOSTICS_FILE)
    return {"stage": name, "last_epoch": rows[max(rows)] if rows else {}, "warnings": found}


@contextmanager
def _quiet_lightning() -> Iterator[None]:
    """Lightning's information lines (accelerators found, a cloud-logging tip, "max_epochs
    reached") and two warnings that do not apply here (no validation set is a choice; a
    deprecation inside Lightning itself) would bury our progress display; real warnings stay."""
    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    level = rank_zero.level
    rank_zero.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*`validation_step` but have no")
            warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
            yield
    finally:
        rank_zero.setLevel(level)


@_quiet_lightning()
def _fit_stage(
    model: STALSTM,
    stage: Any,
    index: int,
    settings: TrainingSettings,
    train_set: Dataset,
    validation_set: Dataset | None,
    folder: Path,
    resume: bool,
    collate: Callable[[list[dict]], dict],
    extra_callbacks: Sequence[Callback],
) -> bool:
    """One ``Trainer.fit`` of one stage; returns whether this process is the global rank 0."""
    monitor = "val/top1" if validation_set is not None else None
    checkpoints = ModelCheckpoint(
        dirpath=folder / "checkpoints",
        filename="best",
        monitor=monitor,
        mode="max",
        save_last=True,
        enable_version_counter=False,
    )
    trainer = L.Trainer(
        max_epochs=stage.epochs,
        accelerator=settings.accelerator,
        **_distributed_layout(),
        gradient_clip_val=stage.optimiser.gradient_clip or None,
        check_val_every_n_epoch=settings.validate_every,
        num_sanity_val_steps=0,
        deterministic=settings.deterministic,
        enable_progress_bar=settings.progress_bar,
        enable_model_summary=False,
        log_every_n_steps=1,
        use_distributed_sampler=False,  # our sampler below, in every run (see module docstring)
        default_root_dir=folder,
        logger=[
            CSVLogger(folder, name="logs", version=""),
            TensorBoardLogger(folder, name="logs", version="", default_hp_metric=False),
        ],
        callbacks=[checkpoints, EpochSeeding(settings.seed, index), *extra_callbacks],
    )
    world = trainer.world_size
    if settings.batch_size % world:
        raise ValueError(f"batch size {settings.batch_size} does not split over {world} processes")
    sampler = DistributedSampler(
        train_set,
        num_replicas=world,
        rank=trainer.global_rank,
        shuffle=True,
        seed=settings.seed + index,
        drop_last=False,
    )
    loader_options = {
        "collate_fn": collate,
        "num_workers": settings.num_workers,
        # workers restart every epoch so that they see the dataset's current epoch
        "persistent_workers": False,
    }
    train_loader = DataLoader(
        train_set, batch_size=settings.batch_size // world, sampler=sampler, **loader_options
    )
    # every process validates the whole set (small) so validation numbers never depend on padding
    validation_loader = (
        DataLoader(validation_set, batch_size=settings.batch_size, **loader_options)
        if validation_set is not None
        else None
    )
    last = folder / "checkpoints" / "last.ckpt"
    module = StageModule(model, stage, settings.objective, folder / DIAGNOSTICS_FILE)
    resume_from = last if resume and last.is_file() else None
    trainer.fit(module, train_loader, validation_loader, ckpt_path=resume_from)
    if trainer.interrupted or trainer.current_epoch < stage.epochs:
        # never mark an interrupted stage done: resuming must continue it from last.ckpt
        raise RuntimeError(f"stage {stage.name!r} stopped at epoch {trainer.current_epoch}")
    return trainer.is_global_zero
