"""The PYSKL / MMAction2 skeleton annotation pickle, read safely and written back.

Format: ``dict(split=dict(name -> list of frame_dir), annotations=list of dict(frame_dir,
label, total_frames, img_shape, keypoint float (M, T, V, C), keypoint_score (M, T, V)
optional))``. A pickle can run any code when loaded, so it is read by
``stalstm.readers.safe_pickle``, which builds only containers, scalars and plain numpy arrays;
every field is then checked for type and shape here before it becomes a ``Clip``.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stalstm.clip import UNKNOWN, Clip
from stalstm.errors import DataError, LayoutMismatchError, NonFiniteError
from stalstm.layouts import get_layout
from stalstm.readers._checks import check_float32_range
from stalstm.readers.safe_pickle import safe_load_pickle
from stalstm.readers.samples import SampleRef

__all__ = [
    "PysklAnnotations",
    "annotation_to_clip",
    "list_pyskl_samples",
    "pyskl_annotations",
    "read_pyskl",
    "read_pyskl_sample",
    "safe_load_pickle",
    "write_pyskl",
]


@dataclass
class PysklAnnotations:
    """A PYSKL annotation file as Clips: ``clips`` in file order, ``splits`` (name -> clip
    names), ``layout`` the layout name given when reading."""

    clips: list[Clip]
    splits: dict[str, list[str]] = field(default_factory=dict)
    layout: str = "coco17"


def pyskl_annotations(content: Any, where: str | Path) -> list[dict[str, Any]]:
    """The annotation dicts of an unpickled PYSKL file, checked for what listing needs: a dict
    with an ``annotations`` list of dicts, each with a unique, non-empty string ``frame_dir``."""
    if not isinstance(content, dict) or not isinstance(content.get("annotations"), list):
        raise DataError(where, "expected a dict with an 'annotations' list (and 'split')")
    seen: set[str] = set()
    for index, annotation in enumerate(content["annotations"]):
        if not isinstance(annotation, dict):
            raise DataError(
                where, f"annotation {index} is a {type(annotation).__name__}, not a dict"
            )
        name = annotation.get("frame_dir")
        if not isinstance(name, str) or not name:
            raise DataError(where, f"annotation {index} has no frame_dir name", field="frame_dir")
        if name in seen:
            raise DataError(where, f"clip {name!r} appears twice", field="frame_dir")
        seen.add(name)
    return content["annotations"]


def _splits(content: dict[str, Any], where: str | Path) -> dict[str, list[str]]:
    splits = content.get("split", {})
    if not isinstance(splits, dict) or not all(
        isinstance(name, str)
        and isinstance(members, (list, tuple))
        and all(isinstance(member, str) for member in members)
        for name, members in splits.items()
    ):
        raise DataError(where, "'split' must map split names to lists of clip names", field="split")
    return {name: list(members) for name, members in splits.items()}


def _integer(value: Any) -> int | None:
    """``value`` as an int when it is an integer (Python or numpy, not bool), else None."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return int(value)
    return None


def _real_array(value: Any, where: str, name: str, ndim: int) -> np.ndarray:
    if (
        not isinstance(value, np.ndarray)
        or value.ndim != ndim
        or value.dtype.kind not in "iuf"
        or 0 in value.shape
    ):
        description = (
            f"a {value.dtype} array of shape {value.shape}"
            if isinstance(value, np.ndarray)
            else type(value).__name__
        )
        raise LayoutMismatchError(
            where,
            f"{name} must be a non-empty real-valued array of {ndim} dimensions, got {description}",
            field=name,
        )
    if not np.isfinite(value).all():
        raise NonFiniteError(where, f"non-finite {name}", field=name)
    check_float32_range(value, where, field=name)
    return value


def annotation_to_clip(annotation: dict[str, Any], where: str, layout: str) -> Clip:
    """One annotation dict -> Clip; PYSKL's keypoint (M, T, V, C) becomes joints (T, M, V, C).

    Every field is checked: ``frame_dir`` a non-empty string; ``keypoint`` a finite real array
    (M, T, V, C) with V the layout's joints and C = 2 or 3; ``keypoint_score`` (optional) a
    finite real array (M, T, V); ``label`` (optional) a class index (-1: unknown); ``img_shape``
    (optional) two non-negative integers. Anything else is a ``DataError`` naming the file, the
    clip and the field.
    """
    if not isinstance(annotation, dict):
        raise DataError(where, f"an annotation is a {type(annotation).__name__}, not a dict")
    name = annotation.get("frame_dir")
    if not isinstance(name, str) or not name:
        raise DataError(where, "annotation without frame_dir", field="frame_dir")
    clip_where = f"{where}: {name}"
    keypoint = _real_array(annotation.get("keypoint"), clip_where, "keypoint", 4)
    joints, coordinates = keypoint.shape[2:]
    expected_joints = get_layout(layout).num_joints
    if joints != expected_joints or coordinates not in (2, 3):
        raise LayoutMismatchError(
            clip_where,
            f"keypoint (M, T, V, C) = {keypoint.shape}: layout {layout} has V = "
            f"{expected_joints} joints, and C must be 2 or 3",
            field="keypoint",
        )
    extras: dict[str, Any] = {}
    score = annotation.get("keypoint_score")
    if score is not None:
        score = _real_array(score, clip_where, "keypoint_score", 3)
        if score.shape != keypoint.shape[:3]:
            raise LayoutMismatchError(
                clip_where,
                f"keypoint_score has shape {score.shape}, keypoint needs {keypoint.shape[:3]}",
                field="keypoint_score",
            )
        extras["keypoint_score"] = score.astype(np.float32).transpose(1, 0, 2)
    if "img_shape" in annotation:
        extras["img_shape"] = _image_shape(annotation["img_shape"], clip_where)
    label = _integer(annotation.get("label", UNKNOWN))
    if label is None or label < UNKNOWN:
        shown = annotation.get("label")
        shown = repr(shown) if _integer(shown) is not None else type(shown).__name__
        raise DataError(clip_where, f"label {shown} is not a class index", field="label")
    return Clip(
        name=name,
        joints=np.ascontiguousarray(keypoint.transpose(1, 0, 2, 3), dtype=np.float32),
        label=label,
        layout=layout,
        extras=extras,
    )


def _image_shape(value: Any, where: str) -> tuple[int, ...]:
    if isinstance(value, np.ndarray) and value.ndim == 1:
        value = value.tolist()
    sizes = [_integer(item) for item in value] if isinstance(value, (tuple, list)) else []
    if len(sizes) != 2 or any(size is None or size < 0 for size in sizes):
        raise DataError(where, "img_shape is not (height, width)", field="img_shape")
    return tuple(sizes)


def read_pyskl(path: str | Path, layout: str = "coco17") -> PysklAnnotations:
    """Read a PYSKL/MMAction2 annotation pickle with the restricted unpickler; every
    annotation is checked (see ``annotation_to_clip``)."""
    where = str(path)
    content = safe_load_pickle(path)
    annotations = pyskl_annotations(content, where)
    splits = _splits(content, where)
    clips = [annotation_to_clip(annotation, where, layout) for annotation in annotations]
    return PysklAnnotations(clips=clips, splits=splits, layout=layout)


def clip_to_annotation(clip: Clip, img_shape: tuple[int, int] | None = None) -> dict[str, Any]:
    """One Clip -> PYSKL annotation dict (keypoint (M, T, V, C) float32)."""
    annotation: dict[str, Any] = {
        "frame_dir": clip.name,
        "label": int(clip.label),
        "total_frames": clip.num_frames,
        "img_shape": img_shape or tuple(clip.extras.get("img_shape", (1080, 1920))),
        "keypoint": np.ascontiguousarray(clip.joints.transpose(1, 0, 2, 3)),
    }
    if "keypoint_score" in clip.extras:
        score = np.asarray(clip.extras["keypoint_score"], dtype=np.float32)
        annotation["keypoint_score"] = np.ascontiguousarray(score.transpose(1, 0, 2))
    return annotation


def write_pyskl(clips: Iterable[Clip], splits: dict[str, list[str]], path: str | Path) -> Path:
    """Write Clips and named splits as a PYSKL annotation pickle (readable by PYSKL and by
    ``read_pyskl``)."""
    path = Path(path)
    content = {
        "split": {name: list(members) for name, members in splits.items()},
        "annotations": [clip_to_annotation(clip) for clip in clips],
    }
    with path.open("wb") as handle:
        pickle.dump(content, handle, protocol=4)
    return path


def _single_pickle(root: Path) -> Path:
    if root.is_file():
        return root
    if not root.is_dir():
        raise DataError(root, "PYSKL annotation file or folder not found")
    pickles = sorted(root.glob("*.pkl"))
    if len(pickles) != 1:
        raise DataError(root, f"expected one .pkl annotation file, found {len(pickles)}")
    return pickles[0]


def list_pyskl_samples(root: Path, layout: str | None = None) -> list[SampleRef]:
    """One sample per annotation of a PYSKL pickle (``root``: the file, or a folder holding
    exactly one); ``layout`` defaults to ``coco17``."""
    pickle_path = _single_pickle(Path(root))
    annotations = _load_annotations(str(pickle_path))
    return [
        SampleRef("pyskl", annotation["frame_dir"], str(pickle_path), index, layout or "coco17")
        for index, annotation in enumerate(annotations)
    ]


def read_pyskl_sample(ref: SampleRef) -> Clip:
    """The clip of annotation ``ref.index`` (each worker process loads the pickle once)."""
    annotations = _load_annotations(ref.path)
    if not 0 <= ref.index < len(annotations):
        raise DataError(ref.path, f"no annotation {ref.index} (the file changed?)")
    return annotation_to_clip(annotations[ref.index], ref.path, ref.layout or "coco17")


_ANNOTATION_CACHE: dict[str, list[dict]] = {}


def _load_annotations(path: str) -> list[dict]:
    if path not in _ANNOTATION_CACHE:
        _ANNOTATION_CACHE.clear()  # one file's annotations at a time
        _ANNOTATION_CACHE[path] = pyskl_annotations(safe_load_pickle(path), path)
    return _ANNOTATION_CACHE[path]
