"""Peak memory and time of ``stalstm prepare`` as the data set grows 10x.

The 60 real NTU samples are replicated (symlinks with distinct performer numbers, under a
temporary folder) to 600 and 6,000 clips; each size is prepared by a fresh child process with
the default ``sgn`` preset, which reports its own peak RSS and that of its worker processes
(``resource.getrusage``, RUSAGE_SELF and RUSAGE_CHILDREN ``ru_maxrss``). A store that held
a dense padded array, or a main process that collected clips, would grow about 10x; ours should
stay roughly flat.

    python benchmarks/prepare_memory.py [--data ../shared/data] [--sizes 600 6000] [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def replicate_ntu(samples: Path, folder: Path, count: int) -> None:
    """``count`` symlinks to the NTU samples, named with performers P001, P002, ..."""
    sources = sorted(samples.glob("*.skeleton"))
    folder.mkdir(parents=True)
    for index in range(count):
        source = sources[index % len(sources)]
        performer = 1 + index // len(sources)
        name = source.stem.replace("P001", f"P{performer:03d}")
        (folder / f"{name}.skeleton").symlink_to(source)


def child(root: str, out: str, workers: int) -> None:
    """Prepare in this process and print peak memory as JSON (run by the parent)."""
    from stalstm.prepare import prepare_dataset

    started = time.perf_counter()
    report = prepare_dataset("ntu", root, out, workers=workers)
    seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    workers_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    store_bytes = sum(path.stat().st_size for path in Path(out).iterdir() if path.is_file())
    print(
        json.dumps(
            {
                "written": report.written,
                "seconds": seconds,
                "main_mib": own / 1024,
                "worker_mib": workers_peak / 1024,
                "store_mib": store_bytes / 2**20,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPOSITORY.parent / "shared" / "data")
    parser.add_argument("--sizes", type=int, nargs="+", default=[600, 6000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--child", nargs=2, metavar=("ROOT", "OUT"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(*arguments.child, arguments.workers)
        return

    samples = arguments.data / "ntu_rgbd_samples"
    if not samples.is_dir():
        sys.exit(f"no NTU samples at {samples}: pass --data")
    results = {}
    scratch = Path(tempfile.mkdtemp(prefix="stalstm-prepare-memory-"))
    try:
        for size in arguments.sizes:
            root, out = scratch / f"ntu{size}", scratch / f"store{size}"
            replicate_ntu(samples, root, size)
            command = [sys.executable, __file__, "--child", str(root), str(out)]
            command += ["--workers", str(arguments.workers)]
            completed = subprocess.run(
                command, check=True, capture_output=True, text=True, env=os.environ
            )
            results[size] = json.loads(completed.stdout.strip().splitlines()[-1])
            shutil.rmtree(out)
            shutil.rmtree(root)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    smallest = arguments.sizes[0]
    print(f"prepare ntu (preset sgn, {arguments.workers} workers), peak RSS per process")
    header = (
        f"{'clips':>6} {'store MiB':>10} {'main MiB':>9} {'worker MiB':>11} "
        f"{'seconds':>8} {'clips/s':>8} {'main x':>7} {'worker x':>9}"
    )
    print(header)
    for size, row in results.items():
        base = results[smallest]
        print(
            f"{size:>6} {row['store_mib']:>10.1f} {row['main_mib']:>9.1f} "
            f"{row['worker_mib']:>11.1f} {row['seconds']:>8.1f} "
            f"{row['written'] / row['seconds']:>8.1f} "
            f"{ratio(row['main_mib'], base['main_mib']):>7} "
            f"{ratio(row['worker_mib'], base['worker_mib']):>9}"
        )


def ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}" if base > 0 else "-"


if __name__ == "__main__":
    main()
