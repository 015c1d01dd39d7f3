"""``SampleRef``: where one sample of a data set is, small and picklable, so that preparation
lists a data set in the main process and reads its samples in worker processes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stalstm.errors import DataError


@dataclass(frozen=True)
class SampleRef:
    """One sample: its ``dataset`` name, unique ``name``, file ``path``; ``index`` into a file
    holding many samples (PYSKL); ``layout`` (data sets whose layout the user names); ``label``
    and ``fields`` (from a labels table: generic data)."""

    dataset: str
    name: str
    path: str
    index: int = -1
    layout: str = ""
    label: int = -1
    fields: tuple[tuple[str, int], ...] = ()


def files_matching(
    dataset: str, pattern: str, name: Callable[[Path], str], key: Callable[[Path], object] = str
) -> Callable[[Path, str | None], list[SampleRef]]:
    """A ``list_samples`` that finds every file matching ``pattern`` under the data folder,
    sorted by ``key``, and names each with ``name``."""

    def list_samples(root: Path, layout: str | None = None) -> list[SampleRef]:
        root = Path(root)
        if not root.is_dir():
            raise DataError(root, f"data folder not found (a {dataset} folder is expected)")
        paths = sorted(root.rglob(pattern), key=key)
        return [SampleRef(dataset, name(path), str(path)) for path in paths]

    return list_samples
