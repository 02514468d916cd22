"""The valence-arousal plane per system (AImoclips Fig. 6) and quadrant hit rates.

Input tables (produced by the statistics modules):

clip table
    ``clip, system, intent, quadrant`` (intended), ``valence, arousal`` (clip mean
    ratings), ``norm_valence, norm_arousal``.
``plane`` (``va_plane`` table)
    One row per (system, quadrant): ``mean_valence, mean_arousal``, covariance terms,
    ``ellipse_width, ellipse_height`` (full axis lengths) and ``ellipse_angle`` (degrees
    counter-clockwise from the valence axis); NaN ellipse columns mean "no ellipse".
``intents``
    ``intent, quadrant, norm_valence, norm_arousal``.
``hit_rate`` (``quadrant_hit_rate`` table)
    ``system, intent, quadrant, n, hits, hit_rate, ci_low, ci_high``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import pairwise

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse

from emoconvey._validation import (
    QUADRANTS,
    SCALE_CENTRE,
    SCALE_MAX,
    SCALE_MIN,
    check_positive_int,
    require_columns,
    require_rows,
)
from emoconvey.errors import DataValidationError, EmoconveyError
from emoconvey.plots.style import (
    GRID_COLOR,
    QUADRANT_DESCRIPTIONS,
    RASTERIZE_ABOVE,
    REFERENCE_COLOR,
    finish_axes,
    group_colors,
    new_axes,
    place_labels,
    point_size,
    quadrant_label,
)

__all__ = ["plot_hit_rate", "plot_va_plane", "plot_va_planes"]

CLIP_COLUMNS = ("system", "quadrant", "valence", "arousal")
PLANE_COLUMNS = (
    "system",
    "quadrant",
    "mean_valence",
    "mean_arousal",
    "ellipse_width",
    "ellipse_height",
    "ellipse_angle",
)
INTENT_COLUMNS = ("intent", "quadrant", "norm_valence", "norm_arousal")
HIT_RATE_COLUMNS = ("system", "intent", "quadrant", "hit_rate")

_LIMITS = (SCALE_MIN - 0.25, SCALE_MAX + 0.25)
_HALO = [patheffects.withStroke(linewidth=2.5, foreground="white")]


def _num(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _check_quadrants(df: pd.DataFrame, *, name: str) -> np.ndarray:
    q = df["quadrant"].astype(str).to_numpy()
    bad = ~np.isin(q, QUADRANTS)
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataValidationError(
            f"unknown quadrant {q[pos]!r}; expected one of {', '.join(map(repr, QUADRANTS))}",
            file=name,
            row=pos + 2,
            column="quadrant",
        )
    return q


class _Inputs:
    """Validated inputs of the VA-plane figures, as numpy arrays indexed by system."""

    def __init__(self, clips: pd.DataFrame, plane: pd.DataFrame, intents: pd.DataFrame) -> None:
        require_columns(clips, CLIP_COLUMNS, name="clips")
        require_columns(plane, PLANE_COLUMNS, name="plane")
        require_columns(intents, INTENT_COLUMNS, name="intents")
        self.clip_q = _check_quadrants(clips, name="clips")
        self.plane_q = _check_quadrants(plane, name="plane")
        self.intent_q = _check_quadrants(intents, name="intents")
        self.clip_v, self.clip_a = _num(clips["valence"]), _num(clips["arousal"])
        clip_sys = clips["system"].astype(str)
        plane_sys = plane["system"].astype(str)
        self.clip_index = clip_sys.groupby(clip_sys, sort=False).indices
        self.plane_index = plane_sys.groupby(plane_sys, sort=False).indices
        self.plane_cols = {c: _num(plane[c]) for c in PLANE_COLUMNS[2:]}
        self.intent_words = intents["intent"].astype(str).to_numpy()
        self.intent_v, self.intent_a = _num(intents["norm_valence"]), _num(intents["norm_arousal"])
        self.systems = list(self.plane_index) + [
            s for s in self.clip_index if s not in self.plane_index
        ]

    def check_system(self, system: object, *, name: str = "system") -> str:
        if not isinstance(system, str):
            raise EmoconveyError(f"{name}: expected a system name, got {system!r}")
        if system not in self.clip_index and system not in self.plane_index:
            raise EmoconveyError(
                f"{name}: {system!r} is in neither clips nor plane (systems: "
                f"{', '.join(map(repr, self.systems)) or 'none'})"
            )
        return system


def _legend_handles(
    qcolors: Mapping[str, str], *, long: bool, ellipse_label: str
) -> list[Line2D]:
    handles = [
        Line2D([], [], linestyle="none", marker="o", markersize=7, color=qcolors[q],
               label=f"{quadrant_label(q)} ({QUADRANT_DESCRIPTIONS[q]})" if long
               else quadrant_label(q))
        for q in QUADRANTS
    ]
    handles += [
        Line2D([], [], linestyle="none", marker="o", markersize=5, color="#888888", alpha=0.6,
               label="Clip mean"),
        Line2D([], [], linestyle="none", marker="*", markersize=13, markerfacecolor="#888888",
               markeredgecolor="black", markeredgewidth=0.7, label="Quadrant mean"),
        Line2D([], [], linestyle="none", marker="X", markersize=8, markerfacecolor="black",
               markeredgecolor="white", label="Intent (lexicon norm)"),
        Line2D([], [], color="#888888", linewidth=1.6, label=str(ellipse_label)),
    ]
    return handles


def _draw_plane(
    ax: Axes,
    data: _Inputs,
    system: str,
    qcolors: Mapping[str, str],
) -> None:
    """Draw one system's panel on ``ax`` (no intent labels, legend or title)."""
    idx = data.clip_index.get(system, np.empty(0, dtype=int))
    n_points = len(idx)
    size = point_size(n_points, largest=22.0, smallest=1.5)
    raster = n_points > RASTERIZE_ABOVE
    for f in (ax.axhline, ax.axvline):
        f(SCALE_CENTRE, color=REFERENCE_COLOR, linestyle="--", linewidth=0.9, zorder=1,
          gid="centre-line")
    corner = {"hv_ha": (0.98, 0.98, "right", "top"), "lv_ha": (0.02, 0.98, "left", "top"),
              "lv_la": (0.02, 0.02, "left", "bottom"), "hv_la": (0.98, 0.02, "right", "bottom")}
    for q, (cx, cy, ha, va) in corner.items():
        ax.text(cx, cy, quadrant_label(q), transform=ax.transAxes, ha=ha, va=va, fontsize=7.5,
                color="#999999", zorder=0, gid="quadrant-name")
    q_of_clip = data.clip_q[idx]
    v, a = data.clip_v[idx], data.clip_a[idx]
    for q in QUADRANTS:
        m = (q_of_clip == q) & np.isfinite(v) & np.isfinite(a)
        if m.any():
            ax.scatter(v[m], a[m], s=size, color=qcolors[q], alpha=0.5, linewidths=0,
                       rasterized=raster, zorder=2, gid="clip-means")

    rows = data.plane_index.get(system, np.empty(0, dtype=int))
    pc = {k: col[rows] for k, col in data.plane_cols.items()}
    pq = data.plane_q[rows]
    for j in range(len(rows)):
        geom = [pc[k][j] for k in ("mean_valence", "mean_arousal", "ellipse_width",
                                   "ellipse_height", "ellipse_angle")]
        if all(np.isfinite(geom)) and geom[2] >= 0 and geom[3] >= 0:
            ax.add_patch(Ellipse((geom[0], geom[1]), geom[2], geom[3], angle=geom[4],
                                 fill=False, edgecolor=qcolors[pq[j]], linewidth=1.6,
                                 zorder=3, gid="ellipse"))
    ok = np.isfinite(pc["mean_valence"]) & np.isfinite(pc["mean_arousal"])
    if ok.any():
        ax.scatter(pc["mean_valence"][ok], pc["mean_arousal"][ok], marker="*", s=230,
                   c=[qcolors[q] for q in pq[ok]], edgecolors="black", linewidths=0.8,
                   zorder=5, gid="quadrant-means")

    ok = np.isfinite(data.intent_v) & np.isfinite(data.intent_a)
    if ok.any():
        ax.scatter(data.intent_v[ok], data.intent_a[ok], marker="X", s=60, c="black",
                   edgecolors="white", linewidths=0.8, zorder=6, gid="intent-norms")
    # Everything drawn so far lies inside the axes: leaving it out of the layout keeps
    # constrained layout fast with 10^5 points and hundreds of labels.
    for artist in (*ax.collections, *ax.patches, *ax.texts, *ax.lines):
        artist.set_in_layout(False)
    ax.set_xlim(*_LIMITS)
    ax.set_ylim(*_LIMITS)
    ticks = range(SCALE_MIN, SCALE_MAX + 1)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_aspect("equal", adjustable="box")
    ax.grid(color=GRID_COLOR, linewidth=0.5)
    finish_axes(ax, title=None)


def _settle_layout(ax: Axes) -> None:
    """Run the figure's layout engine now, so that label placement sees final geometry."""
    fig = ax.get_figure(root=True)
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)


_Layout = list[tuple[float, float, str, str]]


def _label_intents(
    ax: Axes, data: _Inputs, *, fontsize: float, layout: _Layout | None = None
) -> _Layout:
    """Write each intent's word by its marker; reuse ``layout`` (offsets) when given."""
    ok = np.isfinite(data.intent_v) & np.isfinite(data.intent_a)
    xs, ys, words = data.intent_v[ok], data.intent_a[ok], list(data.intent_words[ok])
    if layout is None:
        texts = place_labels(ax, xs, ys, words, fontsize=fontsize, gid="intent-label",
                             path_effects=_HALO, zorder=7)
        layout = [(*t.xyann, t.get_horizontalalignment(), t.get_verticalalignment())
                  for t in texts]
    else:
        texts = [
            ax.annotate(word, (x, y), xytext=(dx, dy), textcoords="offset points", ha=ha,
                        va=va, fontsize=fontsize, color="#222222", zorder=7,
                        path_effects=_HALO, gid="intent-label")
            for x, y, word, (dx, dy, ha, va) in zip(xs, ys, words, layout, strict=True)
        ]
    for t in texts:
        t.set_in_layout(False)
    return layout


def plot_va_plane(
    clips: pd.DataFrame,
    plane: pd.DataFrame,
    intents: pd.DataFrame,
    *,
    system: str,
    ax: Axes | None = None,
    colors: Mapping[str, str] | None = None,
    legend: bool = True,
    label_intents: bool = True,
    ellipse_label: str = "95 % ellipse",
    title: str | None = None,
) -> Axes:
    """One system's clips in the valence-arousal plane, with quadrant summaries.

    Clip mean ratings are points coloured by the quadrant the clip was *meant* to
    convey; stars are the quadrant means, ellipses the 95 % ellipses of the ``plane``
    table (skipped where NaN), and X markers the intents' lexicon norms, labelled with
    the word. Dashed lines at 5.0 split the quadrants.

    Parameters
    ----------
    clips : DataFrame
        Clip table (``system, quadrant, valence, arousal``); other systems are ignored.
    plane : DataFrame
        ``va_plane`` table; only the rows of ``system`` are drawn.
    intents : DataFrame
        Intents table (all intents are drawn: every system was prompted with them).
    system : str
        The system to draw.
    ax : Axes, optional
        Draw here; by default a new figure is created.
    colors : mapping, optional
        ``{quadrant: colour}`` for all four quadrants (default
        :data:`~emoconvey.plots.style.QUADRANT_COLORS`).
    legend : bool, default True
        Add the legend (outside, to the right).
    label_intents : bool, default True
        Write each intent's word next to its marker.
    ellipse_label : str, default "95 % ellipse"
        Legend entry of the ellipses; match it to the level the ``plane`` table used.
    title : str, optional
        Axes title (off by default).

    Returns
    -------
    Axes
        Clip points are PathCollections with gid ``"clip-means"`` (one per quadrant
        present), quadrant means one PathCollection ``"quadrant-means"``, ellipses
        Ellipse patches ``"ellipse"``, intents a PathCollection ``"intent-norms"``.
    """
    data = _Inputs(clips, plane, intents)
    system = data.check_system(system)
    qcolors = group_colors("quadrant", QUADRANTS, colors)
    ax = new_axes(ax, figsize=(8.2, 5.0))
    _draw_plane(ax, data, system, qcolors)
    ax.set_xlabel("Valence (1–9)")
    ax.set_ylabel("Arousal (1–9)")
    if legend:
        handles = _legend_handles(qcolors, long=True, ellipse_label=ellipse_label)
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8,
                  frameon=False, title="Intended quadrant", title_fontsize=8,
                  alignment="left")
    finish_axes(ax, title=title)
    if label_intents:
        _settle_layout(ax)
        _label_intents(ax, data, fontsize=8.0)
    return ax


def plot_va_planes(
    clips: pd.DataFrame,
    plane: pd.DataFrame,
    intents: pd.DataFrame,
    *,
    systems: Sequence[str] | None = None,
    ncols: int = 3,
    colors: Mapping[str, str] | None = None,
    label_intents: bool | str = "first",
    ellipse_label: str = "95 % ellipse",
    panel_size: float = 3.0,
    title: str | None = None,
) -> Figure:
    """A grid of :func:`plot_va_plane` panels, one per system, with one shared legend.

    Parameters
    ----------
    clips, plane, intents : DataFrame
        As for :func:`plot_va_plane`.
    systems : sequence of str, optional
        Systems to show, in this order. Default: the order of ``plane``, then any system
        only in ``clips``.
    ncols : int, default 3
        Panels per row.
    colors : mapping, optional
        ``{quadrant: colour}``.
    label_intents : bool or "first", default "first"
        Label the intent markers in every panel (True), only in the first panel
        ("first": the norms are the same in every panel, so this keeps the grid clean),
        or nowhere (False).
    ellipse_label : str, default "95 % ellipse"
        Legend entry of the ellipses; match it to the level the ``plane`` table used.
    panel_size : float, default 3.0
        Width and height of one panel in inches.
    title : str, optional
        Figure title (off by default).

    Returns
    -------
    Figure
        Each panel is titled with its system; unused grid cells are removed.
    """
    data = _Inputs(clips, plane, intents)
    ncols = check_positive_int(ncols, name="ncols")
    if isinstance(panel_size, bool) or not isinstance(panel_size, int | float) or panel_size <= 0:
        raise EmoconveyError(f"panel_size: expected a positive number, got {panel_size!r}")
    if systems is None:
        systems = data.systems
    else:
        if isinstance(systems, str):
            raise EmoconveyError(f"systems: expected a list of system names, got {systems!r}")
        systems = [data.check_system(s, name="systems") for s in systems]
    if not systems:
        raise DataValidationError("no systems to draw", file="plane")
    if label_intents not in (True, False, "first"):
        raise EmoconveyError(
            f"label_intents: expected True, False or 'first', got {label_intents!r}"
        )
    qcolors = group_colors("quadrant", QUADRANTS, colors)
    n = len(systems)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(ncols * panel_size + 0.6, nrows * panel_size + 0.9),
                 layout="constrained")
    axs = fig.subplots(nrows, ncols, squeeze=False)
    for k, ax in enumerate(axs.flat):
        if k >= n:
            fig.delaxes(ax)
            continue
        c = k % ncols
        _draw_plane(ax, data, systems[k], qcolors)
        ax.set_title(systems[k], fontsize=10)
        has_below = k + ncols < n
        if has_below:
            ax.tick_params(labelbottom=False)
        else:
            ax.set_xlabel("Valence (1–9)")
        if c == 0:
            ax.set_ylabel("Arousal (1–9)")
        else:
            ax.tick_params(labelleft=False)
        ax.tick_params(labelsize=8)
    handles = _legend_handles(qcolors, long=False, ellipse_label=ellipse_label)
    fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=8, frameon=False)
    if title is not None:
        fig.suptitle(str(title))
    if label_intents:
        _settle_layout(fig.axes[0])
        layout = None
        for ax in fig.axes[: 1 if label_intents == "first" else n]:
            layout = _label_intents(ax, data, fontsize=6.5, layout=layout)
    return fig


def _hit_rate_grid(
    hit_rate: pd.DataFrame, systems: Sequence[str] | None, chance: float | None
) -> tuple[np.ndarray, list[str], list[str], pd.Series]:
    """Check the inputs of :func:`plot_hit_rate`; the systems × intents grid of rates.

    Returns the grid, its row (system) and column (intent, grouped by quadrant) labels,
    and each intent's quadrant.
    """
    require_columns(hit_rate, HIT_RATE_COLUMNS, name="hit_rate")
    require_rows(hit_rate, name="hit_rate")
    quads = _check_quadrants(hit_rate, name="hit_rate")
    rate = _num(hit_rate["hit_rate"])
    bad = np.isfinite(rate) & ((rate < 0) | (rate > 1))
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataValidationError(
            f"expected a rate in [0, 1], found {rate[pos]!r}", file="hit_rate", row=pos + 2,
            column="hit_rate",
        )
    df = pd.DataFrame({
        "system": hit_rate["system"].astype(str).to_numpy(),
        "intent": hit_rate["intent"].astype(str).to_numpy(),
        "quadrant": quads,
        "rate": rate,
    })
    dup = df.duplicated(["system", "intent"])
    if dup.any():
        row = df[dup].iloc[0]
        raise DataValidationError(
            f"more than one row for system {row['system']!r}, intent {row['intent']!r}",
            file="hit_rate",
        )
    if systems is None:
        systems = list(dict.fromkeys(df["system"]))
    else:
        if isinstance(systems, str):
            raise EmoconveyError(f"systems: expected a list of system names, got {systems!r}")
        systems = [str(s) for s in systems]
        unknown = [s for s in systems if s not in set(df["system"])]
        if unknown:
            raise EmoconveyError(f"systems: {', '.join(map(repr, unknown))} not in hit_rate")
    intent_quadrant = df.drop_duplicates("intent").set_index("intent")["quadrant"]
    intents = [i for q in QUADRANTS for i in intent_quadrant.index if intent_quadrant[i] == q]
    grid = df.pivot(index="system", columns="intent", values="rate").reindex(
        index=systems, columns=intents
    )
    values = grid.to_numpy(dtype=float)
    if chance is not None and (isinstance(chance, bool) or not isinstance(chance, int | float)
                               or not 0 <= chance <= 1):
        raise EmoconveyError(f"chance: expected a rate in [0, 1] or None, got {chance!r}")
    return values, systems, intents, intent_quadrant


def _quadrant_header(ax: Axes, intents: list[str], intent_quadrant: pd.Series) -> None:
    """White lines between the quadrants' intent columns, quadrant names on top."""
    bounds = [0]
    for q in QUADRANTS:
        count = sum(1 for i in intents if intent_quadrant[i] == q)
        if count:
            bounds.append(bounds[-1] + count)
    for b in bounds[1:-1]:
        ax.axvline(b - 0.5, color="white", linewidth=3, gid="quadrant-separator")
    present = [q for q in QUADRANTS if (intent_quadrant == q).any()]
    top = ax.secondary_xaxis("top")
    top.set_xticks([(lo + hi - 1) / 2 for lo, hi in pairwise(bounds)],
                   [quadrant_label(q) for q in present])
    top.tick_params(length=0)
    top.spines["top"].set_visible(False)


def _hit_rate_colorbar(ax: Axes, image: object, chance: float | None) -> None:
    """Colour bar in percent beside ``ax``, with the chance rate marked."""
    cbar = ax.get_figure(root=True).colorbar(image, ax=ax, fraction=0.05, pad=0.02)
    cbar.set_label("Quadrant hit rate (%)")
    ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
    if chance is not None:
        ticks = sorted({*ticks, float(chance)})
    cbar.set_ticks(ticks, labels=[
        f"{100 * t:.0f}" + (" (chance)" if chance is not None and t == chance else "")
        for t in ticks
    ])
    if chance is not None:
        cbar.ax.axhline(float(chance), color="white", linewidth=1.5, linestyle="--",
                        gid="chance-line")


def plot_hit_rate(
    hit_rate: pd.DataFrame,
    *,
    ax: Axes | None = None,
    systems: Sequence[str] | None = None,
    annotate: bool | None = None,
    chance: float | None = 0.25,
    colorbar: bool = True,
    title: str | None = None,
) -> Axes:
    """Heatmap of quadrant hit rate, systems × intents.

    Intents are grouped by quadrant (separated by white lines, quadrant names on top).

    Parameters
    ----------
    hit_rate : DataFrame
        ``quadrant_hit_rate`` table (``system, intent, quadrant, hit_rate``; rates in
        [0, 1]). One row per (system, intent); missing cells are drawn light grey.
    ax : Axes, optional
        Draw here; by default a new figure is created (with a colour bar).
    systems : sequence of str, optional
        Rows to show, in this order. Default: table order.
    annotate : bool, optional
        Write the percentage in each cell. Default: when there are at most 400 cells.
    chance : float or None, default 0.25
        Mark this rate (chance for four quadrants) on the colour bar.
    colorbar : bool, default True
        Add a colour bar next to ``ax`` (taking space from it).
    title : str, optional
        Axes title (off by default).

    Returns
    -------
    Axes
        The heatmap is an AxesImage (``ax.images[0]``).
    """
    values, systems, intents, intent_quadrant = _hit_rate_grid(hit_rate, systems, chance)
    ax = new_axes(ax, figsize=(max(5.0, 1.6 + 0.55 * len(intents)),
                               max(2.5, 1.4 + 0.38 * len(systems))))
    cmap = matplotlib.colormaps["cividis"].with_extremes(bad="#EEEEEE")
    image = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0.0, vmax=1.0,
                      aspect="auto", interpolation="nearest")
    ax.set_xticks(np.arange(len(intents)), intents)
    ax.set_yticks(np.arange(len(systems)), systems)
    for t in ax.get_xticklabels():
        t.set_rotation(40)
        t.set_horizontalalignment("right")
        t.set_rotation_mode("anchor")
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)

    _quadrant_header(ax, intents, intent_quadrant)

    if annotate is None:
        annotate = values.size <= 400
    if annotate:
        for (r, c), val in np.ndenumerate(values):
            if np.isfinite(val):
                ax.text(c, r, f"{100 * val:.0f}", ha="center", va="center", fontsize=8,
                        color="black" if val > 0.55 else "white", gid="cell-label")
    ax.set_xlabel("Intended emotion")
    ax.set_ylabel("System")
    if colorbar:
        _hit_rate_colorbar(ax, image, chance)
    if title is not None:
        ax.set_title(str(title), pad=24)
    return ax
