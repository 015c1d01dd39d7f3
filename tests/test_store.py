"""The store keeps variable-length clips exactly, pads persons, checks itself and maps lazily."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from helpers.stores import build_store, make_clips

from stalstm.store import (
    MANIFEST_FILE,
    ClipStore,
    StoreError,
    atomic_file,
    read_manifest,
)


def test_round_trip_of_variable_length_clips_with_person_padding(tmp_path: Path):
    clips = make_clips(7, persons=2)
    build_store(tmp_path / "store", clips, num_persons=2)
    store = ClipStore.open(tmp_path / "store", verify=True)
    assert len(store) == 7
    assert store.info["num_persons"] == 2 and store.info["num_clips"] == 7
    assert store.joints.shape == (sum(c.num_frames for c in clips), 2, 4, 3)
    for original, stored, row in zip(
        clips, (store[i] for i in range(7)), store.metadata, strict=True
    ):
        assert stored.name == original.name == row["name"]
        assert (stored.label, stored.subject, stored.fold) == (
            original.label,
            original.subject,
            original.fold,
        )
        assert row["num_frames"] == original.num_frames
        np.testing.assert_array_equal(stored.joints[:, : original.num_persons], original.joints)
        # a one-person clip gets a zero second person
        assert not stored.joints[:, original.num_persons :].any()
    assert store[-1].name == "clip006"
    with pytest.raises(IndexError):
        store.clip_joints(7)


def test_same_shards_give_the_same_bytes_whatever_the_sharding(tmp_path: Path):
    clips = make_clips(8, persons=2)
    first = build_store(tmp_path / "a", clips, shard_size=3, num_persons=2)
    second = build_store(tmp_path / "b", clips, shard_size=5, num_persons=2)
    assert first == second == read_manifest(tmp_path / "a")
    assert set(first) == {"info.json", "metadata.jsonl", "offsets.npy", "joints.npy"}


def test_person_count_grows_to_the_largest_clip(tmp_path: Path):
    build_store(tmp_path / "store", make_clips(4, persons=3), num_persons=2)
    assert ClipStore.open(tmp_path / "store").info["num_persons"] == 3


def test_verify_names_the_corrupted_file(tmp_path: Path):
    build_store(tmp_path / "store", make_clips(3))
    joints = tmp_path / "store" / "joints.npy"
    data = bytearray(joints.read_bytes())
    data[-1] ^= 0xFF
    joints.write_bytes(bytes(data))
    ClipStore.open(tmp_path / "store")  # opening alone does not hash
    with pytest.raises(StoreError, match=r"joints\.npy.*checksum"):
        ClipStore.open(tmp_path / "store", verify=True)


def test_unfinished_store_is_refused(tmp_path: Path):
    build_store(tmp_path / "store", make_clips(2))
    (tmp_path / "store" / MANIFEST_FILE).unlink()
    assert not ClipStore.is_store(tmp_path / "store")
    with pytest.raises(StoreError, match="not a prepared store"):
        ClipStore.open(tmp_path / "store")


def test_empty_store(tmp_path: Path):
    build_store(tmp_path / "store", [], num_persons=2)
    store = ClipStore.open(tmp_path / "store", verify=True)
    assert len(store) == 0 and store.joints.shape[0] == 0


def test_pickled_store_reopens_its_map(tmp_path: Path):
    build_store(tmp_path / "store", make_clips(3))
    store = ClipStore.open(tmp_path / "store")
    expected = store[1].joints
    assert store._joints is not None
    copy = pickle.loads(pickle.dumps(store))
    assert copy._joints is None
    np.testing.assert_array_equal(copy[1].joints, expected)


def test_metadata_is_json_lines_with_the_table_columns(tmp_path: Path):
    build_store(tmp_path / "store", make_clips(2))
    rows = [json.loads(line) for line in (tmp_path / "store" / "metadata.jsonl").open()]
    assert list(rows[0]) == [
        "name",
        "label",
        "subject",
        "view",
        "setup",
        "replication",
        "fold",
        "num_frames",
    ]


def test_atomic_file_leaves_nothing_on_failure(tmp_path: Path):
    target = tmp_path / "file.bin"
    with pytest.raises(RuntimeError), atomic_file(target) as stream:
        stream.write(b"half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
