"""The data-set registry: everything the package knows about each data set, in one entry.

An entry names how to list and read the data set's samples (its reader module), its skeleton
layout, the preset it is prepared with by default, its persons per frame, its class names, its
evaluation protocols and, where it has them, its recorded streams for detection. Preparation,
training and detection look a data set up here by name (``get_dataset``) and nowhere else, so
adding a data set is one reader module, one entry in ``DATASETS`` below and its recipes.

Sources of the protocols (see also the data sets' own papers):

- NTU RGB+D 60 (Shahroudy et al., CVPR 2016): cross-subject trains on 20 listed performers,
  cross-view trains on cameras 2 and 3; only the NTU60 part (setups 1-17, actions 1-60) when the
  store holds NTU120. NTU RGB+D 120 (Liu et al., TPAMI 2020): cross-subject trains on 53 listed
  performers, cross-setup on the even setups.
- SBU Kinect Interaction (Yun et al., 2012): 5-fold cross-validation over subject pairs; fold k
  tests (the fold of a clip is set by the reader from its subject pair).
- MSR Action3D (Li et al., 2010): cross-subject, odd subjects train, over the 557 files of the
  authors' list (column ``protocol_listed``); the action subsets AS1/AS2/AS3 likewise.
- UTD-MHAD (Chen, Jafari, Kehtarnavaz, ICIP 2015): subjects 1, 3, 5, 7 train, 2, 4, 6, 8 test.
- SFINGE3D V1 (Caputo et al., 2020): the Dictionary's gestures train, the 72 recorded Sequences
  test (``dictionary``); ``dictionary+odd-sequences`` also trains on the odd Sequences.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from stalstm.clip import Clip
from stalstm.errors import DataError, SettingError
from stalstm.protocols import Protocol, get_protocol
from stalstm.readers.generic import (
    generic_class_names,
    list_generic_samples,
    read_generic_sample,
)
from stalstm.readers.msr import (
    MSR_CLASSES,
    msr_clip_name,
    msr_protocol_files,
    read_msr_skeleton,
)
from stalstm.readers.ntu import (
    ntu_class_names,
    ntu_missing_samples,
    read_ntu_skeleton,
)
from stalstm.readers.pyskl import list_pyskl_samples, read_pyskl_sample
from stalstm.readers.samples import SampleRef, files_matching
from stalstm.readers.sbu import SBU_CLASSES, SBU_FOLDS, read_sbu_clip, sbu_clip_name
from stalstm.readers.sfinge import SFINGE_CLASSES, read_sfinge_gesture, sfinge_split
from stalstm.readers.stream_folder import train_test_streams
from stalstm.readers.utd_mhad import (
    UTD_MHAD_CLASSES,
    UTD_MHAD_SUFFIX,
    missing_utd_mhad_clips,
    read_utd_mhad,
    utd_mhad_clip_name,
    utd_mhad_sort_key,
)
from stalstm.stream import RecordedSplit
from stalstm.synthetic import (
    CLASS_NAMES as SYNTHETIC_CLASS_NAMES,
)
from stalstm.synthetic import (
    TEST_FOLD,
    synthetic_data,
    synthetic_options,
)

ListSamples = Callable[[Path, "str | None"], list[SampleRef]]
StreamProtocol = Callable[[Path, "str | None"], RecordedSplit]


@dataclass(frozen=True)
class DataSet:
    """One data set, as the package knows it.

    Attributes:
        name: the registry name (``stalstm prepare NAME``, a recipe's ``data.dataset``).
        description: one line for people.
        default_preset: the preset it is prepared with unless told otherwise.
        layout: its skeleton layout; None when the user names it (``--layout``).
        num_persons: persons M of its store (raised to the most any prepared clip has).
        class_names: its class names, or ``(root, labels) -> names`` where they come from the
            data folder.
        protocols: its evaluation protocols (``holdout`` and ``column:...`` work on any data).
        list_samples: ``(root, layout) -> [SampleRef]``: every sample of a data folder, in a
            fixed order; None for data that is not read from a folder.
        read_sample: ``SampleRef -> Clip``.
        excluded: ``(root, listing) -> names`` of samples the data set's authors list as
            unusable (NTU's samples with missing skeletons): skipped, with that reason.
        listed_column: ``(root) -> (column, names)``: a metadata column recording whether a
            clip is in an official list (MSR's 557 files), or None when the list is absent.
        planned_missing: ``(names found) -> names`` of clips of the recording plan that are
            not in the folder (UTD-MHAD), reported by ``prepare``.
        stream_protocols: detection protocols over recorded streams:
            ``protocol -> (root, layout) -> RecordedSplit``.
        generate: ``(options, seed) -> clips`` for data made on the fly (the demo's); its
            ``data.options`` are checked by ``check_options``.
    """

    name: str
    description: str
    default_preset: str
    layout: str | None = None
    num_persons: int = 1
    class_names: Sequence[str] | Callable[[Path, Iterable[int]], list[str]] = ()
    protocols: tuple[Protocol, ...] = ()
    list_samples: ListSamples | None = None
    read_sample: Callable[[SampleRef], Clip] | None = None
    excluded: Callable[[Path, Path | None], frozenset[str]] | None = None
    listed_column: Callable[[Path], tuple[str, frozenset[str]] | None] | None = None
    planned_missing: Callable[[Iterable[str]], list[str]] | None = None
    stream_protocols: Mapping[str, StreamProtocol] = field(default_factory=dict)
    generate: Callable[[Mapping[str, Any], int], list[Clip]] | None = None
    check_options: Callable[[Mapping[str, Any]], Any] | None = None

    @property
    def protocol_names(self) -> list[str]:
        """The names of its own protocols (clip and stream protocols)."""
        return [protocol.name for protocol in self.protocols] + list(self.stream_protocols)

    def protocol(self, name: str) -> Protocol:
        """A clip protocol of this data set by name, or one of the kinds any data has."""
        return get_protocol(name, {protocol.name: protocol for protocol in self.protocols})

    def names_of_classes(self, root: Path | None, labels: Iterable[int] = ()) -> list[str]:
        """The class names, from the entry or from the data folder."""
        if callable(self.class_names):
            if root is None:
                raise DataError(self.name, "its class names come from a data folder")
            return self.class_names(root, labels)
        return list(self.class_names)

    def check(self, layout: str, protocol: str, options: Mapping[str, Any]) -> None:
        """Recipe checks (``SettingError`` naming the key): the protocol and options exist."""
        if protocol not in self.stream_protocols:
            try:
                self.protocol(protocol)
            except ValueError as error:
                raise SettingError("data.protocol", f"{error} (data set {self.name!r})") from None
        if self.check_options is not None:
            self.check_options(options)
        elif options:
            raise SettingError("data.options", f"data set {self.name!r} takes no options")
        if layout and self.layout is not None and layout != self.layout:
            raise SettingError(
                "data.layout", f"data set {self.name!r} has its own layout {self.layout!r}"
            )


# --- protocols of the data sets ---------------------------------------------------------------
NTU60_XSUB_TRAIN_PERFORMERS = frozenset(
    (1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38)
)
NTU120_XSUB_TRAIN_PERFORMERS = (
    NTU60_XSUB_TRAIN_PERFORMERS
    | frozenset((45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80))
    | frozenset((81, 82, 83, 84, 85, 86, 89, 91, 92, 93, 94, 95, 97, 98, 100, 103))
)
NTU60_PART = {"setup": frozenset(range(1, 18)), "label": frozenset(range(60))}
MSR_TRAIN_SUBJECTS = frozenset((1, 3, 5, 7, 9))
MSR_ACTION_SETS: dict[str, frozenset[int]] = {  # 1-based actions (Li et al. 2010)
    "as1": frozenset((2, 3, 5, 6, 10, 13, 18, 20)),
    "as2": frozenset((1, 4, 7, 8, 9, 11, 12, 14)),
    "as3": frozenset((6, 14, 15, 16, 17, 18, 19, 20)),
}
MSR_LISTED_COLUMN = "protocol_listed"  # True when a clip is in files_used_in_cvpr12_paper.txt


def _msr_protocol(name: str, actions: frozenset[int] | None, description: str) -> Protocol:
    restrict: dict[str, frozenset[Any]] = {MSR_LISTED_COLUMN: frozenset((True,))}
    if actions is not None:
        restrict["label"] = frozenset(action - 1 for action in actions)
    return Protocol(
        name, description, "subject", train_values=MSR_TRAIN_SUBJECTS, restrict=restrict,
        optional_restrictions=frozenset((MSR_LISTED_COLUMN,)),
    )  # fmt: skip


def _msr_listed(root: Path) -> tuple[str, frozenset[str]] | None:
    names = msr_protocol_files(root)
    return None if names is None else (MSR_LISTED_COLUMN, frozenset(names))


def _sfinge_protocol(root: Path, layout: str | None, protocol: str) -> RecordedSplit:
    return sfinge_split(root, protocol)


# --- the registry -------------------------------------------------------------------------------
DATASETS: dict[str, DataSet] = {
    entry.name: entry
    for entry in (
        DataSet(
            "ntu", "NTU RGB+D 60/120 .skeleton files", "sgn", "ntu25", 2, ntu_class_names,
            (
                Protocol("ntu60-xsub", "NTU RGB+D 60 cross-subject: 20 listed performers train",
                         "subject", train_values=NTU60_XSUB_TRAIN_PERFORMERS,
                         restrict=NTU60_PART, optional_restrictions=frozenset(("setup",))),
                Protocol("ntu60-xview", "NTU RGB+D 60 cross-view: cameras 2 and 3 train",
                         "view", train_values=frozenset((2, 3)), restrict=NTU60_PART,
                         optional_restrictions=frozenset(("setup",))),
                Protocol("ntu120-xsub", "NTU RGB+D 120 cross-subject: 53 listed performers train",
                         "subject", train_values=NTU120_XSUB_TRAIN_PERFORMERS),
                Protocol("ntu120-xset", "NTU RGB+D 120 cross-setup: even setups train",
                         "setup", train_values=frozenset(range(2, 33, 2))),
            ),
            files_matching("ntu", "*.skeleton", lambda path: path.stem),
            lambda ref: read_ntu_skeleton(ref.path),
            excluded=ntu_missing_samples,
        ),
        DataSet(
            "sbu", "SBU Kinect Interaction (sAAsBB/CC/NNN/skeleton_pos.txt)", "sbu", "openni15",
            2, SBU_CLASSES,
            (Protocol("sbu", "5-fold cross-validation over subject pairs: fold k tests", "fold",
                      folds=5, restrict={"fold": frozenset(SBU_FOLDS.values())}),),
            files_matching("sbu", "skeleton_pos.txt", sbu_clip_name),
            lambda ref: read_sbu_clip(ref.path),
        ),
        DataSet(
            "msr", "MSR Action3D (aAA_sSS_eEE_skeleton3D.txt)", "msr", "msr20", 1, MSR_CLASSES,
            (
                _msr_protocol("msr-cs", None, "cross-subject over the 557 listed files: odd "
                              "subjects train"),
                *(
                    _msr_protocol(f"msr-{subset}", actions,
                                  f"{subset.upper()} (actions {sorted(actions)}), cross-subject")
                    for subset, actions in MSR_ACTION_SETS.items()
                ),
            ),
            files_matching("msr", "*_skeleton3D.txt", msr_clip_name),
            lambda ref: read_msr_skeleton(ref.path),
            listed_column=_msr_listed,
        ),
        DataSet(
            "utd-mhad", "UTD-MHAD skeletons (aA_sS_tT_skeleton.mat)", "canonical", "utd_mhad20",
            1, UTD_MHAD_CLASSES,
            (Protocol("utd-mhad-cs", "cross-subject: subjects 1, 3, 5, 7 train", "subject",
                      train_values=frozenset((1, 3, 5, 7))),),
            files_matching("utd-mhad", f"*{UTD_MHAD_SUFFIX}", utd_mhad_clip_name,
                           utd_mhad_sort_key),
            lambda ref: read_utd_mhad(ref.path),
            planned_missing=missing_utd_mhad_clips,
        ),
        DataSet(
            "sfinge3d", "SFINGE3D V1 hand gestures: Dictionary/ gestures, Sequences/ streams",
            "hand", "hand20", 1, SFINGE_CLASSES,
            list_samples=files_matching(
                "sfinge3d", "Dictionary/*/*.txt", lambda path: f"{path.parent.name}/{path.stem}",
                lambda path: (path.parent.name.zfill(3), path.stem.zfill(3)),
            ),
            read_sample=lambda ref: read_sfinge_gesture(ref.path),
            stream_protocols={
                name: partial(_sfinge_protocol, protocol=name)
                for name in ("dictionary", "dictionary+odd-sequences")
            },
        ),
        DataSet(
            "pyskl", "a PYSKL / MMAction2 annotation pickle", "pyskl", None, 1,
            lambda root, labels: [str(label) for label in range(max(labels, default=-1) + 1)],
            list_samples=list_pyskl_samples, read_sample=read_pyskl_sample,
        ),
        DataSet(
            "generic", "your own clips: a folder of .npy/.csv files and labels.csv",
            "canonical", None, 1, generic_class_names,
            list_samples=list_generic_samples, read_sample=read_generic_sample,
        ),
        DataSet(
            "streams", "your own streams: train/ and test/ stream folders with segments.csv",
            "none", None, 1, stream_protocols={"train-test": train_test_streams},
        ),
        DataSet(
            "synthetic", "the demo's synthetic actions, generated (no data folder)", "none",
            "ntu25", 2, SYNTHETIC_CLASS_NAMES,
            (Protocol("synthetic", "the generated training clips train, the test clips test",
                      "fold", test_values=frozenset((TEST_FOLD,))),),
            generate=synthetic_data, check_options=synthetic_options,
        ),
    )
}  # fmt: skip


def get_dataset(name: str) -> DataSet:
    """The registry entry of a data set (``DataError`` listing the known ones)."""
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(name, f"unknown data set; known: {', '.join(DATASETS)}") from None


def list_samples(dataset: str, root: str | Path, layout: str | None = None) -> list[SampleRef]:
    """Every sample of ``dataset`` under ``root`` (see ``DataSet.list_samples``)."""
    entry = get_dataset(dataset)
    if entry.list_samples is None:
        raise DataError(root, f"{dataset} data is not prepared from a folder of samples")
    root = Path(root)
    if not root.exists():
        raise DataError(root, "data folder not found")
    return entry.list_samples(root, layout)


def read_sample(ref: SampleRef) -> Clip:
    """Read the sample ``ref`` points at (see ``list_samples``)."""
    entry = get_dataset(ref.dataset)
    if entry.read_sample is None:
        raise DataError(ref.path, f"{ref.dataset} samples are not read one by one")
    return entry.read_sample(ref)
