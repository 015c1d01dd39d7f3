"""Training and evaluation of STA-LSTM on Lightning.

- ``schedule``: the schedule as data (stages naming what trains, how long, how, on which model);
  ``paper_schedule`` and ``end_to_end_schedule``.
- ``lightning_module``: one stage as a ``LightningModule``.
- ``engine.fit``: train on given torch Datasets (the lower-level API).
- ``recipes``: validated YAML recipes; ``runner``: ``train``, ``evaluate``, ``cross_validate``,
  ``ablate`` over prepared data; ``evaluation``: metrics, confusion matrix, per-clip scores, curves.
"""

from stalstm.training.engine import FitResult, TrainingSettings, fit
from stalstm.training.schedule import (
    OptimiserSettings,
    Schedule,
    Stage,
    end_to_end_schedule,
    paper_schedule,
)

__all__ = [
    "FitResult",
    "OptimiserSettings",
    "Schedule",
    "Stage",
    "TrainingSettings",
    "end_to_end_schedule",
    "fit",
    "paper_schedule",
]
