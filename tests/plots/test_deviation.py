"""Tests of emoconvey.plots.deviation."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure

from emoconvey.errors import EmoconveyError
from emoconvey.plots.deviation import (
    compact_letter_display,
    plot_ci,
    plot_deviation_plane,
    plot_group_deviation,
    plot_neutrality,
    significance_stars,
)
from emoconvey.plots.style import QUADRANT_COLORS, system_colors

# The helper lives next to the tests; make it importable whatever pytest's import mode.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from _plot_frames import QUADRANTS, clips, mean_dev, neutrality, tukey  # noqa: E402

SYSTEMS = ("SysA", "SysB", "SysC")


def _gid(items, gid):
    return [a for a in items if a.get_gid() == gid]


def _errorbars(ax):
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer)]


# ---------------------------------------------------------------- deviation plane


def test_deviation_plane_points_whiskers_labels_crosshair():
    table = mean_dev()
    before = table.copy()
    ax = plot_deviation_plane(table)
    assert isinstance(ax, Axes)
    pd.testing.assert_frame_equal(table, before)
    bars = _errorbars(ax)
    assert len(bars) == len(SYSTEMS)
    for c in bars:
        assert c.has_xerr and c.has_yerr
    # point position = (valence mean, arousal mean) of the deviation measure
    sub = table[table["measure"] == "deviation"].set_index(["system", "axis"])["mean"]
    xy = np.array([c.lines[0].get_xydata()[0] for c in bars])
    expected = np.array([[sub[(s, "valence")], sub[(s, "arousal")]] for s in SYSTEMS])
    np.testing.assert_allclose(xy, expected)
    labels = sorted(t.get_text() for t in _gid(ax.texts, "group-label"))
    assert labels == sorted(SYSTEMS)
    zero = _gid(ax.get_lines(), "zero-line")
    assert len(zero) == 2
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    assert x0 < 0 < x1 and y0 < 0 < y1
    assert "valence" in ax.get_xlabel().lower() and "arousal" in ax.get_ylabel().lower()
    assert ax.get_legend() is None


def test_deviation_plane_default_system_colours_are_stable():
    ax = plot_deviation_plane(mean_dev())
    want = system_colors(sorted(SYSTEMS))
    got = [to_hex(c.lines[0].get_color()) for c in _errorbars(ax)]
    assert got == [want[s].lower() for s in SYSTEMS]


def test_deviation_plane_colors_and_legend_and_ax():
    fig = Figure()
    ax = fig.add_subplot()
    colors = {"SysA": "#000000", "SysB": "#111111", "SysC": "#222222"}
    out = plot_deviation_plane(mean_dev(), ax=ax, colors=colors, legend=True, labels=False)
    assert out is ax
    assert [to_hex(c.lines[0].get_color()) for c in _errorbars(ax)] == list(colors.values())
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert set(SYSTEMS) <= set(texts)
    assert not _gid(ax.texts, "group-label")
    with pytest.raises(EmoconveyError, match="SysC"):
        plot_deviation_plane(mean_dev(), colors={"SysA": "red", "SysB": "blue"})


def test_deviation_plane_by_quadrant_infers_group_column():
    table = mean_dev("quadrant", QUADRANTS[::-1])
    ax = plot_deviation_plane(table, measure="abs_deviation")
    labels = [t.get_text() for t in _gid(ax.texts, "group-label")]
    assert labels == ["HV–HA", "LV–HA", "LV–LA", "HV–LA"]  # quadrant order
    got = [to_hex(c.lines[0].get_color()) for c in _errorbars(ax)]
    assert got == [QUADRANT_COLORS[q].lower() for q in QUADRANTS]


def test_deviation_plane_errors():
    with pytest.raises(EmoconveyError, match="'ci_low'"):
        plot_deviation_plane(mean_dev().drop(columns="ci_low"))
    with pytest.raises(EmoconveyError, match="grouping column"):
        plot_deviation_plane(mean_dev()[["axis", "measure", "mean", "ci_low", "ci_high"]])
    incomplete = mean_dev()
    incomplete = incomplete[~((incomplete["system"] == "SysB") & (incomplete["axis"] == "arousal"))]
    with pytest.raises(EmoconveyError, match="SysB"):
        plot_deviation_plane(incomplete)
    with pytest.raises(EmoconveyError, match="measure"):
        plot_deviation_plane(mean_dev(), measure="median")
    only_abs = mean_dev()[lambda d: d["measure"] == "abs_deviation"]
    with pytest.raises(EmoconveyError, match="'deviation'"):
        plot_deviation_plane(only_abs)
    bad_axis = mean_dev().assign(axis="dominance")
    with pytest.raises(EmoconveyError, match="dominance"):
        plot_deviation_plane(bad_axis)


def test_deviation_plane_nan_ci_gives_no_whisker():
    table = mean_dev()
    table.loc[0, ["ci_low", "ci_high"]] = np.nan
    ax = plot_deviation_plane(table)
    assert len(_errorbars(ax)) == len(SYSTEMS)


def test_deviation_plane_twenty_groups_readable():
    groups = [f"System{i:02d}" for i in range(20)]
    ax = plot_deviation_plane(mean_dev(groups=groups))
    assert len(_errorbars(ax)) == 20
    assert len(_gid(ax.texts, "group-label")) == 20


# ---------------------------------------------------------------- grouped bars


def test_group_deviation_bars_per_axis_in_quadrant_order():
    table = mean_dev("quadrant", ("hv_la", "lv_la", "hv_ha", "lv_ha"))
    before = table.copy()
    ax = plot_group_deviation(table)
    pd.testing.assert_frame_equal(table, before)
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == 2
    assert all(len(b) == 4 for b in bars)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["HV–HA", "LV–HA", "LV–LA", "HV–LA"]
    sub = table[(table["measure"] == "deviation") & (table["axis"] == "valence")]
    expected = sub.set_index("quadrant").loc[list(QUADRANTS), "mean"].to_numpy()
    np.testing.assert_allclose([b.get_height() for b in bars[0]], expected)
    assert len(_errorbars(ax)) == 2
    assert _gid(ax.get_lines(), "zero-line")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["Valence", "Arousal"]


def test_group_deviation_single_axis_order_and_ax():
    table = mean_dev()[lambda d: d["axis"] == "arousal"]
    fig = Figure()
    ax = fig.add_subplot()
    out = plot_group_deviation(table, ax=ax, order=["SysC", "SysA"], measure="abs_deviation")
    assert out is ax
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == 1 and len(bars[0]) == 2
    assert [t.get_text() for t in ax.get_xticklabels()] == ["SysC", "SysA"]
    with pytest.raises(EmoconveyError, match="SysZ"):
        plot_group_deviation(table, order=["SysZ"])
    with pytest.raises(EmoconveyError, match="'mean'"):
        plot_group_deviation(table.drop(columns="mean"))


# ---------------------------------------------------------------- CI plot


def test_ci_without_tukey():
    ax = plot_ci(mean_dev(), axis="valence")
    assert isinstance(ax, Axes)
    assert len(_errorbars(ax)) == 3
    assert not _gid(ax.get_lines(), "significance-bracket")
    assert [t.get_text() for t in ax.get_xticklabels()] == list(SYSTEMS)
    assert "valence" in ax.get_ylabel()
    assert _gid(ax.get_lines(), "zero-line")  # signed deviation has a zero line


def test_ci_brackets_for_significant_pairs_only():
    md, tk = mean_dev(), tukey(SYSTEMS, {("SysA", "SysB"): 0.004, ("SysA", "SysC"): 0.0001,
                                         ("SysB", "SysC"): 0.2})
    before_md, before_tk = md.copy(), tk.copy()
    ax = plot_ci(md, tk, axis="arousal")
    pd.testing.assert_frame_equal(md, before_md)
    pd.testing.assert_frame_equal(tk, before_tk)
    brackets = _gid(ax.get_lines(), "significance-bracket")
    assert len(brackets) == 2
    stars = sorted(t.get_text() for t in _gid(ax.texts, "significance-stars"))
    assert stars == ["**", "***"]
    # brackets lie above every interval and inside the axes
    top = md[(md["axis"] == "arousal") & (md["measure"] == "deviation")]["ci_high"].max()
    for b in brackets:
        assert min(b.get_ydata()) > top
        assert max(b.get_ydata()) < ax.get_ylim()[1]


def test_ci_alpha_changes_what_is_marked():
    tk = tukey(SYSTEMS, {("SysA", "SysB"): 0.03})
    assert len(_gid(plot_ci(mean_dev(), tk, axis="valence").get_lines(),
                    "significance-bracket")) == 1
    assert not _gid(plot_ci(mean_dev(), tk, axis="valence", alpha=0.01).get_lines(),
                    "significance-bracket")


def test_ci_brackets_do_not_overlap():
    groups = [f"G{i}" for i in range(6)]
    sig = {pair: 0.001 for pair in itertools.combinations(groups, 2) if pair[0] in ("G0", "G2")}
    ax = plot_ci(mean_dev("intent", groups), tukey(groups, sig), axis="valence")
    brackets = _gid(ax.get_lines(), "significance-bracket")
    assert len(brackets) == len(sig)
    spans = [(min(b.get_xdata()), max(b.get_xdata()), max(b.get_ydata())) for b in brackets]
    for (a0, a1, ay), (b0, b1, by) in itertools.combinations(spans, 2):
        if ay == pytest.approx(by):
            assert a1 < b0 or b1 < a0
    # the stars sit on distinct rows or distinct x positions
    stars = [(t.get_position()) for t in _gid(ax.texts, "significance-stars")]
    assert len(set(stars)) == len(stars)


def test_ci_falls_back_to_letters_with_many_pairs():
    groups = [f"S{i:02d}" for i in range(8)]
    md = mean_dev("system", groups)
    sig = {pair: 0.001 for pair in itertools.combinations(groups, 2)
           if abs(int(pair[0][1:]) - int(pair[1][1:])) > 1}
    assert len(sig) > 12
    ax = plot_ci(md, tukey(groups, sig), axis="valence")
    assert not _gid(ax.get_lines(), "significance-bracket")
    letters = {t.get_text() for t in _gid(ax.texts, "cld-letter")}
    assert len(_gid(ax.texts, "cld-letter")) == len(groups)
    assert all(letters)
    assert _gid(ax.texts, "cld-note")
    # with a larger cap the brackets come back
    ax = plot_ci(md, tukey(groups, sig), axis="valence", max_brackets=100)
    assert len(_gid(ax.get_lines(), "significance-bracket")) == len(sig)


def test_ci_measure_selection_and_quadrant_abs():
    md = mean_dev("quadrant", QUADRANTS)
    ax = plot_ci(md, axis="valence", measure="abs_deviation")
    assert "absolute" in ax.get_ylabel()
    assert not _gid(ax.get_lines(), "zero-line")
    only_abs = md[md["measure"] == "abs_deviation"]
    ax = plot_ci(only_abs, axis="arousal")  # the only measure is used
    assert "absolute" in ax.get_ylabel()


def test_ci_errors_and_ax():
    with pytest.raises(EmoconveyError, match="axis"):
        plot_ci(mean_dev(), axis="dominance")
    with pytest.raises(EmoconveyError, match="alpha"):
        plot_ci(mean_dev(), axis="valence", alpha=1.5)
    with pytest.raises(EmoconveyError, match="'p_adj'"):
        plot_ci(mean_dev(), tukey(SYSTEMS).drop(columns="p_adj"), axis="valence")
    bad = tukey(("SysA", "SysX"), {("SysA", "SysX"): 0.001})
    with pytest.raises(EmoconveyError, match="SysX"):
        plot_ci(mean_dev(), bad, axis="valence")
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_ci(mean_dev(), axis="valence", ax=ax, title="CI") is ax
    assert ax.get_title() == "CI"


def test_significance_stars():
    assert significance_stars(0.0005) == "***"
    assert significance_stars(0.005) == "**"
    assert significance_stars(0.03) == "*"
    assert significance_stars(0.2) == ""
    assert significance_stars(float("nan")) == ""


def test_compact_letter_display_property():
    rng = np.random.default_rng(3)
    groups = [f"g{i}" for i in range(9)]
    pairs = list(itertools.combinations(groups, 2))
    for _ in range(60):
        sig = [p for p in pairs if rng.random() < rng.random()]
        letters = compact_letter_display(groups, sig)
        assert all(letters.values())
        sig_set = {frozenset(p) for p in sig}
        for a, b in pairs:
            shares = bool(set(letters[a]) & set(letters[b]))
            assert shares == (frozenset((a, b)) not in sig_set)
    assert compact_letter_display(["a", "b"], []) == {"a": "a", "b": "a"}
    with pytest.raises(EmoconveyError, match="zz"):
        compact_letter_display(["a", "b"], [("a", "zz")])


# ---------------------------------------------------------------- neutrality


def test_neutrality_points_fit_lines_identity():
    ct = clips(("SysA", "SysB", "SysC"))
    nt = neutrality(ct)
    before_c, before_n = ct.copy(), nt.copy()
    ax = plot_neutrality(ct, nt, axis="arousal")
    pd.testing.assert_frame_equal(ct, before_c)
    pd.testing.assert_frame_equal(nt, before_n)
    assert len(_gid(ax.collections, "clip-means")) == 3
    assert sum(len(c.get_offsets()) for c in _gid(ax.collections, "clip-means")) == len(ct)
    fits = _gid(ax.get_lines(), "fit-line")
    assert len(fits) == 3
    row = nt[(nt["system"] == "SysA") & (nt["axis"] == "arousal")].iloc[0]
    x, y = fits[0].get_data()
    np.testing.assert_allclose(y, row["intercept"] + row["slope"] * np.asarray(x))
    assert len(_gid(ax.get_lines(), "identity-line")) == 1
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0].startswith("SysA: slope")
    assert "Identity" in legend[-1]
    assert ax.get_xlabel().startswith("Intended arousal")


def test_neutrality_errors_and_ax():
    ct = clips()
    nt = neutrality(ct)
    with pytest.raises(EmoconveyError, match="'norm_valence'"):
        plot_neutrality(ct.drop(columns="norm_valence"), nt)
    with pytest.raises(EmoconveyError, match="'slope'"):
        plot_neutrality(ct, nt.drop(columns="slope"))
    with pytest.raises(EmoconveyError, match="SysQ"):
        plot_neutrality(ct, nt, systems=["SysQ"])
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_neutrality(ct, nt, ax=ax, systems=["SysB"]) is ax
    assert len(_gid(ax.collections, "clip-means")) == 1


def test_neutrality_many_points_rasterized():
    ct = clips(("SysA", "SysB"), per_intent=40)
    ax = plot_neutrality(ct, neutrality(ct))
    assert all(c.get_rasterized() for c in _gid(ax.collections, "clip-means"))
