"""COCO keypoint detection results (the format of cocodataset.org's "results format", written by
HRNet, YOLO-pose, Detectron2, MMPose's COCO evaluation...): a JSON list of
``{"image_id": int, "category_id": int, "keypoints": [x1, y1, v1, ..., xK, yK, vK],
"score": float}``, one entry per detected person.

The images are a video's frames, numbered by ``image_id``: frame t is the t-th id from the
smallest; an id between two that has no entry is a frame in which nobody was detected (the
format lists detections only), so it becomes an empty frame. A gap of more than
``MAX_MISSING_FRAMES`` ids is refused: ids that far apart are not one video's frames (COCO's own
image ids are not consecutive). ``v`` is read as the keypoint's score (detectors write their
confidence there; a ground-truth visibility 0 is "not labelled", 1 and 2 pass any threshold up
to 1). The person's ``score`` is not needed and not read. Layout ``coco17`` for 17 keypoints, or
the ``layout`` given when it has as many joints; a ``layout`` of another joint count is the one
to convert to (``stalstm.frames.LayoutConversion``). Persons are tracked across frames and
missing joints filled as ``stalstm.frames`` documents; the scores are kept in
``extras["scores"]``.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from stalstm.errors import DataError, EmptyFileError, JointCountError
from stalstm.frames import Frame, PersonSettings
from stalstm.layouts import Layout
from stalstm.readers._keypoint_json import (
    assemble_stream,
    checked_scores,
    load_json_file,
    number_list,
)
from stalstm.readers.mmpose import file_layout
from stalstm.stream import Stream

MAX_MISSING_FRAMES = 300  # ten seconds at 30 frames a second
MAX_IMAGE_ID = 2**53  # ids an int64 and a float64 hold exactly


def looks_like_coco_results(document: Any) -> bool:
    """Whether a JSON document has the shape of COCO keypoint results (for ``read_stream``)."""
    return (
        isinstance(document, list)
        and bool(document)
        and isinstance(document[0], dict)
        and "image_id" in document[0]
        and "keypoints" in document[0]
    )


def read_coco_keypoints(
    path: str | Path,
    layout: str | Path | Layout | None = None,
    settings: PersonSettings | None = None,
    document: Any = None,
) -> Stream:
    """COCO keypoint results as a ``Stream`` (see the module docstring); ``document``: the
    file's JSON when already loaded."""
    path = Path(path)
    where = str(path)
    document = load_json_file(path) if document is None else document
    if not isinstance(document, list):
        raise DataError(where, "COCO keypoint results are a JSON list of detections")
    if not document:
        raise EmptyFileError(where, "no detections")
    first = document[0].get("keypoints") if isinstance(document[0], dict) else None
    count = len(first) // 3 if isinstance(first, list) else 17
    layout, target = file_layout((count, 2), layout, where)
    by_image: dict[int, list[np.ndarray]] = defaultdict(list)
    for number, entry in enumerate(document):
        entry_where = f"{where}, entry {number}"
        if not isinstance(entry, dict) or "image_id" not in entry or "keypoints" not in entry:
            raise DataError(entry_where, "an entry is {'image_id', 'category_id', 'keypoints', "
                            "'score'}")  # fmt: skip
        image = entry["image_id"]
        if isinstance(image, bool) or not isinstance(image, int):
            raise DataError(entry_where, f"image_id {image!r} is not an integer", field="image_id")
        if abs(image) > MAX_IMAGE_ID:
            raise DataError(entry_where, f"image_id {image} is beyond {MAX_IMAGE_ID}",
                            field="image_id")  # fmt: skip
        category = entry.get("category_id", 1)
        if isinstance(category, bool) or not isinstance(category, int):
            raise DataError(entry_where, f"category_id {category!r} is not an integer",
                            field="category_id")  # fmt: skip
        values = number_list(entry["keypoints"], entry_where, "keypoints")
        if len(values) != 3 * layout.num_joints:
            raise JointCountError(
                entry_where, f"{len(values)} keypoint values; layout {layout.name} needs "
                f"{layout.num_joints} x (x, y, v) = {3 * layout.num_joints}", field="keypoints",
            )  # fmt: skip
        rows = values.reshape(-1, 3)
        checked_scores(rows[:, 2], entry_where, "keypoints")
        by_image[image].append(rows)
    ids = sorted(by_image)
    for before, after in itertools.pairwise(ids):
        if after - before - 1 > MAX_MISSING_FRAMES:
            raise DataError(
                where, f"image ids jump from {before} to {after}: more than "
                f"{MAX_MISSING_FRAMES} frames without a detection, not one video's frames",
                field="image_id",
            )  # fmt: skip
    frames: list[Frame | None] = []
    for image in range(ids[0], ids[-1] + 1):
        rows = by_image.get(image)
        if rows is None:
            frames.append(None)
            continue
        stacked = np.stack(rows)  # (P, V, 3)
        frames.append(Frame(stacked[..., :2], stacked[..., 2]))
    extras = {"image_ids": np.arange(ids[0], ids[-1] + 1, dtype=np.int64)}
    return assemble_stream(frames, layout, path.stem, where, settings, extras, target)
