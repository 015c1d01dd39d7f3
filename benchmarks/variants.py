"""Does attention pay? STA-LSTM (and SA-LSTM, TA-LSTM) against the plain LSTM, paired by seed and
fold: ``stalstm ablate`` of each recipe with its own schedule and regularisers, over the given
variants and seeds.

For each recipe this is one call of ``stalstm.training.runner.ablate`` into ``OUT/<recipe>/``
(every run a run folder; resumable: finished runs are kept), whose table gives each variant's
top-1 (mean +/- std over seeds and folds) and its difference to the plain LSTM paired by
(seed, fold): mean, standard error and how many pairs were better / worse.

    python benchmarks/variants.py --recipes sbu utd-mhad-cs msr-cs --out results/variants
    python benchmarks/variants.py --recipes utd-mhad-cs --variants sta lstm --seeds 0 1 2 --out ...

Data folders: ``--data-root`` (default ``$STALSTM_DATA`` or ``../shared/data``) holding the data
sets under their usual names.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from stalstm.training.recipes import load_recipe
from stalstm.training.runner import ablate

DATA_FOLDERS = {
    "sbu": "sbu_kinect_interaction",
    "msr-cs": "msr_action3d",
    "utd-mhad-cs": "utd_mhad_skeleton",
}
VARIANTS = ("sta", "sa", "ta", "lstm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipes", nargs="+", default=list(DATA_FOLDERS), choices=DATA_FOLDERS)
    parser.add_argument("--variants", nargs="+", default=["sta", "lstm"], choices=VARIANTS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument(
        "--data-root", type=Path, default=Path(os.environ.get("STALSTM_DATA", "../shared/data"))
    )
    arguments = parser.parse_args()
    variants = list(dict.fromkeys([*arguments.variants, "lstm"]))  # the reference is needed
    for name in arguments.recipes:
        kind = load_recipe(name).schedule.kind
        plan = [
            f"ablation.variants=[{', '.join(variants)}]",
            f"ablation.seeds=[{', '.join(map(str, arguments.seeds))}]",
            "ablation.regularised=[true]",
            f"ablation.schedules=[{kind}]",
        ]
        summary = ablate(name, arguments.data_root / DATA_FOLDERS[name], arguments.out / name,
                         plan, parallel=arguments.parallel, resume=True)  # fmt: skip
        print((arguments.out / name / "summary.md").read_text())
        print(f"{summary['seconds']:.0f} s")


if __name__ == "__main__":
    main()
