"""predict: real files of each kind in, ranked class names out; a wrong layout named clearly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.models import model_input, saved_model

from stalstm.errors import LayoutMismatchError
from stalstm.model import STALSTMConfig, build_model
from stalstm.modelfile import load_model, save_model
from stalstm.predict import fit_persons, predict_files
from stalstm.readers import read_clip

SBU_FILE = Path("sbu_kinect_interaction/s01s02/08/001/skeleton_pos.txt")
NTU_FILE = Path("ntu_rgbd_samples/S001C001P001R001A050.skeleton")
MSR_FILE = Path("msr_action3d/a05_s01_e01_skeleton3D.txt")


def test_top_k_of_real_sbu_ntu_and_msr_files(data_root: Path, tmp_path: Path) -> None:
    models = {
        SBU_FILE: saved_model(
            tmp_path / "s", joints=30, classes=8, layout="openni15", preset="sbu"
        ),
        NTU_FILE: saved_model(tmp_path / "n", joints=50, classes=60, layout="ntu25", preset="sgn"),
        MSR_FILE: saved_model(tmp_path / "m", joints=20, classes=20, layout="msr20", preset="msr"),
    }
    for relative, loaded in models.items():
        (prediction,) = predict_files(loaded, [data_root / relative], top_k=3)
        assert prediction.source == str(data_root / relative)
        # the model run on the prepared clip here, its softmax ranked by hand
        joints = torch.from_numpy(model_input(loaded, read_clip(data_root / relative)))
        with torch.inference_mode():
            expected = torch.softmax(loaded.model(joints[None]).logits[0], 0).numpy()
        np.testing.assert_allclose(prediction.probabilities, expected, atol=1e-6)
        ranked = np.argsort(-expected)[:3]
        assert [name for name, _ in prediction.top] == [loaded.class_names[k] for k in ranked]
        np.testing.assert_allclose([p for _, p in prediction.top], expected[ranked], atol=1e-6)
    assert predict_files(models[SBU_FILE], [data_root / SBU_FILE])[0].label == 7  # punching


def test_a_file_of_another_layout_is_refused_by_name(data_root: Path, tmp_path: Path) -> None:
    sbu_model = saved_model(tmp_path / "s", joints=30, classes=8, layout="openni15", preset="sbu")
    with pytest.raises(LayoutMismatchError) as caught:
        predict_files(sbu_model, [data_root / NTU_FILE])
    message = str(caught.value)
    assert str(data_root / NTU_FILE) in message
    assert "'ntu25'" in message and "'openni15'" in message and "15 joints x 3" in message

    keypoints = tmp_path / "keypoints.npy"  # 2D COCO keypoints for a 3D model
    np.save(keypoints, np.random.default_rng(0).random((12, 17, 2), dtype=np.float32))
    with pytest.raises(LayoutMismatchError, match=r"keypoints\.npy.*'coco17'"):
        predict_files(sbu_model, [keypoints], layout="coco17")


def test_generic_2d_keypoints_in_the_models_layout(tmp_path: Path) -> None:
    keypoints = tmp_path / "walk.npy"  # no --layout: the model's layout is used
    np.save(keypoints, np.random.default_rng(1).random((20, 17, 2), dtype=np.float32))
    model_3d = saved_model(tmp_path / "c", joints=17, classes=4, layout="coco17", preset="none")
    with pytest.raises(LayoutMismatchError, match="17 joints x 2 coordinates"):
        predict_files(model_3d, [keypoints])
    save_model(
        tmp_path / "c2", build_model(STALSTMConfig(num_joints=17, num_classes=4, num_coords=2)),
        class_names=["a", "b", "c", "d"], layout="coco17", preset="none",
    )  # fmt: skip
    (prediction,) = predict_files(load_model(tmp_path / "c2"), [keypoints], top_k=2)
    assert prediction.clip_name == "walk" and len(prediction.top) == 2


def test_fit_persons_pads_and_cuts() -> None:
    joints = np.random.default_rng(0).normal(size=(4, 3, 5, 3)).astype(np.float32)
    np.testing.assert_array_equal(fit_persons(joints, 2), joints[:, :2])  # the first two kept
    padded = fit_persons(joints[:, :1], 2)
    np.testing.assert_array_equal(padded[:, :1], joints[:, :1])
    assert padded.shape == (4, 2, 5, 3) and not padded[:, 1].any()  # an absent person: zeros
    assert fit_persons(joints, 3) is joints
