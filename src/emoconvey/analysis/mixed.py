"""Rating-level linear mixed model with crossed random intercepts for listener and clip.

Per axis *x*, every rating's deviation :math:`y = r - \\nu_{i,x}` (rating minus the
intent's norm) is modelled as

.. math::

    y_{lc} = \\mu + \\alpha_{s(c)} + \\tau_{i(c)} + u_l + v_c + \\varepsilon_{lc},
    \\quad u_l \\sim N(0, \\sigma_L^2),\\; v_c \\sim N(0, \\sigma_C^2),\\;
    \\varepsilon \\sim N(0, \\sigma^2),

i.e. ``dev ~ system + intent + (1 | listener) + (1 | clip)`` in lme4 notation, fitted by
restricted maximum likelihood (REML). Clip-level ANOVAs treat clip means as independent,
but each listener rates many clips (56 in AImoclips) and uses the scale in their own
way; the crossed random effects model both sources of dependence (Baayen, Davidson &
Bates, 2008).

Computation
-----------
The REML criterion is profiled over the relative standard deviations
:math:`\\theta_L = \\sigma_L/\\sigma`, :math:`\\theta_C = \\sigma_C/\\sigma` exactly as lme4
does (Bates et al., 2015, Sec. 3): with :math:`\\Lambda = \\mathrm{diag}(\\theta_L I,
\\theta_C I)`, :math:`Z = [Z_L\\;Z_C]` and :math:`L = I + \\Lambda Z^\\top Z \\Lambda`,

.. math::

    -2\\ell_R(\\theta) = \\log|L| + \\log|X^\\top H^{-1} X|
        + (n-p)\\left[1 + \\log\\frac{2\\pi\\, r^\\top H^{-1} r}{n-p}\\right],
    \\qquad H^{-1} = I - Z\\Lambda L^{-1} \\Lambda Z^\\top,

minimised over :math:`\\theta \\ge 0` (L-BFGS-B from several starts). Because
:math:`Z_C^\\top Z_C` and :math:`Z_L^\\top Z_L` are diagonal, the larger block of
:math:`L` is eliminated in closed form and only a dense Schur complement of the size of
the *smaller* factor (listeners, usually) is factorised. That keeps AImoclips (111
listeners) to milliseconds per evaluation; it is why the model is skipped above
:data:`MAX_DENSE_LEVELS` levels in both factors (e.g. 10^6-rating studies with 10^4
listeners and 10^5 clips), where the dense factorisation would dominate the report. This is an
exact REML, not an approximation; it is pinned to R's ``lme4::lmer`` (REML) on the
bundled data in ``tests/reference/mixed_model.json`` (``scripts/reference/
mixed_model.R``). statsmodels' ``MixedLM`` fits the same model with the crossed terms as
variance components of one group, but works with the dense n x n covariance of that
group: on AImoclips' 6,162 ratings it took 247 s for one axis on the development machine
(and agreed with lme4 to 5 digits), against about a second here, which is why it is not
used.

System estimates are estimated marginal means (Searle, Speed & Milliken, 1980): the
model's mean deviation for the system averaged over the intents with equal weights,
:math:`\\hat\\eta_s = x_s^\\top\\hat\\beta`, with Wald intervals
:math:`\\hat\\eta_s \\pm z_{(1+\\gamma)/2}\\sqrt{x_s^\\top \\widehat{\\mathrm{Cov}}(\\hat\\beta)
x_s}` (normal quantile, as ``confint(fit, method = "Wald")``). The system effect is
tested with the Wald :math:`\\chi^2` of the system coefficients (:math:`k-1` df).
Intraclass correlations are :math:`\\sigma_L^2/(\\sigma_L^2+\\sigma_C^2+\\sigma^2)` and
:math:`\\sigma_C^2/(\\sigma_L^2+\\sigma_C^2+\\sigma^2)`.

References
----------
Bates, D., Mächler, M., Bolker, B., & Walker, S. (2015). Fitting linear mixed-effects
models using lme4. *Journal of Statistical Software*, 67(1), 1-48.

Baayen, R. H., Davidson, D. J., & Bates, D. M. (2008). Mixed-effects modeling with
crossed random effects for subjects and items. *Journal of Memory and Language*, 59(4),
390-412.

Searle, S. R., Speed, F. M., & Milliken, G. A. (1980). Population marginal means in the
linear model: an alternative to least squares means. *The American Statistician*, 34(4),
216-221.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg, optimize, sparse, stats

from emoconvey._validation import (
    AXES,
    check_axes,
    check_confidence,
    require_columns,
    require_rows,
    warn_degenerate,
)
from emoconvey.errors import DataValidationError, EmoconveyError

__all__ = [
    "MAX_DENSE_LEVELS",
    "MIXED_SYSTEM_COLUMNS",
    "MIXED_VARIANCE_COLUMNS",
    "CrossedFit",
    "fit_crossed",
    "mixed_model",
]

log = logging.getLogger(__name__)

MAX_DENSE_LEVELS = 1000
"""The model is skipped (with a warning) when listeners and clips both exceed this.

The dense Schur complement has the size of the smaller factor; at 1,000 levels (the
10^5-rating benchmark study) one REML evaluation takes about 0.15 s and a fit some 40
evaluations per axis; the cost grows with the cube of the size.
"""

_THETA_MAX = 100.0  # random-effect SD at most 100 residual SDs

MIXED_SYSTEM_COLUMNS: tuple[str, ...] = (
    "axis", "system", "estimate", "se", "ci_low", "ci_high",
)
"""Columns of the system table of :func:`mixed_model`."""

MIXED_VARIANCE_COLUMNS: tuple[str, ...] = (
    "axis", "n_ratings", "n_listeners", "n_clips", "listener", "clip", "residual",
    "icc_listener", "icc_clip", "chi2_system", "df_system", "p_system", "reml_criterion",
    "converged",
)
"""Columns of the variance table of :func:`mixed_model`."""


@dataclass(frozen=True)
class CrossedFit:
    """REML fit of ``y ~ X + (1 | a) + (1 | b)``.

    Attributes
    ----------
    beta : ndarray
        Fixed effects.
    cov_beta : ndarray
        Their covariance :math:`\\hat\\sigma^2 (X^\\top H^{-1} X)^{-1}`.
    var_a, var_b, var_resid : float
        Variance of the random intercepts of factor *a*, of factor *b*, and residual.
    reml_criterion : float
        :math:`-2\\ell_R` at the optimum (as ``REMLcrit`` in lme4).
    converged : bool
    """

    beta: np.ndarray
    cov_beta: np.ndarray
    var_a: float
    var_b: float
    var_resid: float
    reml_criterion: float
    converged: bool


class _Profile:
    """Profiled REML criterion for two crossed random intercepts (see module docstring)."""

    def __init__(self, y: np.ndarray, x: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
        n = len(y)
        na, nb = int(a.max()) + 1, int(b.max()) + 1
        self.swap = na > nb  # eliminate the larger factor in closed form
        if self.swap:
            a, b, na, nb = b, a, nb, na
        self.n, self.p = n, x.shape[1]
        self.small = na
        m = np.column_stack([x, y])
        self.mm = m.T @ m
        za = sparse.csr_matrix((np.ones(n), (a, np.arange(n))), shape=(na, n))
        zb = sparse.csr_matrix((np.ones(n), (b, np.arange(n))), shape=(nb, n))
        self.zam = np.asarray(za @ m)  # (na, p+1)
        self.zbm = np.asarray(zb @ m)  # (nb, p+1)
        self.da = np.bincount(a, minlength=na).astype(float)
        self.db = np.bincount(b, minlength=nb).astype(float)
        self.c = (za @ zb.T).tocsr()  # (na, nb) counts

    def parts(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """log|L| and Q = M' H^{-1} M for M = [X y]."""
        ta, tb = float(theta[0]), float(theta[1])
        if self.swap:
            ta, tb = tb, ta
        dbt = 1.0 + tb * tb * self.db
        wa = ta * self.zam
        wb = tb * self.zbm
        cd = self.c.multiply(1.0 / dbt[None, :]).tocsr()  # C Db~^-1
        s = (ta * tb) ** 2 * np.asarray((cd @ self.c.T).todense())
        s = np.diag(1.0 + ta * ta * self.da) - s
        ra = wa - ta * tb * np.asarray(cd @ wb)
        chol = linalg.cho_factor(s, lower=True, check_finite=False)
        logdet = float(np.log(dbt).sum() + 2.0 * np.log(np.diag(chol[0])).sum())
        q = self.mm - (wb / dbt[:, None]).T @ wb - ra.T @ linalg.cho_solve(chol, ra)
        return logdet, q

    def criterion(self, theta: np.ndarray) -> float:
        try:
            logdet, q = self.parts(theta)
            p, n = self.p, self.n
            xtx, xty, yty = q[:p, :p], q[:p, p], q[p, p]
            chol = linalg.cho_factor(xtx, lower=True, check_finite=False)
        except linalg.LinAlgError:  # far out in theta, X'H^-1 X loses definiteness
            return np.inf
        beta = linalg.cho_solve(chol, xty)
        rss = float(yty - xty @ beta)
        if not rss > 0:
            return np.inf
        logdet_x = 2.0 * np.log(np.diag(chol[0])).sum()
        return float(logdet + logdet_x + (n - p) * (1.0 + np.log(2.0 * np.pi * rss / (n - p))))


@contextlib.contextmanager
def _single_blas_thread() -> Iterator[None]:
    """One BLAS thread while fitting: the matrices are small, and threads only contend."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


_CRIT_TOL = 1e-7  # criteria this close (relative) are the same optimum


def _choose_optimum(results: Sequence[optimize.OptimizeResult]) -> optimize.OptimizeResult:
    """The lowest criterion among the starts, preferring a converged one within tolerance.

    L-BFGS-B can end "ABNORMAL_TERMINATION_IN_LNSRCH" at the optimum when the line
    search meets rounding noise; such a start may lie 1e-12 below a converged one. Among
    results within :data:`_CRIT_TOL` (relative) of the lowest, a converged one is kept.
    """
    low = min(float(r.fun) for r in results)
    near = [r for r in results if float(r.fun) <= low + _CRIT_TOL * max(1.0, abs(low))]
    done = [r for r in near if r.success]
    return min(done or near, key=lambda r: float(r.fun))


def _stationary(
    criterion: Callable[[np.ndarray], float], theta: np.ndarray, *, tol: float = 1e-3
) -> bool:
    """Whether ``theta`` satisfies the first-order conditions of the bounded problem.

    Central differences of the criterion (-2 REML log-likelihood): each coordinate's
    derivative is at most ``tol`` in absolute value, or non-negative at the lower bound
    0 (the optimum lies on the boundary, :math:`\\sigma = 0`).
    """
    f = criterion
    for i in range(len(theta)):
        h = 1e-5 * max(1.0, abs(float(theta[i])))
        up, down = theta.copy(), theta.copy()
        up[i] += h
        if theta[i] - h >= 0:
            down[i] -= h
            g = (f(up) - f(down)) / (2.0 * h)
        else:
            g = (f(up) - f(theta)) / h
        if not np.isfinite(g):
            return False
        at_bound = theta[i] <= h
        if abs(g) > tol and not (at_bound and g > 0):
            return False
    return True


def fit_crossed(
    y: np.ndarray, x: np.ndarray, a: np.ndarray, b: np.ndarray
) -> CrossedFit:
    """REML fit of a linear model with two crossed random intercepts.

    Parameters
    ----------
    y : array, shape (n,)
        Response.
    x : array, shape (n, p)
        Full-rank fixed-effects design (with intercept).
    a, b : array of int, shape (n,)
        Level codes ``0..n_a-1`` and ``0..n_b-1`` of the two random factors.

    Returns
    -------
    CrossedFit
    """
    y = np.asarray(y, dtype=float)
    x = np.asarray(x, dtype=float)
    with _single_blas_thread():
        prof = _Profile(y, x, np.asarray(a), np.asarray(b))
        # REML for variance components is rarely multimodal: a second start only where
        # it is cheap (small Schur complement)
        starts = ((0.5, 0.5), (0.1, 1.0)) if prof.small <= 300 else ((0.5, 0.5),)
        results = [
            optimize.minimize(
                prof.criterion, np.array(start), method="L-BFGS-B",
                bounds=[(0.0, _THETA_MAX), (0.0, _THETA_MAX)],
                options={"ftol": 1e-12, "gtol": 1e-9},
            )
            for start in starts
        ]
        best = _choose_optimum(results)
        converged = bool(best.success) or _stationary(prof.criterion, best.x)
        theta = best.x
        _, q = prof.parts(theta)
    p, n = prof.p, prof.n
    xtx, xty, yty = q[:p, :p], q[:p, p], q[p, p]
    beta = linalg.solve(xtx, xty, assume_a="pos")
    sigma2 = float(yty - xty @ beta) / (n - p)
    return CrossedFit(
        beta=beta,
        cov_beta=sigma2 * linalg.inv(xtx),
        var_a=sigma2 * float(theta[0]) ** 2,
        var_b=sigma2 * float(theta[1]) ** 2,
        var_resid=sigma2,
        reml_criterion=float(best.fun),
        converged=converged,
    )


def _design(systems: pd.Series, intents: pd.Series) -> tuple[np.ndarray, list[str], int, int]:
    s_codes, s_levels = pd.factorize(systems, sort=True)
    i_codes, i_levels = pd.factorize(intents, sort=True)
    n = len(systems)
    k, m = len(s_levels), len(i_levels)
    x = np.zeros((n, 1 + (k - 1) + (m - 1)))
    x[:, 0] = 1.0
    rows = np.arange(n)
    keep = s_codes > 0
    x[rows[keep], s_codes[keep]] = 1.0
    keep = i_codes > 0
    x[rows[keep], k - 1 + i_codes[keep]] = 1.0
    return x, [str(s) for s in s_levels], k, m


def mixed_model(
    ratings: pd.DataFrame,
    intents: pd.DataFrame,
    *,
    axes: str | Sequence[str] | None = None,
    confidence: float = 0.95,
    max_levels: int = MAX_DENSE_LEVELS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit ``dev ~ system + intent + (1 | listener) + (1 | clip)`` per axis.

    Parameters
    ----------
    ratings : DataFrame
        Rating table (``Dataset.ratings``: ``listener, clip, system, intent`` and the
        axes). Not modified.
    intents : DataFrame
        ``intent``, ``norm_valence``, ``norm_arousal`` (``Dataset.intents``).
    axes : str or sequence of str, optional
        Default both.
    confidence : float, default 0.95
    max_levels : int, default :data:`MAX_DENSE_LEVELS`
        Skip the fit (warning, empty tables) when both the listeners and the clips
        exceed this number.

    Returns
    -------
    systems : DataFrame
        :data:`MIXED_SYSTEM_COLUMNS`: per axis and system the estimated marginal mean
        deviation ``estimate``, its ``se`` and Wald ``ci_low``, ``ci_high``.
    variance : DataFrame
        :data:`MIXED_VARIANCE_COLUMNS`: per axis the counts, the variances ``listener``,
        ``clip``, ``residual``, ``icc_listener``, ``icc_clip``, the Wald test of the
        system effect (``chi2_system``, ``df_system``, ``p_system``), the REML criterion
        and ``converged``.

    Warns
    -----
    DegenerateDataWarning
        Too many levels (skipped); fewer than two listeners or clips, or a fixed-effect
        design that is not of full rank (that axis is skipped).
    """
    axes_t = check_axes(axes)
    conf = check_confidence(confidence)
    require_columns(ratings, ["listener", "clip", "system", "intent", *axes_t], name="ratings")
    require_rows(ratings, name="ratings")
    require_columns(intents, ["intent", *(f"norm_{a}" for a in axes_t)], name="intents")
    sys_rows: list[pd.DataFrame] = []
    var_rows: list[dict[str, object]] = []
    empty = (
        pd.DataFrame({c: pd.Series(dtype=object) for c in MIXED_SYSTEM_COLUMNS}),
        pd.DataFrame({c: pd.Series(dtype=object) for c in MIXED_VARIANCE_COLUMNS}),
    )
    lis, lis_levels = pd.factorize(ratings["listener"])
    clip, clip_levels = pd.factorize(ratings["clip"])
    if len(lis_levels) > max_levels and len(clip_levels) > max_levels:
        warn_degenerate(
            f"mixed_model: {len(lis_levels)} listeners and {len(clip_levels)} clips both "
            f"exceed max_levels={max_levels}; the mixed model is skipped (see "
            "emoconvey.analysis.mixed.MAX_DENSE_LEVELS)"
        )
        return empty
    if len(lis_levels) < 2 or len(clip_levels) < 2:
        warn_degenerate("mixed_model: fewer than two listeners or clips; model skipped")
        return empty
    norms = intents.drop_duplicates("intent").set_index("intent")
    unknown = sorted(set(ratings["intent"].astype(str)) - set(norms.index.astype(str)))
    if unknown:
        raise DataValidationError(
            f"intent(s) {unknown!r} of the ratings have no norm in intents", column="intent"
        )
    x, systems, k, m = _design(ratings["system"].astype(str), ratings["intent"].astype(str))
    if np.linalg.matrix_rank(x) < x.shape[1]:
        warn_degenerate("mixed_model: the system + intent design is not of full rank "
                        "(a system lacks an intent?); model skipped")
        return empty
    # estimated marginal means: intercept + system dummy + mean of intent dummies
    emm_x = np.zeros((k, x.shape[1]))
    emm_x[:, 0] = 1.0
    emm_x[np.arange(1, k), np.arange(1, k)] = 1.0
    emm_x[:, k:] = 1.0 / m
    z = float(stats.norm.ppf(0.5 + conf / 2.0))
    for axis in axes_t:
        if axis not in AXES:
            raise EmoconveyError(f"axes: unknown axis {axis!r}")
        norm = ratings["intent"].astype(str).map(norms[f"norm_{axis}"]).to_numpy(dtype=float)
        y = ratings[axis].to_numpy(dtype=float) - norm
        try:
            fit = fit_crossed(y, x, lis, clip)
        except (linalg.LinAlgError, np.linalg.LinAlgError, ValueError) as err:
            warn_degenerate(f"mixed_model: the {axis} model cannot be fitted ({err}); "
                            "axis skipped")
            continue
        if not np.all(np.isfinite(fit.cov_beta)):
            warn_degenerate(f"mixed_model: the {axis} fit is singular; axis skipped")
            continue
        est = emm_x @ fit.beta
        se = np.sqrt(np.einsum("ij,jk,ik->i", emm_x, fit.cov_beta, emm_x))
        sys_rows.append(pd.DataFrame({
            "axis": axis, "system": systems, "estimate": est, "se": se,
            "ci_low": est - z * se, "ci_high": est + z * se,
        }))
        var_rows.append(_variance_row(fit, axis=axis, k=k, n_ratings=len(y),
                                      n_listeners=len(lis_levels), n_clips=len(clip_levels)))
    log.debug("mixed_model: %d ratings, %d listeners, %d clips", len(lis), len(lis_levels),
              len(clip_levels))
    if not sys_rows:
        return empty
    return (
        pd.concat(sys_rows, ignore_index=True).loc[:, list(MIXED_SYSTEM_COLUMNS)],
        pd.DataFrame(var_rows).loc[:, list(MIXED_VARIANCE_COLUMNS)],
    )


def _variance_row(fit: CrossedFit, *, axis: str, k: int, n_ratings: int, n_listeners: int,
                  n_clips: int) -> dict[str, object]:
    """One row of the variance table: components, ICCs and the Wald test of the
    ``k - 1`` system coefficients (NaN, with a warning, when their covariance is
    singular)."""
    b_sys = fit.beta[1:k]
    try:
        chi2 = float(b_sys @ np.linalg.solve(fit.cov_beta[1:k, 1:k], b_sys))
        p_sys = float(stats.chi2.sf(chi2, k - 1))
    except np.linalg.LinAlgError:
        warn_degenerate(f"mixed_model: the {axis} system coefficients have a singular "
                        "covariance; their test is NaN")
        chi2 = p_sys = float("nan")
    if k < 2:
        chi2 = p_sys = float("nan")
    total = fit.var_a + fit.var_b + fit.var_resid
    if not fit.converged:
        warn_degenerate(f"mixed_model: the {axis} fit did not report convergence")
    return {
        "axis": axis, "n_ratings": n_ratings, "n_listeners": n_listeners,
        "n_clips": n_clips, "listener": fit.var_a, "clip": fit.var_b,
        "residual": fit.var_resid,
        "icc_listener": fit.var_a / total if total > 0 else float("nan"),
        "icc_clip": fit.var_b / total if total > 0 else float("nan"),
        "chi2_system": chi2, "df_system": k - 1,
        "p_system": p_sys, "reml_criterion": fit.reml_criterion,
        "converged": fit.converged,
    }
