"""Shared look of every emoconvey figure: palettes, quadrant names and axes helpers.

Colours are colour-blind safe: the Okabe & Ito (2008) palette first, then Paul Tol's
"muted" scheme. A system keeps the same colour in every figure as long as the same list
of systems is passed to :func:`system_colors` (the report builds the mapping once and
hands it to each plot through ``colors=``). Past 16 systems colours repeat, so
:func:`system_markers` changes the marker shape for each further block of 16.

No function here touches pyplot or ``matplotlib.rcParams``: figures are created with
:class:`matplotlib.figure.Figure` directly, so nothing leaks between calls and
everything works without a display.

References
----------
Okabe, M., & Ito, K. (2008). Color universal design (CUD): How to make figures and
presentations that are friendly to colorblind people. https://jfly.uni-koeln.de/color/
Tol, P. (2021). Colour schemes. SRON/EPS/TN/09-002. https://personal.sron.nl/~pault/
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Annotation

from emoconvey.errors import EmoconveyError

__all__ = [
    "AXIS_COLORS",
    "AXIS_LABELS",
    "GRID_COLOR",
    "OKABE_ITO",
    "QUADRANT_COLORS",
    "QUADRANT_DESCRIPTIONS",
    "QUADRANT_LABELS",
    "RASTERIZE_ABOVE",
    "REFERENCE_COLOR",
    "SYSTEM_MARKERS",
    "SYSTEM_PALETTE",
    "TOL_MUTED",
    "check_ax",
    "finish_axes",
    "group_colors",
    "new_axes",
    "place_labels",
    "point_size",
    "quadrant_label",
    "system_colors",
    "system_markers",
]

OKABE_ITO: dict[str, str] = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}
"""The eight Okabe-Ito colours, by name."""

TOL_MUTED: tuple[str, ...] = (
    "#332288",  # indigo
    "#999933",  # olive
    "#882255",  # wine
    "#44AA99",  # teal
    "#DDCC77",  # sand
    "#CC6677",  # rose
    "#117733",  # green
    "#88CCEE",  # cyan
    "#AA4499",  # purple
)
"""Paul Tol's muted qualitative scheme (pale grey left out)."""

SYSTEM_PALETTE: tuple[str, ...] = (
    OKABE_ITO["orange"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["black"],
    *TOL_MUTED,
)
"""Colours given to systems, in order (16; Okabe-Ito yellow is left out: too pale on white)."""

SYSTEM_MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P")
"""Marker shapes; a new shape for each block of ``len(SYSTEM_PALETTE)`` systems."""

QUADRANT_COLORS: dict[str, str] = {
    "hv_ha": OKABE_ITO["orange"],
    "lv_ha": OKABE_ITO["reddish_purple"],
    "lv_la": OKABE_ITO["blue"],
    "hv_la": OKABE_ITO["bluish_green"],
}
"""Colour of each intended quadrant (used for clips, quadrant means and ellipses)."""

QUADRANT_LABELS: dict[str, str] = {
    "hv_ha": "HV–HA",
    "lv_ha": "LV–HA",
    "lv_la": "LV–LA",
    "hv_la": "HV–LA",
}
"""Short quadrant names for ticks and legends."""

QUADRANT_DESCRIPTIONS: dict[str, str] = {
    "hv_ha": "high valence, high arousal",
    "lv_ha": "low valence, high arousal",
    "lv_la": "low valence, low arousal",
    "hv_la": "high valence, low arousal",
}
"""Quadrant names spelt out (for captions and long legends)."""

AXIS_COLORS: dict[str, str] = {"valence": OKABE_ITO["sky_blue"], "arousal": OKABE_ITO["vermillion"]}
"""Colour of each rating axis in figures that show both side by side."""

AXIS_LABELS: dict[str, str] = {"valence": "Valence", "arousal": "Arousal"}
"""Capitalised axis names."""

REFERENCE_COLOR: str = "#555555"
"""Colour of reference lines (zero, scale centre, identity)."""

GRID_COLOR: str = "#DDDDDD"
"""Colour of light grid lines and shaded regions."""

def _unique(values: Iterable[object], *, name: str) -> list[str]:
    """Order-preserving unique list of names (strings), rejecting a bare string."""
    if isinstance(values, str):
        raise EmoconveyError(f"{name}: expected a list of names, got the string {values!r}")
    out: list[str] = []
    seen: set[str] = set()
    for v in values:
        s = str(v)
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


def system_colors(
    systems: Iterable[str], *, palette: Iterable[str] | None = None
) -> dict[str, str]:
    """Give each system a fixed colour.

    Parameters
    ----------
    systems : iterable of str
        System names in the order colours should be handed out (duplicates are ignored).
        Pass the same full list for every figure of a report to keep colours stable.
    palette : iterable of str, optional
        Colours to use instead of :data:`SYSTEM_PALETTE`; cycled when there are more
        systems than colours.

    Returns
    -------
    dict
        ``{system: hex colour}``, in the order of ``systems``.

    Examples
    --------
    >>> system_colors(["Suno", "Udio"])
    {'Suno': '#E69F00', 'Udio': '#56B4E9'}
    """
    names = _unique(systems, name="systems")
    colours = tuple(SYSTEM_PALETTE if palette is None else _unique(palette, name="palette"))
    if not colours:
        raise EmoconveyError("palette: expected at least one colour")
    return {s: colours[i % len(colours)] for i, s in enumerate(names)}


def system_markers(systems: Iterable[str]) -> dict[str, str]:
    """Give each system a marker shape that, with :func:`system_colors`, tells it apart.

    The first 16 systems (one per palette colour) get circles, the next 16 squares, etc.

    Parameters
    ----------
    systems : iterable of str
        System names, in the same order as passed to :func:`system_colors`.

    Returns
    -------
    dict
        ``{system: matplotlib marker}``.
    """
    names = _unique(systems, name="systems")
    n = len(SYSTEM_PALETTE)
    return {s: SYSTEM_MARKERS[(i // n) % len(SYSTEM_MARKERS)] for i, s in enumerate(names)}


def quadrant_label(quadrant: str) -> str:
    """Short label of a quadrant (``"hv_ha"`` → ``"HV–HA"``); unknown names pass through."""
    return QUADRANT_LABELS.get(str(quadrant), str(quadrant))


def group_colors(
    group_column: str,
    groups: Iterable[str],
    colors: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Colour for each group of a grouped table.

    Systems get :func:`system_colors` (in sorted order, so that any table with the same
    systems gives the same colours), quadrants :data:`QUADRANT_COLORS`, anything else the
    system palette in the order given. ``colors`` overrides and must cover every group.

    Parameters
    ----------
    group_column : str
        Name of the grouping column (``"system"``, ``"quadrant"``, ``"intent"``, ...).
    groups : iterable of str
        The groups to colour.
    colors : mapping, optional
        Explicit ``{group: colour}``.

    Returns
    -------
    dict
        ``{group: colour}`` for every group.

    Raises
    ------
    EmoconveyError
        If ``colors`` lacks one of the groups.
    """
    names = _unique(groups, name="groups")
    if colors is not None:
        if not isinstance(colors, Mapping):
            raise EmoconveyError(
                f"colors: expected a mapping {{{group_column}: colour}}, got "
                f"{type(colors).__name__}"
            )
        missing = [g for g in names if g not in colors]
        if missing:
            raise EmoconveyError(
                f"colors: no colour for {group_column} {', '.join(map(repr, missing))}"
            )
        return {g: colors[g] for g in names}
    if group_column == "quadrant" and all(g in QUADRANT_COLORS for g in names):
        return {g: QUADRANT_COLORS[g] for g in names}
    if group_column == "system":
        return system_colors(sorted(names))
    return system_colors(names)


def check_ax(ax: object) -> Axes | None:
    """Raise unless ``ax`` is ``None`` or a matplotlib Axes."""
    if ax is not None and not isinstance(ax, Axes):
        raise EmoconveyError(f"ax: expected a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def new_axes(ax: Axes | None = None, *, figsize: tuple[float, float] = (6.0, 4.5)) -> Axes:
    """Return ``ax``, or the Axes of a new constrained-layout :class:`Figure`.

    Parameters
    ----------
    ax : Axes, optional
        Draw here if given.
    figsize : (float, float)
        Size in inches of a new figure.

    Returns
    -------
    Axes
    """
    check_ax(ax)
    if ax is not None:
        return ax
    fig = Figure(figsize=figsize, layout="constrained")
    return fig.add_subplot()


def finish_axes(ax: Axes, *, title: str | None) -> None:
    """Common finishing touches: optional title, light grid below the data, no top/right spines."""
    if title is not None:
        ax.set_title(str(title))
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def point_size(n: int, *, largest: float = 30.0, smallest: float = 2.0) -> float:
    """Marker area (pt²) for a scatter of ``n`` points: big for few, small for many."""
    if n <= 0:
        return largest
    return float(np.clip(largest * np.sqrt(150.0 / n), smallest, largest))


RASTERIZE_ABOVE: int = 500
"""Point clouds with more points than this are rasterized in vector output."""


def place_labels(
    ax: Axes,
    xs: np.ndarray,
    ys: np.ndarray,
    labels: Sequence[str],
    *,
    fontsize: float = 9,
    gid: str = "group-label",
    **text_kw: object,
) -> list[Annotation]:
    """Label points, choosing for each the offset that overlaps least with earlier labels.

    A greedy approximation (text size estimated from the character count); good enough to
    keep 20 system names readable without an extra dependency.
    """
    fig = ax.get_figure(root=True)
    ax.apply_aspect()
    px_per_pt = fig.dpi / 72.0
    pts = ax.transData.transform(np.column_stack([xs, ys]))
    axes_box = ax.get_window_extent()
    candidates = [  # (dx, dy) in points, ha, va
        (5, 5, "left", "bottom"),
        (5, -5, "left", "top"),
        (-5, 5, "right", "bottom"),
        (-5, -5, "right", "top"),
        (0, 8, "center", "bottom"),
        (0, -8, "center", "top"),
        (8, 0, "left", "center"),
        (-8, 0, "right", "center"),
    ]
    marker_r = 4 * px_per_pt
    obstacles = [(p[0] - marker_r, p[1] - marker_r, p[0] + marker_r, p[1] + marker_r)
                 for p in pts]
    placed: list[tuple[float, float, float, float]] = []
    out: list[Annotation] = []

    def box(px: float, py: float, w: float, h: float, c: tuple) -> tuple:
        dx, dy, ha, va = c
        x0 = px + dx * px_per_pt - {"left": 0, "center": w / 2, "right": w}[ha]
        y0 = py + dy * px_per_pt - {"bottom": 0, "center": h / 2, "top": h}[va]
        return (x0, y0, x0 + w, y0 + h)

    def overlap(a: tuple, b: tuple) -> float:
        w = min(a[2], b[2]) - max(a[0], b[0])
        h = min(a[3], b[3]) - max(a[1], b[1])
        return w * h if w > 0 and h > 0 else 0.0

    for i, (p, text) in enumerate(zip(pts, labels, strict=True)):
        w = 0.6 * fontsize * len(text) * px_per_pt
        h = 1.2 * fontsize * px_per_pt
        best, best_cost = candidates[0], np.inf
        for c in candidates:
            b = box(p[0], p[1], w, h, c)
            cost = sum(overlap(b, o) for o in placed)
            cost += sum(overlap(b, o) for j, o in enumerate(obstacles) if j != i)
            outside = (max(axes_box.x0 - b[0], 0) + max(b[2] - axes_box.x1, 0)
                       + max(axes_box.y0 - b[1], 0) + max(b[3] - axes_box.y1, 0))
            cost += outside * h * 2
            if cost < best_cost - 1e-9:
                best, best_cost = c, cost
        placed.append(box(p[0], p[1], w, h, best))
        out.append(ax.annotate(
            text, (xs[i], ys[i]), xytext=best[:2], textcoords="offset points",
            ha=best[2], va=best[3], fontsize=fontsize, gid=gid,
            **{"color": "#222222", "zorder": 5, **text_kw},
        ))
    return out
