"""Tests of emoconvey.analysis.descriptive.mean_deviation against reference values
(per-group numpy loop + scipy.stats.t.interval, see scripts/reference/core_stats.py)."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emoconvey._validation import QUADRANTS
from emoconvey.analysis.descriptive import MEAN_DEVIATION_COLUMNS, mean_deviation
from emoconvey.errors import DataValidationError, DegenerateDataWarning, EmoconveyError

REF = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "core_stats.json").read_text()
)
RTOL = 1e-9
STATS = ["n", "mean", "sd", "se", "ci_low", "ci_high"]


@pytest.fixture(scope="module")
def synthetic_clips() -> pd.DataFrame:
    return pd.DataFrame(REF["synthetic"]["clips"])


@pytest.fixture(params=["aimoclips", "synthetic"])
def study(request, aimoclips, synthetic_clips) -> tuple[pd.DataFrame, dict]:
    clips = aimoclips.clips if request.param == "aimoclips" else synthetic_clips
    return clips, REF[request.param]


def _tiny() -> pd.DataFrame:
    """Five clips: system A has 3, B has 2 (with equal deviations), C has 1."""
    return pd.DataFrame(
        {
            "clip": [f"c{i}" for i in range(6)],
            "system": ["A", "B", "A", "C", "B", "A"],
            "intent": ["sad", "sad", "calm", "calm", "calm", "sad"],
            "quadrant": ["lv_la", "lv_la", "hv_la", "hv_la", "hv_la", "lv_la"],
            "valence": [3.0, 4.0, 6.0, 5.0, 8.0, 2.0],
            "arousal": [3.0, 4.0, 2.0, 2.5, 2.67, 4.0],
            "norm_valence": [2.1, 2.1, 6.89, 6.89, 6.89, 2.1],
            "norm_arousal": [3.49, 3.49, 1.67, 1.67, 1.67, 3.49],
        }
    )


# ----------------------------------------------------------------------------- reference


@pytest.mark.parametrize("confidence", [0.95, 0.9])
@pytest.mark.parametrize("by", ["system", "quadrant", "intent"])
@pytest.mark.parametrize("absolute", [False, True])
def test_matches_reference(study, by, absolute, confidence):
    clips, ref = study
    measure = "abs_deviation" if absolute else "deviation"
    expected = pd.DataFrame(
        [
            r
            for r in ref["mean_deviation"]
            if r["by"] == by and r["measure"] == measure and r["confidence"] == confidence
        ]
    )
    out = mean_deviation(clips, by=by, absolute=absolute, confidence=confidence)
    assert list(out.columns) == [by, *MEAN_DEVIATION_COLUMNS]
    assert out[by].tolist() == expected["group"].tolist()
    assert out["axis"].tolist() == expected["axis"].tolist()
    assert (out["measure"] == measure).all()
    assert out["n"].dtype == np.int64
    for col in STATS:
        np.testing.assert_allclose(out[col], expected[col], rtol=RTOL, atol=0, err_msg=col)


def test_group_order(study):
    clips, ref = study
    for by in ("system", "quadrant", "intent"):
        out = mean_deviation(clips, by=by, axes="valence")
        assert out[by].tolist() == ref["group_order"][by]
    quadrants = mean_deviation(clips, by="quadrant", axes="arousal")["quadrant"].tolist()
    assert quadrants == [q for q in QUADRANTS if q in set(clips["quadrant"])]
    systems = mean_deviation(clips, axes="arousal")["system"].tolist()
    assert systems == list(pd.unique(clips["system"]))


# ----------------------------------------------------------------------------- behaviour


def test_real_data_shape_and_counts(aimoclips):
    out = mean_deviation(aimoclips.clips)
    assert len(out) == 12  # 6 systems x 2 axes
    assert out["axis"].tolist() == ["valence"] * 6 + ["arousal"] * 6
    assert out.groupby("axis")["n"].sum().tolist() == [991, 991]
    np.testing.assert_allclose(out["se"], out["sd"] / np.sqrt(out["n"]), rtol=1e-12)
    assert (out["ci_low"] < out["mean"]).all() and (out["mean"] < out["ci_high"]).all()
    np.testing.assert_allclose(out["mean"] - out["ci_low"], out["ci_high"] - out["mean"],
                               rtol=1e-9)


def test_absolute_means_are_at_least_signed(aimoclips):
    signed = mean_deviation(aimoclips.clips, by="quadrant")
    absolute = mean_deviation(aimoclips.clips, by="quadrant", absolute=True)
    assert (absolute["measure"] == "abs_deviation").all()
    assert (absolute["mean"].to_numpy() >= np.abs(signed["mean"].to_numpy())).all()


@pytest.mark.parametrize("axes", ["arousal", ("arousal", "valence"), ["valence"]])
def test_axes_selection_and_order(aimoclips, axes):
    out = mean_deviation(aimoclips.clips, axes=axes)
    wanted = [axes] if isinstance(axes, str) else list(axes)
    assert list(dict.fromkeys(out["axis"])) == wanted


def test_wider_interval_at_higher_confidence(aimoclips):
    lo = mean_deviation(aimoclips.clips, confidence=0.8)
    hi = mean_deviation(aimoclips.clips, confidence=0.99)
    assert ((hi["ci_high"] - hi["ci_low"]) > (lo["ci_high"] - lo["ci_low"])).all()


def test_other_grouping_column(aimoclips):
    clips = aimoclips.clips.assign(batch=np.where(aimoclips.clips["n_ratings"] > 6, "many",
                                                  "few"))
    out = mean_deviation(clips, by="batch", axes="valence")
    assert out.columns[0] == "batch"
    assert out["batch"].tolist() == list(pd.unique(clips["batch"]))
    assert out["n"].sum() == 991


def test_unknown_quadrant_labels_follow_known_ones():
    clips = _tiny()
    clips["quadrant"] = ["zz", "lv_la", "hv_la", "hv_la", "aa", "lv_la"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        out = mean_deviation(clips, by="quadrant", axes="valence")
    assert out["quadrant"].tolist() == ["lv_la", "hv_la", "zz", "aa"]


def test_input_not_modified(aimoclips):
    clips = aimoclips.clips.copy()
    before = clips.copy()
    mean_deviation(clips, by="quadrant", absolute=True)
    pd.testing.assert_frame_equal(clips, before)
    assert "dev_valence" not in clips


def test_scale_hundred_thousand_clips():
    rng = np.random.default_rng(1)
    n = 100_000
    intent = rng.integers(0, 40, n)
    clips = pd.DataFrame(
        {
            "clip": np.arange(n).astype(str),
            "system": "S" + pd.Series(rng.integers(0, 20, n)).astype(str),
            "intent": "I" + pd.Series(intent).astype(str),
            "quadrant": np.array(QUADRANTS)[intent % 4],
            "valence": rng.uniform(1, 9, n),
            "arousal": rng.uniform(1, 9, n),
            "norm_valence": 5.0,
            "norm_arousal": 5.0,
        }
    )
    start = time.perf_counter()
    out = mean_deviation(clips, by="intent")
    elapsed = time.perf_counter() - start
    assert len(out) == 80
    assert elapsed < 5, f"mean_deviation of 10^5 clips took {elapsed:.1f} s"


# ----------------------------------------------------------------------------- degenerate


def test_single_clip_group_warns_and_gives_nan():
    with pytest.warns(DegenerateDataWarning, match="'C'.*single clip"):
        out = mean_deviation(_tiny(), axes="valence")
    row = out.set_index("system").loc["C"]
    assert row["n"] == 1
    assert row["mean"] == pytest.approx(5.0 - 6.89)
    assert np.isnan(row[["sd", "se", "ci_low", "ci_high"]].astype(float)).all()
    others = out[out["system"] != "C"]
    assert np.isfinite(others[["sd", "se", "ci_low", "ci_high"]].to_numpy()).all()


def test_zero_variance_group_is_exact():
    clips = _tiny()
    clips.loc[clips["system"] == "C", "system"] = "A"  # no single-clip group left
    clips.loc[[1, 4], "valence"] = [3.0, 7.79]  # B: both deviate by +0.9
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = mean_deviation(clips, axes="valence")
    row = out.set_index("system").loc["B"]
    assert row["sd"] == pytest.approx(0.0, abs=1e-12)
    assert row["ci_low"] == pytest.approx(row["mean"])
    assert row["ci_high"] == pytest.approx(row["mean"])


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("column", ["system", "norm_valence", "arousal", "clip"])
def test_missing_column_is_named(aimoclips, column):
    with pytest.raises(DataValidationError, match=repr(column)):
        mean_deviation(aimoclips.clips.drop(columns=[column]))


@pytest.mark.parametrize("by", ["speaker", 3, None, "mean", "axis"])
def test_bad_by_names_argument(aimoclips, by):
    with pytest.raises(EmoconveyError, match=r"\bby\b"):
        mean_deviation(aimoclips.clips, by=by)


@pytest.mark.parametrize("absolute", ["yes", 1, None])
def test_bad_absolute_names_argument(aimoclips, absolute):
    with pytest.raises(EmoconveyError, match="absolute"):
        mean_deviation(aimoclips.clips, absolute=absolute)


@pytest.mark.parametrize("axes", ["pleasure", ["valence", "dominance"], []])
def test_bad_axes_names_argument(aimoclips, axes):
    with pytest.raises(EmoconveyError, match="axis|axes"):
        mean_deviation(aimoclips.clips, axes=axes)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95, -0.5, "0.95", None])
def test_bad_confidence_names_argument(aimoclips, confidence):
    with pytest.raises(EmoconveyError, match="confidence"):
        mean_deviation(aimoclips.clips, confidence=confidence)


def test_missing_group_label_names_row_and_column():
    clips = _tiny()
    clips.loc[2, "system"] = None
    with pytest.raises(DataValidationError, match=r"line 4, column 'system'"):
        mean_deviation(clips)


def test_non_numeric_rating_names_row_and_column():
    clips = _tiny()
    clips["valence"] = clips["valence"].astype(object)
    clips.loc[1, "valence"] = "high"
    with pytest.raises(DataValidationError, match=r"line 3, column 'valence'"):
        mean_deviation(clips)
    clips = _tiny()
    clips.loc[0, "norm_arousal"] = np.nan
    with pytest.raises(DataValidationError, match=r"line 2, column 'norm_arousal'"):
        mean_deviation(clips)


def test_empty_or_wrong_type(aimoclips):
    with pytest.raises(DataValidationError, match="at least 1"):
        mean_deviation(aimoclips.clips.iloc[0:0])
    with pytest.raises(EmoconveyError, match="DataFrame"):
        mean_deviation({"clip": []})  # type: ignore[arg-type]
