"""Run a trained model on skeleton files: the top classes of each clip with their probabilities.

Each input goes the way the training data went: ``stalstm.readers.read_clip`` reads it (any
readable kind: NTU ``.skeleton``, SBU, MSR, generic ``.npy`` / ``.csv``, 2D keypoints in a
named layout), the model's preparation preset (``stalstm.transforms.build_preset``) prepares
it, persons are padded with zeros or cut to the model's person count, and the (T, M, V, C)
array is flattened person-major to the model's (T, K, C). An input whose layout, joint count or
coordinate dimension differs from the model's raises ``LayoutMismatchError`` naming the file,
what it has and what the model expects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from stalstm.clip import UNKNOWN, Clip
from stalstm.errors import DataError, LayoutMismatchError
from stalstm.layouts import Layout
from stalstm.model import STALSTMOutput
from stalstm.modelfile import LoadedModel
from stalstm.readers import is_keypoint_output, read_clip
from stalstm.transforms import build_preset


@dataclass(frozen=True)
class Prediction:
    """The model's answer for one clip.

    Attributes:
        source: the input file (or clip name when not read from a file).
        clip_name: the clip's name.
        top: the ``top_k`` most probable (class name, probability), most probable first.
        probabilities: (N,) all class probabilities, in the model's class order.
        label: the clip's own label when the input carries one, else -1.
    """

    source: str
    clip_name: str
    top: tuple[tuple[str, float], ...]
    probabilities: np.ndarray
    label: int = UNKNOWN

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what ``stalstm predict --json`` prints)."""
        return {
            "source": self.source,
            "clip": self.clip_name,
            "label": self.label,
            "top": [{"class": name, "probability": prob} for name, prob in self.top],
        }


def fit_persons(joints: np.ndarray, num_persons: int) -> np.ndarray:
    """(..., M, V, C) -> (..., num_persons, V, C): zero persons added when the data has fewer
    (an absent person is zeros, the data sets' convention); the first ``num_persons`` kept when
    it has more (readers order persons by first appearance, and the denoising presets put the
    main actors first)."""
    have = joints.shape[-3]
    if have == num_persons:
        return joints
    if have > num_persons:
        return joints[..., :num_persons, :, :]
    padding = np.zeros((*joints.shape[:-3], num_persons - have, *joints.shape[-2:]), joints.dtype)
    return np.concatenate([joints, padding], axis=-3)


def check_clip_fits(loaded: LoadedModel, clip: Clip, where: str | Path) -> None:
    """Raise ``LayoutMismatchError`` unless the clip's layout, joints per person and
    coordinates are the model's."""
    expected = (
        f"the model expects layout {loaded.layout!r}: {loaded.joints_per_person} joints x "
        f"{loaded.config.num_coords} coordinates per person"
    )
    if clip.layout not in ("unknown", loaded.layout) and loaded.layout != "unknown":
        raise LayoutMismatchError(where, f"the input has layout {clip.layout!r}; {expected}")
    if (clip.num_joints, clip.num_coords) != (loaded.joints_per_person, loaded.config.num_coords):
        raise LayoutMismatchError(
            where,
            f"the input has {clip.num_joints} joints x {clip.num_coords} coordinates per "
            f"person; {expected}",
        )
    if clip.num_frames == 0:
        raise DataError(where, "the input has no frames")


def prepare_for_model(loaded: LoadedModel, clip: Clip, where: str | Path | None = None) -> Clip:
    """Check the clip against the model and apply the model's preparation preset."""
    check_clip_fits(loaded, clip, where or clip.name)
    if loaded.preset == "none":
        return clip
    return build_preset(loaded.preset, loaded.layout_object)(clip)


def model_joints(loaded: LoadedModel, clip: Clip) -> np.ndarray:
    """A prepared clip's joints as the model reads them: (T, K, C) float32."""
    joints = fit_persons(clip.joints, loaded.num_persons)  # (T, M, V, C)
    return joints.reshape(joints.shape[0], -1, joints.shape[-1])  # (T, K, C)


@torch.inference_mode()
def run_model(loaded: LoadedModel, joints: np.ndarray) -> STALSTMOutput:
    """The model's full output for one clip's (T, K, C) joints (batch of one)."""
    return loaded.model(torch.from_numpy(np.ascontiguousarray(joints)).unsqueeze(0))


def top_classes(
    loaded: LoadedModel, probabilities: np.ndarray, top_k: int
) -> tuple[tuple[str, float], ...]:
    """The ``top_k`` most probable (class name, probability), most probable first."""
    order = np.argsort(-probabilities, kind="stable")[: max(1, top_k)]
    return tuple((loaded.class_names[i], float(probabilities[i])) for i in order)


def predict_clip(
    loaded: LoadedModel, clip: Clip, *, top_k: int = 5, source: str | Path | None = None
) -> Prediction:
    """The top-k classes of one (raw, unprepared) clip."""
    prepared = prepare_for_model(loaded, clip, source)
    output = run_model(loaded, model_joints(loaded, prepared))
    probabilities = torch.softmax(output.logits[0], dim=-1).numpy()
    return Prediction(
        source=str(source or clip.name),
        clip_name=clip.name,
        top=top_classes(loaded, probabilities, top_k),
        probabilities=probabilities,
        label=clip.label,
    )


def read_input(
    path: str | Path, layout: str | None = None, default_layout: str | Layout | None = None
) -> Clip:
    """Read one input file of any readable kind (see ``stalstm.readers.read_clip``).

    ``layout`` names the layout of a generic ``.npy`` / ``.csv`` clip; when it is not given and
    the file's format does not say, ``default_layout`` (the model's) is used. A pose
    estimator's output is read in ``default_layout`` when not told otherwise (its joints picked
    by name: ``openpose_body25`` or ``mediapipe33`` keypoints for a ``coco17`` model)."""
    path = Path(path)
    if layout is None and default_layout is not None and is_keypoint_output(path):
        return read_clip(path, layout=default_layout)  # in the model's layout, joints by name
    if layout is None and default_layout is not None and path.suffix in (".npy", ".csv"):
        try:
            return read_clip(path)  # a format that names its own layout (an SBU .csv)
        except DataError:
            return read_clip(path, layout=default_layout)
    return read_clip(path, layout=layout)


def predict_files(
    loaded: LoadedModel,
    paths: Iterable[str | Path],
    *,
    top_k: int = 5,
    layout: str | None = None,
) -> list[Prediction]:
    """Read each file and predict it. ``layout`` names the layout of inputs whose format does
    not say (generic ``.npy`` / ``.csv``, 2D keypoints); the model's layout when omitted."""
    return [
        predict_clip(
            loaded,
            read_input(path, layout, loaded.layout_object or loaded.layout),
            top_k=top_k,
            source=path,
        )
        for path in paths
    ]


def predict_each(
    loaded: LoadedModel,
    paths: Iterable[str | Path],
    *,
    top_k: int = 5,
    layout: str | None = None,
) -> Iterator[Prediction | DataError]:
    """``predict_files`` input by input: each input's prediction, or the typed error it raised
    (naming its file), so that one bad input does not stop the others."""
    for path in paths:
        try:
            clip = read_input(path, layout, loaded.layout_object or loaded.layout)
            yield predict_clip(loaded, clip, top_k=top_k, source=path)
        except DataError as error:
            yield error
