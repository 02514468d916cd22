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
    check_axes,
    check_confidence,
)
from emoconvey.analysis.common import (
    GROUPINGS,
    MEASURE_PREFIX,
    MEASURES,
    STAT_COLUMNS,
    group_codes,
    group_stats,
    grouped_deviations,
)
from emoconvey.errors import DegenerateDataWarning, EmoconveyError

__all__ = [
    "GROUPINGS",
    "MEAN_DEVIATION_COLUMNS",
    "MEASURES",
    "mean_deviation",
]

log = logging.getLogger(__name__)

MEAN_DEVIATION_COLUMNS: tuple[str, ...] = ("axis", "measure", *STAT_COLUMNS)
"""Columns of :func:`mean_deviation` after the leading group column."""



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
    data, by = grouped_deviations(clips, by, axes_t)
    measure = "abs_deviation" if absolute else "deviation"

    codes, labels = group_codes(data[by], by)
    k = len(labels)
    singles = [labels[i] for i in np.flatnonzero(np.bincount(codes, minlength=k) < 2)]
    frames = []
    for axis in axes_t:
        y = data[f"{MEASURE_PREFIX[measure]}_{axis}"].to_numpy(dtype=float)
        n, mean, ss = group_stats(y, codes, k)
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
