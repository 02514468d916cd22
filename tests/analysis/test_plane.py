"""Tests of emoconvey.analysis.plane (va_plane, ellipse geometry)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from emoconvey._validation import QUADRANTS
from emoconvey.analysis.plane import (
    VA_PLANE_COLUMNS,
    covariance_ellipse,
    ellipse_contains,
    ellipse_points,
    va_plane,
)
from emoconvey.data import load_dataset
from emoconvey.errors import DataValidationError, DegenerateDataWarning, EmoconveyError

REF_FILE = Path(__file__).resolve().parents[1] / "reference" / "plane_agreement.json"
REF = json.loads(REF_FILE.read_text(encoding="utf-8"))
NUMERIC = [c for c in VA_PLANE_COLUMNS if c not in ("system", "quadrant", "ellipse_angle")]


def synthetic_dataset():
    df = pd.DataFrame(REF["synthetic"]["ratings"])
    return load_dataset(df[["listener", "clip", "valence", "arousal"]], min_ratings=1)


def _wrap(deg: np.ndarray) -> np.ndarray:
    return (np.asarray(deg, dtype=float) + 90.0) % 180.0 - 90.0


def _frame(valence, arousal, *, system="S", quadrant="hv_ha") -> pd.DataFrame:
    v = np.asarray(valence, dtype=float)
    return pd.DataFrame(
        {
            "system": system,
            "quadrant": quadrant,
            "valence": v,
            "arousal": np.asarray(arousal, dtype=float),
            "norm_valence": 8.0,
            "norm_arousal": 6.0,
        }
    )


# ----------------------------------------------------------------------------- happy path


def test_columns_rows_and_order(aimoclips):
    plane = va_plane(aimoclips.clips)
    assert tuple(plane.columns) == VA_PLANE_COLUMNS
    assert len(plane) == 6 * 4
    assert plane["n"].sum() == len(aimoclips.clips)
    assert list(pd.unique(plane["system"])) == aimoclips.systems
    for _, g in plane.groupby("system", sort=False):
        assert list(g["quadrant"]) == list(QUADRANTS)
    assert plane["n"].dtype == np.int64
    assert (plane["ellipse_width"] >= plane["ellipse_height"]).all()
    assert plane["ellipse_angle"].between(-90, 90, inclusive="right").all()


@pytest.mark.parametrize("which", ["aimoclips", "synthetic"])
def test_matches_independent_reference(aimoclips, which):
    clips = aimoclips.clips if which == "aimoclips" else synthetic_dataset().clips
    got = va_plane(clips)
    ref = pd.DataFrame(REF[which]["va_plane"])
    merged = got.merge(ref, on=["system", "quadrant"], how="outer", suffixes=("", "_ref"),
                       validate="one_to_one", indicator=True)
    assert (merged["_merge"] == "both").all()
    for col in NUMERIC:
        np.testing.assert_allclose(merged[col], merged[f"{col}_ref"], rtol=1e-9, atol=1e-12,
                                   err_msg=col)
    diff = _wrap(merged["ellipse_angle"] - merged["ellipse_angle_ref"])
    np.testing.assert_allclose(diff, 0.0, atol=1e-8)


def test_does_not_modify_input(aimoclips):
    clips = aimoclips.clips
    before = clips.copy(deep=True)
    va_plane(clips)
    pd.testing.assert_frame_equal(clips, before)


def test_norm_centroid_is_mean_of_clip_norms():
    clips = pd.concat(
        [_frame([6, 7, 8], [6, 7, 6]), _frame([6, 7], [6, 8]).assign(norm_valence=9.0)],
        ignore_index=True,
    )
    plane = va_plane(clips)
    assert len(plane) == 1
    assert plane.loc[0, "n"] == 5
    assert plane.loc[0, "norm_valence"] == pytest.approx((3 * 8.0 + 2 * 9.0) / 5)
    assert plane.loc[0, "mean_arousal"] == pytest.approx(33 / 5)


# ----------------------------------------------------------------------------- geometry


@pytest.mark.parametrize("confidence", [0.95, 0.5, 0.99])
def test_ellipse_contains_expected_share_of_bivariate_normal(confidence):
    rng = np.random.default_rng(7)
    cov = np.array([[1.6, -0.9], [-0.9, 1.1]])
    pts = rng.multivariate_normal([5.0, 4.0], cov, size=200_000)
    plane = va_plane(_frame(pts[:, 0], pts[:, 1]), confidence=confidence)
    row = plane.iloc[0]
    # independent containment check: rotate into the ellipse frame by hand
    theta = np.radians(row["ellipse_angle"])
    d = pts - [row["mean_valence"], row["mean_arousal"]]
    u = d[:, 0] * np.cos(theta) + d[:, 1] * np.sin(theta)
    w = -d[:, 0] * np.sin(theta) + d[:, 1] * np.cos(theta)
    inside = (u / (row["ellipse_width"] / 2)) ** 2 + (w / (row["ellipse_height"] / 2)) ** 2 <= 1
    # binomial SD of the share is about 0.001 at n = 200 000
    assert inside.mean() == pytest.approx(confidence, abs=0.005)
    np.testing.assert_array_equal(ellipse_contains(row, pts[:, 0], pts[:, 1]), inside)


def test_boundary_points_have_mahalanobis_distance_chi2_quantile(aimoclips):
    q = stats.chi2.ppf(0.95, 2)
    for _, row in va_plane(aimoclips.clips).iterrows():
        cov = np.array([[row["cov_vv"], row["cov_va"]], [row["cov_va"], row["cov_aa"]]])
        pts = ellipse_points(row, n=50)
        assert pts.shape == (50, 2)
        d = pts - [row["mean_valence"], row["mean_arousal"]]
        maha = np.einsum("ij,jk,ik->i", d, np.linalg.inv(cov), d)
        np.testing.assert_allclose(maha, q, rtol=1e-9)
        np.testing.assert_allclose(pts[0], pts[-1], atol=1e-12)  # closed curve


def test_axis_aligned_and_diagonal_angles():
    w, h, a = covariance_ellipse([4.0, 1.0, 2.0, 2.0], [1.0, 4.0, 2.0, 2.0],
                                 [0.0, 0.0, 1.0, -1.0])
    q = stats.chi2.ppf(0.95, 2)
    np.testing.assert_allclose(w, [2 * np.sqrt(4 * q), 2 * np.sqrt(4 * q),
                                   2 * np.sqrt(3 * q), 2 * np.sqrt(3 * q)])
    np.testing.assert_allclose(h, [2 * np.sqrt(q), 2 * np.sqrt(q), 2 * np.sqrt(q),
                                   2 * np.sqrt(q)])
    np.testing.assert_allclose(a, [0.0, 90.0, 45.0, -45.0], atol=1e-12)


def test_confidence_scales_axes_by_chi2_ratio(aimoclips):
    p95 = va_plane(aimoclips.clips)
    p50 = va_plane(aimoclips.clips, confidence=0.5)
    ratio = np.sqrt(stats.chi2.ppf(0.95, 2) / stats.chi2.ppf(0.5, 2))
    np.testing.assert_allclose(p95["ellipse_width"] / p50["ellipse_width"], ratio)
    np.testing.assert_allclose(p95["ellipse_height"] / p50["ellipse_height"], ratio)
    np.testing.assert_allclose(p95["ellipse_angle"], p50["ellipse_angle"])
    # 0.95 gives the classic 5.991 quantile
    assert stats.chi2.ppf(0.95, 2) == pytest.approx(5.991, abs=5e-4)


def test_ellipse_points_accepts_tuple_and_mapping():
    tup = ellipse_points((5.0, 5.0, 4.0, 2.0, 0.0), n=5)
    np.testing.assert_allclose(tup[:, 0], [7.0, 5.0, 3.0, 5.0, 7.0], atol=1e-12)
    np.testing.assert_allclose(tup[:, 1], [5.0, 6.0, 5.0, 4.0, 5.0], atol=1e-12)
    mapping = {"mean_valence": 5.0, "mean_arousal": 5.0, "ellipse_width": 4.0,
               "ellipse_height": 2.0, "ellipse_angle": 90.0}
    rot = ellipse_points(mapping, n=5)
    np.testing.assert_allclose(rot[0], [5.0, 7.0], atol=1e-12)


def test_ellipse_points_nan_row_gives_nan():
    assert np.isnan(ellipse_points((5, 5, np.nan, np.nan, np.nan))).all()


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ((1.0, 2.0, 3.0), "5 numbers"),
        ({"mean_valence": 5.0}, "ellipse_width"),
        ("abc", "row_or_params"),
        ((5, 5, -1.0, 1.0, 0.0), "non-negative"),
        ((5, 5, "x", 1.0, 0.0), "numbers"),
    ],
)
def test_ellipse_points_bad_params(params, match):
    with pytest.raises(EmoconveyError, match=match):
        ellipse_points(params)


@pytest.mark.parametrize("n", [1, 0, 2.5, True])
def test_ellipse_points_bad_n(n):
    with pytest.raises(EmoconveyError, match="n: expected an integer"):
        ellipse_points((5, 5, 2, 1, 0), n=n)


def test_ellipse_contains_shape_mismatch():
    with pytest.raises(EmoconveyError, match="same shape"):
        ellipse_contains((5, 5, 2, 1, 0), [1, 2], [1])


# ----------------------------------------------------------------------------- degenerate


def test_fewer_than_three_clips_warns_and_gives_nan_ellipse():
    clips = pd.concat([_frame([6, 7], [6, 8]), _frame([6], [6], system="T")],
                      ignore_index=True)
    with pytest.warns(DegenerateDataWarning, match="fewer than 3 clips.*S/hv_ha"):
        plane = va_plane(clips)
    assert plane[["ellipse_width", "ellipse_height", "ellipse_angle"]].isna().all().all()
    s = plane.set_index("system")
    assert s.loc["S", "cov_vv"] == pytest.approx(0.5)  # covariance exists at n = 2
    assert np.isnan(s.loc["T", "cov_vv"])  # ... but not at n = 1
    assert s.loc["T", "mean_valence"] == 6.0
    assert not ellipse_contains(plane.iloc[0], [6.5], [7.0]).any()


def test_collinear_clips_warn_zero_height():
    clips = _frame([5, 6, 7, 8], [4, 5, 6, 7])
    with pytest.warns(DegenerateDataWarning, match="collinear"):
        plane = va_plane(clips)
    assert plane.loc[0, "ellipse_height"] == pytest.approx(0.0, abs=1e-7)
    assert plane.loc[0, "ellipse_angle"] == pytest.approx(45.0)


def test_identical_clips_warn():
    with pytest.warns(DegenerateDataWarning, match="collinear or identical"):
        plane = va_plane(_frame([6, 6, 6], [7, 7, 7]))
    assert plane.loc[0, "ellipse_width"] == 0.0


def test_no_warning_on_real_data(aimoclips):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        va_plane(aimoclips.clips)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("column", ["system", "quadrant", "valence", "norm_arousal"])
def test_missing_column_is_named(aimoclips, column):
    with pytest.raises(DataValidationError, match=repr(column)):
        va_plane(aimoclips.clips.drop(columns=column))


@pytest.mark.parametrize("confidence", [0, 1, 1.5, -0.1, "0.95", None])
def test_bad_confidence(aimoclips, confidence):
    with pytest.raises(EmoconveyError, match="confidence"):
        va_plane(aimoclips.clips, confidence=confidence)


def test_unknown_quadrant_is_named():
    clips = _frame([6, 7, 8], [6, 7, 6])
    clips.loc[1, "quadrant"] = "up"
    with pytest.raises(DataValidationError, match="quadrant.*'up'"):
        va_plane(clips)


def test_missing_system_value():
    clips = _frame([6, 7, 8], [6, 7, 6])
    clips.loc[2, "system"] = None
    with pytest.raises(DataValidationError, match="system"):
        va_plane(clips)


def test_non_numeric_rating():
    clips = _frame([6, 7, 8], [6, 7, 6])
    clips["valence"] = clips["valence"].astype(object)
    clips.loc[0, "valence"] = "high"
    with pytest.raises(DataValidationError, match="valence"):
        va_plane(clips)


def test_empty_and_not_a_frame():
    with pytest.raises(DataValidationError, match="at least 1"):
        va_plane(_frame([], []))
    with pytest.raises(EmoconveyError, match="DataFrame"):
        va_plane([1, 2, 3])  # type: ignore[arg-type]
