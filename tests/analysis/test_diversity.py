"""Tests of emoconvey.analysis.diversity.emotional_diversity."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from emoconvey.analysis.diversity import DIVERSITY_COLUMNS, emotional_diversity
from emoconvey.analysis.plane import va_plane
from emoconvey.data import load_dataset
from emoconvey.errors import DataValidationError, DegenerateDataWarning, EmoconveyError

REF_FILE = Path(__file__).resolve().parents[1] / "reference" / "plane_agreement.json"
REF = json.loads(REF_FILE.read_text(encoding="utf-8"))
NUMERIC = [c for c in DIVERSITY_COLUMNS if c != "system"]


def synthetic_dataset():
    df = pd.DataFrame(REF["synthetic"]["ratings"])
    return load_dataset(df[["listener", "clip", "valence", "arousal"]], min_ratings=1)


def _clips(valence, arousal, *, system="S") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "system": system,
            "valence": np.asarray(valence, dtype=float),
            "arousal": np.asarray(arousal, dtype=float),
            "norm_valence": 7.0,
            "norm_arousal": 3.0,
        }
    )


def test_columns_rows_and_order(aimoclips):
    out = emotional_diversity(aimoclips.clips)
    assert tuple(out.columns) == DIVERSITY_COLUMNS
    assert list(out["system"]) == aimoclips.systems
    assert out["n"].sum() == len(aimoclips.clips)
    assert out["n"].dtype == np.int64


@pytest.mark.parametrize("which", ["aimoclips", "synthetic"])
def test_matches_independent_reference(aimoclips, which):
    clips = aimoclips.clips if which == "aimoclips" else synthetic_dataset().clips
    got = emotional_diversity(clips)
    ref = pd.DataFrame(REF[which]["emotional_diversity"])
    merged = got.merge(ref, on="system", how="outer", suffixes=("", "_ref"),
                       validate="one_to_one", indicator=True)
    assert (merged["_merge"] == "both").all()
    for col in NUMERIC:
        np.testing.assert_allclose(merged[col], merged[f"{col}_ref"], rtol=1e-9, atol=0,
                                   err_msg=col)


def test_aimoclips_clips_spread_less_than_intents(aimoclips):
    out = emotional_diversity(aimoclips.clips)
    assert (out["sd_valence"] < out["norm_sd_valence"]).all()
    assert (out["sd_arousal"] < out["norm_sd_arousal"]).all()


def test_does_not_modify_input(aimoclips):
    clips = aimoclips.clips
    before = clips.copy(deep=True)
    emotional_diversity(clips)
    pd.testing.assert_frame_equal(clips, before)


def test_area_agrees_with_va_plane_ellipse():
    rng = np.random.default_rng(11)
    pts = rng.multivariate_normal([5, 5], [[1.0, 0.4], [0.4, 0.5]], size=40)
    clips = _clips(pts[:, 0], pts[:, 1]).assign(quadrant="hv_la")
    div = emotional_diversity(clips).iloc[0]
    plane = va_plane(clips).iloc[0]
    assert div["ellipse_area"] == pytest.approx(
        np.pi * plane["ellipse_width"] * plane["ellipse_height"] / 4, rel=1e-12
    )
    assert div["plane_spread"] ** 2 == pytest.approx(plane["cov_vv"] + plane["cov_aa"])


def test_spread_is_rms_distance_to_centroid():
    v = np.array([4.0, 6.0, 5.0, 5.0])
    a = np.array([5.0, 5.0, 3.0, 7.0])
    row = emotional_diversity(_clips(v, a)).iloc[0]
    d2 = (v - v.mean()) ** 2 + (a - a.mean()) ** 2
    assert row["plane_spread"] == pytest.approx(np.sqrt(d2.sum() / (len(v) - 1)))
    assert row["iqr_valence"] == pytest.approx(0.5)


def test_confidence_scales_area(aimoclips):
    a95 = emotional_diversity(aimoclips.clips)["ellipse_area"]
    a50 = emotional_diversity(aimoclips.clips, confidence=0.5)["ellipse_area"]
    np.testing.assert_allclose(a95 / a50, stats.chi2.ppf(0.95, 2) / stats.chi2.ppf(0.5, 2))


# ----------------------------------------------------------------------------- degenerate


def test_single_clip_system_warns_nan():
    clips = pd.concat([_clips([5.0], [6.0], system="One"),
                       _clips([4, 6, 5], [5, 5, 7], system="Ok")], ignore_index=True)
    with pytest.warns(DegenerateDataWarning, match="single clip.*One"):
        out = emotional_diversity(clips)
    one = out.set_index("system").loc["One"]
    for col in ("sd_valence", "sd_arousal", "plane_spread", "ellipse_area",
                "norm_sd_valence"):
        assert np.isnan(one[col]), col
    assert one["iqr_valence"] == 0.0
    assert np.isfinite(out.set_index("system").loc["Ok", "ellipse_area"])


def test_two_clip_system_warns_nan_area():
    with pytest.warns(DegenerateDataWarning, match="only 2 clips"):
        out = emotional_diversity(_clips([4.0, 6.0], [5.0, 7.0]))
    assert np.isnan(out.loc[0, "ellipse_area"])
    assert out.loc[0, "sd_valence"] == pytest.approx(np.sqrt(2.0))


def test_constant_axis_warns_zero_sd():
    with pytest.warns(DegenerateDataWarning, match="arousal clip means.*do not vary"):
        out = emotional_diversity(_clips([4.0, 6.0, 5.0], [5.0, 5.0, 5.0]))
    assert out.loc[0, "sd_arousal"] == 0.0
    assert out.loc[0, "ellipse_area"] == 0.0


def test_no_warning_on_real_data(aimoclips):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        emotional_diversity(aimoclips.clips)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("column", ["system", "valence", "arousal", "norm_valence"])
def test_missing_column_is_named(aimoclips, column):
    with pytest.raises(DataValidationError, match=repr(column)):
        emotional_diversity(aimoclips.clips.drop(columns=column))


@pytest.mark.parametrize("confidence", [0, 1, 2])
def test_bad_confidence(aimoclips, confidence):
    with pytest.raises(EmoconveyError, match="confidence"):
        emotional_diversity(aimoclips.clips, confidence=confidence)


def test_infinite_rating():
    with pytest.raises(DataValidationError, match="arousal"):
        emotional_diversity(_clips([4.0, 6.0, 5.0], [5.0, np.inf, 5.0]))
