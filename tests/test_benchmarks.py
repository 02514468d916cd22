"""The scale benchmark still runs and measures what it says (tiny size, one repeat)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "analysis_scale.py"


@pytest.mark.slow
def test_analysis_scale_smoke():
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--sizes", "3000", "--repeat", "1", "--tasks",
         "analysis", "report", "--json"],
        capture_output=True, text=True, check=True, timeout=600,
    )
    rows = json.loads(proc.stdout)
    assert [r["task"] for r in rows] == ["analysis", "report"]
    for r in rows:
        assert r["systems"] == 20 and r["intents"] == 40
        # some clips fall under the exclusion threshold by design
        assert r["excluded"] > 0
        # at least one clip per (system, intent) pair, whatever the size asked for
        assert r["clips"] + r["excluded"] >= 20 * 40
        assert r["total_s"] > 0 and r["peak_rss_mib"] > 50


def test_synthetic_study_is_valid_aimoclips_data(tmp_path):
    sys.path.insert(0, str(BENCH.parent))
    try:
        from analysis_scale import synthetic_study
    finally:
        sys.path.remove(str(BENCH.parent))
    from emoconvey.data import load_dataset

    paths = synthetic_study(5000, tmp_path, seed=1)
    ds = load_dataset(paths["ratings"], intents=paths["intents"])
    assert len(ds.systems) == 20
    assert len(ds.intents) == 40
    assert ds.ratings["listener"].nunique() == 50
    # every intent norm lies outside the neutral band, as the selection rule requires
    norms = ds.intents[["norm_valence", "norm_arousal"]]
    assert not ((norms >= 4.0) & (norms <= 6.0)).any(axis=None)


def test_cli_import_benchmark_runs():
    bench = BENCH.parent / "cli_import.py"
    proc = subprocess.run([sys.executable, str(bench), "--repeat", "1", "--json"],
                          capture_output=True, text=True, check=True, timeout=300)
    doc = json.loads(proc.stdout)
    assert set(doc["median_s"]) == {"python -c pass", "import emoconvey.cli",
                                    "emoconvey --help"}
    assert all(v > 0 for v in doc["median_s"].values())
    assert doc["heavy_modules"] == []
