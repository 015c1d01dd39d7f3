"""Why a detector trained on the SFINGE3D Dictionary fires on recorded background, measured
(``docs/detection-results.md``, "The mechanism"). Analysis only: nothing here chooses a setting.
It reads the test Sequences to describe them, which is what the docs page reports; every
setting of the fixes is measured on the Dictionary (``stalstm.detection.background``).

1. Motion: per frame, how far the hand turns (degrees, the best rotation of its joints about
   the palm), how much its shape changes once the turn is removed and how fast the palm moves
   (hand sizes a frame): the Sequences' annotated background and gestures, the Dictionary's
   gestures and their first 5 frames, and the idle frames of streams built from the Dictionary
   with held poses (stalstm 0.3.0) and with wandering ones (0.4.0).
2. Placement: how well the first frame's palm position and hand orientation alone name the
   class (5-nearest-neighbour, 5-fold), for the Dictionary as recorded, the Sequences'
   gestures, and the Dictionary with shuffled placements.
3. For trained detectors (``--runs``, run folders of ``sfinge3d-detect``): where their false
   positives on the Sequences fall and of which class; the mean background probability of the
   Sequences' background frames against their motion; and a probe that replaces the idle and
   transition frames of the held-out built streams by pieces of the Sequences' recorded
   background (whole, only its palm path, only its hand shape and turn), with the detector's
   false positives on each.

Figures go to ``--images`` (PNG), numbers to ``--out`` (``background.json``) and the console.

    python benchmarks/detection_background.py --runs RUNS/sfinge/0.3.0/seed-0 \
        RUNS/sfinge/0.4.0/seed-0 --names 0.3.0 0.4.0
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import itertools

import matplotlib.pyplot as plt
import numpy as np

from stalstm.detection.background import PoolStatistics, kabsch, place
from stalstm.detection.building import StreamBuildSettings, build_streams
from stalstm.layouts import get_layout
from stalstm.readers.sfinge import (
    SFINGE_CLASSES,
    read_sfinge_dictionary,
    read_sfinge_sequences,
)

LAYOUT = get_layout("hand20")
BONES = LAYOUT.bones
QUANTILES = (25, 50, 75, 90)


def hand_size(joints: np.ndarray) -> float:
    pose = joints[0, 0]
    return float(np.mean([np.linalg.norm(pose[b] - pose[a]) for a, b in BONES]))


def motion(joints: np.ndarray) -> dict[str, np.ndarray]:
    """Per frame (the first NaN): turn (degrees), shape change without the turn and palm speed,
    both in hand sizes a frame."""
    x = joints[:, 0] / hand_size(joints)
    relative = x - x[:, :1]
    turn, shape = [np.nan], [np.nan]
    for t in range(1, len(x)):
        rotation = kabsch(relative[t - 1], relative[t])
        cosine = np.clip((np.trace(rotation) - 1) / 2, -1, 1)
        turn.append(float(np.degrees(np.arccos(cosine))))
        shape.append(float(np.linalg.norm(relative[t] - relative[t - 1] @ rotation.T, axis=-1)
                           .mean()))  # fmt: skip
    palm = np.r_[np.nan, np.linalg.norm(np.diff(x[:, 0], axis=0), axis=-1)]
    return {"turn": np.array(turn), "shape": np.array(shape), "palm": palm}


def pooled(items: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """Motion of (joints, frame mask) pairs, the masked frames pooled."""
    parts: dict[str, list] = {"turn": [], "shape": [], "palm": []}
    for joints, mask in items:
        values = motion(joints)
        for key in parts:
            parts[key].append(values[key][mask])
    return {key: np.concatenate(value) for key, value in parts.items()}


def motion_table(sequences, dictionary, statistics) -> dict[str, dict]:
    idle = {}
    for kind in ("hold", "wander"):
        settings = StreamBuildSettings(idle=kind)
        streams = build_streams(dictionary, 60, 5, settings, statistics=statistics)
        idle[kind] = [(s.joints, s.frame_labels < 0) for s in streams]
    groups = {
        "Sequences, annotated background": [(s.joints, s.frame_labels < 0) for s in sequences],
        "Sequences, gestures": [(s.joints, s.frame_labels >= 0) for s in sequences],
        "Dictionary, gestures": [(c.joints, np.ones(c.num_frames, bool)) for c in dictionary],
        "Dictionary, first 5 frames": [(c.joints, np.arange(c.num_frames) < 5) for c in dictionary],
        "built idle, held (0.3.0)": idle["hold"],
        "built idle, wandering (0.4.0)": idle["wander"],
    }
    return {name: pooled(items) for name, items in groups.items()}


def placement_features(joints: np.ndarray) -> np.ndarray:
    """First frame: palm position (in 8 cm, about two hand sizes) and hand orientation (palm to
    middle finger, palm normal)."""
    x = joints[0, 0]
    palm = x[0]
    middle, index = x[8] - palm, x[4] - palm
    middle, index = middle / np.linalg.norm(middle), index / np.linalg.norm(index)
    normal = np.cross(middle, index)
    return np.r_[palm / 0.08, middle, normal / np.linalg.norm(normal)]


def knn_accuracy(features: np.ndarray, labels: np.ndarray, k: int = 5, folds: int = 5) -> float:
    order = np.random.default_rng(0).permutation(len(labels))
    correct = 0
    for part in np.array_split(order, folds):
        rest = np.setdiff1d(order, part)
        distances = ((features[part, None] - features[None, rest]) ** 2).sum(-1)
        nearest = labels[rest][np.argsort(distances, axis=1)[:, :k]]
        votes = [np.bincount(row, minlength=13).argmax() for row in nearest]
        correct += int(np.sum(np.array(votes) == labels[part]))
    return correct / len(labels)


def placement_table(sequences, dictionary, statistics) -> dict[str, float]:
    labels = np.array([c.label for c in dictionary])
    generator = np.random.default_rng(0)
    shuffled = [place(c, statistics, generator) for c in dictionary]
    gestures = [(s.joints[g.start : g.start + 1], g.label) for s in sequences for g in s.segments]
    return {
        "Dictionary as recorded": knn_accuracy(
            np.array([placement_features(c.joints) for c in dictionary]), labels
        ),
        "Dictionary, placements shuffled": knn_accuracy(
            np.array([placement_features(c.joints) for c in shuffled]), labels
        ),
        "Sequences' gestures": knn_accuracy(
            np.array([placement_features(j) for j, _ in gestures]),
            np.array([label for _, label in gestures]),
        ),
    }


def false_positive_places(sequences, results) -> dict:
    from stalstm.detection.metrics import sfinge_matches

    where, classes = Counter(), Counter()
    for stream, result in zip(sequences, results, strict=True):
        used = {id(d) for _, d in sfinge_matches(stream.segments, result.detections) if d}
        ordered = sorted(stream.segments, key=lambda s: s.start)
        for detection in result.detections:
            if id(detection) in used:
                continue
            classes[SFINGE_CLASSES[detection.label]] += 1
            overlapping = [
                g for g in ordered if not (detection.end < g.start or detection.start > g.end)
            ]
            if overlapping:
                same = any(g.label == detection.label for g in overlapping)
                place_name = (
                    "over a gesture, its own class" if same else "over a gesture of another class"
                )
            elif detection.end < ordered[0].start:
                place_name = "before the first gesture"
            elif detection.start > ordered[-1].end:
                place_name = "after the last gesture"
            else:
                place_name = "between gestures"
            where[place_name] += 1
    return {"where": dict(where.most_common()), "classes": dict(classes.most_common())}


def background_probability_by_motion(sequences, results, bins) -> list[float | None]:
    """Mean background probability of the annotated background frames, by their motion (mean
    joint speed over the last 10 frames, hand sizes a frame)."""
    probabilities, speeds = [], []
    for stream, result in zip(sequences, results, strict=True):
        x = stream.joints[:, 0] / hand_size(stream.joints)
        step = np.r_[0.0, np.linalg.norm(np.diff(x, axis=0), axis=-1).mean(-1)]
        local = np.convolve(step, np.ones(10) / 10)[: len(step)]
        background = stream.frame_labels < 0
        probabilities.append(result.probabilities[background, -1])
        speeds.append(local[background])
    p, s = np.concatenate(probabilities), np.concatenate(speeds)
    index = np.digitize(s, bins)
    return [
        float(p[index == b].mean()) if np.any(index == b) else None for b in range(1, len(bins))
    ]


def recorded_pieces(sequences) -> list[np.ndarray]:
    pieces = []
    for stream in sequences:
        labels = stream.frame_labels
        start = 0
        for frame in range(1, len(labels) + 1):
            if frame == len(labels) or (labels[frame] < 0) != (labels[start] < 0):
                if labels[start] < 0 and frame - start >= 10:
                    pieces.append(stream.joints[start:frame])
                start = frame
    return pieces


def injected(stream, pieces, mode: str, generator):
    """The stream with every background run replaced by a recorded background piece."""
    joints = stream.joints.copy()
    labels = stream.frame_labels
    size = hand_size(joints)
    start = 0
    for frame in range(1, len(labels) + 1):
        if frame == len(labels) or (labels[frame] < 0) != (labels[start] < 0):
            if labels[start] < 0:
                length = frame - start
                held = joints[start : start + 1]
                candidates = [p for p in pieces if len(p) >= length]
                piece = candidates[int(generator.integers(len(candidates)))]
                offset = int(generator.integers(len(piece) - length + 1))
                piece = piece[offset : offset + length]
                palm = piece[:, :, :1]
                if mode == "recorded background":
                    joints[start:frame] = piece - palm[:1] + held[:, :, :1]
                elif mode == "only its palm path":
                    joints[start:frame] = held + (palm - palm[:1])
                else:  # only its hand shape and turn, scaled to the held hand, at the held palm
                    relative = (piece - palm) * (size / hand_size(piece))
                    joints[start:frame] = held[:, :, :1] + relative
            start = frame
    return stream.with_joints(joints)


def probe(loaded, held_out, pieces) -> dict[str, dict]:
    from stalstm.detection.detector import detect_streams
    from stalstm.detection.metrics import sfinge_matches

    rows = {}
    for mode in ("built idle", "recorded background", "only its palm path", "only its shape"):
        streams = (
            held_out
            if mode == "built idle"
            else [
                injected(s, pieces, mode, np.random.default_rng(k)) for k, s in enumerate(held_out)
            ]
        )
        results = detect_streams(loaded, streams)
        found = wrong = 0
        right_background = []
        for stream, result in zip(streams, results, strict=True):
            matches = sfinge_matches(stream.segments, result.detections)
            detected = sum(d is not None for _, d in matches)
            found += detected
            wrong += len(result.detections) - detected
            background = stream.frame_labels < 0
            right_background.append(result.frame_predictions[background] < 0)
        gestures = sum(len(s.segments) for s in streams)
        rows[mode] = {
            "detected": found / gestures,
            "false_positives_per_stream": wrong / len(streams),
            "background_frames_right": float(np.concatenate(right_background).mean()),
        }
    return rows


def plot_motion(table: dict, path: Path) -> None:
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    styles = {
        "Sequences, annotated background": ("C3", "-"),
        "Dictionary, gestures": ("C0", "-"),
        "built idle, held (0.3.0)": ("0.4", "--"),
        "built idle, wandering (0.4.0)": ("C2", "-"),
    }
    for axis, key, label, top in (
        (axes[0], "turn", "hand turn, degrees a frame", 15),
        (axes[1], "shape", "shape change, hand sizes a frame", 0.25),
    ):
        for name, (colour, line) in styles.items():
            values = table[name][key]
            values = np.sort(values[np.isfinite(values)])
            axis.plot(values, np.linspace(0, 1, len(values)), color=colour, linestyle=line,
                      label=name)  # fmt: skip
        axis.set_xlim(0, top)
        axis.set_xlabel(label)
        axis.set_ylabel("share of frames at or below")
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def plot_probability(curves: dict[str, list], bins, path: Path) -> None:
    figure, axis = plt.subplots(figsize=(5.5, 3.2))
    centres = [(a + b) / 2 for a, b in itertools.pairwise(bins)]
    centres[-1] = bins[-2] * 1.25
    for name, values in curves.items():
        axis.plot(centres, [np.nan if v is None else v for v in values], marker="o", label=name)
    axis.set_xlabel("motion over the last 10 frames, hand sizes a frame")
    axis.set_ylabel("mean P(background)")
    axis.set_title("the Sequences' annotated background frames", fontsize=9)
    axis.set_ylim(0, 1)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data-root", type=Path, default=Path(os.environ.get("STALSTM_DATA", "../shared/data"))
    )
    parser.add_argument("--runs", type=Path, nargs="*", default=[])
    parser.add_argument("--names", nargs="*", default=[])
    parser.add_argument("--images", type=Path, default=Path("docs/images/detection"))
    parser.add_argument("--out", type=Path, default=Path("results/detection/background"))
    parser.add_argument("--timeline-stream", default="2")
    arguments = parser.parse_args()
    root = arguments.data_root / "sfinge3d_v1"
    sequences, dictionary = read_sfinge_sequences(root), read_sfinge_dictionary(root)
    statistics = PoolStatistics.measure(dictionary)
    arguments.images.mkdir(parents=True, exist_ok=True)
    arguments.out.mkdir(parents=True, exist_ok=True)
    report: dict = {}

    table = motion_table(sequences, dictionary, statistics)
    print("| frames | hand turn, degrees a frame (quartiles, 90th) | shape change, hand sizes a "
          "frame | palm speed, hand sizes a frame |")  # fmt: skip
    print("| --- | ---: | ---: | ---: |")
    report["motion"] = {}
    for name, values in table.items():
        cells = []
        report["motion"][name] = {}
        for key, digits in (("turn", 1), ("shape", 3), ("palm", 3)):
            quantiles = np.nanpercentile(values[key], QUANTILES)
            report["motion"][name][key] = [float(q) for q in quantiles]
            cells.append(" / ".join(f"{q:.{digits}f}" for q in quantiles))
        print(f"| {name} | {' | '.join(cells)} |")
    plot_motion(table, arguments.images / "background-motion.png")

    report["placement"] = placement_table(sequences, dictionary, statistics)
    print("\nplacement names the class (5-NN, 5-fold; chance 0.077):", report["placement"])

    bins = [0.0, 0.04, 0.08, 0.12, 0.16, 0.2, 0.3, 0.5, 10.0]
    curves = {}
    if arguments.runs:
        from stalstm.detection.detector import detect_streams, stream_model_joints  # noqa: F401
        from stalstm.detection.pictures import plot_timeline
        from stalstm.detection.training import load_material
        from stalstm.modelfile import load_model
        from stalstm.training.recipes import load_recipe

        pieces = recorded_pieces(sequences)
        names = arguments.names or [run.name for run in arguments.runs]
        report["models"] = {}
        for run, name in zip(arguments.runs, names, strict=True):
            loaded = load_model(run / "model")
            results = detect_streams(loaded, sequences)
            entry = false_positive_places(sequences, results)
            curves[name] = background_probability_by_motion(sequences, results, bins)
            entry["background_probability_by_motion"] = curves[name]
            material = load_material(load_recipe(run / "recipe.yaml"), root)
            built = [s for s in material.held_out if s.name.startswith("held-out")]
            entry["probe"] = probe(loaded, built, pieces)
            report["models"][name] = entry
            print(f"\n{name}: false positives on the Sequences by place {entry['where']}")
            print(f"{name}: by class {entry['classes']}")
            for mode, row in entry["probe"].items():
                print(f"{name}: held-out built streams, background = {mode}: {row}")
            stream = next(s for s in sequences if s.name == arguments.timeline_stream)
            result = results[sequences.index(stream)]
            plot_timeline(stream, result, list(loaded.class_names),
                          arguments.images / f"timeline-{stream.name}-{name}.png")  # fmt: skip
        plot_probability(curves, bins, arguments.images / "background-probability.png")
    report["motion_bins"] = bins
    (arguments.out / "background.json").write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
