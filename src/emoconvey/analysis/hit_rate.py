"""Quadrant hit rate: how often a clip lands in the quadrant of its intent.

A clip is a *hit* when its mean valence and mean arousal rating lie in the intended
quadrant, with quadrants split at the scale centre 5.0 as in AImoclips (Go et al.,
2025): high means strictly greater than 5.0 and low strictly smaller (see
:func:`emoconvey.intents.quadrant_of`). A clip mean exactly on 5.0 on either axis lies
in no quadrant and therefore counts as a **miss** (and is counted in ``on_split``).

With :math:`k` hits out of :math:`n` clips, :math:`\\hat p = k/n` and
:math:`z = \\Phi^{-1}((1+\\gamma)/2)`, the Wilson (1927) score interval is

.. math::

   \\frac{\\hat p + \\frac{z^2}{2n}}{1 + \\frac{z^2}{n}} \\pm
   \\frac{z}{1 + \\frac{z^2}{n}} \\sqrt{\\frac{\\hat p (1 - \\hat p)}{n} + \\frac{z^2}{4n^2}}

(Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
inference. *JASA*, 22, 209-212), which unlike the Wald interval stays inside [0, 1] and
keeps a sensible width at :math:`\\hat p \\in \\{0, 1\\}`. Clips are treated as
independent trials; clips of one intent share a prompt, so the interval is optimistic
when clips of the same intent are correlated.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from emoconvey._validation import (
    QUADRANTS,
    check_choice,
    check_confidence,
    require_columns,
    require_numeric,
    require_rows,
)
from emoconvey.analysis.common import order_codes, require_keys, require_quadrants
from emoconvey.errors import DataValidationError, EmoconveyError
from emoconvey.intents import quadrant_of

__all__ = ["BY_CHOICES", "HIT_RATE_STATS", "quadrant_hit_rate", "wilson_interval"]

log = logging.getLogger(__name__)

BY_CHOICES: tuple[str, ...] = ("system", "intent", "quadrant")
"""Columns :func:`quadrant_hit_rate` can group by."""

HIT_RATE_STATS: tuple[str, ...] = ("n", "hits", "hit_rate", "ci_low", "ci_high", "on_split")
"""Statistic columns of :func:`quadrant_hit_rate`, after the grouping columns."""


def wilson_interval(
    hits: np.ndarray | Sequence[int] | int,
    n: np.ndarray | Sequence[int] | int,
    *,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson (1927) score interval for binomial proportions (vectorised).

    Parameters
    ----------
    hits, n : int or array of int
        Successes and trials (``0 <= hits <= n``, ``n >= 1``).
    confidence : float, default 0.95
        Coverage :math:`\\gamma`.

    Returns
    -------
    low, high : ndarray of float
        Interval bounds; exactly 0 when ``hits == 0`` and exactly 1 when ``hits == n``,
        otherwise clipped to [0, 1] against rounding.
    """
    confidence = check_confidence(confidence)
    k = np.asarray(hits, dtype=float)
    m = np.asarray(n, dtype=float)
    if np.any(m < 1) or np.any(k < 0) or np.any(k > m):
        raise EmoconveyError("hits, n: expected 0 <= hits <= n and n >= 1")
    z = stats.norm.ppf(0.5 + confidence / 2.0)
    z2 = z * z
    p = k / m
    denom = 1.0 + z2 / m
    centre = (p + z2 / (2.0 * m)) / denom
    half = z / denom * np.sqrt(p * (1.0 - p) / m + z2 / (4.0 * m * m))
    # the bounds are exactly 0 at k = 0 and exactly 1 at k = n; avoid 1e-17 residues
    low = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(k == m, 1.0, np.clip(centre + half, 0.0, 1.0))
    return low, high


def _check_by(by: str | Sequence[str]) -> list[str]:
    if isinstance(by, str):
        by = (by,)
    if not isinstance(by, Sequence) or len(by) == 0:
        raise EmoconveyError(
            f"by: expected a column name or a non-empty sequence of {', '.join(BY_CHOICES)}, "
            f"got {by!r}"
        )
    out = [check_choice(b, BY_CHOICES, name="by") for b in by]
    if len(set(out)) != len(out):
        raise EmoconveyError(f"by: expected distinct columns, got {list(by)!r}")
    return out


def quadrant_hit_rate(
    clips: pd.DataFrame,
    *,
    by: str | Sequence[str] = ("system", "intent"),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Share of clips whose mean rating lies in the intended quadrant, with Wilson CIs.

    See the module docstring for the definition of a hit and the interval.

    Parameters
    ----------
    clips : DataFrame
        One row per clip with ``valence``, ``arousal`` (clip means), ``quadrant`` (the
        intended quadrant) and the ``by`` columns, e.g.
        :attr:`emoconvey.data.Dataset.clips`. Not modified.
    by : str or sequence of str, default ("system", "intent")
        Grouping columns, any of ``"system"``, ``"intent"``, ``"quadrant"``, in the order
        wanted in the output.
    confidence : float, default 0.95
        Level of the Wilson interval.

    Returns
    -------
    DataFrame
        One row per group, sorted by the ``by`` columns in order (``system`` and
        ``intent`` by first appearance, ``quadrant`` as ``hv_ha, lv_ha, lv_la,
        hv_la``). Columns: the ``by`` columns; ``quadrant`` (the intent's quadrant) when
        ``intent`` is in ``by`` and ``quadrant`` is not; then :data:`HIT_RATE_STATS`:
        ``n`` (clips), ``hits``, ``hit_rate`` (``hits / n``), ``ci_low``, ``ci_high``
        (Wilson interval) and ``on_split`` (clips whose mean is exactly 5.0 on an axis,
        counted as misses).

    Raises
    ------
    DataValidationError
        A required column is missing, a grouping value is missing, a quadrant is
        unknown, a clip mean is not a finite number, or an intent is listed under
        several quadrants.
    EmoconveyError
        ``by`` or ``confidence`` is invalid.
    """
    by_l = _check_by(by)
    confidence = check_confidence(confidence)
    add_quadrant = "intent" in by_l and "quadrant" not in by_l
    needed = list(dict.fromkeys([*by_l, "quadrant", "valence", "arousal"]))
    require_columns(clips, needed, name="clips")
    require_rows(clips, name="clips")
    keys = list(dict.fromkeys([*by_l, "quadrant"]))
    require_keys(clips, keys, name="clips")
    require_quadrants(clips, name="clips")
    require_numeric(clips, ["valence", "arousal"], name="clips")

    v = clips["valence"].to_numpy(dtype=float)
    a = clips["arousal"].to_numpy(dtype=float)
    landed = quadrant_of(v, a)
    frame = clips.loc[:, keys].copy()
    frame["_hit"] = (landed == clips["quadrant"].to_numpy()).astype(np.int64)
    frame["_split"] = (pd.isna(landed)).astype(np.int64)

    if add_quadrant:
        per_intent = frame.groupby("intent", sort=False)["quadrant"].nunique()
        if (per_intent > 1).any():
            bad = per_intent.index[per_intent > 1][0]
            raise DataValidationError(
                f"intent {bad!r} appears under several quadrants; expected one quadrant per "
                "intent",
                file="clips",
                column="quadrant",
            )
    out_keys = [*by_l, "quadrant"] if add_quadrant else by_l
    agg = (
        frame.groupby(out_keys, sort=False)
        .agg(n=("_hit", "size"), hits=("_hit", "sum"), on_split=("_split", "sum"))
        .reset_index()
    )
    n = agg["n"].to_numpy(dtype=np.int64)
    hits = agg["hits"].to_numpy(dtype=np.int64)
    low, high = wilson_interval(hits, n, confidence=confidence)
    agg["n"] = n
    agg["hits"] = hits
    agg["hit_rate"] = hits / n
    agg["ci_low"] = low
    agg["ci_high"] = high
    agg["on_split"] = agg["on_split"].astype(np.int64)

    # sort by the by columns: system/intent by first appearance, quadrant in QUADRANTS order
    codes = []
    for col in by_l:
        if col == "quadrant":
            codes.append(order_codes(agg[col], natural=QUADRANTS))
        else:
            first = pd.unique(clips[col])
            codes.append(order_codes(agg[col], natural=list(first)))
    order = np.lexsort(tuple(reversed(codes)))
    out = agg.iloc[order].reset_index(drop=True)
    log.debug("quadrant_hit_rate: %d groups by %s", len(out), by_l)
    return out.loc[:, [*out_keys, *HIT_RATE_STATS]]
