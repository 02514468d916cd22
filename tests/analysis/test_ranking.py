"""System ranking, pinned to a plain pandas/numpy recomputation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emoconvey.analysis.ranking import system_ranking
from emoconvey.errors import DataValidationError


def test_ranking_matches_independent_computation(aimoclips):
    clips = aimoclips.clips
    before = clips.copy()
    out = system_ranking(clips)
    pd.testing.assert_frame_equal(clips, before)
    assert list(out.columns) == [
        "rank", "system", "n", "mean_distance", "mae_valence", "mae_arousal",
        "mean_dev_valence", "mean_dev_arousal", "hit_rate",
    ]
    for _, row in out.iterrows():
        c = clips[clips["system"] == row["system"]]
        dv = c["valence"] - c["norm_valence"]
        da = c["arousal"] - c["norm_arousal"]
        assert row["n"] == len(c)
        np.testing.assert_allclose(row["mean_distance"], np.sqrt(dv**2 + da**2).mean(), rtol=1e-12)
        np.testing.assert_allclose(row["mae_valence"], dv.abs().mean(), rtol=1e-12)
        np.testing.assert_allclose(row["mean_dev_arousal"], da.mean(), rtol=1e-12)
        hv = np.where(c["valence"] > 5, "hv", "lv")
        ha = np.where(c["arousal"] > 5, "ha", "la")
        on_line = (c["valence"] == 5) | (c["arousal"] == 5)
        hit = (pd.Series(hv + "_" + ha, index=c.index) == c["quadrant"]) & ~on_line
        np.testing.assert_allclose(row["hit_rate"], hit.mean(), rtol=1e-12)
    assert out["mean_distance"].is_monotonic_increasing
    assert out["rank"].tolist() == list(range(1, 7))


def test_ties_share_rank():
    clips = pd.DataFrame(
        {
            "clip": ["a", "b", "c"],
            "system": ["S1", "S2", "S3"],
            "intent": ["happy"] * 3,
            "quadrant": ["hv_ha"] * 3,
            "valence": [8.0, 8.0, 5.0],
            "arousal": [6.0, 6.0, 5.0],
            "norm_valence": [8.0] * 3,
            "norm_arousal": [6.0] * 3,
        }
    )
    out = system_ranking(clips)
    assert out["rank"].tolist() == [1, 1, 3]
    assert out["hit_rate"].tolist() == [1.0, 1.0, 0.0]


def test_missing_column_named(aimoclips):
    with pytest.raises(DataValidationError, match="'norm_valence'"):
        system_ranking(aimoclips.clips.drop(columns="norm_valence"))
