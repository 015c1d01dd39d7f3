"""Reading a ``.npy`` array of joints safely, for every reader of ``.npy`` joints (the generic
format, the pose step's output): the header is read and checked before anything is
allocated."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from numpy.lib import format as npy_format

from stalstm.errors import (
    DataError,
    EmptyFileError,
    LayoutMismatchError,
    NonFiniteError,
    TruncatedFileError,
)
from stalstm.layouts import Layout
from stalstm.readers._checks import check_float32_range


def read_npy_joints(path: Path, layout: Layout) -> np.ndarray:
    """The array of a ``.npy`` clip. Its header is read and checked first (a real-valued dtype,
    3 or 4 dimensions, exactly as many data bytes as the shape needs), so that a header claiming
    10**9 frames is an error rather than an allocation of what it claims."""
    try:
        with path.open("rb") as handle:
            version = npy_format.read_magic(handle)
            if version == (1, 0):
                shape, _, dtype = npy_format.read_array_header_1_0(handle)
            elif version == (2, 0):
                shape, _, dtype = npy_format.read_array_header_2_0(handle)
            else:
                raise DataError(path, f".npy format version {version} is not read (1.0, 2.0 are)")
            _check_npy_header(path, shape, dtype, path.stat().st_size - handle.tell())
            handle.seek(0)
            array = npy_format.read_array(handle, allow_pickle=False)
    except DataError:
        raise
    # numpy parses the header text with Python's tokenizer and literal_eval, which raise many
    # kinds of errors on a corrupt header (ValueError, SyntaxError, tokenize.TokenError...).
    except Exception as error:
        raise DataError(
            path, f"not a readable .npy array: {type(error).__name__}: {error}"
        ) from None
    if array.ndim == 3:
        array = array[:, None]
    if array.shape[2] != layout.num_joints:
        raise LayoutMismatchError(
            path,
            f"{array.shape[2]} joints, layout {layout.name} has {layout.num_joints}",
            field="joints",
        )
    if array.shape[3] not in (2, 3):
        raise LayoutMismatchError(
            path, f"{array.shape[3]} coordinates, expected 2 or 3", field="coordinates"
        )
    if not np.isfinite(array).all():
        frame = int(np.argwhere(~np.isfinite(array))[0][0])
        raise NonFiniteError(path, f"non-finite value in frame {frame}", field="joints")
    check_float32_range(array, path, field="joints")
    return array.astype(np.float32)


def _check_npy_header(path: Path, shape: tuple[int, ...], dtype: np.dtype, data_bytes: int) -> None:
    if dtype.kind not in "iuf":
        raise DataError(path, f"dtype {dtype} is not real-valued", field="dtype")
    if len(shape) not in (3, 4):
        raise LayoutMismatchError(
            path, f"shape {shape}: expected (T, M, V, C) or (T, V, C)", field="shape"
        )
    if shape[0] == 0 or (len(shape) == 4 and shape[1] == 0):
        raise EmptyFileError(path, f"shape {shape}: no frames or no persons", field="shape")
    needed = math.prod(shape) * dtype.itemsize
    if needed != data_bytes:
        error = TruncatedFileError if needed > data_bytes else DataError
        raise error(
            path,
            f"the header declares shape {shape} of {dtype} ({needed} bytes), "
            f"the file holds {data_bytes} bytes of data",
            field="shape",
        )
