"""Readers: one module per format, each returning ``stalstm.clip.Clip`` (or, for untrimmed
recordings, ``stalstm.stream.Stream``).

``read_clip(path)`` reads one input of any kind and ``read_stream(path)`` one stream, chosen by
the file's name and columns. Whole data sets are listed and read through the data-set registry
(``stalstm.datasets``), which names each data set's reader.
"""

from __future__ import annotations

from pathlib import Path

from stalstm.clip import Clip
from stalstm.errors import DataError
from stalstm.layouts import Layout
from stalstm.readers._keypoint_json import load_json_file
from stalstm.readers.coco_keypoints import looks_like_coco_results, read_coco_keypoints
from stalstm.readers.generic import read_generic, read_generic_clip, read_labels
from stalstm.readers.mmpose import looks_like_mmpose, read_mmpose
from stalstm.readers.msr import msr_protocol_files, read_msr_skeleton
from stalstm.readers.ntu import read_ntu_skeleton
from stalstm.readers.openpose import FILE_SUFFIX as OPENPOSE_SUFFIX
from stalstm.readers.openpose import read_openpose
from stalstm.readers.pose_step import is_pose_step_output, pose_step_layout, read_pose_step
from stalstm.readers.pyskl import PysklAnnotations, read_pyskl, write_pyskl
from stalstm.readers.sbu import SBU_COLUMNS, read_sbu_clip
from stalstm.readers.sfinge import (
    GROUND_TRUTH_FILE,
    SFINGE_VALUES,
    read_sfinge_dictionary,
    read_sfinge_ground_truth,
    read_sfinge_sequences,
    read_sfinge_stream,
)
from stalstm.readers.stream_folder import SEGMENTS_FILE, read_stream_file, read_stream_folder
from stalstm.readers.utd_mhad import read_utd_mhad
from stalstm.stream import Stream

__all__ = [
    "PysklAnnotations",
    "is_keypoint_output",
    "msr_protocol_files",
    "read_clip",
    "read_coco_keypoints",
    "read_generic",
    "read_keypoints",
    "read_labels",
    "read_mmpose",
    "read_msr_skeleton",
    "read_ntu_skeleton",
    "read_openpose",
    "read_pose_step",
    "read_pyskl",
    "read_sbu_clip",
    "read_sfinge_dictionary",
    "read_sfinge_sequences",
    "read_stream",
    "read_stream_folder",
    "read_utd_mhad",
    "write_pyskl",
]


def read_clip(path: str | Path, layout: str | Path | Layout | None = None) -> Clip:
    """Read one input of any readable kind, chosen by its name (and columns):
    ``.skeleton`` -> NTU, ``skeleton_pos.txt`` or a 91-column comma-separated file -> SBU,
    ``*_skeleton3D.txt`` -> MSR, ``.mat`` -> UTD-MHAD (a ``d_skel`` variable of 20 x 3 x
    frames), ``.npy``/``.csv`` -> a generic clip (``layout`` required,
    e.g. ``coco17`` for 2D keypoints (T, V, 2) or (T, M, V, 2)); pose estimators' output
    (``read_keypoints``: the pose step's ``.npy`` + ``.pose.json``, OpenPose frame files or
    their folder, MMPose and COCO keypoint ``.json``) as a clip of the whole recording."""
    path = Path(path)
    if is_keypoint_output(path):
        return read_keypoints(path, layout).as_clip()
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


def is_keypoint_output(path: Path) -> bool:
    """A pose estimator's output: the pose step's files, OpenPose frame files or a folder of
    them, or a ``.json`` file (MMPose, COCO keypoint results)."""
    return (
        is_pose_step_output(path)
        or path.name.endswith(OPENPOSE_SUFFIX)
        or (path.is_dir() and any(path.glob(f"*{OPENPOSE_SUFFIX}")))
        or path.suffix == ".json"
    )


def read_keypoints(path: str | Path, layout: str | Path | Layout | None = None) -> Stream:
    """A pose estimator's output as a ``Stream``, persons tracked and low-score joints filled
    (``stalstm.frames``), chosen by name and content: the pose step's ``<name>.npy`` with its
    ``<name>.pose.json``; OpenPose frame files (``*_keypoints.json``, one or a folder: the
    body); an MMPose predictions ``.json``; a COCO keypoint results ``.json``. ``layout``, when
    given, is the layout to read the keypoints as (joints picked by name: ``mediapipe33`` or
    ``openpose_body25`` as ``coco17``), or for MMPose and COCO files of another skeleton than
    17 or 21 points, the file's own layout."""
    path = Path(path)
    if is_pose_step_output(path):
        return read_pose_step(path, layout)
    if path.is_dir() or path.name.endswith(OPENPOSE_SUFFIX):
        return read_openpose(path, layout=layout)
    if not path.is_file():
        raise DataError(path, "file not found")
    document = load_json_file(path)
    if looks_like_mmpose(document):
        return read_mmpose(path, layout, document=document)
    if looks_like_coco_results(document):
        return read_coco_keypoints(path, layout, document=document)
    raise DataError(
        path,
        "not a keypoint file this package reads: MMPose predictions (frames of 'instances' "
        "with 'keypoints' and 'keypoint_scores') or COCO keypoint results (a list of "
        "'image_id', 'keypoints', 'score')",
    )


def segments_beside(path: Path) -> bool:
    return (path.parent / SEGMENTS_FILE).is_file()


def _column_count(path: Path) -> int:
    with path.open(encoding="utf-8", errors="replace") as handle:
        return len(handle.readline().split(","))


def read_stream(
    path: str | Path, layout: str | Path | None = None, class_names: list[str] | None = None
) -> Stream:
    """Read one untrimmed stream of any readable kind, with its annotation when one sits beside
    it: a SFINGE3D stream (``.txt``, 140 comma-separated values a row; gestures from a
    ``sequencesGT.csv`` in its folder), a bring-your-own ``.npy`` / ``.csv`` stream
    (``layout`` required; segments from a ``segments.csv`` in its folder, class names looked up
    in ``class_names``), or a pose estimator's output (``read_keypoints``; the pose step's
    ``.npy`` takes the segments of a ``segments.csv`` beside it too)."""
    path = Path(path)
    if is_keypoint_output(path) and not (path.suffix == ".npy" and segments_beside(path)):
        return read_keypoints(path, layout)
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
        if layout is None and is_pose_step_output(path):
            layout = pose_step_layout(path)
        if layout is None:
            raise DataError(path, "a .npy/.csv stream needs a layout (e.g. hand20, ntu25)")
        return read_stream_file(path, layout, class_names)
    raise DataError(path, "unknown stream format (SFINGE3D .txt, or .npy/.csv with a layout)")
