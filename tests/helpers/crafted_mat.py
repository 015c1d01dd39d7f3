"""Crafted MATLAB v5 files for the MAT reader's tests, written element by element after the
MAT-file format (MathWorks, "MAT-File Format", level 5): little-endian, each element an 8-byte
tag (type code, byte count) and its data padded to 8 bytes. Sizes can be declared apart from
the bytes that follow, and a zlib stream of a gigabyte of zeros is a megabyte made in
milliseconds."""

from __future__ import annotations

import struct
import zlib

import numpy as np

MI_INT8, MI_INT16, MI_INT32, MI_UINT32, MI_DOUBLE, MI_MATRIX, MI_COMPRESSED = 1, 3, 5, 6, 9, 14, 15
MX_CELL, MX_CHAR, MX_DOUBLE = 1, 4, 6
COMPLEX_FLAG = 0x0800


def file_header(version: int = 0x0100) -> bytes:
    text = b"MATLAB 5.0 MAT-file, crafted by the stalstm tests"
    return text.ljust(116, b" ") + bytes(8) + struct.pack("<H", version) + b"IM"


def element(type_code: int, data: bytes, declared: int | None = None) -> bytes:
    """A tag declaring ``declared`` bytes (default: the data's length), the data, padding."""
    size = len(data) if declared is None else declared
    return struct.pack("<II", type_code, size) + data + bytes(-len(data) % 8)


def matrix_header(name: bytes, dims: tuple[int, ...], mclass: int = MX_DOUBLE, flags: int = 0):
    """The array flags, dimensions and name sub-elements of a miMATRIX element."""
    return (
        element(MI_UINT32, struct.pack("<II", mclass | flags, 0))
        + element(MI_INT32, struct.pack(f"<{len(dims)}i", *dims))
        + element(MI_INT8, name)
    )


def matrix(
    name: bytes, array: np.ndarray, data_type: int = MI_DOUBLE, stored: str = "<f8", **header
) -> bytes:
    """A miMATRIX element (a double array unless ``header`` says otherwise) holding ``array``
    in MATLAB's column order, its data stored as ``stored`` under the type code ``data_type``."""
    data = np.asarray(array, stored).ravel(order="F").tobytes()
    body = matrix_header(name, array.shape, **header) + element(data_type, data)
    return element(MI_MATRIX, body)


def compressed(raw_element: bytes) -> bytes:
    packed = zlib.compress(raw_element)
    return struct.pack("<II", MI_COMPRESSED, len(packed)) + packed


def zero_bomb(prefix: bytes, zeros_mib: int) -> bytes:
    """A miCOMPRESSED element whose zlib stream inflates to ``prefix`` and ``zeros_mib`` MiB of
    zero bytes, about a thousandth of that in the file: one fully flushed block of a MiB of
    zeros, repeated (a full flush makes each block independent of what came before; the stream
    has no end marker, which zlib's incremental decompressor accepts)."""
    compressor = zlib.compressobj(9)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(1 << 20)) + compressor.flush(zlib.Z_FULL_FLUSH)
    packed = head + block * zeros_mib
    return struct.pack("<II", MI_COMPRESSED, len(packed)) + packed


def mat_file(*elements: bytes, version: int = 0x0100) -> bytes:
    return file_header(version) + b"".join(elements)
