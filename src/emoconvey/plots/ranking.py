"""The ranking with its uncertainty: one row per system, point estimate and interval."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from emoconvey._validation import require_columns
from emoconvey.errors import EmoconveyError
from emoconvey.plots.style import finish_axes, new_axes

__all__ = ["METRIC_LABELS", "plot_ranking"]

METRIC_LABELS: dict[str, str] = {
    "mean_distance": "mean distance to the intent (scale points; smaller is better)",
    "mae_valence": "mean absolute valence deviation (smaller is better)",
    "mae_arousal": "mean absolute arousal deviation (smaller is better)",
    "hit_rate": "share of clips in the intended quadrant (larger is better)",
}
"""x-axis label of each metric of :func:`emoconvey.analysis.bootstrap.bootstrap_ranking`."""


def plot_ranking(
    ranking: pd.DataFrame,
    *,
    metric: str = "mean_distance",
    ax: Axes | None = None,
    order: Sequence[str] | None = None,
    colors: Mapping[str, str] | None = None,
    highlight: Sequence[str] = (),
    title: str | None = None,
) -> Axes:
    """Point estimate and bootstrap interval of one ranking metric per system.

    Parameters
    ----------
    ranking : DataFrame
        Output of :func:`~emoconvey.analysis.bootstrap.bootstrap_ranking` (columns
        ``metric, system, estimate, ci_low, ci_high, rank_low, rank_high, group``).
    metric : str, default "mean_distance"
    ax : Axes, optional
    order : sequence of str, optional
        Systems top to bottom. Default: the table's order (best first).
    colors : mapping, optional
        System colours.
    highlight : sequence of str
        Systems drawn in bold (e.g. the user's own systems next to the reference ones).
    title : str, optional

    Returns
    -------
    Axes
        Each system's label carries its rank interval and tie-group letters.
    """
    require_columns(
        ranking,
        ["metric", "system", "estimate", "ci_low", "ci_high", "rank_low", "rank_high", "group"],
        name="ranking",
    )
    rows = ranking[ranking["metric"].astype(str) == str(metric)]
    if rows.empty:
        known = ", ".join(map(repr, dict.fromkeys(ranking["metric"].astype(str))))
        raise EmoconveyError(f"metric: {metric!r} not in the ranking table (has {known})")
    rows = rows.set_index(rows["system"].astype(str))
    systems = list(rows.index) if order is None else [str(s) for s in order]
    missing = [s for s in systems if s not in rows.index]
    if missing:
        raise EmoconveyError(f"order: system(s) {missing!r} not in the ranking table")
    rows = rows.loc[systems]
    ax = new_axes(ax, figsize=(7.5, 1.2 + 0.45 * len(systems)))
    y = np.arange(len(systems))[::-1].astype(float)
    est = rows["estimate"].to_numpy(dtype=float)
    lo = rows["ci_low"].to_numpy(dtype=float)
    hi = rows["ci_high"].to_numpy(dtype=float)
    hl = set(map(str, highlight))
    for yi, s, e, a, b in zip(y, systems, est, lo, hi, strict=True):
        color = (colors or {}).get(s, "#333333")
        ax.errorbar(e, yi, xerr=[[e - a], [b - e]], fmt="o", color=color, capsize=4,
                    elinewidth=2.0, markersize=7, markeredgecolor="white", gid="ranking-ci")
    labels = [
        f"{s}  (rank {int(r['rank_low'])}\u2013{int(r['rank_high'])})"
        if int(r["rank_low"]) != int(r["rank_high"])
        else f"{s}  (rank {int(r['rank_low'])})"
        for s, r in rows.iterrows()
    ]
    ax.set_yticks(y, labels)
    for tick, s in zip(ax.get_yticklabels(), systems, strict=True):
        if s in hl:
            tick.set_fontweight("bold")
    span = float(np.nanmax(hi) - np.nanmin(lo)) or 1.0
    for yi, b, g in zip(y, hi, rows["group"].astype(str), strict=True):
        ax.text(b + 0.03 * span, yi, g, va="center", ha="left", fontsize=10,
                fontweight="bold", gid="group-letter")
    ax.set_xlim(float(np.nanmin(lo)) - 0.08 * span, float(np.nanmax(hi)) + 0.15 * span)
    ax.set_ylim(-0.6, len(systems) - 0.4)
    ax.set_xlabel(METRIC_LABELS.get(str(metric), str(metric)))
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.8)
    finish_axes(ax, title=title)
    return ax
