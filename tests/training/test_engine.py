"""The engine: frozen parts really are frozen, and a killed-and-resumed run trains exactly the
epochs the kill left and ends with the weights of an uninterrupted one, inside a stage and across
a stage boundary."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import torch
from helpers.training_data import LiftedJointClips, tiny_config
from lightning.pytorch.callbacks import Callback

from stalstm.dataset import collate_clips
from stalstm.objective import ObjectiveConfig
from stalstm.training.engine import DONE_FILE, EPOCHS_PER_STAGE_LIMIT, TrainingSettings, fit
from stalstm.training.lightning_module import StageModule
from stalstm.training.schedule import OptimiserSettings, Schedule, Stage, end_to_end_schedule


class KilledError(Exception):
    """Stands for the process being killed."""


class KillAfter(Callback):
    """Raises at the end of one epoch of one stage, before the checkpoint of that epoch's end is
    written (Lightning runs ModelCheckpoint last), as a kill at that moment would leave things.
    An epoch that validates has saved ``last.ckpt`` already, after its validation."""

    def __init__(self, stage_name: str, epoch: int) -> None:
        self.stage_name = stage_name
        self.epoch = epoch

    def on_train_epoch_end(self, trainer: L.Trainer, module: StageModule) -> None:
        if module.stage.name == self.stage_name and trainer.current_epoch == self.epoch:
            raise KilledError


def two_stage_settings() -> TrainingSettings:
    """Main + temporal first, then everything at a lower rate, with an l1 term and dropout."""
    schedule = Schedule(
        (
            Stage("first", ("main", "temporal"), 3, optimiser=OptimiserSettings()),
            Stage("second", ("main", "spatial", "temporal"), 3,
                  optimiser=OptimiserSettings(learning_rate=5e-4)),
        )
    )  # fmt: skip
    return TrainingSettings(
        schedule=schedule, objective=ObjectiveConfig(), batch_size=8, seed=3,
        validate_every=2, progress_bar=False,
    )  # fmt: skip


def weights(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}


def test_frozen_parts_get_no_gradient_and_stay_in_eval_mode():
    from stalstm.model import build_model

    model = build_model(tiny_config("sta"))
    module = StageModule(model, Stage("main only", ("main",), 1), ObjectiveConfig())
    module.train()
    parts = model.parts()
    assert parts["main"].training
    assert not parts["spatial"].training and not parts["temporal"].training
    assert all(p.requires_grad for p in parts["main"].parameters())
    assert not any(p.requires_grad for p in parts["spatial"].parameters())
    assert not any(p.requires_grad for p in parts["temporal"].parameters())
    optimiser = module.configure_optimizers()["optimizer"]
    optimised = {id(p) for group in optimiser.param_groups for p in group["params"]}
    assert optimised == {id(p) for p in parts["main"].parameters()}


def test_a_stage_naming_a_part_the_model_lacks_is_refused():
    from stalstm.model import build_model

    with pytest.raises(ValueError, match="does not have"):
        StageModule(
            build_model(tiny_config("lstm")), Stage("x", ("spatial",), 1), ObjectiveConfig()
        )


def test_fit_learns_and_leaves_checkpoints_logs_and_finished_stages(tmp_path: Path, clips):
    train_set, validation_set = clips
    settings = TrainingSettings(
        schedule=end_to_end_schedule(30, OptimiserSettings(learning_rate=1e-2)),
        batch_size=8, validate_every=10, progress_bar=False,
    )  # fmt: skip
    result = fit(tiny_config("ta", dropout=0.0), train_set, tmp_path, settings, validation_set,
                 collate=collate_clips)  # fmt: skip
    folder = result.stage_folders[0]
    for name in ("checkpoints/last.ckpt", "checkpoints/best.ckpt", "logs/metrics.csv", DONE_FILE):
        assert (folder / name).is_file(), name
    assert list((folder / "logs").glob("events.out.tfevents.*"))
    batch = collate_clips([validation_set[i] for i in range(len(validation_set))])
    with torch.no_grad():
        predicted = result.model(batch["joints"], batch["mask"]).logits.argmax(dim=1)
    assert (predicted == batch["labels"]).float().mean() >= 0.9


class RecordEpochs(Callback):
    """The (stage, epoch) pairs that start training, in order."""

    def __init__(self) -> None:
        self.pairs: list[tuple[str, int]] = []

    def on_train_epoch_start(self, trainer: L.Trainer, module: StageModule) -> None:
        self.pairs.append((module.stage.name, trainer.current_epoch))


FIRST = [("first", epoch) for epoch in range(3)]
SECOND = [("second", epoch) for epoch in range(3)]


@pytest.mark.parametrize(
    ("stage", "epoch", "ran_before", "ran_after"),
    [
        # killed inside a stage: the resumed run continues "first" from the last.ckpt of epoch
        # 1 (validating at its end, it has one), with the killed epoch 2
        ("first", 2, FIRST, FIRST[2:] + SECOND),
        # killed in the first epoch of the next stage: the finished stage is not trained again
        ("second", 0, FIRST + SECOND[:1], SECOND),
    ],
)
def test_a_resumed_run_trains_only_the_epochs_left_and_ends_with_the_uninterrupted_weights(
    tmp_path: Path,
    clips,
    stage: str,
    epoch: int,
    ran_before: list[tuple[str, int]],
    ran_after: list[tuple[str, int]],
):
    train_set, validation_set = clips
    config = tiny_config("sta", dropout=0.3)
    settings = two_stage_settings()
    uninterrupted = fit(config, train_set, tmp_path / "whole", settings, validation_set,
                        collate=collate_clips)  # fmt: skip

    before, after = RecordEpochs(), RecordEpochs()
    with pytest.raises(KilledError):
        fit(config, train_set, tmp_path / "killed", settings, validation_set,
            collate=collate_clips, callbacks=[before, KillAfter(stage, epoch)])  # fmt: skip
    resumed = fit(config, train_set, tmp_path / "killed", settings, validation_set,
                  resume=True, collate=collate_clips, callbacks=[after])  # fmt: skip

    assert before.pairs == ran_before
    assert after.pairs == ran_after  # exactly the epochs the kill left, none twice
    expected, actual = weights(uninterrupted.model), weights(resumed.model)
    assert expected.keys() == actual.keys()
    for name in expected:
        assert torch.equal(expected[name], actual[name]), name


def test_each_epoch_of_each_stage_tells_the_dataset_a_distinct_epoch(tmp_path: Path):
    class RecordingClips(LiftedJointClips):
        def __init__(self) -> None:
            super().__init__(16, seed=0)
            self.epochs: list[int] = []

        def set_epoch(self, epoch: int) -> None:
            self.epochs.append(epoch)

    dataset = RecordingClips()
    schedule = Schedule((Stage("a", ("main",), 2), Stage("b", ("main", "temporal"), 1)))
    fit(tiny_config("ta"), dataset, tmp_path, TrainingSettings(schedule=schedule, batch_size=8,
        progress_bar=False), collate=collate_clips)  # fmt: skip
    assert dataset.epochs == [0, 1, EPOCHS_PER_STAGE_LIMIT]  # stage b's first epoch: its own


def test_fit_trains_with_the_settings_threads_and_gives_the_old_count_back(tmp_path: Path):
    class RecordThreads(Callback):
        def __init__(self) -> None:
            self.threads: list[int] = []

        def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:
            self.threads.append(torch.get_num_threads())

    recorder = RecordThreads()
    torch.set_num_threads(1)
    settings = TrainingSettings(schedule=end_to_end_schedule(1), batch_size=8, threads=2,
                                progress_bar=False)  # fmt: skip
    fit(tiny_config("lstm"), LiftedJointClips(16, seed=0), tmp_path, settings,
        collate=collate_clips, callbacks=[recorder])  # fmt: skip
    assert recorder.threads == [2, 2]
    assert torch.get_num_threads() == 1
