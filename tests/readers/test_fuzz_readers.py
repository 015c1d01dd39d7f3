"""The short profile of the reader fuzz campaign (``reader_fuzzing.py``), run in a subprocess so
that a crash or a runaway allocation fails this test instead of the suite. The long profile is
``python benchmarks/fuzz_readers.py --examples N``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers.reader_fuzzing import READERS

HERE = Path(__file__).resolve().parent
CAMPAIGN = HERE.parent / "helpers" / "reader_fuzzing.py"
SHORT_PROFILE = 40  # inputs per reader; the same inputs every run (hypothesis derandomized)


def test_short_fuzz_campaign_allows_only_clips_and_typed_errors(
    tmp_path: Path, data_root: Path
) -> None:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(HERE.parents[1] / "src"), environment.get("PYTHONPATH")])
    )
    report_path = tmp_path / "report.json"
    completed = subprocess.run(
        [
            sys.executable, str(CAMPAIGN), "--examples", str(SHORT_PROFILE),
            "--data", str(data_root), "--json", str(report_path),
            "--failures", str(tmp_path / "failures"),
        ],
        capture_output=True, text=True, env=environment, timeout=600,
    )  # fmt: skip
    assert report_path.is_file(), f"exit {completed.returncode}: {completed.stderr[-3000:]}"
    report = json.loads(report_path.read_text())["readers"]
    assert list(report) == [reader.name for reader in READERS]
    for name, stats in report.items():
        assert stats["failures"] == [], f"{name}: {stats['failures']}"
        assert stats["inputs"] >= SHORT_PROFILE, name
        # the mutations reach the readers' checks: some inputs end in a typed error
        assert set(stats["outcomes"]) - {"read"}, f"{name}: {stats['outcomes']}"
    assert completed.returncode == 0, completed.stderr[-3000:]
