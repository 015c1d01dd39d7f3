"""One training of the DDP test: run by ``torchrun --nproc_per_node 2`` (global batch 8 as two
halves of 4) or by plain ``python`` (one process, batch 8); dropout 0, so both must end with
the same weights. Writes ``weights-rank<R>.safetensors`` per process and, on rank 0, the test
metrics to ``metrics.json`` in the folder given as the only argument."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: run as a script
from helpers.training_data import LiftedJointClips, tiny_config
from stalstm.dataset import collate_clips
from stalstm.training.engine import TrainingSettings, fit
from stalstm.training.evaluation import accuracy_metrics, predict
from stalstm.training.schedule import OptimiserSettings, Schedule, Stage

logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)


def main(out: Path) -> None:
    torch.set_num_threads(1)
    schedule = Schedule(
        (
            Stage(
                "first", ("main", "temporal"), 2, optimiser=OptimiserSettings(learning_rate=5e-3)
            ),
            Stage("second", ("main", "spatial", "temporal"), 2),
        )
    )
    settings = TrainingSettings(schedule=schedule, batch_size=8, seed=5, validate_every=2,
                                progress_bar=False)  # fmt: skip
    train_set, test_set = LiftedJointClips(32, seed=0), LiftedJointClips(12, seed=1)
    result = fit(tiny_config("sta", dropout=0.0), train_set, out / "run", settings, test_set,
                 collate=collate_clips)  # fmt: skip
    rank = int(os.environ.get("RANK", "0"))
    state = {name: t.contiguous() for name, t in result.model.state_dict().items()}
    save_file(state, str(out / f"weights-rank{rank}.safetensors"))
    if rank == 0:
        metrics = accuracy_metrics(predict(result.model, test_set, collate=collate_clips), 3)
        (out / "metrics.json").write_text(json.dumps(metrics))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
