"""Group means of the deviation from the intended emotion, with Student-t intervals.

For a group *g* (a system, quadrant or intent) of :math:`n_g` clips with deviations
:math:`d_1, \\dots, d_{n_g}` on one axis (see :mod:`emoconvey.analysis.deviation`),

.. math::

    \\bar d_g = \\frac{1}{n_g}\\sum_c d_c, \\qquad
    s_g = \\sqrt{\\frac{1}{n_g - 1}\\sum_c (d_c - \\bar d_g)^2}, \\qquad
    \\mathrm{SE}_g = s_g / \\sqrt{n_g},

and the two-sided confidence interval at level :math:`c` is
:math:`\\bar d_g \\pm t_{(1+c)/2,\\,n_g-1}\\,\\mathrm{SE}_g` (Student, 1908). The unit of
analysis is the clip (its mean rating), as in AImoclips (Go et al., 2025, Sec. 4-5).

References
----------
Go, G., Han, S., Choi, A., Choi, E., Nam, J., & Park, J. M. (2025). AImoclips: A
Benchmark for Evaluating Emotion Conveyance in Text-to-Music Generation. HCMIR 2025,
arXiv:2509.00813.

Student (1908). The probable error of a mean. Biometrika, 6(1), 1-25.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from emoconvey._validation import (
    QUADRANTS,
    check_axes,
    check_choice,
    check_confidence,
    require_columns,
    require_complete,
    require_numeric,
    require_rows,
)
from emoconvey.analysis.deviation import CLIP_TABLE_COLUMNS, clip_deviations
from emoconvey.errors import DataValidationError, DegenerateDataWarning, EmoconveyError

__all__ = [
    "GROUPINGS",
    "MEAN_DEVIATION_COLUMNS",
    "MEASURES",
    "mean_deviation",
]

log = logging.getLogger(__name__)

GROUPINGS: tuple[str, str, str] = ("system", "quadrant", "intent")
"""The standard grouping columns of a clip table (any other column may be used too)."""

MEASURES: tuple[str, str] = ("deviation", "abs_deviation")
"""Names of the two clip-level measures: signed and absolute deviation from the norm."""

MEASURE_PREFIX: dict[str, str] = {"deviation": "dev", "abs_deviation": "absdev"}
"""Column prefix that :func:`clip_deviations` uses for each measure."""

_STAT_COLUMNS: tuple[str, ...] = ("n", "mean", "sd", "se", "ci_low", "ci_high")

MEAN_DEVIATION_COLUMNS: tuple[str, ...] = ("axis", "measure", *_STAT_COLUMNS)
"""Columns of :func:`mean_deviation` after the leading group column."""

# Output column names that a grouping column may not take.
_RESERVED: frozenset[str] = frozenset(
    {"axis", "measure", "test", "source", "group1", "group2", *_STAT_COLUMNS}
)


# ----------------------------------------------------------------------------- helpers
# (shared with anova.py and posthoc.py)


def _require_complete(df: pd.DataFrame, columns: Sequence[str], *, name: str) -> None:
    require_complete(df, columns, name=name, what="a value (used as a group label)")


def _check_group_column(
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


def _group_codes(values: pd.Series, by: str) -> tuple[np.ndarray, list[object]]:
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


def _check_measure(measure: object) -> str:
    return check_choice(measure, MEASURES, name="measure")


def _deviation_table(clips: pd.DataFrame, axes: tuple[str, ...], *, name: str) -> pd.DataFrame:
    """Validate a clip table and return a copy with the deviation columns added."""
    require_columns(clips, CLIP_TABLE_COLUMNS, name=name)
    require_rows(clips, name=name)
    require_numeric(clips, [c for a in axes for c in (a, f"norm_{a}")], name=name)
    return clip_deviations(clips)


def _group_stats(
    y: np.ndarray, codes: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-group count, mean and within-group sum of squares (two-pass, vectorised)."""
    n = np.bincount(codes, minlength=k)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(codes, weights=y, minlength=k) / n
    resid = y - mean[codes]
    ss = np.bincount(codes, weights=resid * resid, minlength=k)
    return n, mean, ss


# ----------------------------------------------------------------------------- public


def mean_deviation(
    clips: pd.DataFrame,
    *,
    by: str = "system",
    absolute: bool = False,
    axes: str | Sequence[str] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Mean (absolute) deviation from the intended emotion per group, with t intervals.

    Parameters
    ----------
    clips : DataFrame
        Clip table with :data:`~emoconvey.analysis.deviation.CLIP_TABLE_COLUMNS`
        (e.g. ``Dataset.clips``); deviations are computed with
        :func:`~emoconvey.analysis.deviation.clip_deviations`. Not modified.
    by : str, default "system"
        Grouping column: ``"system"``, ``"quadrant"``, ``"intent"`` or any other column
        of ``clips``. Groups appear in :data:`~emoconvey._validation.QUADRANTS` order for
        ``"quadrant"`` and in order of first appearance otherwise.
    absolute : bool, default False
        Summarise the absolute deviation :math:`|d|` (``measure = "abs_deviation"``)
        instead of the signed deviation (``measure = "deviation"``).
    axes : str or sequence of str, optional
        ``"valence"`` and/or ``"arousal"``; default both.
    confidence : float, default 0.95
        Level of the two-sided Student-t interval, in (0, 1).

    Returns
    -------
    DataFrame
        One row per axis and group (axes in the order given, groups in the order above),
        columns ``<by>``, ``axis``, ``measure``, ``n`` (int, clips in the group), ``mean``,
        ``sd`` (ddof=1), ``se`` (= sd/√n), ``ci_low``, ``ci_high``
        (= mean ∓ t_{(1+c)/2, n−1}·se).

    Raises
    ------
    DataValidationError
        A required column is missing, a rating or norm is not a finite number, or a
        group label is missing.
    EmoconveyError
        ``by``, ``absolute``, ``axes`` or ``confidence`` is invalid.

    Warns
    -----
    DegenerateDataWarning
        A group has a single clip: its ``sd``, ``se``, ``ci_low`` and ``ci_high`` are NaN.
        (A group whose clips all deviate equally has ``sd = 0`` and a zero-width
        interval; that is exact, not degenerate.)

    Notes
    -----
    Formula: see the module docstring (Student, 1908); AImoclips reports these per-system
    and per-quadrant means of the clip-level deviation (Go et al., 2025).
    """
    if not isinstance(absolute, bool | np.bool_):
        raise EmoconveyError(f"absolute: expected True or False, got {absolute!r}")
    axes_t = check_axes(axes)
    conf = check_confidence(confidence)
    require_columns(clips, CLIP_TABLE_COLUMNS, name="clips")
    by = _check_group_column(clips, by, name="clips")
    _require_complete(clips, [by], name="clips")
    data = _deviation_table(clips, axes_t, name="clips")
    measure = "abs_deviation" if absolute else "deviation"

    codes, labels = _group_codes(data[by], by)
    k = len(labels)
    singles = [labels[i] for i in np.flatnonzero(np.bincount(codes, minlength=k) < 2)]
    frames = []
    for axis in axes_t:
        y = data[f"{MEASURE_PREFIX[measure]}_{axis}"].to_numpy(dtype=float)
        n, mean, ss = _group_stats(y, codes, k)
        dof = n - 1
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.where(dof > 0, np.sqrt(ss / np.maximum(dof, 1)), np.nan)
            se = sd / np.sqrt(n)
            tq = np.where(dof > 0, stats.t.ppf((1.0 + conf) / 2.0, np.maximum(dof, 1)), np.nan)
        half = tq * se
        frames.append(
            pd.DataFrame(
                {
                    by: pd.Series(labels),
                    "axis": axis,
                    "measure": measure,
                    "n": n.astype(np.int64),
                    "mean": mean,
                    "sd": sd,
                    "se": se,
                    "ci_low": mean - half,
                    "ci_high": mean + half,
                }
            )
        )
    if singles:
        warnings.warn(
            f"mean_deviation: group(s) {', '.join(map(repr, map(str, singles)))} of {by!r} "
            "have a single clip; their sd, se and confidence interval are NaN",
            DegenerateDataWarning,
            stacklevel=2,
        )
    out = pd.concat(frames, ignore_index=True)
    log.debug("mean_deviation: %d group(s) of %r, axes %s", k, by, axes_t)
    return out
