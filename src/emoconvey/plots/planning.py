"""Power curve of a planned study (:func:`emoconvey.analysis.planning.plan_study`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from emoconvey._validation import require_columns
from emoconvey.errors import EmoconveyError
from emoconvey.plots.style import finish_axes, new_axes

__all__ = ["plot_power_curve"]


def plot_power_curve(
    curve: pd.DataFrame,
    *,
    target: float | None = 0.8,
    participants: int | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Simulated power against the number of participants, with Monte-Carlo bands.

    Parameters
    ----------
    curve : DataFrame
        ``participants``, ``ratings_per_clip``, ``power``, ``se``.
    target : float, optional
        Target power (dashed line).
    participants : int, optional
        The planner's answer (dotted vertical line).
    ax : Axes, optional
    title : str, optional

    Returns
    -------
    Axes
        A secondary x axis on top gives the mean ratings per clip.
    """
    require_columns(curve, ["participants", "ratings_per_clip", "power", "se"], name="curve")
    if curve.empty:
        raise EmoconveyError("curve: no rows to plot")
    ax = new_axes(ax, figsize=(7.0, 4.2))
    x = curve["participants"].to_numpy(dtype=float)
    p = curve["power"].to_numpy(dtype=float)
    se = curve["se"].to_numpy(dtype=float)
    ax.fill_between(x, np.clip(p - 1.96 * se, 0, 1), np.clip(p + 1.96 * se, 0, 1),
                    color="#0072B2", alpha=0.18, linewidth=0, gid="power-band")
    ax.plot(x, p, "o-", color="#0072B2", markersize=3.5, gid="power-curve")
    if target is not None:
        ax.axhline(target, color="#444444", linestyle="--", linewidth=1.0, gid="target")
    if participants is not None:
        ax.axvline(participants, color="#D55E00", linestyle=":", linewidth=1.5, gid="answer")
        ax.text(participants, 0.02, f" {participants}", color="#D55E00", fontsize=9,
                va="bottom", ha="left")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("participants recruited")
    ax.set_ylabel("power (share of simulated studies\ndetecting the difference)")
    ratio = float(curve["ratings_per_clip"].iloc[-1] / curve["participants"].iloc[-1])
    top = ax.secondary_xaxis("top", functions=(lambda v: v * ratio, lambda v: v / ratio))
    top.set_xlabel("mean ratings per clip")
    ax.grid(color="#e5e5e5", linewidth=0.8)
    finish_axes(ax, title=title)
    return ax
