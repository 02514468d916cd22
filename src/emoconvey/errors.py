"""Exceptions and warnings raised by emoconvey.

Every error about user input is an :class:`EmoconveyError` (a :class:`ValueError`), and
its message names where the problem is (file, row, column or argument) and what was
expected. Legal but degenerate input (a single rater, zero variance, too few clips for a
test) emits a :class:`DegenerateDataWarning` and returns the documented fallback.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "DataValidationError",
    "DegenerateDataWarning",
    "EmoconveyError",
    "EmoconveyWarning",
    "NotFittedError",
]


class EmoconveyError(ValueError):
    """Base class of every error emoconvey raises about its input."""


class DataValidationError(EmoconveyError):
    """A data file or table does not have the expected content.

    Parameters
    ----------
    message : str
        What was wrong and what was expected.
    file : str or Path, optional
        The file (or table name) the problem is in.
    row : int, optional
        Line number in the file, counting the header as line 1, so that it matches what a
        text editor or spreadsheet shows.
    column : str, optional
        The column the problem is in.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        self.reason = message
        where = []
        if self.file is not None:
            where.append(self.file)
        if row is not None:
            where.append(f"line {row}")
        if column is not None:
            where.append(f"column {column!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class NotFittedError(EmoconveyError):
    """An estimator (e.g. a prediction head) was used before it was fitted.

    The project's counterpart of scikit-learn's ``sklearn.exceptions.NotFittedError``.
    """


class EmoconveyWarning(UserWarning):
    """Base class of emoconvey's warnings."""


class DegenerateDataWarning(EmoconveyWarning):
    """The input is legal but too small or too uniform for the requested statistic."""
