"""Ranking and power-curve figures; plot_ci's smallest_pairs option."""

from __future__ import annotations

import pandas as pd
import pytest
from matplotlib.axes import Axes

from emoconvey.analysis import mean_deviation, tukey_hsd
from emoconvey.analysis.bootstrap import bootstrap_ranking
from emoconvey.errors import EmoconveyError
from emoconvey.plots.deviation import plot_ci
from emoconvey.plots.planning import plot_power_curve
from emoconvey.plots.ranking import plot_ranking


def test_plot_ranking_labels_and_letters(aimoclips):
    table = bootstrap_ranking(aimoclips.clips, n_boot=200)
    ax = plot_ranking(table, metric="hit_rate", highlight=["Suno"])
    assert isinstance(ax, Axes)
    letters = [t for t in ax.texts if t.get_gid() == "group-letter"]
    assert len(letters) == 6
    labels = {t.get_text().split()[0]: t for t in ax.get_yticklabels()}
    assert labels["Suno"].get_fontweight() == "bold"
    order = ["Udio", "Suno", "Mustango", "MusicGen", "AudioLDM2", "StableAudio"]
    ax = plot_ranking(table, order=order)
    # top to bottom in the given order
    ticks = sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])
    assert [t.get_text().split()[0] for t in ticks] == order
    with pytest.raises(EmoconveyError, match="metric"):
        plot_ranking(table, metric="nope")
    with pytest.raises(EmoconveyError, match="order"):
        plot_ranking(table, order=["Nope"])


def test_plot_ci_smallest_pairs(aimoclips):
    mean_dev = mean_deviation(aimoclips.clips, by="system")
    tukey = tukey_hsd(aimoclips.clips, by="system", adjust_for="intent")
    n_sig = int((tukey[tukey["axis"] == "valence"]["p_adj"] < 0.05).sum())
    assert n_sig > 3
    ax = plot_ci(mean_dev, tukey, axis="valence", smallest_pairs=3)
    assert len([ln for ln in ax.lines if ln.get_gid() == "significance-bracket"]) == 3
    assert any(t.get_gid() == "smallest-pairs-note" for t in ax.texts)
    with pytest.raises(EmoconveyError, match="smallest_pairs"):
        plot_ci(mean_dev, tukey, axis="valence", smallest_pairs=0)


def test_plot_power_curve():
    curve = pd.DataFrame({"participants": [10, 20, 30], "ratings_per_clip": [2.0, 4.0, 6.0],
                          "power": [0.1, 0.5, 0.9], "se": [0.01, 0.02, 0.01]})
    ax = plot_power_curve(curve, target=0.8, participants=30)
    assert any(ln.get_gid() == "answer" for ln in ax.lines)
    with pytest.raises(EmoconveyError, match="no rows"):
        plot_power_curve(curve.iloc[:0])
