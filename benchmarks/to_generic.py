"""Write a data set as a bring-your-own folder: one ``.npy`` per clip exactly as its reader gives
it (raw coordinates, nothing centred or scaled) and a ``labels.csv`` with label, subject and
replication. With it, the generic path (``stalstm prepare generic``, ``--recipe generic``) can be
measured on real raw data and compared with the same data through its own normalising preset
(README, "Raw coordinates through the generic path").

    python benchmarks/to_generic.py msr ../shared/data/msr_action3d /tmp/msr-generic
    python benchmarks/to_generic.py utd-mhad ../shared/data/utd_mhad_skeleton /tmp/utd-generic

MSR: only the 557 files of the usual protocol. Clips a reader refuses are reported and left out.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from stalstm.errors import DataError
from stalstm.readers import list_samples, msr_protocol_files, read_sample


def write_generic(dataset: str, root: Path, out: Path) -> tuple[int, list[str]]:
    """Write ``out/<clip>.npy`` and ``out/labels.csv``; return (clips written, refused)."""
    out.mkdir(parents=True, exist_ok=True)
    refs = list_samples(dataset, root)
    if dataset == "msr":
        listed = set(msr_protocol_files(root) or ())
        refs = [ref for ref in refs if ref.name in listed]
    rows, refused = [], []
    for ref in refs:
        try:
            clip = read_sample(ref)
        except DataError as error:
            refused.append(str(error))
            continue
        np.save(out / f"{clip.name}.npy", clip.joints.astype(np.float32))
        rows.append((clip.name, clip.label, clip.subject, clip.replication))
    with (out / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["clip", "label", "subject", "replication"])
        writer.writerows(rows)
    return len(rows), refused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", help="a data set list_samples knows (msr, utd-mhad, sbu...)")
    parser.add_argument("root", type=Path)
    parser.add_argument("out", type=Path)
    arguments = parser.parse_args()
    written, refused = write_generic(arguments.dataset, arguments.root, arguments.out)
    print(f"{written} clips written to {arguments.out}")
    for reason in refused:
        print(f"  refused: {reason}")


if __name__ == "__main__":
    main()
