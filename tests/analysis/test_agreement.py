"""Tests of emoconvey.analysis.agreement (Krippendorff's alpha, listener z-scores)."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest

from emoconvey.analysis.agreement import (
    ALPHA_COLUMNS,
    RANK_AGREEMENT_COLUMNS,
    RATER_ANOVA_COLUMNS,
    RATER_CLIP_COLUMNS,
    krippendorff_alpha,
    rater_normalised_anova,
    rater_normalised_clips,
    zscore_rank_agreement,
    zscore_ratings,
)
from emoconvey.data import load_dataset
from emoconvey.errors import DataValidationError, DegenerateDataWarning, EmoconveyError

REF_FILE = Path(__file__).resolve().parents[1] / "reference" / "plane_agreement.json"
REF = json.loads(REF_FILE.read_text(encoding="utf-8"))
RTOL = 1e-9


def synthetic_dataset():
    df = pd.DataFrame(REF["synthetic"]["ratings"])
    return load_dataset(df[["listener", "clip", "valence", "arousal"]], min_ratings=1)


def _ratings(which: str, aimoclips) -> pd.DataFrame:
    return aimoclips.ratings if which == "aimoclips" else synthetic_dataset().ratings


def _compare(got: pd.DataFrame, ref_records: list[dict], keys: list[str], cols: list[str],
             *, exact: tuple[str, ...] = ()) -> None:
    ref = pd.DataFrame(ref_records)
    merged = got.merge(ref, on=keys, how="outer", suffixes=("", "_ref"), validate="one_to_one",
                       indicator=True)
    assert (merged["_merge"] == "both").all()
    for col in exact:
        np.testing.assert_array_equal(merged[col], merged[f"{col}_ref"], err_msg=col)
    for col in cols:
        np.testing.assert_allclose(merged[col], merged[f"{col}_ref"], rtol=RTOL, atol=1e-12,
                                   err_msg=col)


def _long(matrix: np.ndarray) -> pd.DataFrame:
    """Long ratings from a (listeners x clips) matrix with NaN for 'not rated'."""
    rows = [
        (f"L{i}", f"c{j}", matrix[i, j], matrix[i, j])
        for i in range(matrix.shape[0])
        for j in range(matrix.shape[1])
        if not np.isnan(matrix[i, j])
    ]
    return pd.DataFrame(rows, columns=["listener", "clip", "valence", "arousal"])


# ----------------------------------------------------------------------------- alpha


def test_alpha_columns(aimoclips):
    out = krippendorff_alpha(aimoclips.ratings)
    assert tuple(out.columns) == ALPHA_COLUMNS
    assert list(out["axis"]) == ["valence", "arousal"]
    assert (out["level"] == "interval").all()
    by = krippendorff_alpha(aimoclips.ratings, by="system", axes="arousal")
    assert list(by.columns) == ["system", *ALPHA_COLUMNS]
    assert list(by["system"]) == list(pd.unique(aimoclips.ratings["system"]))
    for col in ("units", "pairable_ratings", "raters"):
        assert by[col].dtype == np.int64


@pytest.mark.parametrize("which", ["aimoclips", "synthetic"])
def test_alpha_matches_krippendorff_package(aimoclips, which):
    ratings = _ratings(which, aimoclips)
    _compare(krippendorff_alpha(ratings), REF[which]["alpha"], ["axis"], ["alpha"],
             exact=("units", "pairable_ratings", "raters"))
    _compare(krippendorff_alpha(ratings, by="system"), REF[which]["alpha_by_system"],
             ["system", "axis"], ["alpha"], exact=("units", "pairable_ratings", "raters"))


def test_synthetic_reference_has_unpairable_clips():
    # guards the point of the synthetic case: single-rating clips exist and are ignored
    ref = REF["synthetic"]
    assert ref["alpha"][0]["units"] < ref["n_clips"]
    assert ref["alpha"][0]["pairable_ratings"] < ref["n_ratings"]


@pytest.mark.parametrize("seed", range(6))
def test_alpha_random_incomplete_designs_match_package(seed):
    rng = np.random.default_rng(seed)
    n_raters, n_units = rng.integers(3, 9), rng.integers(4, 40)
    data = rng.integers(1, 10, size=(n_raters, n_units)).astype(float)
    data[rng.random(data.shape) < 0.5] = np.nan
    ratings = _long(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        got = krippendorff_alpha(ratings, axes="valence").loc[0, "alpha"]
    pairable = (~np.isnan(data)).sum(axis=0) >= 2
    if pairable.sum() >= 2 and np.nanvar(data[:, pairable]) > 0:
        ref = krippendorff.alpha(reliability_data=data, level_of_measurement="interval")
        assert got == pytest.approx(ref, rel=RTOL, abs=1e-12)
    else:
        assert np.isnan(got)


def test_alpha_textbook_example():
    # Krippendorff (2011), Sec. E: 4 coders x 12 units with missing values;
    # the interval alpha of this reliability data is 0.849
    nan = np.nan
    data = np.array(
        [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
            [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
        ]
    )
    out = krippendorff_alpha(_long(data), axes="valence")
    assert out.loc[0, "alpha"] == pytest.approx(0.849, abs=5e-4)
    assert out.loc[0, "units"] == 11  # unit 12 has a single value
    assert out.loc[0, "pairable_ratings"] == 40
    assert out.loc[0, "raters"] == 4


def test_alpha_perfect_agreement_and_single_ratings_ignored():
    data = np.array([[1, 5, 9, 3, 7.0], [1, 5, 9, 3, np.nan], [np.nan, 5, 9, np.nan, np.nan]])
    out = krippendorff_alpha(_long(data))
    assert (out["alpha"] == 1.0).all()
    assert (out["units"] == 4).all()
    assert (out["pairable_ratings"] == 10).all()


def test_alpha_does_not_modify_input(aimoclips):
    ratings = aimoclips.ratings
    before = ratings.copy(deep=True)
    krippendorff_alpha(ratings, by="quadrant")
    pd.testing.assert_frame_equal(ratings, before)


def test_alpha_fewer_than_two_pairable_units_warns_nan():
    data = np.array([[1, 5, 9.0], [2, np.nan, np.nan]])
    with pytest.warns(DegenerateDataWarning, match="fewer than 2 clips"):
        out = krippendorff_alpha(_long(data))
    assert out["alpha"].isna().all()
    assert (out["units"] == 1).all()


def test_alpha_no_pairable_units_at_all():
    data = np.array([[1, np.nan], [np.nan, 5.0]])
    with pytest.warns(DegenerateDataWarning, match="fewer than 2 clips"):
        out = krippendorff_alpha(_long(data))
    assert out["alpha"].isna().all()
    assert (out["units"] == 0).all() and (out["raters"] == 0).all()


def test_alpha_all_equal_warns_nan():
    data = np.full((3, 4), 5.0)
    with pytest.warns(DegenerateDataWarning, match="no expected"):
        out = krippendorff_alpha(_long(data))
    assert out["alpha"].isna().all()


def test_alpha_by_group_with_degenerate_group(aimoclips):
    ratings = aimoclips.ratings
    lone = ratings[ratings["system"] == "Suno"].drop_duplicates("clip").head(5)
    mixed = pd.concat([ratings[ratings["system"] != "Suno"], lone], ignore_index=True)
    with pytest.warns(DegenerateDataWarning, match="system=Suno"):
        out = krippendorff_alpha(mixed, by="system", axes="valence")
    s = out.set_index("system")
    assert np.isnan(s.loc["Suno", "alpha"]) and s.loc["Suno", "units"] == 0
    assert np.isfinite(s.drop(index="Suno")["alpha"]).all()


def test_alpha_no_warning_on_real_data(aimoclips):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        krippendorff_alpha(aimoclips.ratings, by="system")


@pytest.mark.parametrize("by", ["listener", "clip", "model"])
def test_alpha_bad_by(aimoclips, by):
    with pytest.raises(EmoconveyError, match="by"):
        krippendorff_alpha(aimoclips.ratings, by=by)


def test_alpha_by_column_missing(aimoclips):
    with pytest.raises(DataValidationError, match="'intent'"):
        krippendorff_alpha(aimoclips.ratings.drop(columns="intent"), by="intent")


@pytest.mark.parametrize("axes", ["dominance", ("valence", "x")])
def test_alpha_bad_axes(aimoclips, axes):
    with pytest.raises(EmoconveyError, match="axes"):
        krippendorff_alpha(aimoclips.ratings, axes=axes)


@pytest.mark.parametrize("column", ["listener", "clip", "valence"])
def test_alpha_missing_column(aimoclips, column):
    with pytest.raises(DataValidationError, match=repr(column)):
        krippendorff_alpha(aimoclips.ratings.drop(columns=column))


def test_alpha_axis_subset_needs_only_that_column(aimoclips):
    out = krippendorff_alpha(aimoclips.ratings.drop(columns="valence"), axes="arousal")
    assert list(out["axis"]) == ["arousal"]


def test_duplicate_rating_rejected(aimoclips):
    ratings = pd.concat([aimoclips.ratings, aimoclips.ratings.iloc[[3]]], ignore_index=True)
    with pytest.raises(DataValidationError, match="more than once"):
        krippendorff_alpha(ratings)
    with pytest.raises(DataValidationError, match="more than once"):
        zscore_ratings(ratings)


# ----------------------------------------------------------------------------- z-scores


def test_zscore_ratings_columns_and_properties(aimoclips):
    ratings = aimoclips.ratings
    before = ratings.copy(deep=True)
    z = zscore_ratings(ratings)
    pd.testing.assert_frame_equal(ratings, before)
    assert list(z.columns) == [*ratings.columns, "valence_z", "arousal_z"]
    pd.testing.assert_index_equal(z.index, ratings.index)
    stats = z.groupby("listener")[["valence_z", "arousal_z"]].agg(["mean", "std"])
    np.testing.assert_allclose(stats.xs("mean", axis=1, level=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(stats.xs("std", axis=1, level=1), 1.0, rtol=1e-12)


def test_zscore_matches_plain_pandas(aimoclips):
    ratings = aimoclips.ratings
    z = zscore_ratings(ratings)
    for axis in ("valence", "arousal"):
        g = ratings.groupby("listener")[axis]
        ref = (ratings[axis] - g.transform("mean")) / g.transform("std")
        np.testing.assert_allclose(z[f"{axis}_z"], ref, rtol=RTOL)


def test_zscore_degenerate_listeners_warn_and_get_zero():
    ratings = synthetic_dataset().ratings  # L1 always answers 5/5, L99 rated one clip
    with pytest.warns(DegenerateDataWarning) as record:
        z = zscore_ratings(ratings)
    messages = [str(w.message) for w in record]
    assert any("2 listener(s)" in m and "valence_z" in m for m in messages)
    assert any("2 listener(s)" in m and "arousal_z" in m for m in messages)
    flat = z["listener"].isin(["L1", "L99"])
    assert (z.loc[flat, ["valence_z", "arousal_z"]] == 0.0).all().all()
    assert z.loc[~flat, "valence_z"].abs().max() > 0


def test_zscore_single_listener_constant_axis_only():
    ratings = pd.DataFrame(
        {"listener": ["A", "A", "A"], "clip": ["x", "y", "z"], "valence": [3, 5, 7],
         "arousal": [4, 4, 4]}
    )
    with pytest.warns(DegenerateDataWarning, match="1 listener.*constant arousal"):
        z = zscore_ratings(ratings)
    np.testing.assert_allclose(z["valence_z"], [-1.0, 0.0, 1.0])
    assert (z["arousal_z"] == 0.0).all()


@pytest.mark.parametrize("which", ["aimoclips", "synthetic"])
def test_rater_normalised_clips_matches_reference(aimoclips, which):
    ratings = _ratings(which, aimoclips)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        got = rater_normalised_clips(ratings)
    assert tuple(got.columns) == RATER_CLIP_COLUMNS
    assert list(got["clip"]) == list(pd.unique(ratings["clip"]))
    _compare(got, REF[which]["rater_normalised_clips"], ["clip"], ["valence_z", "arousal_z"],
             exact=("n_ratings",))


def test_rater_normalised_clips_keeps_clip_attributes(aimoclips):
    got = rater_normalised_clips(aimoclips.ratings).set_index("clip")
    clips = aimoclips.clips.set_index("clip")
    for col in ("system", "intent", "quadrant", "n_ratings"):
        assert (got[col] == clips.loc[got.index, col]).all(), col


def test_rater_normalised_clips_inconsistent_clip(aimoclips):
    ratings = aimoclips.ratings.copy()
    ratings.loc[5, "system"] = "Other"
    with pytest.raises(DataValidationError, match="one system per clip"):
        rater_normalised_clips(ratings)


@pytest.mark.parametrize("column", ["system", "intent", "quadrant"])
def test_rater_normalised_clips_missing_column(aimoclips, column):
    with pytest.raises(DataValidationError, match=repr(column)):
        rater_normalised_clips(aimoclips.ratings.drop(columns=column))


# ----------------------------------------------------------------------------- ANOVA


@pytest.mark.parametrize("which", ["aimoclips", "synthetic"])
def test_rater_normalised_anova_matches_statsmodels(aimoclips, which):
    pytest.importorskip("emoconvey.analysis.anova")
    ratings = _ratings(which, aimoclips)
    before = ratings.copy(deep=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        got = rater_normalised_anova(ratings)
    pd.testing.assert_frame_equal(ratings, before)
    assert tuple(got.columns) == RATER_ANOVA_COLUMNS
    assert (got["test"] == "system_effect_z").all()
    assert (got["measure"] == "zscore").all()
    assert set(got["axis"]) == {"valence", "arousal"}
    terms = got[got["source"].isin(["system", "intent"])]
    _compare(terms, REF[which]["rater_normalised_anova"], ["axis", "source"],
             ["sum_sq", "df", "df_resid", "F", "p"])


def test_rater_normalised_anova_one_axis(aimoclips):
    pytest.importorskip("emoconvey.analysis.anova")
    got = rater_normalised_anova(aimoclips.ratings, axes="valence")
    assert set(got["axis"]) == {"valence"}
    system = got[got["source"] == "system"].iloc[0]
    assert system["p"] < 1e-10  # the AImoclips system effect survives z-scoring


def test_rater_normalised_anova_bad_axes(aimoclips):
    with pytest.raises(EmoconveyError, match="axes"):
        rater_normalised_anova(aimoclips.ratings, axes="tempo")


# ----------------------------------------------------------------------------- ranking


@pytest.mark.parametrize("which", ["aimoclips", "synthetic"])
def test_zscore_rank_agreement_matches_reference(aimoclips, which):
    ratings = _ratings(which, aimoclips)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        got = zscore_rank_agreement(ratings)
    assert tuple(got.columns) == RANK_AGREEMENT_COLUMNS
    _compare(got, REF[which]["zscore_rank_agreement"], ["axis", "system"],
             ["mean_raw", "mean_z", "spearman_rho"])
    for _, g in got.groupby("axis"):
        assert sorted(g["rank_raw"]) == list(range(1, len(g) + 1))


def test_zscore_rank_agreement_too_few_systems_warns():
    ratings = synthetic_dataset().ratings
    two = ratings[ratings["system"] != "SysC"]
    with pytest.warns(DegenerateDataWarning) as record:  # also L1's z-score fallback
        got = zscore_rank_agreement(two, axes="valence")
    assert any("spearman_rho is NaN" in str(w.message) for w in record)
    assert got["spearman_rho"].isna().all()


# ----------------------------------------------------------------------------- scale


@pytest.mark.slow
def test_million_ratings_in_seconds():
    from emoconvey.analysis.diversity import emotional_diversity
    from emoconvey.analysis.hit_rate import quadrant_hit_rate
    from emoconvey.analysis.neutrality import neutrality_bias
    from emoconvey.analysis.plane import va_plane

    rng = np.random.default_rng(0)
    n_clips, per = 100_000, 10
    quads = np.array(["hv_ha", "lv_ha", "lv_la", "hv_la"])
    intent = rng.integers(0, 40, n_clips)
    system = rng.integers(0, 20, n_clips)
    clip = np.repeat(np.arange(n_clips), per)
    listener = (np.repeat(rng.integers(0, 5000, n_clips), per) + np.tile(np.arange(per),
                                                                          n_clips)) % 5000
    ratings = pd.DataFrame(
        {
            "listener": np.char.add("L", listener.astype(str)),
            "clip": np.char.add("c", clip.astype(str)),
            "system": np.char.add("S", system[clip].astype(str)),
            "intent": np.char.add("i", intent[clip].astype(str)),
            "quadrant": quads[intent[clip] % 4],
            "valence": rng.integers(1, 10, clip.size),
            "arousal": rng.integers(1, 10, clip.size),
        }
    )
    clips = ratings.groupby("clip", sort=False).agg(
        system=("system", "first"), quadrant=("quadrant", "first"),
        intent=("intent", "first"), valence=("valence", "mean"), arousal=("arousal", "mean"),
    ).reset_index()
    clips["norm_valence"] = np.where(clips["quadrant"].str.startswith("hv"), 7.5, 2.5)
    clips["norm_arousal"] = np.where(clips["quadrant"].str.endswith("ha"), 7.0, 3.0)
    start = time.perf_counter()
    zscore_ratings(ratings)
    krippendorff_alpha(ratings)
    krippendorff_alpha(ratings, by="system")
    rater_normalised_clips(ratings)
    va_plane(clips)
    neutrality_bias(clips)
    emotional_diversity(clips)
    quadrant_hit_rate(clips)
    elapsed = time.perf_counter() - start
    assert elapsed < 20.0, f"{elapsed:.1f} s"  # about 4 s on a laptop-class CPU


def test_clip_level_functions_do_not_modify_input(aimoclips):
    ratings = aimoclips.ratings
    before = ratings.copy(deep=True)
    rater_normalised_clips(ratings)
    zscore_rank_agreement(ratings)
    pd.testing.assert_frame_equal(ratings, before)


def test_interval_alpha_core_matches_the_krippendorff_package():
    """The one interval alpha (also behind analysis.mos.krippendorff_alpha_mos)."""
    from emoconvey.analysis.agreement import interval_alpha

    rng = np.random.default_rng(3)
    data = rng.integers(1, 10, size=(6, 30)).astype(float)  # raters x units
    data[rng.random(data.shape) < 0.4] = np.nan
    rater, unit = np.nonzero(~np.isnan(data))
    got = interval_alpha(data[rater, unit], unit)
    ref = krippendorff.alpha(reliability_data=data, level_of_measurement="interval")
    assert got == pytest.approx(ref, rel=1e-10)
    assert np.isnan(interval_alpha(np.full(6, 3.0), np.repeat(np.arange(3), 2)))
    assert interval_alpha(np.array([1.0, 2.0, 4.0]), np.zeros(3, dtype=int)) == pytest.approx(0)
