"""Split-conformal quantile and coverage."""

from __future__ import annotations

import math

import numpy as np
import pytest

from emoconvey.errors import EmoconveyError
from emoconvey.intents.conformal import (
    conformal_quantile,
    interval_coverage,
    prediction_interval,
)


@pytest.mark.parametrize("n", [1, 9, 10, 99, 1000])
@pytest.mark.parametrize("cov", [0.5, 0.8, 0.9, 0.95])
def test_quantile_is_numpy_inverted_cdf_at_the_conformal_level(n, cov):
    r = np.abs(np.random.default_rng(n).normal(size=n))
    level = math.ceil((n + 1) * cov) / n
    q = conformal_quantile(r, coverage=cov)
    if level > 1:
        assert q == math.inf
    else:
        # independent reference: numpy's inverted-CDF quantile at ceil((n+1)(1-a))/n
        assert q == np.quantile(r, level, method="inverted_cdf")


def test_coverage_is_at_least_nominal_on_exchangeable_data():
    rng = np.random.default_rng(0)
    hits = []
    for _ in range(400):
        cal = np.abs(rng.standard_t(3, size=50))
        test = np.abs(rng.standard_t(3, size=20))
        q = conformal_quantile(cal, coverage=0.9)
        hits.append(np.mean(test <= q))
    # E[coverage] in [0.9, 0.9 + 1/(n+1)] (Lei et al., 2018, Thm 2.2)
    assert 0.89 <= np.mean(hits) <= 0.9 + 1 / 51 + 0.01


def test_interval_clipped_to_scale_and_coverage_counts_closed_bounds():
    lo, hi = prediction_interval(np.array([1.5, 8.0]), 1.0)
    assert lo.tolist() == [1.0, 7.0] and hi.tolist() == [2.5, 9.0]
    assert interval_coverage(np.array([1.0, 9.5]), lo, hi) == 0.5


def test_errors():
    with pytest.raises(EmoconveyError, match="at least one"):
        conformal_quantile([], coverage=0.9)
    with pytest.raises(EmoconveyError, match="finite"):
        conformal_quantile([1.0, -1.0], coverage=0.9)
    with pytest.raises(EmoconveyError, match="coverage: expected"):
        conformal_quantile([1.0], coverage=1.5)
    with pytest.raises(EmoconveyError, match="at least one"):
        interval_coverage(np.array([]), np.array([]), np.array([]))
