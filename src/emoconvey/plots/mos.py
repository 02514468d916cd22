"""Figures of MOS (quality) ratings in the style of MusicEval (Liu et al., 2025).

* :func:`plot_score_histogram`: how often each score was given on one scale (or, for a
  release with clip means only, the histogram of clip means);
* :func:`plot_system_distributions`: one box per system of its clip means on one scale,
  systems ordered by MOS;
* :func:`plot_system_mos`: system MOS with confidence intervals, ordered by MOS.

Each takes the tables of :mod:`emoconvey.analysis.mos`, draws on ``ax`` (a new figure by
default) and returns the Axes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from emoconvey._validation import require_columns, require_rows
from emoconvey.errors import EmoconveyError
from emoconvey.plots.style import finish_axes, new_axes, system_colors

__all__ = ["plot_score_histogram", "plot_system_distributions", "plot_system_mos"]

_BAR = "#3b6ea5"


def _one_scale(df: pd.DataFrame, scale: str, *, name: str) -> pd.DataFrame:
    require_columns(df, ["scale"], name=name)
    part = df[df["scale"] == scale]
    if part.empty:
        raise EmoconveyError(
            f"{name}: no rows for scale {scale!r}; found {sorted(map(str, df['scale'].unique()))}"
        )
    return part


def plot_score_histogram(
    data: pd.DataFrame,
    *,
    scale: str,
    ax: Axes | None = None,
    title: str | None = None,
    points: tuple[int, int] = (1, 5),
) -> Axes:
    """Histogram of the scores of one scale.

    Parameters
    ----------
    data : DataFrame
        Either the :func:`~emoconvey.analysis.mos.score_distribution` table (``scale``,
        ``score``, ``count``): one bar per score; or a clip-mean table (``scale``,
        ``mean``): bins of width 0.2 between the scale's ends.
    scale : str
    ax : Axes, optional
    title : str, optional
    points : (int, int), default (1, 5)
        The scale's lowest and highest point.

    Returns
    -------
    Axes
    """
    part = _one_scale(data, scale, name="data")
    ax = new_axes(ax, figsize=(5.0, 3.6))
    lo, hi = points
    if "count" in part.columns:
        require_columns(part, ["score", "count"], name="data")
        x = part["score"].to_numpy(float)
        y = part["count"].to_numpy(float)
        ax.bar(x, y, width=0.7, color=_BAR, edgecolor="white")
        total = y.sum()
        for xi, yi in zip(x, y, strict=True):
            if total > 0:
                ax.annotate(
                    f"{100 * yi / total:.0f}%",
                    (xi, yi),
                    textcoords="offset points",
                    xytext=(0, 2),
                    ha="center",
                    fontsize=8,
                )
        ax.set_xticks(np.arange(lo, hi + 1))
        ax.set_ylabel("ratings")
        ax.set_xlabel(f"{scale} score")
    else:
        require_columns(part, ["mean"], name="data")
        require_rows(part, name="data")
        bins = np.arange(lo - 0.1, hi + 0.1 + 1e-9, 0.2)
        ax.hist(part["mean"].to_numpy(float), bins=bins, color=_BAR, edgecolor="white")
        ax.set_xticks(np.arange(lo, hi + 1))
        ax.set_ylabel("clips")
        ax.set_xlabel(f"{scale} clip MOS")
    ax.grid(axis="y", color="#e6e6e6")
    finish_axes(ax, title=title)
    return ax


def _order(system_mos: pd.DataFrame | None, systems: list[str], scale: str) -> list[str]:
    if system_mos is None:
        return systems
    part = _one_scale(system_mos, scale, name="system_mos")
    ordered = part.sort_values("mean", ascending=False, kind="stable")["system"].tolist()
    return [s for s in ordered if s in systems] + [s for s in systems if s not in ordered]


def plot_system_distributions(
    clips: pd.DataFrame,
    *,
    scale: str,
    system_mos: pd.DataFrame | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Box plot of each system's clip means on one scale, best system first.

    Parameters
    ----------
    clips : DataFrame
        Long clip means (``system``, ``scale``, ``mean``), e.g.
        :func:`~emoconvey.analysis.mos.clip_mos`.
    scale : str
    system_mos : DataFrame, optional
        :func:`~emoconvey.analysis.mos.system_mos`; orders the boxes by MOS and marks it.

    Returns
    -------
    Axes
    """
    part = _one_scale(clips, scale, name="clips")
    require_columns(part, ["system", "mean"], name="clips")
    systems = _order(system_mos, list(pd.unique(part["system"])), scale)
    ax = new_axes(ax, figsize=(max(5.0, 0.35 * len(systems) + 2), 3.8))
    data = [part.loc[part["system"] == s, "mean"].to_numpy(float) for s in systems]
    colors = system_colors(sorted(systems))
    box = ax.boxplot(data, patch_artist=True, widths=0.6, showfliers=True)
    for patch, s in zip(box["boxes"], systems, strict=True):
        patch.set_facecolor(colors[s])
        patch.set_alpha(0.75)
    for med in box["medians"]:
        med.set_color("black")
    means = [float(np.mean(d)) if len(d) else np.nan for d in data]
    ax.scatter(
        np.arange(1, len(systems) + 1),
        means,
        marker="D",
        s=14,
        color="white",
        edgecolor="black",
        zorder=3,
        label="MOS",
    )
    ax.set_xticks(np.arange(1, len(systems) + 1), systems, rotation=90 if len(systems) > 8 else 0)
    ax.set_ylabel(f"{scale} (clip MOS)")
    ax.set_ylim(0.8, 5.2)
    ax.grid(axis="y", color="#e6e6e6")
    finish_axes(ax, title=title)
    return ax


def plot_system_mos(
    system_mos: pd.DataFrame,
    *,
    scale: str,
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """System MOS with confidence intervals on one scale, best system at the top.

    Parameters
    ----------
    system_mos : DataFrame
        :func:`~emoconvey.analysis.mos.system_mos` (``system``, ``scale``, ``mean``,
        ``ci_low``, ``ci_high``).

    Returns
    -------
    Axes
    """
    part = _one_scale(system_mos, scale, name="system_mos")
    require_columns(part, ["system", "mean", "ci_low", "ci_high"], name="system_mos")
    part = part.sort_values("mean", ascending=True, kind="stable")
    systems = part["system"].tolist()
    ax = new_axes(ax, figsize=(5.0, max(2.5, 0.28 * len(systems) + 1.2)))
    y = np.arange(len(systems))
    mean = part["mean"].to_numpy(float)
    lo = mean - part["ci_low"].to_numpy(float)
    hi = part["ci_high"].to_numpy(float) - mean
    colors = system_colors(sorted(systems))
    ax.errorbar(
        mean,
        y,
        xerr=np.vstack([np.nan_to_num(lo), np.nan_to_num(hi)]),
        fmt="none",
        ecolor="#555555",
        capsize=2.5,
        lw=1,
    )
    ax.scatter(
        mean, y, c=[colors[s] for s in systems], s=30, zorder=3, edgecolor="black", linewidths=0.5
    )
    ax.set_yticks(y, systems)
    ax.set_xlim(1, 5)
    ax.set_xlabel(f"{scale} MOS")
    ax.grid(axis="x", color="#e6e6e6")
    finish_axes(ax, title=title)
    return ax
