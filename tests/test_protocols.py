"""Protocols reproduce the official split sizes from the NTU sample index, the real SBU folder, the
MSR Action3D list and the real UTD-MHAD files; the hold-out and column protocols of any data."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from stalstm.clip import Clip
from stalstm.datasets import get_dataset, list_samples, read_sample
from stalstm.protocols import HOLDOUT_FRACTION, Protocol, get_protocol, split_indices
from stalstm.readers.sbu import SBU_FOLDS
from stalstm.store import clip_metadata


def protocol(dataset: str, name: str) -> Protocol:
    return get_dataset(dataset).protocol(name)


def read_sample_index(folder: Path) -> list[dict[str, object]]:
    """The line-aligned NTU index files as metadata rows (the last line has no newline)."""
    names = (folder / "skes_available_name.txt").read_text().split()
    columns = {
        "label": "label.txt",
        "subject": "performer.txt",
        "view": "camera.txt",
        "setup": "setup.txt",
        "replication": "replication.txt",
    }
    values = {key: [int(v) for v in (folder / f).read_text().split()] for key, f in columns.items()}
    assert all(len(column) == len(names) for column in values.values())
    return [
        {"name": name, **{key: column[i] - (key == "label") for key, column in values.items()}}
        for i, name in enumerate(names)
    ]


@pytest.mark.parametrize(
    ("index", "protocol", "train", "test"),
    [
        ("ntu60_sample_index", "ntu60-xsub", 40_091, 16_487),
        ("ntu60_sample_index", "ntu60-xview", 37_646, 18_932),
        ("ntu120_sample_index", "ntu120-xsub", 63_026, 50_919),
        ("ntu120_sample_index", "ntu120-xset", 54_468, 59_477),
    ],
)
def test_ntu_official_counts(data_root: Path, index: str, protocol: str, train: int, test: int):
    metadata = read_sample_index(data_root / "ntu_rgbd_meta" / index)
    split = split_indices(metadata, get_dataset("ntu").protocol(protocol))
    assert (len(split["train"]), len(split["test"])) == (train, test)
    assert not set(split["train"]) & set(split["test"])


def test_ntu60_protocols_on_ntu120_metadata_use_only_the_ntu60_part(data_root: Path):
    ntu120 = read_sample_index(data_root / "ntu_rgbd_meta" / "ntu120_sample_index")
    split = split_indices(ntu120, protocol("ntu", "ntu60-xsub"))
    assert (len(split["train"]), len(split["test"])) == (40_091, 16_487)


def test_sbu_folds_from_the_real_folder(data_root: Path):
    clips = sorted(
        path.parent.relative_to(data_root / "sbu_kinect_interaction").as_posix()
        for path in (data_root / "sbu_kinect_interaction").rglob("skeleton_pos.txt")
    )
    assert len(clips) == 282
    metadata = [{"name": name, "fold": SBU_FOLDS[name.split("/")[0]]} for name in clips]
    assert Counter(row["fold"] for row in metadata) == {1: 55, 2: 52, 3: 56, 4: 54, 5: 65}
    sbu = protocol("sbu", "sbu")
    for fold in range(1, 6):
        split = split_indices(metadata, sbu, fold=fold)
        assert len(split["train"]) + len(split["test"]) == 282
        assert {metadata[i]["fold"] for i in split["test"]} == {fold}
    with pytest.raises(ValueError, match="needs a fold"):
        split_indices(metadata, sbu)
    with pytest.raises(ValueError, match=r"1\.\.5"):
        split_indices(metadata, sbu, fold=6)


def test_a_clip_of_an_unknown_sbu_pair_is_in_no_fold():
    metadata = [{"name": "s01s02/01/001", "fold": 1}, {"name": "s09s09/01/001", "fold": -1}]
    split = split_indices(metadata, protocol("sbu", "sbu"), fold=2)
    assert split == {"train": [0], "test": []}


def msr_metadata(data_root: Path) -> list[dict[str, object]]:
    folder = data_root / "msr_action3d"
    listed = set((folder / "files_used_in_cvpr12_paper.txt").read_text().split())
    rows = []
    for path in sorted(folder.glob("*_skeleton3D.txt")):
        name = path.name.removesuffix("_skeleton3D.txt")
        action, subject, take = (int(part[1:]) for part in name.split("_"))
        rows.append(
            {
                "name": name,
                "label": action - 1,
                "subject": subject,
                "replication": take,
                "protocol_listed": name in listed,
            }
        )
    return rows


def test_msr_cross_subject_over_the_557_listed_files(data_root: Path):
    metadata = msr_metadata(data_root)
    assert len(metadata) == 567
    assert sum(row["protocol_listed"] for row in metadata) == 557
    split = split_indices(metadata, protocol("msr", "msr-cs"))
    assert (len(split["train"]), len(split["test"])) == (284, 273)
    assert {metadata[i]["subject"] % 2 for i in split["train"]} == {1}
    assert {metadata[i]["subject"] % 2 for i in split["test"]} == {0}
    # Without the column (a store that does not record the list), all 567 files take part.
    unlisted = [{k: v for k, v in row.items() if k != "protocol_listed"} for row in metadata]
    split_all = split_indices(unlisted, protocol("msr", "msr-cs"))
    assert len(split_all["train"]) + len(split_all["test"]) == 567


# Subset sizes 219 / 228 / 222 are the ones the AS1/AS2/AS3 literature reports for the 557 files.
@pytest.mark.parametrize(
    ("subset", "train", "test"),
    [("msr-as1", 114, 105), ("msr-as2", 116, 112), ("msr-as3", 111, 111)],
)
def test_msr_action_subsets(data_root: Path, subset: str, train: int, test: int):
    metadata = msr_metadata(data_root)
    split = split_indices(metadata, protocol("msr", subset))
    assert (len(split["train"]), len(split["test"])) == (train, test)
    allowed = protocol("msr", subset).restrict["label"]
    assert {metadata[i]["label"] for i in split["train"] + split["test"]} == set(allowed)


def test_utd_mhad_cross_subject_on_the_real_files(data_root: Path):
    clips: list[Clip] = [
        read_sample(ref) for ref in list_samples("utd-mhad", data_root / "utd_mhad_skeleton")
    ]
    metadata = [clip_metadata(clip) for clip in clips]  # as a prepared store records them
    split = split_indices(metadata, protocol("utd-mhad", "utd-mhad-cs"))
    assert (len(split["train"]), len(split["test"])) == (431, 430)
    assert {metadata[i]["subject"] for i in split["train"]} == {1, 3, 5, 7}
    assert {metadata[i]["subject"] for i in split["test"]} == {2, 4, 6, 8}
    # every action is on both sides
    for side in ("train", "test"):
        assert {metadata[i]["label"] for i in split[side]} == set(range(27))


def test_generic_column_protocols():
    metadata = [
        {"name": f"c{i}", "fold": 1 + i % 3, "view": "front" if i < 4 else "side"} for i in range(9)
    ]
    assert split_indices(metadata, "column:fold=3")["test"] == [2, 5, 8]
    assert split_indices(metadata, "column:fold=1,2")["train"] == [2, 5, 8]
    assert split_indices(metadata, "column:fold", fold=2)["test"] == [1, 4, 7]
    assert split_indices(metadata, "column:view=side")["train"] == [0, 1, 2, 3]
    with pytest.raises(KeyError, match="subject"):
        split_indices(metadata, "column:subject=1")
    with pytest.raises(ValueError, match="unknown protocol"):
        get_protocol("ntu61-xsub")
    with pytest.raises(ValueError, match="unknown protocol 'ntu60-xsub'"):
        get_dataset("sbu").protocol("ntu60-xsub")  # another data set's


def test_holdout_is_stratified_seeded_and_the_same_for_every_call():
    metadata = [{"name": f"c{i}", "label": i % 4} for i in range(4 * 10)] + [
        {"name": "alone", "label": 4}
    ]
    split = split_indices(metadata, "holdout")
    assert split == split_indices(metadata, get_protocol("holdout"))
    test_labels = Counter(metadata[i]["label"] for i in split["test"])
    assert test_labels == {label: round(HOLDOUT_FRACTION * 10) for label in range(4)}
    assert 40 in split["train"]  # a class of one clip trains, never only tests
    assert sorted(split["train"] + split["test"]) == list(range(41))
    other = split_indices(metadata, "holdout:0.5")
    assert Counter(metadata[i]["label"] for i in other["test"]) == {k: 5 for k in range(4)}
    small = [{"name": "a", "label": 0}, {"name": "b", "label": 0}]
    assert len(split_indices(small, "holdout")["test"]) == 1  # at least one of two
    with pytest.raises(ValueError, match=r"\(0, 1\)"):
        get_protocol("holdout:1.5")
    with pytest.raises(ValueError, match="no folds"):
        split_indices(metadata, "holdout", fold=1)
