"""Checks shared by the readers: values a float32 clip cannot hold.

Readers parse numbers as float64 and a ``Clip`` stores float32, so a finite value such as
``1e300`` would silently become ``inf`` in the clip; it is reported instead, as the non-finite
value it would become.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stalstm.errors import NonFiniteError

FLOAT32_MAX = float(np.finfo(np.float32).max)


def first_beyond_float32(values: np.ndarray) -> int | None:
    """Flat index of the first value whose magnitude float32 cannot hold, or None."""
    if values.dtype.kind != "f" or values.dtype.itemsize <= 4:
        return None
    beyond = np.flatnonzero(np.abs(values) > FLOAT32_MAX)
    return int(beyond[0]) if len(beyond) else None


def check_float32_range(values: np.ndarray, where: str | Path, field: str | None = None) -> None:
    """Raise ``NonFiniteError`` (naming ``where`` and ``field``) for a value beyond float32."""
    index = first_beyond_float32(values)
    if index is not None:
        value = values.reshape(-1)[index]
        raise NonFiniteError(
            where, f"value {value:g} is beyond float32's range (it would become inf)", field=field
        )
