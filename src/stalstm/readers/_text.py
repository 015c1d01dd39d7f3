"""Strict parsing of small delimited text files (SBU, MSR, generic CSV): one row per line,
every cell checked, errors naming the file and the 1-based line."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from stalstm.errors import EmptyFileError, MalformedTokenError, NonFiniteError
from stalstm.readers._checks import first_beyond_float32

DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
NON_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)


def parse_cell(cell: str, path: str | Path, line: int, column: int) -> float:
    """One numeric cell; MalformedTokenError for text, NonFiniteError for nan/inf."""
    cell = cell.strip()
    if DECIMAL.fullmatch(cell):
        return float(cell)
    if NON_FINITE.fullmatch(cell):
        raise NonFiniteError(path, f"column {column} is {cell!r}", line=line)
    raise MalformedTokenError(path, f"column {column}: {cell!r} is not a number", line=line)


def read_rows(
    path: str | Path, separator: str | None, columns: int | None = None, skip_header: bool = False
) -> tuple[np.ndarray, list[int]]:
    """Numeric rows of a text file and their 1-based line numbers; blank lines are skipped.

    ``separator`` None splits on whitespace. With ``columns`` every row must have that many
    cells; otherwise all rows must match the first. ``skip_header`` drops a first line that is
    not numeric (a CSV header)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    rows: list[list[float]] = []
    line_numbers: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = line.split(separator) if separator else line.split()
        if skip_header and not rows and not line_numbers and not _looks_numeric(cells):
            line_numbers.append(0)  # header consumed
            continue
        expected = columns if columns is not None else (len(rows[0]) if rows else len(cells))
        if len(cells) != expected:
            raise MalformedTokenError(
                path, f"{len(cells)} columns, expected {expected}", line=number
            )
        rows.append([parse_cell(cell, path, number, k + 1) for k, cell in enumerate(cells)])
        line_numbers.append(number)
    line_numbers = [n for n in line_numbers if n]
    if not rows:
        raise EmptyFileError(path, "no data rows")
    values = np.asarray(rows, dtype=np.float64)
    beyond = first_beyond_float32(values)
    if beyond is not None:  # finite here, but inf once the clip stores it as float32
        row, column = divmod(beyond, values.shape[1])
        raise NonFiniteError(
            path,
            f"column {column + 1} is {values[row, column]:g}, beyond float32's range",
            line=line_numbers[row],
        )
    return values, line_numbers


def _looks_numeric(cells: list[str]) -> bool:
    return all(DECIMAL.fullmatch(c.strip()) or NON_FINITE.fullmatch(c.strip()) for c in cells)
