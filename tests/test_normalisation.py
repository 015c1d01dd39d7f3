"""Input statistics (what the model standardises by) and the warnings for unprepared data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stalstm.normalisation import input_statistics, placement_warnings
from stalstm.readers import read_msr_skeleton
from stalstm.transforms import build_preset


def test_statistics_count_present_joints_only_and_floor_pinned_ones():
    # two clips, K = 3 joints, C = 2; joint 2 is absent (all zeros) in the first clip
    first = np.array([[[1.0, 2.0], [5.0, 5.0], [0.0, 0.0]], [[3.0, 2.0], [5.0, 5.0], [0.0, 0.0]]])
    second = np.array([[[5.0, 2.0], [5.0, 5.0], [4.0, -4.0]]])
    statistics = input_statistics([first, second])
    np.testing.assert_allclose(statistics.mean[0], [3.0, 2.0])  # (1 + 3 + 5) / 3, 2
    np.testing.assert_allclose(statistics.mean[2], [4.0, -4.0])  # its one present frame only
    np.testing.assert_array_equal(statistics.present, [3, 3, 1])
    np.testing.assert_allclose(statistics.deviation[0, 0], np.std([1.0, 3.0, 5.0]), rtol=1e-6)
    # features that never vary (pinned by the preparation) get the floor, 1 % of the typical
    typical = np.sqrt(np.mean([np.var([1.0, 3.0, 5.0]), 0, 0, 0, 0, 0]))
    np.testing.assert_allclose(statistics.deviation[1], 0.01 * typical, rtol=1e-5)
    assert statistics.clips == 2


def test_the_shared_centre_is_the_mean_of_every_present_joint():
    first = np.array([[[1.0, 2.0], [5.0, 5.0], [0.0, 0.0]], [[3.0, 2.0], [5.0, 5.0], [0.0, 0.0]]])
    second = np.array([[[5.0, 2.0], [5.0, 5.0], [4.0, -4.0]]])
    statistics = input_statistics([first, second])
    # 7 present joint-frames: x (1 + 3 + 5 + 5 + 5 + 5 + 4) / 7, y (2 + 2 + 2 + 15 - 4) / 7
    centre = [28.0 / 7, 17.0 / 7]
    np.testing.assert_allclose(statistics.shared_centre(), np.tile(centre, (3, 1)), rtol=1e-6)
    # a joint that never occurs keeps 0 (the model leaves absent joints at 0 anyway)
    clip = np.zeros((2, 2, 2))
    clip[:, 0] = [[1.0, 1.0], [3.0, 5.0]]
    np.testing.assert_array_equal(input_statistics([clip]).shared_centre(), [[2.0, 3.0], [0, 0]])


def test_a_joint_that_never_occurs_gets_the_identity():
    clip = np.zeros((4, 2, 3))
    clip[:, 0] = np.arange(12.0).reshape(4, 3)
    statistics = input_statistics([clip])
    np.testing.assert_array_equal(statistics.mean[1], 0.0)
    np.testing.assert_array_equal(statistics.deviation[1], 1.0)
    with pytest.raises(ValueError, match="no clips"):
        input_statistics([])


def test_raw_sensor_coordinates_are_flagged_and_prepared_ones_are_not(data_root: Path):
    paths = sorted((data_root / "msr_action3d").glob("a0*_s0*_e01_skeleton3D.txt"))[:30]
    clips = [read_msr_skeleton(path) for path in paths]

    def statistics(preset: str, factor: float = 1.0):
        prepared = [build_preset(preset)(clip).joints * factor for clip in clips]
        return input_statistics(joints.reshape(len(joints), -1, 3) for joints in prepared)

    raw = placement_warnings(statistics("none"))
    assert len(raw) == 1 and "far from centred" in raw[0]
    assert placement_warnings(statistics("canonical")) == []
    assert placement_warnings(statistics("msr")) == []
    millimetres = placement_warnings(statistics("canonical", 1000.0))
    assert len(millimetres) == 1 and "scale looks unusual" in millimetres[0]


def test_a_centred_hand_that_moves_is_not_taken_for_raw_coordinates(data_root: Path):
    """SFINGE3D's recorded streams with the ``hand`` preset (palm of the first frame at the
    origin, in hand sizes): the hand travels, so its average pose lies about 3 radii from the
    origin, but by about one or two of its own deviations, not by a shared offset: no warning.
    The same streams as recorded (the sensor's coordinates) are flagged."""
    from stalstm.readers import read_sfinge_stream

    folder = data_root / "sfinge3d_v1" / "Sequences"
    streams = [read_sfinge_stream(folder / f"{number}.txt") for number in range(1, 73, 6)]
    hand = build_preset("hand", streams[0].layout)

    def statistics(prepare):
        return input_statistics(
            prepare(stream.as_clip()).joints.reshape(stream.joints.shape[0], -1, 3)
            for stream in streams
        )

    assert placement_warnings(statistics(hand)) == []
    recorded = placement_warnings(statistics(build_preset("none", streams[0].layout)))
    assert len(recorded) == 1 and "far from centred" in recorded[0]
    # the rule itself: a two-joint body of radius 1 that travels from the origin to x = 7 has
    # its average centre 3.5 radii away, but only ~3 of its own deviations: centred, moving
    travel = np.linspace(0.0, 7.0, 50)[:, None, None]
    moving = np.array([[[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]]) + travel * np.array([1.0, 0.0, 0.0])
    assert placement_warnings(input_statistics([moving])) == []
    # the same body standing still 3.5 radii away: a shared offset
    still = np.array([[[2.5, 0.0, 0.0], [4.5, 0.0, 0.0]]]).repeat(50, axis=0)
    still = still + np.random.default_rng(0).normal(0.0, 0.05, still.shape)
    assert "far from centred" in " ".join(placement_warnings(input_statistics([still])))
