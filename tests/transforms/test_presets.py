"""Every preset on the real data: shapes, centring, rotations, and SGN denoising of the NTU
samples (one actor for A024..A029, whose files carry a spurious second body; two for A050..A060)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stalstm.clip import Clip
from stalstm.layouts import get_layout
from stalstm.readers import read_msr_skeleton, read_ntu_skeleton, read_sbu_clip
from stalstm.readers.sfinge import read_sfinge_stream
from stalstm.transforms import PRESETS, build_preset
from stalstm.transforms import functional as F

NTU = get_layout("ntu25")
SPINE_BASE, SPINE_MID = NTU.up
SHOULDER_RIGHT, SHOULDER_LEFT = NTU.left_right


@pytest.fixture(scope="module")
def ntu_clips(data_root: Path) -> list[Clip]:
    paths = sorted((data_root / "ntu_rgbd_samples").glob("*.skeleton"))
    assert len(paths) == 60
    return [read_ntu_skeleton(path) for path in paths]


def action(clip: Clip) -> int:
    return clip.label + 1


def unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


def test_every_preset_runs_on_every_ntu_sample(ntu_clips: list[Clip]):
    assert set(PRESETS) == {"none", "canonical", "sgn", "agcn", "pyskl", "sbu", "msr", "hand"}
    for name in ("none", "canonical", "sgn", "agcn", "pyskl"):
        preset = build_preset(name)
        for clip in ntu_clips:
            out = preset(clip)
            assert out.joints.dtype == np.float32 and np.isfinite(out.joints).all()
            assert out.num_joints == 25 and out.num_coords == 3 and out.num_frames > 0
            # agcn keeps at most two, and one-person clips stay one person
            expected = {"none": clip.num_persons, "canonical": clip.num_persons,
                        "agcn": min(clip.num_persons, 2)}  # fmt: skip
            expected_persons = expected.get(name, 2)
            assert out.num_persons == expected_persons, (name, clip.name)
            assert (out.name, out.label) == (clip.name, clip.label)


def test_sgn_keeps_one_actor_for_a024_to_a029_and_two_for_a050_to_a060(ntu_clips):
    for clip in ntu_clips:
        bodies = clip.num_persons
        result = F.denoise_bodies(clip.joints, clip.extras["present"])
        if 24 <= action(clip) <= 29:
            assert bodies == 2 and result.num_actors == 1, clip.name
            assert set(result.dropped.values()) == {"spread"}
        elif action(clip) >= 50:
            assert bodies == 2 and result.num_actors == 2, clip.name
        else:
            assert bodies == 1 and result.num_actors == 1, clip.name
        out = build_preset("sgn")(clip)
        assert out.joints[:, 1].any() == (result.num_actors == 2)


def test_sgn_translates_by_actor_one_spine_middle_of_its_first_frame(ntu_clips):
    for clip in ntu_clips:
        out = build_preset("sgn")(clip).joints
        first = F.first_present_frame(out, 0)
        assert first == 0  # frames without any actor are dropped and actor 1 starts the clip
        np.testing.assert_allclose(out[first, 0, SPINE_MID], 0.0, atol=1e-6)
        # the translation is rigid: a bone keeps its length
        original = F.denoise_bodies(clip.joints, clip.extras["present"]).joints
        original = F.remove_empty_frames(original)
        np.testing.assert_allclose(
            np.linalg.norm(out[:, 0, 3] - out[:, 0, 2], axis=-1),
            np.linalg.norm(original[:, 0, 3] - original[:, 0, 2], axis=-1),
            atol=1e-5,
        )


@pytest.mark.parametrize("name", ["agcn", "pyskl"])
def test_rotations_put_the_spine_on_z_then_the_shoulders_on_x(ntu_clips, name: str):
    preset = build_preset(name)
    before_x_rotation = type(preset)(preset.transforms[:-1])
    for clip in ntu_clips:
        spine_only = before_x_rotation(clip).joints
        frame = F.first_present_frame(spine_only, 0)
        spine = spine_only[frame, 0, SPINE_MID] - spine_only[frame, 0, SPINE_BASE]
        np.testing.assert_allclose(unit(spine), [0, 0, 1], atol=1e-5)

        out = preset(clip).joints
        frame = F.first_present_frame(out, 0)
        shoulders = out[frame, 0, SHOULDER_RIGHT] - out[frame, 0, SHOULDER_LEFT]
        np.testing.assert_allclose(unit(shoulders), [1, 0, 0], atol=1e-5)
        spine = unit(out[frame, 0, SPINE_MID] - out[frame, 0, SPINE_BASE])
        # The shortest rotation onto x keeps spine-shoulder angles, so the spine leaves +z by
        # no more than the shoulders' deviation from perpendicular to it (a few degrees).
        assert np.degrees(np.arccos(spine[2])) < 15, clip.name


def test_agcn_centres_every_frame_on_the_main_body(ntu_clips):
    for clip in ntu_clips:
        out = build_preset("agcn")(clip).joints
        present = F.person_presence(out)[:, 0]
        np.testing.assert_allclose(out[present, 0, SPINE_MID], 0.0, atol=1e-5)
        assert out.shape[0] == clip.num_frames  # variable length kept, no padding to 300


def test_pyskl_drops_frames_without_the_main_body_and_centres_frame_zero(ntu_clips):
    for clip in ntu_clips:
        out = build_preset("pyskl")(clip).joints
        assert F.person_presence(out)[:, 0].all()
        np.testing.assert_allclose(out[0, 0, SPINE_MID], 0.0, atol=1e-5)


def test_sbu_preset_centres_between_the_torsos_and_points_y_up(data_root: Path):
    layout = get_layout("openni15")
    head, torso = layout.index("head"), layout.center
    paths = sorted((data_root / "sbu_kinect_interaction").rglob("skeleton_pos.txt"))[::40]
    for path in paths:
        clip = read_sbu_clip(path)
        out = build_preset("sbu")(clip).joints
        assert out.shape == clip.joints.shape
        np.testing.assert_allclose(out[0, :, torso].mean(axis=0), 0.0, atol=1e-5)
        assert (out[:, :, head, 1] > out[:, :, torso, 1]).mean() > 0.9, path


def test_msr_preset_centres_the_hip_and_scales_by_body_size(data_root: Path):
    layout = get_layout("msr20")
    for path in sorted((data_root / "msr_action3d").glob("a0*_s0*_e01_skeleton3D.txt"))[:20]:
        out = build_preset("msr")(read_msr_skeleton(path)).joints
        first = F.first_present_frame(out, 0)
        np.testing.assert_allclose(out[first, 0, layout.up[0]], 0.0, atol=1e-5)
        assert F.mean_bone_length(out, layout.bones) == pytest.approx(1.0, rel=1e-5)


def test_hand_preset_centres_the_palm_and_scales_by_hand_size(data_root: Path):
    layout = get_layout("hand20")
    stream = read_sfinge_stream(data_root / "sfinge3d_v1" / "Sequences" / "7.txt")
    out = build_preset("hand")(stream.as_clip()).joints
    np.testing.assert_allclose(out[0, 0, layout.center], 0.0, atol=1e-6)
    assert F.mean_bone_length(out, layout.bones) == pytest.approx(1.0, rel=1e-5)
    # every frame moved by the same palm and scaled by the same size: the hand's path is kept
    size = F.mean_bone_length(stream.joints, layout.bones)
    expected = (stream.joints - stream.joints[0, 0, layout.center]) / size
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="unknown preset"):
        build_preset("sgn2")


def _random_rotation(seed: int) -> np.ndarray:
    generator = np.random.default_rng(seed)
    matrix, _ = np.linalg.qr(generator.normal(size=(3, 3)))
    return matrix * np.sign(np.linalg.det(matrix))  # a proper rotation


def test_canonical_puts_the_first_frame_upright_facing_and_in_bone_lengths(data_root: Path):
    layout = get_layout("msr20")
    for number, path in enumerate(sorted((data_root / "msr_action3d").glob("a0*_e01_*.txt"))[:12]):
        clip = read_msr_skeleton(path)
        # wherever and however the sensor saw the person: moved, turned, in millimetres
        moved = clip.with_joints(
            (clip.joints @ _random_rotation(number).T * 1000.0 + [0.4, -1.0, 2800.0]).astype(
                np.float32
            )
        )
        for source in (clip, moved):
            out = build_preset("canonical")(source).joints
            pose = out[0, 0]
            np.testing.assert_allclose(pose[layout.center], 0.0, atol=1e-5)
            np.testing.assert_allclose(unit(pose[layout.up[1]] - pose[layout.up[0]]), [0, 1, 0],
                                       atol=1e-5)  # fmt: skip
            left = pose[layout.left_right[1]] - pose[layout.left_right[0]]
            assert left[0] > 0 and abs(left[2]) < 1e-5  # towards +x, in the xy-plane
            assert F.mean_bone_length(out, layout.bones) == pytest.approx(1.0, rel=1e-4)
        np.testing.assert_allclose(
            build_preset("canonical")(moved).joints, build_preset("canonical")(clip).joints,
            atol=1e-3,
        )  # fmt: skip


def test_canonical_keeps_persons_rigid_and_absent_persons_zero(ntu_clips):
    for clip in ntu_clips[::7]:
        out = build_preset("canonical")(clip).joints
        assert out.shape == clip.joints.shape
        assert not out[clip.joints == 0].any()  # absent joints stay zero
        # one rotation and one scale for the whole clip: distance ratios are kept
        before = np.linalg.norm(clip.joints[:, 0, 3] - clip.joints[:, 0, 2], axis=-1)
        after = np.linalg.norm(out[:, 0, 3] - out[:, 0, 2], axis=-1)
        present = before > 0
        ratio = after[present] / before[present]
        np.testing.assert_allclose(ratio, ratio[0], rtol=1e-4)


def test_every_layout_preset_works_on_a_users_json_layout(tmp_path: Path, ntu_clips):
    """A user's layout (here ntu25 written to JSON under a new name) drives every preset: the
    presets used to look the layout up by name among the built-in ones and failed."""
    data = get_layout("ntu25").to_dict()
    data["name"] = "my_body"
    path = tmp_path / "my_body.json"
    path.write_text(__import__("json").dumps(data))
    for name in ("canonical", "agcn", "pyskl", "sgn", "msr"):
        with pytest.raises(Exception, match="unknown layout"):
            build_preset(name)(_renamed(ntu_clips[49], "my_body"))
        mine = build_preset(name, str(path))(_renamed(ntu_clips[49], "my_body"))
        builtin = build_preset(name)(ntu_clips[49])
        np.testing.assert_array_equal(mine.joints, builtin.joints)


def _renamed(clip: Clip, layout: str) -> Clip:
    from dataclasses import replace

    return replace(clip, layout=layout)
