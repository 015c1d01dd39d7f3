"""The prepared store: variable-length clips in one flat memory-mapped array.

A store is a folder:

- ``joints.npy``: float32 (total frames, M, V, C), every clip's frames one after another, M the
  data set's maximum number of persons (absent persons are zeros). Opened memory-mapped, so a
  store of any size costs no memory until a clip is read.
- ``offsets.npy``: int64 (clips + 1,); clip ``i`` is ``joints[offsets[i]:offsets[i + 1]]``.
- ``metadata.jsonl``: one JSON object per clip, in store order: name, label, subject, view,
  setup, replication, fold, num_frames (and any extra column a data set records, e.g. MSR's
  ``protocol_listed``).
- ``info.json``: data set, layout, preset, num_persons, joint names, coordinate names, class
  names, package version.
- ``manifest.sha256``: the SHA-256 of each file above, in ``sha256sum`` format (so
  ``sha256sum -c manifest.sha256`` checks a copy), written last: a folder without it is not a
  finished store.

There is never a dense (clips, max frames, ...) padded array: peers that build one are where
memory runs out on NTU120. Stores are assembled by ``write_store`` from shards, files of a few
dozen clips each that ``stalstm.prepare`` workers write; assembly streams shard by shard, so its
memory does not grow with the data set.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from stalstm.clip import UNKNOWN, Clip
from stalstm.errors import DataError
from stalstm.layouts import LAYOUTS, Layout

JOINTS_FILE = "joints.npy"
OFFSETS_FILE = "offsets.npy"
METADATA_FILE = "metadata.jsonl"
INFO_FILE = "info.json"
MANIFEST_FILE = "manifest.sha256"
STORE_FILES = (INFO_FILE, METADATA_FILE, OFFSETS_FILE, JOINTS_FILE)
METADATA_FIELDS = ("name", "label", "subject", "view", "setup", "replication", "fold")
STORE_FORMAT_VERSION = 1
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once: the umask can only be read by setting it


class StoreError(DataError):
    """A store folder that is incomplete, inconsistent or fails its checksums."""

    kind = "bad store"


# ---------------------------------------------------------------------------------------------
# Writing files safely


def fsync_directory(directory: Path) -> None:
    """Make a rename inside ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


@contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """Write ``path`` all or nothing: a temporary file beside it, fsync, then rename.

    A process killed mid-write leaves at most a stray ``.tmp`` file, never a half-written
    ``path``; readers of the folder see either no file or the complete one.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(temporary, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual mode
        with os.fdopen(handle, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    fsync_directory(path.parent)


def sha256_of(path: Path, chunk_bytes: int = 1 << 22) -> str:
    """The hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def read_manifest(directory: Path) -> dict[str, str]:
    """``{file name: sha256}`` from a store's manifest."""
    path = Path(directory) / MANIFEST_FILE
    if not path.is_file():
        raise StoreError(directory, f"no {MANIFEST_FILE}: not a finished prepared store")
    checksums = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        digest, _, name = line.partition("  ")
        if len(digest) != 64 or not name:
            raise StoreError(path, "expected '<sha256>  <file>'", line=number)
        checksums[name] = digest
    return checksums


# ---------------------------------------------------------------------------------------------
# Shards: what one worker writes


def clip_metadata(clip: Clip, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The metadata row of a clip (the store's table columns, then any extra columns)."""
    row: dict[str, Any] = {key: getattr(clip, key) for key in METADATA_FIELDS}
    row["num_frames"] = clip.num_frames
    if extra:
        row.update(extra)
    return row


def pad_persons(joints: np.ndarray, num_persons: int) -> np.ndarray:
    """(T, M, V, C) -> (T, num_persons, V, C), zeros for the added persons."""
    missing = num_persons - joints.shape[1]
    if missing < 0:
        raise ValueError(f"cannot pad {joints.shape[1]} persons down to {num_persons}")
    if missing == 0:
        return joints
    return np.pad(joints, ((0, 0), (0, missing), (0, 0), (0, 0)))


def write_shard(
    path: Path,
    clips: Sequence[Clip],
    rows: Sequence[Mapping[str, Any]],
    skipped: Sequence[Mapping[str, str]] = (),
) -> None:
    """Write clips (padded to the shard's largest person count), their metadata rows and the
    samples skipped while making them (``{name, reason}``) to one ``.npz`` file, atomically."""
    if len(clips) != len(rows):
        raise ValueError("one metadata row per clip")
    if clips:
        persons = max(clip.num_persons for clip in clips)
        joints = np.concatenate([pad_persons(clip.joints, persons) for clip in clips])
    else:
        joints = np.zeros((0, 0, 0, 0), np.float32)
    lengths = np.array([clip.num_frames for clip in clips], np.int64)
    metadata = np.array(json.dumps(list(rows)))
    skipped_json = np.array(json.dumps(list(skipped)))
    with atomic_file(path) as stream:
        np.savez(
            stream,
            joints=joints.astype(np.float32, copy=False),
            lengths=lengths,
            metadata=metadata,
            skipped=skipped_json,
        )


def read_shard(path: Path) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
    """``(joints (frames, M, V, C), lengths (clips,), metadata rows)`` of one shard."""
    with np.load(path, allow_pickle=False) as shard:
        return shard["joints"], shard["lengths"], json.loads(str(shard["metadata"]))


def read_shard_labels(path: Path) -> list[int]:
    """The labels of a shard's clips (its metadata only; the joints are not read)."""
    with np.load(path, allow_pickle=False) as shard:
        return [int(row.get("label", UNKNOWN)) for row in json.loads(str(shard["metadata"]))]


def read_shard_skipped(path: Path) -> list[dict[str, str]]:
    """The ``{name, reason}`` entries of the samples a shard could not use."""
    with np.load(path, allow_pickle=False) as shard:
        return json.loads(str(shard["skipped"])) if "skipped" in shard.files else []


def _shard_shape(path: Path) -> tuple[int, tuple[int, ...]]:
    """Number of frames and (M, V, C) of a shard from its header, without loading coordinates."""
    with zipfile.ZipFile(path) as archive, archive.open("joints.npy") as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, _ = np.lib.format.read_array_header_1_0(member)
        else:
            shape, _, _ = np.lib.format.read_array_header_2_0(member)
    return shape[0], tuple(shape[1:])


# ---------------------------------------------------------------------------------------------
# Assembly


def write_store(
    directory: Path,
    shards: Sequence[Path],
    info: Mapping[str, Any],
    num_persons: int = 1,
    progress: Callable[[int], None] | None = None,
) -> dict[str, str]:
    """Assemble shard files, in the given order, into a store folder; return its checksums.

    Args:
        directory: the store folder (created; existing store files are replaced).
        shards: shard files from ``write_shard``, in sample order.
        info: data set description written to ``info.json`` (``num_persons``, ``num_joints``,
            ``num_coords``, ``num_clips`` and ``format_version`` are filled in here).
        num_persons: the smallest person count M of the store; clips are zero-padded to
            ``max(num_persons, most persons in any shard)``.
        progress: called with the number of clips of each shard once it is copied.

    Only one shard is in memory at a time. The output depends only on the shards' contents
    and their order, so an interrupted-and-resumed preparation gives the same bytes.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MANIFEST_FILE).unlink(missing_ok=True)  # unfinished until the manifest exists

    total_frames = 0
    frame_shape: tuple[int, ...] | None = None
    for shard in shards:
        frames, shape = _shard_shape(shard)
        if frames == 0:
            continue
        total_frames += frames
        persons = max(num_persons, shape[0], frame_shape[0] if frame_shape else 0)
        if frame_shape is not None and shape[1:] != frame_shape[1:]:
            raise StoreError(shard, f"joints/coordinates {shape[1:]} differ from {frame_shape[1:]}")
        frame_shape = (persons, *shape[1:])
    if frame_shape is None:  # nothing was written: an empty store of the layout's shape
        frame_shape = (num_persons, int(info.get("num_joints", 0)), int(info.get("num_coords", 3)))

    offsets = [0]
    rows: list[dict[str, Any]] = []
    header = {
        "descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
        "fortran_order": False,
        "shape": (total_frames, *frame_shape),
    }
    with atomic_file(directory / JOINTS_FILE) as stream:
        np.lib.format.write_array_header_1_0(stream, header)
        for shard in shards:
            joints, lengths, shard_rows = read_shard(shard)
            if len(lengths):
                stream.write(pad_persons(joints, frame_shape[0]).astype("<f4").tobytes())
            offsets.extend((offsets[-1] + np.cumsum(lengths)).tolist())
            rows.extend(shard_rows)
            if progress is not None:
                progress(len(lengths))
    with atomic_file(directory / OFFSETS_FILE) as stream:
        np.save(stream, np.asarray(offsets, np.int64))
    with atomic_file(directory / METADATA_FILE) as stream:
        stream.writelines((json.dumps(row) + "\n").encode() for row in rows)
    full_info = {
        **info,
        "format_version": STORE_FORMAT_VERSION,
        "num_clips": len(rows),
        "num_frames_total": total_frames,
        "num_persons": frame_shape[0],
        "num_joints": frame_shape[1],
        "num_coords": frame_shape[2],
    }
    with atomic_file(directory / INFO_FILE) as stream:
        stream.write((json.dumps(full_info, indent=2, sort_keys=True) + "\n").encode())
    checksums = {name: sha256_of(directory / name) for name in STORE_FILES}
    with atomic_file(directory / MANIFEST_FILE) as stream:
        stream.write("".join(f"{digest}  {name}\n" for name, digest in checksums.items()).encode())
    return checksums


# ---------------------------------------------------------------------------------------------
# Reading


class ClipStore:
    """Read access to a prepared store: ``len(store)``, ``store[i] -> Clip``, ``store.metadata``
    (one dict per clip) and ``store.info``.

    The coordinates file is memory-mapped on first use in each process and dropped when the
    store is pickled, so a ``DataLoader`` worker opens its own map instead of copying data.
    """

    def __init__(
        self,
        directory: Path,
        info: dict[str, Any],
        metadata: list[dict[str, Any]],
        offsets: np.ndarray,
    ) -> None:
        self.directory = Path(directory)
        self.info = info
        self.metadata = metadata
        self.offsets = offsets
        self._joints: np.ndarray | None = None
        self._clips: list[Clip] | None = None  # an in-memory store's clips, extras included

    @classmethod
    def from_clips(cls, clips: Sequence[Clip], info: Mapping[str, Any], name: str) -> ClipStore:
        """A store held in memory (data generated on the fly, such as the demo's): the same
        reading interface, and ``store[i]`` gives back the clip itself, extras included."""
        if not clips:
            raise StoreError(name, "no clips")
        persons = max([int(info.get("num_persons", 1)), *(clip.num_persons for clip in clips)])
        joints = np.concatenate([pad_persons(clip.joints, persons) for clip in clips])
        offsets = np.concatenate([[0], np.cumsum([clip.num_frames for clip in clips])])
        full_info = {
            **info,
            "num_clips": len(clips),
            "num_frames_total": int(offsets[-1]),
            "num_persons": persons,
            "num_joints": clips[0].num_joints,
            "num_coords": clips[0].num_coords,
        }
        store = cls(Path(name), full_info, [clip_metadata(clip) for clip in clips], offsets)
        store._joints = joints.astype(np.float32, copy=False)
        store._clips = list(clips)
        return store

    @staticmethod
    def is_store(path: str | Path) -> bool:
        """Whether ``path`` is a finished store folder (it has info.json and a manifest)."""
        path = Path(path)
        return (path / INFO_FILE).is_file() and (path / MANIFEST_FILE).is_file()

    @classmethod
    def open(cls, directory: str | Path, verify: bool = False) -> ClipStore:
        """Open a store folder; ``verify=True`` also checks every file against the manifest."""
        directory = Path(directory)
        if not cls.is_store(directory):
            raise StoreError(
                directory,
                f"not a prepared store (needs {INFO_FILE} and "
                f"{MANIFEST_FILE}; was preparation interrupted?)",
            )
        info = json.loads((directory / INFO_FILE).read_text())
        metadata = [
            json.loads(line)
            for line in (directory / METADATA_FILE).read_text().splitlines()
            if line.strip()
        ]
        offsets = np.load(directory / OFFSETS_FILE, allow_pickle=False)
        if len(offsets) != len(metadata) + 1:
            raise StoreError(
                directory / OFFSETS_FILE, f"{len(offsets)} offsets for {len(metadata)} clips"
            )
        store = cls(directory, info, metadata, offsets)
        if verify:
            store.verify()
        return store

    def verify(self) -> None:
        """Raise ``StoreError`` naming the first file whose SHA-256 differs from the manifest."""
        for name, expected in read_manifest(self.directory).items():
            actual = sha256_of(self.directory / name)
            if actual != expected:
                raise StoreError(self.directory / name, "checksum differs from the manifest")

    @property
    def joints(self) -> np.ndarray:
        """All frames, (total frames, M, V, C), memory-mapped read-only."""
        if self._joints is None:
            self._joints = np.load(self.directory / JOINTS_FILE, mmap_mode="r")
        return self._joints

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        if self._clips is None:
            state["_joints"] = None  # each process maps the file itself
        return state

    def __len__(self) -> int:
        return len(self.metadata)

    def clip_joints(self, index: int) -> np.ndarray:
        """The (T, M, V, C) coordinates of clip ``index`` as a read-only view into the map."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"clip {index} of a store of {len(self)}")
        index %= len(self)
        return self.joints[self.offsets[index] : self.offsets[index + 1]]

    def __getitem__(self, index: int) -> Clip:
        if self._clips is not None:
            return self._clips[index]
        row = self.metadata[index]
        return Clip(
            name=row["name"],
            joints=np.array(self.clip_joints(index)),
            label=int(row.get("label", UNKNOWN)),
            layout=self.info.get("layout", "unknown"),
            **{key: int(row.get(key, UNKNOWN)) for key in METADATA_FIELDS[2:]},
        )

    @property
    def class_names(self) -> list[str]:
        """The recorded class names; a store without them (labels given as numbers, prepared
        before prepare recorded their names) names its classes by number, 0 to the largest
        label, so that every label has a class."""
        names = list(self.info.get("class_names", []))
        if names:
            return names
        largest = max((int(row.get("label", UNKNOWN)) for row in self.metadata), default=-1)
        return [str(label) for label in range(largest + 1)]

    @property
    def layout(self) -> Layout | None:
        """The store's layout: its recorded definition (a user's JSON layout included), else the
        built-in layout of that name; None when unknown."""
        definition = self.info.get("layout_definition")
        if definition is not None:
            return Layout.from_dict(definition, where=str(self.directory / INFO_FILE))
        return LAYOUTS.get(str(self.info.get("layout")))

    def summary_table(self) -> Any:
        """A ``rich`` table: data set, preset, layout, shape, and clips and frames per class."""
        from collections import Counter

        from rich.table import Table

        info = self.info
        table = Table(title=f"store {self.directory}", show_header=False)
        for key in ("dataset", "preset", "layout", "num_persons", "num_joints", "num_coords"):
            table.add_row(key, str(info.get(key)))
        frames = [row["num_frames"] for row in self.metadata]
        table.add_row("clips", str(len(self)))
        if frames:
            table.add_row(
                "frames per clip", f"{min(frames)}..{max(frames)}, median {int(np.median(frames))}"
            )
        names = self.class_names
        for label, count in sorted(Counter(row["label"] for row in self.metadata).items()):
            name = names[label] if 0 <= label < len(names) else "?"
            table.add_row(f"class {label}", f"{count} clips ({name})")
        return table

    def __repr__(self) -> str:
        return (
            f"ClipStore({str(self.directory)!r}, clips={len(self)}, "
            f"dataset={self.info.get('dataset')!r}, preset={self.info.get('preset')!r})"
        )
