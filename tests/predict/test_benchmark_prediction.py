"""The prediction benchmark still runs (tiny sizes, training part only)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "prediction.py"


@pytest.mark.slow
def test_prediction_benchmark_smoke() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--parts", "train", "--sizes", "200", "--heads", "ridge",
         "--json"],
        capture_output=True, text=True, check=True, timeout=600,
    )
    (row,) = json.loads(proc.stdout)
    assert row["part"] == "train" and row["head"] == "ridge" and row["clips"] == 200
    assert row["cv_5fold_s"] > 0 and row["peak_rss_mib"] > 50
    assert row["heldout_LCC_valence"] > 0.5


@pytest.mark.slow
def test_ood_benchmark_smoke() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--parts", "ood", "--systems", "5", "--per-system", "4",
         "--json"],
        capture_output=True, text=True, check=True, timeout=600,
    )
    (row,) = json.loads(proc.stdout)
    assert row["part"] == "ood" and row["train_clips"] == 20 and row["alpha"] == 0.05
    sets = row["sets"]
    assert sets["white noise"]["share_ood"] == 1.0
    assert sets["in-distribution (new systems)"]["clips"] == 20
