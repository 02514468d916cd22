"""Tests of emoconvey.analysis.mos, pinned to scripts/reference/mos_stats.py."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emoconvey.analysis.mos import (
    AGREEMENT_COLUMNS,
    CORRELATION_COLUMNS,
    PAIRWISE_COLUMNS,
    SYSTEM_MOS_COLUMNS,
    clip_mos,
    holm_adjust,
    krippendorff_alpha_mos,
    mos_agreement,
    mos_ratings,
    one_way_icc,
    pairwise_mos_tests,
    scale_correlation,
    score_distribution,
    system_mos,
    system_scale_correlation,
)
from emoconvey.errors import DataValidationError, DegenerateDataWarning, EmoconveyError
from musiceval_helpers import make_release

REF = json.loads((Path(__file__).resolve().parents[1] / "reference" / "mos_stats.json").read_text())


@pytest.fixture
def ratings() -> pd.DataFrame:
    return pd.DataFrame(REF["ratings"])


def _ref_frame(key: str, index: list[str]) -> pd.DataFrame:
    return pd.DataFrame(REF[key]).set_index(index)


@pytest.mark.parametrize(
    ("key", "kwargs", "index"),
    [
        ("system_mos", {}, ["system", "scale"]),
        ("system_mos_rating_unit", {"unit": "rating"}, ["system", "scale"]),
        ("system_mos_by_source", {"by": "source"}, ["source", "system", "scale"]),
    ],
)
def test_system_mos_matches_scipy(ratings, key, kwargs, index):
    got = system_mos(ratings, **kwargs)
    assert list(got.columns) == index[:-2] + list(SYSTEM_MOS_COLUMNS)
    got = got.set_index(index)
    ref = _ref_frame(key, index).loc[got.index]
    for col in ("mean", "ci_low", "ci_high"):
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-12)
    np.testing.assert_array_equal(got["rank"], ref["rank"].astype(int))


def test_system_mos_counts(ratings):
    got = system_mos(ratings, scales="TA").set_index("system")
    assert got.loc["S05", "n_clips"] == 12
    assert got.loc["S05", "n_ratings"] == 12 * 5 - 3
    assert got.loc["S02", "n_ratings"] == 11 * 5 + 3
    assert list(system_mos(ratings)["scale"].unique()) == ["MI", "TA"]


def test_system_mos_from_clip_means_equals_from_ratings(ratings):
    cm = clip_mos(ratings)
    a = system_mos(ratings)
    b = system_mos(clips=cm)
    pd.testing.assert_frame_equal(a, b)
    wide = cm.pivot_table(index=["clip_id", "system"], columns="scale", values="mean")
    c = system_mos(clips=wide.reset_index())
    np.testing.assert_allclose(c["mean"], a["mean"])
    assert c["n_ratings"].isna().all()


def test_score_distribution_matches_value_counts(ratings):
    got = score_distribution(ratings)
    ref = pd.DataFrame(REF["distribution"])
    np.testing.assert_array_equal(got["count"], ref["count"])
    assert got.groupby("scale")["proportion"].sum().round(12).eq(1).all()
    per_sys = score_distribution(ratings, by_system=True, scales="MI")
    assert per_sys["count"].sum() == (ratings["scale"] == "MI").sum()
    assert len(per_sys) == 5 * 5


def test_scale_correlation_matches_scipy(ratings):
    got = scale_correlation(ratings).set_index("level")
    assert list(got.reset_index().columns) == list(CORRELATION_COLUMNS)
    for level in ("clip", "system"):
        ref = REF["correlation"][level]
        assert got.loc[level, "n"] == ref["n"]
        for col in ("pearson_r", "pearson_p", "pearson_ci_low", "pearson_ci_high", "spearman_rho"):
            assert got.loc[level, col] == pytest.approx(ref[col], rel=1e-9, abs=1e-12)
    assert got.loc["clip", "spearman_p"] == pytest.approx(
        REF["correlation"]["clip"]["spearman_p"], rel=1e-9
    )


def test_system_scale_correlation(ratings):
    got = system_scale_correlation(ratings)
    assert got["system"].tolist() == ["S01", "S02", "S03", "S04", "S05"]
    assert got["n"].tolist() == [12] * 5
    assert got["pearson_r"].between(-1, 1).all()


@pytest.mark.parametrize("scale", ["MI", "TA"])
def test_alpha_matches_krippendorff_package(ratings, scale):
    ref = REF["agreement"][scale]
    for metric in ("interval", "ordinal"):
        got = krippendorff_alpha_mos(ratings, scale=scale, metric=metric)
        assert got == pytest.approx(ref[f"alpha_{metric}"], rel=1e-10)


@pytest.mark.parametrize("scale", ["MI", "TA"])
def test_icc_matches_pingouin_balanced(ratings, scale):
    part = ratings[ratings["scale"] == scale]
    size = part.groupby("clip_id")["score"].transform("size")
    got = one_way_icc(part[size == 5], scale=scale)
    ref = REF["agreement"][scale]["balanced"]
    assert got["icc1"] == pytest.approx(ref["icc1"], rel=1e-10)
    assert got["icc1k"] == pytest.approx(ref["icc1k"], rel=1e-10)
    # pingouin rounds its intervals to 2 decimals
    assert [round(got["icc1_ci_low"], 2), round(got["icc1_ci_high"], 2)] == ref["icc1_ci"]
    assert [round(got["icc1k_ci_low"], 2), round(got["icc1k_ci_high"], 2)] == ref["icc1k_ci"]
    assert got["k"] == pytest.approx(5.0)


@pytest.mark.parametrize("scale", ["MI", "TA"])
def test_icc_unbalanced_matches_statsmodels_anova(ratings, scale):
    got = one_way_icc(ratings, scale=scale)
    ref = REF["agreement"][scale]["unbalanced"]
    assert got["icc1"] == pytest.approx(ref["icc1"], rel=1e-10)
    assert got["icc1k"] == pytest.approx(ref["icc1k"], rel=1e-10)
    assert got["k"] == pytest.approx(ref["k0"], rel=1e-12)


def test_mos_agreement_table(ratings):
    got = mos_agreement(ratings)
    assert list(got.columns) == list(AGREEMENT_COLUMNS)
    assert got["scale"].tolist() == ["MI", "TA"]
    assert got["n_raters"].tolist() == [14, 14]
    assert got.loc[0, "alpha_ordinal"] == pytest.approx(
        REF["agreement"]["MI"]["alpha_ordinal"], rel=1e-10
    )


def test_pairwise_matches_scipy_and_statsmodels(ratings):
    got = pairwise_mos_tests(ratings)
    assert list(got.columns) == list(PAIRWISE_COLUMNS)
    ref = pd.DataFrame(REF["pairwise"])
    assert len(got) == len(ref) == 2 * 10
    for col in ("t", "df", "p", "p_holm"):
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-9)
    assert got["reject"].equals(got["p_holm"] < 0.05)
    assert (got["diff"] == got["mean_a"] - got["mean_b"]).all()


def test_holm_adjust_hand_computed():
    # p = (0.01, 0.04, 0.03, nan): sorted 0.01*3, 0.03*2, 0.04*1 -> 0.03, 0.06, 0.06
    np.testing.assert_allclose(holm_adjust([0.01, 0.04, 0.03, np.nan]), [0.03, 0.06, 0.06, np.nan])
    assert holm_adjust([]).size == 0


def test_mos_ratings_from_dataset(tmp_path):
    from emoconvey.data.musiceval import load_musiceval

    ds = load_musiceval(make_release(tmp_path / "rel"))
    got = mos_ratings(ds)
    assert got.columns.tolist() == [
        "rater",
        "clip_id",
        "system",
        "prompt_id",
        "source",
        "scale",
        "score",
    ]
    assert got["source"].tolist() == ["manual", "manual", "manual", "MusicCaps"]
    no_ratings = type(ds)(clips=ds.clips, prompts=ds.prompts, system_mos=ds.system_mos)
    with pytest.raises(EmoconveyError, match="no individual ratings"):
        mos_ratings(no_ratings)
    with pytest.raises(EmoconveyError, match="expected a MusicEvalDataset"):
        mos_ratings(ds.clips)


def test_input_errors(ratings):
    with pytest.raises(DataValidationError, match="missing column.*'rater'"):
        system_mos(ratings.drop(columns="rater"))
    bad = ratings.astype({"score": object})
    bad.loc[3, "score"] = "x"
    with pytest.raises(DataValidationError, match=r"line 5, column 'score': expected a finite"):
        system_mos(bad)
    dup = pd.concat([ratings, ratings.iloc[[7]]], ignore_index=True)
    with pytest.raises(DataValidationError, match=f"line {len(dup) + 1}: rater .* twice"):
        system_mos(dup)
    two = ratings.copy()
    two.loc[0, "system"] = "S99"
    with pytest.raises(DataValidationError, match="belongs to more than one system"):
        system_mos(two)
    with pytest.raises(DataValidationError, match="expected at least one rating"):
        system_mos(ratings.iloc[:0])
    with pytest.raises(EmoconveyError, match="scales: \\['XX'\\] not in the ratings"):
        system_mos(ratings, scales="XX")
    with pytest.raises(EmoconveyError, match="unit: expected one of"):
        system_mos(ratings, unit="clips")
    with pytest.raises(EmoconveyError, match="exactly one of ratings= and clips="):
        system_mos()
    with pytest.raises(EmoconveyError, match="unit='rating' needs"):
        system_mos(clips=clip_mos(ratings), unit="rating")
    with pytest.raises(DataValidationError, match="expected a score in"):
        score_distribution(ratings.assign(score=ratings["score"] + 0.5))
    with pytest.raises(EmoconveyError, match="metric: expected one of"):
        krippendorff_alpha_mos(ratings, scale="MI", metric="nominal")
    with pytest.raises(EmoconveyError, match="scale 'XX' not in the data"):
        scale_correlation(ratings, y="XX")
    with pytest.raises(EmoconveyError, match="alpha: expected"):
        pairwise_mos_tests(ratings, alpha=2)
    before = ratings.copy()
    system_mos(ratings)
    pd.testing.assert_frame_equal(ratings, before)


def test_degenerate_inputs_warn(ratings):
    one = ratings[ratings["clip_id"].isin(["me-S01_P001", "me-S02_P001"])]
    with pytest.warns(DegenerateDataWarning, match="fewer than 2 clips"):
        out = system_mos(one)
    assert out["ci_low"].isna().all()
    with pytest.warns(DegenerateDataWarning, match="correlation is NaN"):
        corr = scale_correlation(one)
    assert corr["pearson_r"].isna().all()
    same = ratings.assign(score=3)
    with pytest.warns(DegenerateDataWarning, match="alpha is NaN"):
        assert np.isnan(krippendorff_alpha_mos(same, scale="MI"))
    with pytest.warns(DegenerateDataWarning, match="no within-clip variance"):
        assert np.isnan(one_way_icc(same, scale="MI")["icc1"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        system_mos(ratings)


def test_rater_effects_edges():
    from emoconvey.analysis.mos import RATER_EFFECT_COLUMNS, rater_effects

    ratings = pd.DataFrame({
        "rater": ["a", "b", "a", "b", "c"], "clip_id": ["c1", "c1", "c2", "c2", "c3"],
        "system": "S", "scale": "MI", "score": [5, 3, 4, 4, 2],
    })
    out = rater_effects(ratings)
    assert list(out.columns) == list(RATER_EFFECT_COLUMNS)
    # c3 has one rater: not used; a is 1 above b on average, b 1 below
    assert out.set_index("rater")["effect"].to_dict() == {"a": 1.0, "b": -1.0}
    assert out.set_index("rater")["n_ratings"].to_dict() == {"a": 2, "b": 2}
    with pytest.raises(EmoconveyError):
        rater_effects(ratings, confidence=1.5)
