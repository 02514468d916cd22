"""Tests of emoconvey.analysis.posthoc.tukey_hsd against scipy.stats.tukey_hsd (reference
values from scripts/reference/core_stats.py and a direct comparison) and statsmodels'
pairwise_tukeyhsd, and of the large-df convention shared with R's ptukey."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from emoconvey.analysis.deviation import clip_deviations
from emoconvey.analysis.posthoc import TUKEY_COLUMNS, tukey_hsd
from emoconvey.errors import DataValidationError, DegenerateDataWarning, EmoconveyError

REF = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "core_stats.json").read_text()
)
RTOL = 1e-9
VALUES = ["meandiff", "ci_low", "ci_high", "p_adj"]
RUNS = sorted({(r["by"], r["measure"], r["confidence"]) for r in REF["aimoclips"]["tukey"]})


@pytest.fixture(scope="module")
def synthetic_clips() -> pd.DataFrame:
    return pd.DataFrame(REF["synthetic"]["clips"])


@pytest.fixture(params=["aimoclips", "synthetic"])
def study(request, aimoclips, synthetic_clips) -> tuple[pd.DataFrame, dict]:
    clips = aimoclips.clips if request.param == "aimoclips" else synthetic_clips
    return clips, REF[request.param]


def _tiny(values: list[float], systems: list[str]) -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame(
        {
            "clip": [f"c{i}" for i in range(n)],
            "system": systems,
            "intent": "sad",
            "quadrant": "lv_la",
            "valence": values,
            "arousal": values,
            "norm_valence": 2.1,
            "norm_arousal": 3.49,
        }
    )


# ----------------------------------------------------------------------------- reference


@pytest.mark.parametrize(("by", "measure", "confidence"), RUNS)
def test_matches_scipy_reference(study, by, measure, confidence):
    clips, ref = study
    expected = pd.DataFrame(
        [
            r
            for r in ref["tukey"]
            if (r["by"], r["measure"], r["confidence"]) == (by, measure, confidence)
        ]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateDataWarning)
        out = tukey_hsd(clips, by=by, measure=measure, confidence=confidence)
    assert list(out.columns) == list(TUKEY_COLUMNS)
    for col in ("axis", "group1", "group2"):
        assert out[col].tolist() == expected[col].tolist(), col
    assert (out["measure"] == measure).all()
    for col in VALUES:
        if col == "p_adj":
            continue
        np.testing.assert_allclose(out[col], expected[col], rtol=RTOL, atol=1e-15,
                                   err_msg=col)
    # scipy's studentized-range tail has an absolute error of about 1e-12 (so it returns
    # 0 near 1e-14); ours is pinned to mpmath and exact identities in test_studentized.py
    np.testing.assert_allclose(out["p_adj"], expected["p_adj"], rtol=RTOL, atol=1e-12)
    assert (out["p_adj"] > 0).all()
    np.testing.assert_array_equal(out["reject"], expected["p_adj"] < 1 - confidence)


def test_pairs_follow_group_order(study):
    clips, ref = study
    for by in ("system", "quadrant"):
        out = tukey_hsd(clips, by=by, axes="valence")
        order = ref["group_order"][by]
        k = len(order)
        expected = [(order[i], order[j]) for i in range(k) for j in range(i + 1, k)]
        assert list(zip(out["group1"], out["group2"], strict=True)) == expected


# ----------------------------------------------------------------------------- behaviour


def test_real_data_system_comparisons(aimoclips):
    out = tukey_hsd(aimoclips.clips)
    assert len(out) == 2 * 15  # 6 systems -> 15 pairs per axis
    assert out["axis"].tolist() == ["valence"] * 15 + ["arousal"] * 15
    assert out["reject"].dtype == bool
    assert ((out["p_adj"] >= 0) & (out["p_adj"] <= 1)).all()
    assert ((out["ci_low"] <= out["meandiff"]) & (out["meandiff"] <= out["ci_high"])).all()
    # the interval excludes 0 exactly when the adjusted p-value is below alpha
    clear = (out["p_adj"] - 0.05).abs() > 1e-6
    excludes_zero = (out["ci_low"] > 0) | (out["ci_high"] < 0)
    np.testing.assert_array_equal(excludes_zero[clear], out["reject"][clear])
    # Udio and Suno deviate upwards in valence much more than Mustango
    row = out[(out["axis"] == "valence") & (out["group1"] == "Mustango")
              & (out["group2"] == "Udio")].iloc[0]
    assert row["meandiff"] > 1 and row["reject"]


def test_meandiff_is_group2_minus_group1(aimoclips):
    clips = clip_deviations(aimoclips.clips)
    means = clips.groupby("quadrant")["absdev_arousal"].mean()
    out = tukey_hsd(aimoclips.clips, by="quadrant", measure="abs_deviation", axes="arousal")
    expected = means.loc[out["group2"]].to_numpy() - means.loc[out["group1"]].to_numpy()
    np.testing.assert_allclose(out["meandiff"], expected, rtol=1e-12)


def test_direct_comparison_with_scipy_unequal_sizes():
    rng = np.random.default_rng(5)
    sizes = {"B": 7, "A": 3, "D": 12, "C": 2}
    systems = [s for s, n in sizes.items() for _ in range(n)]
    values = list(rng.normal(5, 1.5, len(systems)) + np.repeat([0.0, 1.0, -0.5, 2.0],
                                                               list(sizes.values())))
    clips = _tiny(values, systems)
    out = tukey_hsd(clips, axes="valence", confidence=0.99)
    dev = clip_deviations(clips)
    groups = list(sizes)
    res = stats.tukey_hsd(*[dev.loc[dev["system"] == g, "dev_valence"] for g in groups])
    ci = res.confidence_interval(confidence_level=0.99)
    i, j = np.triu_indices(len(groups), 1)
    np.testing.assert_allclose(out["meandiff"], res.statistic[j, i], rtol=RTOL)
    np.testing.assert_allclose(out["p_adj"], res.pvalue[i, j], rtol=RTOL)
    np.testing.assert_allclose(out["ci_low"], ci.low[j, i], rtol=RTOL)
    np.testing.assert_allclose(out["ci_high"], ci.high[j, i], rtol=RTOL)


def test_axes_selection(aimoclips):
    out = tukey_hsd(aimoclips.clips, by="quadrant", axes=["arousal"])
    assert out["axis"].unique().tolist() == ["arousal"]
    assert len(out) == 6


def test_input_not_modified(aimoclips):
    clips = aimoclips.clips.copy()
    before = clips.copy()
    tukey_hsd(clips, by="quadrant", measure="abs_deviation")
    pd.testing.assert_frame_equal(clips, before)


# ----------------------------------------------------------------------------- degenerate


def test_single_group_warns_and_returns_empty_table():
    with pytest.warns(DegenerateDataWarning, match="at least 2"):
        out = tukey_hsd(_tiny([3.0, 4.0, 5.0], ["A"] * 3))
    assert list(out.columns) == list(TUKEY_COLUMNS)
    assert len(out) == 0


def test_all_singleton_groups_warn_and_give_nan():
    with pytest.warns(DegenerateDataWarning, match="no within-group degrees of freedom"):
        out = tukey_hsd(_tiny([3.0, 4.0, 5.0], ["A", "B", "C"]), axes="valence")
    assert len(out) == 3
    np.testing.assert_allclose(out["meandiff"], [1.0, 2.0, 1.0])
    assert out[["ci_low", "ci_high", "p_adj"]].isna().all().all()
    assert not out["reject"].any()


def test_zero_within_variance_warns_and_gives_nan():
    clips = _tiny([3.0, 3.0, 5.0, 5.0], ["A", "A", "B", "B"])
    with pytest.warns(DegenerateDataWarning, match="zero within-group variance"):
        out = tukey_hsd(clips, axes="arousal")
    assert out["meandiff"].tolist() == [2.0]
    assert out[["ci_low", "ci_high", "p_adj"]].isna().all().all()


def test_single_clip_group_warns_but_is_compared():
    clips = _tiny([3.0, 3.5, 5.0, 6.0, 4.0], ["A", "A", "B", "B", "C"])
    with pytest.warns(DegenerateDataWarning, match="'C'.*single clip"):
        out = tukey_hsd(clips, axes="valence")
    assert np.isfinite(out[["ci_low", "ci_high", "p_adj"]].to_numpy()).all()


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("by", ["listener", 1, None, "measure"])
def test_bad_by_names_argument(aimoclips, by):
    with pytest.raises(EmoconveyError, match=r"\bby\b"):
        tukey_hsd(aimoclips.clips, by=by)


@pytest.mark.parametrize("measure", ["absolute", "", None])
def test_bad_measure_names_argument(aimoclips, measure):
    with pytest.raises(EmoconveyError, match="measure"):
        tukey_hsd(aimoclips.clips, measure=measure)


@pytest.mark.parametrize("confidence", [0, 1, 1.2, "high"])
def test_bad_confidence_names_argument(aimoclips, confidence):
    with pytest.raises(EmoconveyError, match="confidence"):
        tukey_hsd(aimoclips.clips, confidence=confidence)


def test_bad_axes_names_argument(aimoclips):
    with pytest.raises(EmoconveyError, match="axis|axes"):
        tukey_hsd(aimoclips.clips, axes=("valence", "tension"))


@pytest.mark.parametrize("column", ["valence", "norm_valence", "quadrant", "intent"])
def test_missing_column_is_named(aimoclips, column):
    with pytest.raises(DataValidationError, match=repr(column)):
        tukey_hsd(aimoclips.clips.drop(columns=[column]))


def test_missing_group_label_names_row(aimoclips):
    clips = aimoclips.clips.copy()
    clips.loc[10, "system"] = None
    with pytest.raises(DataValidationError, match=r"line 12, column 'system'"):
        tukey_hsd(clips)


def test_matches_statsmodels_pairwise_tukeyhsd(aimoclips):
    from statsmodels.stats.multicomp import pairwise_tukeyhsd

    ours = tukey_hsd(aimoclips.clips, by="system", measure="deviation", axes="arousal")
    dev = clip_deviations(aimoclips.clips)
    order = list(pd.unique(dev["system"]))
    codes = dev["system"].map({s: i for i, s in enumerate(order)}).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pairwise_tukeyhsd(dev["dev_arousal"].to_numpy(), codes, alpha=0.05)
    np.testing.assert_allclose(ours["meandiff"], ref.meandiffs, rtol=1e-12)
    np.testing.assert_allclose(ours["ci_low"], ref.confint[:, 0], rtol=1e-9)
    np.testing.assert_allclose(ours["ci_high"], ref.confint[:, 1], rtol=1e-9)
    np.testing.assert_allclose(ours["p_adj"], ref.pvalues, rtol=1e-7, atol=1e-12)


def test_large_residual_df_uses_infinite_df_like_r():
    from emoconvey.analysis.posthoc import LARGE_DF, studentized_range_df

    assert studentized_range_df(LARGE_DF) == LARGE_DF
    assert studentized_range_df(LARGE_DF + 1) == np.inf
    rng = np.random.default_rng(7)
    n = 3 * 9_000  # 3 groups, residual df 26,997 > 25,000
    clips = pd.DataFrame(
        {
            "clip": [f"c{i}" for i in range(n)],
            "system": np.repeat(["A", "B", "C"], n // 3),
            "intent": "calm",
            "quadrant": "hv_la",
            "valence": rng.normal(5, 1, n) + np.repeat([0.0, 0.02, 0.05], n // 3),
            "arousal": rng.normal(3, 1, n),
            "norm_valence": 6.89,
            "norm_arousal": 1.67,
        }
    )
    out = tukey_hsd(clips, axes="valence")
    dev = clips["valence"] - 6.89
    groups = [dev[clips["system"] == g].to_numpy() for g in "ABC"]
    means = [g.mean() for g in groups]
    mse = sum(((g - g.mean()) ** 2).sum() for g in groups) / (n - 3)
    se = np.sqrt(mse / 2 * (2 / (n // 3)))
    q = np.abs([means[1] - means[0], means[2] - means[0], means[2] - means[1]]) / se
    expected_p = stats.studentized_range.sf(q, 3, np.inf)
    np.testing.assert_allclose(out["p_adj"], expected_p, rtol=1e-9)
    q_crit = stats.studentized_range.ppf(0.95, 3, np.inf)
    np.testing.assert_allclose(out["ci_high"] - out["meandiff"], q_crit * se, rtol=1e-9)
    # and the convention costs less than 1e-4 in p against the exact finite-df value
    exact = stats.studentized_range.sf(q, 3, n - 3)
    assert np.max(np.abs(exact - expected_p)) < 1e-4


# ----------------------------------------------------------- intent-adjusted model

ADJ = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "posthoc_adjusted.json").read_text()
)


@pytest.mark.parametrize("axis", ["valence", "arousal"])
def test_adjusted_matches_r_lm_emmeans_tukey(aimoclips, axis):
    out = tukey_hsd(aimoclips.clips, by="system", adjust_for="intent", axes=axis)
    ref = pd.DataFrame(ADJ["axes"][axis]["pairs"])
    ours = {(r["group1"], r["group2"]): r for _, r in out.iterrows()}
    for _, r in ref.iterrows():
        if (r["group1"], r["group2"]) in ours:
            row = ours[(r["group1"], r["group2"])]
            diff, low, high = row["meandiff"], row["ci_low"], row["ci_high"]
        else:  # our pair is the other way round
            row = ours[(r["group2"], r["group1"])]
            diff, low, high = -row["meandiff"], -row["ci_high"], -row["ci_low"]
        assert diff == pytest.approx(r["meandiff"], rel=1e-10, abs=1e-12)
        # R's qtukey iterates to a tolerance of about 1e-8 on the critical value
        assert low == pytest.approx(r["ci_low"], abs=1e-7)
        assert high == pytest.approx(r["ci_high"], abs=1e-7)
        # R's ptukey is accurate to about 1e-9 absolute
        assert row["p_adj"] == pytest.approx(r["p_adj"], rel=1e-6, abs=1e-9)
    assert (out["p_adj"] > 0).all()


def test_adjusted_is_narrower_than_oneway(aimoclips):
    one = tukey_hsd(aimoclips.clips, by="system")
    adj = tukey_hsd(aimoclips.clips, by="system", adjust_for="intent")
    width_one = (one["ci_high"] - one["ci_low"]).mean()
    width_adj = (adj["ci_high"] - adj["ci_low"]).mean()
    assert width_adj < 0.8 * width_one


def test_adjust_for_errors(aimoclips):
    with pytest.raises(EmoconveyError, match="adjust_for"):
        tukey_hsd(aimoclips.clips, by="system", adjust_for="system")
    with pytest.raises(DataValidationError, match="adjust_for"):
        tukey_hsd(aimoclips.clips, by="system", adjust_for="no_such_column")


def test_oneway_p_values_are_never_zero(aimoclips):
    out = tukey_hsd(aimoclips.clips, by="system")
    assert (out["p_adj"] > 0).all()


def test_one_residual_degree_of_freedom_warns_and_gives_nan():
    """Degenerate but legal (a tiny study under the default adjusted model): NaN and a
    warning, never the studentized range's df error."""
    clips = _tiny([6.0, 3.0, 7.0, 2.5, 5.0], ["A", "A", "B", "B", "C"])
    clips["intent"] = ["happy", "sad", "happy", "sad", "happy"]
    with pytest.warns(DegenerateDataWarning, match="1 residual degree"):
        out = tukey_hsd(clips, by="system", adjust_for="intent", axes="valence")
    assert out["p_adj"].isna().all() and len(out) == 3
