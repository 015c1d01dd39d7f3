"""The data-set registry: every entry is consistent (its preset, layout and protocols exist, no
protocol name is claimed twice), every data set read from a folder lists and reads its real
samples through its entry, and recipes are checked against the entry they name."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from stalstm.datasets import DATASETS, get_dataset, list_samples, read_sample
from stalstm.errors import DataError, SettingError
from stalstm.layouts import LAYOUTS
from stalstm.protocols import split_indices
from stalstm.store import clip_metadata
from stalstm.transforms.presets import PRESETS

REAL_FOLDERS = {
    "ntu": ("ntu_rgbd_samples", 61),  # the 60 samples and one hand-made malformed copy
    "sbu": ("sbu_kinect_interaction", 282),
    "msr": ("msr_action3d", 567),
    "utd-mhad": ("utd_mhad_skeleton", 861),
    "sfinge3d": ("sfinge3d_v1", 468),
}


def test_every_entry_names_what_exists_and_no_protocol_twice():
    for name, entry in DATASETS.items():
        assert entry.name == name
        assert entry.default_preset in PRESETS, name
        assert entry.layout is None or entry.layout in LAYOUTS, name
        assert entry.list_samples is None or entry.read_sample is not None, name
    names = Counter(p for entry in DATASETS.values() for p in entry.protocol_names)
    assert [name for name, count in names.items() if count > 1] == []
    with pytest.raises(DataError, match="unknown data set; known: ntu, sbu"):
        get_dataset("kinetics")


@pytest.mark.parametrize("dataset", sorted(REAL_FOLDERS))
def test_each_data_set_lists_and_reads_its_real_samples(data_root: Path, dataset: str):
    folder, count = REAL_FOLDERS[dataset]
    refs = list_samples(dataset, data_root / folder)
    assert len(refs) == count and len({ref.name for ref in refs}) == count
    entry = get_dataset(dataset)
    for ref in refs[:: max(1, count // 5)]:
        if ref.name.endswith("_with_inline_comments"):
            continue
        clip = read_sample(ref)
        assert clip.num_persons <= entry.num_persons and clip.layout == entry.layout


def test_sfinge3d_gestures_as_clips_with_the_hold_out(data_root: Path):
    refs = list_samples("sfinge3d", data_root / "sfinge3d_v1")
    clips = [read_sample(ref) for ref in refs]
    assert Counter(clip.label for clip in clips) == {label: 36 for label in range(13)}
    assert [ref.name for ref in refs[:3]] == ["1/1", "1/2", "1/3"]  # numeric order
    split = split_indices([clip_metadata(clip) for clip in clips], "holdout")
    assert Counter(clips[i].label for i in split["test"]) == {label: 7 for label in range(13)}


def test_a_recipe_is_checked_against_its_data_sets_entry():
    entry = get_dataset("sbu")
    entry.check("", "sbu", {})
    with pytest.raises(SettingError, match="unknown protocol 'msr-cs'"):
        entry.check("", "msr-cs", {})
    with pytest.raises(SettingError, match="takes no options"):
        entry.check("", "sbu", {"train_clips": 3})
    with pytest.raises(SettingError, match="its own layout 'openni15'"):
        entry.check("coco17", "sbu", {})
    get_dataset("generic").check("coco17", "holdout", {})
    with pytest.raises(SettingError, match=r"data\.options\.train_clip"):
        get_dataset("synthetic").check("", "synthetic", {"train_clip": 3})
