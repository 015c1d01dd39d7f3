"""One self-contained HTML page: the shipped template, style sheet and scripts, and the page's
data as JSON, all inline. Nothing on the page is fetched: its Content-Security-Policy allows
no source but the page itself, so it works from disk, offline, as an e-mail attachment.

The data sits in a ``<script type="application/json">`` element; every ``<``, ``>`` and ``&``
in it is written as a JSON ``\\u`` escape, so no clip or class name can close the element.
"""

from __future__ import annotations

import html
import json
import math
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

ASSETS = "assets"
SCRIPTS = ("common.js", "player.js", "report.js")  # inlined in this order
KINDS = ("clip", "stream", "report")


def asset(name: str) -> str:
    """The text of one shipped asset (``stalstm/viewer/assets/NAME``)."""
    return (resources.files("stalstm.viewer") / ASSETS / name).read_text(encoding="utf-8")


def page_json(data: Any) -> str:
    """Compact JSON that is safe inside a ``<script>`` element."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(kind: str, title: str, data: dict[str, Any]) -> str:
    """The HTML of one page of ``kind`` (clip, stream or report) showing ``data``."""
    if kind not in KINDS:
        raise ValueError(f"unknown page kind {kind!r}; kinds are {KINDS}")
    parts = {
        "TITLE": html.escape(title),
        "KIND": kind,
        "CSS": asset("viewer.css"),
        "JS": "\n".join(asset(name) for name in SCRIPTS),
        "DATA": page_json(data),  # last: the only part that comes from outside
    }
    text = asset("page.html")
    for key, value in parts.items():
        text = text.replace(f"<!--{key}-->", value)
    return text


def write_page(path: str | Path, kind: str, title: str, data: dict[str, Any]) -> Path:
    """Write one page (see ``render_page``) to ``path``; its folder is made if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_page(kind, title, data), encoding="utf-8")
    return path


def numbers(array: np.ndarray | None, decimals: int = 6) -> list[float] | None:
    """An array as a flat list of JSON numbers, rounded (attention and probabilities to 1e-6,
    which a page shows to 4 decimals); None stays None."""
    if array is None:
        return None
    return np.round(np.asarray(array, dtype=np.float64), decimals).ravel().tolist()


def decimals_for(extent: float, relative: float = 1e-4) -> int:
    """Decimals that keep coordinates to ``relative`` of the skeleton's extent (drawing needs
    no more; it keeps a 2,000-frame stream's page small)."""
    if not math.isfinite(extent) or extent <= 0.0:
        return 6
    return int(min(8, max(0, math.ceil(-math.log10(extent * relative)))))
