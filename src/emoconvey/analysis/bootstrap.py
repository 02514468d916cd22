"""Uncertainty of the system ranking: bootstrap intervals, rank intervals, tie groups.

Every ranking metric of :func:`~emoconvey.analysis.ranking.system_ranking` is a mean over
a system's clips of a per-clip quantity :math:`m_c`:

* ``mean_distance``: :math:`\\sqrt{d_{c,v}^2 + d_{c,a}^2}` (smaller is better);
* ``mae_valence``, ``mae_arousal``: :math:`|d_{c,x}|` (smaller is better);
* ``hit_rate``: 1 when the clip mean lies in the intended quadrant (larger is better).

Resampling scheme
-----------------
Clips are resampled with replacement **within each (system, intent) cell**, and, when
the ratings are given, every replicate also **redraws every listener's shift** (a
crossed bootstrap of the two random factors of a listening test):

1. each listener's shift :math:`\\hat u_l` (valence, arousal) and the listener variance
   :math:`\\hat\\sigma_L^2` are estimated by moments (:func:`listener_effects`), and
   each clip's deviation is adjusted to :math:`\\tilde d_c = d_c - \\bar{\\hat u}_c`,
   the mean shift of its raters removed;
2. a replicate draws clips within cells (below) and a new shift for every listener,
   with replacement from the centred shifts rescaled to variance
   :math:`\\rho\\,\\hat\\sigma_L^2`; a drawn clip's deviation is
   :math:`\\tilde d_c` plus the mean new shift of its raters, and the metric is
   computed from it. A listener's new shift is shared by all the clips they rated, in
   every system, so the replicates carry the correlation between clips that share
   listeners, and between systems. :math:`\\rho` (:func:`_redraw_share`) removes the
   part of the listener variance that the clip draws already carry.

Why: a listener's shift is shared by all their clips. Resampling clips alone treats
the clips of a system as independent and misses that shared part: on simulated
AImoclips-like studies (4 systems x 6 intents x 8 clips, 6 ratings per clip,
listener/clip/residual variances 0.67/0.45/2.71) its intervals covered 0.91-0.93
instead of 0.95, with bootstrap s.e. / true s.d. = 0.86-0.89 (issue 17). Resampling
whole listeners and clips (Owen's, 2007, pigeonhole bootstrap) counts the residual and
the listener variance twice in a design with a few ratings per clip and is conservative
(McCullagh, 2000); redrawing the *shifts* counts each source once, and its variance is
exact for a metric linear in the deviations (``scripts/reference/crossed_bootstrap.py``).
It costs one sparse product (ratings x replicates) per axis: at the 10^6 ratings of
``benchmarks/analysis_scale.py`` the bootstrap took 1.5-1.9 s against 0.6-1.1 s for
clips alone (2 shared cores; load plus analysis 13.6 s against 11.3 s). Without
ratings (a clip table alone) only clips are resampled.

Cells: the design fixes the systems and the intents (the experimenter's choice, not a
sample), while clips are a sample from each system's output for an intent; drawing
within cells keeps every replicate's intent mix equal to the study's. Within a cell of
:math:`n_h` clips, :math:`n_h - 1` clips are drawn and weighted :math:`n_h/(n_h-1)`
(McCarthy & Snowden, 1985): the plain stratified bootstrap shrinks the variance by
:math:`(n_h-1)/n_h`, a quarter with four clips per cell. Drawing is vectorised over
replicates in memory-bounded chunks (at most :data:`MAX_DRAWS` clip draws).

Intervals are percentile intervals of the replicates **centred on the estimate**
(:math:`T^* - \\bar T^* + \\hat T`): the metrics are convex in the deviations
(absolute values, distances), so replicates whose clip deviations carry slightly more
variance than the study's (the estimated shifts are noisy) sit above the estimate,
while the estimate itself is unbiased for the expected metric. Plain percentile
intervals then miss low; BCa's bias correction moves them by twice the offset (it
assumes a median-biased estimator) and misses high. Chosen by simulation
(``benchmarks/ranking_calibration.py``; coverage table in the README).

In each replicate the systems are ranked (ties share the lower rank); ``rank_low`` and
``rank_high`` are the :math:`(1-\\gamma)/2` and :math:`(1+\\gamma)/2` quantiles of a
system's rank over the replicates (lower and higher quantile, so the interval is made of
attained ranks). ``p_best`` is the posterior probability of being best under a
hierarchical model fitted to the estimates and their bootstrap covariance
(:func:`posterior_p_best`), not the share of replicates in which a system ranks first,
which is overconfident over studies with random truth. Two systems *differ* when the
two-sided bootstrap p-value of their difference,
:math:`2 \\min(\\Pr^*(\\Delta \\le 0), \\Pr^*(\\Delta \\ge 0))`, is below
:math:`1-\\gamma` after Holm's (1979) step-down adjustment over all pairs; ``group``
is the compact letter display of those decisions (Piepho, 2004): systems that share a
letter are not distinguishable.

References
----------
Efron, B. (1987). Better bootstrap confidence intervals. *Journal of the American
Statistical Association*, 82(397), 171-185.

Efron, B., & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*. Chapman & Hall.

Gelman, A. (2006). Prior distributions for variance parameters in hierarchical models.
*Bayesian Analysis*, 1(3), 515-534.

Gelman, A., Carlin, J. B., Stern, H. S., Dunson, D. B., Vehtari, A., & Rubin, D. B.
(2013). *Bayesian Data Analysis* (3rd ed.). CRC Press.

Owen, A. B. (2007). The pigeonhole bootstrap. *The Annals of Applied Statistics*, 1(2),
386-411.

McCullagh, P. (2000). Resampling and exchangeable arrays. *Bernoulli*, 6(2), 285-301.

McCarthy, P. J., & Snowden, C. B. (1985). The bootstrap and finite population
sampling. *Vital and Health Statistics*, Series 2, No. 95. NCHS.

Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scandinavian
Journal of Statistics*, 6(2), 65-70.

Piepho, H.-P. (2004). An algorithm for a letter-based representation of all-pairwise
comparisons. *Journal of Computational and Graphical Statistics*, 13(2), 456-466.

Hall, P., & Miller, H. (2009). Using the bootstrap to quantify the authority of an
empirical ranking. *The Annals of Statistics*, 37(6B), 3929-3959.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse, stats
from scipy.stats import rankdata

from emoconvey._validation import (
    AXES,
    check_choice,
    check_confidence,
    check_positive_int,
    require_columns,
    warn_degenerate,
)
from emoconvey.analysis.adjust import holm
from emoconvey.analysis.deviation import clip_deviations
from emoconvey.errors import EmoconveyError
from emoconvey.intents import QUADRANT_SPLIT, quadrant_of

__all__ = [
    "BOOTSTRAP_COLUMNS",
    "DEFAULT_N_BOOT",
    "INTERVALS",
    "RANKING_METRICS",
    "ListenerEffects",
    "bootstrap_ranking",
    "holm",
    "listener_effects",
    "pairwise_bootstrap_p",
    "posterior_p_best",
    "rank_intervals",
    "tie_groups",
]

log = logging.getLogger(__name__)

RANKING_METRICS: dict[str, bool] = {
    "mean_distance": True,
    "mae_valence": True,
    "mae_arousal": True,
    "hit_rate": False,
}
"""Ranking metrics and whether smaller is better."""

DEFAULT_N_BOOT = 2000
"""Default number of bootstrap replicates."""

BOOTSTRAP_COLUMNS: tuple[str, ...] = (
    "metric",
    "system",
    "estimate",
    "ci_low",
    "ci_high",
    "rank",
    "rank_low",
    "rank_high",
    "p_best",
    "group",
    "n_boot",
)
"""Columns of :func:`bootstrap_ranking`."""

INTERVALS: tuple[str, ...] = ("centred", "percentile", "bca")
"""Interval methods of :func:`bootstrap_ranking` (default first)."""

MAX_DRAWS = 20_000_000
"""Most clip draws (replicates x clips) :func:`bootstrap_ranking` makes."""

MIN_BOOT = 200
"""Fewest replicates :func:`bootstrap_ranking` draws, whatever the number of clips."""

_CHUNK_ELEMENTS = 4_000_000  # gathered values per chunk (x 4 metrics x 8 bytes = 128 MB)


def _ranks(values: np.ndarray, *, smaller_is_better: bool) -> np.ndarray:
    """Row-wise ranks, 1 = best, ties share the lower rank."""
    v = values if smaller_is_better else -values
    return rankdata(v, method="min", axis=-1).astype(int)


def rank_intervals(
    replicates: np.ndarray,
    *,
    smaller_is_better: bool = True,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Bootstrap distribution of ranks.

    Parameters
    ----------
    replicates : array, shape (n_boot, k)
        Metric of each of *k* systems in each replicate.
    smaller_is_better : bool, default True
    confidence : float, default 0.95

    Returns
    -------
    DataFrame
        One row per system (column order of ``replicates``): ``rank_low``,
        ``rank_high`` (quantiles of the replicate ranks, see the module docstring),
        ``p_best`` (share of replicates ranked first, ties counting for each).
    """
    conf = check_confidence(confidence)
    reps = np.asarray(replicates, dtype=float)
    if reps.ndim != 2 or reps.shape[0] < 1 or reps.shape[1] < 1:
        raise EmoconveyError(
            f"replicates: expected a non-empty 2-D array (n_boot, k), got shape {reps.shape}"
        )
    ranks = _ranks(reps, smaller_is_better=smaller_is_better)
    tail = (1.0 - conf) / 2.0
    low = np.quantile(ranks, tail, axis=0, method="lower")
    high = np.quantile(ranks, 1.0 - tail, axis=0, method="higher")
    return pd.DataFrame(
        {
            "rank_low": low.astype(int),
            "rank_high": high.astype(int),
            "p_best": (ranks == 1).mean(axis=0),
        }
    )


def pairwise_bootstrap_p(replicates: np.ndarray) -> np.ndarray:
    """Two-sided bootstrap p-values of all pairwise differences.

    Parameters
    ----------
    replicates : array, shape (n_boot, k)

    Returns
    -------
    ndarray, shape (k, k)
        Symmetric; ``p[i, j] = min(1, 2 min(P*(x_i - x_j <= 0), P*(x_i - x_j >= 0)))``;
        1 on the diagonal and for replicates that never differ.
    """
    reps = np.asarray(replicates, dtype=float)
    k = reps.shape[1]
    p = np.ones((k, k))
    for i in range(k):
        d = reps[:, i : i + 1] - reps[:, i + 1 :]
        le = (d <= 0).mean(axis=0)
        ge = (d >= 0).mean(axis=0)
        p[i, i + 1 :] = np.minimum(1.0, 2.0 * np.minimum(le, ge))
    iu = np.triu_indices(k, 1)
    p.T[iu] = p[iu]
    return p


def tie_groups(
    systems: list[str],
    p_adjusted: np.ndarray,
    *,
    alpha: float,
    order: list[str] | None = None,
) -> dict[str, str]:
    """Compact letter display: systems sharing a letter are not significantly different.

    Parameters
    ----------
    systems : list of str
        Names, in the row order of ``p_adjusted``.
    p_adjusted : array, shape (k, k)
        Adjusted pairwise p-values.
    alpha : float
        A pair differs when its adjusted p-value is below ``alpha``.
    order : list of str, optional
        Order in which letters are handed out (best first). Default: ``systems``.

    Returns
    -------
    dict
        ``{system: letters}``, e.g. ``{"A": "a", "B": "ab", "C": "b"}``.
    """
    from emoconvey.plots.deviation import compact_letter_display

    p = np.asarray(p_adjusted, dtype=float)
    k = len(systems)
    sig = [
        (systems[i], systems[j])
        for i in range(k)
        for j in range(i + 1, k)
        if np.isfinite(p[i, j]) and p[i, j] < alpha
    ]
    return compact_letter_display(order or systems, sig)


def _metric_table(clips: pd.DataFrame) -> pd.DataFrame:
    dev = clip_deviations(clips)
    quad = dev["quadrant"].astype(str).to_numpy()
    sign_v = np.where(np.char.startswith(quad.astype(str), "hv"), 1.0, -1.0)
    sign_a = np.where(np.char.endswith(quad.astype(str), "ha"), 1.0, -1.0)
    out = pd.DataFrame(
        {
            "system": dev["system"].astype(str).to_numpy(),
            "intent": dev["intent"].astype(str).to_numpy(),
            "mean_distance": np.hypot(dev["dev_valence"], dev["dev_arousal"]).to_numpy(),
            "mae_valence": dev["absdev_valence"].to_numpy(dtype=float),
            "mae_arousal": dev["absdev_arousal"].to_numpy(dtype=float),
            "hit_rate": (
                quadrant_of(dev["valence"], dev["arousal"]) == dev["quadrant"].to_numpy()
            ).astype(float),
            "dev_valence": dev["dev_valence"].to_numpy(dtype=float),
            "dev_arousal": dev["dev_arousal"].to_numpy(dtype=float),
            # a clip hits when sign * dev > edge on both axes (see quadrant_of)
            "sign_v": sign_v,
            "sign_a": sign_a,
            "edge_v": sign_v * (QUADRANT_SPLIT - dev["norm_valence"].to_numpy(dtype=float)),
            "edge_a": sign_a * (QUADRANT_SPLIT - dev["norm_arousal"].to_numpy(dtype=float)),
        }
    )
    return out


@dataclass(frozen=True)
class ListenerEffects:
    """Listener shifts of a study, estimated by moments (see :func:`listener_effects`).

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix, shape (n_clips, n_listeners)
        Row *c* averages over the clip's raters: :math:`1/n_c` at each of them.
    effects : ndarray, shape (n_listeners, 2)
        Estimated shift :math:`\\hat u_l` (valence, arousal) of every listener.
    variance : ndarray, shape (2,)
        Moment estimate of the listener variance :math:`\\sigma_L^2` per axis.
    within : ndarray, shape (2,)
        Pooled within-clip variance :math:`\\sigma_L^2 + \\sigma^2` per axis.
    """

    matrix: sparse.csr_matrix
    effects: np.ndarray
    variance: np.ndarray
    within: np.ndarray

    def pool(self) -> np.ndarray:
        """Centred shifts rescaled so that their variance is :attr:`variance` per axis."""
        u = self.effects - self.effects.mean(axis=0)
        sd = u.std(axis=0)
        scale = np.where(sd > 0, np.sqrt(self.variance) / np.where(sd > 0, sd, 1.0), 0.0)
        return u * scale


def listener_effects(ratings: pd.DataFrame, clips: pd.Series) -> ListenerEffects:
    """Estimate every listener's shift and the listener variance, by moments.

    With :math:`r_{lc} = y_{lc} - \\bar y_c` (a rating minus its clip's mean) and
    :math:`e_l` the mean of listener *l*'s :math:`m_l` residuals, under the crossed model
    :math:`y_{lc} = \\mu_c + u_l + \\varepsilon_{lc}` (clip effects cancel in
    :math:`r`) and :math:`k_l` the mean of :math:`1 - 1/n_c` over the listener's clips,

    .. math::

        E[e_l] \\approx k_l u_l, \\qquad
        \\mathrm{Var}(e_l) \\approx k_l^2 (1 - 1/m_l)\\,\\sigma_L^2 + W k_l / m_l,

    where :math:`W = \\sigma_L^2 + \\sigma^2` is estimated by the pooled within-clip
    variance. Hence :math:`\\hat u_l = e_l / k_l` and
    :math:`\\hat\\sigma_L^2 = \\max\\{0, (s_e^2 - W\\,\\overline{k/m}) /
    \\overline{k^2(1-1/m)}\\}`
    (:math:`s_e^2` the variance of the :math:`e_l` over listeners). Linear in the
    ratings (two passes), so it scales to 10^6-rating studies where the REML fit of
    :mod:`emoconvey.analysis.mixed` is skipped; on balanced designs it agrees with
    REML within sampling error (``tests/analysis/test_bootstrap.py``).

    Parameters
    ----------
    ratings : DataFrame
        ``listener``, ``clip``, ``valence``, ``arousal``. Ratings of clips not in
        ``clips`` are ignored.
    clips : Series
        Clip names, in the row order of :attr:`ListenerEffects.matrix`.

    Returns
    -------
    ListenerEffects
    """
    require_columns(ratings, ["listener", "clip", *AXES], name="ratings")
    pos = pd.Index(clips.astype(str)).get_indexer(ratings["clip"].astype(str))
    keep = pos >= 0
    c = pos[keep]
    lis, _ = pd.factorize(ratings["listener"].to_numpy()[keep])
    y = ratings.loc[keep, list(AXES)].to_numpy(dtype=float)
    n_clips, n_lis = len(clips), int(lis.max()) + 1 if len(lis) else 0
    n_c = np.bincount(c, minlength=n_clips).astype(float)
    mean_c = np.column_stack(
        [np.bincount(c, weights=y[:, j], minlength=n_clips) for j in range(2)]
    ) / np.maximum(n_c, 1.0)[:, None]
    resid = y - mean_c[c]
    dof = float((n_c[n_c > 0] - 1.0).sum())
    within = (resid**2).sum(axis=0) / dof if dof > 0 else np.zeros(2)
    m_l = np.bincount(lis, minlength=n_lis).astype(float)
    k_l = np.bincount(lis, weights=1.0 - 1.0 / n_c[c], minlength=n_lis) / m_l
    e = np.column_stack(
        [np.bincount(lis, weights=resid[:, j], minlength=n_lis) for j in range(2)]
    ) / m_l[:, None]
    ok = k_l > 0
    effects = np.zeros_like(e)
    effects[ok] = e[ok] / k_l[ok, None]
    denom = float(np.mean(k_l[ok] ** 2 * (1.0 - 1.0 / m_l[ok]))) if ok.any() else 0.0
    if denom > 1e-12 and ok.sum() > 1:
        s2 = e[ok].var(axis=0, ddof=1)
        variance = np.maximum(0.0, (s2 - within * float(np.mean(k_l[ok] / m_l[ok]))) / denom)
    else:  # every listener rated one clip: shifts are not identifiable
        variance = np.zeros(2)
    matrix = sparse.csr_matrix(
        (1.0 / n_c[c], (c, lis)), shape=(n_clips, n_lis)
    )
    return ListenerEffects(matrix=matrix, effects=effects, variance=variance, within=within)


def _redraw_share(
    matrix: sparse.csr_matrix, cell: np.ndarray, system: np.ndarray, k: int
) -> float:
    """Share of the listener variance that the redrawn shifts must carry.

    A drawn clip carries its raters' shifts with its draw weight :math:`W_c`
    (:math:`E W_c = 1`, :math:`\\mathrm{Var}\\,W_c = 1`, :math:`\\mathrm{Cov} =
    -1/(n_h-1)` within a cell), so shifts of variance :math:`s^2` add
    :math:`s^2 \\sum_l [g_l^2 + a_l^\\top C a_l]` to a system mean, with
    :math:`a_{lc} = 1/(N_s n_c)` for the clips *l* rated, :math:`g_l = \\sum_c a_{lc}`
    and *C* the covariance of the weights, where the study's listeners contribute
    :math:`\\sigma_L^2 \\sum_l g_l^2`. The second term counts the listener part of the
    clip means a second time, through the clip draws; the shifts are therefore drawn with
    variance :math:`\\rho\\,\\hat\\sigma_L^2`,
    :math:`\\rho = \\sum g^2 / \\sum (g^2 + a^\\top C a)` over systems and listeners
    (exact for a metric linear in the deviations, e.g. one-signed absolute deviations;
    pinned to ``scripts/reference/crossed_bootstrap.py``).
    """
    n_sys = np.bincount(system, minlength=k).astype(float)
    a = sparse.diags(1.0 / n_sys[system]) @ matrix
    rows = np.arange(len(cell))
    by_system = sparse.csr_matrix((np.ones(len(cell)), (system, rows)), shape=(k, len(cell)))
    n_cells = int(cell.max()) + 1
    by_cell = sparse.csr_matrix((np.ones(len(cell)), (cell, rows)), shape=(n_cells, len(cell)))
    g2 = float((by_system @ a).power(2).sum())
    s1 = (by_cell @ a).power(2).sum(axis=1).A1  # sum over listeners of (sum_c a)^2
    s2 = (by_cell @ a.power(2)).sum(axis=1).A1  # sum over listeners of sum_c a^2
    size = np.bincount(cell, minlength=n_cells).astype(float)
    multi = size > 1
    extra = float((s2[multi] - (s1[multi] - s2[multi]) / (size[multi] - 1.0)).sum())
    return g2 / (g2 + extra) if g2 + extra > 0 else 0.0


def _replicates(
    dev: np.ndarray,
    hit_sign: np.ndarray,
    hit_edge: np.ndarray,
    cell: np.ndarray,
    system: np.ndarray,
    k: int,
    *,
    listeners: ListenerEffects | None,
    n_boot: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Replicate means, shape (n_boot, k, 4) in the order of :data:`RANKING_METRICS`.

    ``dev`` are the clip deviations (listener-adjusted when ``listeners`` is given),
    a clip *hits* when ``hit_sign * dev > hit_edge`` on both axes. Clips are drawn
    within cells: a cell of :math:`n_h \\ge 2` clips contributes :math:`n_h - 1` draws,
    each weighted :math:`n_h / (n_h - 1)` (McCarthy & Snowden, 1985), so the bootstrap
    variance of a system mean equals the unbiased stratified variance estimate; drawing
    :math:`n_h` would shrink it by :math:`(n_h - 1)/n_h`, which matters for the few
    clips per (system, intent) cell of a listening test. A one-clip cell is drawn as
    itself. With ``listeners``, every replicate also draws a new shift for every
    listener from :meth:`ListenerEffects.pool` and adds each clip's raters' mean shift.
    """
    order = np.argsort(cell, kind="stable")
    dev, hit_sign, hit_edge, cell = dev[order], hit_sign[order], hit_edge[order], cell[order]
    n_cells = int(cell.max()) + 1
    size = np.bincount(cell, minlength=n_cells)
    start = np.concatenate([[0], np.cumsum(size)[:-1]])
    cell_system = np.zeros(n_cells, dtype=np.int64)
    cell_system[cell] = system[order]
    draws = np.maximum(size - 1, 1)
    draw_cell = np.repeat(np.arange(n_cells), draws)  # sorted by cell, hence by system
    base = start[draw_cell]
    width = size[draw_cell]
    weight = (size / draws)[draw_cell]
    sys_start = np.searchsorted(cell_system[draw_cell], np.arange(k))
    n_sys = np.bincount(system, minlength=k).astype(float)
    n = len(draw_cell)
    out = np.empty((n_boot, k, len(RANKING_METRICS)))
    pool = matrix = None
    if listeners is not None:
        matrix = listeners.matrix[order]
        pool = listeners.pool() * np.sqrt(_redraw_share(matrix, cell, cell_system[cell], k))
    chunk = max(1, _CHUNK_ELEMENTS // max(n, len(dev), 1))
    width32, base32 = width.astype(np.int32), base.astype(np.int32)
    # in signed coordinates sign * d a hit is sign * d > edge on both axes; |d| and the
    # distance are unchanged, so one gather per axis serves every metric
    columns = [np.ascontiguousarray(hit_sign[:, j] * dev[:, j]) for j in range(2)]
    edges = [np.ascontiguousarray(hit_edge[:, j]) for j in range(2)]
    signed = ([sparse.diags(hit_sign[:, j]) @ matrix for j in range(2)]
              if matrix is not None else [])
    for b0 in range(0, n_boot, chunk):
        b1 = min(n_boot, b0 + chunk)
        idx = rng.integers(0, width32, size=(b1 - b0, n), dtype=np.int32)
        idx += base32  # int32 indices: a fifth less memory traffic in the gathers
        d = [col[idx] for col in columns]  # 2-D gathers: far faster than one 3-D gather
        if pool is not None:
            draw = rng.integers(0, len(pool), size=(b1 - b0, len(pool)))
            for j in range(2):
                shift = np.ascontiguousarray((signed[j] @ pool[draw, j].T).T)
                d[j] += np.take_along_axis(shift, idx, axis=1)
        hit = (d[0] > edges[0][idx]) & (d[1] > edges[1][idx])
        per_clip = (np.hypot(d[0], d[1]), np.abs(d[0]), np.abs(d[1]), hit.astype(float))
        for m, vals in enumerate(per_clip):
            vals *= weight
            out[b0:b1, :, m] = np.add.reduceat(vals, sys_start, axis=1) / n_sys
    return out


def _interval(
    reps: np.ndarray, est: np.ndarray, accel: np.ndarray, *, conf: float, method: str
) -> tuple[np.ndarray, np.ndarray]:
    """Centred-percentile, percentile or BCa interval of each column of ``reps``.

    ``"centred"``: percentiles of :math:`T^* - \\bar T^* + \\hat T`, the replicates
    moved so that their mean is the estimate. ``"bca"`` (Efron, 1987):
    :math:`z_0 = \\Phi^{-1}(\\Pr^*(T^* < \\hat T) + \\tfrac12\\Pr^*(T^* = \\hat T))`,
    ends at the :math:`\\Phi(z_0 + (z_0 + z_\\alpha)/(1 - a(z_0 + z_\\alpha)))` quantiles;
    a column whose :math:`z_0` is infinite (all replicates on one side) falls back to
    the percentile interval.
    """
    tail = (1.0 - conf) / 2.0
    if method == "centred":
        reps = reps - reps.mean(axis=0) + est
    low, high = np.quantile(reps, [tail, 1.0 - tail], axis=0)
    if method != "bca":
        return low, high
    below = (reps < est).mean(axis=0) + 0.5 * (reps == est).mean(axis=0)
    z0 = stats.norm.ppf(below)
    for s in np.flatnonzero(np.isfinite(z0)):
        q = []
        for za in stats.norm.ppf([tail, 1.0 - tail]):
            zz = z0[s] + za
            q.append(float(stats.norm.cdf(z0[s] + zz / (1.0 - accel[s] * zz))))
        low[s], high[s] = np.quantile(reps[:, s], q)
    return low, high


def _acceleration(values: np.ndarray, cell: np.ndarray, system: np.ndarray, k: int) -> np.ndarray:
    """BCa acceleration per system and metric from the clips' empirical influence.

    For a stratified mean the influence of clip *c* of cell *h* is
    :math:`U_c = (f_c - \\bar f_h)/N_s`, and :math:`a = \\sum U^3 / (6 (\\sum
    U^2)^{3/2})` (Efron & Tibshirani, 1993, eq. 14.15). Shape (k, n_metrics).
    """
    size = np.bincount(cell)
    cell_mean = np.stack([np.bincount(cell, weights=values[:, m]) for m in
                          range(values.shape[1])], axis=1) / size[:, None]
    u = values - cell_mean[cell]
    s2 = np.stack([np.bincount(system, weights=u[:, m] ** 2, minlength=k)
                   for m in range(values.shape[1])], axis=1)
    s3 = np.stack([np.bincount(system, weights=u[:, m] ** 3, minlength=k)
                   for m in range(values.shape[1])], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = s3 / (6.0 * s2**1.5)
    return np.where(np.isfinite(a), a, 0.0)


def posterior_p_best(
    estimates: np.ndarray,
    cov: np.ndarray,
    *,
    smaller_is_better: bool = True,
    n_draws: int = 4000,
    seed: int = 0,
) -> np.ndarray:
    """Probability that each system is truly best, under a hierarchical normal model.

    The systems' true metrics are exchangeable draws around a common mean,
    :math:`\\theta_s = \\mu + \\eta_s`, :math:`\\eta_s \\sim N(0, \\tau^2)`, and the
    estimates :math:`\\hat\\theta \\sim N(\\theta, \\Sigma)` with :math:`\\Sigma` the
    (bootstrap) covariance of the estimates (Gelman et al., 2013, Sec. 5.4, with
    correlated errors). Priors: flat on :math:`\\mu`, uniform on
    :math:`\\tau \\in (0, \\tau_{max}]` (Gelman, 2006), with :math:`\\tau_{max}` ten
    times the spread of the estimates plus their largest standard error; the posterior
    of :math:`\\tau` is evaluated on a 256-point grid, and
    :math:`(\\tau, \\mu, \\theta)` are drawn from it exactly. ``p_best`` is the share of
    draws in which a system's :math:`\\theta_s` is best.

    Why not the share of bootstrap replicates in which a system ranks first: that is
    the posterior under a flat prior on every :math:`\\theta_s` separately, which ignores
    that the best *estimate* is selected for being extreme; over studies with random
    truth it states 0.88 where 0.77 is realised (issue 17). Shrinking towards the common
    mean by the estimated between-system spread removes that optimism
    (``benchmarks/ranking_calibration.py`` shows stated against realised in bands).
    With two systems the posterior of :math:`\\tau` depends on :math:`\\tau_{max}`.

    Parameters
    ----------
    estimates : array, shape (k,)
    cov : array, shape (k, k)
        Covariance of the estimates.
    smaller_is_better : bool, default True
    n_draws : int, default 4000
        Posterior draws (Monte-Carlo s.e. of a probability at most 0.008).
    seed : int, default 0

    Returns
    -------
    ndarray, shape (k,)
        Sums to 1 (no ties among continuous draws).
    """
    est = np.asarray(estimates, dtype=float)
    k = len(est)
    sign = 1.0 if smaller_is_better else -1.0
    sigma = np.asarray(cov, dtype=float).reshape(k, k)
    scale = float(np.max(np.diag(sigma))) if k else 0.0
    if k < 2 or not scale > 0:
        best = sign * est == np.min(sign * est) if k else est.astype(bool)
        return best.astype(float)
    sigma = (sigma + sigma.T) / 2.0 + 1e-9 * scale * np.eye(k)
    ones = np.ones(k)
    tau_max = 10.0 * (float(est.std()) + np.sqrt(scale))
    grid = tau_max * (np.arange(256) + 0.5) / 256
    logp = np.empty(len(grid))
    for g, tau in enumerate(grid):
        v_inv = np.linalg.inv(sigma + tau**2 * np.eye(k))
        prec = float(ones @ v_inv @ ones)
        mu = float(ones @ v_inv @ est) / prec
        r = est - mu
        logp[g] = -0.5 * (np.linalg.slogdet(v_inv)[1] * -1.0 + np.log(prec) + r @ v_inv @ r)
    post = np.exp(logp - logp.max())
    rng = np.random.default_rng(seed)
    pick = np.bincount(rng.choice(len(grid), size=n_draws, p=post / post.sum()),
                       minlength=len(grid))
    s_inv = np.linalg.inv(sigma)
    wins = np.zeros(k)
    for g in np.flatnonzero(pick):
        tau2, n_g = grid[g] ** 2, int(pick[g])
        v_inv = np.linalg.inv(sigma + tau2 * np.eye(k))
        prec = float(ones @ v_inv @ ones)
        mu = float(ones @ v_inv @ est) / prec + rng.standard_normal(n_g) / np.sqrt(prec)
        post_cov = np.linalg.inv(s_inv + np.eye(k) / tau2)
        mean = (post_cov @ (s_inv @ est))[None, :] + np.outer(mu / tau2, post_cov @ ones)
        theta = mean + rng.standard_normal((n_g, k)) @ np.linalg.cholesky(post_cov).T
        wins += np.bincount(np.argmin(sign * theta, axis=1), minlength=k)
    return wins / n_draws


def _cells(table: pd.DataFrame) -> tuple[np.ndarray, list[str], np.ndarray]:
    """System codes, system names and (system, intent) cell codes sorted by system."""
    sys_codes, systems = pd.factorize(table["system"], sort=True)
    cell_codes = pd.factorize(
        pd.Series(sys_codes).astype(str) + "\x1f" + table["intent"], sort=False
    )[0]
    cell_key = pd.DataFrame({"s": sys_codes, "c": cell_codes}).drop_duplicates()
    cell_key = cell_key.sort_values(["s", "c"]).reset_index(drop=True)
    remap = np.empty(int(cell_codes.max()) + 1, dtype=np.int64)
    remap[cell_key["c"].to_numpy()] = np.arange(len(cell_key))
    return sys_codes, [str(s) for s in systems], remap[cell_codes]


def bootstrap_ranking(
    clips: pd.DataFrame,
    *,
    ratings: pd.DataFrame | None = None,
    n_boot: int = DEFAULT_N_BOOT,
    confidence: float = 0.95,
    seed: int = 0,
    order: list[str] | None = None,
    interval: str = "centred",
    p_best: str = "posterior",
) -> pd.DataFrame:
    """Bootstrap confidence intervals, rank intervals and tie groups of every metric.

    Parameters
    ----------
    clips : DataFrame
        Clip table (``Dataset.clips``). Not modified.
    ratings : DataFrame, optional
        Rating table (``Dataset.ratings``: ``listener``, ``clip``, ``valence``,
        ``arousal``). When given, every replicate also redraws the listeners' shifts
        (the crossed bootstrap of the module docstring); without it only clips are
        resampled, which understates the uncertainty when listeners shift their ratings.
    n_boot : int, default 2000
        Bootstrap replicates. Capped so that replicates x clips stays within
        :data:`MAX_DRAWS` (at least 200 replicates): 2,000 up to 10^4 clips, 215 for the
        93,000 clips of the 10^6-rating benchmark, where the intervals are narrow and
        the bootstrap distribution close to normal. The table's ``n_boot`` column says
        how many were drawn.
    confidence : float, default 0.95
        Level of the intervals; pairs differ at ``alpha = 1 - confidence`` (Holm).
    seed : int, default 0
        Seed of the resampling; the same seed gives the same table.
    order : list of str, optional
        Order of the rows within a metric. Default: by the point estimate, best first
        (ties by name).
    interval : {"centred", "percentile", "bca"}, default "centred"
        Percentile interval of the replicates centred on the estimate (default; see
        the module docstring), plain percentile, or bias-corrected and accelerated.
    p_best : {"posterior", "bootstrap"}, default "posterior"
        :func:`posterior_p_best` (default; calibrated) or the share of replicates in
        which the system ranks first (overconfident; for comparison).

    Returns
    -------
    DataFrame
        :data:`BOOTSTRAP_COLUMNS`: ``metric`` (see :data:`RANKING_METRICS`),
        ``system``, ``estimate`` (the metric on the data), ``ci_low``, ``ci_high``,
        ``rank`` (on the data; ties share the lower rank), ``rank_low``, ``rank_high``,
        ``p_best``, ``group`` (letters; systems sharing one do not differ
        significantly), ``n_boot`` (replicates drawn). Method in the module docstring.

    Warns
    -----
    DegenerateDataWarning
        A single system (nothing to rank: intervals are computed, ranks are 1, group
        ``a``).
    """
    n_boot = check_positive_int(n_boot, name="n_boot")
    conf = check_confidence(confidence)
    interval = check_choice(interval, INTERVALS, name="interval")
    p_best = check_choice(p_best, ("posterior", "bootstrap"), name="p_best")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise EmoconveyError(f"seed: expected an integer, got {seed!r}")
    table = _metric_table(clips)
    sys_codes, systems, cell = _cells(table)
    k = len(systems)
    if k < 2:
        warn_degenerate("bootstrap_ranking: a single system; nothing to rank")
    n_boot = min(n_boot, max(MIN_BOOT, MAX_DRAWS // max(len(table), 1)))
    metrics = list(RANKING_METRICS)
    values = table[metrics].to_numpy(dtype=float)
    dev = table[["dev_valence", "dev_arousal"]].to_numpy(dtype=float)
    listeners = None
    if ratings is not None:
        listeners = listener_effects(ratings, clips["clip"])
        if np.any(listeners.variance > 0):
            dev = dev - np.asarray(listeners.matrix @ listeners.effects)
        else:  # no listener variance to redraw (e.g. every listener rated one clip)
            listeners = None
    rng = np.random.default_rng(seed)
    reps = _replicates(dev, table[["sign_v", "sign_a"]].to_numpy(),
                       table[["edge_v", "edge_a"]].to_numpy(), cell, sys_codes, k,
                       listeners=listeners, n_boot=n_boot, rng=rng)
    n_sys = np.bincount(sys_codes, minlength=k)
    est = np.stack([np.bincount(sys_codes, weights=values[:, m], minlength=k) / n_sys
                    for m in range(len(metrics))], axis=1)
    accel = _acceleration(values, cell, sys_codes, k)
    frames = []
    for m, metric in enumerate(metrics):
        smaller = RANKING_METRICS[metric]
        r = reps[:, :, m]
        low, high = _interval(r, est[:, m], accel[:, m], conf=conf, method=interval)
        ri = rank_intervals(r, smaller_is_better=smaller, confidence=conf)
        if p_best == "posterior":
            best = posterior_p_best(est[:, m], np.atleast_2d(np.cov(r, rowvar=False)),
                                    smaller_is_better=smaller, seed=seed + m)
        else:
            best = ri["p_best"].to_numpy()
        frames.append(_metric_frame(
            metric, systems, est[:, m], low, high, ri, best, r, n_boot=n_boot,
            alpha=1.0 - conf, order=order,
        ))
    log.debug("bootstrap_ranking: %d systems, %d replicates", k, n_boot)
    return pd.concat(frames, ignore_index=True)


def _metric_frame(
    metric: str, systems: list[str], est: np.ndarray, low: np.ndarray, high: np.ndarray,
    ri: pd.DataFrame, best: np.ndarray, reps: np.ndarray, *, n_boot: int, alpha: float,
    order: list[str] | None,
) -> pd.DataFrame:
    """Rows of one metric: ranks, tie groups (Holm over all pairs), row order."""
    k = len(systems)
    rank = _ranks(est, smaller_is_better=RANKING_METRICS[metric])
    iu = np.triu_indices(k, 1)
    pmat = np.ones((k, k))
    pmat[iu] = holm(pairwise_bootstrap_p(reps)[iu])
    pmat.T[iu] = pmat[iu]
    best_first = sorted(range(k), key=lambda i: (rank[i], systems[i]))
    letters = tie_groups(systems, pmat, alpha=alpha, order=[systems[i] for i in best_first])
    df = pd.DataFrame({
        "metric": metric, "system": systems, "estimate": est, "ci_low": low,
        "ci_high": high, "rank": rank, "rank_low": ri["rank_low"].to_numpy(),
        "rank_high": ri["rank_high"].to_numpy(), "p_best": best,
        "group": [letters[s] for s in systems], "n_boot": n_boot,
    })
    df = df.set_index("system").reindex(order).reset_index() if order is not None \
        else df.iloc[best_first]
    return df.loc[:, list(BOOTSTRAP_COLUMNS)]
