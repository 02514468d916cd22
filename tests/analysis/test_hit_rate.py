"""Tests of emoconvey.analysis.hit_rate."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from emoconvey._validation import QUADRANTS
from emoconvey.analysis.hit_rate import HIT_RATE_STATS, quadrant_hit_rate, wilson_interval
from emoconvey.data import load_dataset
from emoconvey.errors import DataValidationError, EmoconveyError

REF_FILE = Path(__file__).resolve().parents[1] / "reference" / "plane_agreement.json"
REF = json.loads(REF_FILE.read_text(encoding="utf-8"))


def synthetic_dataset():
    df = pd.DataFrame(REF["synthetic"]["ratings"])
    return load_dataset(df[["listener", "clip", "valence", "arousal"]], min_ratings=1)


def _clips(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["system", "intent", "quadrant", "valence", "arousal"])


@pytest.mark.parametrize(
    ("by", "columns"),
    [
        (("system", "intent"), ["system", "intent", "quadrant"]),
        ("system", ["system"]),
        (["intent"], ["intent", "quadrant"]),
        (("quadrant", "system"), ["quadrant", "system"]),
        (("system", "intent", "quadrant"), ["system", "intent", "quadrant"]),
        (("intent", "system"), ["intent", "system", "quadrant"]),
    ],
)
def test_columns(aimoclips, by, columns):
    out = quadrant_hit_rate(aimoclips.clips, by=by)
    assert list(out.columns) == [*columns, *HIT_RATE_STATS]
    assert out["n"].sum() == len(aimoclips.clips)
    for col in ("n", "hits", "on_split"):
        assert out[col].dtype == np.int64


def test_default_is_system_by_intent_and_ordered(aimoclips):
    out = quadrant_hit_rate(aimoclips.clips)
    assert len(out) == 6 * 12
    assert list(pd.unique(out["system"])) == aimoclips.systems
    by_q = quadrant_hit_rate(aimoclips.clips, by="quadrant")
    assert list(by_q["quadrant"]) == list(QUADRANTS)


@pytest.mark.parametrize("which", ["aimoclips", "synthetic"])
@pytest.mark.parametrize(
    ("key", "by"),
    [("hit_rate_system", ["system"]), ("hit_rate_system_intent", ["system", "intent"]),
     ("hit_rate_quadrant", ["quadrant"])],
)
def test_matches_independent_reference(aimoclips, which, key, by):
    clips = aimoclips.clips if which == "aimoclips" else synthetic_dataset().clips
    got = quadrant_hit_rate(clips, by=by)
    ref = pd.DataFrame(REF[which][key])
    merged = got.merge(ref, on=by, how="outer", suffixes=("", "_ref"), validate="one_to_one",
                       indicator=True)
    assert (merged["_merge"] == "both").all()
    for col in ("n", "hits", "on_split"):
        np.testing.assert_array_equal(merged[col], merged[f"{col}_ref"], err_msg=col)
    for col in ("hit_rate", "ci_low", "ci_high"):
        np.testing.assert_allclose(merged[col], merged[f"{col}_ref"], rtol=1e-9, atol=1e-15,
                                   err_msg=col)


def test_does_not_modify_input(aimoclips):
    clips = aimoclips.clips
    before = clips.copy(deep=True)
    quadrant_hit_rate(clips, by="system")
    pd.testing.assert_frame_equal(clips, before)


def test_mean_on_split_line_is_a_miss():
    clips = _clips(
        [
            ("S", "happy", "hv_ha", 7.0, 6.0),  # hit
            ("S", "happy", "hv_ha", 5.0, 6.0),  # on the valence split: miss
            ("S", "happy", "hv_ha", 7.0, 5.0),  # on the arousal split: miss
            ("S", "happy", "hv_ha", 3.0, 6.0),  # wrong quadrant: miss
            ("S", "happy", "hv_ha", 5.000001, 5.000001),  # just inside: hit
        ]
    )
    row = quadrant_hit_rate(clips).iloc[0]
    assert (row["n"], row["hits"], row["on_split"]) == (5, 2, 2)
    assert row["hit_rate"] == pytest.approx(0.4)
    low, high = proportion_confint(2, 5, method="wilson")
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-12)


def test_wilson_interval_edges_and_reference():
    k = np.arange(0, 21)
    low, high = wilson_interval(k, 20, confidence=0.9)
    ref_low, ref_high = proportion_confint(k, 20, alpha=0.1, method="wilson")
    np.testing.assert_allclose(low, ref_low, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(high, ref_high, rtol=1e-12, atol=1e-15)
    assert low[0] == 0.0 and high[-1] == 1.0
    assert (low <= k / 20).all() and (k / 20 <= high).all()
    with pytest.raises(EmoconveyError, match="hits, n"):
        wilson_interval([3], [2])


def test_confidence_changes_width(aimoclips):
    a = quadrant_hit_rate(aimoclips.clips, by="system", confidence=0.99)
    b = quadrant_hit_rate(aimoclips.clips, by="system", confidence=0.8)
    assert (a["ci_high"] - a["ci_low"] > b["ci_high"] - b["ci_low"]).all()


def test_no_warning_on_real_data(aimoclips):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quadrant_hit_rate(aimoclips.clips)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("by", ["listener", ("system", "clip"), (), ["system", "system"], 3])
def test_bad_by(aimoclips, by):
    with pytest.raises(EmoconveyError, match="by"):
        quadrant_hit_rate(aimoclips.clips, by=by)


@pytest.mark.parametrize("column", ["quadrant", "valence", "arousal", "intent"])
def test_missing_column_is_named(aimoclips, column):
    with pytest.raises(DataValidationError, match=repr(column)):
        quadrant_hit_rate(aimoclips.clips.drop(columns=column))


def test_by_system_needs_no_intent(aimoclips):
    out = quadrant_hit_rate(aimoclips.clips.drop(columns="intent"), by="system")
    assert len(out) == 6


@pytest.mark.parametrize("confidence", [0, 1, "high"])
def test_bad_confidence(aimoclips, confidence):
    with pytest.raises(EmoconveyError, match="confidence"):
        quadrant_hit_rate(aimoclips.clips, confidence=confidence)


def test_unknown_quadrant():
    clips = _clips([("S", "happy", "HVHA", 7.0, 6.0)])
    with pytest.raises(DataValidationError, match="quadrant.*'HVHA'"):
        quadrant_hit_rate(clips)


def test_intent_in_two_quadrants():
    clips = _clips([("S", "happy", "hv_ha", 7.0, 6.0), ("S", "happy", "hv_la", 7.0, 3.0)])
    with pytest.raises(DataValidationError, match="'happy'.*several quadrants"):
        quadrant_hit_rate(clips)
    # fine when the quadrant is itself a grouping column
    assert len(quadrant_hit_rate(clips, by=("intent", "quadrant"))) == 2


def test_nan_mean_rejected():
    clips = _clips([("S", "happy", "hv_ha", np.nan, 6.0)])
    with pytest.raises(DataValidationError, match="valence"):
        quadrant_hit_rate(clips)
