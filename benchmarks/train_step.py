"""Training steps per second at the NTU RGB+D shape, three ways, measured in one run.

    (a) the vectorised STA-LSTM of ``stalstm.model`` (fused full-sequence LSTM calls)
    (b) the per-time-step reference of ``tests/reference_model.py`` (LSTM cells in a Python loop
        over frames), trained with the same parameters
    (b') for information: the same per-step loop with one stacked matmul per LSTM cell instead
        of one per gate, i.e. about the fastest a Python loop over time gets; the issue's target
        is stated against (b), this row shows how much of the margin the loop itself accounts for
    (c) a plain 3-layer ``nn.LSTM`` of the same width + a linear layer: the cost floor of any
        LSTM classifier of this size

One training step = forward + loss + backward + Adam step; (a) and (b) use the regularised
objective with its default lambdas, (c) plain cross-entropy. The shape is batch 64, 100 frames,
50 joints x 3 coordinates (two persons), 60 classes, 3 x 100 main units; random data with random
valid lengths (every model still reads all 100 padded frames, as in training).

The contenders are interleaved: every round runs a block of steps of each, in a rotating order,
so that load from other processes hits all three alike. Reported: the median over rounds of the
time per step, and the median over rounds of each round's ratios.

Targets (issue 2): (a) >= 2x the steps/s of (b); time(a) <= 2.2x time(c).

    python benchmarks/train_step.py                  # default: 1 thread, 24 rounds x 1 step
    python benchmarks/train_step.py --threads 2 --rounds 40 --json /tmp/train_step.json
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from stalstm import ObjectiveConfig, STALSTMConfig, build_model, regularised_loss

REPOSITORY = Path(__file__).resolve().parents[1]
BATCH, FRAMES, JOINTS, COORDS, CLASSES, MAIN_HIDDEN, MAIN_LAYERS = 64, 100, 50, 3, 60, 100, 3
TARGET_SPEEDUP_OVER_REFERENCE = 2.0
TARGET_TIME_OVER_PLAIN_LSTM = 2.2


def load_reference_module():
    """tests/reference_model.py, imported by path (tests/ is not a package)."""
    path = REPOSITORY / "tests" / "reference_model.py"
    spec = importlib.util.spec_from_file_location("reference_model", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def stacked_gate_cell_type(reference_module):
    """An LSTM cell computing the same equations as the reference's, with the four gates from
    one stacked matmul per input (PyTorch's order i, f, g, o) rather than one per gate."""

    class StackedGateLSTMCell(reference_module.LSTMCellByHand):
        def forward(self, x: Tensor, h: Tensor, c: Tensor) -> tuple[Tensor, Tensor]:
            gates = (
                x @ self.weight_input.T
                + self.bias_input
                + h @ self.weight_hidden.T
                + self.bias_hidden
            )
            input_gate, forget_gate, candidate, output_gate = gates.chunk(4, dim=1)
            c_next = torch.sigmoid(forget_gate) * c + torch.sigmoid(input_gate) * torch.tanh(
                candidate
            )
            return torch.sigmoid(output_gate) * torch.tanh(c_next), c_next

    return StackedGateLSTMCell


class PlainLSTMClassifier(nn.Module):
    """The baseline: 3 x 100 LSTM units and a linear layer giving per-frame class scores, summed
    over the valid frames (what the ``lstm`` variant computes, without any of its machinery)."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            JOINTS * COORDS, MAIN_HIDDEN, num_layers=MAIN_LAYERS, dropout=0.5, batch_first=True
        )
        self.classifier = nn.Linear(MAIN_HIDDEN, CLASSES)

    def forward(self, joints: Tensor, mask: Tensor) -> Tensor:
        hidden, _ = self.lstm(joints.flatten(2))  # (B, T, H)
        frame_scores = self.classifier(hidden)  # (B, T, N)
        return torch.einsum("bt,btn->bn", mask.to(frame_scores.dtype), frame_scores)


def training_steps(joints: Tensor, mask: Tensor, targets: Tensor) -> dict[str, Callable[[], None]]:
    """One closure per contender, each running one full training step on the same batch."""
    torch.manual_seed(0)
    config = STALSTMConfig(
        num_joints=JOINTS,
        num_classes=CLASSES,
        num_coords=COORDS,
        main_hidden=MAIN_HIDDEN,
        main_layers=MAIN_LAYERS,
    )
    objective = ObjectiveConfig()

    vectorised = build_model(config).train()
    vectorised_optimiser = torch.optim.Adam(vectorised.parameters(), lr=1e-3)

    # Each reference holds the parameters of its own copy of the same initial model.
    reference_module = load_reference_module()
    reference_source = copy.deepcopy(vectorised)
    reference = reference_module.ReferenceSTALSTM(reference_source)
    reference_optimiser = torch.optim.Adam(reference.parameters(), lr=1e-3)
    stacked_source = copy.deepcopy(vectorised)
    stacked = reference_module.ReferenceSTALSTM(
        stacked_source, cell=stacked_gate_cell_type(reference_module)
    )
    stacked_optimiser = torch.optim.Adam(stacked.parameters(), lr=1e-3)
    check_same_function(vectorised, [reference, stacked], joints, mask)

    plain = PlainLSTMClassifier().train()
    plain_optimiser = torch.optim.Adam(plain.parameters(), lr=1e-3)

    def vectorised_step() -> None:
        loss = regularised_loss(vectorised(joints, mask), targets, vectorised, objective).total
        vectorised_optimiser.zero_grad(set_to_none=True)
        loss.backward()
        vectorised_optimiser.step()

    def reference_step() -> None:
        # The objective reads the variant's branches from the model whose parameters it holds.
        loss = regularised_loss(reference(joints, mask), targets, reference_source, objective)
        reference_optimiser.zero_grad(set_to_none=True)
        loss.total.backward()
        reference_optimiser.step()

    def stacked_step() -> None:
        loss = regularised_loss(stacked(joints, mask), targets, stacked_source, objective)
        stacked_optimiser.zero_grad(set_to_none=True)
        loss.total.backward()
        stacked_optimiser.step()

    def plain_step() -> None:
        loss = F.cross_entropy(plain(joints, mask), targets)
        plain_optimiser.zero_grad(set_to_none=True)
        loss.backward()
        plain_optimiser.step()

    return {
        "(a) vectorised STA-LSTM": vectorised_step,
        "(b) per-step reference": reference_step,
        "(b') per-step, stacked gates": stacked_step,
        "(c) plain 3-layer nn.LSTM": plain_step,
    }


def check_same_function(
    vectorised: nn.Module, references: list[nn.Module], joints: Tensor, mask: Tensor
) -> None:
    """Refuse to time models that do not compute the same logits (dropout off for the check)."""
    vectorised.eval()
    with torch.no_grad():
        expected = vectorised(joints, mask).logits
        for reference in references:
            torch.testing.assert_close(reference(joints, mask).logits, expected)
    vectorised.train()


def measure(
    steps: dict[str, Callable[[], None]], rounds: int, steps_per_round: int, warmup: int
) -> dict[str, list[float]]:
    """Seconds per step of each contender in each round, the contenders interleaved."""
    names = list(steps)
    for name in names:
        for _ in range(warmup):
            steps[name]()
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for round_index in range(rounds):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:  # rotate who goes first
            start = time.perf_counter()
            for _ in range(steps_per_round):
                steps[name]()
            seconds[name].append((time.perf_counter() - start) / steps_per_round)
        print(
            f"round {round_index + 1}/{rounds}: "
            + ", ".join(f"{name.split()[0]} {seconds[name][-1] * 1e3:.0f} ms" for name in names),
            file=sys.stderr,
            flush=True,
        )
    return seconds


def report(seconds: dict[str, list[float]], threads: int, rounds: int, steps: int) -> dict:
    vectorised, reference, stacked, plain = seconds.values()
    speedups = [b / a for a, b in zip(vectorised, reference, strict=True)]
    speedups_stacked = [b / a for a, b in zip(vectorised, stacked, strict=True)]
    time_ratios = [a / c for a, c in zip(vectorised, plain, strict=True)]
    summary = {
        "shape": {
            "batch": BATCH,
            "frames": FRAMES,
            "joints": JOINTS,
            "coords": COORDS,
            "classes": CLASSES,
            "main": f"{MAIN_LAYERS} x {MAIN_HIDDEN}",
        },
        "threads": threads,
        "rounds": rounds,
        "steps_per_round": steps,
        "torch": torch.__version__,
        "seconds_per_step_median": {name: statistics.median(s) for name, s in seconds.items()},
        "seconds_per_step_all_rounds": seconds,
        "speedup_vectorised_over_reference": statistics.median(speedups),
        "speedup_vectorised_over_stacked_gate_loop": statistics.median(speedups_stacked),
        "time_vectorised_over_plain_lstm": statistics.median(time_ratios),
    }

    print(
        f"\nTraining step (forward + loss + backward + Adam) at batch {BATCH}, {FRAMES} frames, "
        f"{JOINTS} joints x {COORDS}, {CLASSES} classes, main {MAIN_LAYERS} x {MAIN_HIDDEN}; "
        f"torch {torch.__version__}, {threads} thread(s), {rounds} rounds x {steps} steps"
    )
    print(f"{'model':28} {'ms/step':>9} {'steps/s':>8} {'fastest..slowest round (ms)':>28}")
    for name, values in seconds.items():
        median = statistics.median(values)
        spread = f"{min(values) * 1e3:.0f}..{max(values) * 1e3:.0f}"
        print(f"{name:28} {median * 1e3:9.1f} {1 / median:8.2f} {spread:>28}")
    speedup = summary["speedup_vectorised_over_reference"]
    time_ratio = summary["time_vectorised_over_plain_lstm"]
    speedup_ok = speedup >= TARGET_SPEEDUP_OVER_REFERENCE
    time_ok = time_ratio <= TARGET_TIME_OVER_PLAIN_LSTM
    print(f"\n{'ratio (median over rounds)':38} {'value':>6}  target")
    print(
        f"{'steps/s (a) / steps/s (b)':38} {speedup:6.2f}  >= {TARGET_SPEEDUP_OVER_REFERENCE}"
        f"  {'met' if speedup_ok else 'MISSED'}"
    )
    print(
        f"{'time (a) / time (c)':38} {time_ratio:6.2f}  <= {TARGET_TIME_OVER_PLAIN_LSTM}"
        f"  {'met' if time_ok else 'MISSED'}"
    )
    stacked_speedup = summary["speedup_vectorised_over_stacked_gate_loop"]
    stacked_label = "steps/s (a) / steps/s (b')"
    print(f"{stacked_label:38} {stacked_speedup:6.2f}  (information)")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--rounds", type=int, default=24, help="interleaved rounds")
    parser.add_argument("--steps", type=int, default=1, help="steps of each model per round")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps of each model")
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    joints = torch.randn(BATCH, FRAMES, JOINTS, COORDS, generator=generator)
    lengths = torch.randint(FRAMES // 2, FRAMES + 1, (BATCH, 1), generator=generator)
    mask = torch.arange(FRAMES)[None] < lengths  # (B, T)
    targets = torch.randint(0, CLASSES, (BATCH,), generator=generator)

    seconds = measure(training_steps(joints, mask, targets), args.rounds, args.steps, args.warmup)
    summary = report(seconds, args.threads, args.rounds, args.steps)
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
