"""Helpers several analysis modules share: input checks, group codes and moments.

Public names, one place: :mod:`~emoconvey.analysis.plane`,
:mod:`~emoconvey.analysis.descriptive`, :mod:`~emoconvey.analysis.anova`,
:mod:`~emoconvey.analysis.posthoc`, :mod:`~emoconvey.analysis.diversity`,
:mod:`~emoconvey.analysis.neutrality`, :mod:`~emoconvey.analysis.hit_rate`,
:mod:`~emoconvey.analysis.agreement` and :mod:`~emoconvey.analysis.summary` use them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from emoconvey._validation import (
    QUADRANTS,
    check_choice,
    raise_at_first,
    require_columns,
    require_complete,
    require_numeric,
    require_rows,
)
from emoconvey.analysis.deviation import CLIP_TABLE_COLUMNS, clip_deviations
from emoconvey.errors import DataValidationError, EmoconveyError

__all__ = [
    "GROUPINGS",
    "MEASURES",
    "MEASURE_PREFIX",
    "STAT_COLUMNS",
    "check_group_column",
    "check_measure",
    "deviation_table",
    "group_codes",
    "group_moments",
    "group_stats",
    "grouped_deviations",
    "listed",
    "order_codes",
    "require_group_labels",
    "require_keys",
    "require_quadrants",
]

GROUPINGS: tuple[str, str, str] = ("system", "quadrant", "intent")
"""The standard grouping columns of a clip table (any other column may be used too)."""

MEASURES: tuple[str, str] = ("deviation", "abs_deviation")
"""Names of the two clip-level measures: signed and absolute deviation from the norm."""

MEASURE_PREFIX: dict[str, str] = {"deviation": "dev", "abs_deviation": "absdev"}
"""Column prefix that :func:`clip_deviations` uses for each measure."""

STAT_COLUMNS: tuple[str, ...] = ("n", "mean", "sd", "se", "ci_low", "ci_high")
"""Columns of a group statistic: count, mean, SD, standard error and interval."""

# Output column names that a grouping column may not take.
_RESERVED: frozenset[str] = frozenset(
    {"axis", "measure", "test", "source", "group1", "group2", *STAT_COLUMNS}
)


_MAX_LISTED = 5


def listed(items: Sequence[object]) -> str:
    """Human-readable list of at most a few items, with a count of the rest."""
    shown = ", ".join(map(str, items[:_MAX_LISTED]))
    rest = len(items) - _MAX_LISTED
    return f"{shown} and {rest} more" if rest > 0 else shown


def require_keys(df: pd.DataFrame, columns: Sequence[str], *, name: str) -> None:
    """Raise naming the first row with a missing value in one of the key ``columns``."""
    require_complete(df, columns, name=name)


def require_quadrants(df: pd.DataFrame, *, name: str, column: str = "quadrant") -> None:
    """Raise naming the first row whose quadrant is not one of :data:`QUADRANTS`."""
    bad = ~df[column].isin(QUADRANTS).to_numpy()
    raise_at_first(bad, lambda pos: (
        f"expected one of {', '.join(QUADRANTS)}, found {df[column].iloc[pos]!r}"
    ), name=name, column=column)


def order_codes(values: pd.Series, *, natural: Sequence[str] | None = None) -> np.ndarray:
    """Sort codes: position in ``natural`` if given, else order of first appearance."""
    if natural is not None:
        lookup = {v: i for i, v in enumerate(natural)}
        return values.map(lookup).fillna(len(natural)).to_numpy(dtype=np.int64)
    codes, _ = pd.factorize(values, sort=False)
    return codes


def group_moments(
    df: pd.DataFrame, keys: list[str], x: str, y: str
) -> pd.DataFrame:
    """Count, means and sample covariance (ddof=1) of ``x``, ``y`` per group.

    Two-pass (centre on the group mean, then sum products) for numerical stability.
    Groups are in order of first appearance; covariances are NaN when ``n < 2``.
    """
    xv = df[x].to_numpy(dtype=float)
    yv = df[y].to_numpy(dtype=float)
    frame = df.loc[:, keys].copy()
    frame["_x"] = xv
    frame["_y"] = yv
    grouped = frame.groupby(keys, sort=False)
    mx = grouped["_x"].transform("mean").to_numpy(dtype=float)
    my = grouped["_y"].transform("mean").to_numpy(dtype=float)
    dx = xv - mx
    dy = yv - my
    frame["_xx"] = dx * dx
    frame["_yy"] = dy * dy
    frame["_xy"] = dx * dy
    out = frame.groupby(keys, sort=False).agg(
        n=("_x", "size"),
        mean_x=("_x", "mean"),
        mean_y=("_y", "mean"),
        sxx=("_xx", "sum"),
        syy=("_yy", "sum"),
        sxy=("_xy", "sum"),
    )
    out = out.reset_index()
    n = out["n"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = np.where(n > 1, n - 1.0, np.nan)
        out["cxx"] = out["sxx"].to_numpy() / denom
        out["cyy"] = out["syy"].to_numpy() / denom
        out["cxy"] = out["sxy"].to_numpy() / denom
    return out


def require_group_labels(df: pd.DataFrame, columns: Sequence[str], *, name: str) -> None:
    """Raise naming the first row whose group label in one of ``columns`` is missing."""
    require_complete(df, columns, name=name, what="a value (used as a group label)")


def check_group_column(
    clips: pd.DataFrame, by: object, *, name: str, argument: str = "by"
) -> str:
    """Check that ``by`` names a usable grouping column of ``clips``."""
    if not isinstance(by, str) or by in _RESERVED:
        raise EmoconveyError(
            f"{argument}: expected a column name such as {', '.join(map(repr, GROUPINGS))}, "
            f"got {by!r}"
        )
    if by not in clips.columns:
        raise DataValidationError(
            f"{argument}: column {by!r} not found; expected one of "
            f"{', '.join(map(repr, GROUPINGS))} or another column of {name}",
            file=name,
        )
    return by


def group_codes(values: pd.Series, by: str) -> tuple[np.ndarray, list[object]]:
    """Integer group codes and the ordered group labels.

    Labels are in order of first appearance, except for ``quadrant`` where the
    :data:`QUADRANTS` order is used (unknown quadrant labels follow in order of first
    appearance). ``codes[i]`` indexes the returned labels.
    """
    codes, uniques = pd.factorize(values, sort=False)
    labels = list(uniques)
    if by == "quadrant":
        rank = {q: i for i, q in enumerate(QUADRANTS)}
        order = sorted(range(len(labels)), key=lambda i: (rank.get(labels[i], len(rank)), i))
        remap = np.empty(len(labels), dtype=np.intp)
        remap[order] = np.arange(len(labels))
        codes = remap[codes]
        labels = [labels[i] for i in order]
    return np.asarray(codes, dtype=np.intp), labels


def grouped_deviations(
    clips: pd.DataFrame, by: object, axes: tuple[str, ...], *, name: str = "clips"
) -> tuple[pd.DataFrame, str]:
    """Check a clip table and its grouping column ``by``; the table with deviations added.

    Returns
    -------
    (DataFrame, str)
        A copy of ``clips`` with the deviation columns of ``axes``, and the checked ``by``.
    """
    require_columns(clips, CLIP_TABLE_COLUMNS, name=name)
    by = check_group_column(clips, by, name=name)
    require_group_labels(clips, [by], name=name)
    return deviation_table(clips, axes, name=name), by


def check_measure(measure: object) -> str:
    """Check ``measure`` is one of :data:`MEASURES`."""
    return check_choice(measure, MEASURES, name="measure")


def deviation_table(clips: pd.DataFrame, axes: tuple[str, ...], *, name: str) -> pd.DataFrame:
    """Validate a clip table and return a copy with the deviation columns added."""
    require_columns(clips, CLIP_TABLE_COLUMNS, name=name)
    require_rows(clips, name=name)
    require_numeric(clips, [c for a in axes for c in (a, f"norm_{a}")], name=name)
    return clip_deviations(clips)


def group_stats(
    y: np.ndarray, codes: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-group count, mean and within-group sum of squares (two-pass, vectorised)."""
    n = np.bincount(codes, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(codes, weights=y, minlength=k) / n
    resid = y - mean[codes]
    ss = np.bincount(codes, weights=resid * resid, minlength=k)
    return n, mean, ss


