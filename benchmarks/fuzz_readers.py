"""The long profile of the reader fuzz campaign: ``--examples`` mutated real files per reader.

The campaign itself (readers, seeds, mutations, allowed outcomes, per-input deadline and
allocation bound) is ``tests/helpers/reader_fuzzing.py``; the test suite runs its short profile
(40 inputs per reader, the same every run). This script runs it with a random hypothesis seed
(printed, so a run can be repeated), on one core, under an address-space limit, and prints a table
of inputs taken per reader and their outcomes. Needs hypothesis (``pip install -e ".[test]"``).

    python benchmarks/fuzz_readers.py --examples 5000 [--seed N] [--json report.json]
        [--readers "UTD-MHAD .mat" "SFINGE3D stream" ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def load_campaign():
    path = REPOSITORY / "tests" / "helpers" / "reader_fuzzing.py"
    spec = importlib.util.spec_from_file_location("reader_fuzzing", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def print_table(report: dict) -> None:
    print(f"\nhypothesis seed {report['seed']}, {report['examples_per_reader']} inputs per reader")
    header = ("reader", "inputs", "read", "typed errors", "failures", "slowest s", "peak MiB")
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for name, stats in report["readers"].items():
        outcomes = dict(stats["outcomes"])
        read = outcomes.pop("read", 0)
        failures = outcomes.pop("failure", 0)
        errors = ", ".join(f"{kind} {count}" for kind, count in sorted(outcomes.items()))
        row = (
            name, str(stats["inputs"]), str(read), errors or "-", str(failures),
            f"{stats['slowest_seconds']:.2f}", f"{stats['largest_peak_bytes'] / 2**20:.1f}",
        )  # fmt: skip
        print(" | ".join(row))
    total = sum(stats["inputs"] for stats in report["readers"].values())
    print(f"{total} inputs in all")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=5000, help="inputs per reader")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed (default: random)")
    parser.add_argument("--data", type=Path, default=None, help="real data (STALSTM_DATA)")
    parser.add_argument("--deadline", type=float, default=10.0, help="seconds per input")
    parser.add_argument("--memory", type=float, default=4.0, help="GiB of address space allowed")
    parser.add_argument("--core", type=int, default=None, help="run on this core (default: last)")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    parser.add_argument("--failures", type=Path, default=Path("fuzz-failures"))
    parser.add_argument("--readers", nargs="+", default=None, help="names (default: all)")
    options = parser.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {options.core if options.core is not None else cores[-1]})
    campaign = load_campaign()
    data_root = options.data or Path(
        os.environ.get("STALSTM_DATA", REPOSITORY.parent / "shared" / "data")
    )
    seed = options.seed if options.seed is not None else random.randrange(2**32)
    names = [reader.name for reader in campaign.READERS]
    unknown = sorted(set(options.readers or ()) - set(names))
    if unknown:
        parser.error(f"no reader {unknown}; the readers: {', '.join(names)}")
    readers = [r for r in campaign.READERS if options.readers is None or r.name in options.readers]
    campaign.limit_address_space(int(options.memory * 2**30))
    report = campaign.run_campaign(
        data_root, options.examples, readers, options.deadline, seed, options.failures
    )
    if options.json:
        options.json.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    failed = {name: s["failures"] for name, s in report["readers"].items() if s["failures"]}
    for name, failures in failed.items():
        print(f"FAILURE {name}: {failures}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
