"""Tests of emoconvey.plots.distribution."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from emoconvey.errors import EmoconveyError
from emoconvey.plots.distribution import plot_ratings_per_clip

# The helper lives next to the tests; make it importable whatever pytest's import mode.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from _plot_frames import per_clip  # noqa: E402


def _by_gid(items, gid):
    return [a for a in items if a.get_gid() == gid]


def test_returns_axes_with_one_bar_per_row_and_threshold():
    table = per_clip()
    ax = plot_ratings_per_clip(table)
    assert isinstance(ax, Axes)
    assert isinstance(ax.get_figure(root=True), Figure)
    (bars,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert len(bars) == len(table)
    assert [b.get_height() for b in bars] == table["clips"].tolist()
    (line,) = _by_gid(ax.get_lines(), "threshold-line")
    assert line.get_xdata()[0] == pytest.approx(3.5)
    assert len(_by_gid(ax.patches, "excluded-region")) == 1
    excluded = [b for b in bars if b.get_hatch()]
    assert len(excluded) == 2  # n_ratings 2 and 3
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("Excluded (< 4 ratings): 8 clips" in t for t in legend)
    assert any("Threshold" in t for t in legend)
    assert ax.get_xlabel() and ax.get_ylabel()
    assert ax.get_title() == ""


def test_no_threshold_when_min_ratings_none():
    ax = plot_ratings_per_clip(per_clip(), min_ratings=None)
    assert not _by_gid(ax.get_lines(), "threshold-line")
    assert not _by_gid(ax.patches, "excluded-region")
    (bars,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    assert not any(b.get_hatch() for b in bars)


def test_draws_on_given_axes_and_title_optional():
    fig = Figure()
    ax = fig.add_subplot()
    out = plot_ratings_per_clip(per_clip(), ax=ax, title="Ratings")
    assert out is ax
    assert ax.get_title() == "Ratings"
    assert fig.canvas.manager is None  # not a pyplot figure


def test_caller_frame_unchanged_and_duplicates_summed():
    table = pd.concat([per_clip(), pd.DataFrame({"n_ratings": [5], "clips": [10]})],
                      ignore_index=True)
    before = table.copy()
    ax = plot_ratings_per_clip(table)
    pd.testing.assert_frame_equal(table, before)
    (bars,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    heights = {round(b.get_x() + b.get_width() / 2): b.get_height() for b in bars}
    assert heights[5] == 90


def test_missing_column_is_named():
    with pytest.raises(EmoconveyError, match="'clips'"):
        plot_ratings_per_clip(per_clip().drop(columns="clips"))


@pytest.mark.parametrize("bad", [0, -1, 2.5, "4", True])
def test_bad_min_ratings(bad):
    with pytest.raises(EmoconveyError, match="min_ratings"):
        plot_ratings_per_clip(per_clip(), min_ratings=bad)


def test_bad_values_rejected():
    with pytest.raises(EmoconveyError, match="clips"):
        plot_ratings_per_clip(pd.DataFrame({"n_ratings": [1, 2], "clips": [3, -1]}))
    with pytest.raises(EmoconveyError, match="n_ratings"):
        plot_ratings_per_clip(pd.DataFrame({"n_ratings": [1.5, 2], "clips": [3, 1]}))
    with pytest.raises(EmoconveyError):
        plot_ratings_per_clip(pd.DataFrame({"n_ratings": [], "clips": []}))
    with pytest.raises(EmoconveyError, match="ax"):
        plot_ratings_per_clip(per_clip(), ax="not an axes")
