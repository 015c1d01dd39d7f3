"""MAT-file mutations for the reader fuzz campaign (``reader_fuzzing.py``): a real UTD-MHAD file
taken apart into the parts of its one variable (MAT-File Format, level 5: the 128-byte header,
then a miCOMPRESSED element holding a miMATRIX of array flags, dimensions, name and data), one
part changed at a time, and written back with the crafted-file helpers of ``crafted_mat.py``.

Byte noise rarely reaches what a MAT reader must refuse: a tag declaring gigabytes, dimensions
claiming 10**9 frames or lying about the data that follows, a class or data type scipy cannot
read (an unknown data type crashed scipy 1.17 outright), a zlib stream that inflates a thousand
times, a big-endian file, variables before and after the one wanted. These mutations reach it;
``mat_as_recorded`` leaves the real bytes as they are, so that byte mutations work on them too.
"""

from __future__ import annotations

import dataclasses
import struct
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.io
from hypothesis import strategies as st

from helpers.crafted_mat import (
    COMPLEX_FLAG,
    MI_COMPRESSED,
    MI_INT8,
    MI_INT32,
    MI_MATRIX,
    MI_UINT32,
    MX_CELL,
    MX_DOUBLE,
    compressed,
    element,
    matrix,
    matrix_header,
    zero_bomb,
)
from helpers.fuzz_mutations import Draw, Mutation

MX_CLASSES = [0, MX_CELL, 2, 3, 4, 5, MX_DOUBLE, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 99]
LOGICAL_FLAG, GLOBAL_FLAG = 0x0200, 0x0400
# (data type code, how the values are stored): MATLAB's numeric types, then codes that are not
# numeric (miMATRIX, miCOMPRESSED, the UTF types, reserved ones, nonsense)
DATA_TYPES = [
    (1, "<i1"), (2, "<u1"), (3, "<i2"), (4, "<u2"), (5, "<i4"), (6, "<u4"), (7, "<f4"),
    (9, "<f8"), (12, "<i8"), (13, "<u8"), (0, "<f8"), (8, "<f8"), (10, "<f8"), (11, "<f8"),
    (14, "<f8"), (15, "<f8"), (16, "<f4"), (17, "<f8"), (18, "<f4"), (114, "<f8"),
    (0xFFFF, "<f8"),
]  # fmt: skip
DECLARED_SIZES = [0, 1, 7, 8, 2**31 - 8, 2**32 - 8, 2**32 - 1, 10**9]


@dataclass(frozen=True)
class MatFile:
    """A MAT-file holding ``d_skel``, in parts: ``original`` is the real file's bytes while no
    part has changed; ``declared`` overrides the byte count a tag declares (``compressed``,
    ``matrix``, ``flags``, ``dimensions``, ``name``, ``data``); ``before`` and ``after`` are
    whole variables around it."""

    original: bytes | None
    header: bytes
    values: np.ndarray
    dims: tuple[int, ...]
    name: bytes = b"d_skel"
    mclass: int = MX_DOUBLE
    flags: int = 0
    data_type: int = 9
    stored: str = "<f8"
    declared: dict[str, int] = field(default_factory=dict)
    compression: str = "zlib"  # "zlib", "none", "zlib cut", "zero tail", "data bomb"
    bomb_mib: int = 0
    before: tuple[bytes, ...] = ()
    after: tuple[bytes, ...] = ()

    def __repr__(self) -> str:  # hypothesis prints the drawn seed of a failing input
        if self.original is not None:
            return f"MatFile(real file of {len(self.original)} bytes, d_skel {self.dims})"
        parts = {
            "values": f"{self.values.dtype} {self.values.shape}",
            "dims": self.dims, "name": self.name[:40], "mclass": self.mclass,
            "flags": self.flags, "data_type": self.data_type, "stored": self.stored,
            "declared": self.declared, "compression": self.compression,
            "bomb_mib": self.bomb_mib, "header": self.header[116:],
            "before": [len(extra) for extra in self.before],
            "after": [len(extra) for extra in self.after],
        }  # fmt: skip
        return "MatFile(" + ", ".join(f"{key}={value!r}" for key, value in parts.items()) + ")"


def read_mat_seed(path: Path) -> MatFile:
    """A real UTD-MHAD file as parts (scipy reads the real, trusted file)."""
    original = path.read_bytes()
    values = scipy.io.loadmat(path)["d_skel"]
    return MatFile(original, original[:128], values, values.shape)


def changed(value: MatFile, **parts) -> MatFile:
    return dataclasses.replace(value, original=None, **parts)


def encode_mat(value: MatFile) -> bytes:
    if value.original is not None:
        return value.original
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an integer type stores what it can of the values
        data = np.asarray(value.values).astype(value.stored).ravel(order="F").tobytes()
    head = (
        element(
            MI_UINT32,
            struct.pack("<II", value.mclass | value.flags, 0),
            value.declared.get("flags"),
        )
        + element(
            MI_INT32,
            struct.pack(f"<{len(value.dims)}i", *value.dims),
            value.declared.get("dimensions"),
        )
        + element(MI_INT8, value.name, value.declared.get("name"))
    )
    if value.compression == "data bomb":  # the data element declares and inflates to the zeros
        zeros = value.bomb_mib << 20
        prefix = struct.pack("<II", MI_MATRIX, len(head) + 8 + zeros) + head
        variable = zero_bomb(prefix + struct.pack("<II", value.data_type, zeros), value.bomb_mib)
    else:
        body = head + element(value.data_type, data, value.declared.get("data"))
        variable = element(MI_MATRIX, body, value.declared.get("matrix"))
        if value.compression == "zero tail":  # zeros inflate after the variable's end
            variable = zero_bomb(variable, value.bomb_mib)
        elif value.compression != "none":
            packed = zlib.compress(variable)
            if value.compression == "zlib cut":  # its second half zeroed, its length kept
                packed = packed[: len(packed) // 2] + bytes(len(packed) - len(packed) // 2)
            size = value.declared.get("compressed", len(packed))
            variable = struct.pack("<II", MI_COMPRESSED, size) + packed
    return value.header + b"".join(value.before) + variable + b"".join(value.after)


# --- the mutations ----------------------------------------------------------------------------


def mat_as_recorded(value: MatFile, draw: Draw) -> MatFile:
    """The file as it is (byte mutations, if any, then change the real bytes)."""
    return value


def mat_declared_size(value: MatFile, draw: Draw) -> MatFile:
    """A tag declares another byte count than what follows it: huge, zero, off by one."""
    tag = draw(st.sampled_from(["compressed", "matrix", "flags", "dimensions", "name", "data"]))
    return changed(value, declared={**value.declared, tag: draw(st.sampled_from(DECLARED_SIZES))})


def mat_lying_dims(value: MatFile, draw: Draw) -> MatFile:
    """Dimensions that do not describe the data after them: 10**9 frames, negative, zero, one
    frame more or less, other joints or coordinates, more or fewer dimensions."""
    frames = value.values.shape[-1] if value.values.ndim else 1
    options = [
        (20, 3, 10**9), (20, 3, -5), (20, 3, 0), (20, 3, frames + 1), (20, 3, frames - 1),
        (19, 3, frames), (20, 2, frames), (20, 3, frames, 1), (20, 3), (60, frames),
        (2**31 - 1, 2**31 - 1, 2**31 - 1), (1,), (), (20, 3, 1, 1, 1, 1, 0), (-1, -3, frames),
    ]  # fmt: skip
    return changed(value, dims=draw(st.sampled_from(options)))


def mat_odd_shape(value: MatFile, draw: Draw) -> MatFile:
    """Data of another shape, its dimensions telling the truth: 19 joints, 2 coordinates, one
    frame, a 20 x 3 matrix, four dimensions, no frames, frames first, 40 times the frames."""
    array = np.asarray(value.values)
    if array.ndim != 3 or array.shape[:2] != (20, 3) or array.shape[2] == 0:
        return value  # an earlier mutation already changed the shape
    variants = [
        array[:19], array[:, :2], array[..., :1], array[:, :, 0], array[..., None], array[..., :0],
        array.reshape(60, -1), array.transpose(2, 1, 0), np.tile(array, (1, 1, 40)),
        array[:0], np.ones((0, 0)), np.ones((1, 1)),
    ]  # fmt: skip
    new = draw(st.sampled_from(variants))
    return changed(value, values=new, dims=new.shape)


def mat_odd_class(value: MatFile, draw: Draw) -> MatFile:
    """Another array class (char, cell, struct, sparse, integers...) or flags (complex,
    logical, global)."""
    mclass = draw(st.sampled_from(MX_CLASSES))
    flags = draw(st.sampled_from([0, COMPLEX_FLAG, LOGICAL_FLAG, GLOBAL_FLAG, 0xFF00]))
    return changed(value, mclass=mclass, flags=flags)


def mat_odd_data_type(value: MatFile, draw: Draw) -> MatFile:
    """The values stored as another numeric type, or under a type code that is not numeric."""
    data_type, stored = draw(st.sampled_from(DATA_TYPES))
    return changed(value, data_type=data_type, stored=stored)


def mat_odd_values(value: MatFile, draw: Draw) -> MatFile:
    """NaN, infinity, values beyond float32 (1e39, 1e300), subnormals, at one place or all."""
    array = np.array(value.values, dtype=np.float64)
    if array.size == 0:
        return value
    odd = draw(st.sampled_from([np.nan, np.inf, -np.inf, 1e300, 1e39, -3.5e38, 1e-320, -0.0]))
    if draw(st.booleans()):
        array[np.unravel_index(draw(st.integers(0, array.size - 1)), array.shape)] = odd
    else:
        array[...] = odd
    return changed(value, values=array)


def mat_compression(value: MatFile, draw: Draw) -> MatFile:
    """Stored uncompressed, compressed anew, with its zlib stream cut, or with a zlib stream
    that inflates a thousand times (zeros after the variable, or zeros as its data)."""
    compression = draw(st.sampled_from(["none", "zlib", "zlib cut", "zero tail", "data bomb"]))
    return changed(value, compression=compression, bomb_mib=draw(st.sampled_from([1, 64, 1024])))


def _name_bomb(mib: int) -> bytes:
    """A variable whose name element declares and inflates to ``mib`` MiB of zeros."""
    head = element(MI_UINT32, struct.pack("<II", MX_DOUBLE, 0))
    head += element(MI_INT32, struct.pack("<2i", 1, 1))
    named = struct.pack("<II", MI_MATRIX, len(head) + 8 + (mib << 20)) + head
    return zero_bomb(named + struct.pack("<II", MI_INT8, mib << 20), mib)


def mat_other_variables(value: MatFile, draw: Draw) -> MatFile:
    """Another variable before or after ``d_skel``: a plain one, a second ``d_skel`` of the
    wrong shape, a name past 4 KiB, a cell claiming 3.6e9 cells, a name inflating to a GiB,
    1001 small ones, an empty or unknown element."""
    array = np.asarray(value.values)
    choice = draw(st.integers(0, 9))
    if choice == 0:
        extra = matrix(b"fps", np.array([[30.0]]))
    elif choice == 1:
        extra = compressed(matrix(b"d_skel", array[:19] if array.ndim else np.ones((19, 3))))
    elif choice == 2:
        extra = matrix(b"x" * 5000, np.ones((1, 1)))
    elif choice == 3:
        extra = element(MI_MATRIX, matrix_header(b"c", (60000, 60000), MX_CELL))
    elif choice == 4:
        extra = _name_bomb(draw(st.sampled_from([1, 1024])))
    elif choice == 5:
        extra = b"".join(matrix(f"x{k}".encode(), np.ones((1, 1))) for k in range(1001))
    elif choice == 6:
        extra = element(MI_MATRIX, b"")
    elif choice == 7:
        extra = compressed(b"")
    elif choice == 8:
        extra = element(99, b"unknown element")
    else:
        extra = compressed(matrix(b"other", np.ones((20, 3, 2))))
    if draw(st.booleans()):
        return changed(value, before=(*value.before, extra))
    return changed(value, after=(*value.after, extra))


def mat_header(value: MatFile, draw: Draw) -> MatFile:
    """The file header changed: version (v7.3, v4-like, nonsense), big-endian marks, text."""
    header = bytearray(value.header)
    choice = draw(st.integers(0, 3))
    if choice == 0:
        header[124:126] = struct.pack("<H", draw(st.sampled_from([0, 0x0200, 0xFFFF, 0x0001])))
    elif choice == 1:
        header[126:128] = draw(st.sampled_from([b"MI", b"II", b"\x00\x00"]))
    elif choice == 2:
        header[0:6] = draw(st.sampled_from([b"      ", b"\x00" * 6, b"MATLAB"[::-1]]))
    else:
        header[116:124] = draw(st.sampled_from([b"\xff" * 8, b"\x80" + bytes(7)]))
    return changed(value, header=bytes(header))


def mat_name(value: MatFile, draw: Draw) -> MatFile:
    """The variable renamed: case, a NUL, empty, cut, thousands of characters, not ASCII."""
    name = draw(
        st.sampled_from(
            [b"D_SKEL", b"d_skel\x00", b"", b"d_ske", b"d_skel" * 1000, b"d_sk\xe9l", b"\xff" * 8]
        )
    )
    return changed(value, name=name)


MAT_MUTATIONS: list[Mutation] = [
    mat_as_recorded, mat_as_recorded, mat_declared_size, mat_lying_dims, mat_odd_shape,
    mat_odd_class, mat_odd_data_type, mat_odd_values, mat_compression, mat_other_variables,
    mat_header, mat_name,
]  # fmt: skip
