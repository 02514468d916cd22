"""Report parts of issue 10: ranking uncertainty, mixed model, post-hoc model, one order."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from emoconvey.errors import EmoconveyError
from emoconvey.report import build_report


@pytest.fixture(scope="module")
def adjusted(tmp_path_factory, aimoclips):
    out = tmp_path_factory.mktemp("r") / "rep"
    return build_report(aimoclips, out=out, figures=False, posthoc="adjusted",
                        system_order=["Udio", "Suno"], n_boot=300, seed=4)


def test_results_json_has_uncertainty_and_mixed_model(adjusted, aimoclips):
    doc = json.loads(adjusted.results.read_text())
    for row in doc["ranking"]:
        assert {"ci_low", "ci_high", "rank_low", "rank_high", "p_best", "group"} <= set(row)
        assert row["ci_low"] <= row["mean_distance"] <= row["ci_high"]
    mm = doc["mixed_model"]
    assert set(mm) == {"valence", "arousal"}
    for axis in mm.values():
        assert set(axis["variance"]) == {"listener", "clip", "residual"}
        assert {r["system"] for r in axis["systems"]} == set(aimoclips.systems)
        assert all({"estimate", "ci_low", "ci_high"} <= set(r) for r in axis["systems"])


def test_one_system_order_in_tables(adjusted):
    dev = pd.read_csv(adjusted.tables["deviation_by_system"])
    systems = list(dict.fromkeys(dev["system"]))
    assert systems[:2] == ["Udio", "Suno"]
    rank = pd.read_csv(adjusted.tables["ranking"])
    # the rest follows the ranking
    rest = [s for s in rank["system"] if s not in ("Udio", "Suno")]
    assert systems[2:] == rest


def test_posthoc_choice_is_reported(adjusted):
    html = adjusted.index.read_text()
    assert "intent-adjusted model" in html
    assert "Robustness: rating-level mixed model" in html
    tukey = pd.read_csv(adjusted.tables["tukey_system"])
    assert (tukey["p_adj"] > 0).all()


def test_bad_options(tmp_path, aimoclips):
    with pytest.raises(EmoconveyError, match="system_order"):
        build_report(aimoclips, out=tmp_path / "a", figures=False, system_order=["Nope"])
    with pytest.raises(EmoconveyError, match="posthoc"):
        build_report(aimoclips, out=tmp_path / "b", figures=False, posthoc="twoway")


def test_report_names_its_analysis_against_the_planners_default(adjusted):
    from emoconvey.analysis.posthoc import DEFAULT_POSTHOC
    from emoconvey.report.build import posthoc_note

    html = adjusted.index.read_text()
    assert "the one &#39;emoconvey plan&#39; plans for by default" in html
    assert json.loads(adjusted.results.read_text())["posthoc"] == "adjusted"
    note = posthoc_note("oneway")
    assert DEFAULT_POSTHOC == "adjusted"
    assert "'oneway' analysis" in note and "plans for 'adjusted' by default" in note
