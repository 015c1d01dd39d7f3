"""Typed errors for bad input. Every one names where the problem is: the file and the line, or
the clip and the field, so that a corrupt download or a wrong layout is found in seconds rather
than surfacing as a bare IndexError deep inside a script."""

from __future__ import annotations

from pathlib import Path


class StalstmError(Exception):
    """Base of every error this package raises on purpose."""


class SettingError(StalstmError, ValueError):
    """An invalid value of one field of a settings dataclass (``TrainingSettings``...). It is a
    ``ValueError``, and ``field`` names the field, so that a recipe can name its key
    (``training.batch_size``) when the dataclass refuses a value."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.reason = message
        super().__init__(f"{field} {message}")


class DataError(StalstmError):
    """Bad input data. ``where`` is a path or a clip name; ``line`` is 1-based when known."""

    kind = "bad data"

    def __init__(
        self, where: str | Path, message: str, line: int | None = None, field: str | None = None
    ) -> None:
        self.where = str(where)
        self.line = line
        self.field = field
        self.message = message
        location = self.where
        if line is not None:
            location += f", line {line}"
        if field is not None:
            location += f", field {field!r}"
        super().__init__(f"{location}: {self.kind}: {message}")


class TruncatedFileError(DataError):
    kind = "truncated file"


class EmptyFileError(DataError):
    kind = "empty file"


class MalformedTokenError(DataError):
    """A token that is not a number where a number must be (an inline comment, a typo)."""

    kind = "malformed token"


class JointCountError(DataError):
    kind = "wrong joint count"


class NonFiniteError(DataError):
    kind = "non-finite coordinate"


class GluedClipsError(DataError):
    """Two recordings concatenated in one file (a frame index that jumps backwards)."""

    kind = "glued clips"


class LayoutMismatchError(DataError):
    """Data whose joint count or coordinate dimension does not match the layout or model."""

    kind = "layout mismatch"


class UnsafePickleError(DataError):
    """A pickle that asks for something other than plain containers and numpy arrays."""

    kind = "refused pickle"


class EmptySplitError(DataError):
    """A protocol leaves the training or the test split of a data set empty (e.g. the cross-view
    protocol on clips from one camera): training or testing on nothing is refused up front."""

    kind = "empty split"


class SegmentError(DataError):
    """An annotated segment that is impossible: an end before its start, outside its stream, or
    overlapping another segment of the same stream."""

    kind = "bad segment"
