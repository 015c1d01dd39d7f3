"""Evaluation protocols as data: which clips train and which test.

A protocol is a small frozen record naming one metadata field and the values of that field that
go to the test (or the train) side, optionally restricted to a subset of the clips. It acts on the
metadata table of a prepared store (one dict per clip: name, label, subject, view, setup,
replication, fold, num_frames, ...), so the same code splits a store, the official NTU sample
index, or a user's own table. Each data set's official protocols are part of its entry in the
data-set registry (``stalstm.datasets``); two kinds work on any data:

- ``column:<field>=<v1>,<v2>``: the clips whose ``field`` has one of the values are the test side
  (``column:subject=9,10``); ``column:<field>`` with ``fold=k`` tests on ``field == k``.
- ``holdout`` (or ``holdout:<fraction>``): a stratified hold-out, the same for every run: of
  each class's clips, ``fraction`` (default 0.2; at least one clip of a class with two or more)
  test, drawn with the fixed seed ``HOLDOUT_SEED``. Clips of one subject may fall on both
  sides: for a cross-subject estimate use ``column:subject=...``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

HOLDOUT_SEED = 20_170_204  # fixed: every seed and variant is tested on the same clips
HOLDOUT_FRACTION = 0.2


@dataclass(frozen=True)
class Protocol:
    """A train/test split rule over metadata rows.

    Attributes:
        name: registry name, e.g. ``ntu60-xsub``.
        description: one line for people.
        field: the metadata key the split reads.
        train_values: rows whose ``field`` is in this set train; the others test. ``None`` when
            the test side is given instead (``test_values``) or comes from ``fold``.
        test_values: rows whose ``field`` is in this set test; the others train.
        restrict: rows must match every ``key: allowed values`` pair to take part at all. A key
            missing from the rows is ignored when it is listed in ``optional_restrictions``.
        optional_restrictions: restriction keys applied only when the metadata has that column.
        folds: number of folds when the test side is chosen by ``fold`` (SBU: 5).
        holdout: the test fraction of a stratified hold-out (then ``field`` is the label).
    """

    name: str
    description: str
    field: str
    train_values: frozenset[Any] | None = None
    test_values: frozenset[Any] | None = None
    restrict: Mapping[str, frozenset[Any]] = field(default_factory=dict)
    optional_restrictions: frozenset[str] = frozenset()
    folds: int | None = None
    holdout: float | None = None

    def test_side(self, fold: int | None) -> tuple[frozenset[Any], bool]:
        """The values that decide the split and whether they name the test side."""
        if self.folds is not None or (self.train_values is None and self.test_values is None):
            if fold is None:
                raise ValueError(f"protocol {self.name!r} needs a fold (1..{self.folds or '?'})")
            if self.folds is not None and not 1 <= fold <= self.folds:
                raise ValueError(
                    f"protocol {self.name!r}: fold must be 1..{self.folds}, got {fold}"
                )
            return frozenset((fold,)), True
        if fold is not None:
            raise ValueError(f"protocol {self.name!r} has no folds; got fold={fold}")
        if self.test_values is not None:
            return self.test_values, True
        assert self.train_values is not None
        return self.train_values, False


def _parse_value(text: str) -> Any:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return text


def get_protocol(name: str | Protocol, known: Mapping[str, Protocol] | None = None) -> Protocol:
    """A protocol: one of ``known`` (a data set's own, from ``stalstm.datasets``) by name,
    ``column:<field>[=<v1>,<v2>...]`` or ``holdout[:<fraction>]``."""
    if isinstance(name, Protocol):
        return name
    known = known or {}
    if name in known:
        return known[name]
    if name == "holdout" or name.startswith("holdout:"):
        text = name.partition(":")[2] or str(HOLDOUT_FRACTION)
        try:
            fraction = float(text)
        except ValueError:
            fraction = -1.0
        if not 0.0 < fraction < 1.0:
            raise ValueError(f"protocol {name!r}: the hold-out fraction must be in (0, 1)")
        return Protocol(
            name, f"stratified hold-out: {fraction:.0%} of each class's clips test", "label",
            holdout=fraction,
        )  # fmt: skip
    if name.startswith("column:"):
        spec = name[len("column:") :]
        column, _, values = spec.partition("=")
        if not column:
            raise ValueError(f"protocol {name!r}: expected column:<field>=<values>")
        test_values = (
            frozenset(_parse_value(value) for value in values.split(",") if value.strip())
            if values
            else None
        )
        return Protocol(
            name=name,
            description=f"clips whose {column} is in {sorted(test_values, key=str)} test"
            if test_values
            else f"clips whose {column} equals the fold test",
            field=column,
            test_values=test_values,
        )
    choices = ", ".join([*known, "holdout", "column:<field>=<values>"])
    raise ValueError(f"unknown protocol {name!r}; known: {choices}")


def _holdout(metadata: Sequence[Mapping[str, Any]], fraction: float) -> set[int]:
    """Indices of the test side of a stratified hold-out (see the module docstring)."""
    generator = np.random.default_rng(HOLDOUT_SEED)
    test: set[int] = set()
    labels = [row["label"] for row in metadata]
    for label in sorted(set(labels)):
        members = [index for index, value in enumerate(labels) if value == label]
        if len(members) < 2:
            continue
        count = min(len(members) - 1, max(1, round(fraction * len(members))))
        test.update(int(index) for index in generator.choice(members, count, replace=False))
    return test


def split_indices(
    metadata: Sequence[Mapping[str, Any]], protocol: str | Protocol, fold: int | None = None
) -> dict[str, list[int]]:
    """Split the rows of a metadata table into ``{"train": [...], "test": [...]}`` indices.

    Rows outside the protocol's subset (e.g. MSR files not in the authors' list, NTU120-only
    samples under an NTU60 protocol) are in neither list. Indices keep the table's order.
    """
    rule = get_protocol(protocol)
    if rule.holdout is not None:
        if fold is not None:
            raise ValueError(f"protocol {rule.name!r} has no folds; got fold={fold}")
        test = _holdout(metadata, rule.holdout)
        return {
            "train": [index for index in range(len(metadata)) if index not in test],
            "test": sorted(test),
        }
    values, values_are_test = rule.test_side(fold)
    columns = set(metadata[0]) if metadata else set()
    if metadata and rule.field not in columns:
        raise KeyError(f"protocol {rule.name!r} splits on {rule.field!r}, not in the metadata")
    restrictions = []
    for key, allowed in rule.restrict.items():
        if key in columns:
            restrictions.append((key, allowed))
        elif key not in rule.optional_restrictions:
            raise KeyError(f"protocol {rule.name!r} restricts on {key!r}, not in the metadata")
    split: dict[str, list[int]] = {"train": [], "test": []}
    for index, row in enumerate(metadata):
        if any(row[key] not in allowed for key, allowed in restrictions):
            continue
        is_test = (row[rule.field] in values) == values_are_test
        split["test" if is_test else "train"].append(index)
    return split
