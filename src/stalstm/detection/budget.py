"""How long a detector trains, and what a run says when it could not learn.

**Budget in optimiser steps.** A pass over the training material means nothing for streams: a
folder of ten recordings is one or two batches, so 60 epochs of it are 60 optimiser steps,
fewer than the learning rate's warm-up, while 60 epochs of 200 built streams are 1,500.
``detection.steps`` gives the budget as optimiser steps; ``epochs_for_steps`` turns it into the
epochs of the recipe's end-to-end schedule for the material at hand (at least one), and
``split_epochs`` shares them among the stages of a ``stages`` schedule in proportion to the
epochs the recipe gives each.

**Warnings** (``DetectionWarning``; written to the log and to ``summary.json``'s
``warnings``):

- ``budget_warnings``: a run of fewer than ``SHORT_RUN_WARMUPS`` times the warm-up steps spends
  most of its steps warming up and cooling down (the cosine decay), too short to learn;
- ``silence_warnings``: a detector that never leaves background on streams that hold actions (no
  detection at all, or background on nearly every frame) has learned nothing useful, whatever
  its frame accuracy (which is then just the background's share of the frames).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from typing import Any

SHORT_RUN_WARMUPS = 4  # a run of fewer than 4 x the warm-up steps is too short to learn
SILENT_FRAMES = 0.01  # a detector calling less than 1 % of the frames an action is silent


class DetectionWarning(UserWarning):
    """A detection run that is too short to learn, or whose detector never leaves background."""


def epochs_for_steps(steps: int, items_per_epoch: int, batch_size: int) -> int:
    """Epochs that make at least ``steps`` optimiser steps with ``items_per_epoch`` items a
    pass in batches of ``batch_size`` (the last batch of a pass may be short)."""
    if steps < 1 or items_per_epoch < 1 or batch_size < 1:
        raise ValueError("steps, items per epoch and batch size must be at least 1")
    batches = math.ceil(items_per_epoch / batch_size)
    return max(1, math.ceil(steps / batches))


def split_epochs(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` epochs shared in proportion to ``weights`` (largest remainders), each part at
    least one epoch."""
    if not weights or any(weight < 1 for weight in weights):
        raise ValueError("every stage needs at least one epoch")
    total = max(total, len(weights))
    shares = [total * weight / sum(weights) for weight in weights]
    parts = [max(1, math.floor(share)) for share in shares]
    order = sorted(range(len(weights)), key=lambda i: shares[i] - math.floor(shares[i]),
                   reverse=True)  # fmt: skip
    for index in itertools.islice(itertools.cycle(order), max(0, total - sum(parts))):
        parts[index] += 1
    while sum(parts) > total:  # the one-epoch floors took more than the share
        largest = max(range(len(parts)), key=parts.__getitem__)
        parts[largest] -= 1
    return parts


def budget_warnings(steps: int, warmup_steps: int) -> list[str]:
    """The run's optimiser steps against its warm-up: a warning when it is too short."""
    least = SHORT_RUN_WARMUPS * warmup_steps
    if steps >= max(least, 1):
        return []
    return [
        f"training too short to learn: {steps} optimiser steps, fewer than {least} "
        f"({SHORT_RUN_WARMUPS} x the {warmup_steps} warm-up steps); give it more with "
        "detection.steps (optimiser steps, whatever the amount of data)"
    ]


def silence_warnings(where: str, metrics: dict[str, Any]) -> list[str]:
    """A warning when a detector never leaves background on streams that hold actions:
    ``metrics`` are its ``detection_metrics`` there (no detection at all, or less than
    ``SILENT_FRAMES`` of the frames called an action)."""
    if not metrics.get("gestures"):
        return []
    detections = int(metrics["detected"]) + int(metrics["false_positives"])
    share = float(metrics["action_frame_share"])
    if detections > 0 and share >= SILENT_FRAMES:
        return []
    if detections == 0:
        what = f"finds no action on the {where} streams (0 detections of {metrics['gestures']})"
    else:
        what = f"never leaves background on the {where} streams ({detections} detections)"
    return [
        f"the detector {what}; it calls {share:.1%} of the frames an action: it has not "
        "learned to detect (too little training? see detection.steps)"
    ]


def emit(messages: Sequence[str], log: Any = None) -> None:
    """Warn each message (``DetectionWarning``) and, if given, append it to a log file."""
    for message in messages:
        warnings.warn(message, DetectionWarning, stacklevel=2)
        if log is not None:
            with open(log, "a", encoding="utf-8") as handle:
                handle.write(f"warning: {message}\n")
