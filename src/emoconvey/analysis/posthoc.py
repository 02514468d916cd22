"""Tukey HSD pairwise comparisons of group means (Tukey-Kramer for unequal group sizes).

For groups *i* and *j* with :math:`n_i, n_j` clips, means :math:`\\bar y_i, \\bar y_j`, and
the pooled within-group variance :math:`\\mathrm{MSE} = \\sum_g \\sum_c (y_c - \\bar
y_g)^2 / (N - k)` of all *k* groups,

.. math::

    q_{ij} = \\frac{|\\bar y_j - \\bar y_i|}
                  {\\sqrt{\\tfrac{\\mathrm{MSE}}{2}\\left(\\tfrac1{n_i} + \\tfrac1{n_j}\\right)}},
    \\qquad p_{ij} = P(Q_{k,\\,N-k} > q_{ij}),

where :math:`Q_{k,\\nu}` is the studentized range distribution, and the simultaneous
interval at level :math:`c` is :math:`(\\bar y_j - \\bar y_i) \\pm Q^{-1}_{k,N-k}(c)
\\sqrt{\\tfrac{\\mathrm{MSE}}{2}(\\tfrac1{n_i}+\\tfrac1{n_j})}` (Tukey, 1953; Kramer, 1956).
Group statistics are vectorised; critical values come from
:data:`scipy.stats.studentized_range` and p-values from
:func:`emoconvey.analysis.studentized.studentized_range_sf`, accurate far into the tail
(scipy's ``sf`` returns 0 near 1e-14; values below 1e-300 are reported as 1e-300, never
0); the test-suite checks the results against
:func:`statsmodels.stats.multicomp.pairwise_tukeyhsd` and :func:`scipy.stats.tukey_hsd`.
Evaluating the studentized-range tail for finite residual df costs tens of ms per pair;
above :data:`LARGE_DF` residual df the infinite-df distribution is used, as R does.

References
----------
Tukey, J. W. (1953). The problem of multiple comparisons. Unpublished manuscript,
Princeton University.

Copenhaver, M. D., & Holland, B. S. (1988). Computation of the distribution of the
maximum studentized range statistic with application to multiple significance testing of
simple effects. Journal of Statistical Computation and Simulation, 30(1), 1-15.

Kramer, C. Y. (1956). Extension of multiple range tests to group means with unequal
numbers of replications. Biometrics, 12(3), 307-310.

Go, G., Han, S., Choi, A., Choi, E., Nam, J., & Park, J. M. (2025). AImoclips: A
Benchmark for Evaluating Emotion Conveyance in Text-to-Music Generation. HCMIR 2025,
arXiv:2509.00813.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import studentized_range

from emoconvey._validation import (
    check_axes,
    check_confidence,
    warn_degenerate,
)
from emoconvey.analysis.common import (
    MEASURE_PREFIX,
    check_group_column,
    check_measure,
    group_codes,
    grouped_deviations,
    require_group_labels,
)
from emoconvey.analysis.studentized import studentized_range_sf
from emoconvey.errors import EmoconveyError

__all__ = [
    "DEFAULT_POSTHOC", "LARGE_DF", "TUKEY_COLUMNS", "studentized_range_df", "tukey_hsd",
]

log = logging.getLogger(__name__)

DEFAULT_POSTHOC = "adjusted"
"""The one default analysis of the report and of the study planner.

Systems are compared on intent-adjusted marginal means: a ranking study asks how systems
differ at equal intents, and removing the intents' spread from the error term is what
gives a planned study its power (at the 105 participants the planner recommends for the
AImoclips design, the one-way Tukey has power of about 0.31, not 0.8; issue 17).
:func:`emoconvey.analysis.planning.plan_study` plans for it by default.
"""

TUKEY_COLUMNS: tuple[str, ...] = (
    "axis",
    "measure",
    "group1",
    "group2",
    "meandiff",
    "ci_low",
    "ci_high",
    "p_adj",
    "reject",
)
"""Columns of :func:`tukey_hsd`."""


LARGE_DF = 25_000
"""Residual df above which the studentized range is evaluated at df = infinity.

This is R's convention (``ptukey``/``qtukey``, after Copenhaver & Holland, 1988, AS 190,
which switch to the infinite-df form above 25,000 df): the finite-df tail costs a 2-D
numerical integral per pair (about 15 ms), and beyond 25,000 df it differs from the
infinite-df value by less than 1e-4 in p. Large synthetic or crowd-sourced studies
(10^5 clips) thus take milliseconds instead of seconds.
"""


def studentized_range_df(df: float) -> float:
    """Degrees of freedom at which to evaluate the studentized range (see :data:`LARGE_DF`)."""
    return float("inf") if df > LARGE_DF else float(df)


def _empty() -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype=float) for c in TUKEY_COLUMNS})
    for c in ("axis", "measure", "group1", "group2"):
        out[c] = out[c].astype(object)
    out["reject"] = out["reject"].astype(bool)
    return out


def _warn(message: str) -> None:
    warn_degenerate(message, stacklevel=3)


def _tukey_intervals(
    diff: np.ndarray, se: np.ndarray, *, k: int, df: float, conf: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simultaneous intervals and adjusted p values of ``diff`` (studentized range, k groups)."""
    df_q = studentized_range_df(df)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's quadrature notes
        q_crit = float(studentized_range.ppf(conf, k, df_q))
        p_adj = studentized_range_sf(np.abs(diff) / se, k, df_q)
    return diff - q_crit * se, diff + q_crit * se, p_adj


def _pairs_frame(
    axis: str,
    measure: str,
    names: tuple[pd.Series, pd.Series],
    diff: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    p_adj: np.ndarray,
    conf: float,
) -> pd.DataFrame:
    """One axis's rows of :data:`TUKEY_COLUMNS`."""
    return pd.DataFrame({
        "axis": axis, "measure": measure, "group1": names[0], "group2": names[1],
        "meandiff": diff, "ci_low": low, "ci_high": high, "p_adj": p_adj,
        "reject": np.nan_to_num(p_adj, nan=1.0) < 1.0 - conf,
    })


def tukey_hsd(
    clips: pd.DataFrame,
    *,
    by: str = "system",
    measure: str = "deviation",
    axes: str | Sequence[str] | None = None,
    confidence: float = 0.95,
    adjust_for: str | None = None,
) -> pd.DataFrame:
    """All pairwise Tukey HSD (Tukey-Kramer) comparisons of group means, per axis.

    Parameters
    ----------
    clips : DataFrame
        Clip table with :data:`~emoconvey.analysis.deviation.CLIP_TABLE_COLUMNS` (e.g.
        ``Dataset.clips``). Not modified.
    by : str, default "system"
        Grouping column: ``"system"``, ``"quadrant"``, ``"intent"`` or another column of
        ``clips``. Groups are ordered as in
        :func:`~emoconvey.analysis.descriptive.mean_deviation` (``QUADRANTS`` order for
        quadrants, first appearance otherwise).
    measure : {"deviation", "abs_deviation"}, default "deviation"
        Compare the signed (``dev_<axis>``) or absolute (``absdev_<axis>``) deviation.
    axes : str or sequence of str, optional
        ``"valence"`` and/or ``"arousal"``; default both.
    confidence : float, default 0.95
        Family-wise confidence level of the intervals; ``reject`` is
        ``p_adj < 1 - confidence``.
    adjust_for : str, optional
        ``None`` (default): the one-way model ``y ~ by``, as R's
        ``TukeyHSD(aov(y ~ by))``; this reproduces the AImoclips paper's Figure 4.
        A column name (e.g. ``"intent"``): the additive model ``y ~ by + adjust_for``;
        groups are compared on their estimated marginal means (equal weight per level of
        ``adjust_for``) with the model's residual variance and df, Tukey-adjusted as
        ``emmeans::pairs(emmeans(lm(y ~ by + adjust_for), "by"))``; intervals are
        narrower when ``adjust_for`` explains variance. Equal to
        ``TukeyHSD(aov(y ~ by + adjust_for), "by")`` for a balanced design.

    Returns
    -------
    DataFrame
        :data:`TUKEY_COLUMNS`: ``axis``, ``measure``, ``group1``, ``group2`` (every pair
        once, ``group1`` before ``group2`` in group order), ``meandiff`` (= mean(group2) −
        mean(group1)), ``ci_low``, ``ci_high`` (simultaneous interval of ``meandiff``),
        ``p_adj`` (family-wise adjusted p-value), ``reject`` (bool). Axes in the order
        given; k(k−1)/2 rows per axis.

    Raises
    ------
    DataValidationError
        A required column is missing, a rating or norm is not a finite number, or a group
        label is missing.
    EmoconveyError
        ``by``, ``measure``, ``axes`` or ``confidence`` is invalid.

    Warns
    -----
    DegenerateDataWarning
        Fewer than two groups (an empty table is returned); no within-group degrees of
        freedom (every group has one clip) or zero within-group variance (``ci_low``,
        ``ci_high``, ``p_adj`` NaN, ``reject`` False). A group with a single clip is
        still compared (its variance comes from the pooled MSE) but a warning names it.

    Notes
    -----
    Formulas in the module docstring (Tukey, 1953; Kramer, 1956).
    """
    measure = check_measure(measure)
    axes_t = check_axes(axes)
    conf = check_confidence(confidence)
    data, by = grouped_deviations(clips, by, axes_t)

    codes, labels = group_codes(data[by], by)
    k = len(labels)
    if k < 2:
        _warn(f"tukey_hsd: {by!r} has {k} group; at least 2 are needed, no pairs to compare")
        return _empty()
    n_per = np.bincount(codes, minlength=k)
    df_within = len(codes) - k
    singles = [labels[i] for i in np.flatnonzero(n_per < 2)]
    if singles and df_within > 0:
        _warn(f"tukey_hsd: group(s) {', '.join(map(repr, map(str, singles)))} of {by!r} "
              "have a single clip; they are compared using the pooled variance only")
    idx1, idx2 = np.triu_indices(k, 1)
    g1 = pd.Series([labels[i] for i in idx1])
    g2 = pd.Series([labels[j] for j in idx2])

    if adjust_for is not None:
        adjust_for = check_group_column(clips, adjust_for, name="clips",
                                         argument="adjust_for")
        if adjust_for == by:
            raise EmoconveyError(f"adjust_for: must differ from by ({by!r})")
        require_group_labels(clips, [adjust_for], name="clips")
        return _tukey_adjusted(data, by=by, adjust_for=adjust_for, codes=codes,
                               labels=labels, axes=axes_t, measure=measure, conf=conf,
                               idx=(idx1, idx2), names=(g1, g2))

    log.debug("tukey_hsd: %d group(s) of %r, %d pair(s)", k, by, len(idx1))
    return _tukey_oneway(data, by=by, codes=codes, k=k, axes=axes_t, measure=measure,
                         conf=conf, idx=(idx1, idx2), names=(g1, g2))


def _tukey_oneway(
    data: pd.DataFrame, *, by: str, codes: np.ndarray, k: int, axes: tuple[str, ...],
    measure: str, conf: float, idx: tuple[np.ndarray, np.ndarray],
    names: tuple[pd.Series, pd.Series],
) -> pd.DataFrame:
    """Tukey-Kramer comparisons of the group means of the one-way model ``y ~ by``."""
    idx1, idx2 = idx
    n_per = np.bincount(codes, minlength=k)
    df_within = len(codes) - k
    frames = []
    for axis in axes:
        y = data[f"{MEASURE_PREFIX[measure]}_{axis}"].to_numpy(dtype=float)
        sums = np.bincount(codes, weights=y, minlength=k)
        means = sums / n_per
        meandiff = means[idx2] - means[idx1]
        resid = y - means[codes]
        sse = float(resid @ resid)
        tss = float(((y - y.mean()) ** 2).sum())
        if df_within <= 1 or sse <= 1e-24 * max(tss, 1.0):
            # the studentized range needs more than one residual degree of freedom
            why = ("no within-group degrees of freedom" if df_within <= 0 else
                   "1 within-group degree of freedom (at least 2 needed)" if df_within == 1
                   else "zero within-group variance")
            _warn(f"tukey_hsd: {axis} {measure} by {by!r} has {why}; "
                  "confidence intervals and p-values are NaN")
            low = high = p_adj = np.full(len(idx1), np.nan)
        else:
            mse = sse / df_within
            se = np.sqrt(mse / 2.0 * (1.0 / n_per[idx1] + 1.0 / n_per[idx2]))
            low, high, p_adj = _tukey_intervals(meandiff, se, k=k, df=df_within, conf=conf)
        frames.append(_pairs_frame(axis, measure, names, meandiff, low, high, p_adj, conf))
    return pd.concat(frames, ignore_index=True)


def _tukey_adjusted(
    data: pd.DataFrame,
    *,
    by: str,
    adjust_for: str,
    codes: np.ndarray,
    labels: list[object],
    axes: tuple[str, ...],
    measure: str,
    conf: float,
    idx: tuple[np.ndarray, np.ndarray],
    names: tuple[pd.Series, pd.Series],
) -> pd.DataFrame:
    """Tukey comparisons of estimated marginal means of ``y ~ by + adjust_for``."""
    k = len(labels)
    a_codes, a_levels = pd.factorize(data[adjust_for], sort=False)
    m = len(a_levels)
    n = len(codes)
    p = k + m - 1
    # design: cell-means coding for the groups (no intercept) and indicators of the
    # adjust_for levels but the first; column j of a row is ``cols[:, 0]`` or ``cols[:, 1]``
    a_col = np.where(a_codes > 0, k - 1 + a_codes, -1)
    # marginal mean of group g: beta_g + mean over levels of the adjust_for effects
    emm = np.zeros((k, p))
    emm[np.arange(k), np.arange(k)] = 1.0
    emm[:, k:] = 1.0 / m
    contrast = emm[idx[1]] - emm[idx[0]]
    # normal equations built from counts: the design is two blocks of indicators, so X'X
    # is small and well conditioned, and the n x p design is never formed (an SVD of it
    # took seconds at 10^5 clips)
    keep = a_col >= 0
    xtx = np.zeros((p, p))
    np.add.at(xtx, (codes, codes), 1.0)
    np.add.at(xtx, (a_col[keep], a_col[keep]), 1.0)
    np.add.at(xtx, (codes[keep], a_col[keep]), 1.0)
    np.add.at(xtx, (a_col[keep], codes[keep]), 1.0)
    rank = np.linalg.matrix_rank(xtx)
    df_resid = n - rank

    def xt(y: np.ndarray) -> np.ndarray:
        return (np.bincount(codes, weights=y, minlength=p)
                + np.bincount(a_col[keep], weights=y[keep], minlength=p))

    def fitted(beta: np.ndarray) -> np.ndarray:
        return beta[codes] + np.where(keep, beta[np.maximum(a_col, 0)], 0.0)

    frames = []
    for axis in axes:
        y = data[f"{MEASURE_PREFIX[measure]}_{axis}"].to_numpy(dtype=float)
        if rank < p or df_resid <= 1:
            why = ("the additive model is not estimable" if rank < p else
                   f"{df_resid} residual degree(s) of freedom (at least 2 needed)")
            _warn(f"tukey_hsd: {axis} {measure} by {by!r} adjusted for {adjust_for!r}: "
                  f"{why}; confidence intervals and p-values are NaN")
            diff = low = high = p_adj = np.full(len(idx[0]), np.nan)
        else:
            xtx_inv = np.linalg.inv(xtx)
            beta = np.linalg.solve(xtx, xt(y))
            resid = y - fitted(beta)
            mse = float(resid @ resid) / df_resid
            diff = contrast @ beta
            se = np.sqrt(mse * np.einsum("ij,jk,ik->i", contrast, xtx_inv, contrast) / 2.0)
            if mse <= 1e-24 * max(float(y @ y), 1.0):
                _warn(f"tukey_hsd: {axis} {measure} by {by!r} has zero residual variance; "
                      "confidence intervals and p-values are NaN")
                low = high = p_adj = np.full(len(idx[0]), np.nan)
            else:
                low, high, p_adj = _tukey_intervals(diff, se, k=k, df=df_resid, conf=conf)
        frames.append(_pairs_frame(axis, measure, names, diff, low, high, p_adj, conf))
    return pd.concat(frames, ignore_index=True)
