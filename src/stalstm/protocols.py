"""Evaluation protocols as data: which clips train and which test.

A protocol is a small frozen record naming one metadata field and the values of that field that
go to the test (or the train) side, optionally restricted to a subset of the clips. It acts on the
metadata table of a prepared store (one dict per clip: name, label, subject, view, setup,
replication, fold, num_frames, ...), so the same code splits a store, the official NTU sample
index, or a user's own table.

Sources (see also ``shared/data/README.md``):

- NTU RGB+D 60 (Shahroudy et al., CVPR 2016): cross-subject trains on 20 listed performers,
  cross-view trains on cameras 2 and 3. Only the NTU60 part (setups 1-17, actions 1-60) is used
  when the store holds NTU120.
- NTU RGB+D 120 (Liu et al., TPAMI 2020): cross-subject trains on 53 listed performers,
  cross-setup trains on the even setups.
- SBU Kinect Interaction (Yun et al., 2012): 5-fold cross-validation over subject pairs; fold k is
  the test side. The fold of a clip comes from the subject pair in its name (``fold_of_sbu_clip``).
- MSR Action3D (Li et al., 2010): cross-subject, odd subjects train, over the 557 files of the
  authors' list when the store records which clips are in it (column ``protocol_listed``); the
  action subsets AS1/AS2/AS3 split cross-subject within the subset.
- UTD-MHAD (Chen, Jafari, Kehtarnavaz, ICIP 2015): cross-subject, subjects 1, 3, 5, 7 train and
  2, 4, 6, 8 test, as in the data set's paper.
- ``column:<field>=<v1>,<v2>``: generic data; the clips whose ``field`` has one of the values are
  the test side. ``column:<field>`` with ``fold=k`` tests on ``field == k``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

NTU60_XSUB_TRAIN_PERFORMERS = frozenset(
    (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
)
NTU120_XSUB_TRAIN_PERFORMERS = (
    NTU60_XSUB_TRAIN_PERFORMERS
    | frozenset((45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80))
    | frozenset((81, 82, 83, 84, 85, 86, 89, 91, 92, 93, 94, 95, 97, 98, 100, 103))
)
NTU60_SETUPS = frozenset(range(1, 18))  # S001..S017 are the NTU RGB+D 60 recordings
NTU60_LABELS = frozenset(range(60))  # 0-based actions A001..A060

# SBU Kinect Interaction: the standard 5 folds over subject pairs (the data set's README).
SBU_FOLDS: dict[int, tuple[str, ...]] = {
    1: ("s01s02", "s03s04", "s05s02", "s06s04"),
    2: ("s02s03", "s02s07", "s03s05", "s05s03"),
    3: ("s01s03", "s01s07", "s07s01", "s07s03"),
    4: ("s02s01", "s02s06", "s03s02", "s03s06"),
    5: ("s04s02", "s04s03", "s04s06", "s06s02", "s06s03"),
}
SBU_FOLD_OF_PAIR: dict[str, int] = {
    pair: fold for fold, pairs in SBU_FOLDS.items() for pair in pairs
}

MSR_TRAIN_SUBJECTS = frozenset((1, 3, 5, 7, 9))
# MSR Action3D action subsets (1-based action numbers, Li et al. 2010).
MSR_ACTION_SETS: dict[str, frozenset[int]] = {
    "as1": frozenset((2, 3, 5, 6, 10, 13, 18, 20)),
    "as2": frozenset((1, 4, 7, 8, 9, 11, 12, 14)),
    "as3": frozenset((6, 14, 15, 16, 17, 18, 19, 20)),
}
MSR_LISTED_COLUMN = "protocol_listed"  # True when a clip is in files_used_in_cvpr12_paper.txt
UTD_MHAD_TRAIN_SUBJECTS = frozenset((1, 3, 5, 7))


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
    """

    name: str
    description: str
    field: str
    train_values: frozenset[Any] | None = None
    test_values: frozenset[Any] | None = None
    restrict: Mapping[str, frozenset[Any]] = field(default_factory=dict)
    optional_restrictions: frozenset[str] = frozenset()
    folds: int | None = None

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


def _msr_subset(name: str, actions: frozenset[int] | None, description: str) -> Protocol:
    restrict: dict[str, frozenset[Any]] = {MSR_LISTED_COLUMN: frozenset((True,))}
    if actions is not None:
        restrict["label"] = frozenset(action - 1 for action in actions)
    return Protocol(
        name=name,
        description=description,
        field="subject",
        train_values=MSR_TRAIN_SUBJECTS,
        restrict=restrict,
        optional_restrictions=frozenset((MSR_LISTED_COLUMN,)),
    )


PROTOCOLS: dict[str, Protocol] = {
    protocol.name: protocol
    for protocol in (
        Protocol(
            "ntu60-xsub",
            "NTU RGB+D 60 cross-subject: 20 listed performers train",
            "subject",
            train_values=NTU60_XSUB_TRAIN_PERFORMERS,
            restrict={"setup": NTU60_SETUPS, "label": NTU60_LABELS},
            optional_restrictions=frozenset(("setup",)),
        ),
        Protocol(
            "ntu60-xview",
            "NTU RGB+D 60 cross-view: cameras 2 and 3 train, camera 1 tests",
            "view",
            train_values=frozenset((2, 3)),
            restrict={"setup": NTU60_SETUPS, "label": NTU60_LABELS},
            optional_restrictions=frozenset(("setup",)),
        ),
        Protocol(
            "ntu120-xsub",
            "NTU RGB+D 120 cross-subject: 53 listed performers train",
            "subject",
            train_values=NTU120_XSUB_TRAIN_PERFORMERS,
        ),
        Protocol(
            "ntu120-xset",
            "NTU RGB+D 120 cross-setup: even setups train, odd setups test",
            "setup",
            train_values=frozenset(range(2, 33, 2)),
        ),
        Protocol(
            "sbu",
            "SBU Kinect Interaction 5-fold cross-validation over subject pairs: fold k tests",
            "fold",
            folds=len(SBU_FOLDS),
        ),
        _msr_subset(
            "msr-cs",
            None,
            "MSR Action3D cross-subject over the 557 listed files: odd subjects train",
        ),
        *(
            _msr_subset(
                f"msr-{subset}",
                actions,
                f"MSR Action3D {subset.upper()} (actions {sorted(actions)}), cross-subject",
            )
            for subset, actions in MSR_ACTION_SETS.items()
        ),
        Protocol(
            "utd-mhad-cs",
            "UTD-MHAD cross-subject: subjects 1, 3, 5, 7 train, 2, 4, 6, 8 test",
            "subject",
            train_values=UTD_MHAD_TRAIN_SUBJECTS,
        ),
    )
}


def fold_of_sbu_clip(name: str) -> int:
    """The SBU fold (1..5) of a clip named like ``s01s02/01/001`` (its subject pair prefix)."""
    pair = name.replace("\\", "/").split("/", 1)[0]
    try:
        return SBU_FOLD_OF_PAIR[pair]
    except KeyError:
        raise ValueError(
            f"SBU clip {name!r}: subject pair {pair!r} is in no fold of the standard protocol"
        ) from None


def _parse_value(text: str) -> Any:
    text = text.strip()
    try:
        return int(text)
    except ValueError:
        return text


def get_protocol(name: str | Protocol) -> Protocol:
    """A protocol by registry name, or ``column:<field>[=<v1>,<v2>...]`` for generic data."""
    if isinstance(name, Protocol):
        return name
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
    try:
        return PROTOCOLS[name]
    except KeyError:
        known = ", ".join([*PROTOCOLS, "column:<field>=<values>"])
        raise ValueError(f"unknown protocol {name!r}; known: {known}") from None


def split_indices(
    metadata: Sequence[Mapping[str, Any]], protocol: str | Protocol, fold: int | None = None
) -> dict[str, list[int]]:
    """Split the rows of a metadata table into ``{"train": [...], "test": [...]}`` indices.

    Rows outside the protocol's subset (e.g. MSR files not in the authors' list, NTU120-only
    samples under an NTU60 protocol) are in neither list. Indices keep the table's order.
    """
    rule = get_protocol(protocol)
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
