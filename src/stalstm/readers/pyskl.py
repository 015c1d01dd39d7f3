"""The PYSKL / MMAction2 skeleton annotation pickle, read safely and written back.

Format: ``dict(split=dict(name -> list of frame_dir), annotations=list of dict(frame_dir,
label, total_frames, img_shape, keypoint float (M, T, V, C), keypoint_score (M, T, V)
optional))``. A pickle can run any code when loaded, so it is read with an unpickler that
only builds plain containers and numpy arrays and refuses every other global by name.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stalstm.clip import Clip
from stalstm.errors import DataError, LayoutMismatchError, UnsafePickleError

# What numpy's own array and scalar pickles ask for, in numpy 1.x and 2.x spellings.
_ALLOWED_GLOBALS = {
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")
} | {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    # protocol-5 array pickles rebuild the array from its raw bytes
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
}


class _ArraysOnlyUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase, where: str) -> None:
        super().__init__(file)
        self.where = where

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise UnsafePickleError(
            self.where,
            f"refused to load {module}.{name}: only plain containers and numpy arrays are read",
        )


def safe_load_pickle(path: str | Path) -> Any:
    """Unpickle ``path`` allowing only containers, numbers, strings and numpy arrays."""
    path = Path(path)
    with path.open("rb") as handle:
        try:
            return _ArraysOnlyUnpickler(handle, str(path)).load()
        except UnsafePickleError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as error:
            raise DataError(path, f"not a readable pickle: {error}") from None


@dataclass
class PysklAnnotations:
    """A PYSKL annotation file as Clips: ``clips`` in file order, ``splits`` (name -> clip
    names), ``layout`` the layout name given when reading."""

    clips: list[Clip]
    splits: dict[str, list[str]] = field(default_factory=dict)
    layout: str = "coco17"


def annotation_to_clip(annotation: dict[str, Any], where: str, layout: str) -> Clip:
    """One annotation dict -> Clip; PYSKL's keypoint (M, T, V, C) becomes joints (T, M, V, C)."""
    name = str(annotation.get("frame_dir", ""))
    if not name:
        raise DataError(where, "annotation without frame_dir", field="frame_dir")
    keypoint = annotation.get("keypoint")
    if not isinstance(keypoint, np.ndarray) or keypoint.ndim != 4:
        shape = getattr(keypoint, "shape", None)
        raise LayoutMismatchError(
            f"{where}: {name}",
            f"keypoint must be an array (M, T, V, C), got {shape}",
            field="keypoint",
        )
    if not np.isfinite(keypoint).all():
        raise DataError(f"{where}: {name}", "non-finite keypoint", field="keypoint")
    extras: dict[str, Any] = {}
    score = annotation.get("keypoint_score")
    if score is not None:
        extras["keypoint_score"] = np.asarray(score, dtype=np.float32).transpose(1, 0, 2)
    if "img_shape" in annotation:
        extras["img_shape"] = tuple(int(v) for v in annotation["img_shape"])
    return Clip(
        name=name,
        joints=np.ascontiguousarray(keypoint.transpose(1, 0, 2, 3), dtype=np.float32),
        label=int(annotation.get("label", -1)),
        layout=layout,
        extras=extras,
    )


def read_pyskl(path: str | Path, layout: str = "coco17") -> PysklAnnotations:
    """Read a PYSKL/MMAction2 annotation pickle with the restricted unpickler."""
    where = str(path)
    content = safe_load_pickle(path)
    if not isinstance(content, dict) or "annotations" not in content:
        raise DataError(where, "expected a dict with 'annotations' (and 'split')")
    clips = [annotation_to_clip(a, where, layout) for a in content["annotations"]]
    splits = {str(k): [str(n) for n in v] for k, v in content.get("split", {}).items()}
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
