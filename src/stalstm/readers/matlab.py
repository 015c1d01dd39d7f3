"""One real numeric array out of a MATLAB v5/v7 MAT-file, read by scipy.io, bounded and checked.

scipy's MAT reader does all the parsing here; this module only decides what it may see and read,
because that reader is not hardened against crafted files (its maintainers say so: scipy pull
request 25166 adds that warning to ``loadmat``'s documentation). Measured with scipy 1.17 on
crafted and altered UTD-MHAD files:

- a data element whose type code is not a numeric type makes it index a C table out of bounds:
  the interpreter dies with a segmentation fault, which no ``except`` can catch;
- element sizes come from the file (up to 4 GiB each, a variable's name included), and a
  compressed variable inflates whatever its zlib stream holds (up to about 1000 times its size)
  into a buffer of the declared size before any shape is checked;
- a variable's name is read into a buffer of the size its tag declares, allocated before a
  byte of it is read: a tag declaring a gigabyte took a gigabyte even when no byte followed.

So scipy reads from ``_BoundedBytes``, which returns at most ``CHUNK`` bytes a read (one zlib
block then inflates to at most about 1000 x that), and:

1. while scipy reads a variable's header it sees only the variable's first ``HEADER_WINDOW``
   bytes, so no header, however much it declares, inflates past a few MiB; before that, the
   tags in those bytes are walked to the name's, which may declare at most ``HEADER_WINDOW``;
2. for the wanted variable, its class and dimensions and the tag of its data element (type code
   and byte count, read by scipy's own tag reader) are checked against the limit on values
   before the data is read; the data read then sees only the variable's own bytes;
3. at most ``MAX_VARIABLES`` variables are looked through for the wanted one.

What is refused raises a typed ``DataError`` naming the file (and the variable as the field):
``TruncatedFileError``, ``EmptyFileError``, ``UnsupportedMatFileError`` (v4, v7.3),
``MatVariableError`` (missing, not a real double/single array, too many values) and
``CorruptMatFileError`` (everything scipy itself cannot read).
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from pathlib import Path

import numpy as np
from scipy.io.matlab import MatReadError, matfile_version

# The reader class and constants scipy.io.loadmat itself uses; scipy has no public way to look
# at a data element's tag before it reads the element.
from scipy.io.matlab._mio5 import MatFile5Reader
from scipy.io.matlab._mio5_params import (
    mclass_info,
    miCOMPRESSED,
    miDOUBLE,
    miINT8,
    miINT16,
    miINT32,
    miINT64,
    miSINGLE,
    miUINT8,
    miUINT16,
    miUINT32,
    miUINT64,
    mxDOUBLE_CLASS,
    mxSINGLE_CLASS,
)

from stalstm.errors import DataError, EmptyFileError, TruncatedFileError

HEADER_BYTES = 128  # the MAT-file header before the first variable
HEADER_WINDOW = 4096  # bytes of a variable scipy may see while it reads the variable's header
CHUNK = 4096  # bytes one read returns at most
MAX_VARIABLES = 1000  # variables looked through for the wanted one: bounds the time a file takes
# Bytes a value takes in each numeric data element type (MAT-file format, "MAT-File Data Types").
ELEMENT_SIZES = {
    miINT8: 1,
    miUINT8: 1,
    miINT16: 2,
    miUINT16: 2,
    miINT32: 4,
    miUINT32: 4,
    miSINGLE: 4,
    miDOUBLE: 8,
    miINT64: 8,
    miUINT64: 8,
}
REAL_CLASSES = (mxDOUBLE_CLASS, mxSINGLE_CLASS)
# What scipy raises on a file it cannot read (zlib and OS errors, bad headers, short buffers,
# unknown types); MemoryError when a declared size cannot even be reserved.
SCIPY_READ_ERRORS = (
    ValueError,
    TypeError,
    OSError,
    EOFError,
    IndexError,
    KeyError,
    OverflowError,
    MemoryError,
    NotImplementedError,
    zlib.error,
    MatReadError,
)


class CorruptMatFileError(DataError):
    """A MAT-file scipy cannot read, or whose declared sizes and types do not add up."""

    kind = "corrupt MAT-file"


class UnsupportedMatFileError(DataError):
    """A MAT-file of a version not read here (v4; v7.3, which is HDF5)."""

    kind = "unsupported MAT-file"


class MatVariableError(DataError):
    """A MAT-file without the wanted variable, or with it as something other than a real
    double or single array within the limit on values."""

    kind = "wrong MAT variable"


class _BoundedBytes:
    """A file's bytes as a read-only stream for scipy's reader: each read returns at most
    ``CHUNK`` bytes and nothing at or past ``end``."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._position = 0
        self.end = len(data)

    @property
    def size(self) -> int:
        return len(self._data)

    @property
    def data(self) -> bytes:
        return self._data

    def read(self, size: int = -1) -> bytes:
        stop = self.end if size is None or size < 0 else min(self.end, self._position + size)
        stop = min(stop, self._position + CHUNK)
        if stop <= self._position:
            return b""
        chunk = self._data[self._position : stop]
        self._position = stop
        return chunk

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: len(self._data)}
        self._position = max(0, base[whence] + offset)
        return self._position

    def tell(self) -> int:
        return self._position


def read_real_array(path: str | Path, variable: str, max_values: int) -> np.ndarray:
    """The real double or single array ``variable`` of a MATLAB v5/v7 MAT-file, as float64 or
    float32 (or the integer type MATLAB stored it in), with the dimensions the file declares.

    The array may hold at most ``max_values`` values; that, its class and the size and type of
    its data are checked before any of it is read (see the module docstring).
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataError(path, f"cannot read the file: {error.strerror or error}") from None
    if not data:
        raise EmptyFileError(path, "the file is empty")
    if len(data) < HEADER_BYTES:
        raise TruncatedFileError(
            path, f"{len(data)} bytes: the file ends inside the {HEADER_BYTES}-byte MAT header"
        )
    try:
        _check_version(path, data)
        return _read(path, data, variable, max_values)
    except SCIPY_READ_ERRORS as error:
        message = str(error) or type(error).__name__
        raise CorruptMatFileError(path, f"scipy.io cannot read it: {message}") from None


def _check_version(path: Path, data: bytes) -> None:
    major, _ = matfile_version(io.BytesIO(data))
    if major == 0:
        raise UnsupportedMatFileError(
            path, "a MATLAB v4 file; save it as v7 (MATLAB: save(name, '-v7'))"
        )
    if major == 2:
        raise UnsupportedMatFileError(
            path, "a MATLAB v7.3 (HDF5) file; save it as v7 (MATLAB: save(name, '-v7'))"
        )


def _read(path: Path, data: bytes, variable: str, max_values: int) -> np.ndarray:
    stream = _BoundedBytes(data)
    reader = MatFile5Reader(stream)
    reader.initialize_read()
    reader.read_file_header()
    seen: list[str] = []
    while not reader.end_of_stream():
        if len(seen) == MAX_VARIABLES:
            raise MatVariableError(
                path, f"no variable {variable!r} among the first {MAX_VARIABLES}", field=variable
            )
        start = stream.tell()
        header, end = _read_header(path, reader, stream, len(seen) + 1)
        name = _name(header)
        if name == variable:
            return _read_checked(path, reader, stream, header, (start, end), max_values)
        seen.append(name)
        stream.seek(end)
    listed = ", ".join(repr(name[:40]) for name in seen[:10]) or "none"
    raise MatVariableError(
        path, f"no variable {variable!r}; the file holds {listed}", field=variable
    )


def _read_header(path: Path, reader: MatFile5Reader, stream: _BoundedBytes, number: int):
    """The header of the variable at the stream's position and where the variable ends, read
    with only its first ``HEADER_WINDOW`` bytes in sight."""
    start = stream.tell()
    size = stream.size
    if size - start < 8:
        raise TruncatedFileError(path, f"the file ends inside the tag of variable {number}")
    _check_name_size(path, stream.data, start, reader.byte_order, number)
    stream.end = min(size, start + HEADER_WINDOW)
    try:
        header, end = reader.read_var_header()
    except SCIPY_READ_ERRORS as error:
        raise CorruptMatFileError(
            path,
            f"variable {number}: scipy.io cannot read its header from its first "
            f"{HEADER_WINDOW} bytes: {error or type(error).__name__}",
        ) from None
    stream.end = size
    if end > size:
        raise TruncatedFileError(
            path,
            f"variable {number} declares {end - start - 8:,} bytes; the file ends "
            f"{end - size:,} bytes early",
            field=_name(header) or None,
        )
    return header, end


def _name(header) -> str:
    """A variable's name; "" for one whose header has none (scipy reads an object of the
    opaque class without a name in its header: never the real array wanted here)."""
    return "" if header.name is None else header.name.decode("latin1")


def _check_name_size(path: Path, data: bytes, start: int, byte_order: str, number: int) -> None:
    """Refuse a variable whose name element declares more than ``HEADER_WINDOW`` bytes: scipy
    allocates a name at its declared size before it reads it. The variable's first
    ``HEADER_WINDOW`` bytes (inflated, for a compressed one) are walked: the miMATRIX tag, then
    the array flags, dimensions and name elements (MAT-File Format: a full tag is type and byte
    count, 4 bytes each; a small element packs a byte count of at most 4 into its type's upper
    16 bits). Whatever does not parse here is left to scipy, which refuses it."""
    tag_format = f"{byte_order}II"
    element_type, byte_count = struct.unpack_from(tag_format, data, start)
    window = data[start : start + HEADER_WINDOW]
    if element_type == miCOMPRESSED:
        stream = data[start + 8 : start + 8 + byte_count]
        try:
            window = zlib.decompressobj().decompress(stream, HEADER_WINDOW)
        except zlib.error:
            return
    position = 8  # past the miMATRIX tag
    for element in ("array flags", "dimensions", "name"):
        if len(window) < position + 8:
            return
        packed, byte_count = struct.unpack_from(tag_format, window, position)
        if packed >> 16:  # a small element: its data sits in the tag's second half
            byte_count, length = packed >> 16, 8
        else:
            length = 8 + byte_count + -byte_count % 8
        if element == "name" and byte_count > HEADER_WINDOW:
            raise CorruptMatFileError(
                path, f"variable {number}: its name element declares {byte_count:,} bytes"
            )
        position += length


def _read_checked(
    path: Path,
    reader: MatFile5Reader,
    stream: _BoundedBytes,
    header,
    extent: tuple[int, int],
    max_values: int,
) -> np.ndarray:
    """Check the variable's header and data tag, then let scipy read it."""
    variable = _name(header)
    start, end = extent
    values = _check_header(path, header, variable, max_values)
    if values == 0:  # an empty array has no data to read
        return np.zeros(header.dims)
    stream.end = end  # from here on scipy sees this variable's bytes only
    matrix = reader._matrix_reader  # reads the variable's elements after its header
    element_type, byte_count = matrix.read_full_tag()
    _check_data_tag(path, header, variable, values, element_type, byte_count)
    stream.seek(start)
    reader.read_var_header()
    matrix.read_numeric()  # the real part, now known to be safe to read
    if _another_element_follows(matrix):
        # scipy does not show the complex flag; an imaginary part would be an unchecked second
        # element, so whatever follows the real part is refused
        raise MatVariableError(
            path, "a complex array (a second data element follows the real part)", field=variable
        )
    stream.seek(start)  # checked: now scipy reads it as loadmat would
    header, _ = reader.read_var_header()
    array = np.asarray(reader.read_var_array(header))
    if array.shape != tuple(header.dims) or array.dtype.kind not in "fiu":
        raise CorruptMatFileError(
            path, f"scipy read {array.dtype} {array.shape}, not {header.dims}", field=variable
        )
    return array


def _another_element_follows(matrix) -> bool:
    try:
        matrix.read_full_tag()
    except OSError:  # scipy's "could not read bytes": the variable ends here
        return False
    return True


def _check_header(path: Path, header, variable: str, max_values: int) -> int:
    """The number of values the variable declares, after checking its class and dimensions."""
    kind = mclass_info.get(header.mclass, f"class {header.mclass}")
    if header.mclass not in REAL_CLASSES or header.is_logical:
        kind = "logical" if header.is_logical else kind
        raise MatVariableError(
            path, f"a {kind} array, not a real double or single one", field=variable
        )
    dims = list(header.dims)
    if any(size < 0 for size in dims):
        raise CorruptMatFileError(path, f"negative dimensions {dims}", field=variable)
    values = math.prod(dims)
    if values > max_values:
        raise MatVariableError(
            path,
            f"declares {' x '.join(map(str, dims))} = {values:,} values, over the limit of "
            f"{max_values:,}",
            field=variable,
        )
    return values


def _check_data_tag(
    path: Path, header, variable: str, values: int, element_type: int, byte_count: int
) -> None:
    """Refuse a data element of a non-numeric type (scipy would crash on it) or of a size
    other than the dimensions need (scipy would read whatever it declares)."""
    if element_type not in ELEMENT_SIZES:
        raise CorruptMatFileError(
            path, f"data element of type code {element_type}, not a numeric type", field=variable
        )
    needed = values * ELEMENT_SIZES[element_type]
    if byte_count != needed:
        raise CorruptMatFileError(
            path,
            f"data element of {byte_count:,} bytes; {header.dims} values need {needed:,}",
            field=variable,
        )
