"""Tests of emoconvey.analysis.summary against pandas-computed reference values."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emoconvey.analysis.summary import (
    DATASET_SUMMARY_COLUMNS,
    SYSTEM_SUMMARY_COLUMNS,
    dataset_summary,
    ratings_per_clip,
    system_summary,
)
from emoconvey.errors import DataValidationError, EmoconveyError

REF = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "core_stats.json").read_text()
)
RTOL = 1e-12


@pytest.fixture(scope="module")
def synthetic_ratings_ref() -> pd.DataFrame:
    return pd.DataFrame(REF["synthetic"]["ratings"])


def _studies(aimoclips, synthetic_ratings_ref):
    return {
        "aimoclips": aimoclips.ratings,
        "synthetic": synthetic_ratings_ref,
    }


@pytest.fixture(params=["aimoclips", "synthetic"])
def study(request, aimoclips, synthetic_ratings_ref) -> tuple[pd.DataFrame, dict]:
    ratings = _studies(aimoclips, synthetic_ratings_ref)[request.param]
    return ratings, REF[request.param]["summary"]


# ----------------------------------------------------------------------------- happy path


def test_ratings_per_clip_real_data(aimoclips):
    out = ratings_per_clip(aimoclips.ratings)
    assert list(out.columns) == ["n_ratings", "clips"]
    assert out["n_ratings"].tolist() == sorted(out["n_ratings"].tolist())
    assert out["n_ratings"].min() == 4 and out["n_ratings"].max() == 9
    assert out["clips"].sum() == 991
    assert (out["n_ratings"] * out["clips"]).sum() == 6162
    assert out["n_ratings"].dtype == np.int64 and out["clips"].dtype == np.int64


def test_ratings_per_clip_matches_reference(study):
    ratings, ref = study
    expected = pd.DataFrame(ref["ratings_per_clip"]).loc[:, ["n_ratings", "clips"]]
    pd.testing.assert_frame_equal(ratings_per_clip(ratings), expected, check_dtype=False)


def test_dataset_summary_real_data(aimoclips):
    out = dataset_summary(aimoclips.ratings, excluded=aimoclips.excluded)
    assert list(out.columns) == list(DATASET_SUMMARY_COLUMNS)
    assert len(out) == 1
    row = out.iloc[0]
    assert row["clips"] == 991
    assert row["ratings"] == 6162
    assert row["listeners"] == 111
    assert row["systems"] == 6
    assert row["intents"] == 12
    assert row["excluded_clips"] == 0
    assert (row["ratings_per_clip_min"], row["ratings_per_clip_max"]) == (4, 9)
    ints = [c for c in DATASET_SUMMARY_COLUMNS if not c.endswith(("median", "mean"))]
    assert all(out[c].dtype == np.int64 for c in ints)
    assert all(out[c].dtype == np.float64 for c in DATASET_SUMMARY_COLUMNS if c not in ints)


def test_dataset_summary_matches_reference(study):
    ratings, ref = study
    out = dataset_summary(ratings).iloc[0]
    for key, value in ref["dataset"].items():
        np.testing.assert_allclose(out[key], value, rtol=RTOL, err_msg=key)
    assert out["excluded_clips"] == 0


def test_dataset_summary_counts_excluded_clips(aimoclips):
    excluded = pd.DataFrame(
        {"clip": ["x.wav", "y.wav", "y.wav"], "system": "S", "intent": "sad",
         "n_ratings": [1, 2, 2], "reason": "few"}
    )
    assert dataset_summary(aimoclips.ratings, excluded=excluded)["excluded_clips"].item() == 2
    empty = aimoclips.excluded.iloc[0:0]
    assert dataset_summary(aimoclips.ratings, excluded=empty)["excluded_clips"].item() == 0


def test_dataset_summary_with_real_exclusions():
    from emoconvey.data import load_aimoclips

    data = load_aimoclips(min_ratings=6)
    out = dataset_summary(data.ratings, excluded=data.excluded).iloc[0]
    assert out["excluded_clips"] == len(data.excluded) > 0
    assert out["clips"] + out["excluded_clips"] == 991
    assert out["ratings_per_clip_min"] == 6


def test_system_summary_real_data(aimoclips):
    out = system_summary(aimoclips.ratings)
    assert list(out.columns) == list(SYSTEM_SUMMARY_COLUMNS)
    assert out["system"].tolist() == list(pd.unique(aimoclips.ratings["system"]))
    assert out["clips"].sum() == 991
    assert out["ratings"].sum() == 6162
    assert (out["listeners"] <= 111).all()
    np.testing.assert_allclose(out["ratings_per_clip_mean"], out["ratings"] / out["clips"])
    for col in ("clips", "ratings", "listeners"):
        assert out[col].dtype == np.int64


def test_system_summary_matches_reference(study):
    ratings, ref = study
    expected = pd.DataFrame(ref["systems"]).loc[:, list(SYSTEM_SUMMARY_COLUMNS)]
    out = system_summary(ratings)
    assert out["system"].tolist() == expected["system"].tolist()
    for col in SYSTEM_SUMMARY_COLUMNS[1:]:
        np.testing.assert_allclose(out[col], expected[col], rtol=RTOL, err_msg=col)


def test_system_order_is_first_appearance():
    ratings = pd.DataFrame(
        {"listener": ["a", "b", "a", "c"], "clip": ["z1", "m1", "z2", "z1"],
         "system": ["Zed", "Mid", "Zed", "Zed"], "intent": ["sad"] * 4}
    )
    out = system_summary(ratings)
    assert out["system"].tolist() == ["Zed", "Mid"]
    assert out["clips"].tolist() == [2, 1]
    assert out["ratings"].tolist() == [3, 1]
    assert out["listeners"].tolist() == [2, 1]
    assert out["ratings_per_clip_mean"].tolist() == [1.5, 1.0]


@pytest.mark.parametrize("func", [ratings_per_clip, dataset_summary, system_summary])
def test_input_not_modified(func, aimoclips):
    ratings = aimoclips.ratings.copy()
    before = ratings.copy()
    func(ratings)
    pd.testing.assert_frame_equal(ratings, before)


def test_scale_one_million_ratings():
    rng = np.random.default_rng(0)
    n = 1_000_000
    clip = rng.integers(0, 100_000, n)
    ratings = pd.DataFrame(
        {
            "listener": "L" + pd.Series(rng.integers(0, 5_000, n)).astype(str),
            "clip": "c" + pd.Series(clip).astype(str),
            "system": "S" + pd.Series(clip % 20).astype(str),
            "intent": "I" + pd.Series(clip % 40).astype(str),
        }
    )
    start = time.perf_counter()
    summary = dataset_summary(ratings)
    systems = system_summary(ratings)
    dist = ratings_per_clip(ratings)
    elapsed = time.perf_counter() - start
    assert summary["ratings"].item() == n
    assert systems["ratings"].sum() == n
    assert (dist["n_ratings"] * dist["clips"]).sum() == n
    assert elapsed < 20, f"summaries of 10^6 ratings took {elapsed:.1f} s"


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("func", "column"),
    [
        (ratings_per_clip, "clip"),
        (dataset_summary, "listener"),
        (dataset_summary, "intent"),
        (system_summary, "system"),
        (system_summary, "listener"),
    ],
)
def test_missing_column_is_named(func, column, aimoclips):
    ratings = aimoclips.ratings.drop(columns=[column])
    with pytest.raises(DataValidationError, match=repr(column)):
        func(ratings)


@pytest.mark.parametrize("func", [ratings_per_clip, dataset_summary, system_summary])
def test_empty_table_is_rejected(func, aimoclips):
    with pytest.raises(DataValidationError, match="at least 1 data row"):
        func(aimoclips.ratings.iloc[0:0])


@pytest.mark.parametrize("func", [ratings_per_clip, dataset_summary, system_summary])
def test_not_a_dataframe(func):
    with pytest.raises(EmoconveyError, match="DataFrame"):
        func([{"clip": "a"}])


def test_missing_label_names_row_and_column(aimoclips):
    ratings = aimoclips.ratings.copy()
    ratings.loc[3, "clip"] = None
    with pytest.raises(DataValidationError, match=r"line 5, column 'clip'"):
        ratings_per_clip(ratings)
    ratings = aimoclips.ratings.copy()
    ratings.loc[0, "listener"] = np.nan
    with pytest.raises(DataValidationError, match=r"line 2, column 'listener'"):
        dataset_summary(ratings)


def test_excluded_must_have_clip_column(aimoclips):
    with pytest.raises(DataValidationError, match=r"excluded.*'clip'"):
        dataset_summary(aimoclips.ratings, excluded=pd.DataFrame({"name": ["a"]}))
    with pytest.raises(EmoconveyError, match="excluded"):
        dataset_summary(aimoclips.ratings, excluded=["a.wav"])  # type: ignore[arg-type]
