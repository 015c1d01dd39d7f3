"""The bring-your-own format: a folder of per-clip arrays plus ``labels.csv``.

- ``<clip>.npy``: float array (T, M, V, C) or (T, V, C) (one person), C = 2 or 3; one with a
  ``<clip>.pose.json`` beside it is the pose step's output, read with its scores
  (``stalstm.readers.pose_step``);
- ``<clip>.csv``: one row per frame, columns x, y[, z] per joint per person in layout order
  (C = the layout's ``num_coords``), an optional header row;
- ``labels.csv``: columns ``clip, label`` and optionally ``subject, view, setup,
  replication, fold`` (1-based integers). ``label`` is an integer class index or a class
  name; names are mapped to indices in sorted order (``class_names``).

Every clip listed must have a file and every file must be listed: nothing is dropped quietly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from stalstm.clip import UNKNOWN, Clip
from stalstm.errors import DataError, LayoutMismatchError
from stalstm.layouts import Layout, get_layout
from stalstm.readers._npy import read_npy_joints
from stalstm.readers._text import INTEGER, NATURAL, read_csv_table, read_rows
from stalstm.readers.pose_step import is_pose_step_output, read_pose_step
from stalstm.readers.samples import SampleRef

LABELS_FILE = "labels.csv"
OPTIONAL_COLUMNS = ("subject", "view", "setup", "replication", "fold")
CLIP_SUFFIXES = (".npy", ".csv")


@dataclass(frozen=True)
class LabelRow:
    """One row of ``labels.csv`` with its line number."""

    clip: str
    label: int
    fields: dict[str, int]
    line: int


@dataclass(frozen=True)
class GenericIndex:
    """``labels.csv`` resolved against the folder: rows, their files and the class names."""

    rows: list[LabelRow]
    files: dict[str, Path]
    class_names: list[str]


def read_labels(folder: str | Path) -> GenericIndex:
    """Read and check ``labels.csv`` against the clip files of ``folder``."""
    folder = Path(folder)
    labels_path = folder / LABELS_FILE
    if not labels_path.is_file():
        raise DataError(folder, f"no {LABELS_FILE} in the folder")
    raw = read_csv_table(labels_path, ("clip", "label"))
    texts = [(row.get("label") or "").strip() for _, row in raw]
    for (line, _), text in zip(raw, texts, strict=True):
        if not text:
            raise DataError(labels_path, "empty label", line=line, field="label")
    by_name = not all(INTEGER.fullmatch(text) for text in texts)
    class_names = sorted(set(texts)) if by_name else []
    index_of = {name: index for index, name in enumerate(class_names)}
    rows: list[LabelRow] = []
    seen: set[str] = set()
    for (line, row), text in zip(raw, texts, strict=True):
        clip = (row.get("clip") or "").strip()
        if not clip:
            raise DataError(labels_path, "empty clip name", line=line, field="clip")
        if clip in seen:
            raise DataError(labels_path, f"clip {clip!r} listed twice", line=line, field="clip")
        seen.add(clip)
        label = index_of[text] if by_name else int(text)
        fields = {}
        for column in OPTIONAL_COLUMNS:
            value = (row.get(column) or "").strip()
            if value:
                if not NATURAL.fullmatch(value):
                    raise DataError(
                        labels_path, f"{value!r} is not a positive integer", line, column
                    )
                fields[column] = int(value)
        rows.append(LabelRow(clip, label, fields, line))
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix in CLIP_SUFFIXES and path.name != LABELS_FILE:
            if path.stem in files:
                raise DataError(path, f"two files for clip {path.stem!r}")
            files[path.stem] = path
    missing = [row for row in rows if row.clip not in files]
    if missing:
        raise DataError(
            labels_path, f"no .npy or .csv file for clip {missing[0].clip!r}", missing[0].line
        )
    unlisted = sorted(set(files) - seen)
    if unlisted:
        raise DataError(files[unlisted[0]], f"not listed in {LABELS_FILE}")
    return GenericIndex(rows=rows, files=files, class_names=class_names)


def read_generic_clip(
    path: str | Path,
    layout: str | Path | Layout,
    label: int = UNKNOWN,
    fields: dict[str, int] | None = None,
) -> Clip:
    """One ``.npy`` or ``.csv`` clip file, checked against ``layout``."""
    path = Path(path)
    layout = get_layout(layout)
    if path.suffix == ".npy" and is_pose_step_output(path):  # stalstm pose: scores applied
        stream = read_pose_step(path, layout)
        return Clip(name=path.stem, joints=stream.joints, label=label, layout=stream.layout,
                    extras=stream.extras, **(fields or {}))  # fmt: skip
    if path.suffix == ".npy":
        joints = read_npy_joints(path, layout)
    elif path.suffix == ".csv":
        rows, _ = read_rows(path, ",", skip_header=True)
        per_person = layout.num_joints * layout.num_coords
        if rows.shape[1] % per_person:
            raise LayoutMismatchError(
                path,
                f"{rows.shape[1]} columns is not a multiple of {layout.num_joints} joints x "
                f"{layout.num_coords} coordinates of layout {layout.name}",
                line=1,
            )
        joints = rows.reshape(len(rows), -1, layout.num_joints, layout.num_coords)
    else:
        raise DataError(path, "a generic clip is a .npy or .csv file")
    return Clip(name=path.stem, joints=joints, label=label, layout=layout.name, **(fields or {}))


def read_generic(folder: str | Path, layout: str | Path | Layout) -> Iterator[Clip]:
    """Every clip of a bring-your-own folder, in ``labels.csv`` order."""
    index = read_labels(folder)
    for row in index.rows:
        yield read_generic_clip(index.files[row.clip], layout, row.label, row.fields)


def list_generic_samples(root: Path, layout: str | None = None) -> list[SampleRef]:
    """Every clip of a bring-your-own folder, in ``labels.csv`` order (``layout`` required)."""
    if layout is None:
        raise DataError(root, "generic data needs a layout: --layout NAME or a layout .json")
    index = read_labels(root)
    return [
        SampleRef("generic", row.clip, str(index.files[row.clip]), -1, str(layout), row.label,
                  tuple(sorted(row.fields.items())))
        for row in index.rows
    ]  # fmt: skip


def read_generic_sample(ref: SampleRef) -> Clip:
    """The clip a ``SampleRef`` of ``list_generic_samples`` points at."""
    return read_generic_clip(ref.path, ref.layout, ref.label, dict(ref.fields))


def generic_class_names(root: Path, labels: Iterable[int]) -> list[str]:
    """Class names of a bring-your-own folder: its labels given by name (sorted), else the
    label numbers 0..largest."""
    names = read_labels(root).class_names
    return list(names) if names else [str(label) for label in range(max(labels, default=-1) + 1)]
