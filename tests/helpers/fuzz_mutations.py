"""Mutations of real input files for the reader fuzz campaign (``reader_fuzzing.py``).

Every mutation takes the content and ``draw`` (hypothesis' ``data.draw``) and returns new content;
its parameters are drawn, so hypothesis can shrink a failing input to a small change. Byte
mutations work on any file; line and token mutations on text formats; structural mutations change
a decoded value (a PYSKL annotation dict, an array behind a ``.npy`` header, a layout dict) before
it is encoded, to reach what byte noise rarely does (a field deleted, a dtype swapped, a header
that claims 10**9 frames).
"""

from __future__ import annotations

import copy
import io
import json
import re
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

Draw = Callable[[st.SearchStrategy], Any]
Mutation = Callable[[Any, Draw], Any]

# Tokens that readers get wrong: non-finite and overflowing numbers, numbers float() accepts but
# a strict reader must not, Unicode digits, text, broken UTF-8.
ODD_TOKENS = [
    b"nan", b"-NaN", b"inf", b"-Infinity", b"1e308", b"-1e308", b"1e39", b"3.5e38", b"1e400",
    b"-0", b"1e-320", b"abc", b"", b"1,5", b"0x10", b"1_000", "\u0661\u0662".encode(),
    "\u00b2".encode(), b"\xff\xfe", b"1e", b".", b"-", b"+1.5E+2", b"#", b"0" * 400,
]  # fmt: skip
ABSURD_COUNTS = [
    b"1000000000", b"2147483648", b"9223372036854775808", b"-1", b"0", b"99999999999999999999999",
]  # fmt: skip
_TOKEN = re.compile(rb"[^\s,;]+")
_INTEGER = re.compile(rb"(?<![\w.+-])[0-9]+(?![\w.])")


# --- bytes ---------------------------------------------------------------------------------


def truncate(content: bytes, draw: Draw) -> bytes:
    return content[: draw(st.integers(0, len(content)))]


def flip_bytes(content: bytes, draw: Draw) -> bytes:
    data = bytearray(content)
    for _ in range(draw(st.integers(1, 8)) if data else 0):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


def insert_bytes(content: bytes, draw: Draw) -> bytes:
    at = draw(st.integers(0, len(content)))
    return content[:at] + draw(st.binary(min_size=1, max_size=16)) + content[at:]


def delete_span(content: bytes, draw: Draw) -> bytes:
    start = draw(st.integers(0, len(content)))
    return content[:start] + content[start + draw(st.integers(1, 512)) :]


def repeat_span(content: bytes, draw: Draw) -> bytes:
    start = draw(st.integers(0, len(content)))
    span = content[start : start + draw(st.integers(1, 512))]
    return content[:start] + span * draw(st.integers(2, 64)) + content[start:]


def empty(content: bytes, draw: Draw) -> bytes:
    return b""


BYTE_MUTATIONS: list[Mutation] = [
    truncate, flip_bytes, insert_bytes, delete_span, repeat_span, empty,
]  # fmt: skip


# --- lines and tokens of text formats -------------------------------------------------------


def _pick_line(content: bytes, draw: Draw) -> tuple[list[bytes], int]:
    lines = content.split(b"\n")
    return lines, draw(st.integers(0, len(lines) - 1))


def delete_line(content: bytes, draw: Draw) -> bytes:
    lines, index = _pick_line(content, draw)
    del lines[index]
    return b"\n".join(lines)


def duplicate_line(content: bytes, draw: Draw) -> bytes:
    lines, index = _pick_line(content, draw)
    lines[index:index] = [lines[index]] * draw(st.integers(1, 3))
    return b"\n".join(lines)


def swap_lines(content: bytes, draw: Draw) -> bytes:
    lines, index = _pick_line(content, draw)
    other = draw(st.integers(0, len(lines) - 1))
    lines[index], lines[other] = lines[other], lines[index]
    return b"\n".join(lines)


def _separator(line: bytes) -> bytes | None:
    return next((mark for mark in (b";", b",") if mark in line), None)


def delete_field(content: bytes, draw: Draw) -> bytes:
    lines, index = _pick_line(content, draw)
    separator = _separator(lines[index])
    fields = lines[index].split(separator) if separator else lines[index].split()
    if fields:
        del fields[draw(st.integers(0, len(fields) - 1))]
    lines[index] = (separator or b" ").join(fields)
    return b"\n".join(lines)


def duplicate_field(content: bytes, draw: Draw) -> bytes:
    lines, index = _pick_line(content, draw)
    separator = _separator(lines[index])
    fields = lines[index].split(separator) if separator else lines[index].split()
    if fields:
        at = draw(st.integers(0, len(fields) - 1))
        fields.insert(at, fields[at])
    lines[index] = (separator or b" ").join(fields)
    return b"\n".join(lines)


def _replace_match(content: bytes, pattern: re.Pattern, options: list[bytes], draw: Draw) -> bytes:
    matches = [match.span() for match in pattern.finditer(content)]
    if not matches:
        return content
    start, end = matches[draw(st.integers(0, len(matches) - 1))]
    return content[:start] + draw(st.sampled_from(options)) + content[end:]


def odd_token(content: bytes, draw: Draw) -> bytes:
    """A number replaced by NaN, inf, an overflow, text, a Unicode digit..."""
    return _replace_match(content, _TOKEN, ODD_TOKENS, draw)


def absurd_count(content: bytes, draw: Draw) -> bytes:
    """An integer (a frame, body or joint count, a frame index) replaced by 10**9, -1, 2**63..."""
    return _replace_match(content, _INTEGER, ABSURD_COUNTS, draw)


TEXT_MUTATIONS: list[Mutation] = [
    delete_line, duplicate_line, swap_lines, delete_field, duplicate_field, odd_token,
    absurd_count, odd_token, absurd_count,
]  # fmt: skip


def deep_json_nesting(content: bytes, draw: Draw) -> bytes:
    """A JSON value replaced by arrays nested thousands deep."""
    values = [match.end() for match in re.finditer(rb'": ', content)]
    if not values:
        return content
    at = values[draw(st.integers(0, len(values) - 1))]
    depth = draw(st.sampled_from([50, 2_000, 100_000]))
    return content[:at] + b"[" * depth + b"]" * depth + b", " + content[at:]


# --- structure: PYSKL annotation dicts ------------------------------------------------------


def _odd_arrays(reference: np.ndarray) -> list[Any]:
    """Values that look like an array field but are wrong in one way each (none when an
    earlier mutation already made it something else than numbers)."""
    if not isinstance(reference, np.ndarray) or reference.dtype.kind not in "biuf":
        return []
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the casts below are meant to lose information
        return _odd_variants(reference)


def _odd_variants(reference: np.ndarray) -> list[Any]:
    shape = reference.shape
    return [
        np.full(shape, np.nan, reference.dtype),
        np.full(shape, np.inf, reference.dtype),
        np.full(shape, 1e300),
        reference.astype(np.float16),
        reference.astype(">f4"),
        reference.astype(np.complex64),
        reference.astype(np.int16),
        reference.astype(bool),
        reference.astype("U4"),
        np.asfortranarray(reference),
        reference[..., :1],
        reference[..., :0, :] if reference.ndim > 1 else reference[:0],
        reference[None],
        reference.reshape(-1),
        reference.tolist(),
        np.float32(1.5),
        "keypoints",
        None,
    ]


_ODD_SCALARS = [
    -5, 2**70, 2.5, True, "3", None, [1, 2], (1080,), (1080, -1), np.int64(3), np.float64(2.0),
    (np.int32(1080), np.int32(1920)), np.array([1080, 1920]), 10**9, "",
]  # fmt: skip


def _annotations(content: Any) -> list[dict]:
    """The annotation dicts an earlier mutation left intact (none if it broke the container)."""
    if not isinstance(content, dict) or not isinstance(content.get("annotations"), list):
        return []
    return [item for item in content["annotations"] if isinstance(item, dict)]


def pyskl_delete_field(content: Any, draw: Draw) -> Any:
    content = copy.deepcopy(content)
    annotations = _annotations(content)
    annotation = draw(st.sampled_from(annotations)) if annotations else {}
    if annotation:
        del annotation[draw(st.sampled_from(sorted(annotation)))]
    return content


def pyskl_duplicate_annotation(content: Any, draw: Draw) -> Any:
    content = copy.deepcopy(content)
    annotations = _annotations(content)
    if annotations:
        content["annotations"].append(copy.deepcopy(draw(st.sampled_from(annotations))))
    return content


def pyskl_odd_value(content: Any, draw: Draw) -> Any:
    content = copy.deepcopy(content)
    annotations = _annotations(content)
    if not annotations:
        return content
    annotation = draw(st.sampled_from(annotations))
    key = draw(st.sampled_from(["keypoint", "keypoint_score", "label", "img_shape", "frame_dir"]))
    annotation[key] = draw(st.sampled_from(_odd_arrays(annotation.get("keypoint")) + _ODD_SCALARS))
    return content


def pyskl_odd_container(content: Any, draw: Draw) -> Any:
    content = copy.deepcopy(content)
    if not _annotations(content):
        return content
    choice = draw(st.integers(0, 4))
    if choice == 0:
        content["split"] = ["train"]
    elif choice == 1:
        content["split"] = {"train": ["nobody", 5]}
    elif choice == 2:
        content["annotations"] = tuple(content["annotations"])
    elif choice == 3:
        content["annotations"].append(draw(st.sampled_from([5, None, "x", [], {}])))
    else:
        return content["annotations"]
    return content


PYSKL_MUTATIONS: list[Mutation] = [
    pyskl_delete_field, pyskl_duplicate_annotation, pyskl_odd_value, pyskl_odd_value,
    pyskl_odd_container,
]  # fmt: skip


# --- structure: .npy arrays and their headers -----------------------------------------------


def npy_odd_array(value: tuple[np.ndarray, dict], draw: Draw) -> tuple[np.ndarray, dict]:
    array, header = value
    variants = [item for item in _odd_arrays(array) if isinstance(item, np.ndarray)]
    return (draw(st.sampled_from(variants)), header) if variants else value


def npy_header_lie(value: tuple[np.ndarray, dict], draw: Draw) -> tuple[np.ndarray, dict]:
    """The header claims another shape, dtype or order than the data it precedes."""
    array, header = value
    header = dict(header)
    key = draw(st.sampled_from(["shape", "descr", "fortran_order"]))
    if key == "shape":
        frames = draw(st.sampled_from([10**9, 2**62, 0, array.shape[0] + 1]))
        header["shape"] = (frames, *array.shape[1:])
    elif key == "descr":
        header["descr"] = draw(st.sampled_from(["<f8", "|O", "<U4", "|V12", "<c16", "|b1"]))
    else:
        header["fortran_order"] = True
    return array, header


NPY_MUTATIONS: list[Mutation] = [npy_odd_array, npy_header_lie]


def encode_npy(value: tuple[np.ndarray, dict]) -> bytes:
    array, header = value
    buffer = io.BytesIO()
    if not header:
        np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=True)
        return buffer.getvalue()
    array = np.asarray(array)
    fields = {"descr": np.lib.format.dtype_to_descr(array.dtype), "fortran_order": False}
    fields |= {"shape": array.shape} | header
    np.lib.format.write_array_header_1_0(buffer, fields)
    return buffer.getvalue() + (array.tobytes() if array.dtype != object else b"")


# --- structure: layout dicts ----------------------------------------------------------------

_ODD_JSON = [
    None, True, 3.0, -1, 10**30, "x", [], [[]], {}, [0, 0], [0, 1, 2], "no such joint", 2.5,
    [True, 1], ["a", "a"], [[0, 99]], 0,
]  # fmt: skip


def layout_delete_key(content: dict, draw: Draw) -> dict:
    content = dict(content)
    if content:
        del content[draw(st.sampled_from(sorted(content)))]
    return content


def layout_odd_value(content: dict, draw: Draw) -> dict:
    content = dict(content)
    key = draw(st.sampled_from([*sorted(content), "wings"]))
    content[key] = draw(st.sampled_from(_ODD_JSON))
    return content


def layout_duplicate_joint(content: dict, draw: Draw) -> dict:
    content = dict(content)
    names = content.get("joint_names")
    if isinstance(names, list) and names:
        content["joint_names"] = [*names, draw(st.sampled_from(names))]
    return content


LAYOUT_MUTATIONS: list[Mutation] = [layout_delete_key, layout_odd_value, layout_duplicate_joint]


# --- structure: nested JSON documents (pose estimators' files) --------------------------------


def _containers(content: Any) -> list[Any]:
    """Every list and dict of a JSON document, outermost first."""
    found, stack = [], [content]
    while stack:
        node = stack.pop()
        if isinstance(node, dict | list):
            found.append(node)
            stack.extend(node.values() if isinstance(node, dict) else node)
    return found


def json_delete_item(content: Any, draw: Draw) -> Any:
    """Delete a key of a nested object or an item of a nested list (in a copy)."""
    content = json.loads(json.dumps(content))
    nodes = [node for node in _containers(content) if node]
    if nodes:
        node = draw(st.sampled_from(nodes))
        key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
        del node[key]
    return content


def json_odd_value(content: Any, draw: Draw) -> Any:
    """Replace a nested value by an odd JSON value (a copy)."""
    content = json.loads(json.dumps(content))
    nodes = [node for node in _containers(content) if node]
    if nodes:
        node = draw(st.sampled_from(nodes))
        key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
        node[key] = draw(st.sampled_from(_ODD_JSON))
    return content


def json_duplicate_item(content: Any, draw: Draw) -> Any:
    """Append a copy of an item to a nested list (an extra person, keypoint, frame)."""
    content = json.loads(json.dumps(content))
    lists = [node for node in _containers(content) if isinstance(node, list) and node]
    if lists:
        node = draw(st.sampled_from(lists))
        node.append(json.loads(json.dumps(draw(st.sampled_from(node)))))
    return content


JSON_MUTATIONS: list[Mutation] = [json_delete_item, json_odd_value, json_duplicate_item]
