"""Does STA-LSTM train reliably? The demo task over many seeds and float-rounding perturbations.

For every seed (each seed draws new synthetic data and a new initialisation) and every variant
(STA-LSTM and the plain LSTM by default), the ``demo`` recipe (``stalstm.demo.train_variant``:
the training pipeline every recipe runs) trains once as is and once under each perturbation that
should only change float rounding or the order of the same computation:

- ``base``: one torch thread, the clips in the generator's order;
- ``threads``: two torch threads while training (``training.threads=2``: the matrix products
  split their sums differently);
- ``order``: the same training clips in reverse order
  (``data.options.reverse_training_order=true``), so the seeded sampler forms other batches.

A run succeeds when its held-out accuracy is >= 0.95 (the demo task is learnable: the plain
LSTM reaches ~0.99). The table gives each variant's success rate, median and worst accuracy for
each perturbation and over all runs, and STA minus LSTM paired by seed and perturbation. Every run
is a separate worker process; ``--parallel`` of them at a time, except that two-thread runs only
run when nothing else does, so that they get their two cores. Each run leaves ``result.json`` in
its folder under ``--out``; run again with the same ``--out`` (and settings), an interrupted
benchmark trains only the runs that have none.

    python benchmarks/robustness.py                       # 10 seeds x 3 perturbations x 2 variants
    python benchmarks/robustness.py --seeds 0 1 2 --perturbations base --variants sta
    python benchmarks/robustness.py --set model.temporal_bias=0.5   # any demo recipe key
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stalstm.training.comparison import paired_by_key

SUCCESS = 0.95
PERTURBATIONS = {  # what each perturbation changes in the demo recipe
    "base": [],
    "threads": ["training.threads=2"],
    "order": ["data.options.reverse_training_order=true"],
}
RESULT_FILE = "result.json"


@dataclass(frozen=True)
class Run:
    variant: str
    seed: int
    perturbation: str
    overrides: tuple[str, ...]
    out: str


def run_one(run: Run) -> dict[str, Any]:
    """Train and evaluate one (variant, seed, perturbation) in this (worker) process."""
    import shutil

    from stalstm.demo import demo_recipe, train_variant

    overrides = [f"training.seed={run.seed}", *PERTURBATIONS[run.perturbation], *run.overrides]
    shutil.rmtree(run.out, ignore_errors=True)  # unfinished: start afresh
    started = time.perf_counter()
    trained = train_variant(demo_recipe(overrides), run.variant, run.out, progress_bar=False)
    result = {
        "variant": run.variant,
        "seed": run.seed,
        "perturbation": run.perturbation,
        "accuracy": trained.evaluation.accuracy,
        **trained.attention,
        "warnings": trained.summary["warnings"],
        "seconds": round(time.perf_counter() - started, 1),
        "overrides": list(run.overrides),
    }
    (Path(run.out) / RESULT_FILE).write_text(json.dumps(result, indent=1) + "\n")
    return result


def finished(run: Run) -> dict[str, Any] | None:
    """The result an earlier invocation left for this run, if it had the same overrides."""
    path = Path(run.out) / RESULT_FILE
    if not path.is_file():
        return None
    result = json.loads(path.read_text())
    if result.get("overrides") != list(run.overrides):
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
    threaded = [run for run in todo if run.perturbation == "threads"]  # alone: two cores each
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

    def accuracies(variant: str) -> dict[tuple, float]:
        return {(r["seed"], r["perturbation"]): r["accuracy"] for r in results
                if r["variant"] == variant}  # fmt: skip

    paired = paired_by_key(accuracies("sta"), accuracies("lstm"))
    if paired is not None and paired.pairs >= 2:
        lines.append(
            f"\nSTA - LSTM accuracy, paired by seed and perturbation: "
            f"{paired.describe(scale=100, unit=' points')}, median {100 * paired.median:+.2f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--variants", nargs="+", default=["sta", "lstm"])
    parser.add_argument("--perturbations", nargs="+", default=list(PERTURBATIONS),
                        choices=list(PERTURBATIONS))  # fmt: skip
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a key of the demo recipe (value read as YAML)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=None, help="keep runs and results.json here")
    arguments = parser.parse_args()
    overrides = list(arguments.set)
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
