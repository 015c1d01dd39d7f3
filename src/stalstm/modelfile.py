"""The model file: weights in safetensors beside a JSON description, so loading never runs code.

A saved model is a directory holding two files:

    model.safetensors   the state dict (safetensors: a JSON header and raw tensor bytes, nothing
                        that can execute)
    model.json          {"format": "stalstm-model", "format_version": 1, "stalstm_version",
                         "config" (STALSTMConfig fields), "layout" (layout name),
                         "layout_definition" (the whole layout, when known: a user's JSON
                         layout travels with the model), "num_persons", "joint_names" (one per
                         model input joint, K = M x V), "class_names", "preset" (preparation
                         preset name), "metadata"}

A torch ``.pt`` / ``.pth`` / ``.ckpt`` file is a pickle, and unpickling can run any code the file's
author chose. ``load_model`` decides by parsing, not by guessing from first bytes: a model
directory (or its ``model.json`` / ``model.safetensors`` named directly) is always read as JSON plus
safetensors, and a ``model.safetensors`` that does not parse is a ``DataError`` (a pickle renamed to
that name is never unpickled). Only a file the caller names otherwise can be unpickled, and only
with ``allow_pickle=True`` (``--allow-pickle`` on the command line). A safetensors file starts
with its header length as 8 little-endian bytes, so its first byte can be anything, 0x80 (a
pickle's PROTO opcode) included: first bytes cannot tell the two apart.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from stalstm import __version__
from stalstm.errors import DataError, UnsafePickleError
from stalstm.layouts import LAYOUTS, Layout, get_layout
from stalstm.model import STALSTM, STALSTMConfig, build_model

WEIGHTS_FILE = "model.safetensors"
DESCRIPTION_FILE = "model.json"
FORMAT_NAME = "stalstm-model"
FORMAT_VERSION = 2
# Legacy, in one place: what model files of older versions say that this version reads
# differently. A format-1 file (stalstm 0.1) lacks the fields below and computed without them:
# no input standardisation, the main network reading alpha_t X_t, no leaky gate gradient.
LEGACY_CONFIG = {
    "standardise_input": False,
    "rescale_attended_input": False,
    "gate_gradient_leak": 0.0,
}
# Config fields of older files that only shaped training (initialisation, how fit computed the
# input statistics, now stored in the weights): read and dropped.
RETIRED_CONFIG_FIELDS = (
    "shared_input_scale",
    "shared_input_centre",
    "zero_init_spatial",
    "zero_init_gate",
    "zero_init_classifier",
)
INPUT_BUFFERS = ("input_mean", "input_scale")  # format 2: identity when a file lacks them

# A pickle starts with the PROTO opcode 0x80 (protocol 2 and later); torch.save writes a zip
# archive ("PK\x03\x04") whose data.pkl is a pickle; the legacy torch format is a bare pickle.
_PICKLE_MAGIC = b"\x80"
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to use, with everything needed to prepare its input and name its output.

    Attributes:
        model: the network, in eval mode.
        config: its configuration.
        class_names: one name per output class, in output order.
        layout: name of the skeleton layout the model reads (see ``stalstm.layouts``).
        preset: name of the preparation preset its training data went through
            (``stalstm.transforms.build_preset``); apply the same before predicting.
        joint_names: one name per model input joint (K = persons x layout joints).
        num_persons: M, persons per frame the model reads (K = M x V).
        metadata: free-form facts recorded at save time (data set, protocol, accuracy...).
        version: the stalstm version that wrote the file.
        path: where the model was loaded from.
    """

    model: STALSTM
    config: STALSTMConfig
    class_names: tuple[str, ...]
    layout: str
    preset: str
    joint_names: tuple[str, ...]
    num_persons: int
    metadata: dict[str, Any] = field(default_factory=dict)
    version: str = ""
    path: Path | None = None
    layout_definition: dict[str, Any] | None = None

    @property
    def joints_per_person(self) -> int:
        """V, joints of one person in the model's layout."""
        return self.config.num_joints // self.num_persons

    @property
    def layout_object(self) -> Any:
        """The model's ``stalstm.layouts.Layout`` (from the file's definition, else the built-in
        layout of its name), None when neither is known: what presets prepare input by."""
        if self.layout_definition is not None:
            return Layout.from_dict(self.layout_definition, where=f"{self.path}: layout")
        return LAYOUTS.get(self.layout)


def _layout_joint_names(layout: Any) -> tuple[str, ...] | None:
    """Joint names of a layout given as a ``Layout`` object or a registered name, else None."""
    names = getattr(layout, "joint_names", None)
    if names is not None:
        return tuple(names)
    try:
        return tuple(get_layout(str(layout)).joint_names)
    except (KeyError, ValueError, FileNotFoundError, DataError):
        return None


def _builtin_definition(layout: Any) -> dict[str, Any] | None:
    known = LAYOUTS.get(str(layout))
    return known.to_dict() if known is not None else None


def model_joint_names(
    num_joints: int, person_joint_names: Sequence[str] | None
) -> tuple[tuple[str, ...], int]:
    """Names of the K model input joints and the person count M, from the V names of one
    person's layout: persons are flattened person-major (as ``ClipDataset`` does), so input
    joint k is joint ``k % V`` of person ``k // V``."""
    if not person_joint_names:
        return tuple(f"joint {k + 1}" for k in range(num_joints)), 1
    names = tuple(person_joint_names)
    if len(names) == num_joints:
        return names, 1
    if num_joints % len(names) != 0:
        raise ValueError(
            f"{len(names)} joint names do not divide the model's {num_joints} input joints"
        )
    persons = num_joints // len(names)
    flat = tuple(f"person {m + 1} {name}" for m in range(persons) for name in names)
    return flat, persons


def save_model(
    directory: str | Path,
    model: STALSTM,
    *,
    class_names: Sequence[str],
    layout: Any,
    preset: str | None,
    joint_names: Sequence[str] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``model.safetensors`` and ``model.json`` into ``directory`` (created if needed).

    Args:
        directory: the model directory.
        model: the trained network.
        class_names: one per output class.
        layout: the skeleton layout of the input: a ``stalstm.layouts.Layout`` or its name.
        preset: the preparation preset the training data went through ("none" for raw data).
        joint_names: names of one person's joints (V of them) or of all K input joints; taken
            from the layout when omitted.
        metadata: JSON-serialisable facts to keep with the model (data set, protocol, scores).

    Returns:
        The directory written.
    """
    config = model.config
    if len(class_names) != config.num_classes:
        raise ValueError(
            f"{len(class_names)} class names for a model with {config.num_classes} classes"
        )
    layout_name = str(getattr(layout, "name", layout))
    definition = layout.to_dict() if hasattr(layout, "to_dict") else _builtin_definition(layout)
    names, num_persons = model_joint_names(
        config.num_joints, joint_names if joint_names is not None else _layout_joint_names(layout)
    )
    description = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "stalstm_version": __version__,
        "config": config.to_dict(),
        "layout": layout_name,
        "layout_definition": definition,
        "num_persons": num_persons,
        "joint_names": list(names),
        "class_names": [str(name) for name in class_names],
        "preset": preset if preset is not None else "none",
        "metadata": dict(metadata or {}),
    }
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # contiguous copies on CPU: safetensors stores raw buffers and refuses shared or strided ones
    state = {
        name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()
    }
    save_file(state, str(directory / WEIGHTS_FILE), metadata={"format": "pt"})
    (directory / DESCRIPTION_FILE).write_text(json.dumps(description, indent=2) + "\n")
    return directory


def looks_like_pickle(path: Path) -> bool:
    """True for a file whose first bytes are those of a pickle or of a torch zip archive. Only a
    hint for error messages: a safetensors file may start with 0x80 too (its header length)."""
    with path.open("rb") as handle:
        head = handle.read(4)
    return head.startswith(_PICKLE_MAGIC) or head.startswith(_ZIP_MAGIC)


def load_model(directory_or_file: str | Path, allow_pickle: bool = False) -> LoadedModel:
    """Load a model saved by ``save_model``; never runs code from the file.

    Args:
        directory_or_file: the model directory, or its ``model.json`` / ``model.safetensors``;
            or a pickle-based torch file (``.pt``, ``.pth``, ``.ckpt``) when ``allow_pickle``.
        allow_pickle: permit unpickling a torch file. Only for files you trust: unpickling runs
            whatever code the file names.

    Raises:
        UnsafePickleError: a pickle-based file without ``allow_pickle``, or a pickle saved under
            the name ``model.safetensors`` (never unpickled).
        DataError: a missing, malformed or inconsistent model file (naming file and field).
    """
    path = Path(directory_or_file)
    if not path.exists():
        raise DataError(path, "no such model file or directory")
    if path.is_dir():
        return _load_directory(_model_folder(path))
    if path.name in (WEIGHTS_FILE, DESCRIPTION_FILE):
        return _load_directory(path.parent)  # parsed as JSON + safetensors, whatever its bytes
    if allow_pickle:
        return _load_pickled(path)
    if looks_like_pickle(path) or path.suffix in (".pt", ".pth", ".ckpt", ".pkl", ".bin"):
        raise UnsafePickleError(
            path,
            "this is a pickle-based torch file, and loading it could run any code its author "
            "put in it; refused. Load it only if you trust its source, with "
            "allow_pickle=True (command line: --allow-pickle), or convert it once with "
            "save_model to model.safetensors + model.json",
        )
    raise DataError(
        path, f"not a model: expected a directory with {WEIGHTS_FILE} and {DESCRIPTION_FILE}"
    )


RUN_MODEL_FOLDER = "model"  # where a training run keeps its model (stalstm.training.pipeline)


def _model_folder(folder: Path) -> Path:
    """A model folder, or a training run's folder standing for the model it holds."""
    if (folder / DESCRIPTION_FILE).is_file() or (folder / WEIGHTS_FILE).is_file():
        return folder
    inside = folder / RUN_MODEL_FOLDER
    if (inside / DESCRIPTION_FILE).is_file():
        return inside
    if (folder / "run.json").is_file():
        raise DataError(
            folder, f"a training run without its model yet ({inside} is written when it ends)"
        )
    raise DataError(
        folder,
        f"not a model folder (no {DESCRIPTION_FILE}) nor a training run's folder (no "
        f"{RUN_MODEL_FOLDER}/{DESCRIPTION_FILE})",
    )


def _read_description(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise DataError(path, "model description missing (it is written by save_model)")
    try:
        description = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        line = getattr(error, "lineno", None)
        raise DataError(path, f"not valid JSON: {error}", line=line) from error
    if not isinstance(description, dict) or description.get("format") != FORMAT_NAME:
        raise DataError(path, f"not an stalstm model description (format != {FORMAT_NAME!r})")
    if description.get("format_version", 0) > FORMAT_VERSION:
        raise DataError(
            path,
            f"written by a newer stalstm (format version {description['format_version']}); "
            "upgrade stalstm to read it",
            field="format_version",
        )
    return description


def config_from_dict(values: Mapping[str, Any], where: str | Path) -> STALSTMConfig:
    """An ``STALSTMConfig`` from its dict, naming the offending field on bad input. A config
    that lacks the fields format 2 added predates them: it gets ``LEGACY_CONFIG`` for them;
    fields of ``RETIRED_CONFIG_FIELDS`` are dropped."""
    if not isinstance(values, Mapping):
        raise DataError(where, "the model config must be a JSON object", field="config")
    values = {
        **LEGACY_CONFIG,
        **{key: value for key, value in values.items() if key not in RETIRED_CONFIG_FIELDS},
    }
    known = {item.name for item in fields(STALSTMConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise DataError(where, f"unknown config fields {unknown}", field="config")
    try:
        return STALSTMConfig(**values)
    except (TypeError, ValueError) as error:
        raise DataError(where, str(error), field="config") from error


def _build(config: STALSTMConfig, state: Mapping[str, torch.Tensor], where: Path) -> STALSTM:
    model = build_model(config)
    state = dict(state)
    for name in INPUT_BUFFERS:  # a file written before input standardisation: the identity
        state.setdefault(name, getattr(model, name).detach().clone())
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise DataError(where, f"weights do not fit the model config: {error}") from error
    return model.eval()


def _load_directory(directory: Path) -> LoadedModel:
    description_path = directory / DESCRIPTION_FILE
    weights_path = directory / WEIGHTS_FILE
    description = _read_description(description_path)
    config = config_from_dict(description.get("config"), description_path)
    if not weights_path.is_file():
        raise DataError(weights_path, "model weights missing")
    try:
        state = load_file(str(weights_path))  # safetensors parses; it never unpickles
    except (SafetensorError, OSError, ValueError) as error:
        if looks_like_pickle(weights_path):
            raise UnsafePickleError(
                weights_path,
                f"not a safetensors file but, by its first bytes, a pickle ({error}); it was "
                "not unpickled",
            ) from None
        raise DataError(weights_path, f"not a readable safetensors file: {error}") from None
    model = _build(config, state, weights_path)
    return _loaded_from_description(model, description, description_path)


def _loaded_from_description(
    model: STALSTM, description: Mapping[str, Any], where: Path
) -> LoadedModel:
    config = model.config
    class_names = tuple(str(name) for name in description.get("class_names", ()))
    if len(class_names) != config.num_classes:
        raise DataError(
            where,
            f"{len(class_names)} class names for {config.num_classes} classes",
            field="class_names",
        )
    joint_names = tuple(str(name) for name in description.get("joint_names", ()))
    if not joint_names:
        joint_names, _ = model_joint_names(config.num_joints, None)
    if len(joint_names) != config.num_joints:
        raise DataError(
            where,
            f"{len(joint_names)} joint names for {config.num_joints} input joints",
            field="joint_names",
        )
    num_persons = int(description.get("num_persons", 1))
    if num_persons < 1 or config.num_joints % num_persons != 0:
        raise DataError(
            where,
            f"{num_persons} persons do not divide {config.num_joints} input joints",
            field="num_persons",
        )
    return LoadedModel(
        model=model,
        config=config,
        class_names=class_names,
        layout=str(description.get("layout", "unknown")),
        preset=str(description.get("preset") or "none"),
        joint_names=joint_names,
        num_persons=num_persons,
        metadata=dict(description.get("metadata") or {}),
        version=str(description.get("stalstm_version", "")),
        path=where.parent if where.name == DESCRIPTION_FILE else where,
        layout_definition=_layout_definition(description.get("layout_definition"), where),
    )


def _layout_definition(value: Any, where: Path) -> dict[str, Any] | None:
    """The recorded layout, checked now (a broken one is named here, not at first use)."""
    if value is None:
        return None
    Layout.from_dict(value, where=f"{where}: layout_definition")
    return dict(value)


def _load_pickled(path: Path) -> LoadedModel:
    """Unpickle a torch file the caller has said they trust: either a whole ``STALSTM`` or a
    dict with the ``model.json`` keys plus ``state_dict`` (a ``model.`` prefix, as Lightning
    modules add, is removed)."""
    try:
        content = torch.load(path, map_location="cpu", weights_only=False)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as error:
        raise DataError(path, f"not a readable torch file: {error}") from None
    if isinstance(content, STALSTM):
        model = content.eval()
        description: dict[str, Any] = {
            "class_names": [f"class {n + 1}" for n in range(model.config.num_classes)],
        }
        return _loaded_from_description(model, description, path)
    if not isinstance(content, Mapping) or "state_dict" not in content:
        raise DataError(path, "expected an STALSTM module or a dict with 'state_dict' and 'config'")
    description = dict(content)
    hyper = description.get("hyper_parameters") or {}
    config_values = description.get("config", hyper.get("config") if hyper else None)
    config = config_from_dict(config_values, path)
    state = {key.removeprefix("model."): value for key, value in description["state_dict"].items()}
    model = _build(config, state, path)
    for key in ("class_names", "layout", "preset", "joint_names", "num_persons", "metadata"):
        if key not in description and key in hyper:
            description[key] = hyper[key]
    description.setdefault("class_names", [f"class {n + 1}" for n in range(config.num_classes)])
    return _loaded_from_description(model, description, path)
