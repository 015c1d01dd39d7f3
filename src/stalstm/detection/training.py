"""Training and evaluating a detector: ``stalstm train`` with a detection recipe.

The detector is the recipe's STA-LSTM with one more class, the background, trained frame-wise
(``ObjectiveConfig.frame_window``) by the same engine as every recipe (``stalstm.training.fit``:
the same stages, checkpoints, resume and logs), on streams instead of clips. Where the material
comes from, by ``data.dataset``:

- ``sfinge3d`` (``data.protocol: dictionary``): training streams are built every epoch from the
  Dictionary's 468 segmented gestures (the material the data set intends for training); the
  test streams are the 72 recorded Sequences. ``dictionary+odd-sequences`` also trains on the
  odd-numbered Sequences (a share of them held out with the Dictionary's, so that recorded
  background takes part in choosing the post-processing) and tests on the even-numbered ones.
- ``streams``: a folder with ``train/`` and ``test/`` stream folders in the bring-your-own
  format (``stalstm.readers.stream_folder``; ``detection.layout`` names the layout).
- any clip data set of ``stalstm.readers`` (``msr``, ``sbu``, ...): training streams built from
  the protocol's training clips, test streams built once (seeded) from its test clips.

Part of the training material is held out (``detection.held_out_fraction``: clips of every
class, or whole streams) and never trained on: the post-processing thresholds are chosen on it,
and it is where choices such as the window W are compared; the test streams are used once, for
the reported numbers. A run folder holds what ``stalstm train`` writes, plus
``evaluation-test/`` (``metrics.json``, ``segments.json``, timeline pictures) and
``evaluation-held-out/metrics.json``.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from stalstm.clip import Clip
from stalstm.detection.budget import budget_warnings, emit, epochs_for_steps, silence_warnings
from stalstm.detection.building import StreamBuildSettings, build_streams, segment_clips
from stalstm.detection.calibration import class_thresholds
from stalstm.detection.detector import DetectionSettings, StreamDetection, detect_streams
from stalstm.detection.metrics import StreamOutcome, detection_metrics, sfinge_matches
from stalstm.detection.segmenting import PostProcessing, track
from stalstm.errors import DataError
from stalstm.stream import Stream

BACKGROUND_NAME = "background"
HELD_OUT_SEED = 1_000_003  # the held-out split and its streams do not change with the seed
TEST_STREAM_SEED = 2_000_003
SFINGE_PROTOCOLS = ("dictionary", "dictionary+odd-sequences")
DEFAULT_SEARCH = {
    "start_threshold": [0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    "start_frames": [2, 4, 6, 8, 10, 12, 16, 20, 24],
    "end_threshold": [0.2, 0.3, 0.4],
    "end_frames": [2, 4, 8],
}
BOUNDARY_SEARCH = [0.0, 0.3, 0.5, 0.7]  # start_confidence, for a model with boundary heads


def check_detection_recipe(recipe: Any, augmentation: Any, where: str) -> None:
    """Recipe checks of a detection recipe (``RecipeError`` naming the key)."""
    from stalstm.training.recipes import RecipeError
    from stalstm.transforms.presets import PRESETS

    section = recipe.detection
    checks = [
        ("detection.window", section.window >= 1, "at least 1"),
        ("detection.streams_per_epoch", section.streams_per_epoch >= 1, "at least 1"),
        ("detection.held_out_fraction", 0 < section.held_out_fraction < 1, "in (0, 1)"),
        ("detection.held_out_streams", section.held_out_streams >= 1, "at least 1"),
        ("detection.test_streams", section.test_streams >= 1, "at least 1"),
        ("detection.steps", section.steps >= 0, "at least 0 (0: schedule.epochs as given)"),
        ("detection.recorded_windows", section.recorded_windows >= 0, "at least 0"),
        (
            "detection.steps",
            section.steps == 0 or recipe.schedule.kind == "end-to-end",
            "0 unless schedule.kind is end-to-end (a budget in steps sets its epochs)",
        ),
        (
            "data.preset",
            recipe.data.preset in PRESETS and PRESETS[recipe.data.preset].causal,
            "a preset that can run online (a detector prepares frames as they arrive)",
        ),
        (
            "objective.frame_window",
            recipe.objective.frame_window in (0, section.window),
            "left out: detection.window sets it",
        ),
        (
            "augmentation",
            augmentation.crop_min_ratio is None and augmentation.num_frames is None,
            "without crop_min_ratio and num_frames (a stream's frames carry its labels)",
        ),
    ]
    if recipe.data.dataset == "sfinge3d":
        checks.append(
            ("data.protocol", recipe.data.protocol in SFINGE_PROTOCOLS, str(SFINGE_PROTOCOLS))
        )
    for key, ok, expected in checks:
        if not ok:
            raise RecipeError(where, f"{key} must be {expected}", field=key)
    try:
        StreamBuildSettings.from_dict(section.build)
        StreamBuildSettings.from_dict(section.test_build)
        PostProcessing(**section.post_processing)
        for name, values in section.search.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"search.{name} must be a non-empty list")
            for value in values:
                PostProcessing(**{**section.post_processing, name: value})
    except (TypeError, ValueError) as error:
        raise RecipeError(where, f"detection: {error}", field="detection") from error


@dataclass
class DetectionMaterial:
    """The streams and clips a detection run trains, chooses and tests on."""

    class_names: list[str]  # without the background
    layout: str
    num_persons: int
    num_joints: int  # per person
    num_coords: int
    training_clips: list[Clip]  # streams are built from these every epoch
    training_streams: list[Stream]  # recorded streams trained on as they are
    held_out: list[Stream]
    test: list[Stream]
    split: dict[str, Any]  # what went where, for the summary


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
    generator = np.random.default_rng(HELD_OUT_SEED)
    count = max(1, round(fraction * len(streams)))
    held = set(int(i) for i in generator.choice(len(streams), size=count, replace=False))
    training = [stream for i, stream in enumerate(streams) if i not in held]
    return training, [stream for i, stream in enumerate(streams) if i in held]


def load_material(recipe: Any, data: str | Path) -> DetectionMaterial:
    """Read the recipe's data and split it (see the module docstring)."""
    section = recipe.detection
    build = StreamBuildSettings.from_dict(section.build)
    data = Path(data)
    dataset = recipe.data.dataset
    training_streams: list[Stream] = []
    if dataset == "sfinge3d":
        from stalstm.readers.sfinge import (
            SFINGE_CLASSES,
            read_sfinge_dictionary,
            read_sfinge_sequences,
        )

        dictionary = read_sfinge_dictionary(data)
        sequences = read_sfinge_sequences(data)
        training, held = _held_out_clips(dictionary, section.held_out_fraction)
        test = sequences
        split = {"train": f"Dictionary ({len(training)} gestures)", "test": "Sequences 1-72"}
        held_streams: list[Stream] = []
        if recipe.data.protocol == "dictionary+odd-sequences":
            odd = [s for s in sequences if int(s.name) % 2 == 1]
            training_streams, held_streams = _held_out_streams(odd, section.held_out_fraction)
            test = [s for s in sequences if int(s.name) % 2 == 0]
            split = {
                "train": f"Dictionary ({len(training)} gestures) and {len(training_streams)} "
                "odd Sequences",
                "test": "the 36 even Sequences",
            }
        split["held_out"] = f"{len(held)} Dictionary gestures ({section.held_out_fraction:.0%})"
        if held_streams:
            names = ", ".join(stream.name for stream in held_streams)
            split["held_out"] += f" and Sequences {names}"
        class_names, layout, shape = list(SFINGE_CLASSES), "hand20", dictionary[0].joints.shape
    elif dataset == "streams":
        from stalstm.readers.stream_folder import read_stream_folder

        if not section.layout:
            raise DataError(data, "streams data needs detection.layout", field="detection.layout")
        train_folder = read_stream_folder(data / "train", section.layout)
        test_folder = read_stream_folder(data / "test", section.layout)
        names = train_folder.class_names or test_folder.class_names
        if train_folder.class_names != test_folder.class_names and test_folder.class_names:
            raise DataError(data / "test", "its class names differ from train/'s")
        count = 1 + max(
            (s.label for stream in train_folder.streams for s in stream.segments), default=0
        )
        class_names = names or [f"class {k}" for k in range(count)]
        training_streams, held_streams = _held_out_streams(
            train_folder.streams, section.held_out_fraction
        )
        training, test = [], test_folder.streams
        held = []
        if section.build_from_segments:
            training, held = segment_clips(training_streams), segment_clips(held_streams)
        layout, shape = section.layout, train_folder.streams[0].joints.shape
        split = {
            "train": f"{len(training_streams)} streams of train/",
            "held_out": f"{len(held_streams)} streams of train/",
            "test": f"{len(test)} streams of test/",
        }
        if training:
            split["train"] += f" and streams built from their {len(training)} segments"
        if held:
            split["held_out"] += (
                f" and {section.held_out_streams} streams built from their {len(held)} segments"
            )
    else:
        training, held, test, class_names, layout, shape, split = _clip_material(recipe, data)
    if dataset == "streams":
        held_out = list(held_streams)
        if held:
            held_out += build_streams(
                held, section.held_out_streams, HELD_OUT_SEED, build, "held-out"
            )
    else:
        held_out = build_streams(held, section.held_out_streams, HELD_OUT_SEED, build, "held-out")
        if dataset == "sfinge3d":
            held_out += held_streams  # recorded streams held out (dictionary+odd-sequences)
    return DetectionMaterial(
        class_names=class_names,
        layout=str(layout),
        num_persons=int(shape[1]),
        num_joints=int(shape[2]),
        num_coords=int(shape[3]),
        training_clips=list(training),
        training_streams=training_streams,
        held_out=held_out,
        test=list(test),
        split=split,
    )


def _clip_material(recipe: Any, data: Path) -> tuple:
    """Clips of a classification data set, read raw (a store prepared with preset ``none``) so
    that whole built streams are prepared as a recorded stream would be."""
    from stalstm.prepare import prepare_dataset
    from stalstm.protocols import split_indices
    from stalstm.store import ClipStore
    from stalstm.training.data import open_data, prepared_cache_folder
    from stalstm.training.recipes import with_changes

    section = recipe.detection
    raw_recipe = with_changes(recipe, data={"preset": "none"})
    if recipe.data.dataset == "generic" and not ClipStore.is_store(data):
        # a raw bring-your-own clip folder: prepared once with its layout, as it is read
        if not section.layout:
            raise DataError(data, "generic clips need detection.layout", field="detection.layout")
        folder = prepared_cache_folder(data, f"generic-{Path(section.layout).stem}", "none")
        if not ClipStore.is_store(folder):
            prepare_dataset("generic", data, folder, preset="none", layout=section.layout)
        store = ClipStore.open(folder)
    else:
        store = open_data(data, raw_recipe)
    split = split_indices(store.metadata, recipe.data.protocol, None)
    clips = [store[index] for index in split["train"]]
    test_clips = [store[index] for index in split["test"]]
    if not clips or not test_clips:
        raise DataError(data, f"protocol {recipe.data.protocol} leaves a split empty")
    training, held = _held_out_clips(clips, section.held_out_fraction)
    build = StreamBuildSettings.from_dict(section.test_build or section.build)
    test = build_streams(test_clips, section.test_streams, TEST_STREAM_SEED, build, "test")
    description = {
        "train": f"streams built from {len(training)} training clips ({recipe.data.protocol})",
        "held_out": f"{section.held_out_streams} streams of {len(held)} held-out training clips",
        "test": f"{len(test)} streams built from the {len(test_clips)} test clips",
    }
    labels = [int(row["label"]) for row in store.metadata]
    names = store.class_names or [f"class {k}" for k in range(1 + max(labels))]
    layout = store.info.get("layout")
    return training, held, test, names, layout, clips[0].joints.shape, description


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


def budgeted_recipe(recipe: Any, items_per_epoch: int) -> tuple[Any, dict[str, int]]:
    """The recipe with its end-to-end epochs set by ``detection.steps`` (optimiser steps) for
    ``items_per_epoch`` training items a pass, and the run's budget: optimiser ``steps``,
    ``epochs``, ``items_per_epoch``, the first stage's ``warmup_steps``."""
    import math

    from stalstm.training.recipes import with_changes

    batch = recipe.training.batch_size
    if recipe.detection.steps:
        epochs = epochs_for_steps(recipe.detection.steps, items_per_epoch, batch)
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
    recipe: Any,
    data: str | Path,
    out: str | Path,
    *,
    resume: bool = False,
    progress_bar: bool = True,
) -> dict[str, Any]:
    """Train, choose the post-processing, save and test a detector; returns the summary (also
    written as ``summary.json``). See ``stalstm.training.runner.train``."""
    import torch

    from stalstm.detection.data import (
        BuiltStreamDataset,
        StreamDataset,
        StreamWindowDataset,
        collate_streams,
    )
    from stalstm.modelfile import load_model, save_model
    from stalstm.training.engine import fit
    from stalstm.training.runner import RUN_FILE, RunExistsError, save_recipe
    from stalstm.transforms import build_augmentation, build_preset

    started = time.perf_counter()
    if recipe.training.threads > 0:
        torch.set_num_threads(recipe.training.threads)
    out = Path(out)
    if (out / RUN_FILE).is_file() and not resume:
        raise RunExistsError(f"{out} already holds a run; resume it or choose another folder")
    section = recipe.detection
    material = load_material(recipe, data)
    background = len(material.class_names)
    config = recipe.model_config(
        num_joints=material.num_persons * material.num_joints,
        num_classes=background + 1,
        num_coords=material.num_coords,
    )
    preparation = build_preset(recipe.data.preset)
    augment = build_augmentation(recipe.augmentation) if recipe.augmentation else None
    seed = recipe.training.seed
    persons = material.num_persons
    recorded: Any = None
    if material.training_streams and section.recorded_windows:
        recorded = StreamWindowDataset(
            material.training_streams, section.recorded_windows, background, persons,
            preparation, augment, seed,
        )  # fmt: skip
    elif material.training_streams:
        recorded = StreamDataset(
            material.training_streams, background, persons, preparation, augment, seed
        )
    if material.training_clips:
        train_set: Any = BuiltStreamDataset(
            material.training_clips, section.streams_per_epoch, background, persons,
            StreamBuildSettings.from_dict(section.build), preparation, augment, seed,
        )  # fmt: skip
        if recorded is not None:
            train_set = _Mixed(train_set, recorded)
    else:
        train_set = recorded
    held_set = StreamDataset(material.held_out, background, persons, preparation)
    recipe, budget = budgeted_recipe(recipe, len(train_set))
    run_warnings = budget_warnings(budget["steps"], budget["warmup_steps"])
    emit(run_warnings)
    objective = replace(recipe.objective, frame_window=section.window)
    settings = replace(recipe.training, objective=objective, progress_bar=progress_bar)
    out.mkdir(parents=True, exist_ok=True)
    save_recipe(recipe, out / "recipe.yaml")
    run = {"data": str(Path(data).resolve()), "store": None, "fold": None, "task": "detection"}
    (out / RUN_FILE).write_text(json.dumps(run, indent=2) + "\n")
    result = fit(
        config, train_set, out, settings, validation_set=held_set, resume=resume,
        collate=collate_streams,
    )  # fmt: skip

    # the post-processing, chosen on the held-out streams
    searching = DetectionSettings(
        background, section.window, PostProcessing(**section.post_processing)
    )
    held_results = detect_streams(result.model, list(held_set.streams), searching, prepared=True)
    held_probabilities = [r.probabilities for r in held_results]
    held_boundaries = [r.boundaries for r in held_results]
    chosen, counts = choose_post_processing(
        held_set.streams, held_probabilities, background, section.post_processing,
        section.search or DEFAULT_SEARCH, held_boundaries,
    )  # fmt: skip
    if config.boundary_heads and "start_confidence" not in (section.search or {}):
        # the start gate is searched second, the other settings fixed (a joint grid would
        # take minutes of the tracker)
        chosen, counts = choose_post_processing(
            held_set.streams, held_probabilities, background, chosen.to_dict(),
            {"start_confidence": BOUNDARY_SEARCH}, held_boundaries,
        )  # fmt: skip
    calibration = None
    common = chosen  # one start threshold for every class
    if section.class_thresholds:
        candidates = (section.search or DEFAULT_SEARCH).get(
            "start_threshold", DEFAULT_SEARCH["start_threshold"]
        )
        chosen, calibration = class_thresholds(
            held_set.streams, held_probabilities, background, chosen, candidates,
            boundaries=held_boundaries,
        )  # fmt: skip
    detection = DetectionSettings(background, section.window, chosen)
    held_metrics = detection_metrics(
        outcomes_of(
            held_set.streams,
            [
                replace(r, detections=track(r.probabilities, chosen, background, r.boundaries))
                for r in held_results
            ],
        ),
        background,
    )
    metadata = {
        "recipe": recipe.name, "dataset": recipe.data.dataset, "protocol": recipe.data.protocol,
        "detection": detection.to_dict(), "split": material.split,
    }  # fmt: skip
    save_model(
        out / "model", result.model, class_names=[*material.class_names, BACKGROUND_NAME],
        layout=material.layout, preset=recipe.data.preset, metadata=metadata,
    )  # fmt: skip
    held_folder = out / "evaluation-held-out"
    held_folder.mkdir(parents=True, exist_ok=True)
    (held_folder / "metrics.json").write_text(json.dumps(held_metrics, indent=2) + "\n")

    loaded = load_model(out / "model")
    test_metrics = evaluate_detector(
        loaded, material.test, out / "evaluation-test", section.pictures
    )
    one_threshold = None
    if calibration is not None:  # what the calibration contributed, on the same weights
        results = detect_streams(loaded, material.test, replace(detection, post_processing=common))
        one_threshold = detection_metrics(outcomes_of(material.test, results), background)
    found = silence_warnings("held-out", held_metrics) + silence_warnings("test", test_metrics)
    emit(found)
    run_warnings += found
    from stalstm.training.evaluation import plot_training_curves

    plot_training_curves(result.stage_folders, out / "training_curves.png", recipe.name)
    summary = {
        "recipe": recipe.name,
        "variant": recipe.model["variant"],
        "seed": seed,
        "window": section.window,
        "split": material.split,
        **{key: test_metrics[key] for key in SUMMARY_KEYS},
        "test": test_metrics,
        "held_out": held_metrics,
        "held_out_search": counts,
        "post_processing": chosen.to_dict(),
        "class_threshold_calibration": calibration,
        "test_one_threshold": one_threshold,
        "budget": budget,
        "warnings": [*run_warnings, *result.warnings],
        "epochs": settings.schedule.for_config(config).total_epochs,
        "training_seconds": round(result.seconds, 2),
        "seconds": round(time.perf_counter() - started, 2),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (out / "summary.md").write_text(summary_table(summary))
    return summary


SUMMARY_KEYS = (
    "detection_rate",
    "false_positives_per_stream",
    "jaccard",
    "frame_f1",
    "map_iou_0.5",
    "median_delay_frames",
)


def evaluate_detector(
    loaded: Any, streams: Sequence[Stream], folder: str | Path, pictures: int = 0
) -> dict[str, Any]:
    """Detect every stream with a saved detector, write ``metrics.json``, ``segments.json`` and
    timeline pictures of the first ``pictures`` streams into ``folder``; return the metrics."""
    from stalstm.detection.detector import detection_settings
    from stalstm.detection.pictures import plot_timeline, segments_document

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
