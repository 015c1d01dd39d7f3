"""The Lightning wrapper of one training stage: which parts train, the objective, the optimiser.

Lightning owns devices, distributed data parallel, checkpoints, logging and the progress bar;
this module only says what one step computes. Frozen parts have ``requires_grad`` False AND stay
in eval mode (Lightning calls ``train()`` at every epoch start; ``train`` below puts the frozen
parts back), so a frozen main network also runs without dropout, as it will at test time.
"""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor
from torchmetrics.classification import MulticlassAccuracy

from stalstm.model import STALSTM
from stalstm.objective import ObjectiveConfig, predictions, regularised_loss
from stalstm.training.schedule import Stage


class StageModule(L.LightningModule):
    """Trains the parts ``stage.train`` of ``model`` under the regularised objective."""

    def __init__(self, model: STALSTM, stage: Stage, objective: ObjectiveConfig) -> None:
        super().__init__()
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

    def train(self, mode: bool = True) -> StageModule:
        super().train(mode)
        parts = self.model.parts()
        for name in self.frozen_parts:
            parts[name].eval()
        return self

    def training_step(self, batch: dict, batch_index: int) -> Tensor:
        output = self.model(batch["joints"], batch["mask"])
        terms = regularised_loss(output, batch["labels"], self.model, self.objective)
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
        if not settings.cosine_decay:
            return {"optimizer": optimiser}
        decay = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=self.stage.epochs)
        return {"optimizer": optimiser, "lr_scheduler": {"scheduler": decay, "interval": "epoch"}}
