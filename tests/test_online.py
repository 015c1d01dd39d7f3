"""The online recogniser gives the offline model's answer on every prefix of real clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.models import (
    NTU_CLIPS,
    SBU_CLIPS,
    model_input,
    ntu_clip,
    offline_prefix_logits,
    saved_model,
    sbu_clip,
)

from stalstm.errors import LayoutMismatchError
from stalstm.online import STREAMING_PRESETS, CausalPreparation, Recognizer, replay_clip
from stalstm.predict import predict_clip
from stalstm.readers.msr import read_msr_skeleton
from stalstm.readers.sfinge import read_sfinge_stream
from stalstm.transforms import PRESETS, build_preset


@pytest.mark.parametrize("variant", ["sta", "lstm"])
def test_every_prefix_of_real_sbu_and_ntu_clips(
    data_root: Path, tmp_path: Path, variant: str
) -> None:
    sbu = saved_model(
        tmp_path / "sbu", joints=30, classes=8, layout="openni15", preset="sbu", variant=variant
    )
    ntu = saved_model(
        tmp_path / "ntu", joints=50, classes=60, layout="ntu25", preset="none", variant=variant
    )
    cases = [(sbu, sbu_clip(data_root, name)) for name in SBU_CLIPS]
    cases += [(ntu, ntu_clip(data_root, action)) for action in NTU_CLIPS]
    for loaded, clip in cases:
        expected = offline_prefix_logits(loaded, model_input(loaded, clip))
        recognizer = Recognizer(loaded)  # raw frames in, prepared causally inside
        for t, frame in enumerate(clip.joints):
            probabilities = recognizer.update(frame)
            np.testing.assert_allclose(recognizer.logits, expected[t], rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(
                probabilities, torch.softmax(torch.from_numpy(expected[t]), 0), atol=1e-5
            )
        assert recognizer.frames_seen == clip.num_frames


def test_streams_batched_and_reset_one_stream(data_root: Path, tmp_path: Path) -> None:
    loaded = saved_model(tmp_path / "m", joints=30, classes=8, layout="openni15", preset="sbu")
    clips = [sbu_clip(data_root, name) for name in SBU_CLIPS]
    frames = min(clip.num_frames for clip in clips)
    raw = np.stack([clip.joints[:frames] for clip in clips], axis=1)  # (T, S, M, V, C)
    expected = [offline_prefix_logits(loaded, model_input(loaded, clip))[:frames] for clip in clips]
    recognizer = Recognizer(loaded, streams=len(clips))
    for t in range(frames):
        probabilities = recognizer.update(raw[t])
        for stream in range(len(clips)):
            np.testing.assert_allclose(recognizer.logits[stream], expected[stream][t], atol=1e-5)
            np.testing.assert_allclose(
                probabilities[stream], torch.softmax(torch.from_numpy(expected[stream][t]), 0),
                atol=1e-5,
            )  # fmt: skip
    # stream 1 starts over with clip 0 while the others continue untouched
    before = recognizer.logits.copy()
    recognizer.reset([1])
    recognizer.update(np.stack([clips[0].joints[0]] * len(clips)))
    np.testing.assert_allclose(recognizer.logits[1], expected[0][0], atol=1e-5)
    assert not np.allclose(recognizer.logits[0], before[0])  # stream 0 took one more frame


def test_flattened_frames_and_bad_frames(tmp_path: Path) -> None:
    loaded = saved_model(tmp_path / "m", joints=30, classes=8, layout="openni15", preset="none")
    frame = np.random.default_rng(0).normal(size=(2, 15, 3)).astype(np.float32)
    by_person = Recognizer(loaded).update(frame)
    flattened = Recognizer(loaded).update(frame.reshape(30, 3))
    one_person = Recognizer(loaded).update(frame[:1])  # second person absent: zeros
    np.testing.assert_allclose(by_person, flattened, atol=0)
    np.testing.assert_allclose(
        one_person, Recognizer(loaded).update(np.concatenate([frame[:1], 0 * frame[:1]])), atol=0
    )
    with pytest.raises(LayoutMismatchError, match="the model expects 30 x 3"):
        Recognizer(loaded).update(np.zeros((25, 3), np.float32))
    with pytest.raises(LayoutMismatchError, match="2 streams given, 3 expected"):
        Recognizer(loaded, streams=3).update(np.zeros((2, 30, 3), np.float32))


def test_streaming_presets_prepare_every_frame_like_the_whole_clip(data_root: Path) -> None:
    """A preset streams when preparing frame by frame gives the whole-clip preparation; the
    ones left out (whole-clip body choice) are shown to differ on NTU A060."""
    clips = {
        "sbu": [sbu_clip(data_root, name) for name in SBU_CLIPS],
        "msr": [
            read_msr_skeleton(data_root / "msr_action3d" / f"{name}_skeleton3D.txt")
            for name in ("a01_s01_e01", "a20_s10_e03")
        ],
        "none": [ntu_clip(data_root, action) for action in NTU_CLIPS],
        "hand": [read_sfinge_stream(data_root / "sfinge3d_v1" / "Sequences" / "3.txt").as_clip()],
    }
    assert set(STREAMING_PRESETS) <= set(PRESETS)
    for preset, preset_clips in clips.items():
        for clip in preset_clips:
            preparation = CausalPreparation(build_preset(preset), clip.layout)
            online = np.concatenate([preparation(frame[None]) for frame in clip.joints])
            np.testing.assert_allclose(online, build_preset(preset)(clip).joints, atol=1e-5)
    a060 = ntu_clip(data_root, "A060")
    for preset in ("agcn", "sgn"):
        assert preset not in STREAMING_PRESETS
        preparation = CausalPreparation(build_preset(preset), a060.layout)
        online = np.concatenate([preparation(frame[None]) for frame in a060.joints])
        offline = build_preset(preset)(a060).joints
        assert online.shape != offline.shape or not np.allclose(online, offline, atol=1e-3)


def test_whole_clip_preset_is_refused_online_but_replayed_offline(
    data_root: Path, tmp_path: Path
) -> None:
    loaded = saved_model(tmp_path / "m", joints=50, classes=60, layout="ntu25", preset="sgn")
    with pytest.raises(ValueError, match="cannot prepare frames online"):
        Recognizer(loaded)
    clip = ntu_clip(data_root, "A050")
    updates = list(replay_clip(loaded, clip))
    final = predict_clip(loaded, clip).probabilities
    np.testing.assert_allclose(updates[-1][1], final, atol=1e-6)
    assert [frame for frame, _ in updates] == list(range(len(updates)))
