"""Tests of emoconvey.analysis.anova (numpy Type II SS) against statsmodels
``ols`` + ``anova_lm(typ=2)`` (reference values from scripts/reference/core_stats.py and
direct comparisons on random unbalanced designs)."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from statsmodels.stats.anova import anova_lm

from emoconvey._validation import QUADRANTS
from emoconvey.analysis.anova import (
    ANOVA_COLUMNS,
    ANOVA_TABLE_COLUMNS,
    anova,
    quadrant_effect,
    system_effect,
    two_way_anova,
)
from emoconvey.analysis.deviation import clip_deviations
from emoconvey.errors import DataValidationError, DegenerateDataWarning, EmoconveyError

REF = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "core_stats.json").read_text()
)
RTOL = 1e-9
VALUES = ["sum_sq", "df", "df_resid", "F", "p", "eta_sq"]


@pytest.fixture(scope="module")
def synthetic_clips() -> pd.DataFrame:
    return pd.DataFrame(REF["synthetic"]["clips"])


@pytest.fixture(params=["aimoclips", "synthetic"])
def study(request, aimoclips, synthetic_clips) -> tuple[pd.DataFrame, dict]:
    clips = aimoclips.clips if request.param == "aimoclips" else synthetic_clips
    return clips, REF[request.param]


def _reference(ref: dict, test: str) -> pd.DataFrame:
    return pd.DataFrame([r for r in ref["anova"] if r["test"] == test])


def _assert_table(out: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert out["axis"].tolist() == expected["axis"].tolist()
    assert out["source"].tolist() == expected["source"].tolist()
    for col in VALUES:
        np.testing.assert_allclose(
            out[col].to_numpy(dtype=float), expected[col].to_numpy(dtype=float),
            rtol=RTOL, atol=0, err_msg=col,
        )


def _random_design(seed: int, n: int = 300, ka: int = 5, kb: int = 7) -> pd.DataFrame:
    """Unbalanced data with empty cells, string and integer factor labels."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, ka, n)
    b = rng.integers(0, kb, n)
    keep = ~((a == 0) & (b == 1)) & ~((a == 2) & (b < 3))
    a, b = a[keep], b[keep]
    y = 0.3 * a - 0.2 * (b % 3) + rng.normal(0, 1, len(a))
    return pd.DataFrame({"y": y, "A": np.array(list("pqrstuvwxyz"))[a], "B": b * 10})


# ----------------------------------------------------------------------------- reference


def test_system_effect_matches_statsmodels(study):
    clips, ref = study
    out = system_effect(clips)
    assert list(out.columns) == ["test", *ANOVA_COLUMNS]
    assert (out["test"] == "system_effect").all()
    assert (out["measure"] == "deviation").all()
    assert out["source"].tolist() == ["system", "intent", "Residual"] * 2
    _assert_table(out, _reference(ref, "system_effect"))


def test_quadrant_effect_matches_statsmodels(study):
    clips, ref = study
    out = quadrant_effect(clips)
    assert list(out.columns) == ["test", *ANOVA_COLUMNS]
    assert (out["test"] == "quadrant_effect").all()
    assert (out["measure"] == "abs_deviation").all()
    assert out["source"].tolist() == ["quadrant", "system", "Residual"] * 2
    _assert_table(out, _reference(ref, "quadrant_effect"))


def test_anova_generic_matches_statsmodels(study):
    clips, ref = study
    out = anova(clips, factors=("intent", "system"), measure="abs_deviation")
    assert list(out.columns) == list(ANOVA_COLUMNS)
    _assert_table(out, _reference(ref, "intent_system"))


def test_aimoclips_headline_results(aimoclips):
    """The AImoclips analyses: systems differ in signed deviation on both axes, and the
    quadrants differ in absolute deviation (Go et al., 2025)."""
    sys_eff = system_effect(aimoclips.clips).set_index(["axis", "source"])
    for axis in ("valence", "arousal"):
        row = sys_eff.loc[(axis, "system")]
        assert row["df"] == 5 and row["df_resid"] == 991 - 1 - 5 - 11
        assert row["p"] < 1e-30
    quad = quadrant_effect(aimoclips.clips).set_index(["axis", "source"])
    for axis in ("valence", "arousal"):
        row = quad.loc[(axis, "quadrant")]
        assert row["df"] == 3 and row["df_resid"] == 991 - 1 - 3 - 5
        assert row["p"] < 1e-6


@pytest.mark.parametrize("seed", range(5))
def test_two_way_anova_matches_statsmodels_on_random_designs(seed):
    data = _random_design(seed)
    out = two_way_anova(data, dv="y", factors=("A", "B"))
    ref = anova_lm(smf.ols("y ~ C(A) + C(B)", data=data).fit(), typ=2)
    np.testing.assert_allclose(out["sum_sq"], ref["sum_sq"], rtol=RTOL)
    np.testing.assert_allclose(out["df"], ref["df"], rtol=0)
    np.testing.assert_allclose(out["F"], ref["F"], rtol=RTOL)
    np.testing.assert_allclose(out["p"], ref["PR(>F)"], rtol=1e-8)
    np.testing.assert_allclose(out["eta_sq"], ref["sum_sq"] / ref["sum_sq"].sum(), rtol=RTOL)


# ----------------------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(12, 200),
    ka=st.integers(2, 6),
    kb=st.integers(2, 8),
)
def test_eta_sq_sums_to_one_and_matches_statsmodels(seed, n, ka, kb):
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {"y": rng.normal(size=n) + rng.integers(0, 3, n), "A": rng.integers(0, ka, n),
         "B": rng.integers(0, kb, n).astype(str)}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        out = two_way_anova(data, dv="y", factors=("A", "B"))
    assert list(out.columns) == list(ANOVA_TABLE_COLUMNS)
    assert out["eta_sq"].sum() == pytest.approx(1.0, rel=1e-12)
    assert (out["sum_sq"] >= 0).all()
    levels_a, levels_b = data["A"].nunique(), data["B"].nunique()
    design = np.column_stack(
        [pd.get_dummies(data["A"]).to_numpy(float), pd.get_dummies(data["B"]).to_numpy(float)]
    )
    connected = np.linalg.matrix_rank(design) == levels_a + levels_b - 1
    if levels_a > 1 and levels_b > 1 and connected and out["df_resid"].iloc[0] > 0:
        ref = anova_lm(smf.ols("y ~ C(A) + C(B)", data=data).fit(), typ=2)
        np.testing.assert_allclose(out["sum_sq"], ref["sum_sq"], rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(out["df"], ref["df"])


def test_eta_sq_sums_to_one_per_table(aimoclips, synthetic_clips):
    for clips in (aimoclips.clips, synthetic_clips):
        for out in (system_effect(clips), quadrant_effect(clips)):
            sums = out.groupby("axis")["eta_sq"].sum()
            np.testing.assert_allclose(sums, 1.0, rtol=1e-12)


def test_table_layout(aimoclips):
    clips = clip_deviations(aimoclips.clips)
    out = two_way_anova(clips, dv="dev_valence", factors=("system", "intent"))
    assert list(out.columns) == list(ANOVA_TABLE_COLUMNS)
    assert out["source"].tolist() == ["system", "intent", "Residual"]
    assert out["df"].dtype == np.int64 and out["df_resid"].dtype == np.int64
    resid = out.iloc[2]
    assert np.isnan(resid["F"]) and np.isnan(resid["p"])
    assert resid["df"] == resid["df_resid"] == 974
    assert resid["eta_sq"] == pytest.approx(resid["sum_sq"] / out["sum_sq"].sum())


def test_axes_and_measure_selection(aimoclips):
    out = anova(aimoclips.clips, factors=("system", "quadrant"), axes="arousal",
                measure="abs_deviation")
    assert out["axis"].tolist() == ["arousal"] * 3
    assert (out["measure"] == "abs_deviation").all()
    both = anova(aimoclips.clips, factors=("system", "quadrant"), axes=["arousal", "valence"])
    assert both["axis"].tolist() == ["arousal"] * 3 + ["valence"] * 3
    one = system_effect(aimoclips.clips, axes="valence")
    pd.testing.assert_frame_equal(one, system_effect(aimoclips.clips).iloc[:3])


def test_factor_order_does_not_change_type2_results(aimoclips):
    ab = anova(aimoclips.clips, factors=("system", "intent")).set_index(["axis", "source"])
    ba = anova(aimoclips.clips, factors=("intent", "system")).set_index(["axis", "source"])
    pd.testing.assert_frame_equal(ab.sort_index(), ba.sort_index(), rtol=1e-10)


@pytest.mark.parametrize(
    "func", [system_effect, quadrant_effect,
             lambda c: anova(c, factors=("quadrant", "intent"), measure="abs_deviation")]
)
def test_input_not_modified(aimoclips, func):
    clips = aimoclips.clips.copy()
    before = clips.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        func(clips)
    pd.testing.assert_frame_equal(clips, before)


def test_two_way_anova_input_not_modified():
    data = _random_design(3)
    before = data.copy()
    two_way_anova(data, dv="y", factors=("A", "B"))
    pd.testing.assert_frame_equal(data, before)


def test_scale_hundred_thousand_clips():
    rng = np.random.default_rng(2)
    n = 100_000
    system = rng.integers(0, 20, n)
    intent = rng.integers(0, 40, n)
    clips = pd.DataFrame(
        {
            "clip": np.arange(n).astype(str),
            "system": "S" + pd.Series(system).astype(str),
            "intent": "I" + pd.Series(intent).astype(str),
            "quadrant": np.array(QUADRANTS)[intent % 4],
            "valence": np.clip(5 + 0.05 * system + rng.normal(0, 1.5, n), 1, 9),
            "arousal": rng.uniform(1, 9, n),
            "norm_valence": 3.0 + (intent % 5),
            "norm_arousal": 5.0,
        }
    )
    start = time.perf_counter()
    sys_eff = system_effect(clips)
    quad = quadrant_effect(clips)
    elapsed = time.perf_counter() - start
    assert sys_eff["df"].tolist()[:3] == [19, 39, n - 1 - 19 - 39]
    assert quad["df"].tolist()[:2] == [3, 19]
    assert elapsed < 5, f"two ANOVAs of 10^5 clips took {elapsed:.1f} s"


# ----------------------------------------------------------------------------- degenerate


def test_factor_with_one_level_warns_and_gives_nan():
    data = _random_design(0).assign(K="only")
    with pytest.warns(DegenerateDataWarning, match="'K' has a single level"):
        out = two_way_anova(data, dv="y", factors=("K", "A"))
    row = out.set_index("source").loc["K"]
    assert row["df"] == 0 and row["sum_sq"] == 0.0
    assert np.isnan(row["F"]) and np.isnan(row["p"])
    a_row = out.set_index("source").loc["A"]
    ref = anova_lm(smf.ols("y ~ C(A)", data=data).fit(), typ=2)
    assert a_row["F"] == pytest.approx(ref.loc["C(A)", "F"], rel=1e-9)
    assert out["eta_sq"].sum() == pytest.approx(1.0)


def test_confounded_factors_warn(aimoclips):
    """Quadrant is determined by intent: after adjusting for intent it has no df left."""
    with pytest.warns(DegenerateDataWarning, match="'quadrant' is confounded"):
        out = anova(aimoclips.clips, factors=("quadrant", "intent"), axes="valence")
    row = out.set_index("source").loc["quadrant"]
    assert row["df"] == 0 and row["sum_sq"] == 0.0 and np.isnan(row["F"])
    intent = out.set_index("source").loc["intent"]
    assert intent["df"] == 8  # 12 intents - 4 quadrants
    assert np.isfinite(intent["F"])


def test_disconnected_design_uses_estimable_df():
    """Two blocks of levels that never meet: df are reduced to what is estimable and
    the SS follow the model-comparison definition (checked with plain lstsq)."""
    rng = np.random.default_rng(0)
    a = np.r_[rng.integers(0, 2, 30), rng.integers(2, 4, 30)]
    b = np.r_[rng.integers(0, 2, 30), rng.integers(2, 4, 30)]
    data = pd.DataFrame({"y": rng.normal(size=60) + 0.5 * a, "A": a, "B": b.astype(str)})
    with pytest.warns(DegenerateDataWarning, match="disconnected"):
        out = two_way_anova(data, dv="y", factors=("A", "B"))
    dummies_a = pd.get_dummies(data["A"]).to_numpy(float)
    dummies_b = pd.get_dummies(data["B"]).to_numpy(float)
    y = data["y"].to_numpy()

    def rss(x: np.ndarray) -> float:
        beta = np.linalg.lstsq(x, y, rcond=None)[0]
        return float(np.sum((y - x @ beta) ** 2))

    full = rss(np.column_stack([dummies_a, dummies_b]))
    np.testing.assert_allclose(out["sum_sq"], [rss(dummies_b) - full, rss(dummies_a) - full,
                                               full], rtol=1e-9)
    assert out["df"].tolist() == [2, 2, 60 - 6]  # rank 4 + 4 - 2 blocks
    assert out["eta_sq"].sum() == pytest.approx(1.0)


def test_no_residual_df_warns_and_gives_nan():
    data = pd.DataFrame({"y": [1.0, 2.0, 4.0], "A": ["a", "b", "b"], "B": ["x", "x", "y"]})
    with pytest.warns(DegenerateDataWarning, match="no residual degrees of freedom"):
        out = two_way_anova(data, dv="y", factors=("A", "B"))
    assert out["df_resid"].tolist() == [0, 0, 0]
    assert out["F"].isna().all() and out["p"].isna().all()


def test_zero_variance_dv_warns():
    data = _random_design(1).assign(y=3.0)
    with pytest.warns(DegenerateDataWarning) as record:
        out = two_way_anova(data, dv="y", factors=("A", "B"))
    messages = " ".join(str(w.message) for w in record)
    assert "zero residual variance" in messages and "zero variance" in messages
    assert out["F"].isna().all() and out["eta_sq"].isna().all()
    assert (out["sum_sq"] == 0).all()


def test_exact_additive_fit_warns():
    data = _random_design(2)
    data["y"] = data["A"].map({c: i for i, c in enumerate("pqrst")}) + data["B"] / 10
    with pytest.warns(DegenerateDataWarning, match="zero residual variance"):
        out = two_way_anova(data, dv="y", factors=("A", "B"))
    assert out["F"].isna().all()
    assert out["eta_sq"].iloc[2] == 0.0


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "factors", [("system",), ("system", "system"), "system", ("system", 3),
                ("system", "intent", "quadrant"), None]
)
def test_bad_factors_names_argument(aimoclips, factors):
    with pytest.raises(EmoconveyError, match="factors"):
        anova(aimoclips.clips, factors=factors)
    with pytest.raises(EmoconveyError, match="factors"):
        two_way_anova(clip_deviations(aimoclips.clips), dv="dev_valence", factors=factors)


def test_factor_not_a_column(aimoclips):
    with pytest.raises(DataValidationError, match=r"factors.*'speaker'"):
        anova(aimoclips.clips, factors=("system", "speaker"))
    with pytest.raises(DataValidationError, match=r"factors.*'speaker'"):
        two_way_anova(_random_design(0), dv="y", factors=("speaker", "A"))


def test_dv_errors():
    data = _random_design(0)
    with pytest.raises(DataValidationError, match="'score'"):
        two_way_anova(data, dv="score", factors=("A", "B"))
    with pytest.raises(EmoconveyError, match="dv"):
        two_way_anova(data, dv=None, factors=("A", "B"))  # type: ignore[arg-type]
    with pytest.raises(EmoconveyError, match="factors.*'y'"):
        two_way_anova(data, dv="y", factors=("y", "B"))
    bad = data.astype({"y": object})
    bad.loc[4, "y"] = "n/a"
    with pytest.raises(DataValidationError, match=r"line 6, column 'y'"):
        two_way_anova(bad, dv="y", factors=("A", "B"))
    bad = data.copy()
    bad.loc[2, "y"] = np.inf
    with pytest.raises(DataValidationError, match=r"line 4, column 'y'"):
        two_way_anova(bad, dv="y", factors=("A", "B"))


def test_missing_factor_label():
    data = _random_design(0).astype({"A": object})
    data.loc[7, "A"] = None
    with pytest.raises(DataValidationError, match=r"line 9, column 'A'"):
        two_way_anova(data, dv="y", factors=("A", "B"))


def test_data_must_be_a_nonempty_dataframe():
    with pytest.raises(EmoconveyError, match="DataFrame"):
        two_way_anova([1, 2], dv="y", factors=("A", "B"))  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="at least 1"):
        two_way_anova(_random_design(0).iloc[0:0], dv="y", factors=("A", "B"))


@pytest.mark.parametrize("measure", ["dev", "absolute", None, "abs_deviation "])
def test_bad_measure_names_argument(aimoclips, measure):
    with pytest.raises(EmoconveyError, match="measure"):
        anova(aimoclips.clips, factors=("system", "intent"), measure=measure)


@pytest.mark.parametrize("func", [system_effect, quadrant_effect])
def test_bad_axes_names_argument(aimoclips, func):
    with pytest.raises(EmoconveyError, match="axis|axes"):
        func(aimoclips.clips, axes="dominance")


@pytest.mark.parametrize("column", ["norm_arousal", "intent", "system", "quadrant"])
def test_missing_clip_column_is_named(aimoclips, column):
    with pytest.raises(DataValidationError, match=repr(column)):
        system_effect(aimoclips.clips.drop(columns=[column]))
    with pytest.raises(DataValidationError, match=repr(column)):
        quadrant_effect(aimoclips.clips.drop(columns=[column]))
