"""Uncertainty of the system ranking: bootstrap intervals, rank intervals, tie groups.

Every ranking metric of :func:`~emoconvey.analysis.ranking.system_ranking` is a mean over
a system's clips of a per-clip quantity :math:`m_c`:

* ``mean_distance``: :math:`\\sqrt{d_{c,v}^2 + d_{c,a}^2}` (smaller is better);
* ``mae_valence``, ``mae_arousal``: :math:`|d_{c,x}|` (smaller is better);
* ``hit_rate``: 1 when the clip mean lies in the intended quadrant (larger is better).

Resampling scheme
-----------------
Clips are resampled with replacement **within each (system, intent) cell**, keeping the
listeners' ratings of each drawn clip (so listener noise travels with its clip mean);
listeners are not resampled separately. The reasons:

* the design fixes the systems and the intents (they are the experimenter's choice, not
  a sample), while clips are a sample from each system's output for an intent. Drawing
  within cells keeps every replicate's intent mix equal to the study's, so a system is
  never favoured by a replicate that happens to draw more of its easy intents;
* listeners are crossed with systems: a listener rates clips of every system, so a
  listener's scale use shifts all systems alike and cancels in the comparisons a ranking
  makes. Ignoring that positive correlation makes the intervals of *differences* (and
  therefore the rank intervals and the tie groups) slightly conservative, never
  anti-conservative. Resampling listeners as well (the two-way "pigeonhole" bootstrap)
  overstates the variance of a crossed design further (McCullagh, 2000), and costs a
  pass over every rating per replicate, which the 10^6-rating report cannot afford;
* drawing clip indices is vectorised over replicates in memory-bounded chunks: the cost
  is ``n_boot x n_clips`` gathers, about a second for 2 x 10^7 (:data:`MAX_DRAWS`).

Within a cell of :math:`n_h` clips, :math:`n_h - 1` clips are drawn and weighted
:math:`n_h/(n_h-1)` (McCarthy & Snowden, 1985): the plain stratified bootstrap shrinks the
variance by :math:`(n_h-1)/n_h`, a quarter with four clips per cell.

Intervals are percentile intervals of the replicate means. In each replicate the systems
are ranked (ties share the lower rank); ``rank_low`` and ``rank_high`` are the
:math:`(1-\\gamma)/2` and :math:`(1+\\gamma)/2` quantiles of a system's rank over the
replicates (lower and higher quantile, so the interval is made of attained ranks), and
``p_best`` the share of replicates in which it ranks first (shared first places count for
each system that shares them). Two systems *differ* when the two-sided bootstrap p-value
of their difference, :math:`2 \\min(\\Pr^*(\\Delta \\le 0), \\Pr^*(\\Delta \\ge 0))`,
is below :math:`1-\\gamma` after Holm's (1979) step-down adjustment over all pairs;
``group`` is the compact letter display of those decisions (Piepho, 2004): systems that
share a letter are not distinguishable.

References
----------
Efron, B., & Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*. Chapman & Hall.

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

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from emoconvey._validation import check_confidence, check_positive_int, warn_degenerate
from emoconvey.analysis.adjust import holm
from emoconvey.analysis.deviation import clip_deviations
from emoconvey.errors import EmoconveyError
from emoconvey.intents import quadrant_of

__all__ = [
    "BOOTSTRAP_COLUMNS",
    "DEFAULT_N_BOOT",
    "RANKING_METRICS",
    "bootstrap_ranking",
    "holm",
    "pairwise_bootstrap_p",
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
        }
    )
    return out


def _replicates(
    values: np.ndarray,
    cell: np.ndarray,
    system: np.ndarray,
    k: int,
    *,
    n_boot: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Replicate means, shape (n_boot, k, n_metrics); clips drawn within cells.

    A cell of :math:`n_h \\ge 2` clips contributes :math:`n_h - 1` draws, each weighted
    :math:`n_h / (n_h - 1)` (McCarthy & Snowden, 1985), so the bootstrap variance of a
    system mean equals the unbiased stratified variance estimate; drawing :math:`n_h`
    would shrink it by :math:`(n_h - 1)/n_h`, which matters for the few clips per
    (system, intent) cell of a listening test. A one-clip cell is drawn as itself.
    """
    order = np.argsort(cell, kind="stable")
    values = values[order]
    cell = cell[order]
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
    draw_system = cell_system[draw_cell]
    sys_start = np.searchsorted(draw_system, np.arange(k))
    n_sys = np.bincount(system, minlength=k).astype(float)
    n = len(draw_cell)
    out = np.empty((n_boot, k, values.shape[1]))
    chunk = max(1, _CHUNK_ELEMENTS // max(n, 1))
    columns = [np.ascontiguousarray(values[:, m]) for m in range(values.shape[1])]
    for b0 in range(0, n_boot, chunk):
        b1 = min(n_boot, b0 + chunk)
        idx = rng.integers(0, width, size=(b1 - b0, n))
        idx += base
        for m, col in enumerate(columns):  # 2-D gathers: far faster than one 3-D gather
            drawn = col[idx]
            drawn *= weight
            out[b0:b1, :, m] = np.add.reduceat(drawn, sys_start, axis=1) / n_sys
    return out


def bootstrap_ranking(
    clips: pd.DataFrame,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    confidence: float = 0.95,
    seed: int = 0,
    order: list[str] | None = None,
) -> pd.DataFrame:
    """Bootstrap confidence intervals, rank intervals and tie groups of every metric.

    Parameters
    ----------
    clips : DataFrame
        Clip table (``Dataset.clips``). Not modified.
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

    Returns
    -------
    DataFrame
        :data:`BOOTSTRAP_COLUMNS`: ``metric`` (see :data:`RANKING_METRICS`),
        ``system``, ``estimate`` (the metric on the data), ``ci_low``, ``ci_high``
        (percentile interval), ``rank`` (on the data; ties share the lower rank),
        ``rank_low``, ``rank_high``, ``p_best``, ``group`` (letters; systems sharing one
        do not differ significantly), ``n_boot`` (replicates drawn). Method in the
        module docstring.

    Warns
    -----
    DegenerateDataWarning
        A single system (nothing to rank: intervals are computed, ranks are 1, group
        ``a``).
    """
    n_boot = check_positive_int(n_boot, name="n_boot")
    conf = check_confidence(confidence)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise EmoconveyError(f"seed: expected an integer, got {seed!r}")
    table = _metric_table(clips)
    sys_codes, systems = pd.factorize(table["system"], sort=True)
    systems = [str(s) for s in systems]
    k = len(systems)
    if k < 2:
        warn_degenerate("bootstrap_ranking: a single system; nothing to rank")
    cell_codes = pd.factorize(
        pd.Series(sys_codes).astype(str) + "\x1f" + table["intent"], sort=False
    )[0]
    # make cell codes sort by system first, so that systems are contiguous
    cell_key = pd.DataFrame({"s": sys_codes, "c": cell_codes}).drop_duplicates()
    cell_key = cell_key.sort_values(["s", "c"]).reset_index(drop=True)
    remap = np.empty(int(cell_codes.max()) + 1, dtype=np.int64)
    remap[cell_key["c"].to_numpy()] = np.arange(len(cell_key))
    cell = remap[cell_codes]

    n_boot = min(n_boot, max(MIN_BOOT, MAX_DRAWS // max(len(table), 1)))
    metrics = list(RANKING_METRICS)
    values = table[metrics].to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    reps = _replicates(values, cell, sys_codes, k, n_boot=n_boot, rng=rng)
    n_sys = np.bincount(sys_codes, minlength=k)
    est = np.stack(
        [np.bincount(sys_codes, weights=values[:, m], minlength=k) / n_sys
         for m in range(len(metrics))],
        axis=1,
    )
    tail = (1.0 - conf) / 2.0
    frames = []
    for m, metric in enumerate(metrics):
        smaller = RANKING_METRICS[metric]
        r = reps[:, :, m]
        low, high = np.quantile(r, [tail, 1.0 - tail], axis=0)
        ri = rank_intervals(r, smaller_is_better=smaller, confidence=conf)
        rank = _ranks(est[:, m], smaller_is_better=smaller)
        p_adj = holm(pairwise_bootstrap_p(r)[np.triu_indices(k, 1)])
        pmat = np.ones((k, k))
        pmat[np.triu_indices(k, 1)] = p_adj
        pmat.T[np.triu_indices(k, 1)] = p_adj
        best_first = sorted(range(k), key=lambda i: (rank[i], systems[i]))
        letters = tie_groups(
            systems, pmat, alpha=1.0 - conf, order=[systems[i] for i in best_first]
        )
        df = pd.DataFrame(
            {
                "metric": metric,
                "system": systems,
                "estimate": est[:, m],
                "ci_low": low,
                "ci_high": high,
                "rank": rank,
                "rank_low": ri["rank_low"].to_numpy(),
                "rank_high": ri["rank_high"].to_numpy(),
                "p_best": ri["p_best"].to_numpy(),
                "group": [letters[s] for s in systems],
                "n_boot": n_boot,
            }
        )
        if order is not None:
            df = df.set_index("system").reindex(order).reset_index()
        else:
            df = df.iloc[best_first]
        frames.append(df.loc[:, list(BOOTSTRAP_COLUMNS)])
    log.debug("bootstrap_ranking: %d systems, %d replicates", k, n_boot)
    return pd.concat(frames, ignore_index=True)
