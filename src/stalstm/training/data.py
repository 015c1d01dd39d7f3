"""From a recipe and a ``--data`` path to torch Datasets: a prepared store is opened as it is; a
raw data-set folder is prepared once, with the recipe's preset, into a cache folder."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from stalstm.errors import DataError
from stalstm.store import ClipStore
from stalstm.training.recipes import Recipe

CACHE_VARIABLE = "STALSTM_CACHE"


def cache_root() -> Path:
    """Where raw data sets are prepared: ``$STALSTM_CACHE``, else ``~/.cache/stalstm``."""
    return Path(os.environ.get(CACHE_VARIABLE, Path.home() / ".cache" / "stalstm")).expanduser()


def prepared_cache_folder(raw: Path, dataset: str, preset: str) -> Path:
    """The cache folder of one raw folder prepared with one preset (named by both, so that two
    copies of a data set or two presets never share a store)."""
    digest = hashlib.sha256(str(raw.resolve()).encode()).hexdigest()[:12]
    return cache_root() / "prepared" / f"{dataset}-{preset}-{digest}"


def open_data(data: str | Path, recipe: Recipe, workers: int = 1) -> ClipStore:
    """The store for ``data``: a prepared store (has info.json and a manifest), or a raw folder
    of ``recipe.data.dataset``, prepared with ``recipe.data.preset`` into the cache on first use."""
    data = Path(data)
    if ClipStore.is_store(data):
        store = ClipStore.open(data)
        preset = store.info.get("preset")
        if preset is not None and preset != recipe.data.preset:
            raise DataError(
                data,
                f"store prepared with preset {preset!r} but recipe {recipe.name!r} expects "
                f"{recipe.data.preset!r}; prepare the raw data again or pass the raw folder",
                field="preset",
            )
        return store
    if not data.is_dir():
        raise DataError(data, "neither a prepared store nor a raw data-set folder")
    folder = prepared_cache_folder(data, recipe.data.dataset, recipe.data.preset)
    if not ClipStore.is_store(folder) and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # several processes preparing one cache folder at once would race
        raise DataError(
            data,
            "under torchrun, pass a prepared store (stalstm prepare ...) or run once without "
            f"torchrun to fill the cache {folder}",
        )
    if not ClipStore.is_store(folder):
        from stalstm.prepare import prepare_dataset

        prepare_dataset(
            recipe.data.dataset, data, folder, preset=recipe.data.preset, workers=workers
        )
    return ClipStore.open(folder)
