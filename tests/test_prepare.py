"""prepare_dataset end to end on the real data: counts, report, bad input skipped with its
reason and nothing else lost, and resuming after SIGKILL gives the same store bytes."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from stalstm.cli import app
from stalstm.datasets import get_dataset
from stalstm.errors import DataError
from stalstm.predict import fit_persons
from stalstm.prepare import WORK_FOLDER, prepare_dataset
from stalstm.protocols import split_indices
from stalstm.readers.ntu import read_ntu_skeleton
from stalstm.readers.sbu import read_sbu_clip
from stalstm.store import ClipStore, read_manifest
from stalstm.transforms import build_preset

SBU_FOLD_SIZES = {1: 55, 2: 52, 3: 56, 4: 54, 5: 65}


def test_prepare_sbu_with_two_workers(data_root: Path, tmp_path: Path):
    out = tmp_path / "sbu"
    report = prepare_dataset("sbu", data_root / "sbu_kinect_interaction", out, workers=2)
    assert report.written == 282 and report.skipped == []
    assert json.loads((out / "report.json").read_text()) == {"written": 282, "skipped": []}
    assert not (out / WORK_FOLDER).exists()
    store = ClipStore.open(out, verify=True)
    assert len(store) == 282
    assert store.info["preset"] == "sbu" and store.info["layout"] == "openni15"
    assert store.info["num_persons"] == 2 and len(store.class_names) == 8
    assert Counter(row["label"] for row in store.metadata) == dict(
        enumerate((42, 43, 40, 41, 18, 21, 39, 38))
    )
    for fold, size in SBU_FOLD_SIZES.items():
        assert (
            len(
                split_indices(store.metadata, get_dataset("sbu").protocol("sbu"), fold=fold)["test"]
            )
            == size
        )
    assert store.joints.shape == (sum(row["num_frames"] for row in store.metadata), 2, 15, 3)
    for index in range(0, 282, 47):  # stored clips are the files read and prepared here
        row = store.metadata[index]
        clip = read_sbu_clip(
            data_root / "sbu_kinect_interaction" / row["name"] / "skeleton_pos.txt"
        )
        np.testing.assert_allclose(store[index].joints, build_preset("sbu")(clip).joints, atol=1e-6)


def copy_sbu_clips(data_root: Path, folder: Path, count: int) -> list[str]:
    """Copy the first ``count`` SBU clips (with their pair/class/take folders) under folder."""
    source = data_root / "sbu_kinect_interaction"
    names = []
    for path in sorted(source.rglob("skeleton_pos.txt"))[:count]:
        relative = path.relative_to(source)
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, folder / relative)
        names.append(relative.parent.as_posix())
    return names


def test_a_corrupt_file_is_skipped_with_its_reason_and_nothing_else_is_lost(
    data_root: Path, tmp_path: Path
):
    root = tmp_path / "sbu"
    names = copy_sbu_clips(data_root, root, 6)
    glued = root / "s01s02" / "08" / "099" / "skeleton_pos.txt"
    glued.parent.mkdir(parents=True)
    shutil.copy(data_root / "sbu_kinect_interaction_malformed" / "two_clips_glued.txt", glued)

    result = CliRunner().invoke(
        app, ["prepare", "sbu", "--root", str(root), "--out", str(tmp_path / "out"), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert "s01s02/08/099" in result.output and "glued" in result.output

    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["written"] == 6
    [skipped] = report["skipped"]
    assert skipped["name"] == "s01s02/08/099"
    assert "glued clips" in skipped["reason"] and "line" in skipped["reason"]
    store = ClipStore.open(tmp_path / "out", verify=True)
    assert [row["name"] for row in store.metadata] == names


def make_ntu_root(data_root: Path, folder: Path, copies: int) -> list[str]:
    """The 60 NTU samples replicated under distinct performer numbers (P001, P002, ...)."""
    folder.mkdir()
    names = []
    for path in sorted((data_root / "ntu_rgbd_samples").glob("*.skeleton")):
        for copy in range(1, copies + 1):
            name = path.stem.replace("P001", f"P{copy:03d}")
            (folder / f"{name}.skeleton").symlink_to(path)
            names.append(name)
    return names


def test_ntu_missing_skeletons_are_reported(data_root: Path, tmp_path: Path):
    root = tmp_path / "ntu"
    root.mkdir()
    for action in (1, 50):
        name = f"S001C001P001R001A{action:03d}.skeleton"
        shutil.copy(data_root / "ntu_rgbd_samples" / name, root / name)
    (root / "S001C001P002R001A001.skeleton").write_text("3\n0\n0\n0\n")  # no body at all
    shutil.copy(root / "S001C001P001R001A001.skeleton", root / "S001C001P003R001A001.skeleton")
    listing = tmp_path / "NTU_RGBD_samples_with_missing_skeletons.txt"
    listing.write_text("1 of the captured samples ... missing\n\nS001C001P003R001A001\n")

    report = prepare_dataset("ntu", root, tmp_path / "out", missing_list=listing)
    reasons = {entry["name"]: entry["reason"] for entry in report.skipped}
    assert reasons == {
        "S001C001P002R001A001": "missing skeleton: no body in any frame",
        "S001C001P003R001A001": "missing skeleton: listed by the data set's authors as unusable",
    }
    store = ClipStore.open(tmp_path / "out")
    assert [row["name"] for row in store.metadata] == [
        "S001C001P001R001A001",
        "S001C001P001R001A050",
    ]
    assert store.info["preset"] == "sgn" and store.joints.shape[1:] == (2, 25, 3)
    assert not store[0].joints[:, 1].any() and store[1].joints[:, 1].any()
    for index, row in enumerate(store.metadata):  # the files read and prepared here
        clip = read_ntu_skeleton(root / f"{row['name']}.skeleton")
        prepared = fit_persons(build_preset("sgn")(clip).joints, 2)
        np.testing.assert_allclose(store[index].joints, prepared, atol=1e-6)


SLOW_PREPARE = textwrap.dedent(
    """
    import sys, time
    import stalstm.prepare as prepare
    read = prepare.read_sample

    def slow_read(ref):
        time.sleep(0.05)
        return read(ref)

    prepare.read_sample = slow_read
    prepare.prepare_dataset("ntu", sys.argv[1], sys.argv[2], shard_size=4)
    """
)


def test_resume_after_sigkill_gives_the_same_store(data_root: Path, tmp_path: Path):
    root = tmp_path / "ntu"
    make_ntu_root(data_root, root, copies=1)
    killed = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_PREPARE, str(root), str(killed)],
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    deadline = time.monotonic() + 60
    try:
        while len(list((killed / WORK_FOLDER).glob("shard-*.npz"))) < 3:
            assert process.poll() is None, "prepare finished before it could be killed"
            assert time.monotonic() < deadline, "no shard appeared"
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    finished_before = len(list((killed / WORK_FOLDER).glob("shard-*.npz")))
    assert not (killed / "manifest.sha256").exists()

    resumed = prepare_dataset("ntu", root, killed, shard_size=4, workers=2)
    assert resumed.reused >= 4 * finished_before > 0
    assert resumed.written == 60

    fresh = prepare_dataset("ntu", root, tmp_path / "fresh", shard_size=4)
    assert fresh.reused == 0
    assert read_manifest(killed) == read_manifest(tmp_path / "fresh")
    assert (killed / "report.json").read_bytes() == (
        tmp_path / "fresh" / "report.json"
    ).read_bytes()


def test_a_changed_plan_does_not_reuse_old_shards(data_root: Path, tmp_path: Path):
    root = tmp_path / "sbu"
    copy_sbu_clips(data_root, root, 4)
    out = tmp_path / "out"
    work = out / WORK_FOLDER
    work.mkdir(parents=True)
    (work / "plan.json").write_text('{"preset": "another"}')
    (work / "shard-00000.npz").write_bytes(b"left by another preparation")
    report = prepare_dataset("sbu", root, out, preset="none")
    assert report.reused == 0 and report.written == 4
    store = ClipStore.open(out, verify=True)
    raw = np.loadtxt(root / store.metadata[0]["name"] / "skeleton_pos.txt", delimiter=",")
    np.testing.assert_allclose(store[0].joints[:, 0].reshape(len(raw), -1), raw[:, 1:46], rtol=1e-6)


def test_unknown_dataset_and_preset_fail_before_any_work(tmp_path: Path):
    with pytest.raises(DataError, match="unknown data set"):
        prepare_dataset("kinetics", tmp_path, tmp_path / "out")
    with pytest.raises(ValueError, match="unknown preset"):
        prepare_dataset("sbu", tmp_path, tmp_path / "out", preset="sgn2")
    assert not (tmp_path / "out").exists()


def test_generic_2d_keypoints_with_class_names_and_a_column_protocol(tmp_path: Path):
    root = tmp_path / "mine"
    root.mkdir()
    generator = np.random.default_rng(0)
    rows = ["clip,label,fold"]
    for index, label in enumerate(["wave", "clap", "wave", "jump"]):
        frames = 8 + index
        np.save(root / f"c{index}.npy", generator.normal(size=(frames, 17, 2)).astype(np.float32))
        rows.append(f"c{index},{label},{1 + index % 2}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")

    report = prepare_dataset("generic", root, tmp_path / "out", layout="coco17", preset="none")
    assert report.written == 4
    store = ClipStore.open(tmp_path / "out", verify=True)
    assert store.info["class_names"] == ["clap", "jump", "wave"]
    assert store.info["layout"] == "coco17" and store.info["coords"] == "xy"
    assert store.joints.shape[1:] == (1, 17, 2)
    assert [row["label"] for row in store.metadata] == [2, 0, 2, 1]
    assert split_indices(store.metadata, "column:fold=2")["test"] == [1, 3]
    np.testing.assert_array_equal(store[1].joints[:, 0], np.load(root / "c1.npy"))


def test_generic_labels_given_as_numbers_name_every_class(tmp_path: Path):
    """Numeric labels (no names in labels.csv) give classes named "0".."n-1", counted up to the
    largest label even when a class has no clip; a store prepared without recorded names (as
    earlier versions wrote them) answers the same, so training sizes its classifier from it."""
    root = tmp_path / "mine"
    root.mkdir()
    generator = np.random.default_rng(0)
    rows = ["clip,label"]
    for index, label in enumerate([0, 3, 1, 3]):
        np.save(root / f"c{index}.npy", generator.normal(size=(6, 20, 3)).astype(np.float32))
        rows.append(f"c{index},{label}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")

    prepare_dataset("generic", root, tmp_path / "out", layout="kinect_v1_20", preset="none")
    store = ClipStore.open(tmp_path / "out")
    assert store.info["class_names"] == ["0", "1", "2", "3"]
    assert store.class_names == ["0", "1", "2", "3"]
    store.info["class_names"] = []
    assert store.class_names == ["0", "1", "2", "3"]


def test_prepare_utd_mhad_reports_the_three_missing_trials(data_root: Path, tmp_path: Path):
    out = tmp_path / "utd"
    result = CliRunner().invoke(
        app,
        ["prepare", "utd-mhad", "--root", str(data_root / "utd_mhad_skeleton"), "--out", str(out),
         "--workers", "2", "--quiet"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    missing = ["a8_s1_t4", "a23_s6_t4", "a27_s8_t4"]
    report = json.loads((out / "report.json").read_text())
    assert report == {"written": 861, "skipped": [], "missing": missing}
    for name in missing:  # the printed table names each with its status
        assert re.search(rf"{name} +│ missing: no file in the folder", result.output)
    store = ClipStore.open(out, verify=True)
    assert store.info["preset"] == "canonical" and store.info["layout"] == "utd_mhad20"
    assert store.info["num_persons"] == 1 and store.info["joints"][0] == "head"
    assert store.class_names[0] == "right arm swipe to the left" and len(store.class_names) == 27
    split = split_indices(store.metadata, get_dataset("utd-mhad").protocol("utd-mhad-cs"))
    assert (len(split["train"]), len(split["test"])) == (431, 430)
    assert store.joints.shape == (sum(row["num_frames"] for row in store.metadata), 1, 20, 3)


def test_utd_mhad_missing_clips_come_from_the_folder_and_bad_files_are_skipped(
    data_root: Path, tmp_path: Path
):
    root = tmp_path / "part"
    root.mkdir()
    kept = ["a1_s1_t1", "a1_s2_t1", "a27_s8_t3"]
    for name in kept:
        shutil.copy(data_root / "utd_mhad_skeleton" / f"{name}_skeleton.mat", root)
    (root / "a2_s1_t1_skeleton.mat").write_bytes(b"MATLAB 5.0 MAT-file, cut short")
    report = prepare_dataset("utd-mhad", root, tmp_path / "out")
    assert report.written == 3
    [skipped] = report.skipped
    assert skipped["name"] == "a2_s1_t1" and "truncated file" in skipped["reason"]
    assert len(report.missing) == 864 - 4 and not set(report.missing) & {*kept, "a2_s1_t1"}
    assert report.missing[:2] == ["a1_s1_t2", "a1_s1_t3"]
