"""The UTD-MHAD reader on all 861 real files, and every kind of bad .mat file: a typed error
naming the file, never a crash (crafted files run in a subprocess) and never gigabytes."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import textwrap
import tracemalloc
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from helpers.crafted_mat import (
    COMPLEX_FLAG,
    MI_DOUBLE,
    MI_INT8,
    MI_INT16,
    MI_INT32,
    MI_MATRIX,
    MI_UINT32,
    MX_CELL,
    MX_CHAR,
    compressed,
    element,
    mat_file,
    matrix,
    matrix_header,
)

from stalstm.datasets import list_samples, read_sample
from stalstm.errors import (
    EmptyFileError,
    JointCountError,
    LayoutMismatchError,
    NonFiniteError,
    TruncatedFileError,
)
from stalstm.readers import read_clip, read_utd_mhad
from stalstm.readers.matlab import (
    CorruptMatFileError,
    MatVariableError,
    UnsupportedMatFileError,
)
from stalstm.readers.utd_mhad import (
    UTD_MHAD_CLASSES,
    missing_utd_mhad_clips,
    utd_mhad_expected_names,
)

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def utd_root(data_root: Path) -> Path:
    return data_root / "utd_mhad_skeleton"


@pytest.fixture(scope="module")
def one_clip(utd_root: Path) -> np.ndarray:
    """d_skel of a1_s1_t1 as scipy.io reads it: (20, 3, 48) float64."""
    return scipy.io.loadmat(utd_root / "a1_s1_t1_skeleton.mat")["d_skel"]


def test_all_861_real_files_read_as_scipy_reads_them(utd_root: Path) -> None:
    refs = list_samples("utd-mhad", utd_root)
    assert len(refs) == 861
    first = ["a1_s1_t1", "a1_s1_t2", "a1_s1_t3", "a1_s1_t4", "a1_s2_t1"]
    assert [ref.name for ref in refs[:5]] == first  # by numbers, not a1 < a10 < a11 < a2
    clips = [read_sample(ref) for ref in refs]
    frames = [clip.num_frames for clip in clips]
    assert (min(frames), int(np.median(frames)), max(frames)) == (41, 67, 125)
    for ref, clip in zip(refs, clips, strict=True):
        assert clip.joints.shape[1:] == (1, 20, 3) and clip.joints.dtype == np.float32
        assert clip.layout == "utd_mhad20" and clip.name == ref.name
    # the reader's bounded scipy path gives exactly what plain scipy.io.loadmat gives
    for clip in clips[::50]:
        plain = scipy.io.loadmat(utd_root / f"{clip.name}_skeleton.mat")["d_skel"]
        np.testing.assert_array_equal(clip.joints[:, 0], plain.transpose(2, 0, 1).astype("f4"))
    # fields from the names: 27 actions x 8 subjects x 4 trials, less the three missing trials
    assert Counter(clip.label for clip in clips) == {
        label: 32 - (label in (7, 22, 26)) for label in range(27)
    }
    assert Counter(clip.subject for clip in clips) == {
        subject: 108 - (subject in (1, 6, 8)) for subject in range(1, 9)
    }
    assert Counter(clip.replication for clip in clips) == {1: 216, 2: 216, 3: 216, 4: 213}
    assert missing_utd_mhad_clips(ref.name for ref in refs) == [
        "a8_s1_t4",
        "a23_s6_t4",
        "a27_s8_t4",
    ]
    assert len(utd_mhad_expected_names()) == 864 and len(UTD_MHAD_CLASSES) == 27


def test_read_clip_and_the_fields_of_a_name(utd_root: Path, one_clip: np.ndarray) -> None:
    clip = read_clip(utd_root / "a26_s3_t2_skeleton.mat")
    assert (clip.name, clip.label, clip.subject, clip.replication) == ("a26_s3_t2", 25, 3, 2)
    assert UTD_MHAD_CLASSES[clip.label] == "forward lunge (left foot forward)"
    first = read_utd_mhad(utd_root / "a1_s1_t1_skeleton.mat")
    # joint 1 is the head, above the hip centre (joint 4) in camera y; z is depth, about 3 m
    np.testing.assert_array_equal(first.joints[0, 0], one_clip[:, :, 0].astype("f4"))
    assert first.joints[0, 0, 0, 1] > first.joints[0, 0, 3, 1] and first.joints[0, 0, 0, 2] > 2.5


def write(tmp_path: Path, data: bytes, name: str = "a1_s1_t1_skeleton.mat") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def savemat(tmp_path: Path, variables: dict, name: str = "a1_s1_t1_skeleton.mat", **options):
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, variables, **options)
    return write(tmp_path, buffer.getvalue(), name)


def test_users_own_mat_files_read(tmp_path: Path, one_clip: np.ndarray) -> None:
    # uncompressed with other variables around it, named freely: no label or fields
    path = savemat(
        tmp_path,
        {"fps": 30.0, "d_skel": one_clip, "info": {"who": "me"}},
        name="my_recording.mat",
    )
    clip = read_clip(path)
    assert (clip.name, clip.label, clip.subject) == ("my_recording", -1, -1)
    np.testing.assert_array_equal(clip.joints[:, 0], one_clip.transpose(2, 0, 1).astype("f4"))
    # MATLAB drops a trailing dimension of 1: a 20 x 3 array is one frame
    single = read_utd_mhad(savemat(tmp_path, {"d_skel": one_clip[:, :, 0]}, name="one.mat"))
    assert single.joints.shape == (1, 1, 20, 3)
    # MATLAB stores whole-number doubles compactly (here as int16): the values are the same
    whole = np.round(one_clip * 1000)
    path = write(tmp_path, mat_file(matrix(b"d_skel", whole, MI_INT16, "<i2")), "mm.mat")
    np.testing.assert_array_equal(
        read_utd_mhad(path).joints[:, 0], whole.transpose(2, 0, 1).astype("f4")
    )


def complex_matrix(array: np.ndarray) -> bytes:
    data = element(MI_DOUBLE, np.asarray(array, "<f8").ravel(order="F").tobytes())
    return element(MI_MATRIX, matrix_header(b"d_skel", array.shape, flags=COMPLEX_FLAG) + data * 2)


def bad_cases(real: bytes, one_clip: np.ndarray) -> list[tuple[str, bytes, type, str]]:
    """(case, file bytes, error, message) of every kind of bad file."""
    nan = one_clip.copy()
    nan[7, 1, 4] = np.nan  # joint 8 (hand_left), frame 5
    v73 = real[:124] + struct.pack("<H", 0x0200) + real[126:]
    v4 = io.BytesIO()
    scipy.io.savemat(v4, {"d_skel": one_clip[:, :, 0]}, format="4")
    many = mat_file(*[matrix(f"x{k}".encode(), np.ones((1, 1))) for k in range(1001)])
    return [
        ("empty", b"", EmptyFileError, "empty"),
        ("cut in the header", real[:100], TruncatedFileError, "128-byte MAT header"),
        ("cut in a tag", real[:132], TruncatedFileError, "tag of variable 1"),
        ("cut in the data", real[: len(real) // 2], TruncatedFileError, "bytes early"),
        ("last byte cut", real[:-1], TruncatedFileError, "1 bytes early"),
        ("not a MAT file", b"x,y,z\n" * 40, CorruptMatFileError, "scipy.io cannot read"),
        ("v7.3 (HDF5)", v73, UnsupportedMatFileError, "v7.3"),
        ("v4", v4.getvalue(), UnsupportedMatFileError, "v4"),
        ("1001 other variables", many, MatVariableError, "among the first 1000"),
        ("wrong variable", mat_file(matrix(b"skeleton", one_clip)), MatVariableError, "'skeleton'"),
        ("nothing but a header", mat_file(), MatVariableError, "holds none"),
        (
            "text",
            mat_file(matrix(b"d_skel", np.ones((20, 3)), MI_INT8, "<i1", mclass=MX_CHAR)),
            MatVariableError,
            "char array",
        ),
        (
            "cell",
            mat_file(element(MI_MATRIX, matrix_header(b"d_skel", (20, 3), MX_CELL))),
            MatVariableError,
            "cell array",
        ),
        ("complex", mat_file(complex_matrix(one_clip)), MatVariableError, "complex"),
        (  # scipy reads an opaque object's header without a name: was an AttributeError
            "opaque class",
            mat_file(compressed(matrix(b"d_skel", one_clip, mclass=17))),
            MatVariableError,
            "no variable 'd_skel'",
        ),
        ("19 joints", mat_file(matrix(b"d_skel", one_clip[:19])), JointCountError, "19 joints"),
        (
            "2 coordinates",
            mat_file(compressed(matrix(b"d_skel", one_clip[:, :2]))),
            LayoutMismatchError,
            "2 coordinates",
        ),
        (
            "4-D",
            mat_file(matrix(b"d_skel", one_clip[..., None])),
            LayoutMismatchError,
            "20 x 3 x 48 x 1",
        ),
        ("no frames", mat_file(matrix(b"d_skel", one_clip[:, :, :0])), EmptyFileError, "frames"),
        ("NaN", mat_file(matrix(b"d_skel", nan)), NonFiniteError, r"frame 5, joint 8 \(hand_left"),
        ("1e300", mat_file(matrix(b"d_skel", one_clip * 1e300)), NonFiniteError, "float32"),
        (
            "data type code",
            mat_file(compressed(matrix(b"d_skel", one_clip, data_type=114))),
            CorruptMatFileError,
            "type code 114",
        ),
        (
            "data size",
            mat_file(matrix(b"d_skel", one_clip)).replace(
                struct.pack("<II", MI_DOUBLE, one_clip.size * 8), struct.pack("<II", 9, 2**32 - 8)
            ),
            CorruptMatFileError,
            "4,294,967,288 bytes",
        ),
        (
            "billion frames declared",
            mat_file(element(MI_MATRIX, matrix_header(b"d_skel", (20, 3, 10**9)))),
            MatVariableError,
            "over the limit",
        ),
        (
            "negative dimension",
            mat_file(element(MI_MATRIX, matrix_header(b"d_skel", (20, 3, -5)))),
            CorruptMatFileError,
            "negative",
        ),
        (
            "a header past 4096 bytes",
            mat_file(matrix(b"x" * 5000, one_clip), matrix(b"d_skel", one_clip)),
            CorruptMatFileError,
            "variable 1: its name element declares 5,000 bytes",
        ),
    ]


def test_every_kind_of_bad_file_is_a_typed_error_naming_it(
    tmp_path: Path, utd_root: Path, one_clip: np.ndarray
) -> None:
    real = (utd_root / "a1_s1_t1_skeleton.mat").read_bytes()
    for case, data, error, message in bad_cases(real, one_clip):
        path = write(tmp_path, data)
        with pytest.raises(error, match=message) as caught:
            read_utd_mhad(path)
        assert str(path) in str(caught.value), case


def test_a_signalling_nan_is_refused_without_a_warning(
    tmp_path: Path, one_clip: np.ndarray
) -> None:
    """A damaged file can hold a signalling NaN (found by the fuzz campaign), whose cast to
    float32 raised numpy's "invalid value encountered in cast" before the typed error."""
    data = np.ascontiguousarray(one_clip)
    data.reshape(-1).view(np.uint64)[100] = 0x7FF0000000000001  # a signalling NaN
    path = write(tmp_path, mat_file(matrix(b"d_skel", data)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(NonFiniteError, match="1 values are NaN"):
            read_utd_mhad(path)


def name_declaring(byte_count: int, array: np.ndarray, name: bytes = b"d_skel") -> bytes:
    """A miMATRIX element whose name tag declares ``byte_count`` bytes, the real name after it."""
    head = element(MI_UINT32, struct.pack("<II", 6, 0))
    head += element(MI_INT32, struct.pack(f"<{array.ndim}i", *array.shape))
    head += element(MI_INT8, name, declared=byte_count)
    data = element(MI_DOUBLE, np.asarray(array, "<f8").ravel(order="F").tobytes())
    return element(MI_MATRIX, head + data)


@pytest.mark.parametrize("packing", ["plain", "compressed", "another variable first"])
def test_a_name_declaring_a_gigabyte_allocates_nothing(
    tmp_path: Path, one_clip: np.ndarray, packing: str
) -> None:
    """scipy allocates a name at its declared size before reading it: 954 MiB (tracemalloc)
    for an 11 KB file, found by the fuzz campaign; the tag is refused before scipy reads it."""
    variable = name_declaring(10**9, one_clip)
    content = {
        "plain": mat_file(variable),
        "compressed": mat_file(compressed(variable)),
        "another variable first": mat_file(
            compressed(name_declaring(10**9, np.ones((1, 1)), b"fps")), matrix(b"d_skel", one_clip)
        ),
    }[packing]
    path = write(tmp_path, content)
    tracemalloc.start()
    try:
        with pytest.raises(CorruptMatFileError, match="name element declares 1,000,000,000 bytes"):
            read_utd_mhad(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20
    # a name of up to 4096 bytes is still read
    long_name = mat_file(
        name_declaring(None, np.ones((1, 1)), b"x" * 4000), matrix(b"d_skel", one_clip)
    )
    assert read_utd_mhad(write(tmp_path, long_name)).num_frames == one_clip.shape[2]


SUBPROCESS_RUNNER = textwrap.dedent(
    """
    import json, resource, struct, sys
    sys.path.insert(0, sys.argv[1])
    import numpy as np
    from helpers.crafted_mat import (MI_DOUBLE, MI_INT8, MI_INT32, MI_MATRIX, MI_UINT32, MX_CELL,
        MX_DOUBLE, compressed, element, mat_file, matrix, matrix_header, zero_bomb)
    from stalstm.errors import DataError
    from stalstm.readers import read_utd_mhad

    path, sources = sys.argv[2], sys.argv[3:]

    def outcome(content):
        open(path, "wb").write(content)
        try:
            read_utd_mhad(path)
            return "read"
        except DataError as error:
            return type(error).__name__ + ": " + str(error)

    GIB = 1024
    skeleton = matrix(b"d_skel", np.ones((20, 3, 50)))
    # a variable before d_skel whose name element declares and inflates to 1 GiB
    head = element(MI_UINT32, struct.pack("<II", MX_DOUBLE, 0))
    head += element(MI_INT32, struct.pack("<2i", 1, 1))
    named = struct.pack("<II", MI_MATRIX, len(head) + 8 + (GIB << 20)) + head
    named += struct.pack("<II", MI_INT8, GIB << 20)
    # d_skel of 20 x 3 x 50 whose data element declares and inflates to 1 GiB
    data = matrix_header(b"d_skel", (20, 3, 50))
    data = struct.pack("<II", MI_MATRIX, len(data) + 8 + (GIB << 20)) + data
    data += struct.pack("<II", MI_DOUBLE, GIB << 20)
    cases = {
        "name bomb": mat_file(zero_bomb(named, GIB), compressed(skeleton)),
        "data bomb": mat_file(zero_bomb(data, GIB)),
        "cell of 3.6e9 cells": mat_file(
            element(MI_MATRIX, matrix_header(b"d_skel", (60000, 60000), MX_CELL))
        ),
        "unknown data type": mat_file(matrix(b"d_skel", np.ones((20, 3, 5)), data_type=114)),
        "unknown data type, compressed": mat_file(
            compressed(matrix(b"d_skel", np.ones((20, 3, 5)), data_type=0xFFFF))
        ),
    }
    # the peak resident size only grows: after each case, its growth since before the first
    # bounds what every case so far took
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for case, content in cases.items():
        result = outcome(content)
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline
        print(json.dumps({"case": case, "bytes": len(content), "outcome": result,
                          "grown_mib": grown / 1024}), flush=True)

    # every byte from 116 to 259 of each source set to 0, 255 and its low bit flipped
    for source in sources:
        original = open(source, "rb").read()
        for position in range(116, 260):
            for value in (0x00, 0xFF, original[position] ^ 1):
                mutated = bytearray(original)
                mutated[position] = value
                result = outcome(bytes(mutated))
                print(json.dumps({"case": f"{source} [{position}] = {value}",
                                  "outcome": result}), flush=True)
    """
)


@pytest.fixture(scope="module")
def crafted_outcomes(
    tmp_path_factory: pytest.TempPathFactory, utd_root: Path, one_clip: np.ndarray
) -> tuple[Path, list[dict]]:
    """The reader run on crafted and mutated files in a subprocess, so that a crash fails the
    tests instead of killing pytest: (the file each case was written to, one row a case)."""
    folder = tmp_path_factory.mktemp("crafted")
    plain = savemat(folder, {"fps": 30.0, "d_skel": one_clip}, name="plain.mat")
    path = folder / "crafted.mat"
    sources = [str(utd_root / "a1_s1_t1_skeleton.mat"), str(plain)]
    result = subprocess.run(
        [sys.executable, "-c", SUBPROCESS_RUNNER, str(HERE.parent), str(path), *sources],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return path, [json.loads(line) for line in result.stdout.splitlines()]


def test_crafted_files_neither_crash_nor_take_gigabytes(crafted_outcomes) -> None:
    """Plain scipy.io.loadmat dies with a segmentation fault on the unknown data types, holds
    2.2 GB for the 1 MB name bomb and 1.3 GB for the data bomb (measured, scipy 1.17); the
    reader refuses each with a typed error, growing by a few MiB at most."""
    path, rows = crafted_outcomes
    outcomes = {row["case"]: row for row in rows}
    expected = {
        "name bomb": "CorruptMatFileError",
        "data bomb": "CorruptMatFileError",
        "cell of 3.6e9 cells": "MatVariableError",
        "unknown data type": "CorruptMatFileError",
        "unknown data type, compressed": "CorruptMatFileError",
    }
    for case, error in expected.items():
        row = outcomes[case]
        assert row["outcome"].startswith(f"{error}: {path}"), row
        assert row["grown_mib"] < 64 and row["bytes"] < 2 << 20, row


def test_every_header_byte_changed_reads_or_is_refused(crafted_outcomes) -> None:
    """Each byte from 116 to 259 (the end of the file header, then tags, flags, dimensions,
    names and data tags, or the start of the zlib stream) set to 0, 255 and with its low bit
    flipped, in a compressed real file and in an uncompressed one with another variable first:
    a clip or a DataError naming the file."""
    path, rows = crafted_outcomes
    mutated = [row["outcome"] for row in rows if "[" in row["case"]]
    assert len(mutated) == 2 * 144 * 3
    refused = [outcome for outcome in mutated if outcome != "read"]
    assert 0 < len(refused) < len(mutated)
    assert all(": " + str(path) in outcome for outcome in refused)
