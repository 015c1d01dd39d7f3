"""The reader fuzz campaign (issue 11, item 4): every reader against mutations of real files.

Each reader is one ``FuzzedReader`` entry of ``READERS``: its seed files (taken from the real data
in ``$STALSTM_DATA``), its read function, what a sane result is, and the mutations that suit its
format (``fuzz_mutations.py``, ``fuzz_mat_mutations.py``). Hypothesis draws a seed and a few
mutations (truncation, flipped, inserted, deleted and repeated bytes, deleted and duplicated lines
and fields, NaN, inf, overflows and text in place of numbers, absurd counts such as a header
claiming 10**9 frames; for PYSKL, ``.npy`` and layouts also deleted fields, swapped dtypes and
lying headers; for MAT-files tags declaring gigabytes, lying dimensions, other classes and data
types, zlib bombs, other variables) and the input is read. A reader that reads other files beside
its input (a stream and its ground truth, streams beside ``segments.csv``) finds real ones there.

The only outcomes allowed:

- a sane result: every Clip has finite float32 joints of the shape the reader declares (its
  persons, joints and coordinates); every Stream too, with per-frame labels of its length and
  segments inside it; a layout validates and round-trips;
- a ``DataError`` subclass whose message names the file and, for a format with lines, whose
  ``line`` is set (except the whole-file errors: empty file, all-zero clip, and for a stream a
  segment its annotation places past the stream's end).

Anything else fails: another exception, no answer within ``--deadline`` seconds (SIGALRM), or a
peak allocation (tracemalloc, which numpy reports to) above ``allocation_bound`` of the input's
size. The campaign runs in its own process (the short profile from
``tests/readers/test_fuzz_readers.py``, the long one from ``benchmarks/fuzz_readers.py``) under an
address-space limit, so that a crash or a runaway allocation ends that process, not the caller.

    python tests/readers/reader_fuzzing.py --examples 40 --json report.json [--seed 1]

Adding a reader is one more ``FuzzedReader`` entry in ``READERS``.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import pickle
import random
import resource
import signal
import sys
import tempfile
import time
import traceback
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the helpers package

import helpers.fuzz_mat_mutations as mat_mutations
import helpers.fuzz_mutations as mutations
import helpers.fuzz_pose_seeds as pose_seeds
import helpers.fuzz_stream_seeds as stream_seeds
from helpers.fuzz_stream_seeds import NamedSeed
from stalstm.clip import Clip
from stalstm.errors import DataError, EmptyFileError, SegmentError
from stalstm.layouts import Layout, get_layout
from stalstm.readers import (
    read_coco_keypoints,
    read_mmpose,
    read_msr_skeleton,
    read_ntu_skeleton,
    read_openpose,
    read_pose_step,
    read_pyskl,
    read_sbu_clip,
    read_sfinge_dictionary,
    read_sfinge_sequences,
    read_stream_folder,
    read_utd_mhad,
)
from stalstm.readers.generic import GenericIndex, read_generic_clip, read_labels
from stalstm.readers.msr import AllZeroClipError
from stalstm.readers.pyskl import clip_to_annotation
from stalstm.stream import BACKGROUND, Stream

REPOSITORY = Path(__file__).resolve().parents[2]
WHOLE_FILE_ERRORS = (EmptyFileError, AllZeroClipError)  # errors about no line in particular


def allocation_bound(input_bytes: int) -> int:
    """Peak allocation allowed for reading one input: 64 MiB plus 64 bytes per input byte (a
    reader may hold the text, its tokens as float64 and the clip; not what a count claims)."""
    return 64 * 2**20 + 64 * input_bytes


class InputDeadline(BaseException):
    """Raised by SIGALRM inside a read that takes too long (a BaseException, so that no reader's
    ``except Exception`` can swallow it)."""


class DisallowedOutcomeError(Exception):
    """An outcome the campaign does not allow."""


# --- what a sane result is -----------------------------------------------------------------


def clip_problem(clip: Any, persons: int | None, joints: int, coordinates: Sequence[int]) -> str:
    if not isinstance(clip, Clip):
        return f"a {type(clip).__name__}, not a Clip"
    return joints_problem(clip.joints, persons, joints, coordinates)


def joints_problem(
    array: np.ndarray, persons: int | None, joints: int, coordinates: Sequence[int]
) -> str:
    if array.dtype != np.float32 or array.ndim != 4:
        return f"joints {array.dtype} of {array.ndim} dimensions"
    if (persons is not None and array.shape[1] != persons) or array.shape[2] != joints:
        return f"joints of shape {array.shape}"
    if array.shape[3] not in coordinates:
        return f"joints of shape {array.shape}"
    if not np.isfinite(array).all():
        return "non-finite joints"
    return ""


def clips_check(
    persons: int | None, joints: int, coordinates: Sequence[int] = (3,)
) -> Callable[[Any], str]:
    def check(result: Any) -> str:
        clips = getattr(result, "clips", [result])
        return next(
            (p for p in (clip_problem(c, persons, joints, coordinates) for c in clips) if p), ""
        )

    return check


def stream_problem(
    stream: Any, persons: int | None, joints: int, coordinates: Sequence[int]
) -> str:
    if not isinstance(stream, Stream):
        return f"a {type(stream).__name__}, not a Stream"
    problem = joints_problem(stream.joints, persons, joints, coordinates)
    if problem:
        return problem
    labels = stream.frame_labels
    if labels.shape != (stream.num_frames,):
        return f"frame labels of shape {labels.shape} for {stream.num_frames} frames"
    for segment in stream.segments:
        if not (0 <= segment.start <= segment.end < stream.num_frames and segment.label >= 0):
            return f"segment {segment} in a stream of {stream.num_frames} frames"
        if set(labels[segment.start : segment.end + 1]) != {segment.label}:
            return f"frame labels disagree with segment {segment}"
    covered = sum(segment.num_frames for segment in stream.segments)
    if covered != int((labels != BACKGROUND).sum()):
        return "segments overlap"
    return ""


def orientation_problem(record: Clip | Stream) -> str:
    """SFINGE3D keeps the joints' quaternions beside the positions: finite float32 too."""
    orientation = record.extras.get("orientation")
    if not isinstance(orientation, np.ndarray):
        return "no orientation"
    shape = (*record.joints.shape[:3], 4)
    if orientation.dtype != np.float32 or orientation.shape != shape:
        return f"orientation {orientation.dtype} {orientation.shape}, not float32 {shape}"
    return "" if np.isfinite(orientation).all() else "non-finite orientation"


def records_check(
    persons: int | None,
    joints: int,
    coordinates: Sequence[int] = (3,),
    orientation: bool = False,
) -> Callable[[Any], str]:
    """A list of clips or streams (or an object with ``.streams``), each sane; at least one."""

    def check(result: Any) -> str:
        records = getattr(result, "streams", result)
        if not isinstance(records, list) or not records:
            return f"{type(records).__name__} {records!r:.60}, not a list of records"
        for record in records:
            problem = (
                stream_problem(record, persons, joints, coordinates)
                if isinstance(record, Stream)
                else clip_problem(record, persons, joints, coordinates)
            )
            if not problem and orientation:
                problem = orientation_problem(record)
            if problem:
                return problem
        return ""

    return check


def layout_check(result: Any) -> str:
    if not isinstance(result, Layout):
        return f"a {type(result).__name__}, not a Layout"
    if type(result.num_coords) is not int or type(result.center) is not int:
        return f"num_coords {result.num_coords!r}, center {result.center!r}"
    if Layout.from_dict(result.to_dict()) != result:
        return "does not round-trip through to_dict"
    return ""


# --- seeds: real files -----------------------------------------------------------------------


def first_ntu_frames(content: bytes, frames: int) -> bytes:
    """The first ``frames`` frames of a real ``.skeleton`` file, its frame count set to match
    (short seeds keep each input fast; every line is still the camera's)."""
    lines = content.split(b"\n")
    cursor = 1
    for _ in range(frames):
        bodies = int(lines[cursor])
        cursor += 1 + bodies * (2 + 25)
    return b"\n".join([str(frames).encode(), *lines[1:cursor]]) + b"\n"


def ntu_seeds(root: Path) -> list[bytes]:
    folder = root / "ntu_rgbd_samples"
    names = ("S001C001P001R001A001", "S001C001P001R001A024", "S001C001P001R001A058")
    return [first_ntu_frames((folder / f"{n}.skeleton").read_bytes(), 12) for n in names]


SBU_SEED_CLIPS = ("s01s02/01/001", "s03s04/05/001", "s06s04/08/002")


def sbu_seeds(root: Path) -> list[bytes]:
    folder = root / "sbu_kinect_interaction"
    seeds = [(folder / name / "skeleton_pos.txt").read_bytes() for name in SBU_SEED_CLIPS]
    glued = root / "sbu_kinect_interaction_malformed" / "two_clips_glued.txt"
    return [*seeds, glued.read_bytes()]


def msr_seeds(root: Path) -> list[bytes]:
    folder = root / "msr_action3d"
    listed = (folder / "files_used_in_cvpr12_paper.txt").read_text().split()
    files = sorted((folder / f"{name}_skeleton3D.txt" for name in listed), key=os.path.getsize)
    return [p.read_bytes() for p in (*files[:3], folder / "a13_s09_e02_skeleton3D.txt")]


def sbu_clips(root: Path) -> list[Clip]:
    folder = root / "sbu_kinect_interaction"
    return [read_sbu_clip(folder / name / "skeleton_pos.txt") for name in SBU_SEED_CLIPS]


def pyskl_seeds(root: Path) -> list[dict]:
    annotations = [clip_to_annotation(clip) for clip in sbu_clips(root)]
    for annotation in annotations:
        frames = annotation["keypoint"].shape[1]
        annotation["keypoint_score"] = np.linspace(0, 1, 2 * frames * 15, dtype=np.float32).reshape(
            2, frames, 15
        )
    return [{"split": {"train": [a["frame_dir"] for a in annotations]}, "annotations": annotations}]


def encode_pyskl(content: Any, draw: mutations.Draw) -> bytes:
    return pickle.dumps(content, protocol=draw(st.sampled_from([2, 4, 5])))


def npy_seeds(root: Path) -> list[tuple[np.ndarray, dict]]:
    clips = sbu_clips(root)
    return [(clips[0].joints, {}), (clips[1].joints[:, 0].astype(np.float64), {})]


def csv_seeds(root: Path) -> list[bytes]:
    seeds = []
    for clip in sbu_clips(root)[:2]:
        header = ",".join(f"c{k}" for k in range(clip.joints[0].size))
        rows = [",".join(f"{v:.9g}" for v in frame.ravel()) for frame in clip.joints]
        seeds.append(("\n".join([header, *rows]) + "\n").encode())
    return seeds


LABELLED_CLIPS = ("walk.npy", "wave.npy", "jump.csv")


def labels_seeds(root: Path) -> list[bytes]:
    return [
        b"clip,label,subject,fold\nwalk,walking,1,1\nwave,waving,2,1\njump,jumping,3,2\n",
        b"clip,label,subject,view,setup,replication,fold\nwalk,0,1,1,1,1,1\nwave,4,2,1,1,1,1\n"
        b"jump,4,3,2,1,2,2\n",
    ]


def read_labels_beside_clips(path: Path) -> Any:
    for name in LABELLED_CLIPS:  # read_labels checks labels.csv against the clip files
        (path.parent / name).touch()
    return read_labels(path.parent)


def labels_check(result: Any) -> str:
    if not isinstance(result, GenericIndex):
        return f"a {type(result).__name__}, not a GenericIndex"
    if not all(type(row.label) is int and row.clip in result.files for row in result.rows):
        return "a row without an integer label or a file"
    return ""


def layout_seeds(root: Path) -> list[dict]:
    return [get_layout(name).to_dict() for name in ("ntu25", "openni15", "coco17", "msr20")]


def utd_seeds(root: Path) -> list[mat_mutations.MatFile]:
    folder = root / "utd_mhad_skeleton"
    names = ("a1_s1_t1", "a20_s4_t3", "a27_s8_t3")  # 48, 41 (the shortest) and 56 frames
    return [mat_mutations.read_mat_seed(folder / f"{name}_skeleton.mat") for name in names]


def encode_mat(content: mat_mutations.MatFile, draw: mutations.Draw) -> bytes:
    return mat_mutations.encode_mat(content)


def read_sfinge_stream_folder(path: Path) -> list[Stream]:
    return read_sfinge_sequences(path.parents[1])  # the root above Sequences/


def encode_json(content: Any, draw: mutations.Draw) -> bytes:
    return json.dumps(content, indent=2).encode()


def as_bytes(content: Any, draw: mutations.Draw) -> bytes:
    return content


# --- the table of readers --------------------------------------------------------------------

LINE_MUTATIONS = mutations.BYTE_MUTATIONS + mutations.TEXT_MUTATIONS


@dataclass(frozen=True)
class FuzzedReader:
    """One reader under the campaign.

    Attributes:
        name: how the report names it.
        filename: where each input is written, relative to a scratch folder (readers may parse
            the name: an NTU sample name, an SBU folder path); a ``NamedSeed`` has its own.
        seeds: data root -> seed values, each either bytes or what ``encode`` takes (or a
            ``NamedSeed`` of one).
        read: the reader, given the written path.
        check: a problem with a successful result ("" when sane).
        encode: (value, draw) -> bytes; applied after the structural mutations.
        structural: mutations of the seed value before encoding.
        byte_mutations: mutations of the encoded bytes.
        lines: whether the format has lines (its errors about the file must name one).
        named_in_errors: what every error must name, given the input's path (the file itself;
            for labels.csv, its folder, since an unlisted clip file is named instead).
        unlined_errors: errors about the file that may name no line.
        companions: data root -> the files the reader reads beside its input ({path relative
            to the scratch folder: bytes}), written once before the reader's inputs.
    """

    name: str
    filename: str
    seeds: Callable[[Path], list[Any]]
    read: Callable[[Path], Any]
    check: Callable[[Any], str]
    encode: Callable[[Any, mutations.Draw], bytes] = as_bytes
    structural: Sequence[mutations.Mutation] = ()
    byte_mutations: Sequence[mutations.Mutation] = field(default_factory=lambda: LINE_MUTATIONS)
    lines: bool = True
    named_in_errors: Callable[[Path], str] = str
    unlined_errors: tuple[type[DataError], ...] = WHOLE_FILE_ERRORS
    companions: Callable[[Path], dict[str, bytes]] | None = None


READERS = [
    FuzzedReader(
        "NTU .skeleton", "S001C001P001R001A001.skeleton", ntu_seeds, read_ntu_skeleton,
        clips_check(None, 25),
    ),
    FuzzedReader(
        "SBU", "s01s02/01/001/skeleton_pos.txt", sbu_seeds, read_sbu_clip, clips_check(2, 15),
    ),
    FuzzedReader(
        "MSR Action3D", "a01_s01_e01_skeleton3D.txt", msr_seeds, read_msr_skeleton,
        clips_check(1, 20),
    ),
    FuzzedReader(
        "PYSKL pickle", "annotations.pkl", pyskl_seeds, lambda p: read_pyskl(p, "openni15"),
        clips_check(None, 15, (2, 3)), encode_pyskl, mutations.PYSKL_MUTATIONS,
        mutations.BYTE_MUTATIONS, lines=False,
    ),
    FuzzedReader(
        "generic .npy", "clip.npy", npy_seeds, lambda p: read_generic_clip(p, "openni15"),
        clips_check(None, 15, (2, 3)), lambda value, draw: mutations.encode_npy(value),
        mutations.NPY_MUTATIONS, mutations.BYTE_MUTATIONS, lines=False,
    ),
    FuzzedReader(
        "generic .csv", "clip.csv", csv_seeds, lambda p: read_generic_clip(p, "openni15"),
        clips_check(None, 15),
    ),
    FuzzedReader(
        "generic labels.csv", "labelled/labels.csv", labels_seeds, read_labels_beside_clips,
        labels_check, named_in_errors=lambda path: str(path.parent),
    ),
    FuzzedReader(
        "layout JSON", "layout.json", layout_seeds, get_layout, layout_check, encode_json,
        mutations.LAYOUT_MUTATIONS, [*mutations.BYTE_MUTATIONS, mutations.deep_json_nesting],
        lines=False,
    ),
    FuzzedReader(
        "UTD-MHAD .mat", "a1_s1_t1_skeleton.mat", utd_seeds, read_utd_mhad, clips_check(1, 20),
        encode_mat, mat_mutations.MAT_MUTATIONS, mutations.BYTE_MUTATIONS, lines=False,
    ),
    FuzzedReader(
        "SFINGE3D gesture", "sfinge-dictionary/Dictionary/1/1.txt",
        stream_seeds.sfinge_gesture_seeds, lambda path: read_sfinge_dictionary(path.parents[2]),
        records_check(1, 20, orientation=True),
    ),
    FuzzedReader(
        "SFINGE3D stream", "sfinge-stream/Sequences/1.txt", stream_seeds.sfinge_stream_seeds,
        read_sfinge_stream_folder, records_check(1, 20, orientation=True),
        unlined_errors=(*WHOLE_FILE_ERRORS, SegmentError),
        companions=stream_seeds.sfinge_stream_companions,
    ),
    FuzzedReader(
        "SFINGE3D sequencesGT.csv", "sfinge-ground-truth/Sequences/sequencesGT.csv",
        stream_seeds.sfinge_ground_truth_seeds, read_sfinge_stream_folder,
        records_check(1, 20, orientation=True), named_in_errors=lambda path: str(path.parent),
        companions=stream_seeds.sfinge_ground_truth_companions,
    ),
    FuzzedReader(
        "stream folder segments.csv", "stream-folder/segments.csv",
        stream_seeds.stream_folder_seeds, lambda path: read_stream_folder(path.parent, "hand20"),
        records_check(1, 20), companions=stream_seeds.stream_folder_companions,
    ),
    FuzzedReader(
        "OpenPose frame JSON", "openpose/take_000000000000_keypoints.json",
        pose_seeds.openpose_seeds, read_openpose, pose_seeds.keypoint_stream_check((2,)),
        encode_json, mutations.JSON_MUTATIONS, [*mutations.BYTE_MUTATIONS,
        mutations.deep_json_nesting], lines=False,
    ),
    FuzzedReader(
        "MMPose predictions", "mmpose/take.json", pose_seeds.mmpose_seeds, read_mmpose,
        pose_seeds.keypoint_stream_check((2, 3)), encode_json, mutations.JSON_MUTATIONS,
        [*mutations.BYTE_MUTATIONS, mutations.deep_json_nesting], lines=False,
    ),
    FuzzedReader(
        "COCO keypoint results", "coco/results.json", pose_seeds.coco_seeds, read_coco_keypoints,
        pose_seeds.keypoint_stream_check((2,)), encode_json, mutations.JSON_MUTATIONS,
        [*mutations.BYTE_MUTATIONS, mutations.deep_json_nesting], lines=False,
    ),
    FuzzedReader(
        "pose step .pose.json", f"{pose_seeds.POSE_STEP_FOLDER}/take.pose.json",
        pose_seeds.pose_step_seeds, read_pose_step, pose_seeds.keypoint_stream_check((2, 3)),
        encode_json, mutations.JSON_MUTATIONS, mutations.BYTE_MUTATIONS, lines=False,
        named_in_errors=lambda path: str(path.parent),
        companions=pose_seeds.pose_step_companions,
    ),
    FuzzedReader(
        "frame JSON lines", "lines/frames.jsonl", pose_seeds.frame_line_seeds,
        pose_seeds.read_frame_file, pose_seeds.frame_lines_check,
    ),
]  # fmt: skip


# --- running inputs --------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str  # "read", the DataError subclass's name, or "failure"
    problem: str = ""
    seconds: float = 0.0
    peak_bytes: int = 0


def _raise_deadline(signum: int, frame: Any) -> None:
    raise InputDeadline


def error_problem(error: DataError, path: Path, reader: FuzzedReader) -> str:
    text = str(error)
    named = reader.named_in_errors(path)
    if named not in text:
        return f"{type(error).__name__} does not name {named}: {text}"
    about_this_file = error.where == str(path)  # not, say, a clip file labels.csv misses
    whole_file = isinstance(error, reader.unlined_errors)
    if reader.lines and about_this_file and error.line is None and not whole_file:
        return f"{type(error).__name__} names no line: {text}"
    return ""


def run_one(
    reader: FuzzedReader, content: bytes, folder: Path, deadline: float, filename: str = ""
) -> Outcome:
    """Write ``content`` where the reader expects it (or to ``filename``), read it under a
    deadline and with tracemalloc running, and judge the outcome."""
    path = folder / (filename or reader.filename)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    tracemalloc.reset_peak()
    baseline = tracemalloc.get_traced_memory()[0]
    start = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, deadline)
    try:
        result = reader.read(path)
        problem = reader.check(result)
        outcome = Outcome("failure", f"insane result: {problem}") if problem else Outcome("read")
    except DataError as error:
        problem = error_problem(error, path, reader)
        outcome = Outcome("failure", problem) if problem else Outcome(type(error).__name__)
    except InputDeadline:
        outcome = Outcome("failure", f"no answer within {deadline:g} s")
    except Exception as error:  # what the campaign is looking for: reported, not raised
        where = "".join(traceback.format_tb(error.__traceback__)[-3:])
        outcome = Outcome("failure", f"{type(error).__name__}: {error}\n{where}")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    outcome.seconds = time.perf_counter() - start
    outcome.peak_bytes = tracemalloc.get_traced_memory()[1] - baseline
    if outcome.kind != "failure" and outcome.peak_bytes > allocation_bound(len(content)):
        outcome = Outcome(
            "failure",
            f"allocated {outcome.peak_bytes / 2**20:.0f} MiB for {len(content)} bytes of input",
            outcome.seconds,
            outcome.peak_bytes,
        )
    return outcome


def fuzz_reader(
    reader: FuzzedReader,
    seeds: list[Any],
    examples: int,
    folder: Path,
    deadline: float,
    random_seed: int | None,
) -> dict[str, Any]:
    """Run ``examples`` inputs of one reader (more if a failure is shrunk); return its stats,
    with the smallest failing input found, if any."""
    stats: dict[str, Any] = {
        "inputs": 0, "outcomes": Counter(), "slowest_seconds": 0.0, "largest_peak_bytes": 0,
        "failure": None,
    }  # fmt: skip
    failing: dict[str, Any] = {}

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        derandomize=random_seed is None,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def campaign(data: st.DataObject) -> None:
        value = data.draw(st.sampled_from(seeds), label="seed")
        filename = ""
        if isinstance(value, NamedSeed):
            filename, value = value.filename, value.value
        structural = []
        if reader.structural:
            mutations_drawn = st.lists(st.sampled_from(reader.structural), min_size=1, max_size=2)
            structural = data.draw(mutations_drawn)
        for mutation in structural:
            value = mutation(value, data.draw)
        content = reader.encode(value, data.draw)
        # at least one mutation; after a structural one, bytes too for half the inputs
        if not structural or data.draw(st.booleans(), label="bytes too"):
            byte_mutations = st.lists(
                st.sampled_from(reader.byte_mutations), min_size=1, max_size=3
            )
            for mutation in data.draw(byte_mutations):
                content = mutation(content, data.draw)
        outcome = run_one(reader, content, folder, deadline, filename)
        stats["inputs"] += 1
        stats["outcomes"][outcome.kind] += 1
        stats["slowest_seconds"] = max(stats["slowest_seconds"], outcome.seconds)
        stats["largest_peak_bytes"] = max(stats["largest_peak_bytes"], outcome.peak_bytes)
        if outcome.kind == "failure":
            failing.update(problem=outcome.problem, content=content)
            raise DisallowedOutcomeError(outcome.problem)

    if random_seed is not None:
        campaign = hypothesis_seed(random_seed)(campaign)
    try:
        campaign()
    except Exception:
        if not failing:  # not an outcome of a reader: the harness itself is broken
            raise
        stats["failure"] = failing  # the smallest failing input hypothesis shrank it to
    stats["outcomes"] = dict(stats["outcomes"])
    return stats


def limit_address_space(extra_bytes: int) -> None:
    """Backstop: cap this process's address space at what it maps now (torch, numpy...) plus
    ``extra_bytes``, so that a runaway allocation fails with MemoryError instead of taking the
    machine."""
    with open("/proc/self/status") as status:
        mapped = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmSize"))
    resource.setrlimit(resource.RLIMIT_AS, (mapped + extra_bytes, mapped + extra_bytes))


def run_campaign(
    data_root: Path,
    examples: int,
    readers: Sequence[FuzzedReader] = READERS,
    deadline: float = 10.0,
    random_seed: int | None = None,
    failures_folder: Path | None = None,
) -> dict[str, Any]:
    """Fuzz every reader; returns ``{"readers": {name: stats}, ...}``. Failing inputs are
    written to ``failures_folder`` (or a temporary folder) and named in the stats."""
    faulthandler.enable()  # a crash inside a reader (scipy, numpy) prints where it happened
    tracemalloc.start()
    signal.signal(signal.SIGALRM, _raise_deadline)
    report: dict[str, Any] = {"examples_per_reader": examples, "seed": random_seed, "readers": {}}
    failures_folder = Path(failures_folder or tempfile.mkdtemp(prefix="fuzz-failures-"))
    with tempfile.TemporaryDirectory(prefix="fuzz-inputs-") as scratch:
        for reader in readers:
            seeds = reader.seeds(data_root)
            for name, companion in (
                reader.companions(data_root) if reader.companions else {}
            ).items():
                (Path(scratch) / name).parent.mkdir(parents=True, exist_ok=True)
                (Path(scratch) / name).write_bytes(companion)
            started = time.perf_counter()
            stats = fuzz_reader(reader, seeds, examples, Path(scratch), deadline, random_seed)
            stats["seconds"] = round(time.perf_counter() - started, 1)
            failure = stats.pop("failure")
            stats["failures"] = []
            if failure:
                failures_folder.mkdir(parents=True, exist_ok=True)
                saved = (
                    failures_folder
                    / f"{reader.name.replace(' ', '_')}-{Path(reader.filename).name}"
                )
                saved.write_bytes(failure["content"])
                stats["failures"].append({"problem": failure["problem"], "input": str(saved)})
            report["readers"][reader.name] = stats
            print(f"{reader.name}: {stats['inputs']} inputs, {stats['outcomes']}", flush=True)
    tracemalloc.stop()
    return report


def main(arguments: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=40, help="inputs per reader")
    parser.add_argument("--data", type=Path, default=None, help="real data (STALSTM_DATA)")
    parser.add_argument("--seed", type=int, default=None, help="hypothesis seed (default: fixed)")
    parser.add_argument("--random-seed", action="store_true", help="draw a seed and print it")
    parser.add_argument("--deadline", type=float, default=10.0, help="seconds per input")
    parser.add_argument("--memory", type=float, default=4.0, help="GiB of address space allowed")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    parser.add_argument("--failures", type=Path, default=None, help="folder for failing inputs")
    parser.add_argument("--readers", nargs="*", default=None, help="names (default: all)")
    options = parser.parse_args(arguments)
    data_root = options.data or Path(
        os.environ.get("STALSTM_DATA", REPOSITORY.parent / "shared" / "data")
    )
    random_seed = random.randrange(2**32) if options.random_seed else options.seed
    readers = [r for r in READERS if options.readers is None or r.name in options.readers]
    limit_address_space(int(options.memory * 2**30))
    report = run_campaign(
        data_root, options.examples, readers, options.deadline, random_seed, options.failures
    )
    if options.json:
        options.json.write_text(json.dumps(report, indent=2) + "\n")
    failed = [name for name, stats in report["readers"].items() if stats["failures"]]
    for name in failed:
        print(f"FAILURE {name}: {report['readers'][name]['failures']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
