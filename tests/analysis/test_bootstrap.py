"""Bootstrap uncertainty of the ranking: coverage, rank intervals, tie groups."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from emoconvey.analysis.bootstrap import (
    BOOTSTRAP_COLUMNS,
    bootstrap_ranking,
    holm,
    listener_effects,
    pairwise_bootstrap_p,
    posterior_p_best,
    rank_intervals,
    tie_groups,
)
from emoconvey.errors import EmoconveyError
from emoconvey.intents import aimoclips_intents


def _clips(shift: dict[str, float], *, per_cell: int, rng: np.random.Generator) -> pd.DataFrame:
    """Clip table whose valence deviation is N(shift[system], 1), arousal N(0, 1)."""
    intents = aimoclips_intents()
    rows = []
    for system, mu in shift.items():
        for _, it in intents.iterrows():
            for n in range(per_cell):
                dv, da = rng.normal(mu, 1.0), rng.normal(0.0, 1.0)
                rows.append({
                    "clip": f"{system}_{it['intent']}_{n}", "system": system,
                    "intent": it["intent"], "quadrant": it["quadrant"],
                    "valence": it["norm_valence"] + dv, "arousal": it["norm_arousal"] + da,
                    "norm_valence": it["norm_valence"], "norm_arousal": it["norm_arousal"],
                })
    return pd.DataFrame(rows)


def test_coverage_on_simulated_studies_with_known_truth():
    shifts = {"A": 0.0, "B": 0.5, "C": 1.0}
    big = np.random.default_rng(99)
    truth = {}
    for s, mu in shifts.items():
        dv, da = big.normal(mu, 1.0, 1_000_000), big.normal(0.0, 1.0, 1_000_000)
        truth[(s, "mean_distance")] = float(np.hypot(dv, da).mean())
        truth[(s, "mae_valence")] = float(np.abs(dv).mean())
    rng = np.random.default_rng(7)
    hits = {"mean_distance": [], "mae_valence": []}
    for rep in range(150):
        table = bootstrap_ranking(_clips(shifts, per_cell=4, rng=rng), n_boot=400, seed=rep,
                                  p_best="bootstrap")
        for metric in hits:
            for _, r in table[table["metric"] == metric].iterrows():
                hits[metric].append(r["ci_low"] <= truth[(r["system"], metric)] <= r["ci_high"])
    for metric, h in hits.items():
        coverage = float(np.mean(h))
        # 450 intervals: binomial SE ~ 0.01; percentile intervals at n = 48 run a bit short
        assert 0.90 <= coverage <= 0.985, (metric, coverage)


def test_rank_intervals_clear_order():
    rng = np.random.default_rng(0)
    reps = np.column_stack([rng.normal(m, 0.01, 500) for m in (1.0, 2.0, 3.0)])
    ri = rank_intervals(reps)
    assert ri["rank_low"].tolist() == [1, 2, 3]
    assert ri["rank_high"].tolist() == [1, 2, 3]
    assert ri["p_best"].tolist() == [1.0, 0.0, 0.0]
    ri = rank_intervals(reps, smaller_is_better=False)
    assert ri["rank_low"].tolist() == [3, 2, 1]
    assert ri["p_best"].tolist() == [0.0, 0.0, 1.0]


def test_rank_intervals_exact_tie_and_exchangeable_pair():
    # an exact tie: both share rank 1 in every replicate
    reps = np.tile([1.0, 1.0, 5.0], (100, 1))
    ri = rank_intervals(reps)
    assert ri["rank_low"].tolist() == [1, 1, 3]
    assert ri["rank_high"].tolist() == [1, 1, 3]
    assert ri["p_best"].tolist() == [1.0, 1.0, 0.0]
    # two systems swapping places half of the time: both have rank interval 1-2
    a = np.r_[np.zeros(50), np.ones(50)]
    reps = np.column_stack([a, 1 - a, np.full(100, 9.0)])
    ri = rank_intervals(reps)
    assert ri["rank_low"].tolist() == [1, 1, 3]
    assert ri["rank_high"].tolist() == [2, 2, 3]
    assert ri["p_best"].tolist() == [0.5, 0.5, 0.0]
    p = pairwise_bootstrap_p(reps)
    assert p[0, 1] == 1.0 and p[0, 2] == 0.0 and p[2, 0] == 0.0


def test_tie_groups_constructed():
    systems = ["A", "B", "C"]
    p = np.array([[1, 0.5, 0.001], [0.5, 1, 0.5], [0.001, 0.5, 1]])
    assert tie_groups(systems, p, alpha=0.05) == {"A": "a", "B": "ab", "C": "b"}
    assert tie_groups(systems, np.ones((3, 3)), alpha=0.05) == {"A": "a", "B": "a", "C": "a"}
    zero = np.zeros((3, 3))
    assert tie_groups(systems, zero, alpha=0.05) == {"A": "a", "B": "b", "C": "c"}


def test_holm_matches_statsmodels():
    p = np.array([0.01, 0.04, 0.03, 0.2, 0.001])
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=0, atol=1e-15)


def test_bootstrap_ranking_on_aimoclips_is_seeded_and_consistent(aimoclips):
    a = bootstrap_ranking(aimoclips.clips, n_boot=300, seed=1)
    b = bootstrap_ranking(aimoclips.clips, n_boot=300, seed=1)
    pd.testing.assert_frame_equal(a, b)
    assert tuple(a.columns) == BOOTSTRAP_COLUMNS
    assert (a["ci_low"] <= a["estimate"]).all() and (a["estimate"] <= a["ci_high"]).all()
    assert (a["rank_low"] <= a["rank"]).all() and (a["rank"] <= a["rank_high"]).all()
    for _, grp in a.groupby("metric"):
        assert grp["p_best"].sum() >= 1.0 - 1e-12
    # estimates are the point values of the plain ranking
    from emoconvey.analysis import system_ranking

    plain = system_ranking(aimoclips.clips).set_index("system")
    md = a[a["metric"] == "mean_distance"].set_index("system")
    np.testing.assert_allclose(md["estimate"], plain.loc[md.index, "mean_distance"], rtol=1e-14)
    assert aimoclips.clips.equals(aimoclips.clips.copy())


def test_bootstrap_ranking_rejects_bad_options(aimoclips):
    with pytest.raises(EmoconveyError, match="n_boot"):
        bootstrap_ranking(aimoclips.clips, n_boot=0)
    with pytest.raises(EmoconveyError, match="seed"):
        bootstrap_ranking(aimoclips.clips, seed=1.5)  # type: ignore[arg-type]
    with pytest.raises(EmoconveyError, match="confidence"):
        bootstrap_ranking(aimoclips.clips, confidence=1.5)
    with pytest.raises(EmoconveyError, match="interval"):
        bootstrap_ranking(aimoclips.clips, interval="basic")
    with pytest.raises(EmoconveyError, match="p_best"):
        bootstrap_ranking(aimoclips.clips, p_best="share")
    with pytest.raises(EmoconveyError, match="replicates"):
        rank_intervals(np.ones(3))


def _reference_study() -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    doc = json.loads((Path(__file__).parents[1] / "reference" /
                      "crossed_bootstrap.json").read_text())
    ratings = pd.DataFrame(doc["ratings"])
    clips = ratings.groupby("clip", sort=False).agg(
        system=("system", "first"), intent=("intent", "first"),
        valence=("valence", "mean"), arousal=("arousal", "mean")).reset_index()
    clips["quadrant"] = "hv_ha"
    clips["norm_valence"] = clips["norm_arousal"] = 5.0
    return clips, ratings, doc


def test_crossed_bootstrap_variance_matches_the_exact_formula():
    # scripts/reference/crossed_bootstrap.py: Var* of a linear metric, computed by an
    # independent route (pandas loops, explicit weight covariance)
    from emoconvey.analysis.bootstrap import _cells, _metric_table, _replicates

    clips, ratings, doc = _reference_study()
    le = listener_effects(ratings, clips["clip"])
    assert le.variance[0] == pytest.approx(doc["listener_variance"], rel=1e-10)
    table = _metric_table(clips)
    sys_codes, systems, cell = _cells(table)
    dev = table[["dev_valence", "dev_arousal"]].to_numpy() - le.matrix @ le.effects
    reps = _replicates(dev, table[["sign_v", "sign_a"]].to_numpy(),
                       table[["edge_v", "edge_a"]].to_numpy(), cell, sys_codes,
                       len(systems), listeners=le, n_boot=40_000,
                       rng=np.random.default_rng(0))
    got = reps[:, :, 1].var(axis=0)  # mae_valence, linear here
    want = np.array([doc["variance"][s] for s in systems])
    # 40,000 replicates: relative s.e. of a variance about sqrt(2/B) = 0.7 %
    np.testing.assert_allclose(got, want, rtol=0.04)


def test_listener_variance_agrees_with_reml():
    # moment estimate vs the REML fit of the crossed model on one larger simulated study
    from crossed_study import crossed_study, scenario_means
    from emoconvey.analysis.mixed import _design, fit_crossed

    rng = np.random.default_rng(8)
    clips, ratings = crossed_study(scenario_means("additive", rng=rng), clips_per_cell=16,
                                   rng=rng)
    le = listener_effects(ratings, clips["clip"])
    x, *_ = _design(ratings["system"], ratings["intent"])
    lis = pd.factorize(ratings["listener"])[0]
    clip = pd.factorize(ratings["clip"])[0]
    for j, axis in enumerate(("valence", "arousal")):
        fit = fit_crossed(ratings[axis].to_numpy(), x, lis, clip)
        # 96 listeners: the s.e. of either estimate of sigma_L^2 = 0.67 is about 0.12
        assert le.variance[j] == pytest.approx(fit.var_a, abs=0.15)
        assert le.within[j] == pytest.approx(fit.var_a + fit.var_resid, rel=0.05)


def test_posterior_p_best_matches_quadrature_reference():
    # scripts/reference/posterior_p_best.py: quadrature over tau and mu, orthant
    # probabilities; no sampling
    doc = json.loads((Path(__file__).parents[1] / "reference" /
                      "posterior_p_best.json").read_text())
    for case in doc["cases"].values():
        got = posterior_p_best(np.array(case["estimates"]), np.array(case["cov"]),
                               n_draws=100_000, seed=3)
        # 100,000 draws: Monte-Carlo s.e. at most 0.0016
        np.testing.assert_allclose(got, case["p_best"], atol=0.0065)


def test_posterior_p_best_limits():
    far = posterior_p_best(np.array([1.0, 2.0, 3.0]), np.eye(3) * 1e-4)
    np.testing.assert_allclose(far, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(
        posterior_p_best(np.array([1.0, 2.0, 3.0]), np.eye(3) * 1e-4,
                         smaller_is_better=False), [0.0, 0.0, 1.0])
    same = posterior_p_best(np.zeros(4), np.eye(4) * 0.01, n_draws=20_000)
    np.testing.assert_allclose(same, 0.25, atol=0.015)
    assert posterior_p_best(np.array([0.3]), np.eye(1)).tolist() == [1.0]
    # no sampling variance: the best estimate is best
    assert posterior_p_best(np.array([2.0, 1.0]), np.zeros((2, 2))).tolist() == [0.0, 1.0]


def _strong_listener_studies(n_studies: int, *, crossed: bool, seed: int) -> dict:
    from crossed_study import crossed_study, scenario_means, true_metrics

    variances = {"listener": 1.5, "clip": 0.3, "residual": 1.5}
    rng = np.random.default_rng(seed)
    means = scenario_means("one_signed", rng=rng)
    truth = true_metrics(means, variances=variances).set_index("system")
    hits: dict[str, list[bool]] = {"mean_distance": [], "mae_valence": []}
    for rep in range(n_studies):
        clips, ratings = crossed_study(means, clips_per_cell=6, variances=variances,
                                       rng=rng)
        table = bootstrap_ranking(clips, ratings=ratings if crossed else None, n_boot=300,
                                  seed=rep, p_best="bootstrap")
        for metric, h in hits.items():
            sub = table[table["metric"] == metric]
            t = truth.loc[sub["system"], metric].to_numpy()
            h += list((sub["ci_low"].to_numpy() <= t) & (t <= sub["ci_high"].to_numpy()))
    return {m: float(np.mean(h)) for m, h in hits.items()}


@pytest.mark.slow
def test_crossed_bootstrap_covers_when_listeners_shift_one_signed_deviations():
    # listeners shift their ratings (variance 1.5 of 3.3) and every deviation is
    # positive: a listener's shift moves all their clips' |deviation| the same way
    new = _strong_listener_studies(60, crossed=True, seed=21)
    old = _strong_listener_studies(60, crossed=False, seed=21)
    for metric in new:
        # 240 intervals per metric (4 per study, positively correlated within a
        # study): binomial s.e. 0.014; bounds at about 3 s.e.
        assert 0.905 <= new[metric] <= 0.99, (metric, new[metric])
        # clips alone: about 0.8 here (s.e. 0.026), so the test sees the listeners
        assert old[metric] < new[metric] - 0.05, (metric, old[metric], new[metric])


@pytest.mark.slow
def test_p_best_is_calibrated_over_studies_with_random_truth():
    from crossed_study import crossed_study, scenario_means, true_metrics

    rng = np.random.default_rng(31)
    stated, truly = [], []
    for rep in range(70):
        means = scenario_means("random", rng=rng)
        truth = true_metrics(means)
        clips, ratings = crossed_study(means, clips_per_cell=6, rng=rng)
        table = bootstrap_ranking(clips, ratings=ratings, n_boot=200, seed=rep)
        sub = table[table["metric"] == "mean_distance"]
        best = truth.set_index("system")["mean_distance"].idxmin()
        stated += list(sub["p_best"])
        truly += list(sub["system"] == best)
    p, t = np.array(stated), np.array(truly, dtype=float)
    for lo, hi in ((0.0, 0.3), (0.3, 1.01)):
        sel = (p >= lo) & (p < hi)
        se = np.sqrt(max(t[sel].mean() * (1 - t[sel].mean()), 0.02) / sel.sum())
        # each band holds 60-200 systems: 3.5 binomial s.e. (0.04-0.18)
        assert abs(p[sel].mean() - t[sel].mean()) < 3.5 * se, (lo, p[sel].mean(),
                                                               t[sel].mean(), se)


def test_listeners_without_shared_clips_fall_back_to_clip_resampling():
    # every listener rated one clip: shifts are not identifiable, variance 0, and the
    # table equals the clip-only bootstrap
    clips, ratings, _ = _reference_study()
    ratings = ratings.assign(listener=[f"P{i}" for i in range(len(ratings))])
    le = listener_effects(ratings, clips["clip"])
    assert le.variance.tolist() == [0.0, 0.0]
    a = bootstrap_ranking(clips, ratings=ratings, n_boot=200, seed=2)
    b = bootstrap_ranking(clips, n_boot=200, seed=2)
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(EmoconveyError, match="listener"):
        listener_effects(ratings.drop(columns="listener"), clips["clip"])
