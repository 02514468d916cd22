"""Study planner: assignment rule, Tukey decisions and power against brute force."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from emoconvey.analysis.planning import (
    POWER_CURVE_COLUMNS,
    VarianceComponents,
    _critical_values,
    _detects,
    choose_pairs,
    plan_study,
    simulate_power,
    variance_components,
)
from emoconvey.analysis.posthoc import DEFAULT_POSTHOC, tukey_hsd
from emoconvey.errors import EmoconveyError

COMP = VarianceComponents(listener=0.3, clip=0.2, residual=1.0, intent=0.5)


def test_choose_pairs_matches_the_survey_rule():
    assignment = pytest.importorskip("emoconvey.survey.assignment")
    rng = np.random.default_rng(1)
    # distinct loads per pair (no ties), so both rules must pick the same clips
    loads = rng.permutation(8 * 3).reshape(8, 3)
    pairs, picks = choose_pairs(loads, 5, np.random.default_rng(0))
    cands = [
        assignment.ClipLoad(clip_id=p * 3 + c, system=f"S{p // 4}", intent=f"I{p % 4}",
                            load=int(loads[p, c]))
        for p in range(8) for c in range(3)
    ]
    chosen = assignment.choose_clips(cands, 5, random.Random(0))
    assert sorted(chosen) == sorted((pairs * 3 + picks).tolist())
    # least-loaded first: the order in which just-in-time assignment serves them
    assert list(loads.min(axis=1)[pairs]) == sorted(loads.min(axis=1)[pairs])


def test_choose_pairs_breaks_ties_at_random_and_balances():
    loads = np.zeros((6, 2), dtype=int)
    rng = np.random.default_rng(0)
    for _ in range(30):
        pairs, picks = choose_pairs(loads, 4, rng)
        assert len(set(pairs.tolist())) == 4
        loads[pairs, picks] += 1
    assert loads.max() - loads.min() <= 1  # the rule keeps ratings per clip balanced


@pytest.mark.parametrize("posthoc", ["oneway", "adjusted"])
def test_decisions_match_tukey_hsd(posthoc):
    rng = np.random.default_rng(5)
    k, m, n_clip = 3, 4, 3
    n_clips = k * m * n_clip
    clip_system = np.repeat(np.arange(k), m * n_clip)
    clip_intent = np.tile(np.repeat(np.arange(m), n_clip), k)
    crit = _critical_values(k, 0.05, n_clips)

    def q_crit(groups, df):
        return float(np.interp(1.0 / df, *crit))

    agree = 0
    for _ in range(12):
        clip_of = np.repeat(np.arange(n_clips), 5)
        y = rng.normal(0, 1, len(clip_of)) + 0.9 * (clip_system[clip_of] == 0)
        ours = _detects(y, clip_of, n_clips, clip_system, clip_intent, k, m, 4, posthoc,
                        q_crit)
        means = np.bincount(clip_of, weights=y) / 5
        clips = pd.DataFrame({
            "clip": np.arange(n_clips).astype(str), "system": clip_system.astype(str),
            "intent": clip_intent.astype(str), "quadrant": "hv_ha",
            "valence": means + 5.0, "arousal": 5.0,
            "norm_valence": 5.0, "norm_arousal": 5.0,
        })
        ref = tukey_hsd(clips, by="system", axes="valence",
                        adjust_for="intent" if posthoc == "adjusted" else None)
        row = ref[(ref["group1"] == "0") & (ref["group2"] == "1")].iloc[0]
        agree += ours == bool(row["p_adj"] < 0.05)
    assert agree == 12


def _brute_force_power(n_rep: int, seed: int) -> float:
    """A plain, loop-based simulation of a 2-system, 1-intent, 2-clip design in which
    every participant rates one clip of each system (no dropout)."""
    rng = np.random.default_rng(seed)
    participants, effect = 6, 1.2
    crit = stats.studentized_range.ppf(0.95, 2, 4 - 2)
    hits = 0
    for _ in range(n_rep):
        loads = [[0, 0], [0, 0]]
        ratings: dict[tuple[int, int], list[float]] = {}
        u = rng.normal(0, np.sqrt(COMP.listener), participants)
        v = rng.normal(0, np.sqrt(COMP.clip), (2, 2))
        for p in range(participants):
            for s in (0, 1):
                c = int(np.argmin(loads[s]))  # least-loaded clip of the pair
                loads[s][c] += 1
                y = effect * (s == 0) + u[p] + v[s, c] + rng.normal(0, 1.0)
                ratings.setdefault((s, c), []).append(y)
        means = {key: np.mean(val) for key, val in ratings.items()}
        m0 = np.mean([means[(0, 0)], means[(0, 1)]])
        m1 = np.mean([means[(1, 0)], means[(1, 1)]])
        sse = sum((means[(s, c)] - (m0, m1)[s]) ** 2 for s in (0, 1) for c in (0, 1))
        se = np.sqrt(sse / 2 / 2 * (1 / 2 + 1 / 2))
        hits += abs(m1 - m0) / se > crit
    return hits / n_rep


def test_power_matches_brute_force_simulation():
    comp = VarianceComponents(listener=COMP.listener, clip=COMP.clip,
                              residual=COMP.residual, intent=0.0)
    curve = simulate_power(systems=2, intents=1, participants=[6], clips_per_pair=2,
                           clips_per_participant=2, effect=1.2, dropout=0.0,
                           components=comp, n_sims=1500, seed=3, min_ratings=1,
                           workers=1)
    brute = _brute_force_power(1500, seed=11)
    diff = float(curve["power"].iloc[0]) - brute
    se = np.sqrt(2 * brute * (1 - brute) / 1500)
    assert abs(diff) < 4 * se, (curve, brute)
    assert 0.1 < brute < 0.9  # a design where power is informative


def test_plan_study_is_seeded_monotone_and_parallel():
    kw = dict(systems=3, intents=2, clips_per_pair=3, clips_per_participant=6,
              effect=1.0, components=COMP, n_sims=40, seed=2, points=6,
              max_ratings_per_clip=12)
    a = plan_study(**kw, workers=1)
    b = plan_study(**kw, workers=2)
    pd.testing.assert_frame_equal(a.power_curve, b.power_curve)
    assert tuple(a.power_curve.columns) == POWER_CURVE_COLUMNS
    p = a.power_curve["power"].to_numpy()
    assert p[-1] >= p[0]
    d = a.to_dict()
    assert set(d) >= {"participants", "ratings_per_clip", "power_curve"}
    assert set(d["power_curve"][0]) >= {"participants", "power"}
    # the answer names the analysis it planned for: the report's default
    assert d["design"]["posthoc"] == DEFAULT_POSTHOC == "adjusted"
    assert "posthoc='adjusted'" in d["analysis"] and "valence" in d["analysis"]
    if a.participants is not None:
        assert a.power_curve.set_index("participants").loc[a.participants,
                                                          "power_monotone"] >= 0.8


def test_errors():
    with pytest.raises(EmoconveyError, match="clips_per_participant"):
        simulate_power(systems=2, intents=2, participants=[5], clips_per_participant=5,
                       components=COMP)
    with pytest.raises(EmoconveyError, match="effect"):
        simulate_power(systems=2, intents=2, participants=[5], clips_per_participant=2,
                       effect=-1, components=COMP)
    with pytest.raises(EmoconveyError, match="systems"):
        plan_study(systems=1, intents=2, components=COMP)
    with pytest.raises(EmoconveyError, match="power"):
        plan_study(systems=2, intents=2, power=1.5, components=COMP)
    with pytest.raises(EmoconveyError, match="dropout"):
        plan_study(systems=2, intents=2, dropout=1.0, components=COMP)


def test_isotonic_against_a_hand_computed_fit():
    from emoconvey.analysis.planning import isotonic

    np.testing.assert_allclose(isotonic(np.array([0.1, 0.5, 0.4, 0.6, 0.55, 0.5, 0.9])),
                               [0.1, 0.45, 0.45, 0.55, 0.55, 0.55, 0.9])
    np.testing.assert_allclose(isotonic(np.array([0.3, 0.2, 0.1])), [0.2, 0.2, 0.2])


def test_one_default_analysis_for_planner_and_report():
    import inspect

    from emoconvey.analysis.pipeline import analyse
    from emoconvey.cli import report
    from emoconvey.report import build_report

    for fn in (plan_study, simulate_power, analyse, build_report, variance_components):
        assert inspect.signature(fn).parameters["posthoc"].default == DEFAULT_POSTHOC, fn
    assert inspect.signature(report).parameters["posthoc"].default == DEFAULT_POSTHOC


@pytest.mark.slow
def test_components_come_from_the_axis_that_needs_most_participants(aimoclips):
    # AImoclips: valence has the larger intent spread (4.22 vs 1.31), arousal the larger
    # listener + clip + residual variance; the one-way analysis keeps the intent spread
    # in its error term, the adjusted analysis removes it
    one = variance_components(aimoclips, posthoc="oneway")
    adj = variance_components(aimoclips, posthoc="adjusted")
    assert one.axis == "valence" and adj.axis == "arousal"
    assert one.intent > 4.0 > 1.5 > adj.intent

    def err(v: VarianceComponents, r: float, oneway: bool) -> float:
        return v.clip + (v.listener + v.residual) / r + (v.intent if oneway else 0.0)

    for c in (one, adj):
        other = variance_components(aimoclips, axis="arousal" if c.axis == "valence"
                                    else "valence")
        ow = c is one
        assert err(c, 4, ow) > err(other, 4, ow) and err(c, 1e9, ow) > err(other, 1e9, ow)
