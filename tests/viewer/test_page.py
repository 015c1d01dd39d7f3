"""Putting a page together: the template, style and scripts inlined, the data as JSON that no
name can break out of, and nothing on the page that points elsewhere."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from stalstm.viewer.page import (
    SCRIPTS,
    asset,
    decimals_for,
    numbers,
    page_json,
    render_page,
)


def data_of(text: str) -> dict:
    start = text.index('id="stalstm-data">') + len('id="stalstm-data">')
    return json.loads(text[start : text.index("</script>", start)])


def test_a_page_inlines_everything_and_points_nowhere() -> None:
    text = render_page("clip", "a clip", {"kind": "clip", "views": []})
    assert "<!--" not in text.replace("<!DOCTYPE", "")  # every placeholder filled
    assert asset("viewer.css").strip() in text
    for name in SCRIPTS:
        assert asset(name).strip() in text
    # no address to fetch: no src= or href= attribute, no url(), no http(s) address at all
    assert not re.search(r"\b(src|href)\s*=", text)
    assert "url(" not in text and not re.search(r"https?://", text)
    assert "default-src 'none'" in text  # and the browser is told to fetch nothing
    assert data_of(text) == {"kind": "clip", "views": []}


@pytest.mark.parametrize("name", ["<script>", "a</script><b>", "x<!--y", "&amp; 'q' \"r\""])
def test_names_cannot_break_out_of_the_page(name: str) -> None:
    text = render_page("report", name, {"kind": "report", "name": name})
    assert data_of(text)["name"] == name  # the page's own parser reads the name back
    assert "</script><b>" not in text and "<script>\n" not in text.split("<title>")[1][:40]
    assert json.loads(page_json({"name": name}))["name"] == name


def test_unknown_kinds_and_non_finite_numbers_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown page kind"):
        render_page("movie", "x", {})
    with pytest.raises(ValueError):
        render_page("clip", "x", {"beta": [float("nan")]})


def test_numbers_and_decimals() -> None:
    assert numbers(None) is None
    assert numbers(np.array([[0.1234567, 1.0]], dtype=np.float32)) == [0.123457, 1.0]
    assert decimals_for(1.0) == 4 and decimals_for(0.01) == 6 and decimals_for(1000.0) == 1
    assert decimals_for(0.0) == 6
