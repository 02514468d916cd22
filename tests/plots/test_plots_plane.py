"""Tests of emoconvey.plots.plane."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import Ellipse

from emoconvey.errors import EmoconveyError
from emoconvey.plots.plane import plot_hit_rate, plot_va_plane, plot_va_planes
from emoconvey.plots.style import QUADRANT_COLORS

# The helper lives next to the tests; make it importable whatever pytest's import mode.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from _plot_frames import QUADRANTS, clips, hit_rate, intents, plane  # noqa: E402


def _gid(items, gid):
    return [a for a in items if a.get_gid() == gid]


@pytest.fixture
def tables():
    ct = clips(("SysA", "SysB", "SysC"))
    return ct, plane(ct), intents()


def test_va_plane_artists(tables):
    ct, pl, it = tables
    copies = [t.copy() for t in tables]
    ax = plot_va_plane(ct, pl, it, system="SysB")
    assert isinstance(ax, Axes)
    for t, c in zip(tables, copies, strict=True):
        pd.testing.assert_frame_equal(t, c)
    # clip means: one collection per intended quadrant, coloured by quadrant
    points = _gid(ax.collections, "clip-means")
    assert len(points) == 4
    assert sum(len(p.get_offsets()) for p in points) == (ct["system"] == "SysB").sum()
    colours = {to_hex(p.get_facecolor()[0], keep_alpha=False) for p in points}
    assert colours == {c.lower() for c in QUADRANT_COLORS.values()}
    # quadrant means as stars, one per plane row of the system
    (stars,) = _gid(ax.collections, "quadrant-means")
    assert len(stars.get_offsets()) == (pl["system"] == "SysB").sum()
    sys_rows = pl[pl["system"] == "SysB"]
    np.testing.assert_allclose(stars.get_offsets(),
                               sys_rows[["mean_valence", "mean_arousal"]].to_numpy())
    # ellipses
    ellipses = [p for p in ax.patches if isinstance(p, Ellipse)]
    assert len(ellipses) == len(sys_rows)
    first = sys_rows.iloc[0]
    assert ellipses[0].width == pytest.approx(first["ellipse_width"])
    assert ellipses[0].angle == pytest.approx(first["ellipse_angle"])
    # intents as X markers labelled with the word
    (norms,) = _gid(ax.collections, "intent-norms")
    assert len(norms.get_offsets()) == len(it)
    labels = sorted(t.get_text() for t in _gid(ax.texts, "intent-label"))
    assert labels == sorted(it["intent"])
    # reference lines at 5, 1-9 axes, equal aspect, labels
    centre = _gid(ax.get_lines(), "centre-line")
    assert len(centre) == 2
    assert {tuple(line.get_xydata()[:, 0]) for line in centre} >= {(5.0, 5.0)}
    assert ax.get_xlim()[0] <= 1 and ax.get_xlim()[1] >= 9
    assert ax.get_ylim()[0] <= 1 and ax.get_ylim()[1] >= 9
    assert ax.get_aspect() == 1.0
    assert ax.get_xlabel() == "Valence (1–9)" and ax.get_ylabel() == "Arousal (1–9)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("HV–HA") for t in legend)
    assert {"Clip mean", "Quadrant mean", "Intent (lexicon norm)"} <= set(legend)
    assert ax.get_title() == ""


def test_va_plane_nan_ellipse_skipped(tables):
    ct, pl, it = tables
    pl = pl.copy()
    mask = (pl["system"] == "SysA") & (pl["quadrant"].isin(["lv_la", "hv_ha"]))
    pl.loc[mask, ["ellipse_width", "ellipse_height", "ellipse_angle"]] = np.nan
    ax = plot_va_plane(ct, pl, it, system="SysA")
    expected = ((pl["system"] == "SysA") & pl["ellipse_width"].notna()).sum()
    assert len([p for p in ax.patches if isinstance(p, Ellipse)]) == expected == 2
    (stars,) = _gid(ax.collections, "quadrant-means")
    assert len(stars.get_offsets()) == 4


def test_va_plane_on_given_axes_without_legend(tables):
    fig = Figure()
    ax = fig.add_subplot()
    out = plot_va_plane(*tables, system="SysC", ax=ax, legend=False, label_intents=False,
                        title="SysC")
    assert out is ax
    assert ax.get_legend() is None
    assert not _gid(ax.texts, "intent-label")
    assert ax.get_title() == "SysC"


def test_va_plane_colors_override(tables):
    colors = dict(zip(QUADRANTS, ["#111111", "#222222", "#333333", "#444444"], strict=True))
    ax = plot_va_plane(*tables, system="SysA", colors=colors)
    ellipse_colours = {to_hex(p.get_edgecolor(), keep_alpha=False) for p in ax.patches
                       if isinstance(p, Ellipse)}
    assert ellipse_colours == set(colors.values())
    with pytest.raises(EmoconveyError, match=r"^colors: no colour for quadrant 'lv_ha', 'lv_la'"):
        plot_va_plane(*tables, system="SysA", colors={"hv_ha": "red"})
    with pytest.raises(EmoconveyError, match=r"^colors: expected a mapping \{quadrant: colour\}"):
        plot_va_plane(*tables, system="SysA", colors=["red"])


def test_va_plane_system_only_in_clips(tables):
    ct, pl, it = tables
    ax = plot_va_plane(ct, pl[pl["system"] != "SysA"], it, system="SysA")
    assert not _gid(ax.collections, "quadrant-means")
    assert not [p for p in ax.patches if isinstance(p, Ellipse)]
    assert _gid(ax.collections, "clip-means")


def test_va_plane_errors(tables):
    ct, pl, it = tables
    with pytest.raises(EmoconveyError, match="SysZ"):
        plot_va_plane(ct, pl, it, system="SysZ")
    with pytest.raises(EmoconveyError, match="'ellipse_angle'"):
        plot_va_plane(ct, pl.drop(columns="ellipse_angle"), it, system="SysA")
    with pytest.raises(EmoconveyError, match="'arousal'"):
        plot_va_plane(ct.drop(columns="arousal"), pl, it, system="SysA")
    with pytest.raises(EmoconveyError, match="'norm_valence'"):
        plot_va_plane(ct, pl, it.drop(columns="norm_valence"), system="SysA")
    bad = ct.copy()
    bad.loc[3, "quadrant"] = "middle"
    with pytest.raises(EmoconveyError, match="quadrant"):
        plot_va_plane(bad, pl, it, system="SysA")
    with pytest.raises(EmoconveyError, match="system"):
        plot_va_plane(ct, pl, it, system=None)


def test_va_plane_many_points_rasterized():
    ct = clips(("SysA",), per_intent=100)
    ax = plot_va_plane(ct, plane(ct), intents(), system="SysA")
    points = _gid(ax.collections, "clip-means")
    assert all(p.get_rasterized() for p in points)
    assert not _gid(ax.collections, "quadrant-means")[0].get_rasterized()


def test_va_planes_grid(tables):
    ct, pl, it = tables
    copies = [t.copy() for t in tables]
    fig = plot_va_planes(ct, pl, it, ncols=2)
    assert isinstance(fig, Figure)
    for t, c in zip(tables, copies, strict=True):
        pd.testing.assert_frame_equal(t, c)
    assert len(fig.axes) == 3  # 2 x 2 grid, the spare cell removed
    assert [ax.get_title() for ax in fig.axes] == ["SysA", "SysB", "SysC"]
    for ax, system in zip(fig.axes, ["SysA", "SysB", "SysC"], strict=True):
        assert len([p for p in ax.patches if isinstance(p, Ellipse)]) == 4
        n = sum(len(c.get_offsets()) for c in _gid(ax.collections, "clip-means"))
        assert n == (ct["system"] == system).sum()
        assert ax.get_legend() is None
    assert len(fig.legends) == 1
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts[:4] == ["HV–HA", "LV–HA", "LV–LA", "HV–LA"]
    # intents are the same in every panel: labelled once by default
    n_labels = [len(_gid(ax.texts, "intent-label")) for ax in fig.axes]
    assert n_labels == [len(it), 0, 0]


def test_va_planes_label_options(tables):
    fig = plot_va_planes(*tables, label_intents=True)
    offsets = [[t.xyann for t in _gid(ax.texts, "intent-label")] for ax in fig.axes]
    assert all(len(o) == len(tables[2]) for o in offsets)
    assert offsets[0] == offsets[1] == offsets[2]  # same placement in every panel
    fig = plot_va_planes(*tables, label_intents=False)
    assert not any(_gid(ax.texts, "intent-label") for ax in fig.axes)
    with pytest.raises(EmoconveyError, match="label_intents"):
        plot_va_planes(*tables, label_intents="all")


def test_va_planes_subset_and_errors(tables):
    fig = plot_va_planes(*tables, systems=["SysC", "SysA"], title="Planes",
                         ellipse_label="90 % ellipse")
    assert "90 % ellipse" in [t.get_text() for t in fig.legends[0].get_texts()]
    assert [ax.get_title() for ax in fig.axes] == ["SysC", "SysA"]
    assert fig.get_suptitle() == "Planes"
    with pytest.raises(EmoconveyError, match="SysZ"):
        plot_va_planes(*tables, systems=["SysZ"])
    with pytest.raises(EmoconveyError, match="ncols"):
        plot_va_planes(*tables, ncols=0)
    with pytest.raises(EmoconveyError, match="systems"):
        plot_va_planes(*tables, systems="SysA")


def test_hit_rate_heatmap():
    ct = clips(("SysA", "SysB"))
    hr = hit_rate(ct)
    before = hr.copy()
    ax = plot_hit_rate(hr)
    pd.testing.assert_frame_equal(hr, before)
    (image,) = ax.images
    assert isinstance(image, AxesImage)
    assert image.get_array().shape == (2, 8)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    # intents grouped by quadrant, in quadrant order
    order = intents().set_index("intent")["quadrant"]
    assert [QUADRANTS.index(order[t]) for t in ticks] == sorted(
        QUADRANTS.index(order[t]) for t in ticks)
    assert len(_gid(ax.texts, "cell-label")) == 16
    assert len(_gid(ax.get_lines(), "quadrant-separator")) == 3
    assert len(ax.get_figure(root=True).axes) >= 2  # colour bar


def test_hit_rate_missing_cell_and_errors():
    hr = hit_rate(clips(("SysA", "SysB")))
    ax = plot_hit_rate(hr.iloc[1:], systems=["SysB", "SysA"], colorbar=False, annotate=False)
    arr = ax.images[0].get_array()
    assert arr.mask.sum() == 1
    assert [t.get_text() for t in ax.get_yticklabels()] == ["SysB", "SysA"]
    assert not _gid(ax.texts, "cell-label")
    with pytest.raises(EmoconveyError, match="'hit_rate'"):
        plot_hit_rate(hr.drop(columns="hit_rate"))
    with pytest.raises(EmoconveyError, match="more than one row"):
        plot_hit_rate(pd.concat([hr, hr.iloc[:1]]))
    with pytest.raises(EmoconveyError, match="hit_rate"):
        plot_hit_rate(hr.assign(hit_rate=hr["hit_rate"] * 100 + 1))
