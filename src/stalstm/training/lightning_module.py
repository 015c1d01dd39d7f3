"""The Lightning wrapper of one training stage: which parts train, the objective, the optimiser.

Lightning owns devices, distributed data parallel, checkpoints, logging and the progress bar;
this module only says what one step computes. Frozen parts have ``requires_grad`` False AND stay
in eval mode (Lightning calls ``train()`` at every epoch start; ``train`` below puts the frozen
parts back), so a frozen main network also runs without dropout, as it will at test time.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import lightning as L
import torch
from torch import Tensor
from torchmetrics.classification import MulticlassAccuracy

from stalstm.model import STALSTM
from stalstm.objective import ObjectiveConfig, predictions, regularised_loss
from stalstm.training.diagnostics import (
    AttentionCollapseWarning,
    EpochDiagnostics,
    collapse_warnings,
    gradient_norms,
    read_diagnostics,
    write_diagnostics,
)
from stalstm.training.schedule import Stage


class StageModule(L.LightningModule):
    """Trains the parts ``stage.train`` of ``model`` under the regularised objective."""

    def __init__(
        self,
        model: STALSTM,
        stage: Stage,
        objective: ObjectiveConfig,
        diagnostics_file: Path | None = None,
    ) -> None:
        super().__init__()
        self.diagnostics_file = diagnostics_file
        self.model = model
        self.stage = stage
        self.objective = objective
        parts = model.parts()
        missing = [part for part in stage.train if part not in parts]
        if missing:
            raise ValueError(
                f"stage {stage.name!r} trains {missing}, which a {model.config.variant!r} "
                "model does not have"
            )
        self.frozen_parts = [name for name in parts if name not in stage.train]
        for name, part in parts.items():
            part.requires_grad_(name in stage.train)
        self.validation_accuracy = MulticlassAccuracy(
            num_classes=model.config.num_classes, average="micro"
        )
        self.epoch_diagnostics = EpochDiagnostics()
        # epoch -> row (see the diagnostics module); rows of a resumed stage's earlier epochs
        # come back from its file
        self.diagnostics, self.collapse_warnings = read_diagnostics(diagnostics_file)

    def train(self, mode: bool = True) -> StageModule:
        super().train(mode)
        parts = self.model.parts()
        for name in self.frozen_parts:
            parts[name].eval()
        return self

    def training_step(self, batch: dict, batch_index: int) -> Tensor:
        output = self.model(batch["joints"], batch["mask"])
        terms = regularised_loss(output, batch["labels"], self.model, self.objective)
        self._add_attention_diagnostics(batch, output)
        size = len(batch["labels"])
        self.log("train/loss", terms.total, on_step=False, on_epoch=True, batch_size=size)
        self.log_dict(
            {
                "train/cross_entropy": terms.cross_entropy,
                "train/spatial": terms.spatial,
                "train/temporal": terms.temporal,
                "train/l1": terms.l1,
            },
            on_step=False,
            on_epoch=True,
            batch_size=size,
        )
        predicted, expected = predictions(output, batch["labels"], self.objective)
        accuracy = (predicted == expected).float().mean()
        self.log("train/top1", accuracy, on_step=False, on_epoch=True, batch_size=size)
        return terms.total

    @torch.no_grad()
    def _add_attention_diagnostics(self, batch: dict, output) -> None:
        # X and Y as the model computes them (standardised, attended)
        joints = self.model.standardise(
            batch["joints"].masked_fill(~batch["mask"][:, :, None, None], 0.0)
        )
        main_input = (
            joints if output.alpha is None else self.model.attended_input(joints, output.alpha)
        )
        self.epoch_diagnostics.add_batch(output, joints, main_input)

    def on_train_epoch_start(self) -> None:
        self.epoch_diagnostics = EpochDiagnostics()

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        # before clipping: the norms the objective asked for, not what clipping let through
        trained = {name: part for name, part in self.model.parts().items()
                   if name in self.stage.train}  # fmt: skip
        self.epoch_diagnostics.add_gradients(gradient_norms(trained))

    def on_train_epoch_end(self) -> None:
        row = self.epoch_diagnostics.row()
        self.log_dict({f"diagnostics/{key}": value for key, value in row.items()})
        epoch = self.current_epoch
        self.diagnostics[epoch] = row
        for message in collapse_warnings(row, self.model.temporal_attention is not None):
            text = f"stage {self.stage.name!r}, epoch {epoch + 1}: {message}"
            if text in self.collapse_warnings:  # an epoch run again after a resume
                continue
            self.collapse_warnings.append(text)
            if self.trainer.is_global_zero:
                warnings.warn(text, AttentionCollapseWarning, stacklevel=1)
        if self.diagnostics_file is not None and self.trainer.is_global_zero:
            write_diagnostics(self.diagnostics_file, self.diagnostics, self.collapse_warnings)

    def validation_step(self, batch: dict, batch_index: int) -> None:
        output = self.model(batch["joints"], batch["mask"])
        terms = regularised_loss(output, batch["labels"], self.model, self.objective)
        self.validation_accuracy(*predictions(output, batch["labels"], self.objective))
        size = len(batch["labels"])
        self.log("val/loss", terms.total, batch_size=size, sync_dist=True)
        self.log("val/cross_entropy", terms.cross_entropy, batch_size=size, sync_dist=True)
        self.log("val/top1", self.validation_accuracy, batch_size=size)

    def configure_optimizers(self) -> dict:
        settings = self.stage.optimiser
        parameters = [p for p in self.model.parameters() if p.requires_grad]
        if settings.name == "sgd":
            optimiser: torch.optim.Optimizer = torch.optim.SGD(
                parameters,
                lr=settings.learning_rate,
                momentum=settings.momentum,
                weight_decay=settings.weight_decay,
            )
        else:
            algorithm = torch.optim.AdamW if settings.name == "adamw" else torch.optim.Adam
            optimiser = algorithm(
                parameters, lr=settings.learning_rate, weight_decay=settings.weight_decay
            )
        if settings.warmup_steps > 0:
            # a linear rise over the first steps, then (with cosine_decay) the cosine decay to 0
            # over the stage's steps, stepped every optimiser step
            warmup, cosine = settings.warmup_steps, settings.cosine_decay

            def factor(step: int) -> float:
                rise = min(1.0, (step + 1) / warmup)
                if not cosine or step == 0:  # step 0: the scheduler's own first call
                    return rise
                total = max(int(self.trainer.estimated_stepping_batches), 1)
                return rise * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / total))

            schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, factor)
            return {
                "optimizer": optimiser,
                "lr_scheduler": {"scheduler": schedule, "interval": "step"},
            }
        if not settings.cosine_decay:
            return {"optimizer": optimiser}
        decay = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=self.stage.epochs)
        return {"optimizer": optimiser, "lr_scheduler": {"scheduler": decay, "interval": "epoch"}}
