"""From a recipe and a ``--data`` path to a store: a prepared store is opened as it is; a raw
data-set folder is prepared once, with the recipe's preset, into a cache folder; data that a
registry entry generates (the demo's) is made in memory."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from stalstm.datasets import get_dataset
from stalstm.errors import DataError
from stalstm.layouts import get_layout
from stalstm.prepare import prepare_dataset
from stalstm.store import ClipStore
from stalstm.training.recipes import Recipe

CACHE_VARIABLE = "STALSTM_CACHE"


def cache_root() -> Path:
    """Where raw data sets are prepared: ``$STALSTM_CACHE``, else ``~/.cache/stalstm``."""
    return Path(os.environ.get(CACHE_VARIABLE, Path.home() / ".cache" / "stalstm")).expanduser()


def prepared_cache_folder(raw: Path, dataset: str, preset: str, layout: str = "") -> Path:
    """The cache folder of one raw folder prepared with one preset (and layout): named by
    all three, so that two copies of a data set or two presets never share a store."""
    key = f"{raw.resolve()}\0{layout}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    return cache_root() / "prepared" / f"{dataset}-{preset}-{digest}"


def open_data(data: str | Path | None, recipe: Recipe, workers: int = 1) -> ClipStore:
    """The store for ``data``: a prepared store (has info.json and a manifest), or a raw folder
    of ``recipe.data.dataset``, prepared with ``recipe.data.preset`` (and ``data.layout``) into
    the cache on first use; for a data set its registry entry generates, the generated clips
    (``data`` is not needed)."""
    section = recipe.data
    entry = get_dataset(section.dataset)
    if entry.generate is not None and data is None:
        clips = entry.generate(section.options, recipe.training.seed)
        info = {
            "dataset": entry.name,
            "preset": section.preset,
            "layout": entry.layout,
            "class_names": entry.names_of_classes(None),
            "num_persons": entry.num_persons,
            "layout_definition": get_layout(entry.layout).to_dict() if entry.layout else None,
        }
        return ClipStore.from_clips(
            clips, info, f"<{entry.name} data, seed {recipe.training.seed}>"
        )
    if data is None:
        raise DataError(section.dataset, "give the data: a raw data-set folder or a prepared store")
    data = Path(data)
    if ClipStore.is_store(data):
        store = ClipStore.open(data)
        preset = store.info.get("preset")
        if preset is not None and preset != section.preset:
            raise DataError(
                data,
                f"store prepared with preset {preset!r} but recipe {recipe.name!r} expects "
                f"{section.preset!r}; prepare the raw data again or pass the raw folder",
                field="preset",
            )
        return store
    if not data.is_dir():
        raise DataError(data, "neither a prepared store nor a raw data-set folder")
    folder = prepared_cache_folder(data, section.dataset, section.preset, section.layout)
    if not ClipStore.is_store(folder) and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # several processes preparing one cache folder at once would race
        raise DataError(
            data,
            "under torchrun, pass a prepared store (stalstm prepare ...) or run once without "
            f"torchrun to fill the cache {folder}",
        )
    if not ClipStore.is_store(folder):
        prepare_dataset(
            section.dataset, data, folder, preset=section.preset, workers=workers,
            layout=section.layout or None,
        )  # fmt: skip
    return ClipStore.open(folder)
