"""Rating-level mixed model, pinned to lme4::lmer (scripts/reference/mixed_model.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emoconvey import DegenerateDataWarning
from emoconvey.analysis.mixed import (
    MIXED_SYSTEM_COLUMNS,
    MIXED_VARIANCE_COLUMNS,
    fit_crossed,
    mixed_model,
)
from emoconvey.errors import EmoconveyError

REF = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "mixed_model.json").read_text()
)


@pytest.fixture(scope="module")
def fitted(aimoclips):
    return mixed_model(aimoclips.ratings, aimoclips.intents)


@pytest.mark.parametrize("axis", ["valence", "arousal"])
def test_matches_lme4_on_aimoclips(fitted, axis):
    systems, var = fitted
    ref = REF["axes"][axis]
    v = var.set_index("axis").loc[axis]
    assert v["n_ratings"] == REF["n_ratings"]
    # both optimisers stop within ~1e-7 of the optimum of a flat criterion
    for comp in ("listener", "clip", "residual"):
        assert v[comp] == pytest.approx(ref[comp], rel=2e-5)
    assert v["reml_criterion"] == pytest.approx(ref["reml_criterion"], rel=1e-10, abs=1e-6)
    assert v["chi2_system"] == pytest.approx(ref["chi2_system"], rel=1e-5)
    s = systems[systems["axis"] == axis].set_index("system").loc[ref["systems"]]
    np.testing.assert_allclose(s["estimate"], ref["estimate"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(s["se"], ref["se"], rtol=1e-5)
    np.testing.assert_allclose(s["ci_high"] - s["ci_low"], 2 * 1.959963984540054 * s["se"],
                               rtol=1e-12)
    total = v["listener"] + v["clip"] + v["residual"]
    assert v["icc_listener"] == pytest.approx(v["listener"] / total, rel=1e-12)


def test_columns_and_input_untouched(aimoclips, fitted):
    systems, var = fitted
    assert tuple(systems.columns) == MIXED_SYSTEM_COLUMNS
    assert tuple(var.columns) == MIXED_VARIANCE_COLUMNS
    assert var["converged"].all()
    assert list(aimoclips.ratings.columns) == [
        "listener", "clip", "system", "intent", "quadrant", "valence", "arousal"]


def test_recovers_simulated_variance_components():
    rng = np.random.default_rng(3)
    n_l, n_c, per = 60, 300, 12
    lis = np.concatenate([rng.choice(n_l, per, replace=False) for _ in range(n_c)])
    clip = np.repeat(np.arange(n_c), per)
    grp = clip % 3
    x = np.column_stack([np.ones(len(clip)), grp == 1, grp == 2]).astype(float)
    u, v = rng.normal(0, 0.8, n_l), rng.normal(0, 0.6, n_c)
    y = x @ np.array([0.5, 0.3, -0.2]) + u[lis] + v[clip] + rng.normal(0, 1.0, len(clip))
    fit = fit_crossed(y, x, lis, clip)
    # against the variance of the effects actually drawn
    assert fit.var_a == pytest.approx(u.var(ddof=1), rel=0.25)
    assert fit.var_b == pytest.approx(v.var(ddof=1), rel=0.25)
    assert fit.var_resid == pytest.approx(1.0, rel=0.1)
    np.testing.assert_allclose(fit.beta, [0.5, 0.3, -0.2], atol=0.35)


def test_zero_variance_component_stays_on_the_boundary():
    rng = np.random.default_rng(4)
    lis = rng.integers(0, 30, 2000)
    clip = rng.integers(0, 200, 2000)
    y = rng.normal(0, 1, 2000)  # no listener or clip effect at all
    fit = fit_crossed(y, np.ones((2000, 1)), lis, clip)
    assert fit.var_a < 0.02 and fit.var_b < 0.05
    assert fit.var_resid == pytest.approx(1.0, rel=0.1)


def test_skips_above_max_levels(aimoclips):
    with pytest.warns(DegenerateDataWarning, match="max_levels"):
        systems, var = mixed_model(aimoclips.ratings, aimoclips.intents, max_levels=50)
    assert systems.empty and var.empty


def test_errors(aimoclips):
    with pytest.raises(EmoconveyError, match="listener"):
        mixed_model(aimoclips.ratings.drop(columns="listener"), aimoclips.intents)
    with pytest.raises(EmoconveyError, match="no norm"):
        mixed_model(aimoclips.ratings, aimoclips.intents.iloc[:3])
    with pytest.raises(EmoconveyError, match="confidence"):
        mixed_model(aimoclips.ratings, aimoclips.intents, confidence=2.0)
    one = aimoclips.ratings.iloc[:1]
    with pytest.warns(DegenerateDataWarning, match="fewer than two"):
        systems, _ = mixed_model(one, aimoclips.intents)
    assert systems.empty
    r = aimoclips.ratings
    confounded = r[((r["system"] == "Suno") & (r["intent"] == "happy"))
                   | ((r["system"] == "Udio") & (r["intent"] == "sad"))]
    with pytest.warns(DegenerateDataWarning, match="full rank"):
        systems, _ = mixed_model(confounded, aimoclips.intents)
    assert systems.empty


@pytest.mark.parametrize(("seed", "axis"), [(43, "arousal"), (112, "arousal")])
def test_interior_optimum_is_converged_whatever_start_ends_lowest(seed, axis):
    # issue 17: on these simulated studies one L-BFGS-B start ends "ABNORMAL" at the
    # same interior optimum as the other (criteria 1e-10 apart, theta 1e-6 apart); the
    # fit used to keep the lower one and report converged=False
    from scipy import optimize

    from crossed_study import crossed_study, scenario_means
    from emoconvey.analysis.mixed import _THETA_MAX, _design, _Profile

    rng = np.random.default_rng(seed)
    _, r = crossed_study(scenario_means("additive", rng=rng), rng=rng, shuffle=False)
    x, *_ = _design(r["system"], r["intent"])
    lis, clip = pd.factorize(r["listener"])[0], pd.factorize(r["clip"])[0]
    y = r[axis].to_numpy()
    prof = _Profile(y, x, lis, clip)
    ends = [optimize.minimize(prof.criterion, np.array(s), method="L-BFGS-B",
                              bounds=[(0.0, _THETA_MAX)] * 2,
                              options={"ftol": 1e-12, "gtol": 1e-9})
            for s in ((0.5, 0.5), (0.1, 1.0))]
    assert sorted(e.success for e in ends) == [False, True]  # the case reproduces
    assert abs(ends[0].fun - ends[1].fun) < 1e-6
    fit = fit_crossed(y, x, lis, clip)
    assert fit.converged
    assert fit.reml_criterion == pytest.approx(min(e.fun for e in ends), abs=1e-6)
    assert fit.var_a > 0.1 and fit.var_b > 0.1  # interior


def test_stationarity_check():
    from emoconvey.analysis.mixed import _stationary

    def f(t):
        return float((t[0] - 1.0) ** 2 + (t[1] + 1.0) ** 2)  # optimum on t1 = 0 bound

    assert _stationary(f, np.array([1.0, 0.0]))
    assert not _stationary(f, np.array([1.5, 0.0]))
    assert not _stationary(f, np.array([1.0, 0.5]))
