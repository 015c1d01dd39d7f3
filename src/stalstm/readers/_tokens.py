"""Whole-file tokenising of whitespace-separated decimal numbers.

The file is split once (``bytes.split`` in C) and converted with one ``map(float, ...)`` into a
numpy array: no per-line loop, no per-line ``split``. Strictness costs almost nothing: one
``bytes.translate`` finds whether any byte outside ``0-9 . - + e E`` and whitespace occurs; only
then are tokens checked one by one against the decimal grammar (Python's ``float`` also accepts
``1_000`` and ``infinity``, which a strict reader must refuse). Line numbers are computed from a
token's byte offset, and only when an error is raised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stalstm.errors import MalformedTokenError

_NUMBER_BYTES = b"0123456789.-+eE \t\n\r\x0b\x0c"
_DECIMAL = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NON_FINITE = re.compile(rb"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_TOKEN = re.compile(rb"\S+")


@dataclass(frozen=True)
class Tokens:
    """The whitespace-separated tokens of one file: ``text[k]`` and its float ``values[k]``."""

    data: bytes
    text: list[bytes]
    values: np.ndarray  # float64 (n,)

    def __len__(self) -> int:
        return len(self.text)

    def line_of(self, index: int) -> int:
        """1-based line of token ``index``: found by rescanning, so call it only to report."""
        for count, match in enumerate(_TOKEN.finditer(self.data)):
            if count == index:
                return self.data.count(b"\n", 0, match.start()) + 1
        return self.end_line()

    def end_line(self) -> int:
        """1-based line where the next value would have been, after the last token."""
        content = self.data.rstrip()
        if not content:
            return 1
        line = content.count(b"\n") + 1
        return line + (1 if b"\n" in self.data[len(content) :] else 0)


def tokenize_numbers(data: bytes, where: str | Path) -> Tokens:
    """Split ``data`` on whitespace and convert every token to float64.

    Raises ``MalformedTokenError`` naming the line of the first token that is not a decimal
    number; ``nan``/``inf`` are converted, so the caller can report them as non-finite.
    """
    text = data.split()
    if data.translate(None, _NUMBER_BYTES):
        _check_each_token(text, data, where)
    try:
        values = np.fromiter(map(float, text), dtype=np.float64, count=len(text))
    except ValueError:
        # Only characters of numbers, but in a wrong order ("1-2", "e5", "1.2.3").
        _check_each_token(text, data, where)
        raise
    return Tokens(data, text, values)


def _check_each_token(text: list[bytes], data: bytes, where: str | Path) -> None:
    for index, token in enumerate(text):
        if not (_DECIMAL.fullmatch(token) or _NON_FINITE.fullmatch(token)):
            line = Tokens(data, text, np.empty(0)).line_of(index)
            shown = token.decode("utf-8", errors="replace")
            raise MalformedTokenError(where, f"{shown!r} is not a number", line=line)
