"""Input statistics (what the model standardises by) and the warnings for unprepared data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from stalstm.normalisation import input_statistics, placement_warnings, store_statistics
from stalstm.readers import read_msr_skeleton
from stalstm.transforms import build_preset


def test_statistics_count_present_joints_only_and_floor_pinned_ones():
    # two clips, K = 3 joints, C = 2; joint 2 is absent (all zeros) in the first clip
    first = np.array([[[1.0, 2.0], [5.0, 5.0], [0.0, 0.0]], [[3.0, 2.0], [5.0, 5.0], [0.0, 0.0]]])
    second = np.array([[[5.0, 2.0], [5.0, 5.0], [4.0, -4.0]]])
    statistics = input_statistics([first, second])
    np.testing.assert_allclose(statistics.mean[0], [3.0, 2.0])  # (1 + 3 + 5) / 3, 2
    np.testing.assert_allclose(statistics.mean[2], [4.0, -4.0])  # its one present frame only
    np.testing.assert_array_equal(statistics.present, [3, 3, 1])
    np.testing.assert_allclose(statistics.deviation[0, 0], np.std([1.0, 3.0, 5.0]), rtol=1e-6)
    # features that never vary (pinned by the preparation) get the floor, 1 % of the typical
    typical = np.sqrt(np.mean([np.var([1.0, 3.0, 5.0]), 0, 0, 0, 0, 0]))
    np.testing.assert_allclose(statistics.deviation[1], 0.01 * typical, rtol=1e-5)
    assert statistics.clips == 2


def test_a_joint_that_never_occurs_gets_the_identity():
    clip = np.zeros((4, 2, 3))
    clip[:, 0] = np.arange(12.0).reshape(4, 3)
    statistics = input_statistics([clip])
    np.testing.assert_array_equal(statistics.mean[1], 0.0)
    np.testing.assert_array_equal(statistics.deviation[1], 1.0)
    with pytest.raises(ValueError, match="no clips"):
        input_statistics([])


def test_raw_sensor_coordinates_are_flagged_and_prepared_ones_are_not(data_root: Path):
    paths = sorted((data_root / "msr_action3d").glob("a0*_s0*_e01_skeleton3D.txt"))[:30]
    clips = [read_msr_skeleton(path) for path in paths]

    def statistics(preset: str, factor: float = 1.0):
        prepared = [build_preset(preset)(clip).joints * factor for clip in clips]
        return input_statistics(joints.reshape(len(joints), -1, 3) for joints in prepared)

    raw = placement_warnings(statistics("none"))
    assert len(raw) == 1 and "far from centred" in raw[0]
    assert placement_warnings(statistics("canonical")) == []
    assert placement_warnings(statistics("msr")) == []
    millimetres = placement_warnings(statistics("canonical", 1000.0))
    assert len(millimetres) == 1 and "scale looks unusual" in millimetres[0]


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
