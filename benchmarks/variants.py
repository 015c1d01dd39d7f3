"""Does attention pay? STA-LSTM, SA-LSTM, TA-LSTM and the plain LSTM, paired by seed and fold.

For each recipe, every (variant, seed) is one ``stalstm train`` (a single train/test split:
``msr-cs``, ``utd-mhad-cs``) or one ``stalstm cv`` (``sbu``: five folds) with
``--set model.variant=V --set training.seed=S``, the recipe's settings otherwise, the model after
the last epoch. The table gives each variant's top-1 per seed (the mean over folds for ``cv``)
and its mean, then its difference to the plain LSTM paired by (seed, fold): mean, standard error
of the paired differences and how many pairs were better / worse. Runs go to
``OUT/<short>-<variant>-<seed>`` (``short``: sbu, msr, utd); a run with a ``summary.json``
there is not trained again, so an interrupted benchmark continues where it stopped, and
``--table-only`` prints the table of what is there.

    python benchmarks/variants.py --recipes sbu msr-cs utd-mhad-cs --out runs/variants
    python benchmarks/variants.py --recipes utd-mhad-cs --variants sta lstm --seeds 0 1 2 --out ...

``--parallel`` runs at a time (each one process with one torch thread; ``cv`` runs its folds
one after another inside its slot). Data folders: ``--data-root`` (default ``$STALSTM_DATA`` or
``../shared/data``) holding the data sets under their usual names.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

RECIPES = {
    # recipe: (short name, data folder, command)
    "sbu": ("sbu", "sbu_kinect_interaction", "cv"),
    "msr-cs": ("msr", "msr_action3d", "train"),
    "utd-mhad-cs": ("utd", "utd_mhad_skeleton", "train"),
}
VARIANTS = ("sta", "sa", "ta", "lstm")


def run_folder(out: Path, recipe: str, variant: str, seed: int) -> Path:
    return out / f"{RECIPES[recipe][0]}-{variant}-{seed}"


def command(recipe: str, variant: str, seed: int, data_root: Path, folder: Path) -> list[str]:
    _, data, verb = RECIPES[recipe]
    line = [sys.executable, "-m", "stalstm", verb, "--recipe", recipe,
            "--data", str(data_root / data), "--out", str(folder),
            "--set", f"model.variant={variant}", "--set", f"training.seed={seed}"]  # fmt: skip
    return [*line, "--parallel", "1"] if verb == "cv" else line


def train(job: tuple[list[str], Path]) -> None:
    line, folder = job
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_suffix(".log"), "w") as log:
        finished = subprocess.run(line, stdout=log, stderr=subprocess.STDOUT, check=False)
    state = "done" if finished.returncode == 0 else f"FAILED ({finished.returncode})"
    print(f"  {folder.name}: {state}", flush=True)


def scores(folder: Path) -> list[float] | None:
    """Top-1 per fold (cv) or the one top-1 (train), in %; None when the run is not there."""
    path = folder / "summary.json"
    if not path.is_file():
        return None
    summary = json.loads(path.read_text())
    values = summary["folds"] if "folds" in summary else [summary["top1"]]
    return [100 * value for value in values]


def table(out: Path, recipe: str, variants: list[str], seeds: list[int]) -> str:
    lines = [
        f"{recipe}: top-1 % (mean over folds for cv), the model after the last epoch",
        "",
        "| variant | " + " | ".join(f"seed {seed}" for seed in seeds)
        + " | mean | minus LSTM, paired (mean +/- s.e.) | pairs better / worse |",
        "| --- | " + " | ".join("---:" for _ in seeds) + " | ---: | ---: | ---: |",
    ]  # fmt: skip
    for variant in variants:
        per_seed = [scores(run_folder(out, recipe, variant, seed)) for seed in seeds]
        if not any(per_seed):
            continue
        means = [statistics.mean(values) if values else None for values in per_seed]
        cells = " | ".join(f"{mean:.1f}" if mean is not None else "-" for mean in means)
        present = [mean for mean in means if mean is not None]
        differences = []
        for seed, values in zip(seeds, per_seed, strict=True):
            reference = scores(run_folder(out, recipe, "lstm", seed))
            if values and reference and variant != "lstm":
                differences += [a - b for a, b in zip(values, reference, strict=True)]
        if len(differences) >= 2:
            error = statistics.stdev(differences) / len(differences) ** 0.5
            paired = f"{statistics.mean(differences):+.2f} +/- {error:.2f}"
            counts = (
                f"{sum(d > 0 for d in differences)} / {sum(d < 0 for d in differences)} "
                f"of {len(differences)}"
            )
        else:
            paired = counts = ""
        lines.append(
            f"| {variant} | {cells} | {statistics.mean(present):.1f} | {paired} | {counts} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument(
        "--data-root",
        type=Path,
        default=Path(os.environ.get("STALSTM_DATA", "../shared/data")),
    )
    parser.add_argument("--table-only", action="store_true", help="train nothing")
    arguments = parser.parse_args()
    variants = list(dict.fromkeys([*arguments.variants, "lstm"]))  # the reference is needed
    jobs = [
        (command(recipe, variant, seed, arguments.data_root, folder), folder)
        for recipe in arguments.recipes
        for seed in arguments.seeds
        for variant in variants
        if not (folder := run_folder(arguments.out, recipe, variant, seed))
        .joinpath("summary.json")
        .is_file()
    ]
    if jobs and not arguments.table_only:
        print(f"{len(jobs)} runs to train ({arguments.parallel} at a time) into {arguments.out}")
        with ThreadPoolExecutor(max(1, arguments.parallel)) as pool:
            list(pool.map(train, jobs))
    for recipe in arguments.recipes:
        print("\n" + table(arguments.out, recipe, variants, arguments.seeds))


if __name__ == "__main__":
    main()
