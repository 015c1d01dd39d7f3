"""Whole-file tokenising of whitespace-separated decimal numbers.

The whole file is converted in one pass, with no per-line loop. The fast path is a small C
extension (``_fastnumbers.c``): one scan that delimits every token and converts it exactly as
Python's ``float`` would (Clinger's fast path for short decimals, CPython's own conversion for the
rest). Where the extension could not be built, the same result comes from ``bytes.split`` and one
``map(float, ...)`` (about a third of the speed).

Strictness costs nothing on good files: the C pass reports the first token that is not a plain
decimal number, and only then are tokens checked one by one against the grammar in Python, to
name the token and its line (Python's ``float`` also accepts ``1_000`` and ``infinity``, which
a strict reader must refuse; ``nan``/``inf`` are converted so the caller reports them as
non-finite). Line numbers are computed from a token's byte offset, and only when reporting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stalstm.errors import MalformedTokenError

try:
    from stalstm.readers._fastnumbers import parse as _parse_in_c
except ImportError:  # no compiler where the package was installed: the pure Python path
    _parse_in_c = None

_DECIMAL = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NON_FINITE = re.compile(rb"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_TOKEN = re.compile(rb"\S+")


@dataclass(frozen=True)
class Tokens:
    """The whitespace-separated tokens of one file: token ``k`` is ``data[starts[k]:ends[k]]``
    and its float value ``values[k]``."""

    data: bytes
    starts: np.ndarray  # int64 (n,)
    ends: np.ndarray  # int64 (n,)
    values: np.ndarray  # float64 (n,)

    def __len__(self) -> int:
        return len(self.values)

    def text(self, index: int) -> bytes:
        """The exact text of token ``index`` (for integers that must not pass through float)."""
        return self.data[int(self.starts[index]) : int(self.ends[index])]

    def line_of(self, index: int) -> int:
        """1-based line of token ``index``."""
        return self.data.count(b"\n", 0, int(self.starts[index])) + 1

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
    if _parse_in_c is not None:
        values, starts, ends, bad = _parse_in_c(data)
        tokens = Tokens(
            data,
            np.frombuffer(starts, dtype=np.int64),
            np.frombuffer(ends, dtype=np.int64),
            np.frombuffer(values, dtype=np.float64),
        )
        if bad < 0:
            return tokens
        return _tokenize_in_python(data, where)  # names the bad token, or converts nan/inf
    return _tokenize_in_python(data, where)


def _tokenize_in_python(data: bytes, where: str | Path) -> Tokens:
    spans = [(m.start(), m.end()) for m in _TOKEN.finditer(data)]
    offsets = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    tokens = Tokens(data, offsets[:, 0], offsets[:, 1], np.empty(0))
    text = data.split()
    if data.translate(None, b"0123456789.-+eE \t\n\r\x0b\x0c"):
        _check_each_token(tokens, where)
    try:
        values = np.fromiter(map(float, text), dtype=np.float64, count=len(text))
    except ValueError:
        # Only characters of numbers, but in a wrong order ("1-2", "e5", "1.2.3").
        _check_each_token(tokens, where)
        raise
    return Tokens(data, tokens.starts, tokens.ends, values)


def _check_each_token(tokens: Tokens, where: str | Path) -> None:
    for index in range(len(tokens.starts)):
        token = tokens.text(index)
        if not (_DECIMAL.fullmatch(token) or _NON_FINITE.fullmatch(token)):
            shown = token.decode("utf-8", errors="replace")
            raise MalformedTokenError(
                where, f"{shown!r} is not a number", line=tokens.line_of(index)
            )
