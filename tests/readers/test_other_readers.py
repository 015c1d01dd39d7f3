"""SBU, MSR Action3D, PYSKL pickle, generic folders, read_clip and list_samples."""

from __future__ import annotations

import collections
import io
import os
import pickle
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from stalstm.clip import Clip
from stalstm.datasets import list_samples, read_sample
from stalstm.errors import (
    DataError,
    EmptyFileError,
    GluedClipsError,
    LayoutMismatchError,
    MalformedTokenError,
    NonFiniteError,
    TruncatedFileError,
    UnsafePickleError,
)
from stalstm.readers import (
    msr_protocol_files,
    read_clip,
    read_generic,
    read_pyskl,
    read_sbu_clip,
    write_pyskl,
)
from stalstm.readers.generic import read_generic_clip, read_labels
from stalstm.readers.msr import AllZeroClipError
from stalstm.readers.ntu import read_ntu_skeleton


def test_all_282_sbu_clips_with_the_published_class_counts(data_root: Path) -> None:
    refs = list_samples("sbu", data_root / "sbu_kinect_interaction")
    clips = [read_sample(ref) for ref in refs]
    assert len(clips) == 282
    for ref, clip in zip(refs, clips, strict=True):
        # the file's own numbers: a row per frame, its index, then x, y, z of 15 joints x 2
        rows = np.array(Path(ref.path).read_text().replace(",", " ").split(), np.float64)
        expected = rows.reshape(clip.num_frames, 91)[:, 1:].reshape(-1, 2, 15, 3)
        np.testing.assert_array_equal(clip.joints, expected.astype(np.float32), ref.name)
        assert clip.layout == "openni15"
    counts = collections.Counter(c.label + 1 for c in clips)
    assert [counts[k] for k in range(1, 9)] == [42, 43, 40, 41, 18, 21, 39, 38]
    assert sorted(collections.Counter(c.fold for c in clips).items()) == [
        (1, 55),
        (2, 52),
        (3, 56),
        (4, 54),
        (5, 65),
    ]
    assert clips[0].name == "s01s02/01/001" == refs[0].name


def test_glued_sbu_file(data_root: Path) -> None:
    path = data_root / "sbu_kinect_interaction_malformed" / "two_clips_glued.txt"
    with pytest.raises(GluedClipsError, match="350 follows 594") as caught:
        read_clip(path)
    assert caught.value.line == 30 and str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("edit", "error", "line"),
    [
        (lambda rows: [rows[0], rows[1][:-8]], MalformedTokenError, 2),
        (lambda rows: [rows[0], rows[1].replace("0.", "x.", 1)], MalformedTokenError, 2),
        (
            lambda rows: [rows[0], "2" + ",NaN" * 90],
            NonFiniteError,
            2,
        ),
        (lambda rows: ["", "  "], EmptyFileError, None),
        (lambda rows: [rows[0], "2" + ",1e39" * 90], NonFiniteError, 2),  # inf as float32
    ],
)
def test_bad_sbu_files(tmp_path: Path, data_root: Path, edit, error, line) -> None:
    source = data_root / "sbu_kinect_interaction" / "s01s02" / "01" / "001" / "skeleton_pos.txt"
    rows = source.read_text().splitlines()
    path = tmp_path / "skeleton_pos.txt"
    path.write_text("\n".join(edit(rows)))
    with pytest.raises(error) as caught:
        read_sbu_clip(path)
    assert caught.value.line == line and str(path) in str(caught.value)


def test_all_557_listed_msr_files_read_and_the_zero_clip_is_refused(data_root: Path) -> None:
    root = data_root / "msr_action3d"
    listed = msr_protocol_files(root)
    refs = list_samples("msr", root)
    assert len(refs) == 567 and len(listed) == 557
    assert "a13_s09_e02" not in listed
    for ref in refs:
        if ref.name in listed:
            clip = read_sample(ref)
            # the file's own numbers: a row per joint (x, y, z, confidence), 20 rows a frame
            rows = np.array(Path(ref.path).read_text().split(), np.float64)
            expected = rows.reshape(-1, 1, 20, 4).astype(np.float32)
            np.testing.assert_array_equal(clip.joints, expected[..., :3], ref.name)
            np.testing.assert_array_equal(clip.extras["confidence"], expected[..., 3], ref.name)
    with pytest.raises(AllZeroClipError, match="a13_s09_e02"):
        read_clip(root / "a13_s09_e02_skeleton3D.txt")
    clip = read_clip(root / "a02_s03_e01_skeleton3D.txt")
    assert (clip.label, clip.subject, clip.replication) == (1, 3, 1)


def test_pyskl_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    clips = [
        Clip(
            f"clip{k}",
            rng.random((5 + k, 2, 17, 2), dtype=np.float32),
            label=k,
            layout="coco17",
            extras={"keypoint_score": rng.random((5 + k, 2, 17), dtype=np.float32)},
        )
        for k in range(3)
    ]
    path = write_pyskl(clips, {"train": ["clip0", "clip1"], "test": ["clip2"]}, tmp_path / "a.pkl")
    with path.open("rb") as handle:  # the PYSKL layout: keypoint (M, T, V, C)
        assert pickle.load(handle)["annotations"][1]["keypoint"].shape == (2, 6, 17, 2)
    back = read_pyskl(path)
    assert back.splits == {"train": ["clip0", "clip1"], "test": ["clip2"]}
    for mine, theirs in zip(clips, back.clips, strict=True):
        assert (theirs.name, theirs.label) == (mine.name, mine.label)
        np.testing.assert_array_equal(theirs.joints, mine.joints)
        np.testing.assert_array_equal(
            theirs.extras["keypoint_score"], mine.extras["keypoint_score"]
        )
    refs = list_samples("pyskl", path)
    assert [r.name for r in refs] == ["clip0", "clip1", "clip2"]
    np.testing.assert_array_equal(read_sample(refs[2]).joints, clips[2].joints)


class _RunsCode:
    def __init__(self, function, argument: str) -> None:
        self.function, self.argument = function, argument

    def __reduce__(self):
        return (self.function, (self.argument,))


@pytest.mark.parametrize(("function", "refused"), [(os.system, "system"), (eval, "builtins.eval")])
def test_unsafe_pickle_is_refused_and_nothing_runs(tmp_path: Path, function, refused) -> None:
    marker = tmp_path / "ran"
    code = f"touch {marker}" if function is os.system else f"open({str(marker)!r}, 'w')"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"annotations": [_RunsCode(function, code)]}))
    with pytest.raises(UnsafePickleError, match=refused) as caught:
        read_pyskl(path)
    assert str(path) in str(caught.value)
    assert not marker.exists()


def make_folder(
    tmp_path: Path, arrays: dict[str, np.ndarray], labels: list[str], csv_clips=()
) -> Path:
    folder = tmp_path / "mine"
    folder.mkdir()
    for name, array in arrays.items():
        if name in csv_clips:
            header = ",".join(f"c{k}" for k in range(array[0].size))
            rows = [",".join(f"{v:.9g}" for v in frame.ravel()) for frame in array]
            (folder / f"{name}.csv").write_text("\n".join([header, *rows]) + "\n")
        else:
            np.save(folder / f"{name}.npy", array)
    (folder / "labels.csv").write_text("\n".join(["clip,label,subject,fold", *labels]) + "\n")
    return folder


def test_generic_folder_round_trip_2d_and_3d(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    arrays = {
        "walk": rng.random((7, 17, 2), dtype=np.float32),  # (T, V, C) one person
        "wave": rng.random((4, 2, 17, 2), dtype=np.float32),
        "jump": rng.random((5, 1, 17, 2), dtype=np.float32),
    }
    folder = make_folder(
        tmp_path,
        arrays,
        ["walk,walking,1,1", "wave,waving,2,1", "jump,jumping,3,2"],
        csv_clips=("jump",),
    )
    clips = {c.name: c for c in read_generic(folder, "coco17")}
    assert {n: c.label for n, c in clips.items()} == {"jump": 0, "walk": 1, "wave": 2}
    np.testing.assert_array_equal(clips["walk"].joints, arrays["walk"][:, None])
    np.testing.assert_allclose(clips["jump"].joints, arrays["jump"], rtol=1e-7)
    assert (clips["wave"].subject, clips["jump"].fold) == (2, 2)
    refs = list_samples("generic", folder, layout="coco17")
    np.testing.assert_array_equal(read_sample(refs[1]).joints, arrays["wave"])
    three_d = tmp_path / "three_d"
    three_d.mkdir()
    three_d_joints = rng.random((3, 2, 25, 3))
    folder_3d = make_folder(three_d, {"a": three_d_joints}, ["a,4,1,1"])
    clip_3d = next(read_generic(folder_3d, "ntu25"))
    assert clip_3d.label == 4
    np.testing.assert_allclose(clip_3d.joints, three_d_joints, rtol=1e-7)


@pytest.mark.parametrize(
    ("arrays", "labels", "error", "message"),
    [
        ({"a": np.zeros((3, 18, 2))}, ["a,x,1,1"], LayoutMismatchError, "18 joints"),
        ({"a": np.zeros((3, 17, 4))}, ["a,x,1,1"], LayoutMismatchError, "4 coordinates"),
        ({"a": np.full((3, 17, 2), np.nan)}, ["a,x,1,1"], NonFiniteError, "non-finite"),
        (
            {"a": np.zeros((3, 17, 2))},
            ["a,x,1,1", "b,y,1,1"],
            DataError,
            "no .npy or .csv file for clip 'b'",
        ),
        (
            {"a": np.zeros((3, 17, 2)), "c": np.zeros((3, 17, 2))},
            ["a,x,1,1"],
            DataError,
            "not listed",
        ),
    ],
)
def test_generic_bad_cases(tmp_path: Path, arrays, labels, error, message) -> None:
    folder = make_folder(tmp_path, arrays, labels)
    with pytest.raises(error, match=message):
        list(read_generic(folder, "coco17"))


@pytest.mark.parametrize(
    ("labels", "message", "line"),
    [
        (b"clip,label\nwalk\nwave,1\n", "empty label", 2),  # was AttributeError
        (b"clip,label\nwalk,\nwave,1\n", "empty label", 2),  # was a class named ""
        (b"clip,label\nwalk,\xff\nwave,1\n", "not UTF-8", 2),  # was UnicodeDecodeError
        (b"clip,label,fold\nwalk,1,\xc2\xb2\nwave,1,1\n", "positive integer", 2),  # int("²")
        # int() refuses more than 4300 digits with a ValueError
        (b"clip,label,subject\nwalk,1,1\nwave,1," + b"1" * 5000 + b"\n", "positive integer", 3),
        # csv.Error (a field over csv's limit) named the line of the row before it
        (b"clip,label\nwalk,1\nwave," + b"1" * 200_000 + b"\n", "not readable CSV", 3),
    ],
)
def test_bad_labels_csv_names_the_line(
    tmp_path: Path, labels: bytes, message: str, line: int
) -> None:
    for name in ("walk.npy", "wave.npy"):
        (tmp_path / name).touch()
    (tmp_path / "labels.csv").write_bytes(labels)
    with pytest.raises(DataError, match=message) as caught:
        read_labels(tmp_path)
    assert caught.value.line == line and str(tmp_path / "labels.csv") in str(caught.value)


def npy_with_header(shape: tuple, descr: str = "<f4", data: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + data


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        (b"", DataError, "not a readable .npy"),  # was numpy's EOFError
        (npy_with_header((10**9, 2, 17, 2), data=bytes(64)), TruncatedFileError, "declares"),
        (npy_with_header((2, 1, 17, 2), data=bytes(1000)), DataError, "holds 1000 bytes"),
        (npy_with_header((0, 1, 17, 2)), EmptyFileError, "no frames"),
        (npy_with_header((2, 17, 2), "<c8", bytes(544)), DataError, "not real-valued"),
        (npy_with_header((2, 17, 2), "|O"), DataError, "not real-valued"),
        (  # an unbalanced bracket in the header: numpy raised tokenize.TokenError
            npy_with_header((2, 17, 2)).replace(b"(2,", b"((2,"),
            DataError,
            "not a readable .npy",
        ),
        (
            npy_with_header((2, 17, 2), "<f8", np.full(68, 1e300).tobytes()),
            NonFiniteError,
            "float32",
        ),
    ],
)
def test_bad_npy_files_are_refused_before_allocating(
    tmp_path: Path, content: bytes, error: type, message: str
) -> None:
    # found by the fuzz campaign: numpy's EOFError and tokenize.TokenError escaped, and a
    # header claiming 10**9 frames was read as such
    path = tmp_path / "clip.npy"
    path.write_bytes(content)
    tracemalloc.start()
    try:
        with pytest.raises(error, match=message) as caught:
            read_generic_clip(path, "coco17")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(caught.value)
    assert peak < 2**20


def test_a_csv_value_beyond_float32_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "clip.csv"
    rows = [",".join(["0.5"] * 34)] * 3
    rows[1] = ",".join(["0.5"] * 33 + ["1e39"])
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(NonFiniteError, match="column 34 is 1e\\+39") as caught:
        read_generic_clip(path, "coco17")
    assert caught.value.line == 2


def test_read_clip_picks_the_reader_by_name(data_root: Path, tmp_path: Path) -> None:
    ntu_path = data_root / "ntu_rgbd_samples" / "S001C001P001R001A050.skeleton"
    ntu = read_clip(ntu_path)
    assert ntu.layout == "ntu25" and ntu.num_persons == 2
    np.testing.assert_array_equal(ntu.joints, read_ntu_skeleton(ntu_path).joints)
    sbu_path = data_root / "sbu_kinect_interaction" / "s01s02" / "01" / "001" / "skeleton_pos.txt"
    sbu = read_clip(sbu_path)
    assert sbu.layout == "openni15" and sbu.name == "s01s02/01/001"
    np.testing.assert_array_equal(sbu.joints, read_sbu_clip(sbu_path).joints)
    keypoints = np.random.default_rng(2).random((6, 17, 2), dtype=np.float32)
    np.save(tmp_path / "keypoints.npy", keypoints)
    read = read_clip(tmp_path / "keypoints.npy", layout="coco17")
    assert read.layout == "coco17"
    np.testing.assert_array_equal(read.joints, keypoints[:, None])  # one person
    with pytest.raises(DataError, match="needs a layout"):
        read_clip(tmp_path / "keypoints.npy")


def test_list_samples_finds_all_ntu_files(data_root: Path) -> None:
    refs = list_samples("ntu", data_root / "ntu_rgbd_samples")
    assert len(refs) == 61  # the 60 samples and the hand-made malformed copy
    assert refs[0].name == "A001_with_inline_comments" or refs[0].name.startswith("S001")
    with pytest.raises(DataError, match="unknown data set"):
        list_samples("kinetics", data_root)
