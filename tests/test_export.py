"""ONNX export: onnxruntime gives PyTorch's answer on real SBU and NTU clips, for a random and a
briefly trained model; the streaming step model gives the offline answer on every prefix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from helpers.models import (
    NTU_CLIPS,
    SBU_CLIPS,
    TOLERANCE,
    model_input,
    ntu_clip,
    offline_prefix_logits,
    saved_model,
    sbu_clip,
    session,
)

from stalstm.export import OnnxStreamingRecognizer, export_offline, export_streaming
from stalstm.model import VARIANTS, STALSTMConfig, build_model
from stalstm.modelfile import LoadedModel


def padded_batch(clips: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(T_i, K, C) clips -> zero-padded (B, T_max, K, C) and the (B, T_max) mask."""
    frames = max(len(clip) for clip in clips)
    joints = np.zeros((len(clips), frames, *clips[0].shape[1:]), np.float32)
    mask = np.zeros((len(clips), frames), bool)
    for index, clip in enumerate(clips):
        joints[index, : len(clip)], mask[index, : len(clip)] = clip, True
    return joints, mask


def train_briefly(loaded: LoadedModel, clips: list[np.ndarray], labels: list[int]) -> None:
    """A few Adam steps on (the first 32 frames of) real clips, so the weights are no longer the
    initial ones; the loss must go down."""
    joints, mask = (torch.from_numpy(array) for array in padded_batch([c[:32] for c in clips]))
    targets = torch.tensor(labels)
    model = loaded.model.train()
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(8):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(joints, mask).logits, targets)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    model.eval()
    assert losses[-1] < losses[0]


@pytest.fixture(scope="module")
def real_cases(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> list:
    """(name, loaded model, prepared real clips) for SBU and NTU, random and briefly trained."""
    torch.set_num_threads(1)  # module fixtures run before conftest's per-test thread setting
    cases = []
    for dataset in ("sbu", "ntu"):
        for trained in (False, True):
            folder = tmp_path_factory.mktemp(f"{dataset}_{trained}")
            if dataset == "sbu":
                loaded = saved_model(folder, joints=30, classes=8, layout="openni15", preset="sbu")
                raw = [sbu_clip(data_root, name) for name in SBU_CLIPS]
            else:
                loaded = saved_model(folder, joints=50, classes=60, layout="ntu25", preset="none")
                raw = [ntu_clip(data_root, action) for action in NTU_CLIPS]
            clips = [model_input(loaded, clip) for clip in raw]
            if trained:
                train_briefly(loaded, clips, [clip.label for clip in raw])
            cases.append((f"{dataset} {'trained' if trained else 'random'}", loaded, clips))
    return cases


def test_offline_onnx_matches_pytorch_on_real_clips(real_cases: list, tmp_path: Path) -> None:
    for name, loaded, clips in real_cases:
        path = export_offline(loaded.model, tmp_path / f"{name}.onnx")
        assert "LSTM" in {node.op_type for node in onnx.load(str(path)).graph.node}
        runtime = session(path)
        # the whole padded batch at once (dynamic batch and time), then each clip alone
        batches = [padded_batch(clips)] + [padded_batch([clip]) for clip in clips]
        for joints, mask in batches:
            logits, probabilities, beta, alpha = runtime.run(None, {"joints": joints, "mask": mask})
            with torch.inference_mode():
                expected = loaded.model(torch.from_numpy(joints), torch.from_numpy(mask))
            np.testing.assert_allclose(
                logits, expected.logits, rtol=0, atol=TOLERANCE, err_msg=name
            )
            np.testing.assert_array_equal(logits.argmax(1), expected.logits.argmax(1).numpy())
            np.testing.assert_allclose(beta, expected.beta, atol=TOLERANCE, err_msg=name)
            np.testing.assert_allclose(alpha, expected.alpha, atol=TOLERANCE, err_msg=name)
            np.testing.assert_allclose(
                probabilities, torch.softmax(expected.logits, 1), atol=1e-5, err_msg=name
            )


def test_streaming_onnx_matches_offline_on_every_prefix(real_cases: list, tmp_path: Path) -> None:
    for name, loaded, clips in real_cases:
        path = export_streaming(loaded.model, tmp_path / f"{name}_step.onnx")
        for clip in clips:
            expected = offline_prefix_logits(loaded, clip)  # (T, N)
            recognizer = OnnxStreamingRecognizer(path, loaded.config, streams=1)
            for t, frame in enumerate(clip):
                probabilities = recognizer.update(frame[None])
                np.testing.assert_allclose(
                    recognizer.logits[0], expected[t], rtol=0, atol=TOLERANCE, err_msg=name
                )
                assert probabilities.argmax() == expected[t].argmax()
        # several streams batched through the same graph
        frames = min(len(clip) for clip in clips)
        recognizer = OnnxStreamingRecognizer(path, loaded.config, streams=len(clips))
        for t in range(frames):
            recognizer.update(np.stack([clip[t] for clip in clips]))
        final = [offline_prefix_logits(loaded, clip[:frames])[-1] for clip in clips]
        np.testing.assert_allclose(recognizer.logits, np.stack(final), atol=TOLERANCE)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_exports(variant: str, tmp_path: Path) -> None:
    torch.manual_seed(1)
    config = STALSTMConfig(num_joints=6, num_classes=3, variant=variant, main_hidden=8,
                           spatial_hidden=4, spatial_tanh=4, temporal_hidden=4)  # fmt: skip
    model = build_model(config).eval()
    joints = torch.randn(2, 5, 6, 3)
    outputs = session(export_offline(model, tmp_path / "offline.onnx")).run(
        None, {"joints": joints.numpy(), "mask": np.ones((2, 5), bool)}
    )
    assert len(outputs) == (4 if config.has_spatial_attention else 3)
    with torch.inference_mode():
        expected = model(joints)
    np.testing.assert_allclose(outputs[0], expected.logits, atol=TOLERANCE)
    recognizer = OnnxStreamingRecognizer(
        export_streaming(model, tmp_path / "step.onnx"), config, streams=2
    )
    for t in range(5):
        recognizer.update(joints[:, t].numpy())
    np.testing.assert_allclose(recognizer.logits, expected.logits, atol=TOLERANCE)
