"""Readers: one per format, each returning ``stalstm.clip.Clip``.

``list_samples(dataset, root)`` lists the samples of a data set as small picklable
``SampleRef`` records and ``read_sample(ref)`` reads one, so that preparation can list in the
main process and read in workers. ``read_clip(path)`` reads one input of any kind.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stalstm.clip import Clip
from stalstm.errors import DataError
from stalstm.layouts import Layout
from stalstm.readers.generic import read_generic, read_generic_clip, read_labels
from stalstm.readers.msr import msr_clip_name, msr_protocol_files, read_msr_skeleton
from stalstm.readers.ntu import read_ntu_skeleton
from stalstm.readers.pyskl import (
    PysklAnnotations,
    annotation_to_clip,
    pyskl_annotations,
    read_pyskl,
    safe_load_pickle,
    write_pyskl,
)
from stalstm.readers.sbu import SBU_COLUMNS, read_sbu_clip, sbu_clip_name
from stalstm.readers.sfinge import (
    GROUND_TRUTH_FILE,
    SFINGE_VALUES,
    read_sfinge_dictionary,
    read_sfinge_ground_truth,
    read_sfinge_sequences,
    read_sfinge_stream,
)
from stalstm.readers.stream_folder import read_stream_file, read_stream_folder
from stalstm.readers.utd_mhad import (
    UTD_MHAD_SUFFIX,
    read_utd_mhad,
    utd_mhad_clip_name,
    utd_mhad_sort_key,
)
from stalstm.stream import Stream

DATASETS = ("ntu", "sbu", "msr", "utd-mhad", "pyskl", "generic")

__all__ = [
    "DATASETS",
    "PysklAnnotations",
    "SampleRef",
    "list_samples",
    "msr_protocol_files",
    "read_clip",
    "read_generic",
    "read_msr_skeleton",
    "read_ntu_skeleton",
    "read_pyskl",
    "read_sample",
    "read_sbu_clip",
    "read_sfinge_dictionary",
    "read_sfinge_sequences",
    "read_stream",
    "read_stream_folder",
    "read_utd_mhad",
    "write_pyskl",
]


@dataclass(frozen=True)
class SampleRef:
    """Where one sample is: ``dataset``, unique ``name``, file ``path``; ``index`` into a
    pickle's annotations (pyskl), ``layout`` (pyskl, generic), ``label`` and ``fields``
    (generic, from labels.csv)."""

    dataset: str
    name: str
    path: str
    index: int = -1
    layout: str = ""
    label: int = -1
    fields: tuple[tuple[str, int], ...] = ()


def list_samples(dataset: str, root: str | Path, layout: str | None = None) -> list[SampleRef]:
    """Every sample of ``dataset`` under ``root``, sorted by path (ntu, sbu, msr), by action,
    subject and trial (utd-mhad), in file order (pyskl: one per annotation) or in labels.csv
    order (generic, ``layout`` required).

    MSR lists all ``*_skeleton3D.txt`` files; restrict to the usual 557 with
    ``msr_protocol_files(root)``. UTD-MHAD lists all ``*_skeleton.mat`` files.
    """
    root = Path(root)
    if not root.exists():
        raise DataError(root, "data folder not found")
    if dataset == "ntu":
        paths = sorted(root.rglob("*.skeleton"))
        return [SampleRef("ntu", p.stem, str(p)) for p in paths]
    if dataset == "sbu":
        paths = sorted(root.rglob("skeleton_pos.txt"))
        return [SampleRef("sbu", sbu_clip_name(p), str(p)) for p in paths]
    if dataset == "msr":
        paths = sorted(root.rglob("*_skeleton3D.txt"))
        return [SampleRef("msr", msr_clip_name(p), str(p)) for p in paths]
    if dataset == "utd-mhad":
        paths = sorted(root.rglob(f"*{UTD_MHAD_SUFFIX}"), key=utd_mhad_sort_key)
        return [SampleRef("utd-mhad", utd_mhad_clip_name(p), str(p)) for p in paths]
    if dataset == "pyskl":
        pickle_path = _single_pickle(root)
        annotations = pyskl_annotations(safe_load_pickle(pickle_path), pickle_path)
        return [
            SampleRef("pyskl", a["frame_dir"], str(pickle_path), k, layout or "coco17")
            for k, a in enumerate(annotations)
        ]
    if dataset == "generic":
        if layout is None:
            raise DataError(root, "generic data needs a layout name or a layout .json")
        index = read_labels(root)
        return [
            SampleRef(
                "generic",
                row.clip,
                str(index.files[row.clip]),
                -1,
                str(layout),
                row.label,
                tuple(sorted(row.fields.items())),
            )
            for row in index.rows
        ]
    raise DataError(dataset, f"unknown data set; choose one of {', '.join(DATASETS)}")


def _single_pickle(root: Path) -> Path:
    if root.is_file():
        return root
    pickles = sorted(root.glob("*.pkl"))
    if len(pickles) != 1:
        raise DataError(root, f"expected one .pkl annotation file, found {len(pickles)}")
    return pickles[0]


def read_sample(ref: SampleRef) -> Clip:
    """Read the sample ``ref`` points at (see ``list_samples``)."""
    if ref.dataset == "ntu":
        return read_ntu_skeleton(ref.path)
    if ref.dataset == "sbu":
        return read_sbu_clip(ref.path)
    if ref.dataset == "msr":
        return read_msr_skeleton(ref.path)
    if ref.dataset == "utd-mhad":
        return read_utd_mhad(ref.path)
    if ref.dataset == "pyskl":
        # Each worker reloads the pickle; PYSKL files are one array per clip, so a cache
        # keyed by path keeps this to one load per process.
        annotations = _load_annotations(ref.path)
        if not 0 <= ref.index < len(annotations):
            raise DataError(ref.path, f"no annotation {ref.index} (the file changed?)")
        return annotation_to_clip(annotations[ref.index], ref.path, ref.layout or "coco17")
    if ref.dataset == "generic":
        return read_generic_clip(ref.path, ref.layout, ref.label, dict(ref.fields))
    raise DataError(ref.dataset, f"unknown data set; choose one of {', '.join(DATASETS)}")


_ANNOTATION_CACHE: dict[str, list[dict]] = {}


def _load_annotations(path: str) -> list[dict]:
    if path not in _ANNOTATION_CACHE:
        _ANNOTATION_CACHE.clear()
        _ANNOTATION_CACHE[path] = pyskl_annotations(safe_load_pickle(path), path)
    return _ANNOTATION_CACHE[path]


def read_clip(path: str | Path, layout: str | Path | Layout | None = None) -> Clip:
    """Read one input of any readable kind, chosen by its name (and columns):
    ``.skeleton`` -> NTU, ``skeleton_pos.txt`` or a 91-column comma-separated file -> SBU,
    ``*_skeleton3D.txt`` -> MSR, ``.mat`` -> UTD-MHAD (a ``d_skel`` variable of 20 x 3 x
    frames), ``.npy``/``.csv`` -> a generic clip (``layout`` required,
    e.g. ``coco17`` for 2D keypoints (T, V, 2) or (T, M, V, 2))."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    if path.suffix == ".skeleton":
        return read_ntu_skeleton(path)
    if path.name.endswith("_skeleton3D.txt"):
        return read_msr_skeleton(path)
    if path.suffix == ".mat":
        return read_utd_mhad(path)
    if path.name == "skeleton_pos.txt":
        return read_sbu_clip(path)
    if path.suffix in (".npy", ".csv"):
        if layout is None and path.suffix == ".csv" and _column_count(path) == SBU_COLUMNS:
            return read_sbu_clip(path)
        if layout is None:
            raise DataError(path, "a .npy/.csv clip needs a layout (e.g. ntu25, coco17)")
        return read_generic_clip(path, layout)
    if path.suffix == ".txt" and _column_count(path) == SBU_COLUMNS:
        return read_sbu_clip(path)
    raise DataError(path, "unknown clip format (.skeleton, skeleton_pos.txt, .mat, .npy, .csv...)")


def _column_count(path: Path) -> int:
    with path.open(encoding="utf-8", errors="replace") as handle:
        return len(handle.readline().split(","))


def read_stream(
    path: str | Path, layout: str | Path | None = None, class_names: list[str] | None = None
) -> Stream:
    """Read one untrimmed stream of any readable kind, with its annotation when one sits beside
    it: a SFINGE3D stream (``.txt``, 140 comma-separated values a row; gestures from a
    ``sequencesGT.csv`` in its folder), or a bring-your-own ``.npy`` / ``.csv`` stream
    (``layout`` required; segments from a ``segments.csv`` in its folder, class names looked up
    in ``class_names``)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "file not found")
    if path.suffix == ".txt":
        if _column_count(path) != SFINGE_VALUES:
            raise DataError(path, f"unknown stream format: a .txt stream has {SFINGE_VALUES} "
                            "comma-separated values a row (SFINGE3D)")  # fmt: skip
        ground_truth = path.parent / GROUND_TRUTH_FILE
        annotated = ()
        if ground_truth.is_file() and path.stem.isascii() and path.stem.isdigit():
            annotated = read_sfinge_ground_truth(ground_truth).get(int(path.stem), ())
        return read_sfinge_stream(path, annotated)
    if path.suffix in (".npy", ".csv"):
        if layout is None:
            raise DataError(path, "a .npy/.csv stream needs a layout (e.g. hand20, ntu25)")
        return read_stream_file(path, layout, class_names)
    raise DataError(path, "unknown stream format (SFINGE3D .txt, or .npy/.csv with a layout)")
