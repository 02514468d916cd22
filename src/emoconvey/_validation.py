"""Input checks shared by every public function (one place, one style of message)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable, Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from emoconvey.errors import DataValidationError, DegenerateDataWarning, EmoconveyError

AXES: tuple[str, str] = ("valence", "arousal")
"""The two rating axes, in the order every table uses."""

QUADRANTS: tuple[str, str, str, str] = ("hv_ha", "lv_ha", "lv_la", "hv_la")
"""Valence-arousal quadrants: high/low valence x high/low arousal, AImoclips order."""

SCALE_MIN: int = 1
SCALE_MAX: int = 9
SCALE_CENTRE: float = 5.0


def file_line(position: int) -> int:
    """Line number in a CSV file of the data row at 0-based ``position`` (header is line 1)."""
    return int(position) + 2


def first_true(mask: pd.Series | np.ndarray | Sequence[bool]) -> int | None:
    """0-based position of the first true value of ``mask``, or ``None`` when none is."""
    hits = np.flatnonzero(np.asarray(mask, dtype=bool))
    return int(hits[0]) if len(hits) else None


def raise_at_first(
    mask: pd.Series | np.ndarray,
    message: Callable[[int], str],
    *,
    name: str | Path,
    column: str | None = None,
) -> None:
    """Raise :class:`DataValidationError` at the file line of the first flagged row.

    Parameters
    ----------
    mask : Series or ndarray of bool
        One value per data row (in file order): ``True`` where the row is bad.
    message : callable
        ``message(pos)`` says what is wrong with the row at 0-based position ``pos``
        and what was expected.
    name : str or Path
        The file (or table) named in the error.
    column : str, optional
        The column named in the error.
    """
    pos = first_true(mask)
    if pos is not None:
        raise DataValidationError(message(pos), file=name, row=file_line(pos), column=column)


def require_unique(
    df: pd.DataFrame | pd.Series,
    message: Callable[[int, int], str],
    *,
    name: str | Path,
    column: str | None = None,
) -> None:
    """Raise at the line of the first row that repeats an earlier one.

    Parameters
    ----------
    df : DataFrame or Series
        The key columns (a DataFrame: rows repeat when every column repeats).
    message : callable
        ``message(pos, first)`` with the 0-based positions of the repeat and of the row
        it repeats.
    name, column
        As for :func:`raise_at_first`.
    """
    dup = df.duplicated(keep="first").to_numpy()
    pos = first_true(dup)
    if pos is None:
        return
    key = df.iloc[pos]
    same = (df == key).all(axis=1) if isinstance(df, pd.DataFrame) else df == key
    first = first_true(same)
    raise DataValidationError(
        message(pos, int(first)), file=name, row=file_line(pos), column=column
    )


def require_first_seen(
    seen: dict[Hashable, int],
    key: Hashable,
    line: int,
    repeat: str,
    *,
    expected: str | None = None,
    name: str | Path,
    column: str | None = None,
) -> None:
    """Record that ``key`` stands on ``line``; raise if an earlier line already had it.

    The line-by-line counterpart of :func:`require_unique`, for readers that parse a
    file one line at a time.

    Parameters
    ----------
    seen : dict
        Keys read so far, each with the 1-based line it was first read on; updated
        in place with ``key``.
    key : hashable
        The key of the line being read.
    line : int
        1-based line number of the line being read.
    repeat : str
        What is repeated (e.g. ``"duplicated id 'P1'"``); the message goes on with
        ``" (first on line N)"`` and then ``"; " + expected`` when given.
    expected : str, optional
        What was expected instead (e.g. ``"expected each id once"``).
    name, column
        As for :func:`raise_at_first`.

    Raises
    ------
    DataValidationError
        Naming ``name``, ``line`` and ``column`` when ``key`` is already in ``seen``.
    """
    if key in seen:
        message = f"{repeat} (first on line {seen[key]})"
        if expected:
            message = f"{message}; {expected}"
        raise DataValidationError(message, file=name, row=line, column=column)
    seen[key] = line


def require_dataframe(df: object, *, name: str) -> pd.DataFrame:
    """Raise unless ``df`` is a DataFrame."""
    if not isinstance(df, pd.DataFrame):
        raise EmoconveyError(f"{name}: expected a pandas DataFrame, got {type(df).__name__}")
    return df


def require_columns(df: pd.DataFrame, columns: Iterable[str], *, name: str,
                    argument: str | None = None) -> None:
    """Raise :class:`DataValidationError` naming the missing columns of ``df``.

    With ``argument``, the columns are those an argument names and the message starts
    with it (``"factors: column(s) 'x' not found; found ..."``).
    """
    require_dataframe(df, name=name)
    missing = ", ".join(repr(c) for c in columns if c not in df.columns)
    if missing:
        found = ", ".join(map(repr, map(str, df.columns))) or "no columns"
        raise DataValidationError(
            f"{argument}: column(s) {missing} not found; found {found}" if argument
            else f"missing column(s) {missing}; found {found}",
            file=name,
        )


def require_rows(df: pd.DataFrame, *, name: str, minimum: int = 1) -> None:
    """Raise if ``df`` has fewer than ``minimum`` rows."""
    if len(df) < minimum:
        raise DataValidationError(
            f"expected at least {minimum} data row(s), found {len(df)}", file=name
        )


def require_numeric(df: pd.DataFrame, columns: Sequence[str], *, name: str) -> None:
    """Raise naming the first row whose value in ``columns`` is not a finite number."""
    for col in columns:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise DataValidationError(
                f"expected a finite number, found {df[col].iloc[pos]!r}",
                file=name,
                row=file_line(pos),
                column=col,
            )


def check_axes(axes: str | Sequence[str] | None) -> tuple[str, ...]:
    """Normalise an ``axis``/``axes`` argument to a tuple of known axes."""
    if axes is None:
        return AXES
    if isinstance(axes, str):
        axes = (axes,)
    out = tuple(axes)
    unknown = [a for a in out if a not in AXES]
    if unknown or not out:
        raise EmoconveyError(
            f"axes: expected 'valence' and/or 'arousal', got {list(out)!r}"
        )
    return out


def check_confidence(confidence: float) -> float:
    """Check a confidence level lies strictly between 0 and 1."""
    if not isinstance(confidence, int | float) or not 0.0 < float(confidence) < 1.0:
        raise EmoconveyError(f"confidence: expected a number in (0, 1), got {confidence!r}")
    return float(confidence)


def check_positive_int(value: object, *, name: str, minimum: int = 1) -> int:
    """Check ``value`` is an integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise EmoconveyError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def check_choice(value: object, choices: Sequence[str], *, name: str) -> str:
    """Check ``value`` is one of ``choices``."""
    if value not in choices:
        raise EmoconveyError(
            f"{name}: expected one of {', '.join(map(repr, choices))}, got {value!r}"
        )
    return str(value)


def require_complete(
    df: pd.DataFrame, columns: Sequence[str], *, name: str, what: str = "a value"
) -> None:
    """Raise naming the first row whose value in one of ``columns`` is missing."""
    for col in columns:
        missing = df[col].isna().to_numpy()
        if missing.any():
            raise DataValidationError(
                f"expected {what}, found a missing value",
                file=name,
                row=file_line(int(np.flatnonzero(missing)[0])),
                column=col,
            )


def warn_degenerate(message: str, *, stacklevel: int = 3) -> None:
    """Emit a :class:`DegenerateDataWarning` pointing at the public function's caller."""
    warnings.warn(message, DegenerateDataWarning, stacklevel=stacklevel + 1)


def check_output_file(path: str | Path | None, *, name: str) -> Path | None:
    """Check that ``path`` can be written as a file before any work is done.

    Parameters
    ----------
    path : str or Path, optional
        Where a command will write a file; ``None`` (no output asked for) passes.
    name : str
        The argument or option named in the message (``--out``).

    Returns
    -------
    Path or None
        ``path`` as a :class:`~pathlib.Path`.

    Raises
    ------
    EmoconveyError
        When ``path`` is a folder, or its folder does not exist or is a file.
    """
    if path is None:
        return None
    path = Path(path)
    if path.is_dir():
        raise EmoconveyError(f"{name}: {str(path)!r} is a folder; give a file name")
    parent = path.parent
    if parent.exists() and not parent.is_dir():
        raise EmoconveyError(f"{name}: {str(parent)!r} is a file, not a folder")
    if not parent.exists():
        raise EmoconveyError(
            f"{name}: the folder {str(parent)!r} does not exist; create it or give another path"
        )
    return path


def check_output_folder(path: str | Path, *, name: str) -> Path:
    """Check that ``path`` is a folder or can be created as one.

    Raises
    ------
    EmoconveyError
        When ``path``, or the nearest part of it that exists, is a file.
    """
    path = Path(path)
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                what = "" if part == path else f" (part of {str(path)!r})"
                raise EmoconveyError(f"{name}: {str(part)!r}{what} is a file; give a folder")
            break
    return path
