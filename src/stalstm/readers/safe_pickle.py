"""A pickle reader that cannot be steered: plain containers, scalars and numpy arrays only.

A pickle is a program for a small stack machine whose instructions call importable functions
with arguments of the file's choosing. Allowing ``numpy.ndarray`` and ``numpy.dtype`` by name is
not enough: ``numpy.ndarray(shape, dtype('O'), buffer)`` builds an object array over bytes the file
chose (each element an arbitrary pointer: a segmentation fault, or worse), a dtype's BUILD state
can forge its flags or give a field an offset past its item size, and ``ndarray((2**40,))`` asks
for 4 TiB. So numpy's functions are never called with the file's arguments:

- ``find_class`` answers only the names that numpy's own array, dtype and scalar pickles use (the
  numpy 1.x ``numpy.core`` and 2.x ``numpy._core`` spellings), plus ``_codecs.encode`` and
  ``bytes``, which protocol-2 pickles (mmcv's default, so most PYSKL files) use for raw bytes; it
  returns validating stand-ins of ours. ``numpy.ndarray`` is only accepted as the type argument of
  ``_reconstruct``, never called.
- A dtype is plain bool, integer, float, complex or fixed-width byte or unicode string
  (``ALLOWED_KINDS``); its BUILD state must be exactly numpy's own state for that dtype (no object
  or structured dtype, no forged flags, offsets or sizes).
- An array is built only as ``np.frombuffer(raw, dtype).reshape(shape)``, after checking that
  ``raw`` holds exactly prod(shape) x itemsize bytes and that the shape asks for at most
  ``MAX_ARRAY_BYTES``.
- While unpickling, the stand-ins hand back placeholders, so a BUILD instruction can only reach our
  own checks, never numpy's ``__setstate__``; afterwards one walk over the result replaces them with
  the arrays, dtypes and scalars, and refuses anything else, cycles, and nesting deeper than
  ``MAX_DEPTH``.
- Before unpickling, the opcodes are walked once with ``pickletools.genops`` over the file's bytes
  (read into memory: their size bounds everything the file can hold). CPython's unpickler
  allocates a bytes object of the declared length before reading it and grows its memo to the
  largest index named, so an 11-byte file could otherwise take gigabytes; the walk checks every
  declared length against the bytes really there, and memo indices against the entries written so
  far. It also refuses the opcodes no annotation file needs (sets, extensions, persistent ids,
  class instantiation, out-of-band buffers) and dictionary keys other than strings, bytes, small
  integers, booleans and None (hash-colliding keys would make building a dict quadratic).

Every failure, memory included, is a ``DataError`` naming the file: ``UnsafePickleError`` for
something refused, ``DataError`` for a pickle that is malformed or truncated.
"""

from __future__ import annotations

import io
import math
import pickle
import pickletools
import re
from pathlib import Path
from typing import Any

import numpy as np

from stalstm.errors import DataError, UnsafePickleError

MAX_ARRAY_BYTES = 1 << 30  # what one array's shape may ask for (1 GiB)
MAX_DIMENSIONS = 32
MAX_DEPTH = 32  # containers nested deeper than this are refused
# dtype kinds and item sizes that are read; ``S`` and ``U`` take any size up to the array cap.
ALLOWED_KINDS = {
    "b": (1,),
    "i": (1, 2, 4, 8),
    "u": (1, 2, 4, 8),
    "f": (2, 4, 8),
    "c": (8, 16),
    "S": None,
    "U": None,
}
_TYPESTR = re.compile(r"([biufcSU])([0-9]{1,10})")
_REFUSED_OPCODES = {
    "PERSID",
    "BINPERSID",
    "EXT1",
    "EXT2",
    "EXT4",
    "INST",
    "OBJ",
    "NEWOBJ",
    "NEWOBJ_EX",
    "EMPTY_SET",
    "ADDITEMS",
    "FROZENSET",
    "NEXT_BUFFER",
    "READONLY_BUFFER",
}
# Stack kinds (pickletools' names) that may be dictionary keys: their hashes cannot be made to
# collide in bulk (str hashes are salted; integers below 2**61 - 1 hash to themselves).
_KEY_KINDS = {"str", "bytes_or_str", "bytes", "int", "int_or_bool", "bool", "None"}
_SMALL_INTEGER = (1 << 61) - 1
_INTEGER_OPCODES = {"INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4"}
_MARK = "mark"


class _RefusedError(Exception):
    """Something this reader will not build; becomes ``UnsafePickleError`` naming the file."""


class _MalformedError(Exception):
    """A pickle that is inconsistent or truncated; becomes ``DataError`` naming the file."""


def safe_load_pickle(path: str | Path) -> Any:
    """Unpickle ``path`` building only containers, numbers, strings, bytes, numpy arrays, dtypes
    and scalars of plain numeric, boolean and string types (see the module docstring).

    Raises:
        UnsafePickleError: the file asks for a function, dtype, state or opcode that is refused.
        DataError: the file is unreadable, malformed, truncated, or too large to build.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise DataError(path, f"cannot read the file: {error.strerror}") from None
    try:
        check_opcodes(data)
        loaded = _StandInUnpickler(io.BytesIO(data)).load()
        return _materialise(loaded, 0, {}, set())
    except _RefusedError as error:
        raise UnsafePickleError(path, str(error)) from None
    except _MalformedError as error:
        raise DataError(path, f"not a readable pickle: {error}") from None
    # A hostile pickle can make the unpickler raise nearly anything (UnpicklingError, EOFError,
    # ValueError, TypeError, KeyError, MemoryError...): each is reported as bad data in this file.
    except Exception as error:
        raise DataError(path, f"not a readable pickle: {type(error).__name__}: {error}") from None


def check_opcodes(data: bytes) -> None:
    """Walk the pickle's opcodes without building anything (``pickletools.genops``), following the
    kinds of the stack's items: refuse the opcodes annotation files never need, memo indices
    beyond the entries written so far, and dictionary keys that are not plain scalars; every
    declared length is checked against the bytes that remain (genops reads only what is there)."""
    stack: list[str] = []
    marks: list[int] = []
    memo: dict[int, str] = {}
    try:
        for opcode, argument, position in pickletools.genops(data):
            name = opcode.name
            if name in _REFUSED_OPCODES:
                raise _RefusedError(
                    f"opcode {name} at byte {position}: annotation files never need it"
                )
            if name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
                index = len(memo) if name == "MEMOIZE" else argument
                if index > len(memo):
                    raise _MalformedError(f"memo index {index} at byte {position} skips entries")
                if len(stack) <= (marks[-1] if marks else 0):
                    raise _MalformedError(f"{name} at byte {position} with nothing to store")
                memo[index] = stack[-1]
                continue
            popped, above_mark = _pop(opcode, stack, marks, position)
            if name in ("SETITEM", "SETITEMS", "DICT"):
                keys = popped[1:2] if name == "SETITEM" else above_mark[0::2]
                if len(above_mark) % 2:
                    raise _MalformedError(f"{name} at byte {position} with an odd number of items")
                for key in keys:
                    if key not in _KEY_KINDS:
                        raise _RefusedError(f"a dictionary key of kind {key} at byte {position}")
            if name in ("GET", "BINGET", "LONG_BINGET"):
                if argument not in memo:
                    raise _MalformedError(f"memo index {argument} at byte {position} was never set")
                stack.append(memo[argument])
            elif name in _INTEGER_OPCODES:
                small = isinstance(argument, int) and abs(argument) < _SMALL_INTEGER
                stack.append("int" if small else "large int")
            elif name == "MARK":
                marks.append(len(stack))
            else:
                stack.extend(kind.name for kind in opcode.stack_after)
    except ValueError as error:  # genops: truncated data, unknown opcode, missing STOP
        raise _MalformedError(str(error)) from None


def _pop(
    opcode: pickletools.OpcodeInfo, stack: list[str], marks: list[int], position: int
) -> tuple[list[str], list[str]]:
    """Pop what ``opcode`` consumes: the kinds of its fixed arguments, and (for an opcode that
    reads up to a MARK) those of the items above the mark."""
    before = [kind.name for kind in opcode.stack_before]
    above_mark: list[str] = []
    if _MARK in before:
        if not marks:
            raise _MalformedError(f"{opcode.name} at byte {position} without a MARK")
        start = marks.pop()
        above_mark = stack[start:]
        del stack[start:]
        before = before[: before.index(_MARK)]
    # Like CPython's unpickler, never pop across a MARK: the walk then follows its stack exactly.
    if len(stack) - len(before) < (marks[-1] if marks else 0):
        raise _MalformedError(f"{opcode.name} at byte {position} on a stack that is too short")
    popped = stack[len(stack) - len(before) :]
    del stack[len(stack) - len(before) :]
    return popped, above_mark


class _StandInUnpickler(pickle.Unpickler):
    """The C unpickler with every global answered by a stand-in of ours (or refused)."""

    def find_class(self, module: str, name: str) -> Any:
        stand_in = _STAND_INS.get((module, name))
        if stand_in is None:
            raise _RefusedError(
                f"refused to load {module}.{name}: only plain containers, numbers, strings and "
                "numpy arrays of numbers, booleans and strings are read"
            )
        return stand_in


class _Placeholder:
    """What a stand-in returns while unpickling: a BUILD on it reaches ``__setstate__`` here,
    never numpy's; ``resolve`` gives the real object after the load."""

    __slots__ = ()

    def __setstate__(self, state: Any) -> None:
        raise _RefusedError(f"a state set on {self.describe()}")

    def describe(self) -> str:
        return type(self).__name__

    def resolve(self) -> Any:
        raise NotImplementedError


class _NumpyArrayType(_Placeholder):
    """``numpy.ndarray`` as a pickle names it: the type argument of ``_reconstruct``, nothing
    more. Calling it is refused: that is the route to object arrays over chosen bytes."""

    __slots__ = ()

    def __call__(self, *arguments: Any, **keywords: Any) -> Any:
        raise _RefusedError(
            "numpy.ndarray called as a function: arrays are only rebuilt from raw data"
        )

    def describe(self) -> str:
        return "numpy.ndarray"

    def resolve(self) -> Any:
        raise _RefusedError("a bare reference to numpy.ndarray")


_NDARRAY = _NumpyArrayType()


class _PendingDtype(_Placeholder):
    """``numpy.dtype(typestr, align, copy)`` as numpy pickles it, checked: an allowed kind and
    size, then (BUILD) exactly numpy's own state for the dtype that state describes."""

    __slots__ = ("dtype", "kind", "size", "state_set")

    def __init__(self, kind: str, size: int) -> None:
        self.kind, self.size = kind, size  # size: bytes, or characters for S and U
        self.dtype = _plain_dtype("", kind, size)
        self.state_set = False

    def __setstate__(self, state: Any) -> None:
        if self.state_set:
            raise _RefusedError(f"the state of dtype {self.dtype} set twice")
        if type(state) is not tuple or len(state) < 8:
            raise _RefusedError(f"dtype state {state!r} is not numpy's form")
        byte_order, element_size = state[1], state[5]
        if byte_order not in ("<", ">", "|") or type(element_size) is not int:
            raise _RefusedError(f"dtype state {state!r} is not numpy's form")
        size = self.size
        if self.kind in "SU":  # a flexible dtype's state carries its item size in bytes
            size, remainder = divmod(element_size, 4 if self.kind == "U" else 1)
            if size < 1 or remainder:
                raise _RefusedError(f"dtype state {state!r}: item size {element_size}")
        candidate = _plain_dtype(byte_order, self.kind, size)
        expected = candidate.__reduce__()[2]
        if state != expected:
            raise _RefusedError(
                f"dtype state {state!r} is not numpy's standard state {expected!r} of {candidate}"
            )
        self.dtype, self.state_set = candidate, True

    def describe(self) -> str:
        return f"dtype {self.dtype}"

    def resolve(self) -> np.dtype:
        return self.dtype


def _dtype(typestr: Any, align: Any = False, copy: Any = True) -> _PendingDtype:
    match = _TYPESTR.fullmatch(typestr) if type(typestr) is str else None
    if match is None:
        raise _RefusedError(
            f"dtype {typestr!r}: only bool, integer, float, complex and fixed-width string "
            "dtypes are read (no object, structured, void or date dtypes)"
        )
    kind, size = match.group(1), int(match.group(2))
    sizes = ALLOWED_KINDS[kind]
    if (sizes is not None and size not in sizes) or (sizes is None and size < 1):
        raise _RefusedError(f"dtype {typestr!r}: not a plain dtype")
    if type(align) not in (bool, int) or align or type(copy) not in (bool, int):
        raise _RefusedError(f"dtype {typestr!r} with align={align!r}, copy={copy!r}")
    return _PendingDtype(kind, size)


def _plain_dtype(byte_order: str, kind: str, size: int) -> np.dtype:
    itemsize = size * 4 if kind == "U" else size
    if itemsize > MAX_ARRAY_BYTES:
        raise _RefusedError(f"a dtype of {itemsize} bytes per item")
    return np.dtype(f"{byte_order}{kind}{size}")


class _PendingArray(_Placeholder):
    """An array from ``_reconstruct`` waiting for its BUILD state, or one already built by
    ``_frombuffer``; either way built by ``_array_from_bytes`` only."""

    __slots__ = ("array",)

    def __init__(self, array: np.ndarray | None = None) -> None:
        self.array = array

    def __setstate__(self, state: Any) -> None:
        if self.array is not None:
            raise _RefusedError("the state of an array set twice")
        if type(state) is not tuple or len(state) != 5:
            raise _RefusedError("array state is not numpy's (version, shape, dtype, fortran, data)")
        version, shape, dtype, is_fortran, raw = state
        if version != 1 or type(version) is not int or type(is_fortran) is not bool:
            raise _RefusedError(f"array state version {version!r}, fortran flag {is_fortran!r}")
        self.array = _array_from_bytes(raw, dtype, shape, "F" if is_fortran else "C")

    def describe(self) -> str:
        return "an array"

    def resolve(self) -> np.ndarray:
        if self.array is None:
            raise _MalformedError("an array whose data never came")
        return self.array


class _PendingScalar(_Placeholder):
    """A numpy scalar (``scalar(dtype, raw)``), built from its raw bytes."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def describe(self) -> str:
        return "a numpy scalar"

    def resolve(self) -> Any:
        return self.value


def _array_from_bytes(
    raw: Any, dtype: Any, shape: Any, order: str, axis_order: Any = None
) -> np.ndarray:
    """The one place arrays are built: plain dtype, raw bytes of exactly the shape's size."""
    if not isinstance(dtype, _PendingDtype):
        raise _RefusedError("an array's dtype must be a pickled numpy dtype")
    dtype = dtype.resolve()
    if type(raw) not in (bytes, bytearray):
        raise _RefusedError(f"array data of type {type(raw).__name__}, not raw bytes")
    if type(shape) is not tuple or len(shape) > MAX_DIMENSIONS:
        raise _MalformedError(
            f"array shape {shape!r} is not a tuple of at most {MAX_DIMENSIONS} sizes"
        )
    if not all(type(size) is int and size >= 0 for size in shape):
        raise _MalformedError(f"array shape {shape!r} is not made of sizes")
    asked = math.prod(max(size, 1) for size in shape) * dtype.itemsize
    if asked > MAX_ARRAY_BYTES:
        raise _MalformedError(
            f"array shape {shape} of {dtype} asks for {asked} bytes (cap {MAX_ARRAY_BYTES})"
        )
    needed = math.prod(shape) * dtype.itemsize
    if len(raw) != needed:
        raise _MalformedError(
            f"array shape {shape} of {dtype} needs {needed} bytes, the data has {len(raw)}"
        )
    flat = np.frombuffer(raw, dtype=dtype)
    if order == "K" and axis_order is not None:
        if type(axis_order) is not tuple or sorted(axis_order) != list(range(len(shape))):
            raise _MalformedError(f"axis order {axis_order!r} for shape {shape}")
        array = flat.reshape(shape, order="C").transpose(axis_order)
    elif order in ("C", "F") and axis_order is None:
        array = flat.reshape(shape, order=order)
    else:
        raise _MalformedError(f"array order {order!r}")
    return array.copy(order="K")  # writeable and owning its memory, as numpy's own unpickling


def _reconstruct(subtype: Any, shape: Any, typecode: Any) -> _PendingArray:
    if subtype is not _NDARRAY or shape != (0,) or typecode not in (b"b", "b"):
        raise _RefusedError(
            "numpy _reconstruct is only read as numpy writes it: (ndarray, (0,), b'b')"
        )
    return _PendingArray()


def _frombuffer(
    buffer: Any, dtype: Any, shape: Any, order: Any, axis_order: Any = None
) -> _PendingArray:
    return _PendingArray(_array_from_bytes(buffer, dtype, shape, order, axis_order))


def _scalar(dtype: Any, raw: Any) -> _PendingScalar:
    if not isinstance(dtype, _PendingDtype):
        raise _RefusedError("a numpy scalar's dtype must be a pickled numpy dtype")
    value = _array_from_bytes(raw, dtype, (), "C")
    return _PendingScalar(value[()])


def _latin1_encode(text: Any, encoding: Any) -> bytes:
    # protocol 2 has no bytes opcode: bytes are written as _codecs.encode(latin-1 text, "latin1")
    if type(text) is not str or encoding not in ("latin1", "latin-1"):
        raise _RefusedError(
            "_codecs.encode is only read as protocol 2 writes bytes: (text, 'latin1')"
        )
    return text.encode("latin-1")


def _empty_bytes(*arguments: Any) -> bytes:
    # protocol 2 writes b"" as bytes()
    if arguments:
        raise _RefusedError("bytes() is only read without arguments")
    return b""


_STAND_INS: dict[tuple[str, str], Any] = {
    **{
        (f"{core}.multiarray", "_reconstruct"): _reconstruct
        for core in ("numpy.core", "numpy._core")
    },
    **{(f"{core}.multiarray", "scalar"): _scalar for core in ("numpy.core", "numpy._core")},
    **{(f"{core}.numeric", "_frombuffer"): _frombuffer for core in ("numpy.core", "numpy._core")},
    ("numpy", "dtype"): _dtype,
    ("numpy", "ndarray"): _NDARRAY,
    ("_codecs", "encode"): _latin1_encode,
    ("builtins", "bytes"): _empty_bytes,
    ("__builtin__", "bytes"): _empty_bytes,
}
_ATOMS = (str, bytes, int, float, bool, type(None))


def _materialise(value: Any, depth: int, done: dict[int, Any], open_: set[int]) -> Any:
    """Replace placeholders by what they stand for; refuse anything that is not data."""
    if type(value) in _ATOMS:
        return value
    key = id(value)
    if key in done:
        return done[key]
    if key in open_:
        raise _MalformedError("a container that contains itself")
    if depth >= MAX_DEPTH:
        raise _MalformedError(f"containers nested deeper than {MAX_DEPTH}")
    open_.add(key)
    kind = type(value)
    if isinstance(value, _Placeholder):
        result = value.resolve()
    elif kind is dict:
        result = {
            _materialise(k, depth + 1, done, open_): _materialise(v, depth + 1, done, open_)
            for k, v in value.items()
        }
    elif kind in (list, tuple):
        result = kind(_materialise(item, depth + 1, done, open_) for item in value)
    elif kind is bytearray:
        result = value
    else:
        raise _RefusedError(f"an object of type {kind.__name__}")
    open_.discard(key)
    done[key] = result
    return result
