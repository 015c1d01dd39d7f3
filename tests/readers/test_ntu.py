"""NTU .skeleton reader: all real samples, equality with the line-by-line oracle, and every
bad-input case raising its typed error with file and line."""

from __future__ import annotations

import importlib.util
import itertools
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from stalstm.errors import (
    EmptyFileError,
    JointCountError,
    MalformedTokenError,
    NonFiniteError,
    TruncatedFileError,
)
from stalstm.readers import read_ntu_skeleton

_spec = importlib.util.spec_from_file_location(
    "reference_ntu_parser",
    Path(__file__).resolve().parents[1] / "helpers" / "reference_ntu_parser.py",
)
reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(reference)


def samples(data_root: Path) -> list[Path]:
    paths = sorted((data_root / "ntu_rgbd_samples").glob("*.skeleton"))
    assert len(paths) == 60
    return paths


def distinct_body_ids(path: Path) -> list[str]:
    """Independent scan: a body-info line is the line before a line holding only '25'."""
    lines = path.read_text().splitlines()
    ids: list[str] = []
    for before, line in itertools.pairwise(lines):
        if line.strip() == "25" and len(before.split()) == 10 and before.split()[0] not in ids:
            ids.append(before.split()[0])
    return ids


def test_every_sample_reads_with_the_bodies_the_file_holds(data_root: Path) -> None:
    for path in samples(data_root):
        clip = read_ntu_skeleton(path)
        ids = distinct_body_ids(path)
        assert clip.num_persons == len(ids), path.name
        assert [str(i) for i in clip.extras["body_ids"]] == ids  # exact 17-digit ids
        assert clip.num_frames == int(path.read_text().split()[0])
        assert clip.label == int(path.stem[-3:]) - 1 and clip.layout == "ntu25"
        assert (clip.subject, clip.view, clip.setup, clip.replication) == (1, 1, 1, 1)


def test_one_person_actions_a024_to_a029_carry_two_bodies_in_every_frame(
    data_root: Path,
) -> None:
    for action in range(24, 30):
        clip = read_ntu_skeleton(
            data_root / "ntu_rgbd_samples" / f"S001C001P001R001A{action:03d}.skeleton"
        )
        assert (clip.extras["body_count"] == 2).all()
        assert clip.extras["present"].all()


def test_fast_reader_equals_the_line_by_line_reference(data_root: Path) -> None:
    for path in samples(data_root):
        clip = read_ntu_skeleton(path)
        expected = reference.parse_reference(path)
        assert [int(i) for i in clip.extras["body_ids"]] == expected.pop("body_ids")
        np.testing.assert_array_equal(clip.joints, expected.pop("joints").astype(np.float32))
        for key, value in expected.items():
            mine = np.asarray(clip.extras[key])
            np.testing.assert_array_equal(mine, np.asarray(value).astype(mine.dtype), key)


def test_inline_comment_is_a_malformed_token_on_its_line(data_root: Path) -> None:
    path = data_root / "ntu_rgbd_samples" / "malformed" / "A001_with_inline_comments.skeleton"
    first_comment = next(
        number for number, line in enumerate(path.read_text().splitlines(), 1) if "#" in line
    )
    with pytest.raises(MalformedTokenError) as caught:
        read_ntu_skeleton(path)
    assert caught.value.line == first_comment == 3
    assert str(path) in str(caught.value)


@pytest.fixture
def a001_lines(data_root: Path) -> list[str]:
    return (
        (data_root / "ntu_rgbd_samples" / "S001C001P001R001A001.skeleton").read_text().split("\n")
    )


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_text("\n".join(lines))
    return path


def test_truncated_file_names_the_line_where_data_ran_out(
    tmp_path: Path, a001_lines: list[str]
) -> None:
    path = write(tmp_path, a001_lines[:100])
    with pytest.raises(TruncatedFileError) as caught:
        read_ntu_skeleton(path)
    assert caught.value.line == 100 and str(path) in str(caught.value)


def test_non_numeric_token(tmp_path: Path, a001_lines: list[str]) -> None:
    a001_lines[40] = a001_lines[40].replace("0.", "O.", 1)
    with pytest.raises(MalformedTokenError, match=r"line 41: .*'O\.") as caught:
        read_ntu_skeleton(write(tmp_path, a001_lines))
    assert caught.value.line == 41


def test_wrong_joint_count(tmp_path: Path, a001_lines: list[str]) -> None:
    assert a001_lines[31] == "25"  # frame 2's joint count, line 32
    a001_lines[31] = "24"
    del a001_lines[32]
    with pytest.raises(JointCountError, match="24 joints") as caught:
        read_ntu_skeleton(write(tmp_path, a001_lines))
    assert caught.value.line == 32


@pytest.mark.parametrize("bad", ["nan", "inf", "-Infinity"])
def test_non_finite_coordinate(tmp_path: Path, a001_lines: list[str], bad: str) -> None:
    fields = a001_lines[10].split()
    fields[1] = bad
    a001_lines[10] = " ".join(fields)
    with pytest.raises(NonFiniteError) as caught:
        read_ntu_skeleton(write(tmp_path, a001_lines))
    assert caught.value.line == 11


def test_a_value_beyond_float32_is_non_finite_on_its_line(
    tmp_path: Path, a001_lines: list[str]
) -> None:
    # finite as float64, inf in the float32 clip (found by the fuzz campaign)
    fields = a001_lines[10].split()
    fields[2] = "1e39"
    a001_lines[10] = " ".join(fields)
    with pytest.raises(NonFiniteError, match="beyond float32") as caught:
        read_ntu_skeleton(write(tmp_path, a001_lines))
    assert caught.value.line == 11


@pytest.mark.parametrize(("line", "field", "value"), [(3, 3, "300"), (5, 11, "1.5")])
def test_a_flag_that_int8_cannot_hold_is_malformed(
    tmp_path: Path, a001_lines: list[str], line: int, field: int, value: str
) -> None:
    # hand state and joint trackingState are kept as int8: 300 wrapped to 44, 1.5 became 1
    fields = a001_lines[line - 1].split()
    fields[field] = value
    a001_lines[line - 1] = " ".join(fields)
    with pytest.raises(MalformedTokenError, match="small integer") as caught:
        read_ntu_skeleton(write(tmp_path, a001_lines))
    assert caught.value.line == line


def test_a_body_id_beyond_64_bits_is_malformed(tmp_path: Path, a001_lines: list[str]) -> None:
    # found by the fuzz campaign: an OverflowError from numpy before
    a001_lines[2] = "77772057594037931327" + a001_lines[2][len("72057594037931101") :]
    with pytest.raises(MalformedTokenError, match="64 bits") as caught:
        read_ntu_skeleton(write(tmp_path, a001_lines))
    assert caught.value.line == 3


def test_a_new_body_in_every_frame_is_refused_before_a_dense_allocation(tmp_path: Path) -> None:
    # 600 frames, each with one body of a new bodyID: 390 kB of text would need a dense
    # (600, 600, 311) float32 grid of 448 MB; 5,000 such bodies (3 MB) would need 31 GB.
    joint = " ".join(["0"] * 12)
    bodies = [f"1\n{100 + k} 0 0 0 0 0 0 0 0 2\n25\n" + "\n".join([joint] * 25) for k in range(600)]
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_text("600\n" + "\n".join(bodies) + "\n")
    tracemalloc.start()
    try:
        with pytest.raises(MalformedTokenError, match="600 distinct bodyIDs") as caught:
            read_ntu_skeleton(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.line == 2 + 28 * 599 + 1  # the last new body's info line
    assert peak < 64 * 2**20


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(EmptyFileError, match="S001C001P001R001A001"):
        read_ntu_skeleton(write(tmp_path, ["", "  "]))


def test_a_frame_with_zero_bodies_is_legal(tmp_path: Path, a001_lines: list[str]) -> None:
    # Frame 2 (lines 30-57) replaced by a frame with no body: zeros there, nothing else moves.
    lines = [*a001_lines[:29], "0", *a001_lines[57:]]
    clip = read_ntu_skeleton(write(tmp_path, lines))
    assert clip.num_frames == 103 and clip.num_persons == 1
    assert not clip.joints[1].any() and not clip.extras["present"][1].any()
    assert clip.extras["body_count"][1] == 0 and clip.joints[2].any()


def test_data_after_the_announced_frames_is_refused(tmp_path: Path, a001_lines: list[str]) -> None:
    a001_lines[0] = "102"
    with pytest.raises(MalformedTokenError, match="after the 102 frames"):
        read_ntu_skeleton(write(tmp_path, a001_lines))


def test_a_file_whose_frames_hold_no_body_reads_as_zero_persons(tmp_path: Path) -> None:
    # NTU's "missing skeleton" samples: legal syntax, no body anywhere; preparation reports them.
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_text("3\n0\n0\n0\n")
    clip = read_ntu_skeleton(path)
    assert clip.joints.shape == (3, 0, 25, 3)
    assert clip.extras["body_count"].tolist() == [0, 0, 0]
