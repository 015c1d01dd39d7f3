"""Strict parsing of small delimited text files (SBU, MSR, SFINGE3D, generic CSV, the CSV
tables beside them): one row per line, every cell checked, errors naming the file and the
1-based line."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np

from stalstm.errors import DataError, EmptyFileError, MalformedTokenError, NonFiniteError
from stalstm.readers._checks import first_beyond_float32
from stalstm.readers._tokens import tokenize_numbers

DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
NON_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
# Whole numbers in CSV tables (labels, protocol fields, frame numbers): ASCII digits only, since
# int() also takes other scripts' digits, and at most 18 of them, since int() refuses more than
# 4300 with a ValueError (and no label, subject or frame number needs more than 18).
INTEGER = re.compile(r"-?[0-9]{1,18}")
NATURAL = re.compile(r"[0-9]{1,18}")


def read_csv_table(
    path: Path, required: tuple[str, ...]
) -> list[tuple[int, dict[str, str | None]]]:
    """The rows of a CSV table with a header row, each with its 1-based line number; the header
    must name the ``required`` columns. Not UTF-8, a NUL byte or a quote left open is a
    ``DataError`` naming the line."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise DataError(path, f"not UTF-8 text: {error.reason}", line=line) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in reader.fieldnames or []]
        reader.fieldnames = header
        for column in required:
            if column not in header:
                raise DataError(path, f"missing column {column!r}", line=1)
        return [(reader.line_num, row) for row in reader]
    except csv.Error as error:  # a field over csv's limit, a quote left open at the end...
        # the DictReader's own line_num stays at the last row it returned; its csv.reader's
        # counts the lines it has read, the failing one included
        line = reader.reader.line_num
        raise DataError(path, f"not readable CSV: {error}", line=line) from None


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


def read_delimited(
    path: str | Path, separator: str, columns: int, trailing_separator: bool = False
) -> tuple[np.ndarray, list[int]]:
    """Numeric rows of a file of ``columns`` values a line split by ``separator``, converted in
    one pass (``_tokens.tokenize_numbers``, the NTU reader's whole-file scanner) rather than
    cell by cell; blank lines are skipped. ``trailing_separator``: a row may end with one more
    separator (SFINGE3D's dictionary files do), which is not a value.

    Every row is checked before conversion: its number of values (an empty value between two
    separators counts as a malformed token), then every token; then every value must be finite
    and within float32's range (the records store float32). Errors name the 1-based line. Lines
    end at ``\\n`` only, as the scanner counts them, so that both name the same line.
    """
    path = Path(path)
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    mark = separator.encode()
    line_numbers: list[int] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        line = line.strip()
        if not line:
            continue
        if trailing_separator and line.endswith(mark):
            line = line[: -len(mark)]
        cells = line.split(mark)
        if len(cells) != columns:
            raise MalformedTokenError(
                path, f"{len(cells)} values, expected {columns} ({separator!r}-separated)", number
            )
        if line.startswith(mark) or mark * 2 in line:
            raise MalformedTokenError(path, "an empty value between two separators", number)
        line_numbers.append(number)
    if not line_numbers:
        raise EmptyFileError(path, "no data rows")
    tokens = tokenize_numbers(data.replace(mark, b" "), path)
    if len(tokens) != len(line_numbers) * columns:  # a value with a space inside it
        for number, line in enumerate(data.split(b"\n"), start=1):
            count = len(line.replace(mark, b" ").split())
            if count and count != columns:
                raise MalformedTokenError(path, f"{count} values, expected {columns}", number)
    values = tokens.values.reshape(len(line_numbers), columns)
    if not np.isfinite(values).all():
        row = int(np.argwhere(~np.isfinite(values))[0][0])
        column = int(np.argwhere(~np.isfinite(values[row]))[0][0]) + 1
        raise NonFiniteError(path, f"column {column} is not finite", line=line_numbers[row])
    beyond = first_beyond_float32(values)
    if beyond is not None:  # finite here, but inf once a record stores it as float32
        row, column = divmod(beyond, columns)
        raise NonFiniteError(
            path,
            f"column {column + 1} is {values[row, column]:g}, beyond float32's range",
            line=line_numbers[row],
        )
    return values, line_numbers
