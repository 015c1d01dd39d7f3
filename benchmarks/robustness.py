"""Does STA-LSTM train reliably? The demo task over many seeds and float-rounding perturbations.

For every seed (each seed draws new synthetic data and a new initialisation) and every variant
(STA-LSTM and the plain LSTM by default), the demo's training (``stalstm.demo.train_variant``,
the engine every recipe uses) runs once as is and once under each perturbation that should only
change float rounding or the order of the same computation:

- ``base``: one torch thread, the clips in the generator's order;
- ``threads``: two torch threads (the matrix products split their sums differently);
- ``order``: the same training clips in reverse order, so the seeded sampler forms other
  batches from the same data.

A run succeeds when its held-out accuracy is >= 0.95 (the demo task is learnable: the plain
LSTM reaches ~0.99). The table gives each variant's success rate, median and worst accuracy for
each perturbation and over all runs, and STA minus LSTM paired by seed and perturbation. Every run
is a separate worker process; ``--parallel`` of them at a time, except that two-thread runs only
run when nothing else does, so that they get their two cores. Each run leaves ``result.json`` in
its folder under ``--out``; run again with the same ``--out`` (and settings), an interrupted
benchmark trains only the runs that have none.

    python benchmarks/robustness.py                       # 10 seeds x 3 perturbations x 2 variants
    python benchmarks/robustness.py --seeds 0 1 2 --perturbations base --variants sta
    python benchmarks/robustness.py --set joint_stage_epochs=8   # any DemoSettings field (YAML)
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

SUCCESS = 0.95
PERTURBATIONS = ("base", "threads", "order")
RESULT_FILE = "result.json"


@dataclass(frozen=True)
class Run:
    variant: str
    seed: int
    perturbation: str
    overrides: tuple[tuple[str, Any], ...]
    out: str


def run_one(run: Run) -> dict[str, Any]:
    """Train and evaluate one (variant, seed, perturbation) in this (worker) process."""
    import torch

    from stalstm.demo import DemoSettings, attention_concentration, demo_data, train_variant

    torch.set_num_threads(2 if run.perturbation == "threads" else 1)
    torch.set_flush_denormal(True)  # as run_demo does
    settings = replace(DemoSettings(progress_bar=False, seed=run.seed), **dict(run.overrides))
    train_clips, test_clips = demo_data(settings)
    if run.perturbation == "order":
        train_clips = train_clips[::-1]
    started = time.perf_counter()
    _, evaluation, warnings = train_variant(settings, run.variant, train_clips, test_clips, run.out)
    attention = attention_concentration(evaluation, test_clips)
    result = {
        "variant": run.variant,
        "seed": run.seed,
        "perturbation": run.perturbation,
        "accuracy": evaluation.accuracy,
        **attention,
        "warnings": warnings,
        "seconds": round(time.perf_counter() - started, 1),
        "overrides": [list(item) for item in run.overrides],
    }
    Path(run.out).mkdir(parents=True, exist_ok=True)
    (Path(run.out) / RESULT_FILE).write_text(json.dumps(result, indent=1) + "\n")
    return result


def finished(run: Run) -> dict[str, Any] | None:
    """The result an earlier invocation left for this run, if it had the same overrides."""
    path = Path(run.out) / RESULT_FILE
    if not path.is_file():
        return None
    result = json.loads(path.read_text())
    if result.get("overrides") != [list(item) for item in run.overrides]:
        raise SystemExit(f"{path} was trained with other settings ({result.get('overrides')})")
    return result


def run_all(runs: list[Run], parallel: int) -> list[dict[str, Any]]:
    import multiprocessing

    results = []
    todo = []
    for run in runs:
        result = finished(run)
        if result is None:
            todo.append(run)
        else:
            _print_run(result, " (earlier)")
            results.append(result)
    single = [run for run in todo if run.perturbation != "threads"]
    threaded = [run for run in todo if run.perturbation == "threads"]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max(1, parallel), mp_context=context) as pool:
        for result in pool.map(run_one, single):
            _print_run(result)
            results.append(result)
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        for result in pool.map(run_one, threaded):
            _print_run(result)
            results.append(result)
    return results


def _print_run(result: dict[str, Any], note: str = "") -> None:
    flag = "" if result["accuracy"] >= SUCCESS else "  FAILED"
    print(
        f"  {result['variant']:>4} seed {result['seed']:>2} {result['perturbation']:<8} "
        f"accuracy {result['accuracy']:.4f}  ({result['seconds']:.0f} s){note}{flag}",
        flush=True,
    )


def summarise(results: list[dict[str, Any]]) -> str:
    lines = [
        "| variant | perturbation | runs | success (acc >= 0.95) | median | worst |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    variants = sorted({r["variant"] for r in results}, key=lambda v: ("sta", "lstm").index(v)
                      if v in ("sta", "lstm") else 9)  # fmt: skip
    perturbations = [p for p in PERTURBATIONS if any(r["perturbation"] == p for r in results)]
    for variant in variants:
        for perturbation in [*perturbations, "all"]:
            chosen = [
                r["accuracy"]
                for r in results
                if r["variant"] == variant and perturbation in ("all", r["perturbation"])
            ]
            if not chosen:
                continue
            wins = sum(a >= SUCCESS for a in chosen)
            lines.append(
                f"| {variant} | {perturbation} | {len(chosen)} | {wins}/{len(chosen)} "
                f"| {statistics.median(chosen):.4f} | {min(chosen):.4f} |"
            )
    by_key = {(r["variant"], r["seed"], r["perturbation"]): r["accuracy"] for r in results}
    pairs = [
        by_key[("sta", seed, perturbation)] - by_key[("lstm", seed, perturbation)]
        for (variant, seed, perturbation) in by_key
        if variant == "sta" and ("lstm", seed, perturbation) in by_key
    ]
    if len(pairs) >= 2:
        mean = statistics.mean(pairs)
        error = statistics.stdev(pairs) / len(pairs) ** 0.5
        lines.append(
            f"\nSTA - LSTM accuracy, paired by seed and perturbation ({len(pairs)} pairs): "
            f"mean {100 * mean:+.2f} +/- {100 * error:.2f} points (standard error), "
            f"median {100 * statistics.median(pairs):+.2f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--variants", nargs="+", default=["sta", "lstm"])
    parser.add_argument("--perturbations", nargs="+", default=list(PERTURBATIONS),
                        choices=PERTURBATIONS)  # fmt: skip
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="a DemoSettings field (value read as YAML)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None, help="keep runs and results.json here")
    arguments = parser.parse_args()
    overrides = []
    for item in arguments.set:
        key, _, value = item.partition("=")
        overrides.append((key, yaml.safe_load(value)))
    out = arguments.out or Path(tempfile.mkdtemp(prefix="stalstm-robustness-"))
    runs = [
        Run(variant, seed, perturbation, tuple(overrides),
            str(out / f"{variant}-seed-{seed}-{perturbation}"))
        for perturbation in arguments.perturbations
        for seed in arguments.seeds
        for variant in arguments.variants
    ]  # fmt: skip
    print(f"{len(runs)} runs ({arguments.parallel} at a time) into {out}; overrides {overrides}")
    started = time.perf_counter()
    results = run_all(runs, arguments.parallel)
    table = summarise(results)
    print(f"\n{table}\n\n{time.perf_counter() - started:.0f} s in all")
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(
        json.dumps({"overrides": overrides, "runs": results}, indent=1) + "\n"
    )


if __name__ == "__main__":
    main()
