"""Data parallel: a 2-process CPU (gloo) training launched by torchrun ends with the same
weights in both processes, and with the weights and metrics of a 1-process run on the same
global batch (which needs no distributed environment at all)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

WORKER = Path(__file__).resolve().parents[1] / "helpers" / "ddp_worker.py"


def run(command: list[str], cwd: Path) -> None:
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    for variable in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR"):
        environment.pop(variable, None)  # the single process must see no distributed setting
    finished = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True,
                              timeout=240)  # fmt: skip
    assert finished.returncode == 0, finished.stderr[-3000:]


def test_two_processes_agree_with_each_other_and_with_one_process(tmp_path: Path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    run([sys.executable, str(WORKER), str(one)], WORKER.parent)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone",
                "--nproc_per_node", "2"]  # fmt: skip
    run([*torchrun, str(WORKER), str(two)], WORKER.parent)

    single = load_file(str(one / "weights-rank0.safetensors"))
    rank0 = load_file(str(two / "weights-rank0.safetensors"))
    rank1 = load_file(str(two / "weights-rank1.safetensors"))
    assert single.keys() == rank0.keys() == rank1.keys()
    for name in single:
        assert torch.equal(rank0[name], rank1[name]), name
        # the same global batches; only the order of floating-point sums differs
        torch.testing.assert_close(rank0[name], single[name], rtol=1e-4, atol=1e-5)
    assert json.loads((one / "metrics.json").read_text()) == json.loads(
        (two / "metrics.json").read_text()
    )
