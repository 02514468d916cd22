"""Holm's adjustment, pinned to statsmodels (the one implementation every analysis uses)."""

from __future__ import annotations

import numpy as np
from statsmodels.stats.multitest import multipletests

from emoconvey.analysis import bootstrap, mos
from emoconvey.analysis.adjust import holm


def test_holm_matches_statsmodels_and_keeps_shape_and_nan():
    rng = np.random.default_rng(4)
    p = rng.uniform(0, 0.2, size=12)
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=0, atol=1e-15)
    grid = np.array([[np.nan, 0.01], [0.04, 0.03]])
    np.testing.assert_allclose(holm(grid), [[np.nan, 0.03], [0.06, 0.06]])
    assert holm([]).shape == (0,)


def test_bootstrap_and_mos_use_it():
    assert bootstrap.holm is holm and mos.holm_adjust is holm
