"""The report's figures, built from the analysis tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from emoconvey.analysis.pipeline import AnalysisResults

__all__ = ["FigureSpec", "figure_specs", "system_order"]


@dataclass(frozen=True)
class FigureSpec:
    """A figure of the report: file stem, caption and how to draw it."""

    name: str
    caption: str
    draw: Callable[[], Figure]


def _fig(ax_or_fig: Axes | Figure) -> Figure:
    fig = ax_or_fig if isinstance(ax_or_fig, Figure) else ax_or_fig.figure
    return fig  # type: ignore[return-value]


def figure_specs(
    results: AnalysisResults,
    *,
    highlight: Sequence[str] = (),
    order: Sequence[str] | None = None,
    smallest_pairs: int | None = None,
) -> list[FigureSpec]:
    """Every figure of the report, in order, drawn lazily.

    Parameters
    ----------
    results : AnalysisResults
    highlight : sequence of str
        The user's own systems (told apart from reference systems where figures can).
    order : sequence of str, optional
        System order of every figure; default :func:`system_order` (the ranking).
    smallest_pairs : int, optional
        System CI figures bracket only this many significant pairs, those with the
        smallest differences.

    Returns
    -------
    list of FigureSpec
    """
    from emoconvey.plots import deviation, distribution, plane
    from emoconvey.plots.style import system_colors

    t = results.tables
    ds = results.dataset
    # sorted, as the plots' own default, so a system has one colour in every figure
    colors = system_colors(sorted(ds.systems))
    level = round(100 * results.confidence)
    alpha = 1 - results.confidence
    order = list(order) if order is not None else system_order(results)
    hl = list(highlight)
    model = {"oneway": "one-way model", "adjusted": "intent-adjusted model"}.get(
        results.posthoc, results.posthoc)
    specs = [
        FigureSpec(
            "ratings_per_clip",
            f"Number of clips by number of ratings received. Clips with fewer than "
            f"{ds.min_ratings} ratings are excluded from the analysis.",
            lambda: _fig(
                distribution.plot_ratings_per_clip(
                    t["ratings_per_clip"], min_ratings=ds.min_ratings
                )
            ),
        ),
        FigureSpec(
            "deviation_plane_system",
            f"Mean deviation (clip mean \u2212 intent norm) per system in the "
            f"valence\u2013arousal deviation plane, with {level} % confidence intervals. "
            "The origin means the intended emotion was conveyed on average.",
            lambda: _fig(
                deviation.plot_deviation_plane(t["deviation_by_system"], colors=colors)
            ),
        ),
        FigureSpec(
            "deviation_quadrant",
            f"Mean deviation per intended quadrant and axis, with {level} % confidence "
            "intervals.",
            lambda: _fig(deviation.plot_group_deviation(t["deviation_by_quadrant"])),
        ),
    ]
    specs += _ci_specs(t, level=level, alpha=alpha, model=model, colors=colors, order=order,
                       smallest_pairs=smallest_pairs, highlight=hl)
    specs.append(
        FigureSpec(
            "ranking",
            f"Every ranking metric per system with its {level} % bootstrap interval (clips "
            "resampled within system \u00d7 intent, listener shifts redrawn); labels give "
            "the bootstrap rank interval, "
            "letters the tie groups (systems sharing a letter do not differ, Holm-adjusted).",
            lambda: _ranking_figure(t["ranking_uncertainty"], colors, hl, order),
        )
    )
    specs.append(
        FigureSpec(
            "va_planes",
            "Clip means in the valence\u2013arousal plane, one panel per system: points "
            "coloured by intended quadrant, quadrant means (stars), intent norms (X) and "
            f"{level} % covariance ellipses of the clip means per quadrant.",
            lambda: plane.plot_va_planes(
                ds.clips, t["va_plane"], ds.intents, ellipse_label=f"{level} % ellipse",
                systems=order,
            ),
        )
    )
    specs.append(
        FigureSpec(
            "hit_rate",
            "Share of clips whose mean rating lies in the intended quadrant, per system and "
            "intent (chance: 25 %).",
            lambda: _fig(plane.plot_hit_rate(t["hit_rate_by_intent"], systems=order)),
        )
    )
    specs.append(
        FigureSpec(
            "neutrality",
            "Clip mean rating against intent norm per system, valence (left) and arousal "
            "(right), with the fitted compression slope and the identity line (slope 1 = "
            "no pull toward the scale centre).",
            lambda: _neutrality_figure(ds.clips, t["neutrality"], colors, order),
        )
    )
    return specs


def _ci_specs(
    t: dict[str, Any],
    *,
    level: int,
    alpha: float,
    model: str,
    colors: dict[str, str],
    order: list[str],
    smallest_pairs: int | None,
    highlight: list[str],
) -> list[FigureSpec]:
    """The confidence-interval figures with Tukey brackets: systems, then quadrants."""
    from emoconvey.plots import deviation

    hl = highlight
    specs: list[FigureSpec] = []
    for axis in ("valence", "arousal"):
        specs.append(
            FigureSpec(
                f"ci_deviation_system_{axis}",
                f"Mean {axis} deviation per system with {level} % confidence intervals; "
                f"brackets mark pairs that differ (Tukey HSD, {model}, family-wise "
                f"\u03b1 = {alpha:.2f}).",
                lambda axis=axis: _bold(
                    deviation.plot_ci(
                        t["deviation_by_system"],
                        t["tukey_system"],
                        axis=axis,
                        alpha=alpha,
                        colors=colors,
                        order=order,
                        smallest_pairs=smallest_pairs,
                    ),
                    hl,
                ),
            )
        )
    for axis in ("valence", "arousal"):
        specs.append(
            FigureSpec(
                f"ci_absdev_quadrant_{axis}",
                f"Mean absolute {axis} deviation per intended quadrant with {level} % "
                "confidence intervals; brackets mark pairs that differ (Tukey HSD).",
                lambda axis=axis: _fig(
                    deviation.plot_ci(
                        t["abs_deviation_by_quadrant"],
                        t["tukey_quadrant"],
                        axis=axis,
                        alpha=alpha,
                    )
                ),
            )
        )
    return specs


def _neutrality_figure(
    clips: Any, neutrality: Any, colors: dict[str, str], order: Sequence[str] | None = None
) -> Figure:
    from emoconvey.plots.deviation import plot_neutrality

    fig = Figure(figsize=(12.0, 5.2), layout="constrained")
    for ax, axis in zip(fig.subplots(1, 2), ("valence", "arousal"), strict=True):
        plot_neutrality(clips, neutrality, axis=axis, ax=ax, colors=colors, systems=order)
    return fig


def system_order(results: AnalysisResults) -> list[str]:
    """Systems in ranking order (best first), the order of every table and figure."""
    rank = results.tables.get("ranking")
    if rank is None or rank.empty:
        return list(results.dataset.systems)
    ranked = [str(x) for x in rank["system"]]
    return ranked + [x for x in results.dataset.systems if x not in ranked]


def _bold(ax: Axes, highlight: Sequence[str]) -> Figure:
    """Bold the tick labels of the user's own systems; return the figure."""
    hl = set(map(str, highlight))
    if hl:
        for tick in ax.get_xticklabels():
            if tick.get_text() in hl:
                tick.set_fontweight("bold")
    return _fig(ax)


def _ranking_figure(
    table: Any, colors: dict[str, str], highlight: Sequence[str], order: Sequence[str]
) -> Figure:
    from emoconvey.plots.ranking import plot_ranking

    metrics = list(dict.fromkeys(table["metric"].astype(str)))
    n_sys = table["system"].nunique()
    fig = Figure(figsize=(13.0, 1.6 + 0.9 * n_sys), layout="constrained")
    axes = fig.subplots(2, 2).ravel() if len(metrics) == 4 else fig.subplots(1, len(metrics))
    for ax, metric in zip(list(axes), metrics, strict=False):
        plot_ranking(table, metric=metric, ax=ax, colors=colors, highlight=highlight,
                     order=order)
    return fig
