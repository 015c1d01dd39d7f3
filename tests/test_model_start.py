"""What makes STA-LSTM train reliably (README, "Training reliably"), each piece shown to do what it
says, so that removing any of them fails a test:

- input standardisation by training-set statistics, carried in the model and applied the same in
  the model, a saved and loaded model, the online Recognizer and both ONNX graphs;
- the attended input rescaled by K and the neutral attention start: at initialisation STA-LSTM
  computes exactly what the plain LSTM with the same main network computes;
- the ReLU gate's leaky gradient while training (the forward pass is the paper's ReLU);
- the warm-up of the learning rate; the statistics ``fit`` sets; old model files.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
import torch
from helpers.models import random_attention_start
from torch.testing import assert_close

from stalstm.export import OnnxStreamingRecognizer, export_offline, export_streaming
from stalstm.model import STALSTMConfig, build_model
from stalstm.modelfile import load_model, save_model
from stalstm.online import Recognizer

CONFIG = STALSTMConfig(num_joints=6, num_classes=4, main_hidden=9, spatial_hidden=7,
                       spatial_tanh=5, temporal_hidden=8)  # fmt: skip


def joints_with_an_absent_person(seed: int = 0) -> torch.Tensor:
    """(2, 7, 6, 3) far from the origin (camera coordinates), the last 3 joints (a second
    person) absent in the first clip."""
    generator = torch.Generator().manual_seed(seed)
    joints = torch.randn(2, 7, 6, 3, generator=generator) * 0.3 + torch.tensor([0.2, -0.5, 2.8])
    joints[0, :, 3:] = 0.0
    return joints


def statistics_model(config: STALSTMConfig = CONFIG, seed: int = 0):
    torch.manual_seed(seed)
    model = random_attention_start(build_model(config)).eval()
    mean = torch.tensor([0.2, -0.5, 2.8]).repeat(6, 1) + 0.01 * torch.arange(18.0).view(6, 3)
    model.set_input_statistics(mean, torch.full((6, 3), 0.3))
    return model


def test_standardising_is_the_affine_map_and_absent_joints_stay_zero():
    model = statistics_model()
    joints = joints_with_an_absent_person()
    expected_input = torch.where(
        (joints != 0).any(-1, keepdim=True), (joints - model.input_mean) / 0.3, 0.0
    )
    assert_close(model.standardise(joints), expected_input)
    assert (model.standardise(joints)[0, :, 3:] == 0).all()
    plain = build_model(replace(model.config, standardise_input=False)).eval()
    plain.load_state_dict(model.state_dict())
    assert_close(model(joints).logits, plain(expected_input).logits)
    assert not torch.allclose(model(joints).logits, plain(joints).logits)


def test_with_one_shared_centre_attention_weights_positions_about_the_body_centre():
    # Y = K alpha X: with each feature's own mean subtracted, a frame at the average pose is
    # X = 0 and the main network reads 0 whatever alpha says (attention has nothing to weigh);
    # with one centre for the whole skeleton it reads the joints' places, weighted by alpha
    torch.manual_seed(0)
    frames = torch.randn(50, 6, 3) + torch.arange(6.0)[:, None]  # (T, K, C), joints apart
    pose = frames.mean(0)[None, None]  # (1, 1, K, C): the average pose
    uniform = torch.full((1, 1, 6), 1 / 6)
    focused = torch.softmax(torch.arange(6.0), -1)[None, None]
    model = build_model(CONFIG).eval()
    model.set_input_statistics(frames.mean(0), torch.ones(6, 3))  # per-feature means
    per_feature = model.standardise(pose)
    assert (model.attended_input(per_feature, uniform) == 0).all()
    assert (model.attended_input(per_feature, focused) == 0).all()
    model.set_input_statistics(frames.mean((0, 1)).expand(6, 3), torch.ones(6, 3))  # shared
    shared = model.standardise(pose)
    uniform_y = model.attended_input(shared, uniform)
    assert uniform_y.abs().mean() > 1.0
    assert (model.attended_input(shared, focused) - uniform_y).abs().mean() > 1.0


def test_the_statistics_travel_with_the_model_file_online_and_onnx(tmp_path: Path):
    model = statistics_model()
    joints = joints_with_an_absent_person()
    folder = save_model(tmp_path / "m", model, class_names=list("abcd"), layout="unknown",
                        preset="none")  # fmt: skip
    loaded = load_model(folder)
    assert_close(loaded.model.input_mean, model.input_mean)
    with torch.inference_mode():
        expected = model(joints)
        assert_close(loaded.model(joints).logits, expected.logits)
    recognizer = Recognizer(loaded, streams=2)
    for frame in range(joints.shape[1]):
        online = recognizer.update(joints[:, frame].numpy())
    np.testing.assert_allclose(online, torch.softmax(expected.logits, -1), atol=1e-6)

    offline_graph = onnxruntime.InferenceSession(str(export_offline(model, tmp_path / "o.onnx")))
    mask = np.ones(joints.shape[:2], dtype=bool)
    logits = offline_graph.run(["logits"], {"joints": joints.numpy(), "mask": mask})[0]
    np.testing.assert_allclose(logits, expected.logits, atol=1e-4)
    streaming = OnnxStreamingRecognizer(export_streaming(model, tmp_path / "s.onnx"),
                                        model.config, streams=2)  # fmt: skip
    for frame in range(joints.shape[1]):
        streamed = streaming.update(joints[:, frame].numpy())
    np.testing.assert_allclose(streaming.logits, expected.logits, atol=1e-4)
    np.testing.assert_allclose(streamed, torch.softmax(expected.logits, -1), atol=1e-5)


@pytest.mark.parametrize("variant", ["sta", "sa", "ta"])
def test_at_initialisation_sta_lstm_computes_the_plain_lstm(variant: str):
    """Neutral attention (alpha uniform, beta = b_p = 1) and the attended input rescaled by K:
    the attention variants start as the plain LSTM and learn to depart from it."""
    torch.manual_seed(0)
    attention = build_model(replace(CONFIG, variant=variant)).eval()
    plain = build_model(replace(CONFIG, variant="lstm")).eval()
    plain.main.load_state_dict(attention.main.state_dict())
    joints = joints_with_an_absent_person()
    out, expected = attention(joints), plain(joints)
    assert_close(out.logits, expected.logits, atol=1e-5, rtol=1e-5)
    if out.alpha is not None:
        assert_close(out.alpha, torch.full_like(out.alpha, 1 / 6))
    if variant != "sa":
        assert (out.beta == 1.0).all()
    # without the rescale the main network reads a K-fold smaller input: not the LSTM
    shrunk = build_model(replace(CONFIG, variant=variant, rescale_attended_input=False)).eval()
    shrunk.load_state_dict(attention.state_dict())
    if variant != "ta":
        assert not torch.allclose(shrunk(joints).logits, expected.logits, atol=1e-3)


def test_the_gate_is_a_relu_whose_gradient_leaks_while_training_only():
    torch.manual_seed(0)
    model = build_model(replace(CONFIG, temporal_bias=-5.0, gate_gradient_leak=0.1))
    joints = joints_with_an_absent_person()
    for mode, leak in ((True, 0.1), (False, 0.0)):
        model.train(mode)
        gate = model.temporal_attention.input_to_gate
        gate.bias.grad = None
        output = model(joints)
        assert (output.beta == 0).all()  # b_p = -5: the ReLU is shut on every frame
        output.beta.sum().backward()
        # d sum(beta) / d b_p: the leak on every valid frame while training, nothing in eval
        assert gate.bias.grad.item() == pytest.approx(leak * joints.shape[0] * joints.shape[1])
    dead = build_model(replace(CONFIG, temporal_bias=-5.0, gate_gradient_leak=0.0)).train()
    dead(joints).beta.sum().backward()
    assert dead.temporal_attention.input_to_gate.bias.grad.item() == 0.0


def test_a_model_file_written_before_format_2_reads_as_it_was_trained(tmp_path: Path):
    # a format-1 model: no standardisation, the main network reading alpha_t X_t
    legacy = replace(CONFIG, standardise_input=False, rescale_attended_input=False,
                     gate_gradient_leak=0.0)  # fmt: skip
    torch.manual_seed(0)
    model = random_attention_start(build_model(legacy)).eval()
    folder = save_model(tmp_path / "m", model, class_names=list("abcd"), layout="unknown",
                        preset="none")  # fmt: skip
    description = json.loads((folder / "model.json").read_text())
    for name in ("standardise_input", "rescale_attended_input", "gate_gradient_leak"):
        del description["config"][name]
    description["format_version"] = 1
    (folder / "model.json").write_text(json.dumps(description))
    from safetensors.torch import load_file, save_file

    state = load_file(str(folder / "model.safetensors"))
    del state["input_mean"], state["input_scale"]
    save_file(state, str(folder / "model.safetensors"))
    loaded = load_model(folder)
    assert loaded.config == legacy
    joints = joints_with_an_absent_person()
    assert_close(loaded.model(joints).logits, model(joints).logits)


def test_model_files_with_retired_config_fields_read_as_they_were_trained(tmp_path: Path):
    # stalstm 0.2 and 0.3 wrote the switches this version retired (they shaped training only)
    torch.manual_seed(0)
    model = random_attention_start(build_model(CONFIG)).eval()
    folder = save_model(tmp_path / "m", model, class_names=list("abcd"), layout="unknown",
                        preset="none")  # fmt: skip
    description = json.loads((folder / "model.json").read_text())
    description["config"].update(
        shared_input_scale=True, shared_input_centre=False, zero_init_spatial=True,
        zero_init_gate=True, zero_init_classifier=False,
    )  # fmt: skip
    (folder / "model.json").write_text(json.dumps(description))
    loaded = load_model(folder)
    assert loaded.config == CONFIG
    joints = joints_with_an_absent_person()
    assert_close(loaded.model(joints).logits, model(joints).logits)
