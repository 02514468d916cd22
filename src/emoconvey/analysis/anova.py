"""Two-way (main-effects) ANOVA of clip-level deviations, Type II sums of squares.

The model for clip *c* in level *a* of factor A and level *b* of factor B is the additive

.. math:: y_c = \\mu + \\alpha_a + \\beta_b + \\varepsilon_c ,

fitted by least squares. With :math:`\\mathrm{RSS}(\\cdot)` the residual sum of squares of
a model, the Type II sums of squares (each factor adjusted for the other; Langsrud, 2003)
are

.. math::

    SS_A = \\mathrm{RSS}(B) - \\mathrm{RSS}(A + B), \\qquad
    SS_B = \\mathrm{RSS}(A) - \\mathrm{RSS}(A + B), \\qquad
    SS_{res} = \\mathrm{RSS}(A + B),

with :math:`df_A = \\operatorname{rank}(X_{A+B}) - \\operatorname{rank}(X_B)`,
:math:`df_{res} = N - \\operatorname{rank}(X_{A+B})`,
:math:`F_A = (SS_A/df_A) / (SS_{res}/df_{res})` and :math:`p = P(F_{df_A, df_{res}} > F_A)`.
The effect size is (classical) eta squared over the table,
:math:`\\eta^2_A = SS_A / (SS_A + SS_B + SS_{res})`, so that the column sums to 1 (in an
unbalanced design Type II sums of squares do not add up to the total sum of squares).

The fit uses the normal equations of the dummy-coded design, built from cell counts with
:func:`numpy.bincount` and solved with :func:`numpy.linalg.lstsq` plus iterative
refinement; the design rank comes from the connected components of the bipartite graph of
occupied cells (Searle, 1987, Sec. 5.2). This matches ``statsmodels``
``anova_lm(ols("y ~ C(A) + C(B)"), typ=2)`` and handles 10^5 clips with 60 levels in
milliseconds.

AImoclips (Go et al., 2025, Sec. 5) runs two such analyses: the *system effect* on the
signed deviation with factors system and intent, and the *quadrant effect* on the absolute
deviation with factors quadrant and system (:func:`system_effect`,
:func:`quadrant_effect`).

References
----------
Go, G., Han, S., Choi, A., Choi, E., Nam, J., & Park, J. M. (2025). AImoclips: A
Benchmark for Evaluating Emotion Conveyance in Text-to-Music Generation. HCMIR 2025,
arXiv:2509.00813.

Langsrud, Ø. (2003). ANOVA for unbalanced data: Use Type II instead of Type III sums of
squares. Statistics and Computing, 13, 163-167.

Searle, S. R. (1987). Linear Models for Unbalanced Data. Wiley.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from emoconvey._validation import (
    check_axes,
    require_columns,
    require_dataframe,
    require_numeric,
    require_rows,
    warn_degenerate,
)
from emoconvey.analysis.common import (
    MEASURE_PREFIX,
    check_measure,
    deviation_table,
    group_codes,
    group_stats,
    require_group_labels,
)
from emoconvey.analysis.deviation import CLIP_TABLE_COLUMNS
from emoconvey.errors import EmoconveyError

__all__ = [
    "ANOVA_COLUMNS",
    "ANOVA_TABLE_COLUMNS",
    "anova",
    "quadrant_effect",
    "system_effect",
    "two_way_anova",
]

log = logging.getLogger(__name__)

ANOVA_TABLE_COLUMNS: tuple[str, ...] = ("source", "sum_sq", "df", "df_resid", "F", "p", "eta_sq")
"""Columns of :func:`two_way_anova`."""

ANOVA_COLUMNS: tuple[str, ...] = ("axis", "measure", *ANOVA_TABLE_COLUMNS)
"""Columns of :func:`anova` (:func:`system_effect` and :func:`quadrant_effect` add a
leading ``test`` column)."""

_REFINEMENT_STEPS = 3


# ----------------------------------------------------------------------------- helpers


def _check_factors(factors: object, *, dv: str | None = None) -> tuple[str, str]:
    if (
        not isinstance(factors, tuple | list)
        or len(factors) != 2
        or not all(isinstance(f, str) for f in factors)
        or factors[0] == factors[1]
    ):
        raise EmoconveyError(
            f"factors: expected a pair of two different column names, got {factors!r}"
        )
    if dv is not None and dv in factors:
        raise EmoconveyError(f"factors: the dependent variable {dv!r} cannot be a factor")
    return str(factors[0]), str(factors[1])


def _additive_fit_rss(
    y: np.ndarray, ca: np.ndarray, ka: int, cb: np.ndarray, kb: int
) -> float:
    """Residual sum of squares of the additive model ``y ~ A + B`` (dummy coding).

    Parameters are the (centred) response, integer codes and numbers of levels. The
    design is [A dummies (ka columns, no intercept), B dummies without the first level].
    """
    cnt_a = np.bincount(ca, minlength=ka).astype(float)
    cnt_b = np.bincount(cb, minlength=kb).astype(float)
    cells = np.bincount(ca * kb + cb, minlength=ka * kb).reshape(ka, kb).astype(float)
    p = ka + kb - 1
    xtx = np.zeros((p, p))
    xtx[:ka, :ka] = np.diag(cnt_a)
    xtx[:ka, ka:] = cells[:, 1:]
    xtx[ka:, :ka] = cells[:, 1:].T
    xtx[ka:, ka:] = np.diag(cnt_b[1:])

    def xt(v: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [np.bincount(ca, weights=v, minlength=ka), np.bincount(cb, weights=v, minlength=kb)[1:]]
        )

    def fitted(beta: np.ndarray) -> np.ndarray:
        return beta[:ka][ca] + np.concatenate([[0.0], beta[ka:]])[cb]

    beta = np.zeros(p)
    resid = y.copy()
    for _ in range(1 + _REFINEMENT_STEPS):  # solve, then refine on the residuals
        beta = beta + np.linalg.lstsq(xtx, xt(resid), rcond=None)[0]
        resid = y - fitted(beta)
    return float(resid @ resid)


def _design_rank(ca: np.ndarray, ka: int, cb: np.ndarray, kb: int) -> int:
    """Rank of the additive design: levels minus connected components of occupied cells."""
    graph = coo_matrix(
        (np.ones(len(ca)), (ca, ka + cb)), shape=(ka + kb, ka + kb)
    ).tocsr()
    n_components, _ = connected_components(graph, directed=False)
    return ka + kb - int(n_components)


def _warn(message: str) -> None:
    warn_degenerate(message, stacklevel=3)


# ----------------------------------------------------------------------------- public


def two_way_anova(
    data: pd.DataFrame, *, dv: str, factors: tuple[str, str]
) -> pd.DataFrame:
    """Main-effects two-way ANOVA (``dv ~ C(f1) + C(f2)``) with Type II sums of squares.

    Parameters
    ----------
    data : DataFrame
        Long format, one row per observation (for emoconvey: per clip). Not modified.
    dv : str
        Column holding the dependent variable (finite numbers).
    factors : tuple of two str
        The two grouping columns (any labels; levels are the distinct values).

    Returns
    -------
    DataFrame
        Three rows, ``source`` = ``factors[0]``, ``factors[1]``, ``"Residual"``; columns
        ``sum_sq`` (Type II SS), ``df`` (int), ``df_resid`` (int, the residual df on every
        row), ``F``, ``p`` and ``eta_sq`` (= SS / sum of all three SS). The residual
        row has NaN ``F`` and ``p`` and ``eta_sq`` = SS_res / total.

    Raises
    ------
    DataValidationError
        ``dv`` or a factor column is missing, ``dv`` has a value that is not a finite
        number, a factor has a missing value, or ``data`` is empty.
    EmoconveyError
        ``dv`` or ``factors`` is not a column name / pair of distinct column names.

    Warns
    -----
    DegenerateDataWarning
        A factor has one level or is confounded with the other (its ``df`` is 0, ``sum_sq``
        0, ``F``/``p`` NaN); no residual degrees of freedom or zero residual variance
        (``F``/``p`` NaN for both factors); zero total variance (``eta_sq`` NaN); a
        disconnected design (some levels of one factor never share a clip with some
        levels of the other), whose factors keep only the estimable df.

    Notes
    -----
    Formulas in the module docstring (Type II SS: Langsrud, 2003). For connected designs
    (the normal case, including AImoclips) the results equal ``statsmodels``
    ``anova_lm(typ=2)``. For disconnected designs emoconvey uses the model-comparison
    definition with rank-based df, whereas statsmodels reports the nominal df
    (levels − 1) from a rank-deficient fit.
    """
    if not isinstance(dv, str):
        raise EmoconveyError(f"dv: expected a column name, got {dv!r}")
    fa, fb = _check_factors(factors, dv=dv)
    require_dataframe(data, name="data")
    require_columns(data, [dv], name="data")
    require_columns(data, (fa, fb), name="data", argument="factors")
    require_rows(data, name="data")
    require_numeric(data, [dv], name="data")
    require_group_labels(data, [fa, fb], name="data")

    y = pd.to_numeric(data[dv]).to_numpy(dtype=float)
    n = len(y)
    y = y - y.mean()
    ca, la = group_codes(data[fa], fa)
    cb, lb = group_codes(data[fb], fb)
    ka, kb = len(la), len(lb)

    # RSS of the one-factor models: within-group sums of squares.
    rss_a = float(group_stats(y, ca, ka)[2].sum())
    rss_b = float(group_stats(y, cb, kb)[2].sum())
    rss_full = _additive_fit_rss(y, ca, ka, cb, kb)
    rank_full = _design_rank(ca, ka, cb, kb)
    df_a, df_b = rank_full - kb, rank_full - ka
    df_res = n - rank_full
    tss = float(y @ y)

    ss_a = max(rss_b - rss_full, 0.0) if df_a > 0 else 0.0
    ss_b = max(rss_a - rss_full, 0.0) if df_b > 0 else 0.0
    if tss > 0 and rss_full <= 1e-12 * tss:
        rss_full = 0.0
    ss = np.array([ss_a, ss_b, rss_full])
    dfs = np.array([df_a, df_b, df_res], dtype=np.int64)

    f_stat = np.full(3, np.nan)
    p_val = np.full(3, np.nan)
    usable_resid = df_res > 0 and rss_full > 0
    if df_res <= 0:
        _warn(f"two_way_anova: no residual degrees of freedom ({n} rows, design rank "
              f"{rank_full}); F and p are NaN")
    elif rss_full <= 0:
        _warn(f"two_way_anova: {dv!r} is fitted exactly (zero residual variance); "
              "F and p are NaN")
    if df_a > 0 and df_b > 0 and rank_full < ka + kb - 1:
        _warn(f"two_way_anova: the design of {fa!r} x {fb!r} is disconnected "
              f"({ka + kb - rank_full} groups of levels share no clips); differences "
              "between those groups are not estimable and the factors' df are reduced")
    for i, (name, levels, df_i) in enumerate(((fa, ka, df_a), (fb, kb, df_b))):
        if df_i <= 0:
            why = "has a single level" if levels < 2 else "is confounded with the other factor"
            _warn(f"two_way_anova: factor {name!r} {why} (0 degrees of freedom after "
                  "adjusting for the other factor); its F and p are NaN")
        elif usable_resid:
            f_stat[i] = (ss[i] / df_i) / (rss_full / df_res)
            p_val[i] = float(stats.f.sf(f_stat[i], df_i, df_res))
    total = float(ss.sum())
    if total > 0:
        eta = ss / total
    else:
        _warn(f"two_way_anova: {dv!r} has zero variance; eta_sq is NaN")
        eta = np.full(3, np.nan)

    log.debug("two_way_anova: %s ~ %s + %s, n=%d, rank=%d", dv, fa, fb, n, rank_full)
    return pd.DataFrame(
        {
            "source": [fa, fb, "Residual"],
            "sum_sq": ss,
            "df": dfs,
            "df_resid": np.full(3, df_res, dtype=np.int64),
            "F": f_stat,
            "p": p_val,
            "eta_sq": eta,
        }
    )


def anova(
    clips: pd.DataFrame,
    *,
    factors: tuple[str, str],
    measure: str = "deviation",
    axes: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Two-way main-effects ANOVA of the clip-level (absolute) deviation, per axis.

    Parameters
    ----------
    clips : DataFrame
        Clip table with :data:`~emoconvey.analysis.deviation.CLIP_TABLE_COLUMNS` (e.g.
        ``Dataset.clips``). Not modified.
    factors : tuple of two str
        Grouping columns of ``clips``, e.g. ``("system", "intent")``.
    measure : {"deviation", "abs_deviation"}, default "deviation"
        Dependent variable: ``dev_<axis>`` (clip mean − norm) or ``absdev_<axis>``.
    axes : str or sequence of str, optional
        ``"valence"`` and/or ``"arousal"``; default both.

    Returns
    -------
    DataFrame
        :data:`ANOVA_COLUMNS`: ``axis``, ``measure``, then the :func:`two_way_anova`
        columns ``source``, ``sum_sq``, ``df``, ``df_resid``, ``F``, ``p``, ``eta_sq``;
        three rows per axis, axes in the order given.

    Raises
    ------
    DataValidationError, EmoconveyError
        As :func:`two_way_anova`; also for an invalid ``measure`` or ``axes`` (naming the
        argument) and for missing clip-table columns.

    Warns
    -----
    DegenerateDataWarning
        As :func:`two_way_anova`, once per axis.
    """
    fa, fb = _check_factors(factors)
    measure = check_measure(measure)
    axes_t = check_axes(axes)
    require_columns(clips, CLIP_TABLE_COLUMNS, name="clips")
    require_columns(clips, (fa, fb), name="clips", argument="factors")
    data = deviation_table(clips, axes_t, name="clips")
    frames = []
    for axis in axes_t:
        table = two_way_anova(data, dv=f"{MEASURE_PREFIX[measure]}_{axis}", factors=(fa, fb))
        table.insert(0, "measure", measure)
        table.insert(0, "axis", axis)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def system_effect(
    clips: pd.DataFrame, *, axes: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """AImoclips system effect: ANOVA of the signed deviation on system + intent.

    Equivalent to ``anova(clips, factors=("system", "intent"), measure="deviation")``
    with a leading column ``test`` = ``"system_effect"`` (Go et al., 2025, Sec. 5).

    Returns
    -------
    DataFrame
        ``test`` followed by :data:`ANOVA_COLUMNS`.
    """
    out = anova(clips, factors=("system", "intent"), measure="deviation", axes=axes)
    out.insert(0, "test", "system_effect")
    return out


def quadrant_effect(
    clips: pd.DataFrame, *, axes: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """AImoclips quadrant effect: ANOVA of the absolute deviation on quadrant + system.

    Equivalent to ``anova(clips, factors=("quadrant", "system"), measure="abs_deviation")``
    with a leading column ``test`` = ``"quadrant_effect"`` (Go et al., 2025, Sec. 5).

    Returns
    -------
    DataFrame
        ``test`` followed by :data:`ANOVA_COLUMNS`.
    """
    out = anova(clips, factors=("quadrant", "system"), measure="abs_deviation", axes=axes)
    out.insert(0, "test", "quadrant_effect")
    return out
