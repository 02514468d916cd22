"""Tests of emoconvey.analysis.neutrality.neutrality_bias."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emoconvey.analysis.neutrality import NEUTRALITY_COLUMNS, neutrality_bias
from emoconvey.data import load_dataset
from emoconvey.errors import DataValidationError, DegenerateDataWarning, EmoconveyError

REF_FILE = Path(__file__).resolve().parents[1] / "reference" / "plane_agreement.json"
REF = json.loads(REF_FILE.read_text(encoding="utf-8"))
NUMERIC = [c for c in NEUTRALITY_COLUMNS if c not in ("system", "axis")]


def synthetic_dataset():
    df = pd.DataFrame(REF["synthetic"]["ratings"])
    return load_dataset(df[["listener", "clip", "valence", "arousal"]], min_ratings=1)


def _clips(norm_v, rating_v, *, system="S") -> pd.DataFrame:
    nv = np.asarray(norm_v, dtype=float)
    rv = np.asarray(rating_v, dtype=float)
    return pd.DataFrame(
        {"system": system, "valence": rv, "arousal": rv, "norm_valence": nv,
         "norm_arousal": nv}
    )


def test_columns_rows_and_order(aimoclips):
    out = neutrality_bias(aimoclips.clips)
    assert tuple(out.columns) == NEUTRALITY_COLUMNS
    assert len(out) == 12
    assert list(pd.unique(out["system"])) == aimoclips.systems
    assert list(out["axis"][:2]) == ["valence", "arousal"]
    assert out["n"].dtype == np.int64
    np.testing.assert_allclose(out["bias"], out["norm_distance"] - out["rating_distance"])


@pytest.mark.parametrize("which", ["aimoclips", "synthetic"])
def test_matches_independent_reference(aimoclips, which):
    clips = aimoclips.clips if which == "aimoclips" else synthetic_dataset().clips
    got = neutrality_bias(clips)
    ref = pd.DataFrame(REF[which]["neutrality_bias"])
    merged = got.merge(ref, on=["system", "axis"], how="outer", suffixes=("", "_ref"),
                       validate="one_to_one", indicator=True)
    assert (merged["_merge"] == "both").all()
    for col in NUMERIC:
        np.testing.assert_allclose(merged[col], merged[f"{col}_ref"], rtol=1e-9, atol=0,
                                   err_msg=col)


def test_aimoclips_shows_compression_toward_neutral(aimoclips):
    out = neutrality_bias(aimoclips.clips)
    # the AImoclips finding: every system is rated closer to neutral than intended
    assert (out["bias"] > 0).all()
    assert (out["slope"] < 1).all()
    assert (out["slope_ci_high"] < 1).all()
    assert (out["p_slope_lt_1"] < 1e-6).all()


def test_does_not_modify_input(aimoclips):
    clips = aimoclips.clips
    before = clips.copy(deep=True)
    neutrality_bias(clips, axes="arousal", confidence=0.9)
    pd.testing.assert_frame_equal(clips, before)


def test_exact_half_compression():
    norms = np.array([2.0, 3.0, 7.0, 8.0, 2.5, 7.5])
    clips = _clips(norms, 5.0 + 0.5 * (norms - 5.0))
    out = neutrality_bias(clips, axes="valence")
    row = out.iloc[0]
    assert row["slope"] == pytest.approx(0.5)
    assert row["intercept"] == pytest.approx(2.5)
    assert row["r"] == pytest.approx(1.0)
    assert row["ratio"] == pytest.approx(0.5)
    assert row["bias"] == pytest.approx(0.5 * row["norm_distance"])
    assert row["slope_ci_low"] == pytest.approx(0.5, abs=1e-6)
    assert row["p_slope_lt_1"] < 1e-12


def test_faithful_system_is_not_compressed():
    rng = np.random.default_rng(3)
    norms = np.repeat([2.0, 3.0, 7.0, 8.0], 50)
    clips = _clips(norms, norms + rng.normal(0, 0.3, norms.size))
    row = neutrality_bias(clips, axes="valence").iloc[0]
    assert row["slope_ci_low"] < 1 < row["slope_ci_high"]
    assert row["p_slope_lt_1"] > 0.01
    assert row["ratio"] == pytest.approx(1.0, abs=0.05)


def test_axes_subset_needs_only_its_columns(aimoclips):
    clips = aimoclips.clips.drop(columns=["arousal", "norm_arousal"])
    out = neutrality_bias(clips, axes=["valence"])
    assert list(out["axis"].unique()) == ["valence"]
    assert len(out) == 6


def test_confidence_widens_interval(aimoclips):
    a = neutrality_bias(aimoclips.clips, confidence=0.99)
    b = neutrality_bias(aimoclips.clips, confidence=0.8)
    assert (a["slope_ci_high"] - a["slope_ci_low"] > b["slope_ci_high"] - b["slope_ci_low"]).all()
    np.testing.assert_allclose(a["slope"], b["slope"])


# ----------------------------------------------------------------------------- degenerate


def test_single_norm_value_warns_nan_slope():
    clips = pd.concat(
        [_clips([3.0, 3.0, 3.0], [4.0, 5.0, 4.5], system="Flat"),
         _clips([2.0, 8.0, 3.0], [4.0, 6.0, 4.5], system="Ok")],
        ignore_index=True,
    )
    with pytest.warns(DegenerateDataWarning, match="same intent norm.*Flat"):
        out = neutrality_bias(clips, axes="valence")
    flat = out.set_index("system").loc["Flat"]
    for col in ("slope", "slope_ci_low", "slope_ci_high", "intercept", "r", "p_slope_lt_1"):
        assert np.isnan(flat[col]), col
    assert flat["norm_distance"] == pytest.approx(2.0)
    assert flat["rating_distance"] == pytest.approx(0.5)
    assert np.isfinite(out.set_index("system").loc["Ok", "slope"])


def test_two_clips_give_slope_but_no_interval():
    with pytest.warns(DegenerateDataWarning, match="fewer than 3 clips"):
        out = neutrality_bias(_clips([2.0, 8.0], [4.0, 6.0]), axes="valence")
    row = out.iloc[0]
    assert row["slope"] == pytest.approx(1 / 3)
    assert np.isnan(row["slope_ci_low"]) and np.isnan(row["p_slope_lt_1"])


def test_constant_ratings_give_nan_r():
    with pytest.warns(DegenerateDataWarning, match="do not vary"):
        out = neutrality_bias(_clips([2.0, 8.0, 3.0], [5.0, 5.0, 5.0]), axes="valence")
    row = out.iloc[0]
    assert row["slope"] == 0.0
    assert np.isnan(row["r"])
    assert row["rating_distance"] == 0.0


def test_norms_at_centre_give_nan_ratio():
    with pytest.warns(DegenerateDataWarning) as record:
        out = neutrality_bias(_clips([5.0, 5.0, 5.0], [4.0, 6.0, 5.0]), axes="valence")
    assert any("ratio is NaN" in str(w.message) for w in record)
    assert np.isnan(out.loc[0, "ratio"])


def test_no_warning_on_real_data(aimoclips):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        neutrality_bias(aimoclips.clips)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("column", ["system", "valence", "norm_arousal"])
def test_missing_column_is_named(aimoclips, column):
    with pytest.raises(DataValidationError, match=repr(column)):
        neutrality_bias(aimoclips.clips.drop(columns=column))


@pytest.mark.parametrize("axes", ["dominance", ["valence", "pleasure"], []])
def test_bad_axes(aimoclips, axes):
    with pytest.raises(EmoconveyError, match="axes"):
        neutrality_bias(aimoclips.clips, axes=axes)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95])
def test_bad_confidence(aimoclips, confidence):
    with pytest.raises(EmoconveyError, match="confidence"):
        neutrality_bias(aimoclips.clips, confidence=confidence)


def test_non_finite_norm():
    clips = _clips([2.0, np.nan, 3.0], [4.0, 5.0, 4.5])
    with pytest.raises(DataValidationError, match="norm_valence"):
        neutrality_bias(clips)
