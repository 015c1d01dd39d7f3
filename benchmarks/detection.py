"""Detection benchmark: stalstm 0.3.0's detection defaults against 0.4.0's, and what each fix
contributes, paired by seed (``docs/detection-results.md``).

Parts (each one recipe and data set, every arm trained with seeds 0, 1, 2 by
``stalstm.tasks.train``, each run in its own process with its log):

- ``sfinge``: ``sfinge3d-detect``, the official protocol (trained on the Dictionary only,
  tested on the 72 recorded Sequences). Arms: ``0.3.0`` (held idle poses, one start
  threshold), ``0.4.0`` (idle time that moves), ``0.4.0 + shuffled + class thresholds``
  (also shuffled placements, 3,000 optimiser steps and per-class start thresholds; its runs
  also report the test with the common threshold, row ``0.4.0 + shuffled``, so the
  thresholds' contribution is paired on the same weights);
- ``odd``: the same recipe with ``data.protocol=dictionary+odd-sequences`` (31 odd Sequences in
  training, the 36 even ones tested);
- ``msr``: ``msr-detect`` (streams built from MSR Action3D, test subjects' streams built as in
  0.3.0 so that both versions meet the same test streams); 0.4.0's recipe holds the temporal
  gate open for the first 10 of the 60 epochs, and arm ``0.4.0, gate learnt from the start``
  learns it from the start as 0.3.0 did;
- ``generic``: ``generic-detect`` on a stream folder made of SFINGE3D's recorded Sequences 5-14
  (``train/``) and 63-72 (``test/``), raw coordinates, layout ``hand20``: a new user's small
  folder of real recordings.

Run folders (checkpoints and all) go to ``--runs`` (outside the repository); a run with a
``summary.json`` there is not trained again. ``--out`` receives, per run, ``summary.json``,
``metrics.json`` (the test), ``held-out-metrics.json``, ``recipe.yaml`` and ``train.log``, and
``tables.md`` with every table printed here.

    python benchmarks/detection.py --out results/detection --runs ../runs-detect/bench
    python benchmarks/detection.py --parts msr --seeds 0 1 2 --out ... --runs ...
    python benchmarks/detection.py --table-only --out results/detection --runs ...
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from stalstm.training.comparison import paired_difference

# the settings that stalstm 0.3.0's detection recipes had, as overrides of 0.4.0's
V030_BUILD = ["detection.build.idle=hold", "detection.build.placement=recorded"]
V030 = [*V030_BUILD, "detection.class_thresholds=false", "detection.steps=0",
        "schedule.kind=end-to-end", "schedule.epochs=60"]  # fmt: skip
# the options 0.4.0 offers but does not use by default, as the sfinge arm measures them
SHUFFLED = ["detection.build.placement=shuffled", "detection.steps=3000",
            "detection.class_thresholds=true"]  # fmt: skip
SHUFFLED_CLASSES = "0.4.0 + shuffled + class thresholds"
WANDER = "0.4.0, gate learnt from the start"
RAW = "0.4.0, raw coordinates"
V030_GENERIC = [*V030, "data.preset=none", "detection.build_from_segments=false",
                "detection.recorded_windows=0"]  # fmt: skip
PARTS = {
    "sfinge": {
        "recipe": "sfinge3d-detect",
        "data": "sfinge3d_v1",
        "base": [],
        "arms": {
            "0.3.0": V030,
            "0.4.0": [],
            SHUFFLED_CLASSES: SHUFFLED,
        },
    },
    "odd": {
        "recipe": "sfinge3d-detect",
        "data": "sfinge3d_v1",
        "base": ["data.protocol=dictionary+odd-sequences"],
        "arms": {"0.3.0": V030, "0.4.0": []},
    },
    "msr": {
        "recipe": "msr-detect",
        "data": "msr_action3d",
        "base": [],
        # WANDER: 0.4.0 with the temporal gate learnt from the start, as 0.3.0 learnt it
        "arms": {"0.3.0": V030, WANDER: ["schedule.kind=end-to-end"], "0.4.0": []},
    },
    "generic": {
        "recipe": "generic-detect",
        "data": None,  # made from SFINGE3D's Sequences by make_generic_folder
        "base": ["data.layout=hand20"],
        # RAW: 0.4.0 on the raw coordinates (preset none, as 0.3.0's recipe had)
        "arms": {"0.3.0": V030_GENERIC, RAW: ["data.preset=none"], "0.4.0": []},
    },
}
GENERIC_TRAIN = range(5, 15)  # the first 10 Sequences in a row that hold all 13 gestures
GENERIC_TEST = range(63, 73)  # and as test/
METRICS = [
    # key, header, scale, digits, higher is better
    ("detection_rate", "detected %", 100, 1, True),
    ("false_positives_per_stream", "FP / stream", 1, 2, False),
    ("jaccard", "Jaccard", 1, 3, True),
    ("frame_f1", "frame F1", 1, 3, True),
    ("map_iou_0.5", "mAP@0.5", 1, 3, True),
    ("sl", "SL", 1, 2, True),
    ("el", "EL", 1, 2, True),
    ("median_delay_frames", "median delay", 1, 0, False),
]
ONE_THRESHOLD = "0.4.0 + shuffled"  # the SHUFFLED_CLASSES runs' test with the common threshold


def make_generic_folder(data_root: Path, folder: Path) -> Path:
    """SFINGE3D's Sequences 5-14 and 63-72 as a bring-your-own stream folder (raw coordinates,
    frames from 0), written once."""
    from stalstm.readers.sfinge import SFINGE_CLASSES, read_sfinge_sequences
    from stalstm.readers.stream_folder import write_stream_folder

    if (folder / "test" / "segments.csv").is_file():
        return folder
    streams = {int(s.name): s for s in read_sfinge_sequences(data_root / "sfinge3d_v1")}
    names = list(SFINGE_CLASSES)
    write_stream_folder(folder / "train", [streams[n] for n in GENERIC_TRAIN], names)
    write_stream_folder(folder / "test", [streams[n] for n in GENERIC_TEST], names)
    return folder


def run_folder(runs: Path, part: str, arm: str, seed: int) -> Path:
    return runs / part / arm / f"seed-{seed}"


def run_one(job: dict) -> None:
    """One training, in this process (called by ``--run-one``)."""
    from stalstm.tasks import train

    train(job["recipe"], job["data"], job["out"], overrides=job["overrides"],
          resume=job["resume"], progress_bar=False)  # fmt: skip


def train_runs(part: str, arms: list[str], seeds: list[int], runs: Path, data_root: Path):
    spec = PARTS[part]
    data = (
        make_generic_folder(data_root, runs / "generic-data")
        if spec["data"] is None
        else data_root / spec["data"]
    )
    for arm in arms:
        for seed in seeds:
            folder = run_folder(runs, part, arm, seed)
            if (folder / "summary.json").is_file():
                continue
            folder.parent.mkdir(parents=True, exist_ok=True)
            overrides = [*spec["base"], *spec["arms"][arm], f"training.seed={seed}"]
            job = {"recipe": spec["recipe"], "data": str(data), "out": str(folder),
                   "overrides": overrides, "resume": folder.is_dir()}  # fmt: skip
            log = folder.parent / f"seed-{seed}.log"
            print(f"  training {part} / {arm} / seed {seed}", flush=True)
            with open(log, "w") as handle:
                finished = subprocess.run(
                    [sys.executable, __file__, "--run-one", json.dumps(job)],
                    stdout=handle, stderr=subprocess.STDOUT, check=False,
                )  # fmt: skip
            state = "done" if finished.returncode == 0 else f"FAILED ({finished.returncode})"
            print(f"  {part} / {arm} / seed {seed}: {state}", flush=True)


def collect(part: str, arm: str, seed: int, runs: Path, out: Path) -> dict | None:
    """The run's summary (None when absent); its small files copied to ``out``."""
    folder = run_folder(runs, part, arm, seed)
    path = folder / "summary.json"
    if not path.is_file():
        return None
    target = out / part / arm / f"seed-{seed}"
    target.mkdir(parents=True, exist_ok=True)
    for source, name in (
        (path, "summary.json"),
        (folder / "evaluation-test" / "metrics.json", "metrics.json"),
        (folder / "evaluation-held-out" / "metrics.json", "held-out-metrics.json"),
        (folder / "recipe.yaml", "recipe.yaml"),
    ):
        if source.is_file():
            shutil.copyfile(source, target / name)
    summary = json.loads(path.read_text())
    (target / "train.log").write_text(run_log(folder, folder.parent / f"seed-{seed}.log", summary))
    return summary


def run_log(folder: Path, console: Path, summary: dict) -> str:
    """A run's log: what it printed, every epoch's training (and held-out) loss and frame
    accuracy from the CSV logger, its warnings and its summary table."""
    import csv

    parts = [console.read_text()] if console.is_file() and console.stat().st_size else []
    for metrics in sorted(folder.glob("stages/*/logs/metrics.csv")):
        rows: dict[int, dict] = {}
        with metrics.open() as handle:
            for row in csv.DictReader(handle):
                if row.get("epoch"):
                    rows.setdefault(int(row["epoch"]), {}).update(
                        {k: v for k, v in row.items() if v}
                    )
        lines = [f"{metrics.parent.parent.name}: epoch, train loss, train frame accuracy, "
                 "held-out frame accuracy"]  # fmt: skip
        for epoch, row in sorted(rows.items()):
            if "train/loss" in row:
                held = row.get("val/top1", "")
                held = f"{float(held):.4f}" if held else "-"
                lines.append(f"{epoch + 1} {float(row['train/loss']):.4f} "
                             f"{float(row['train/top1']):.4f} {held}")  # fmt: skip
        parts.append("\n".join(lines))
    parts.append("warnings:\n" + "\n".join(summary.get("warnings", [])) if summary.get("warnings")
                 else "warnings: none")  # fmt: skip
    table = folder / "summary.md"
    if table.is_file():
        parts.append(table.read_text())
    return "\n\n".join(parts) + "\n"


def paired(first: list[float], second: list[float], higher_is_better: bool) -> dict:
    """second - first, paired by seed (``stalstm.training.comparison``), better and worse
    counted by the metric's direction."""
    difference = paired_difference(second, first).to_dict()
    if not higher_is_better:
        difference["better"], difference["worse"] = difference["worse"], difference["better"]
    if difference["standard_error"] is None:
        difference["standard_error"] = math.nan
    return difference


def test_metrics(summary: dict, arm: str) -> dict:
    if arm == ONE_THRESHOLD:
        return summary["test_one_threshold"]
    return summary["test"]


def held_counts(summary: dict, arm: str) -> dict:
    """Held-out gestures, streams, detections and false positives of a run (with the common
    threshold for the one-threshold row)."""
    held = summary["held_out"]
    counts = {key: held[key] for key in ("gestures", "streams", "detected", "false_positives")}
    if arm == ONE_THRESHOLD:
        counts.update(summary["class_threshold_calibration"]["before"])
    return counts


def value(metrics: dict, key: str, scale: float) -> float | None:
    number = metrics.get(key)
    return None if number is None else scale * number


def part_tables(part: str, results: dict[str, dict[int, dict]], seeds: list[int]) -> str:
    """The per-seed table of every arm and the paired comparisons of the part."""
    spec = PARTS[part]
    headers = " | ".join(header for _, header, *_ in METRICS)
    lines = [f"## {part}: `{spec['recipe']}` {' '.join(spec['base'])}".rstrip(), ""]
    lines += [f"| arm | seed | {headers} | seconds |",
              "| --- | --- |" + " ---: |" * (len(METRICS) + 1)]  # fmt: skip
    for arm, by_seed in results.items():
        rows = []
        for seed in seeds:
            summary = by_seed.get(seed)
            if summary is None:
                continue
            metrics = test_metrics(summary, arm)
            cells = []
            for key, _, scale, digits, _ in METRICS:
                number = value(metrics, key, scale)
                cells.append("-" if number is None else f"{number:.{digits}f}")
            seconds = "" if arm == ONE_THRESHOLD else f"{summary['seconds']:.0f}"
            rows.append(f"| {arm} | {seed} | {' | '.join(cells)} | {seconds} |")
            if key == "median_delay_frames" and metrics.get(key) is None:
                pass
        lines += rows
        present = [by_seed[s] for s in seeds if s in by_seed]
        if len(present) > 1:
            cells = []
            for key, _, scale, digits, _ in METRICS:
                numbers = [value(test_metrics(s, arm), key, scale) for s in present]
                numbers = [n for n in numbers if n is not None]
                cells.append(f"{statistics.mean(numbers):.{digits}f}" if numbers else "-")
            lines.append(f"| **{arm}** | mean | {' | '.join(f'**{c}**' for c in cells)} | |")
    lines += ["", "Held-out streams (training material; where every choice is made): detected %, "
              "false positives a stream, detections minus false positives, per seed.", "",
              "| arm | " + " | ".join(f"seed {s}" for s in seeds) + " |",
              "| --- |" + " ---: |" * len(seeds)]  # fmt: skip
    for arm, by_seed in results.items():
        cells = []
        for seed in seeds:
            summary = by_seed.get(seed)
            if summary is None:
                cells.append("-")
                continue
            held = held_counts(summary, arm)
            cells.append(
                f"{100 * held['detected'] / held['gestures']:.1f} / "
                f"{held['false_positives'] / held['streams']:.2f} / "
                f"{held['detected'] - held['false_positives']}"
            )
        lines.append(f"| {arm} | {' | '.join(cells)} |")
    arms = list(results)
    pairs = [(arms[0], arm) for arm in arms[1:]]
    pairs += [(a, b) for a, b in itertools.pairwise(arms) if (a, b) not in pairs]
    lines += ["", "Paired by seed (second minus first): mean +/- standard error, pairs better / "
              "worse.", "", "| comparison | detected % | FP / stream | Jaccard | frame F1 |",
              "| --- | ---: | ---: | ---: | ---: |"]  # fmt: skip
    for first, second in pairs:
        common = [s for s in seeds if s in results[first] and s in results[second]]
        if len(common) < 2:
            continue
        cells = []
        for key, _, scale, digits, higher in METRICS[:4]:
            a = [value(test_metrics(results[first][s], first), key, scale) for s in common]
            b = [value(test_metrics(results[second][s], second), key, scale) for s in common]
            stats = paired(a, b, higher)
            cells.append(
                f"{stats['mean']:+.{digits}f} +/- {stats['standard_error']:.{digits}f} "
                f"({stats['better']} / {stats['worse']})"
            )
        lines.append(f"| {second} vs {first} | {' | '.join(cells)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=list(PARTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=Path("results/detection"))
    parser.add_argument("--runs", type=Path, default=Path("../runs-detect/bench"))
    parser.add_argument(
        "--data-root", type=Path, default=Path(os.environ.get("STALSTM_DATA", "../shared/data"))
    )
    parser.add_argument("--arms", nargs="+", help="train only these arms (default: all)")
    parser.add_argument("--table-only", action="store_true", help="train nothing")
    parser.add_argument("--run-one", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.run_one:
        run_one(json.loads(arguments.run_one))
        return
    runs = arguments.runs.resolve()
    if not arguments.table_only:
        for part in arguments.parts:
            arms = [a for a in PARTS[part]["arms"] if not arguments.arms or a in arguments.arms]
            train_runs(part, arms, arguments.seeds, runs,
                       arguments.data_root.resolve())  # fmt: skip
    tables, everything = [], {}
    for part in arguments.parts:
        results: dict[str, dict[int, dict]] = {}
        for arm in PARTS[part]["arms"]:
            by_seed = {}
            for seed in arguments.seeds:
                summary = collect(part, arm, seed, runs, arguments.out)
                if summary is not None:
                    by_seed[seed] = summary
            results[arm] = by_seed
            if arm == SHUFFLED_CLASSES and any(
                s.get("test_one_threshold") for s in by_seed.values()
            ):
                results[ONE_THRESHOLD] = {
                    s: v for s, v in by_seed.items() if v.get("test_one_threshold")
                }
        if part == "sfinge" and ONE_THRESHOLD in results:  # the order the fixes were added
            order = ["0.3.0", "0.4.0", ONE_THRESHOLD, SHUFFLED_CLASSES]
            results = {arm: results[arm] for arm in order if arm in results}
        table = part_tables(part, results, arguments.seeds)
        tables.append(table)
        everything[part] = {
            arm: {
                str(seed): {
                    key: test_metrics(summary, arm).get(key)
                    for key, *_ in [*METRICS, ("detected",), ("gestures",), ("false_positives",)]
                }
                | {"warnings": summary.get("warnings", [])}
                for seed, summary in by_seed.items()
            }
            for arm, by_seed in results.items()
        }
    text = "\n\n".join(tables) + "\n"
    print(text)
    arguments.out.mkdir(parents=True, exist_ok=True)
    (arguments.out / "tables.md").write_text(text)
    (arguments.out / "summary.json").write_text(json.dumps(everything, indent=1) + "\n")


if __name__ == "__main__":
    main()
