"""Training and evaluating a detector: ``stalstm train`` with a detection recipe
(``stalstm.detection.recipe.DetectionRecipe``).

The detector is the recipe's STA-LSTM with one more class, the background, trained frame-wise
(``ObjectiveConfig.frame_window``) by the one training pipeline every task runs
(``stalstm.training.pipeline``: the same stages, checkpoints, resume, logs, model file and
summary), on streams instead of clips. Where the material comes from is the data set's
registry entry (``stalstm.datasets``):

- a protocol of the entry's ``stream_protocols`` (SFINGE3D's ``dictionary`` and
  ``dictionary+odd-sequences``; ``train-test`` of a user's ``streams`` folder): trimmed clips to
  build training streams from, recorded training streams, and the recorded test streams;
- a clip protocol of any clip data set (``msr-cs`` of ``msr``...): training streams built from
  the protocol's training clips, test streams built once (seeded) from its test clips.

Part of the training material is held out (``detection.held_out_fraction``: clips of every
class, and whole recorded training streams) and never trained on: the post-processing thresholds
are chosen on it, and it is where choices such as the window W are compared; the test streams
are used once, for the reported numbers. A run folder holds what the pipeline writes, with
``evaluation-test/`` (``metrics.json``, ``segments.json``, timeline pictures) and
``evaluation-held-out/metrics.json``.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from stalstm.clip import Clip
from stalstm.datasets import get_dataset
from stalstm.detection.budget import (
    budget_warnings,
    emit,
    epochs_for_steps,
    silence_warnings,
    split_epochs,
)
from stalstm.detection.building import StreamBuildSettings, build_streams, segment_clips
from stalstm.detection.calibration import class_thresholds
from stalstm.detection.data import (
    BuiltStreamDataset,
    StreamDataset,
    StreamWindowDataset,
    collate_streams,
)
from stalstm.detection.detector import (
    DetectionSettings,
    StreamDetection,
    detect_streams,
    detection_settings,
)
from stalstm.detection.metrics import StreamOutcome, detection_metrics, sfinge_matches
from stalstm.detection.pictures import plot_timeline, segments_document
from stalstm.detection.recipe import DetectionRecipe, DetectionSection
from stalstm.detection.segmenting import PostProcessing, track
from stalstm.errors import DataError
from stalstm.layouts import get_layout
from stalstm.model import STALSTM
from stalstm.modelfile import LoadedModel
from stalstm.protocols import split_indices
from stalstm.stream import RecordedSplit, Stream
from stalstm.training.data import open_data
from stalstm.training.pipeline import Material, RunResult, run
from stalstm.training.recipes import load_recipe, with_changes, with_overrides
from stalstm.transforms import build_augmentation, build_preset
from stalstm.viewer.report import write_run_report

BACKGROUND_NAME = "background"
HELD_OUT_SEED = 1_000_003  # the held-out split and its streams do not change with the seed
TEST_STREAM_SEED = 2_000_003
DEFAULT_SEARCH = {
    "start_threshold": [0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    "start_frames": [2, 4, 6, 8, 10, 12, 16, 20, 24],
    "end_threshold": [0.2, 0.3, 0.4],
    "end_frames": [2, 4, 8],
}
BOUNDARY_SEARCH = [0.0, 0.3, 0.5, 0.7]  # start_confidence, for a model with boundary heads
SUMMARY_KEYS = (
    "detection_rate",
    "false_positives_per_stream",
    "jaccard",
    "frame_f1",
    "map_iou_0.5",
    "median_delay_frames",
)


@dataclass
class DetectionMaterial(Material):
    """A detection run's material: the pipeline's, plus the held-out and test streams."""

    held_out: list[Stream] = field(default_factory=list)  # prepared with the model's preset
    test: list[Stream] = field(default_factory=list)  # raw: the saved detector prepares them
    background: int = 0
    section: DetectionSection = field(default_factory=DetectionSection)

    @property
    def window(self) -> int:
        return self.section.window


def _held_out_clips(clips: Sequence[Clip], fraction: float) -> tuple[list[Clip], list[Clip]]:
    """(training, held out): ``fraction`` of every class's clips held out, chosen by a fixed
    seed (so every training seed is compared on the same held-out clips)."""
    generator = np.random.default_rng(HELD_OUT_SEED)
    held: set[int] = set()
    for label in sorted({clip.label for clip in clips}):
        members = [i for i, clip in enumerate(clips) if clip.label == label]
        count = max(1, round(fraction * len(members))) if len(members) > 1 else 0
        held.update(int(i) for i in generator.choice(members, size=count, replace=False))
    training = [clip for i, clip in enumerate(clips) if i not in held]
    return training, [clip for i, clip in enumerate(clips) if i in held]


def _held_out_streams(streams: Sequence[Stream], fraction: float) -> tuple[list, list]:
    """(training, held out): ``fraction`` of the recorded streams (at least one) held out, by a
    fixed seed."""
    if not streams:
        return [], []
    generator = np.random.default_rng(HELD_OUT_SEED)
    count = max(1, round(fraction * len(streams)))
    held = set(int(i) for i in generator.choice(len(streams), size=count, replace=False))
    training = [stream for i, stream in enumerate(streams) if i not in held]
    return training, [stream for i, stream in enumerate(streams) if i in held]


def split_material(recipe: DetectionRecipe, data: str | Path | None) -> RecordedSplit:
    """The recipe's material before holding out (see the module docstring)."""
    entry = get_dataset(recipe.data.dataset)
    protocol = recipe.data.protocol
    if protocol in entry.stream_protocols:
        if data is None:
            raise DataError(entry.name, "give the data folder (--data)")
        return entry.stream_protocols[protocol](Path(data), recipe.data.layout or entry.layout)
    return _clip_split(recipe, data)


def _clip_split(recipe: DetectionRecipe, data: str | Path | None) -> RecordedSplit:
    """Clips of a clip data set, read raw (prepared with preset ``none``) so that whole built
    streams are prepared as a recorded stream would be; test streams built once from the test
    clips."""
    section = recipe.detection
    store = open_data(data, with_changes(recipe, data={"preset": "none"}))
    protocol = get_dataset(recipe.data.dataset).protocol(recipe.data.protocol)
    split = split_indices(store.metadata, protocol, None)
    clips = [store[index] for index in split["train"]]
    test_clips = [store[index] for index in split["test"]]
    if not clips or not test_clips:
        raise DataError(data or store.directory,
                        f"protocol {recipe.data.protocol} leaves a split empty")  # fmt: skip
    build = StreamBuildSettings.from_dict(section.test_build or section.build)
    test = build_streams(test_clips, section.test_streams, TEST_STREAM_SEED, build, "test")
    return RecordedSplit(
        clips, [], test, store.class_names,
        {"train": f"streams built from {len(clips)} training clips ({recipe.data.protocol})",
         "test": f"{len(test)} streams built from the {len(test_clips)} test clips"},
    )  # fmt: skip


class DetectionTask:
    """Frame-wise training of a detector on built and recorded streams; the post-processing
    chosen on held-out streams; evaluated by the detection metrics on the test streams."""

    name = "detection"

    def material(
        self, recipe: DetectionRecipe, data: str | Path | None, fold: int | None
    ) -> DetectionMaterial:
        if fold is not None:
            raise ValueError("a detection recipe has no folds")
        section = recipe.detection
        recorded = split_material(recipe, data)
        clips, held_clips = _held_out_clips(recorded.train_clips, section.held_out_fraction)
        streams, held_streams = _held_out_streams(recorded.train_streams, section.held_out_fraction)
        if section.build_from_segments and not recorded.train_clips:
            # recorded actions as clips: more streams are built from them, held out alike
            clips, held_clips = segment_clips(streams), segment_clips(held_streams)
        build = StreamBuildSettings.from_dict(section.build)
        held_out = list(held_streams)
        if held_clips:
            built = build_streams(held_clips, section.held_out_streams, HELD_OUT_SEED, build,
                                  "held-out")  # fmt: skip
            held_out = built + held_out
        example = (recorded.train_clips or recorded.train_streams)[0]
        background = len(recorded.class_names)
        persons = example.num_persons
        config = recipe.model_config(
            num_joints=persons * example.num_joints, num_classes=background + 1,
            num_coords=example.num_coords,
        )  # fmt: skip
        layout = recipe.data.layout or get_dataset(recipe.data.dataset).layout or example.layout
        preparation = build_preset(recipe.data.preset, _layout_object(layout))
        augment = build_augmentation(recipe.augmentation) if recipe.augmentation else None
        seed = recipe.training.seed
        parts: list[Dataset] = []
        if clips:
            parts.append(BuiltStreamDataset(clips, section.streams_per_epoch, background, persons,
                                            build, preparation, augment, seed))  # fmt: skip
        if streams and section.recorded_windows:
            parts.append(StreamWindowDataset(streams, section.recorded_windows, background,
                                             persons, preparation, augment, seed))  # fmt: skip
        elif streams:
            parts.append(StreamDataset(streams, background, persons, preparation, augment, seed))
        if not parts:
            raise DataError(data or recipe.data.dataset, "no training material")
        train_set = parts[0] if len(parts) == 1 else _Mixed(*parts)
        held_set = StreamDataset(held_out, background, persons, preparation)
        description = dict(recorded.description)
        if section.build_from_segments and clips and not recorded.train_clips:
            description["train"] += f" and streams built from their {len(clips)} segments"
        description["held_out"] = (
            f"{len(held_clips)} clips ({section.held_out_fraction:.0%}) built into "
            f"{len(held_out) - len(held_streams)} streams"
            if held_clips
            else "no clips"
        ) + (f", and streams {', '.join(s.name for s in held_streams)}" if held_streams else "")
        recipe, budget = budgeted_recipe(recipe, len(train_set))
        warnings = budget_warnings(budget["steps"], budget["warmup_steps"])
        emit(warnings)
        return DetectionMaterial(
            config, train_set, held_set, [*recorded.class_names, BACKGROUND_NAME], layout,
            recipe.data.preset, collate=collate_streams,
            run={"data": None if data is None else str(Path(data).resolve()), "fold": None},
            description={"window": section.window, "split": description, "budget": budget},
            recipe=recipe, warnings=warnings,
            held_out=list(held_set.streams), test=recorded.test_streams,
            background=background, section=section,
        )  # fmt: skip

    def finish(self, model: STALSTM, material: DetectionMaterial, out: Path) -> tuple[dict, dict]:
        """The post-processing, chosen on the held-out streams (written to
        ``evaluation-held-out/metrics.json``)."""
        chosen, counts, held_metrics, calibration = choose_on_held_out(model, material)
        folder = out / "evaluation-held-out"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "metrics.json").write_text(json.dumps(held_metrics, indent=2) + "\n")
        detection = DetectionSettings(material.background, material.window, chosen)
        metadata = {"detection": detection.to_dict(), "split": material.description["split"]}
        found = silence_warnings("held-out", held_metrics)
        emit(found)
        facts = {"held_out": held_metrics, "held_out_search": counts,
                 "post_processing": chosen.to_dict(),
                 "class_threshold_calibration": calibration, "warnings": found}  # fmt: skip
        return metadata, facts

    def evaluate(
        self, model: LoadedModel, material: DetectionMaterial, out: Path
    ) -> dict[str, Any]:
        metrics = evaluate_detector(model, material.test, out / "evaluation-test",
                                    material.section.pictures)  # fmt: skip
        found = silence_warnings("test", metrics)
        emit(found)
        result = {**{key: metrics[key] for key in SUMMARY_KEYS}, "test": metrics,
                  "warnings": found}  # fmt: skip
        settings = detection_settings(model)
        if settings.post_processing.class_start_thresholds:
            # what the per-class thresholds contributed: the same weights with one threshold
            common = replace(settings.post_processing, class_start_thresholds=())
            single = detect_streams(model, material.test, replace(settings, post_processing=common))
            result["test_one_threshold"] = detection_metrics(
                outcomes_of(material.test, single), settings.background
            )
        return result

    def table(self, summary: dict[str, Any]) -> str:
        return summary_table(summary)

    def report(self, out: Path, material: DetectionMaterial) -> Path:
        return write_run_report(out)


def _layout_object(layout: Any) -> Any:

    return get_layout(layout) if isinstance(layout, str) and layout else None


def choose_on_held_out(
    model: STALSTM, material: DetectionMaterial
) -> tuple[PostProcessing, dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """The tracker settings chosen on the held-out streams, the search's counts, the held-out
    metrics with them, and (with ``class_thresholds``) the per-class calibration's counts."""
    background, section = material.background, material.section
    searching = DetectionSettings(
        background, material.window, PostProcessing(**section.post_processing)
    )
    streams = material.held_out
    results = detect_streams(model, streams, searching, prepared=True)
    probabilities = [result.probabilities for result in results]
    boundaries = [result.boundaries for result in results]
    chosen, counts = choose_post_processing(
        streams, probabilities, background, section.post_processing,
        section.search or DEFAULT_SEARCH, boundaries,
    )  # fmt: skip
    if model.config.boundary_heads and "start_confidence" not in (section.search or {}):
        # the start gate is searched second, the other settings fixed (a joint grid would
        # take minutes of the tracker)
        chosen, counts = choose_post_processing(
            streams, probabilities, background, chosen.to_dict(),
            {"start_confidence": BOUNDARY_SEARCH}, boundaries,
        )  # fmt: skip
    calibration = None
    if section.class_thresholds:
        candidates = (section.search or DEFAULT_SEARCH).get(
            "start_threshold", DEFAULT_SEARCH["start_threshold"]
        )
        chosen, calibration = class_thresholds(
            streams, probabilities, background, chosen, candidates, boundaries=boundaries
        )
    tracked = [
        replace(r, detections=track(r.probabilities, chosen, background, r.boundaries))
        for r in results
    ]
    metrics = detection_metrics(outcomes_of(streams, tracked), background)
    return chosen, counts, metrics, calibration


def budgeted_recipe(
    recipe: DetectionRecipe, items_per_epoch: int
) -> tuple[DetectionRecipe, dict[str, int]]:
    """The recipe with its epochs set by ``detection.steps`` (optimiser steps; a ``stages``
    schedule's stages share them as their epochs in the recipe do) for
    ``items_per_epoch`` training items a pass, and the run's budget: optimiser ``steps``,
    ``epochs``, ``items_per_epoch``, the first stage's ``warmup_steps``."""
    batch = recipe.training.batch_size
    if recipe.detection.steps:
        epochs = epochs_for_steps(recipe.detection.steps, items_per_epoch, batch)
        if recipe.schedule.kind == "stages":
            given = recipe.schedule.stages
            split = split_epochs(epochs, [int(stage["epochs"]) for stage in given])
            stages = [{**stage, "epochs": part} for stage, part in zip(given, split, strict=True)]
            recipe = with_changes(recipe, schedule={"stages": stages})
        else:
            recipe = with_changes(recipe, schedule={"epochs": epochs})
    stages = recipe.training.schedule.stages
    steps = sum(stage.epochs for stage in stages) * math.ceil(items_per_epoch / batch)
    return recipe, {
        "steps": steps,
        "epochs": sum(stage.epochs for stage in stages),
        "items_per_epoch": items_per_epoch,
        "warmup_steps": stages[0].optimiser.warmup_steps,
    }


def train_detector(
    recipe: str | Path | DetectionRecipe,
    data: str | Path | None,
    out: str | Path,
    overrides: Sequence[str] = (),
    *,
    resume: bool = False,
    progress_bar: bool = True,
) -> dict[str, Any]:
    """Train, choose the post-processing, save and test a detector by a detection recipe (a
    name, a YAML file or a ``DetectionRecipe``); returns the summary (also ``summary.json``)."""
    return train_detector_run(recipe, data, out, overrides, resume=resume,
                              progress_bar=progress_bar).summary  # fmt: skip


def train_detector_run(
    recipe: str | Path | DetectionRecipe,
    data: str | Path | None,
    out: str | Path,
    overrides: Sequence[str] = (),
    *,
    resume: bool = False,
    progress_bar: bool = True,
) -> RunResult:
    """``train_detector``, returning the saved model and the material too."""
    if isinstance(recipe, DetectionRecipe):
        recipe = with_overrides(recipe, overrides)
    else:
        recipe = load_recipe(recipe, overrides, kind=DetectionRecipe)
    return run(DetectionTask(), recipe, data, out, resume=resume, progress_bar=progress_bar)


def outcomes_of(streams: Sequence[Stream], results: Sequence[StreamDetection]) -> list:
    """Detector results paired with the streams' truth, for ``detection_metrics``."""
    return [
        StreamOutcome(
            stream.name,
            stream.segments,
            tuple(result.detections),
            stream.frame_labels,
            result.frame_predictions,
        )
        for stream, result in zip(streams, results, strict=True)
    ]


def choose_post_processing(
    streams: Sequence[Stream],
    probabilities: Sequence[np.ndarray],
    background: int,
    base: dict[str, Any],
    search: dict[str, list],
    boundaries: Sequence[np.ndarray | None] | None = None,
) -> tuple[PostProcessing, dict[str, Any]]:
    """The tracker settings with the most detections minus false positives on these streams
    (ties: fewer false positives, then the first in the search order), and its counts."""
    names = sorted(search)
    best: tuple | None = None
    for values in itertools.product(*(search[name] for name in names)):
        try:
            settings = PostProcessing(**{**base, **dict(zip(names, values, strict=True))})
        except ValueError:  # e.g. an end threshold above the start threshold
            continue
        detected = false_positives = 0
        for index, (stream, frames) in enumerate(zip(streams, probabilities, strict=True)):
            detections = track(frames, settings, background, boundaries and boundaries[index])
            found = sum(m is not None for _, m in sfinge_matches(stream.segments, detections))
            detected += found
            false_positives += len(detections) - found
        key = (detected - false_positives, -false_positives)
        if best is None or key > best[0]:
            best = (key, settings, {"detected": detected, "false_positives": false_positives})
    if best is None:
        raise ValueError("no valid post-processing settings in the search")
    return best[1], best[2]


def evaluate_detector(
    loaded: Any, streams: Sequence[Stream], folder: str | Path, pictures: int = 0
) -> dict[str, Any]:
    """Detect every stream with a saved detector, write ``metrics.json``, ``segments.json`` and
    timeline pictures of the first ``pictures`` streams into ``folder``; return the metrics."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    results = detect_streams(loaded, streams)
    background = detection_settings(loaded).background
    metrics = detection_metrics(outcomes_of(streams, results), background)
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    document = segments_document(streams, results, list(loaded.class_names))
    (folder / "segments.json").write_text(json.dumps(document, indent=2) + "\n")
    for stream, result in list(zip(streams, results, strict=True))[:pictures]:
        plot_timeline(
            stream, result, list(loaded.class_names), folder / f"timeline-{stream.name}.png"
        )
    return metrics


def summary_table(summary: dict[str, Any]) -> str:
    """The summary as a small Markdown table."""
    test, held = summary["test"], summary["held_out"]

    def row(name: str, metrics: dict) -> str:
        delay = metrics["median_delay_frames"]
        return (
            f"| {name} | {100 * metrics['detection_rate']:.1f} "
            f"| {metrics['false_positives_per_stream']:.2f} | {metrics['jaccard']:.3f} "
            f"| {metrics['frame_f1']:.3f} | {metrics['map_iou_0.5']:.3f} "
            f"| {'-' if delay is None else f'{delay:.0f}'} | {metrics['streams']} |"
        )

    return (
        f"# {summary['recipe']} ({summary['variant']}, window {summary['window']}, "
        f"seed {summary['seed']})\n\n"
        "| streams | detected % | false positives / stream | Jaccard | frame F1 | mAP@0.5 "
        "| median delay (frames) | count |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        f"{row('test', test)}\n{row('held out', held)}\n\n"
        f"{summary['seconds']:.0f} s in all.\n"
    )


class _Mixed:
    """Two stream datasets served as one (built streams first), epoch passed to both."""

    def __init__(self, first: Any, second: Any) -> None:
        self.parts = (first, second)

    def set_epoch(self, epoch: int) -> None:
        for part in self.parts:
            part.set_epoch(epoch)

    def __len__(self) -> int:
        return sum(len(part) for part in self.parts)

    def __getitem__(self, index: int) -> dict[str, Any]:
        first = self.parts[0]
        return first[index] if index < len(first) else self.parts[1][index - len(first)]
