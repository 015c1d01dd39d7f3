"""The restricted unpickler: numpy's own pickles read bit for bit (numpy 1.x and 2.x, protocols
2 to 5); crafted pickles end in a DataError naming the file, never a crash.

The crafted files are read in a subprocess, so that a segmentation fault (exit -11, 139 from a
shell) fails the test instead of killing pytest.
"""

from __future__ import annotations

import base64
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stalstm.errors import DataError, UnsafePickleError
from stalstm.readers import read_pyskl
from stalstm.readers.safe_pickle import MAX_DEPTH, safe_load_pickle

REPOSITORY = Path(__file__).resolve().parents[2]

# numpy's own rebuilding functions, found from its pickles (their module moved in numpy 2).
RECONSTRUCT = np.zeros(1).__reduce__()[0]
FROMBUFFER = np.zeros(1).__reduce_ex__(5)[0]


class Call:
    """Pickles as ``function(*arguments)`` then (if given) BUILD ``state``: what a crafted file
    can ask of an unpickler that lets it name numpy's functions."""

    def __init__(self, function, *arguments, state=None) -> None:
        self.function, self.arguments, self.state = function, arguments, state

    def __reduce__(self):
        if self.state is None:
            return (self.function, self.arguments)
        return (self.function, self.arguments, self.state)


def dtype_with_state(typestr: str, state: tuple) -> Call:
    return Call(np.dtype, typestr, False, True, state=state)


def annotation(**fields) -> dict:
    base = {
        "frame_dir": "crafted",
        "label": 0,
        "img_shape": (1080, 1920),
        "total_frames": 2,
        "keypoint": np.zeros((1, 2, 17, 2), np.float32),
    }
    return base | fields


def pyskl_file(*annotations: dict) -> bytes:
    return pickle.dumps({"split": {}, "annotations": list(annotations)}, protocol=4)


# numpy.ndarray(shape, dtype('O'), buffer): an object array whose elements are pointers the
# file chose. With the old allow-list this crashed the interpreter.
OBJECT_ARRAY = Call(np.ndarray, (4,), np.dtype(object), b"\x41" * 32)
FORGED_FLAGS = Call(  # a float64 dtype whose state claims numpy's object flags (63)
    RECONSTRUCT,
    np.ndarray,
    (0,),
    b"b",
    state=(
        1,
        (4,),
        dtype_with_state("f8", (3, "<", None, None, None, -1, -1, 63)),
        False,
        b"A" * 32,
    ),
)
FIELD_OFFSET = Call(  # a structured dtype whose field starts 4096 bytes into an 8-byte item
    RECONSTRUCT,
    np.ndarray,
    (0,),
    b"b",
    state=(
        1,
        (2,),
        dtype_with_state("V8", (3, "|", None, ("a",), {"a": (np.dtype("f8"), 4096)}, 8, 1, 16)),
        False,
        bytes(16),
    ),
)
SHAPE_BEYOND_DATA = Call(
    RECONSTRUCT, np.ndarray, (0,), b"b", state=(1, (10**6,), np.dtype("f4"), False, bytes(8))
)
self_containing: list = []
self_containing.append(self_containing)
deep: list = []
for _ in range(MAX_DEPTH + 5):
    deep = [deep]

# Attacks: refused by name, dtype or state (UnsafePickleError). name -> file content
REFUSED = {
    "object array as keypoint_score": pyskl_file(annotation(keypoint_score=OBJECT_ARRAY)),
    "object array as label": pyskl_file(annotation(label=OBJECT_ARRAY)),
    "object array as img_shape": pyskl_file(annotation(img_shape=OBJECT_ARRAY)),
    "object array as keypoint": pyskl_file(annotation(keypoint=OBJECT_ARRAY)),
    "ndarray((2**40,)), 4 TiB": pyskl_file(annotation(keypoint=Call(np.ndarray, (2**40,)))),
    "dtype state forging object flags": pyskl_file(annotation(keypoint_score=FORGED_FLAGS)),
    "field offset past the item size": pyskl_file(annotation(keypoint=FIELD_OFFSET)),
    "object dtype through _frombuffer": pyskl_file(
        annotation(keypoint=Call(FROMBUFFER, bytearray(32), np.dtype(object), (4,), "C"))
    ),
    "tuple dictionary keys": pickle.dumps({(1, 2): 0, "annotations": []}),
}
# Malformed or oversized files: DataError, and no allocation of what they declare.
MALFORMED = {
    "memo index 2**30 (16 GiB memo)": b"\x80\x02Nr" + struct.pack("<I", 2**30) + b".",
    "bytes8 declaring 2**40 bytes": b"\x80\x04\x8e" + struct.pack("<Q", 2**40) + b"abc.",
    "bytearray8 declaring 2**33 bytes": b"\x80\x05\x96" + struct.pack("<Q", 2**33) + b"abc.",
    "shape beyond its data": pyskl_file(annotation(keypoint=SHAPE_BEYOND_DATA)),
    "a list that contains itself": pickle.dumps({"annotations": self_containing}),
    "nesting deeper than MAX_DEPTH": pickle.dumps({"annotations": deep}),
}
CRAFTED = {
    **{name: (content, UnsafePickleError) for name, content in REFUSED.items()},
    **{name: (content, DataError) for name, content in MALFORMED.items()},
}

READ_EACH = """
import sys
from stalstm.errors import DataError
from stalstm.readers import read_pyskl
for path in sys.argv[1:]:
    try:
        outcome = f"read {len(read_pyskl(path).clips)} clips"
    except DataError as error:
        outcome = f"{type(error).__name__}\\t{error}"
    print(path, outcome.replace("\\n", " "), sep="\\t", flush=True)
"""


def read_each_in_subprocess(paths: list[Path]) -> dict[str, str]:
    """``read_pyskl`` on each path in a child process: path -> its outcome line, or how the
    process died. After a crash the remaining paths go on in a new process."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPOSITORY / "src"), environment.get("PYTHONPATH")])
    )
    outcomes: dict[str, str] = {}
    remaining = [str(path) for path in paths]
    while remaining:
        completed = subprocess.run(
            [sys.executable, "-c", READ_EACH, *remaining],
            capture_output=True,
            text=True,
            env=environment,
            timeout=300,
        )
        for line in completed.stdout.splitlines():
            path, _, outcome = line.partition("\t")
            outcomes[path] = outcome
        remaining = [path for path in remaining if path not in outcomes]
        if remaining:  # the child died on remaining[0]
            outcomes[remaining.pop(0)] = (
                f"child process died (exit {completed.returncode}): {completed.stderr[-2000:]}"
            )
    return outcomes


@pytest.fixture(scope="module")
def crafted_outcomes(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    folder = tmp_path_factory.mktemp("crafted")
    paths = {}
    for index, (name, (content, _)) in enumerate(CRAFTED.items()):
        paths[name] = folder / f"crafted_{index}.pkl"
        paths[name].write_bytes(content)
    outcomes = read_each_in_subprocess(list(paths.values()))
    return {name: (path, outcomes[str(path)]) for name, path in paths.items()}


@pytest.mark.parametrize("name", list(CRAFTED))
def test_crafted_pickles_end_in_a_data_error_naming_the_file(name, crafted_outcomes) -> None:
    path, outcome = crafted_outcomes[name]
    kind, _, message = outcome.partition("\t")
    assert kind == CRAFTED[name][1].__name__, outcome
    assert message.startswith(f"{path}: "), outcome


def numpy_arrays() -> dict[str, object]:
    rng = np.random.default_rng(0)
    grid = rng.standard_normal((3, 4, 5)).astype(np.float32)
    return {
        "float32": grid,
        "float64 fortran": np.asfortranarray(rng.standard_normal((4, 6))),
        "big-endian float32": grid.astype(">f4"),
        "bool": rng.random((2, 7)) > 0.5,
        "int8": np.arange(-5, 5, dtype=np.int8),
        "uint16": np.arange(12, dtype=np.uint16).reshape(3, 4),
        "int64": np.array([2**40, -3], dtype=np.int64),
        "float16": np.linspace(0, 1, 5, dtype=np.float16),
        "complex64": (grid[0] + 1j * grid[1]).astype(np.complex64),
        "unicode": np.array(["walk", "wave", "ü"]),
        "bytes": np.array([b"ab", b"cde"]),
        "empty": np.zeros((0, 17, 2), np.float32),
        "zero-dimensional": np.array(3.5),
        "strided view": grid[:, ::2, 1:],
        "transposed": grid.transpose(2, 0, 1),
        "int64 scalar": np.int64(7),
        "float32 scalar": np.float32(0.25),
        "bool scalar": np.bool_(True),
        "str scalar": np.str_("ab"),
    }


def assert_same(loaded: object, original: object, name: str) -> None:
    assert type(loaded) is type(original), name
    if isinstance(original, np.ndarray):
        assert loaded.dtype == original.dtype and loaded.shape == original.shape, name
        assert loaded.tobytes() == original.tobytes(), name  # bit for bit
        assert loaded.flags.writeable, name
    else:
        assert loaded == original and loaded.dtype == original.dtype, name


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_numpy_pickles_read_bit_for_bit(tmp_path: Path, protocol: int) -> None:
    arrays = numpy_arrays()
    path = tmp_path / "arrays.pkl"
    path.write_bytes(pickle.dumps({"arrays": arrays, "names": list(arrays)}, protocol=protocol))
    loaded = safe_load_pickle(path)
    assert loaded["names"] == list(arrays)
    for name, original in arrays.items():
        assert_same(loaded["arrays"][name], original, name)
    assert loaded["arrays"]["float64 fortran"].flags.f_contiguous


# A PYSKL annotation file written by numpy 1.26.4 (numpy.core module names) with pickle protocol 2
# (mmcv's default, so most published PYSKL files) and 4, base64. Made by:
#   annotation = {"frame_dir": "S001C001P001R001A001", "label": np.int64(7),
#       "img_shape": (1080, 1920), "total_frames": 2,
#       "keypoint": np.arange(68, dtype=np.float32).reshape(1, 2, 17, 2) / 4,
#       "keypoint_score": np.linspace(0, 1, 34, dtype=np.float32).reshape(1, 2, 17)}
#   pickle.dumps({"split": {"xsub_train": ["S001C001P001R001A001"]},
#       "annotations": [annotation]}, protocol=P)
NUMPY_1_PICKLES = {
    2: """
gAJ9cQAoWAUAAABzcGxpdHEBfXECWAoAAAB4c3ViX3RyYWlucQNdcQRYFAAAAFMwMDFDMDAxUDAwMVIwMDFBMDAx
cQVhc1gLAAAAYW5ub3RhdGlvbnNxBl1xB31xCChYCQAAAGZyYW1lX2RpcnEJaAVYBQAAAGxhYmVscQpjbnVtcHku
Y29yZS5tdWx0aWFycmF5CnNjYWxhcgpxC2NudW1weQpkdHlwZQpxDFgCAAAAaThxDYmIh3EOUnEPKEsDWAEAAAA8
cRBOTk5K/////0r/////SwB0cRFiY19jb2RlY3MKZW5jb2RlCnESWAgAAAAHAAAAAAAAAHETWAYAAABsYXRpbjFx
FIZxFVJxFoZxF1JxGFgJAAAAaW1nX3NoYXBlcRlNOARNgAeGcRpYDAAAAHRvdGFsX2ZyYW1lc3EbSwJYCAAAAGtl
eXBvaW50cRxjbnVtcHkuY29yZS5tdWx0aWFycmF5Cl9yZWNvbnN0cnVjdApxHWNudW1weQpuZGFycmF5CnEeSwCF
cR9oElgBAAAAYnEgaBSGcSFScSKHcSNScSQoSwEoSwFLAksRSwJ0cSVoDFgCAAAAZjRxJomIh3EnUnEoKEsDaBBO
Tk5K/////0r/////SwB0cSliiWgSWCkBAAAAAAAAAADCgD4AAAA/AABAPwAAwoA/AADCoD8AAMOAPwAAw6A/AAAA
QAAAEEAAACBAAAAwQAAAQEAAAFBAAABgQAAAcEAAAMKAQAAAwohAAADCkEAAAMKYQAAAwqBAAADCqEAAAMKwQAAA
wrhAAADDgEAAAMOIQAAAw5BAAADDmEAAAMOgQAAAw6hAAADDsEAAAMO4QAAAAEEAAARBAAAIQQAADEEAABBBAAAU
QQAAGEEAABxBAAAgQQAAJEEAAChBAAAsQQAAMEEAADRBAAA4QQAAPEEAAEBBAABEQQAASEEAAExBAABQQQAAVEEA
AFhBAABcQQAAYEEAAGRBAABoQQAAbEEAAHBBAAB0QQAAeEEAAHxBAADCgEEAAMKCQQAAwoRBAADChkFxKmgUhnEr
UnEsdHEtYlgOAAAAa2V5cG9pbnRfc2NvcmVxLmgdaB5LAIVxL2gih3EwUnExKEsBSwFLAksRh3EyaCiJaBJYrwAA
AAAAAAAQPsO4PBA+eD3CjC7Cuj0QPsO4PcOKJhs+wowuOj5ONlk+ED54PsOpwqLCiz7DiibCmz7Cq8Kqwqo+wowu
wro+bcKyw4k+TjbDmT4vwrrDqD4QPsO4PsO4w6ADP8OpwqILP8OZZBM/w4omGz/CusOoIj/Cq8KqKj/Cm2wyP8KM
Ljo/fMOwQT9twrJJP110UT9ONlk/PsO4YD8vwrpoPx98cD8QPng/AADCgD9xM2gUhnE0UnE1dHE2YnVhdS4=""",
    4: """
gASVLgMAAAAAAAB9lCiMBXNwbGl0lH2UjAp4c3ViX3RyYWlulF2UjBRTMDAxQzAwMVAwMDFSMDAxQTAwMZRhc4wL
YW5ub3RhdGlvbnOUXZR9lCiMCWZyYW1lX2RpcpRoBYwFbGFiZWyUjBVudW1weS5jb3JlLm11bHRpYXJyYXmUjAZz
Y2FsYXKUk5SMBW51bXB5lIwFZHR5cGWUk5SMAmk4lImIh5RSlChLA4wBPJROTk5K/////0r/////SwB0lGJDCAcA
AAAAAAAAlIaUUpSMCWltZ19zaGFwZZRNOARNgAeGlIwMdG90YWxfZnJhbWVzlEsCjAhrZXlwb2ludJRoC4wMX3Jl
Y29uc3RydWN0lJOUaA6MB25kYXJyYXmUk5RLAIWUQwFilIeUUpQoSwEoSwFLAksRSwJ0lGgQjAJmNJSJiIeUUpQo
SwNoFE5OTkr/////Sv////9LAHSUYolCEAEAAAAAAAAAAIA+AAAAPwAAQD8AAIA/AACgPwAAwD8AAOA/AAAAQAAA
EEAAACBAAAAwQAAAQEAAAFBAAABgQAAAcEAAAIBAAACIQAAAkEAAAJhAAACgQAAAqEAAALBAAAC4QAAAwEAAAMhA
AADQQAAA2EAAAOBAAADoQAAA8EAAAPhAAAAAQQAABEEAAAhBAAAMQQAAEEEAABRBAAAYQQAAHEEAACBBAAAkQQAA
KEEAACxBAAAwQQAANEEAADhBAAA8QQAAQEEAAERBAABIQQAATEEAAFBBAABUQQAAWEEAAFxBAABgQQAAZEEAAGhB
AABsQQAAcEEAAHRBAAB4QQAAfEEAAIBBAACCQQAAhEEAAIZBlHSUYowOa2V5cG9pbnRfc2NvcmWUaB5oIEsAhZRo
IoeUUpQoSwFLAUsCSxGHlGgoiUOIAAAAABA++DwQPng9jC66PRA++D3KJhs+jC46Pk42WT4QPng+6aKLPsommz6r
qqo+jC66Pm2yyT5ONtk+L7roPhA++D744AM/6aILP9lkEz/KJhs/uugiP6uqKj+bbDI/jC46P3zwQT9tskk/XXRR
P042WT8++GA/L7poPx98cD8QPng/AACAP5R0lGJ1YXUu""",
}


@pytest.mark.parametrize("protocol", sorted(NUMPY_1_PICKLES))
def test_a_pyskl_file_written_by_numpy_1_reads(tmp_path: Path, protocol: int) -> None:
    path = tmp_path / "numpy1.pkl"
    path.write_bytes(base64.b64decode(NUMPY_1_PICKLES[protocol]))
    annotations = read_pyskl(path)
    assert annotations.splits == {"xsub_train": ["S001C001P001R001A001"]}
    (clip,) = annotations.clips
    assert (clip.name, clip.label, clip.extras["img_shape"]) == (
        "S001C001P001R001A001",
        7,
        (1080, 1920),
    )
    keypoint = np.arange(68, dtype=np.float32).reshape(1, 2, 17, 2) / 4
    np.testing.assert_array_equal(clip.joints, keypoint.transpose(1, 0, 2, 3))
    score = np.linspace(0, 1, 34, dtype=np.float32).reshape(1, 2, 17)
    np.testing.assert_array_equal(clip.extras["keypoint_score"], score.transpose(1, 0, 2))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"frame_dir": 5}, "frame_dir"),
        ({"keypoint": np.zeros((1, 2, 17, 2), "U3")}, "real-valued"),
        ({"keypoint": np.zeros((1, 2, 18, 2), np.float32)}, "V = 17"),
        ({"keypoint": np.zeros((1, 2, 17, 4), np.float32)}, "C must be 2 or 3"),
        ({"keypoint": np.zeros((1, 0, 17, 2), np.float32)}, "non-empty"),
        ({"keypoint": np.full((1, 2, 17, 2), 1e300)}, "beyond float32"),
        ({"keypoint_score": np.zeros((1, 3, 17), np.float32)}, "keypoint_score"),
        ({"keypoint_score": "high"}, "keypoint_score"),
        ({"label": 2.5}, "label"),
        ({"label": "walk"}, "label"),
        ({"img_shape": (1080,)}, "img_shape"),
        ({"img_shape": "1080x1920"}, "img_shape"),
    ],
)
def test_bad_annotation_fields_are_named(tmp_path: Path, fields: dict, message: str) -> None:
    path = tmp_path / "bad.pkl"
    path.write_bytes(pyskl_file(annotation(**fields)))
    with pytest.raises(DataError, match=message) as caught:
        read_pyskl(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ([1, 2], "'annotations' list"),
        ({"annotations": {}}, "'annotations' list"),
        ({"annotations": [5]}, "not a dict"),
        ({"annotations": [annotation(), annotation()]}, "appears twice"),
        ({"annotations": [], "split": ["train"]}, "split"),
    ],
)
def test_bad_annotation_files_are_named(tmp_path: Path, content: object, message: str) -> None:
    path = tmp_path / "bad.pkl"
    path.write_bytes(pickle.dumps(content))
    with pytest.raises(DataError, match=message) as caught:
        read_pyskl(path)
    assert str(path) in str(caught.value)
