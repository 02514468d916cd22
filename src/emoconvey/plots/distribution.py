"""How many ratings each clip received (AImoclips Fig. 2, left)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from emoconvey._validation import (
    check_positive_int,
    require_columns,
    require_numeric,
    require_rows,
)
from emoconvey.errors import EmoconveyError
from emoconvey.plots.style import (
    GRID_COLOR,
    OKABE_ITO,
    REFERENCE_COLOR,
    finish_axes,
    new_axes,
)

__all__ = ["plot_ratings_per_clip"]

_INCLUDED_COLOR = OKABE_ITO["blue"]
_EXCLUDED_COLOR = "#AAAAAA"


def plot_ratings_per_clip(
    per_clip: pd.DataFrame,
    *,
    min_ratings: int | None = 4,
    ax: Axes | None = None,
    title: str | None = None,
    annotate: bool | None = None,
) -> Axes:
    """Bar chart of the number of clips by the number of ratings they received.

    Clips with fewer than ``min_ratings`` ratings (excluded from the analysis in
    AImoclips) are drawn in grey over a shaded band, and a dashed line marks the
    threshold.

    Parameters
    ----------
    per_clip : DataFrame
        The ``ratings_per_clip`` table: ``n_ratings`` (int) and ``clips`` (count of clips
        with that many ratings). Repeated ``n_ratings`` values are summed.
    min_ratings : int or None, default 4
        Inclusion threshold; ``None`` draws no threshold.
    ax : Axes, optional
        Draw here; by default a new figure is created.
    title : str, optional
        Axes title (off by default: the report captions figures).
    annotate : bool, optional
        Write the count above each bar. Default: only when there are at most 25 bars.

    Returns
    -------
    Axes

    Raises
    ------
    EmoconveyError
        If a column is missing, a value is not a finite non-negative number, or
        ``min_ratings`` is not a positive integer.
    """
    require_columns(per_clip, ["n_ratings", "clips"], name="per_clip")
    require_rows(per_clip, name="per_clip")
    require_numeric(per_clip, ["n_ratings", "clips"], name="per_clip")
    if min_ratings is not None:
        min_ratings = check_positive_int(min_ratings, name="min_ratings")
    n_ratings = pd.to_numeric(per_clip["n_ratings"]).to_numpy(dtype=float)
    counts = pd.to_numeric(per_clip["clips"]).to_numpy(dtype=float)
    if (n_ratings < 0).any() or (n_ratings != np.round(n_ratings)).any():
        raise EmoconveyError("per_clip: column 'n_ratings' must hold non-negative integers")
    if (counts < 0).any():
        raise EmoconveyError("per_clip: column 'clips' must hold non-negative counts")
    table = (
        pd.DataFrame({"n": n_ratings.astype(int), "clips": counts})
        .groupby("n", sort=True)["clips"]
        .sum()
    )
    x = table.index.to_numpy()
    y = table.to_numpy()

    ax = new_axes(ax, figsize=(6.0, 3.8))
    excluded = x < min_ratings if min_ratings is not None else np.zeros(len(x), dtype=bool)
    colours = np.where(excluded, _EXCLUDED_COLOR, _INCLUDED_COLOR)
    bars = ax.bar(x, y, width=0.8, color=colours, edgecolor="white", linewidth=0.5, zorder=2)
    for bar, is_excluded in zip(bars, excluded, strict=True):
        if is_excluded:
            bar.set_hatch("//")
            bar.set_edgecolor("#666666")

    if annotate is None:
        annotate = len(x) <= 25
    if annotate:
        ax.bar_label(bars, labels=[f"{int(v):d}" if v == int(v) else f"{v:g}" for v in y],
                     padding=2, fontsize=8, color="#333333")

    lo, hi = (x.min(), x.max())
    if min_ratings is not None:
        lo = min(lo, min_ratings - 1)
        hi = max(hi, min_ratings)
    ax.set_xlim(lo - 0.6, hi + 0.6)
    # Head room above the tallest bar so the legend never covers a bar.
    ax.set_ylim(0, max(float(y.max()), 1.0) * (1.5 if min_ratings is not None else 1.3))

    handles = [Patch(facecolor=_INCLUDED_COLOR, label="Included clips")]
    if min_ratings is not None:
        cut = min_ratings - 0.5
        n_excluded = float(y[excluded].sum())
        ax.axvspan(lo - 0.6, cut, color=GRID_COLOR, alpha=0.6, zorder=0, lw=0,
                   gid="excluded-region")
        ax.axvline(cut, color=REFERENCE_COLOR, linestyle="--", linewidth=1.2, zorder=3,
                   gid="threshold-line", label=f"Threshold: ≥ {min_ratings} ratings")
        handles.append(
            Patch(facecolor=_EXCLUDED_COLOR, edgecolor="#666666", hatch="//",
                  label=f"Excluded (< {min_ratings} ratings): {n_excluded:,.0f} clips")
        )
        handles.append(ax.get_lines()[-1])
    ax.legend(handles=handles, loc="upper right", frameon=False, fontsize=9)

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=min(len(x) + 2, 15)))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("Ratings per clip")
    ax.set_ylabel("Number of clips")
    ax.grid(axis="y", color=GRID_COLOR, linewidth=0.6)
    finish_axes(ax, title=title)
    return ax
