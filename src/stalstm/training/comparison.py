"""Paired comparisons: the one implementation of the statistics behind every "A against B"
the package reports (``ablate``, the benchmarks).

Two variants trained on the same fold with the same seed differ by the variant only, so their
difference is read pair by pair: the mean of the differences, its standard error (the sample
standard deviation of the differences over the square root of their number) and how many pairs
were better or worse. A difference inside about two standard errors of zero is inside the noise.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class PairedDifference:
    """``value - reference`` over paired runs."""

    pairs: int
    mean: float
    standard_error: float | None  # None with fewer than two pairs
    median: float
    better: int
    worse: int

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self, scale: float = 1.0, unit: str = "") -> str:
        """``+1.47 +/- 0.97 points (2 better, 1 worse of 3)`` with the values times ``scale``."""
        error = "" if self.standard_error is None else f" +/- {scale * self.standard_error:.2f}"
        return (
            f"{scale * self.mean:+.2f}{error}{unit} ({self.better} better, {self.worse} worse "
            f"of {self.pairs})"
        )


def paired_difference(values: Sequence[float], references: Sequence[float]) -> PairedDifference:
    """The paired difference ``values[i] - references[i]`` (same length, pair by pair)."""
    if len(values) != len(references) or not values:
        raise ValueError(f"{len(values)} values against {len(references)} references")
    differences = [float(a) - float(b) for a, b in zip(values, references, strict=True)]
    error = (
        statistics.stdev(differences) / math.sqrt(len(differences))
        if len(differences) >= 2
        else None
    )
    return PairedDifference(
        pairs=len(differences),
        mean=statistics.fmean(differences),
        standard_error=error,
        median=statistics.median(differences),
        better=sum(d > 0 for d in differences),
        worse=sum(d < 0 for d in differences),
    )


def paired_by_key(
    values: Mapping[Hashable, float], references: Mapping[Hashable, float]
) -> PairedDifference | None:
    """The paired difference over the keys (seed, fold...) both have; None when none."""
    keys = [key for key in values if key in references]
    if not keys:
        return None
    return paired_difference([values[key] for key in keys], [references[key] for key in keys])
