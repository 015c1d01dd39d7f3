"""Small saved models and the real clips and streams the model tests feed them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch

from stalstm.clip import Clip
from stalstm.detection.detector import DetectionSettings
from stalstm.detection.segmenting import Detection, PostProcessing
from stalstm.model import STALSTMConfig, build_model
from stalstm.modelfile import LoadedModel, load_model, save_model
from stalstm.predict import fit_persons
from stalstm.readers import read_ntu_skeleton, read_sbu_clip
from stalstm.readers.sfinge import SFINGE_CLASSES, read_sfinge_stream
from stalstm.stream import Stream
from stalstm.transforms import build_preset

SBU_CLIPS = ("s01s02/08/001", "s03s04/04/001", "s07s03/01/002")
NTU_CLIPS = ("A001", "A026", "A050", "A060")  # one body, a spurious second body, two bodies


def sbu_clip(data_root: Path, name: str) -> Clip:
    return read_sbu_clip(data_root / "sbu_kinect_interaction" / name / "skeleton_pos.txt")


def ntu_clip(data_root: Path, action: str) -> Clip:
    return read_ntu_skeleton(data_root / "ntu_rgbd_samples" / f"S001C001P001R001{action}.skeleton")


def random_attention_start(model: torch.nn.Module) -> torch.nn.Module:
    """Random weights where the model starts neutral (U_s, b_so, w_xp, w_hp are 0 at first), so
    that an oracle test exercises every path; b_p keeps the config's temporal bias."""
    spatial, temporal = model.spatial_attention, model.temporal_attention
    if spatial is not None:
        spatial.joint_scores.reset_parameters()
    if temporal is not None:
        torch.nn.init.kaiming_uniform_(temporal.input_to_gate.weight, a=5**0.5)
        temporal.hidden_to_gate.reset_parameters()
    return model


def saved_model(
    directory: Path, *, joints: int, classes: int, layout: str, preset: str, variant: str = "sta",
    coords: int = 3,
) -> LoadedModel:  # fmt: skip
    torch.manual_seed(0)
    config = STALSTMConfig(
        num_joints=joints, num_classes=classes, variant=variant, num_coords=coords, main_hidden=32,
        spatial_hidden=16, spatial_tanh=16, temporal_hidden=16,
    )  # fmt: skip
    save_model(
        directory, build_model(config), class_names=[f"class {n}" for n in range(classes)],
        layout=layout, preset=preset,
    )  # fmt: skip
    return load_model(directory)


def offline_prefix_logits(loaded: LoadedModel, joints: np.ndarray) -> np.ndarray:
    """(T, K, C) -> (T, N): the offline model run afresh on every prefix 1..T."""
    clip = torch.from_numpy(joints).unsqueeze(0)
    with torch.inference_mode():
        return np.stack(
            [loaded.model(clip[:, :t]).logits[0].numpy() for t in range(1, len(joints) + 1)]
        )


def model_input(loaded: LoadedModel, clip: Clip) -> np.ndarray:
    prepared = build_preset(loaded.preset)(clip).joints
    joints = fit_persons(prepared, loaded.num_persons)
    return joints.reshape(len(joints), -1, joints.shape[-1])


TOLERANCE = 1e-4


def session(path: Path) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


SETTINGS = DetectionSettings(
    background=13,
    window=3,
    post_processing=PostProcessing(
        start_threshold=0.4, start_frames=2, end_threshold=0.3, end_frames=2
    ),
)


def detection_model(
    directory: Path, settings: DetectionSettings | None = SETTINGS, boundary_heads: bool = False
) -> LoadedModel:
    """A random hand model whose class scores are made large, so that its probabilities swing
    between classes as a trained detector's do and the tracker opens and closes segments."""
    torch.manual_seed(3)
    config = STALSTMConfig(
        num_joints=20, num_classes=14, main_hidden=24, main_layers=2,
        spatial_hidden=12, spatial_tanh=12, temporal_hidden=12, boundary_heads=boundary_heads,
    )  # fmt: skip
    model = build_model(config)
    with torch.no_grad():
        model.main.classifier.weight.mul_(25.0)
    metadata = {"detection": settings.to_dict()} if settings else {}
    save_model(
        directory, model, class_names=[*SFINGE_CLASSES, "background"], layout="hand20",
        preset="hand", metadata=metadata,
    )  # fmt: skip
    return load_model(directory)


def same(found: list[Detection], expected: list[Detection]) -> bool:
    """The same segments (label, frames, report frame); confidences equal up to the float
    rounding between the fused LSTM over a whole stream and its one-frame steps."""
    return [d.to_dict() for d in found] == [pytest.approx(d.to_dict(), abs=1e-5) for d in expected]


def sfinge_stream(data_root: Path, number: int, frames: int) -> Stream:
    stream = read_sfinge_stream(data_root / "sfinge3d_v1" / "Sequences" / f"{number}.txt")
    return Stream(stream.name, stream.joints[:frames], layout=stream.layout)
