"""The data commands (prepare, info) as a user runs them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from stalstm.normalisation import placement_warnings, store_statistics
from stalstm.readers import read_msr_skeleton


def test_info_warns_about_a_raw_store(tmp_path: Path, data_root: Path):
    from stalstm.cli import app
    from stalstm.prepare import prepare_dataset
    from stalstm.store import ClipStore

    # a user's folder of raw clips as the sensor wrote them (MSR: metres, about 2.7 m away)
    folder = tmp_path / "mine"
    folder.mkdir()
    rows = ["clip,label"]
    for number, path in enumerate(sorted((data_root / "msr_action3d").glob("a0*_e01_*"))[:8]):
        np.save(folder / f"clip{number}.npy", read_msr_skeleton(path).joints)
        rows.append(f"clip{number},{number % 2}")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    prepare_dataset("generic", folder, tmp_path / "raw", preset="none", layout="msr20")
    prepare_dataset("generic", folder, tmp_path / "default", layout="msr20")
    default = ClipStore.open(tmp_path / "default")
    assert default.info["preset"] == "canonical"  # the generic path's default
    assert placement_warnings(store_statistics(default)) == []
    result = CliRunner().invoke(app, ["info", str(tmp_path / "raw")])
    assert result.exit_code == 0
    assert "far from centred" in " ".join(result.output.split())
    quiet = CliRunner().invoke(app, ["info", str(tmp_path / "default")])
    assert quiet.exit_code == 0 and "warning" not in quiet.output
