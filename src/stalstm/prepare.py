"""``prepare_dataset``: raw data set folder -> prepared store, in parallel, resumable, reported.

The samples are listed (``stalstm.readers.list_samples``), cut into shards of ``shard_size``
consecutive samples, and each shard is read, prepared with the preset and written by a worker
process to ``OUT/.prepare-work/shard-NNNNN.npz`` atomically (temporary file, fsync, rename).
A rerun after a crash or SIGKILL finds the finished shards (the work folder's ``plan.json``
proves they belong to the same samples, preset and settings) and prepares only the rest. The
store is then assembled from the shards in sample order (``stalstm.store.write_store``), so it is
byte-identical to an uninterrupted run's, whatever the number of workers.

Bad input never stops the run: a reader's ``DataError`` (truncated, corrupt, empty, glued...)
becomes a ``skipped`` entry ``{name, reason}`` and the other samples go on. NTU samples with no
body in any frame are skipped as "missing skeleton"; samples on NTU's official list of missing
skeletons (``--missing-list``, or a ``*samples_with_missing_skeletons.txt`` file found in the data
folder) are skipped as "listed by NTU as missing", as every NTU toolkit does, so a store's split
counts match the official ones. For a data set with a full recording plan (UTD-MHAD: 27 actions x
8 subjects x 4 trials) the clips of the plan that are not in the folder are reported as
``missing``. ``OUT/report.json`` lists what was written, skipped and missing.

Memory: workers return only small summaries, shards hold ``shard_size`` clips, and assembly copies
one shard at a time, so peak memory does not grow with the data set
(``benchmarks/prepare_memory.py`` measures it).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import re
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stalstm import readers
from stalstm.clip import UNKNOWN, Clip
from stalstm.errors import DataError
from stalstm.layouts import Layout, get_layout
from stalstm.protocols import MSR_LISTED_COLUMN, fold_of_sbu_clip
from stalstm.readers.msr import MSR_CLASSES, msr_protocol_files
from stalstm.readers.sbu import SBU_CLASSES
from stalstm.readers.utd_mhad import UTD_MHAD_CLASSES, UTD_MHAD_LAYOUT, missing_utd_mhad_clips
from stalstm.store import (
    atomic_file,
    clip_metadata,
    read_shard_labels,
    read_shard_skipped,
    write_shard,
    write_store,
)
from stalstm.transforms import build_preset
from stalstm.transforms.presets import DEFAULT_PRESETS

DATASETS = ("ntu", "sbu", "msr", "utd-mhad", "pyskl", "generic")
DEFAULT_PERSONS = {"ntu": 2, "sbu": 2, "msr": 1, "utd-mhad": 1, "pyskl": 1, "generic": 1}
WORK_FOLDER = ".prepare-work"
REPORT_FILE = "report.json"

NTU_NAME = re.compile(r"S\d{3}C\d{3}P\d{3}R\d{3}A\d{3}")


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
    refs: tuple[Any, ...]
    dataset: str
    preset: str
    missing_listed: frozenset[str] = frozenset()
    protocol_listed: frozenset[str] | None = None
    layout: Layout | None = None  # given for generic data: the preset needs it (a JSON layout)


@dataclass
class _Plan:
    """What a work folder's shards were made from; a mismatch means start afresh."""

    settings: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, dataset: str, preset: str, shard_size: int, refs: Sequence[Any], **extra: Any):
        digest = hashlib.sha256()
        for ref in refs:
            digest.update(f"{ref.name}\0{getattr(ref, 'path', '')}\n".encode())
        from stalstm import __version__

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


def read_missing_list(path: Path) -> frozenset[str]:
    """NTU sample names in an official missing-skeleton list (its text header is ignored)."""
    return frozenset(NTU_NAME.findall(Path(path).read_text()))


def find_missing_list(root: Path) -> Path | None:
    """An NTU missing-skeleton list in the data folder, if one is there."""
    found = sorted(Path(root).glob("*samples_with_missing_skeletons*.txt"))
    return found[0] if found else None


def class_names_for(dataset: str, root: Path, labels: Iterable[int] = ()) -> list[str]:
    """Class names of a data set: SBU, MSR and UTD-MHAD from their papers, NTU from a
    ``class_names.txt`` in the data folder (its first block of lines), else ``A001``...; others
    from the reader when it knows them, else the label numbers."""
    if dataset == "sbu":
        return list(SBU_CLASSES)
    if dataset == "msr":
        return list(MSR_CLASSES)
    if dataset == "utd-mhad":
        return list(UTD_MHAD_CLASSES)
    if dataset == "ntu":
        listing = Path(root) / "class_names.txt"
        if listing.is_file():
            lines = listing.read_text().splitlines()
            end = lines.index("") if "" in lines else len(lines)
            return [line.strip() for line in lines[:end]]
        return [f"A{label + 1:03d}" for label in range(max(labels, default=-1) + 1)]
    if dataset == "generic":
        from stalstm.readers.generic import read_labels

        names = read_labels(root).class_names  # labels given by name: sorted names
        if names:
            return list(names)
    return [str(label) for label in range(max(labels, default=-1) + 1)]


def _finish_clip(clip: Clip, dataset: str) -> Clip:
    """Fill protocol fields a reader cannot know from one file (SBU folds)."""
    if dataset == "sbu" and clip.fold == UNKNOWN:
        return clip.with_joints(clip.joints, fold=fold_of_sbu_clip(clip.name))
    return clip


def _prepare_one(ref: Any, task: ShardTask, preset: Any) -> tuple[Clip | None, str | None]:
    name = ref.name
    if task.dataset == "ntu" and name in task.missing_listed:
        return None, "missing skeleton: listed by NTU as missing"
    try:
        clip = readers.read_sample(ref)
    except DataError as error:
        return None, str(error)
    if clip.num_persons == 0 or not np.any(clip.joints):
        reason = "missing skeleton: no body in any frame"
        return None, reason
    clip = preset(_finish_clip(clip, task.dataset))
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
        if task.protocol_listed is not None:
            extra = {MSR_LISTED_COLUMN: clip.name in task.protocol_listed}
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
        dataset: one of ``ntu``, ``sbu``, ``msr``, ``utd-mhad``, ``pyskl``, ``generic``.
        root: the data set folder (for ``pyskl``: the annotation pickle).
        out: the store folder to write.
        preset: a name of ``stalstm.transforms.PRESETS``; default per data set (ntu: sgn, sbu:
            sbu, msr: msr, utd-mhad: none, pyskl: pyskl, generic: none).
        workers: worker processes (1: everything in this process).
        layout: joint layout of generic data (passed to the reader).
        shard_size: samples per shard (the unit of parallel work and of resuming).
        missing_list: NTU's list of samples with missing skeletons (found in ``root`` if not
            given).
        num_persons: persons M of the store (default: 2 for NTU/SBU, 1 otherwise, raised to the
            most persons any prepared clip has).
        show_progress: draw a progress bar on the terminal.

    Returns the report also written to ``out/report.json``.
    """
    started = time.perf_counter()
    if dataset not in DATASETS:
        raise ValueError(f"unknown data set {dataset!r}; known: {', '.join(DATASETS)}")
    preset = preset or DEFAULT_PRESETS[dataset]
    layout_object = get_layout(layout) if layout is not None else None
    build_preset(preset, layout_object)  # an unknown name fails here, before any work
    root, out = Path(root), Path(out)
    refs = readers.list_samples(dataset, root, layout=layout)

    missing: frozenset[str] = frozenset()
    if dataset == "ntu":
        listing = Path(missing_list) if missing_list else find_missing_list(root)
        missing = read_missing_list(listing) if listing else frozenset()
    listed = None
    if dataset == "msr":
        listed_names = msr_protocol_files(root)
        listed = frozenset(listed_names) if listed_names is not None else None

    out.mkdir(parents=True, exist_ok=True)
    work = out / WORK_FOLDER
    plan = _Plan.of(
        dataset,
        preset,
        shard_size,
        refs,
        layout=layout,
        missing=sorted(missing),
        protocol_listed=sorted(listed) if listed is not None else None,
    )
    _open_work_folder(work, plan)
    tasks = [
        ShardTask(
            path=work / f"shard-{number:05d}.npz",
            refs=tuple(refs[start : start + shard_size]),
            dataset=dataset,
            preset=preset,
            missing_listed=missing,
            protocol_listed=listed,
            layout=layout_object,
        )
        for number, start in enumerate(range(0, len(refs), shard_size))
    ]
    todo = [task for task in tasks if not task.path.is_file()]
    reused = sum(len(task.refs) for task in tasks if task.path.is_file())
    _run_tasks(todo, workers, len(refs), reused, show_progress)

    skipped = [entry for task in tasks for entry in read_shard_skipped(task.path)]
    layout_object = layout_object or _known_layout(_layout_name(dataset, layout, tasks))
    info = {
        "dataset": dataset,
        "preset": preset,
        "layout": layout_object.name if layout_object else "unknown",
        "class_names": class_names_for(
            dataset, root, [label for task in tasks for label in read_shard_labels(task.path)]
        ),
        "package_version": plan.settings["package_version"],
    }
    info.update(_joint_description(layout_object))
    write_store(
        out,
        [task.path for task in tasks],
        info,
        num_persons=num_persons or DEFAULT_PERSONS[dataset],
    )
    written = len(refs) - len(skipped)
    missing = missing_utd_mhad_clips(ref.name for ref in refs) if dataset == "utd-mhad" else None
    report = PrepareReport(
        written, skipped, out, reused, time.perf_counter() - started, missing=missing
    )
    with atomic_file(out / REPORT_FILE) as stream:
        stream.write((json.dumps(report.to_json(), indent=2) + "\n").encode())
    shutil.rmtree(work)
    return report


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


def _layout_name(dataset: str, layout: str | None, tasks: Sequence[ShardTask]) -> str:
    """The store's layout: given, else the data set's (read from the first shard's clips)."""
    if layout is not None:
        return str(layout)
    fixed = {"ntu": "ntu25", "sbu": "openni15", "msr": "msr20", "utd-mhad": UTD_MHAD_LAYOUT}
    if dataset in fixed:
        return fixed[dataset]
    for task in tasks:
        for ref in task.refs:
            name = getattr(ref, "layout", None)
            if name:
                return str(name)
    return "unknown"


def _known_layout(name: str) -> Layout | None:
    from stalstm.layouts import LAYOUTS

    return LAYOUTS.get(name)


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
