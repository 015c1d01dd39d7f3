"""``prepare_dataset``: raw data set folder -> prepared store, in parallel, resumable, reported.

The samples are listed by the data set's registry entry (``stalstm.datasets``), cut into shards
of ``shard_size`` consecutive samples, and each shard is read, prepared with the preset and
written by a worker process to ``OUT/.prepare-work/shard-NNNNN.npz`` atomically (temporary file,
fsync, rename). A rerun after a crash or SIGKILL finds the finished shards (the work folder's
``plan.json`` proves they belong to the same samples, preset and settings) and prepares only the
rest. The store is then assembled from the shards in sample order
(``stalstm.store.write_store``), so it is byte-identical to an uninterrupted run's, whatever the
number of workers.

Bad input never stops the run: a reader's ``DataError`` (truncated, corrupt, empty, glued...)
becomes a ``skipped`` entry ``{name, reason}`` and the other samples go on. NTU samples with no
body in any frame are skipped as "missing skeleton"; samples on NTU's official list of missing
skeletons (``--missing-list``, or a ``*samples_with_missing_skeletons.txt`` file found in the
data folder) are skipped as listed by the data set's authors as unusable, as every NTU toolkit
does, so a store's split counts match the official ones. For a data set with a full recording
plan (UTD-MHAD: 27 actions x 8 subjects x 4 trials) the clips of the plan that are not in the
folder are reported as ``missing``. ``OUT/report.json`` lists what was written, skipped and
missing; a run that writes no clip at all is an ``EmptyStoreError`` saying why (the skipped
samples' reasons).

Memory: workers return only small summaries, shards hold ``shard_size`` clips, and assembly copies
one shard at a time, so peak memory does not grow with the data set
(``benchmarks/prepare_memory.py`` measures it).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stalstm import __version__
from stalstm.clip import Clip
from stalstm.datasets import get_dataset, list_samples, read_sample
from stalstm.errors import DataError
from stalstm.layouts import Layout, get_layout
from stalstm.readers.samples import SampleRef
from stalstm.store import (
    atomic_file,
    clip_metadata,
    read_shard_labels,
    read_shard_skipped,
    write_shard,
    write_store,
)
from stalstm.transforms import build_preset

WORK_FOLDER = ".prepare-work"
REPORT_FILE = "report.json"


class EmptyStoreError(DataError):
    """Preparation that wrote no clip at all (every sample skipped, or none found)."""

    kind = "no clip prepared"


@dataclass
class PrepareReport:
    """What ``prepare_dataset`` did.

    Attributes:
        written: clips in the store.
        skipped: ``{"name", "reason"}`` of every sample left out, in sample order.
        out: the store folder.
        reused: samples whose shard an earlier, interrupted run had already finished.
        seconds: wall-clock time of this run.
        missing: for a data set with a full recording plan (UTD-MHAD), the clips of the plan
            that are not in the folder, in plan order; None for the others.
    """

    written: int
    skipped: list[dict[str, str]]
    out: Path
    reused: int = 0
    seconds: float = 0.0
    missing: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        """The content of ``report.json`` (no timings, so reruns give the same file)."""
        content: dict[str, Any] = {"written": self.written, "skipped": self.skipped}
        if self.missing is not None:
            content["missing"] = self.missing
        return content

    def summary_table(self) -> Any:
        """A ``rich`` table of the counts and of every skipped sample with its reason."""
        from rich.table import Table

        table = Table(title=f"prepared store {self.out}", show_header=True)
        table.add_column("clip")
        table.add_column("status")
        table.add_row("[bold]written[/bold]", str(self.written))
        table.add_row("[bold]skipped[/bold]", str(len(self.skipped)))
        if self.missing is not None:
            planned = "[bold]missing[/bold] (in the recording plan, not in the folder)"
            table.add_row(planned, str(len(self.missing)))
        if self.reused:
            table.add_row("reused from an interrupted run", str(self.reused))
        table.add_row("seconds", f"{self.seconds:.1f}")
        for entry in self.skipped:
            table.add_row(entry["name"], f"skipped: {entry['reason']}")
        for name in self.missing or ():
            table.add_row(name, "missing: no file in the folder")
        return table


@dataclass(frozen=True)
class ShardTask:
    """One worker job: prepare these samples into one shard file."""

    path: Path
    refs: tuple[SampleRef, ...]
    dataset: str
    preset: str
    excluded: frozenset[str] = frozenset()  # names the data set's authors list as unusable
    listed: tuple[str, frozenset[str]] | None = None  # (column, names in an official list)
    layout: Layout | None = None  # given for data whose layout the user names (a JSON layout)


@dataclass
class _Plan:
    """What a work folder's shards were made from; a mismatch means start afresh."""

    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, dataset: str, preset: str, shard_size: int, refs: Sequence[Any], **extra: Any):
        digest = hashlib.sha256()
        for ref in refs:
            digest.update(f"{ref.name}\0{getattr(ref, 'path', '')}\n".encode())
        return cls(
            {
                "dataset": dataset,
                "preset": preset,
                "shard_size": shard_size,
                "samples": len(refs),
                "samples_sha256": digest.hexdigest(),
                "package_version": __version__,
                **extra,
            }
        )


def _prepare_one(ref: SampleRef, task: ShardTask, preset: Any) -> tuple[Clip | None, str | None]:
    if ref.name in task.excluded:
        return None, "missing skeleton: listed by the data set's authors as unusable"
    try:
        clip = read_sample(ref)
    except DataError as error:
        return None, str(error)
    if clip.num_persons == 0 or not np.any(clip.joints):
        return None, "missing skeleton: no body in any frame"
    clip = preset(clip)
    if clip.num_frames == 0:
        return None, f"no frame left after preset {task.preset!r}"
    return clip, None


def prepare_shard(task: ShardTask) -> tuple[int, list[dict[str, str]]]:
    """Read and prepare one shard's samples and write the shard file (runs in a worker)."""
    preset = build_preset(task.preset, task.layout)
    clips, rows, skipped = [], [], []
    for ref in task.refs:
        clip, reason = _prepare_one(ref, task, preset)
        if clip is None:
            skipped.append({"name": ref.name, "reason": reason or "unknown"})
            continue
        extra = None
        if task.listed is not None:
            column, names = task.listed
            extra = {column: clip.name in names}
        clips.append(clip)
        rows.append(clip_metadata(clip, extra))
    write_shard(task.path, clips, rows, skipped)
    return len(clips), skipped


def _open_work_folder(work: Path, plan: _Plan) -> None:
    """Keep the shards of an interrupted run of the same plan; otherwise start afresh."""
    plan_file = work / "plan.json"
    if work.is_dir():
        try:
            previous = json.loads(plan_file.read_text())
        except (OSError, ValueError):
            previous = None
        if previous == plan.settings:
            for stray in work.glob(".*.tmp"):  # a write cut short by the kill
                stray.unlink()
            return
        shutil.rmtree(work)
    work.mkdir(parents=True)
    with atomic_file(plan_file) as stream:
        stream.write(json.dumps(plan.settings, indent=2, sort_keys=True).encode())


def prepare_dataset(
    dataset: str,
    root: str | Path,
    out: str | Path,
    preset: str | None = None,
    workers: int = 1,
    *,
    layout: str | None = None,
    shard_size: int = 64,
    missing_list: str | Path | None = None,
    num_persons: int | None = None,
    show_progress: bool = False,
) -> PrepareReport:
    """Prepare every sample of a data set folder into a store at ``out``.

    Args:
        dataset: a data set of the registry (``stalstm.datasets``) read from a folder: ``ntu``,
            ``sbu``, ``msr``, ``utd-mhad``, ``pyskl``, ``generic``.
        root: the data set folder (for ``pyskl``: the annotation pickle).
        out: the store folder to write.
        preset: a name of ``stalstm.transforms.PRESETS``; default: the data set's.
        workers: worker processes (1: everything in this process).
        layout: joint layout of data whose files do not say (generic, pyskl).
        shard_size: samples per shard (the unit of parallel work and of resuming).
        missing_list: NTU's list of samples with missing skeletons (found in ``root`` if not
            given).
        num_persons: persons M of the store (default: the data set's, raised to the most
            persons any prepared clip has).
        show_progress: draw a progress bar on the terminal.

    Returns the report also written to ``out/report.json``.

    Raises:
        EmptyStoreError: no clip was written (the message gives the skipped samples' reasons).
    """
    started = time.perf_counter()
    entry = get_dataset(dataset)
    preset = preset or entry.default_preset
    layout = layout or entry.layout
    layout_object = get_layout(layout) if layout is not None else None
    build_preset(preset, layout_object)  # an unknown name fails here, before any work
    root, out = Path(root), Path(out)
    refs = list_samples(dataset, root, layout=layout)
    excluded = (
        entry.excluded(root, Path(missing_list) if missing_list else None)
        if (entry.excluded)
        else frozenset()
    )
    listed = entry.listed_column(root) if entry.listed_column else None

    out.mkdir(parents=True, exist_ok=True)
    work = out / WORK_FOLDER
    plan = _Plan.of(
        dataset, preset, shard_size, refs, layout=layout, missing=sorted(excluded),
        protocol_listed=sorted(listed[1]) if listed is not None else None,
    )  # fmt: skip
    _open_work_folder(work, plan)
    tasks = [
        ShardTask(work / f"shard-{number:05d}.npz", tuple(refs[start : start + shard_size]),
                  dataset, preset, excluded, listed, layout_object)
        for number, start in enumerate(range(0, len(refs), shard_size))
    ]  # fmt: skip
    todo = [task for task in tasks if not task.path.is_file()]
    reused = sum(len(task.refs) for task in tasks if task.path.is_file())
    _run_tasks(todo, workers, len(refs), reused, show_progress)

    skipped = [entry for task in tasks for entry in read_shard_skipped(task.path)]
    written = len(refs) - len(skipped)
    if written == 0:
        shutil.rmtree(work)
        raise EmptyStoreError(root, _nothing_written(dataset, refs, skipped))
    labels = [label for task in tasks for label in read_shard_labels(task.path)]
    info = {
        "dataset": dataset,
        "preset": preset,
        "layout": layout_object.name if layout_object else "unknown",
        "class_names": entry.names_of_classes(root, labels),
        "package_version": __version__,
        **_joint_description(layout_object),
    }
    write_store(out, [task.path for task in tasks], info,
                num_persons=num_persons or entry.num_persons)  # fmt: skip
    missing = entry.planned_missing(ref.name for ref in refs) if entry.planned_missing else None
    report = PrepareReport(
        written, skipped, out, reused, time.perf_counter() - started, missing=missing
    )
    with atomic_file(out / REPORT_FILE) as stream:
        stream.write((json.dumps(report.to_json(), indent=2) + "\n").encode())
    shutil.rmtree(work)
    return report


def _nothing_written(dataset: str, refs: Sequence[SampleRef], skipped: list[dict]) -> str:
    """Why a preparation wrote no clip, from its skipped samples' reasons."""
    if not refs:
        return f"no {dataset} samples found in the folder"
    reasons = Counter(entry["reason"] for entry in skipped).most_common(3)
    listed = "; ".join(f"{count} x {reason}" for reason, count in reasons)
    return f"all {len(refs)} samples were skipped ({listed})"


def _run_tasks(
    tasks: Sequence[ShardTask], workers: int, total: int, done: int, show_progress: bool
) -> None:
    """Run shard tasks in order, in this process or a pool, advancing a progress bar."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    pool = None
    if workers > 1 and len(tasks) > 1:
        # Workers are forked before the progress bar starts its refresh thread; they use numpy
        # only, and forking spares each of them re-importing torch (pulled in by the package).
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        pool = context.Pool(min(workers, len(tasks)))
    progress = Progress(
        TextColumn("preparing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        disable=not show_progress,
    )
    try:
        with progress:
            bar = progress.add_task("samples", total=total, completed=done)
            results = pool.imap(prepare_shard, tasks) if pool else map(prepare_shard, tasks)
            for task, _ in zip(tasks, results, strict=True):
                progress.advance(bar, len(task.refs))
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()


def _joint_description(layout: Layout | None) -> dict[str, Any]:
    """The store's joint names and the whole layout (so that a model trained on it can prepare
    new input by the same layout, a user's JSON layout included, without the JSON file)."""
    if layout is None:
        return {"joints": [], "coords": "xyz"}
    return {
        "joints": list(layout.joint_names),
        "num_joints": layout.num_joints,
        "coords": "xyz"[: layout.num_coords],
        "layout_definition": layout.to_dict(),
    }
