"""Figures of deviation from the intended emotion (AImoclips Figs. 3-5, plus extras).

All functions here draw the output tables of the statistics modules:

``mean_dev`` (long ``mean_deviation`` table)
    First column the grouping column (``system``, ``quadrant`` or ``intent``), then
    ``axis`` (``valence``/``arousal``), ``measure`` (``deviation``/``abs_deviation``),
    ``n``, ``mean``, ``sd``, ``se``, ``ci_low``, ``ci_high``.
``tukey`` (``tukey_hsd`` table)
    ``axis, measure, group1, group2, meandiff, ci_low, ci_high, p_adj, reject``.
``neutrality`` (``neutrality_bias`` table)
    ``system, axis, n, norm_distance, rating_distance, bias, ratio, slope, slope_ci_low,
    slope_ci_high, intercept, r``.

Deviation is *rated − intended* (clip mean rating minus the intent's lexicon norm), in
points of the 1-9 rating scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from emoconvey._validation import (
    AXES,
    QUADRANTS,
    SCALE_CENTRE,
    SCALE_MAX,
    SCALE_MIN,
    check_choice,
    require_columns,
    require_dataframe,
    require_rows,
)
from emoconvey.errors import DataValidationError, EmoconveyError
from emoconvey.plots.style import (
    AXIS_COLORS,
    AXIS_LABELS,
    GRID_COLOR,
    RASTERIZE_ABOVE,
    REFERENCE_COLOR,
    finish_axes,
    group_colors,
    new_axes,
    place_labels,
    point_size,
    quadrant_label,
    system_markers,
)

__all__ = [
    "MEASURES",
    "compact_letter_display",
    "plot_ci",
    "plot_deviation_plane",
    "plot_group_deviation",
    "plot_neutrality",
    "significance_stars",
]

MEASURES: tuple[str, str] = ("deviation", "abs_deviation")
"""Measures of the ``mean_deviation`` table."""

_STAT_COLUMNS = ("axis", "measure", "n", "mean", "sd", "se", "ci_low", "ci_high")
_MEASURE_TEXT = {
    "deviation": "deviation (rated − intended)",
    "abs_deviation": "absolute deviation |rated − intended|",
}


# --------------------------------------------------------------------------- helpers


def _group_column(mean_dev: pd.DataFrame, *, name: str = "mean_dev") -> str:
    """Validate a ``mean_deviation`` table and return its grouping column."""
    require_dataframe(mean_dev, name=name)
    if len(mean_dev.columns) == 0:
        raise DataValidationError("expected a grouping column first, found no columns", file=name)
    group = str(mean_dev.columns[0])
    if group in _STAT_COLUMNS:
        raise DataValidationError(
            f"the first column must be the grouping column (e.g. 'system', 'quadrant' or "
            f"'intent'), found {group!r}",
            file=name,
        )
    require_columns(mean_dev, ["axis", "measure", "mean", "ci_low", "ci_high"], name=name)
    require_rows(mean_dev, name=name)
    bad_axis = sorted(set(map(str, mean_dev["axis"])) - set(AXES))
    if bad_axis:
        raise DataValidationError(
            f"unknown axis value(s) {', '.join(map(repr, bad_axis))}; expected "
            f"'valence' or 'arousal'",
            file=name,
            column="axis",
        )
    return group


def _numeric(values: pd.Series) -> np.ndarray:
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _select(
    mean_dev: pd.DataFrame,
    group: str,
    *,
    measure: str,
    axes: Sequence[str],
    name: str = "mean_dev",
) -> pd.DataFrame:
    """Rows of one measure as a tidy frame ``group, axis, mean, ci_low, ci_high`` (a copy)."""
    measures = list(dict.fromkeys(map(str, mean_dev["measure"])))
    if measure not in measures:
        raise EmoconveyError(
            f"measure: {measure!r} is not in {name} (its measures: "
            f"{', '.join(map(repr, measures))})"
        )
    rows = mean_dev[(mean_dev["measure"].astype(str) == measure)
                    & mean_dev["axis"].astype(str).isin(list(axes))]
    out = pd.DataFrame(
        {
            "group": rows[group].astype(str).to_numpy(),
            "axis": rows["axis"].astype(str).to_numpy(),
            "mean": _numeric(rows["mean"]),
            "ci_low": _numeric(rows["ci_low"]),
            "ci_high": _numeric(rows["ci_high"]),
        }
    )
    if out.empty:
        raise DataValidationError(
            f"no rows with measure {measure!r} and axis {', '.join(map(repr, axes))}",
            file=name,
        )
    dup = out.duplicated(["group", "axis"])
    if dup.any():
        first = out[dup].iloc[0]
        raise DataValidationError(
            f"more than one row for {group} {first['group']!r}, axis {first['axis']!r}, "
            f"measure {measure!r}",
            file=name,
            column=group,
        )
    bad = ~np.isfinite(out["mean"].to_numpy())
    if bad.any():
        raise DataValidationError(
            f"expected a finite mean, found {rows['mean'].iloc[int(np.flatnonzero(bad)[0])]!r}",
            file=name,
            column="mean",
        )
    return out


def _group_order(group: str, groups: Sequence[str], order: Sequence[str] | None) -> list[str]:
    present = list(dict.fromkeys(groups))
    if order is not None:
        if isinstance(order, str):
            raise EmoconveyError(f"order: expected a list of {group} names, got {order!r}")
        order = [str(g) for g in order]
        unknown = [g for g in order if g not in present]
        if unknown:
            raise EmoconveyError(
                f"order: {group} {', '.join(map(repr, unknown))} not in the table"
            )
        return order
    if group == "quadrant" and all(g in QUADRANTS for g in present):
        return [q for q in QUADRANTS if q in present]
    return present


def _tick_label(group: str, value: str) -> str:
    return quadrant_label(value) if group == "quadrant" else value


def _errors(mean: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Asymmetric error bar lengths (2, n); NaN or inverted limits give no whisker."""
    lower = np.nan_to_num(mean - low, nan=0.0)
    upper = np.nan_to_num(high - mean, nan=0.0)
    return np.vstack([np.clip(lower, 0, None), np.clip(upper, 0, None)])


def _check_axis(axis: object) -> str:
    if not isinstance(axis, str) or axis not in AXES:
        raise EmoconveyError(f"axis: expected 'valence' or 'arousal', got {axis!r}")
    return axis


def _check_bool(value: object, *, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise EmoconveyError(f"{name}: expected True or False, got {value!r}")
    return bool(value)


def _rotate_if_crowded(ax: Axes, labels: Sequence[str], *, fontsize: float = 10.0) -> None:
    """Slant the x tick labels when the longest one would not fit in its slot."""
    if not labels:
        return
    fig = ax.get_figure(root=True)
    slot_pt = ax.get_position().width * fig.get_figwidth() * 72.0 / len(labels)
    need_pt = 0.62 * fontsize * max(len(s) for s in labels) + 6.0
    if need_pt > slot_pt:
        for t in ax.get_xticklabels():
            t.set_rotation(35)
            t.set_horizontalalignment("right")
            t.set_rotation_mode("anchor")


def _label_groups(ax: Axes, x: np.ndarray, group: str, groups: Sequence[str]) -> None:
    """Tick labels of ``groups`` at ``x`` (slanted when crowded) and the x-axis title."""
    ticks = [_tick_label(group, g) for g in groups]
    ax.set_xticks(x, ticks)
    _rotate_if_crowded(ax, ticks)
    ax.set_xlabel({"quadrant": "Intended quadrant", "system": "System",
                   "intent": "Intended emotion"}.get(group, group.capitalize()))


def _colors(
    group: str, groups: Sequence[str], colors: Mapping[str, str] | None
) -> dict[str, str]:
    """Group colours: systems and quadrants get their fixed colours, other groups one colour."""
    if colors is None and group not in ("system", "quadrant"):
        return dict.fromkeys(groups, "#2B2B2B")
    return group_colors(group, groups, colors)


def _padded(lo: float, hi: float, frac: float = 0.08) -> tuple[float, float]:
    span = hi - lo
    pad = span * frac if span > 0 else 0.5
    return lo - pad, hi + pad


# ------------------------------------------------------------------ deviation plane


def plot_deviation_plane(
    mean_dev: pd.DataFrame,
    *,
    measure: str = "deviation",
    ax: Axes | None = None,
    colors: Mapping[str, str] | None = None,
    labels: bool = True,
    legend: bool = False,
    title: str | None = None,
) -> Axes:
    """Mean deviation of each group as a point in the valence-arousal deviation plane.

    x is the group's mean valence deviation and y its mean arousal deviation, with the
    confidence intervals as whiskers on both axes. The cross-hair at (0, 0) is where an
    emotion is conveyed exactly as intended; a point up and to the right means clips
    sounded more pleasant and more aroused than intended.

    Parameters
    ----------
    mean_dev : DataFrame
        ``mean_deviation`` table grouped by system, quadrant or intent (first column).
        Every group needs a valence and an arousal row for ``measure``.
    measure : {"deviation", "abs_deviation"}, default "deviation"
        Which measure to draw.
    ax : Axes, optional
        Draw here; by default a new figure is created.
    colors : mapping, optional
        ``{group: colour}`` (e.g. from :func:`~emoconvey.plots.style.system_colors`).
        Default: stable system colours, or the quadrant colours.
    labels : bool, default True
        Write the group name next to each point.
    legend : bool, default False
        Add a legend of groups (and of the cross-hair).
    title : str, optional
        Axes title (off by default).

    Returns
    -------
    Axes

    Raises
    ------
    EmoconveyError
        If a column is missing, the measure is absent, or a group lacks one axis.
    """
    group = _group_column(mean_dev)
    measure = check_choice(measure, MEASURES, name="measure")
    labels = _check_bool(labels, name="labels")
    legend = _check_bool(legend, name="legend")
    tidy = _select(mean_dev, group, measure=measure, axes=AXES)
    wide = tidy.pivot(index="group", columns="axis", values=["mean", "ci_low", "ci_high"])
    for axis in AXES:
        if ("mean", axis) not in wide.columns:
            raise DataValidationError(
                f"no {axis} rows for measure {measure!r}", file="mean_dev", column="axis"
            )
    incomplete = wide.index[wide[("mean", "valence")].isna() | wide[("mean", "arousal")].isna()]
    if len(incomplete):
        raise DataValidationError(
            f"{group} {incomplete[0]!r} needs both a valence and an arousal row for "
            f"measure {measure!r}",
            file="mean_dev",
            column=group,
        )
    order = _group_order(group, list(tidy["group"]), None)
    wide = wide.loc[order]
    cols = _colors(group, order, colors)
    markers = system_markers(sorted(order)) if group == "system" else dict.fromkeys(order, "o")

    ax = new_axes(ax, figsize=(6.0, 5.0))
    xm, ym = wide[("mean", "valence")].to_numpy(), wide[("mean", "arousal")].to_numpy()
    xerr, yerr = (
        _errors(m, wide[("ci_low", a)].to_numpy(), wide[("ci_high", a)].to_numpy())
        for m, a in ((xm, "valence"), (ym, "arousal"))
    )

    cross = dict(color=REFERENCE_COLOR, linewidth=1.0, linestyle="--", zorder=1)
    ax.axvline(0.0, gid="zero-line", **cross)
    ax.axhline(0.0, gid="zero-line", label="0 = conveyed as intended", **cross)
    for i, g in enumerate(order):
        ax.errorbar(
            xm[i], ym[i], xerr=xerr[:, [i]], yerr=yerr[:, [i]], fmt=markers[g],
            color=cols[g], markersize=7, markeredgecolor="white", markeredgewidth=0.8,
            elinewidth=1.4, capsize=3, zorder=3, label=_tick_label(group, g),
        )

    lo_x = np.nanmin(np.concatenate([xm - xerr[0], [0.0]]))
    hi_x = np.nanmax(np.concatenate([xm + xerr[1], [0.0]]))
    lo_y = np.nanmin(np.concatenate([ym - yerr[0], [0.0]]))
    hi_y = np.nanmax(np.concatenate([ym + yerr[1], [0.0]]))
    ax.set_xlim(*_padded(lo_x, hi_x, 0.12))
    ax.set_ylim(*_padded(lo_y, hi_y, 0.12))

    for setter, axis in ((ax.set_xlabel, "valence"), (ax.set_ylabel, "arousal")):
        setter(f"Mean |rated − intended| {axis} (scale points)" if measure == "abs_deviation"
               else f"Mean {axis} deviation, rated − intended (scale points)")
    ax.annotate("as intended", (0.0, 0.0), xytext=(4, -4), textcoords="offset points",
                ha="left", va="top", fontsize=8, color=REFERENCE_COLOR, style="italic",
                zorder=1, gid="origin-label")
    ax.grid(color=GRID_COLOR, linewidth=0.6)
    if labels:
        place_labels(ax, xm, ym, [_tick_label(group, g) for g in order])
    if legend:
        ax.legend(loc="best", fontsize=8, frameon=False)
    finish_axes(ax, title=title)
    return ax


# ------------------------------------------------------------------ grouped bars


def plot_group_deviation(
    mean_dev: pd.DataFrame,
    *,
    measure: str = "deviation",
    ax: Axes | None = None,
    order: Sequence[str] | None = None,
    title: str | None = None,
) -> Axes:
    """Mean deviation per group as grouped bars, valence and arousal side by side.

    Parameters
    ----------
    mean_dev : DataFrame
        ``mean_deviation`` table (typically grouped by quadrant).
    measure : {"deviation", "abs_deviation"}, default "deviation"
        Which measure to draw.
    ax : Axes, optional
        Draw here; by default a new figure is created.
    order : sequence of str, optional
        Groups to show, in this order. Default: quadrant order, else table order.
    title : str, optional
        Axes title (off by default).

    Returns
    -------
    Axes
        One bar container per axis present (valence first), each with one bar per group,
        with confidence-interval error bars.
    """
    group = _group_column(mean_dev)
    measure = check_choice(measure, MEASURES, name="measure")
    tidy = _select(mean_dev, group, measure=measure, axes=AXES)
    order = _group_order(group, list(tidy["group"]), order)
    axes_present = [a for a in AXES if (tidy["axis"] == a).any()]

    ax = new_axes(ax, figsize=(min(10.0, max(5.0, 1.0 + 0.8 * len(order))), 4.0))
    x = np.arange(len(order), dtype=float)
    width = 0.8 / len(axes_present)
    for k, axis in enumerate(axes_present):
        sub = tidy[tidy["axis"] == axis].set_index("group").reindex(order)
        mean = sub["mean"].to_numpy()
        err = _errors(mean, sub["ci_low"].to_numpy(), sub["ci_high"].to_numpy())
        offset = (k - (len(axes_present) - 1) / 2) * width
        ax.bar(
            x + offset, np.nan_to_num(mean), width=width * 0.95, yerr=err,
            color=AXIS_COLORS[axis], edgecolor="white", linewidth=0.5, label=AXIS_LABELS[axis],
            error_kw=dict(ecolor="#222222", elinewidth=1.1, capsize=3), zorder=2,
        )
    ax.axhline(0.0, color=REFERENCE_COLOR, linewidth=1.0, zorder=3, gid="zero-line")
    _label_groups(ax, x, group, order)
    ax.set_ylabel(f"Mean {_MEASURE_TEXT[measure]}\n(scale points, 1–9 scale)")
    ax.legend(frameon=False, fontsize=9, ncols=len(axes_present), loc="best")
    ax.grid(axis="y", color=GRID_COLOR, linewidth=0.6)
    finish_axes(ax, title=title)
    return ax


# ------------------------------------------------------------------ CI plot + Tukey


def significance_stars(p: float) -> str:
    """``***`` for p < .001, ``**`` for p < .01, ``*`` for p < .05, else ``""``."""
    if not np.isfinite(p):
        return ""
    if p < 0.001:
        return "***"
    if p < 0.01:
        return "**"
    if p < 0.05:
        return "*"
    return ""


def compact_letter_display(
    groups: Sequence[str], significant: Sequence[tuple[str, str]]
) -> dict[str, str]:
    """Letters such that two groups share a letter exactly when they do not differ.

    Insert-absorb-sweep algorithm of Piepho (2004). Letters are handed out in the order
    of ``groups`` (pass them sorted by mean to get the usual display).

    Parameters
    ----------
    groups : sequence of str
        All groups.
    significant : sequence of (str, str)
        Pairs that differ significantly.

    Returns
    -------
    dict
        ``{group: letters}``.

    References
    ----------
    Piepho, H.-P. (2004). An algorithm for a letter-based representation of all-pairwise
    comparisons. Journal of Computational and Graphical Statistics, 13(2), 456-466.
    """
    groups = list(dict.fromkeys(map(str, groups)))
    rank = {g: i for i, g in enumerate(groups)}
    sig = {frozenset((str(a), str(b))) for a, b in significant if str(a) != str(b)}
    unknown = sorted({g for pair in sig for g in pair} - set(groups))
    if unknown:
        raise EmoconveyError(f"significant: unknown group(s) {', '.join(map(repr, unknown))}")

    def absorb(cols: list[set[str]]) -> list[set[str]]:
        out: list[set[str]] = []
        for k, c in enumerate(cols):
            if not c:
                continue
            dominated = any(
                (c < d) or (c == d and m < k) for m, d in enumerate(cols) if m != k
            )
            if not dominated:
                out.append(c)
        return out

    cols: list[set[str]] = [set(groups)]
    for pair in sorted(sig, key=lambda p: sorted(rank[g] for g in p)):
        a, b = sorted(pair, key=rank.__getitem__)
        new: list[set[str]] = []
        for c in cols:
            if a in c and b in c:
                new.extend([c - {b}, c - {a}])
            else:
                new.append(c)
        cols = absorb(new)
    # Sweep: drop a group from a column when all its pairs there share another column.
    for k in range(len(cols)):
        for g in sorted(cols[k], key=rank.__getitem__):
            elsewhere = [d for m, d in enumerate(cols) if m != k and g in d]
            if elsewhere and all(any(h in d for d in elsewhere) for h in cols[k] - {g}):
                cols[k] = cols[k] - {g}
    cols = absorb(cols)
    cols.sort(key=lambda c: min(rank[g] for g in c))
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    letters = {g: "" for g in groups}
    for k, c in enumerate(cols):
        letter = alphabet[k] if k < len(alphabet) else f"({k + 1})"
        for g in sorted(c, key=rank.__getitem__):
            letters[g] += letter
    return letters


def _significant_pairs(
    tukey: pd.DataFrame, *, axis: str, measure: str, alpha: float, groups: Sequence[str]
) -> list[tuple[str, str, float]]:
    require_columns(tukey, ["axis", "measure", "group1", "group2", "p_adj"], name="tukey")
    rows = tukey[(tukey["axis"].astype(str) == axis) & (tukey["measure"].astype(str) == measure)]
    p = _numeric(rows["p_adj"])
    keep = np.isfinite(p) & (p < alpha)
    pairs = [
        (str(a), str(b), float(pp))
        for a, b, pp in zip(rows["group1"][keep], rows["group2"][keep], p[keep], strict=True)
    ]
    known = set(groups)
    unknown = sorted({g for a, b, _ in pairs for g in (a, b)} - known)
    if unknown:
        raise DataValidationError(
            f"group(s) {', '.join(map(repr, unknown))} are not in mean_dev "
            f"(its groups: {', '.join(map(repr, groups))})",
            file="tukey",
        )
    return pairs


def _stack_brackets(spans: Sequence[tuple[int, int]]) -> list[int]:
    """Level of each bracket so that brackets on one level neither overlap nor touch."""
    order = sorted(range(len(spans)), key=lambda i: (spans[i][1] - spans[i][0], spans[i][0]))
    levels: list[list[tuple[int, int]]] = []
    out = [0] * len(spans)
    for i in order:
        lo, hi = spans[i]
        for lvl, used in enumerate(levels):
            if all(hi < a or lo > b for a, b in used):
                used.append((lo, hi))
                out[i] = lvl
                break
        else:
            levels.append([(lo, hi)])
            out[i] = len(levels) - 1
    return out


def _check_ci_options(alpha: object, max_brackets: object, smallest_pairs: object) -> None:
    """Check the options of :func:`plot_ci`."""
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 1:
        raise EmoconveyError(f"alpha: expected a number in (0, 1), got {alpha!r}")
    if isinstance(max_brackets, bool) or not isinstance(max_brackets, int) or max_brackets < 0:
        raise EmoconveyError(f"max_brackets: expected an integer >= 0, got {max_brackets!r}")
    if smallest_pairs is not None and (
        isinstance(smallest_pairs, bool) or not isinstance(smallest_pairs, int)
        or smallest_pairs < 1
    ):
        raise EmoconveyError(f"smallest_pairs: expected an integer >= 1, got {smallest_pairs!r}")


def _draw_brackets(
    ax: Axes,
    pairs: list[tuple[str, str, float]],
    index: dict[str, int],
    *,
    y_max: float,
    span: float,
    n_significant: int,
    alpha: float,
) -> float:
    """Stacked significance brackets above the groups; returns the top the axes needs."""
    spans = [tuple(sorted((index[a], index[b]))) for a, b, _ in pairs]
    levels = _stack_brackets(spans)
    step = 0.09 * span
    base = y_max + 0.07 * span
    tick = 0.025 * span
    for (lo_i, hi_i), lvl, (_, _, p) in zip(spans, levels, pairs, strict=True):
        y = base + lvl * step
        ax.add_line(Line2D(
            [lo_i + 0.06, lo_i + 0.06, hi_i - 0.06, hi_i - 0.06], [y - tick, y, y, y - tick],
            color="#222222", linewidth=1.0, gid="significance-bracket", zorder=4,
        ))
        stars = significance_stars(p) or f"p = {p:.2g}"
        ax.text((lo_i + hi_i) / 2, y - 0.01 * span, stars, ha="center", va="bottom",
                fontsize=9, gid="significance-stars", zorder=4)
    if len(pairs) < n_significant:
        ax.text(
            0.0, 1.0,
            f"{len(pairs)} of {n_significant} significant pairs shown (smallest "
            f"differences; Tukey HSD, α = {alpha:g})",
            transform=ax.transAxes, ha="left", va="bottom", fontsize=8, color="#444444",
            gid="smallest-pairs-note",
        )
    return base + (max(levels) + 0.9) * step


def _draw_letters(
    ax: Axes,
    pairs: list[tuple[str, str, float]],
    groups: list[str],
    *,
    mean: np.ndarray,
    tops: np.ndarray,
    y_max: float,
    span: float,
    alpha: float,
) -> float:
    """Compact letter display above the groups; returns the top the axes needs."""
    x = np.arange(len(groups), dtype=float)
    by_mean = [g for _, g in sorted(zip(-mean, groups, strict=True))]
    letters = compact_letter_display(by_mean, [(a, b) for a, b, _ in pairs])
    pad = 0.03 * span
    for i, g in enumerate(groups):
        ax.text(x[i], tops[i] + pad, letters[g], ha="center", va="bottom", fontsize=9,
                fontweight="bold", color="#222222", gid="cld-letter", zorder=4)
    ax.text(
        0.0, 1.0,
        f"{len(pairs)} significant pairs (Tukey HSD, α = {alpha:g}); "
        "groups sharing a letter do not differ",
        transform=ax.transAxes, ha="left", va="bottom", fontsize=8, color="#444444",
        gid="cld-note",
    )
    return y_max + 0.16 * span


def plot_ci(
    mean_dev: pd.DataFrame,
    tukey: pd.DataFrame | None = None,
    *,
    axis: str,
    measure: str | None = None,
    ax: Axes | None = None,
    alpha: float = 0.05,
    max_brackets: int = 12,
    order: Sequence[str] | None = None,
    colors: Mapping[str, str] | None = None,
    title: str | None = None,
    smallest_pairs: int | None = None,
) -> Axes:
    """Mean and confidence interval per group on one axis, with Tukey HSD results.

    Each group is a point with its confidence interval. When ``tukey`` is given, pairs
    with ``p_adj < alpha`` are joined by brackets labelled with stars (``*`` p < .05,
    ``**`` p < .01, ``***`` p < .001), stacked so that they never overlap. With more
    than ``max_brackets`` significant pairs a compact letter display is drawn instead
    (groups sharing a letter do not differ), so the figure stays readable.

    Parameters
    ----------
    mean_dev : DataFrame
        ``mean_deviation`` table (first column the groups).
    tukey : DataFrame, optional
        ``tukey_hsd`` table for the same grouping; rows of other axes/measures are ignored.
    axis : {"valence", "arousal"}
        Axis to draw.
    measure : {"deviation", "abs_deviation"}, optional
        Measure to draw. Default: the only one in the table, or ``"deviation"`` if the
        table has both.
    ax : Axes, optional
        Draw here; by default a new figure is created.
    alpha : float, default 0.05
        Significance level applied to ``p_adj``.
    max_brackets : int, default 12
        Most brackets to draw before switching to letters.
    order : sequence of str, optional
        Groups to show, in this order. Default: quadrant order, else table order.
    colors : mapping, optional
        ``{group: colour}``; default: stable system colours, or the quadrant colours.
    title : str, optional
        Axes title (off by default).
    smallest_pairs : int, optional
        Bracket only the ``smallest_pairs`` significant pairs with the smallest
        differences of means (the AImoclips paper's convention when many pairs differ);
        a note says how many significant pairs there are in all.

    Returns
    -------
    Axes
        Brackets are Line2D artists with gid ``"significance-bracket"``; letters are Text
        artists with gid ``"cld-letter"``.
    """
    group = _group_column(mean_dev)
    axis = _check_axis(axis)
    if measure is None:
        present = list(dict.fromkeys(map(str, mean_dev["measure"])))
        measure = present[0] if len(present) == 1 else "deviation"
    measure = check_choice(measure, MEASURES, name="measure")
    _check_ci_options(alpha, max_brackets, smallest_pairs)
    tidy = _select(mean_dev, group, measure=measure, axes=(axis,))
    all_groups = list(tidy["group"])
    groups = _group_order(group, all_groups, order)
    tidy = tidy.set_index("group").loc[groups]
    pairs = [] if tukey is None else _significant_pairs(
        tukey, axis=axis, measure=measure, alpha=alpha, groups=all_groups
    )
    pairs = [(a, b, p) for a, b, p in pairs if a in groups and b in groups]
    n_significant = len(pairs)
    if smallest_pairs is not None:
        means = tidy["mean"].astype(float)
        pairs = sorted(pairs, key=lambda t: abs(means[t[1]] - means[t[0]]))[:smallest_pairs]
    cols = _colors(group, groups, colors)

    ax = new_axes(ax, figsize=(min(10.0, max(4.5, 1.4 + 0.7 * len(groups))), 4.2))
    x = np.arange(len(groups), dtype=float)
    mean = tidy["mean"].to_numpy()
    low, high = tidy["ci_low"].to_numpy(), tidy["ci_high"].to_numpy()
    err = _errors(mean, low, high)
    for i, g in enumerate(groups):
        ax.errorbar(x[i], mean[i], yerr=err[:, [i]], fmt="o", color=cols[g], markersize=7,
                    markeredgecolor="white", elinewidth=2.0, capsize=4, zorder=3)
    if measure == "deviation":
        ax.axhline(0.0, color=REFERENCE_COLOR, linewidth=1.0, linestyle="--", zorder=1,
                   gid="zero-line")

    tops = np.where(np.isfinite(high), np.maximum(high, mean), mean)
    bottoms = np.where(np.isfinite(low), np.minimum(low, mean), mean)
    y_min = min(float(bottoms.min()), 0.0) if measure == "deviation" else float(bottoms.min())
    y_max = max(float(tops.max()), 0.0) if measure == "deviation" else float(tops.max())
    span = (y_max - y_min) or 1.0
    top_needed = y_max + 0.05 * span
    index = {g: i for i, g in enumerate(groups)}

    if pairs and len(pairs) <= max_brackets:
        top_needed = _draw_brackets(ax, pairs, index, y_max=y_max, span=span,
                                    n_significant=n_significant, alpha=alpha)
    elif pairs:
        top_needed = _draw_letters(ax, pairs, groups, mean=mean, tops=tops, y_max=y_max,
                                   span=span, alpha=alpha)
    ax.set_ylim(y_min - 0.06 * span, top_needed)
    ax.set_xlim(-0.6, len(groups) - 0.4)

    _label_groups(ax, x, group, groups)
    ax.set_ylabel(f"Mean {axis} {_MEASURE_TEXT[measure]}\n(scale points, mean ± CI)")
    ax.grid(axis="y", color=GRID_COLOR, linewidth=0.6)
    finish_axes(ax, title=title)
    return ax


# ------------------------------------------------------------------ neutrality bias


def _neutrality_systems(
    systems: Sequence[str] | None, clip_systems: pd.Series, fits: pd.DataFrame
) -> list[str]:
    """The systems :func:`plot_neutrality` draws: checked ``systems``, else all."""
    if systems is None:
        systems = list(dict.fromkeys(map(str, fits["system"])))
        systems += [s for s in dict.fromkeys(clip_systems) if s not in systems]
    else:
        if isinstance(systems, str):
            raise EmoconveyError(f"systems: expected a list of names, got {systems!r}")
        systems = [str(s) for s in systems]
        known = set(clip_systems) | set(map(str, fits["system"]))
        unknown = [s for s in systems if s not in known]
        if unknown:
            raise EmoconveyError(
                f"systems: {', '.join(map(repr, unknown))} not in clips or neutrality"
            )
    if not systems:
        raise DataValidationError("no systems to draw", file="clips")
    return systems


def _draw_fit_line(ax: Axes, system: str, row: Any, xs: np.ndarray, *, color: str) -> str:
    """Draw a system's fitted line over its norm range; return its legend label."""
    if row is None or not (np.isfinite(float(row.slope)) and np.isfinite(float(row.intercept))):
        return system
    slope, intercept = float(row.slope), float(row.intercept)
    x_lo, x_hi = (float(xs.min()), float(xs.max())) if len(xs) else (SCALE_MIN, SCALE_MAX)
    ax.add_line(Line2D([x_lo, x_hi], [intercept + slope * x_lo, intercept + slope * x_hi],
                       color=color, linewidth=2.0, zorder=3, gid="fit-line"))
    label = f"{system}: slope {slope:.2f}"
    lo_ci = getattr(row, "slope_ci_low", np.nan)
    hi_ci = getattr(row, "slope_ci_high", np.nan)
    if np.isfinite(float(lo_ci)) and np.isfinite(float(hi_ci)):
        label += f" [{float(lo_ci):.2f}, {float(hi_ci):.2f}]"
    return label


def plot_neutrality(
    clips: pd.DataFrame,
    neutrality: pd.DataFrame,
    *,
    axis: str = "valence",
    ax: Axes | None = None,
    systems: Sequence[str] | None = None,
    colors: Mapping[str, str] | None = None,
    dodge: float = 0.3,
    title: str | None = None,
) -> Axes:
    """Clip mean rating against the intended (norm) value, with each system's fitted line.

    A fitted slope below 1 (flatter than the identity line) means ratings are pulled
    towards the neutral centre of the scale: the neutrality bias. The lines are
    ``rating = intercept + slope × norm`` from the ``neutrality_bias`` table.

    Parameters
    ----------
    clips : DataFrame
        Clip table with ``system``, the axis column (``valence``/``arousal``, clip mean
        rating) and ``norm_<axis>``.
    neutrality : DataFrame
        ``neutrality_bias`` table (``system, axis, slope, intercept``; the slope CI
        columns are used in the legend when present).
    axis : {"valence", "arousal"}, default "valence"
        Axis to draw.
    ax : Axes, optional
        Draw here; by default a new figure is created.
    systems : sequence of str, optional
        Systems to draw, in this order. Default: those of the table for this axis.
    colors : mapping, optional
        ``{system: colour}``; default: stable system colours.
    dodge : float, default 0.3
        Total horizontal spread (scale points) of the systems' point columns around each
        norm, so that systems do not hide each other. 0 disables it.
    title : str, optional
        Axes title (off by default).

    Returns
    -------
    Axes
        One point collection (gid ``"clip-means"``) and one fitted line
        (gid ``"fit-line"``) per system, and the identity line (gid ``"identity-line"``).
    """
    axis = _check_axis(axis)
    norm_col = f"norm_{axis}"
    require_columns(clips, ["system", axis, norm_col], name="clips")
    require_columns(neutrality, ["system", "axis", "slope", "intercept"], name="neutrality")
    if isinstance(dodge, bool) or not isinstance(dodge, int | float) or not 0 <= dodge < 2:
        raise EmoconveyError(f"dodge: expected a number in [0, 2), got {dodge!r}")
    fits = neutrality[neutrality["axis"].astype(str) == axis]
    clip_systems = clips["system"].astype(str)
    systems = _neutrality_systems(systems, clip_systems, fits)
    cols = group_colors("system", systems, colors)
    markers = system_markers(sorted(systems))
    fit_by_system = {str(s): row for s, row in zip(fits["system"], fits.itertuples(), strict=True)}

    ax = new_axes(ax, figsize=(6.0, 5.5) if len(systems) <= 8 else (7.5, 5.5))
    norm_all = _numeric(clips[norm_col])
    rated_all = _numeric(clips[axis])
    n_shown = int(clip_systems.isin(systems).sum())
    size = point_size(n_shown, largest=18.0)
    offsets = (np.linspace(-dodge / 2, dodge / 2, len(systems)) if len(systems) > 1
               else np.zeros(1))
    handles = []
    for k, s in enumerate(systems):
        mask = (clip_systems == s).to_numpy()
        xs, ys = norm_all[mask], rated_all[mask]
        ok = np.isfinite(xs) & np.isfinite(ys)
        xs, ys = xs[ok], ys[ok]
        ax.scatter(xs + offsets[k], ys, s=size, color=cols[s], marker=markers[s], alpha=0.35,
                   linewidths=0, rasterized=n_shown > RASTERIZE_ABOVE, zorder=2,
                   gid="clip-means")
        label = _draw_fit_line(ax, s, fit_by_system.get(s), xs, color=cols[s])
        handles.append(Line2D([], [], color=cols[s], marker=markers[s], linewidth=2.0,
                              markersize=5, label=label))
    ax.add_line(Line2D([SCALE_MIN, SCALE_MAX], [SCALE_MIN, SCALE_MAX], color=REFERENCE_COLOR,
                       linestyle="--", linewidth=1.2, zorder=1, gid="identity-line"))
    handles.append(Line2D([], [], color=REFERENCE_COLOR, linestyle="--",
                          label="Identity (rated = intended)"))
    for f in (ax.axhline, ax.axvline):
        f(SCALE_CENTRE, color=GRID_COLOR, linewidth=1.0, zorder=0, gid="centre-line")
    lims = (SCALE_MIN - 0.2, SCALE_MAX + 0.2)
    ax.set_xlim(*lims)
    ax.set_ylim(*lims)
    ax.set_xticks(range(SCALE_MIN, SCALE_MAX + 1))
    ax.set_yticks(range(SCALE_MIN, SCALE_MAX + 1))
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel(f"Intended {axis} (lexicon norm, 1–9)")
    ax.set_ylabel(f"Rated {axis} (clip mean, 1–9)")
    if len(systems) <= 8:
        ax.legend(handles=handles, loc="upper left", fontsize=8, frameon=False)
    else:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8,
                  frameon=False)
    finish_axes(ax, title=title)
    return ax
