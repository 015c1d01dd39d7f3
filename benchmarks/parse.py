"""NTU .skeleton parse throughput: the package's reader against a plain line-by-line reader.

The 60 real samples are copied into a temporary folder until it holds ``--megabytes`` of
data; both readers run in this one process (one core), timed with CPU time. The line-by-line
reader (tests/reference_ntu_parser.py) is timed on a ``--reference-megabytes`` subset and
reported as MB/s. Usage: python benchmarks/parse.py [--megabytes 200] [--data PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import tempfile
import time
from pathlib import Path

from stalstm.readers import read_ntu_skeleton

REPOSITORY = Path(__file__).resolve().parents[1]


def load_reference():
    spec = importlib.util.spec_from_file_location(
        "reference_ntu_parser", REPOSITORY / "tests" / "reference_ntu_parser.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.parse_reference


def replicate(samples: list[Path], folder: Path, megabytes: float) -> list[Path]:
    copies: list[Path] = []
    total = 0
    round_index = 0
    while total < megabytes * 1e6:
        for sample in samples:
            target = folder / f"{round_index:04d}_{sample.name}"
            shutil.copyfile(sample, target)
            copies.append(target)
            total += target.stat().st_size
        round_index += 1
    return copies


def throughput(reader, paths: list[Path]) -> tuple[float, float]:
    """(megabytes, CPU seconds) for reading every path."""
    size = sum(p.stat().st_size for p in paths) / 1e6
    start = time.process_time()
    for path in paths:
        reader(path)
    return size, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=200.0)
    parser.add_argument("--reference-megabytes", type=float, default=40.0)
    default_data = os.environ.get("STALSTM_DATA", REPOSITORY.parent / "shared" / "data")
    parser.add_argument("--data", type=Path, default=Path(default_data))
    args = parser.parse_args()
    samples = sorted((args.data / "ntu_rgbd_samples").glob("*.skeleton"))
    if not samples:
        raise SystemExit(f"no .skeleton files under {args.data / 'ntu_rgbd_samples'}")
    reference = load_reference()
    with tempfile.TemporaryDirectory(prefix="stalstm-parse-") as scratch:
        paths = replicate(samples, Path(scratch), args.megabytes)
        subset: list[Path] = []
        for path in paths:
            if sum(p.stat().st_size for p in subset) >= args.reference_megabytes * 1e6:
                break
            subset.append(path)
        rows = [
            ("stalstm read_ntu_skeleton", *throughput(read_ntu_skeleton, paths)),
            ("line-by-line reference", *throughput(reference, subset)),
        ]
    fast = rows[0][1] / rows[0][2]
    print(f"{'reader':28s} {'MB':>8s} {'CPU s':>8s} {'MB/s':>8s} {'ratio':>7s}")
    for name, size, seconds in rows:
        speed = size / seconds
        print(f"{name:28s} {size:8.1f} {seconds:8.2f} {speed:8.1f} {fast / speed:7.2f}x")


if __name__ == "__main__":
    main()
