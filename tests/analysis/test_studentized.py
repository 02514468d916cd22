"""Studentized-range upper tail against 30-digit mpmath quadrature and exact identities."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from emoconvey.analysis.studentized import P_FLOOR, studentized_range_sf
from emoconvey.errors import EmoconveyError

REF = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "studentized_range.json").read_text()
)


@pytest.mark.parametrize("case", REF["cases"], ids=lambda c: f"q{c['q']}-k{c['k']}-df{c['df']}")
def test_matches_mpmath_reference(case):
    df = np.inf if case["df"] is None else float(case["df"])
    ours = float(studentized_range_sf(case["q"], case["k"], df))
    ref = float(case["sf"])
    # relative 1e-10: far better than 1e-14 absolute, down to 1e-28; the nested
    # finite-df integrals are computed at 15 digits with k > 2, so 1e-8 there
    rel = 1e-8 if (case["df"] is not None and case["method"] == "integral") else 1e-10
    assert ours == pytest.approx(ref, rel=rel, abs=0)


def test_issue_case_is_not_zero():
    # k = 6 systems, 974 residual df: scipy returns 0 around 1e-14 (the AImoclips value,
    # 2.09e-14 at 985 df, is pinned to mpmath in the reference file)
    q = 11.6
    ours = float(studentized_range_sf(q, 6, 974.0))
    assert 1e-16 < ours < 1e-13
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert stats.studentized_range.sf(13.0, 6, 974) < 1e-15  # where scipy gives up


@pytest.mark.parametrize("df", [2.5, 7.0, 40.0, 974.0, 20_000.0])
def test_k2_equals_student_t_deep_in_the_tail(df):
    q = np.array([0.2, 1.0, 4.0, 9.0, 15.0, 25.0])
    exact = 2.0 * stats.t.sf(q / np.sqrt(2.0), df)
    np.testing.assert_allclose(studentized_range_sf(q, 2, df), exact, rtol=1e-10)


@pytest.mark.parametrize(("k", "df"), [(3, 10.0), (6, 974.0), (12, 60.0), (20, 9000.0)])
def test_agrees_with_scipy_where_scipy_is_accurate(k, df):
    q = np.array([0.5, 1.5, 3.0, 4.5, 6.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = stats.studentized_range.sf(q, k, df)
    np.testing.assert_allclose(studentized_range_sf(q, k, df), ref, rtol=1e-9)


def test_floor_shape_and_special_values():
    out = studentized_range_sf(np.array([[0.0, 1e3], [np.nan, np.inf]]), 4, np.inf)
    assert out.shape == (2, 2)
    assert out[0, 0] == 1.0
    assert out[0, 1] == P_FLOOR  # finite statistic: never exactly 0
    assert np.isnan(out[1, 0]) and out[1, 1] == 0.0


def test_errors():
    with pytest.raises(EmoconveyError, match="k"):
        studentized_range_sf(1.0, 1, 10.0)
    with pytest.raises(EmoconveyError, match="df"):
        studentized_range_sf(1.0, 3, 1.0)
    with pytest.raises(EmoconveyError, match="q"):
        studentized_range_sf(-1.0, 3, 10.0)
