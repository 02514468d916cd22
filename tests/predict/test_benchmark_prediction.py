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
def test_prediction_benchmark_temporal_part() -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--parts", "temporal", "--systems", "5", "--per-system",
         "8", "--temporal-heads", "ridge", "temporal-l1", "--json"],
        capture_output=True, text=True, check=True, timeout=600,
    )
    (row,) = json.loads(proc.stdout)
    assert row["part"] == "temporal" and row["clips"] == 40
    by_head = {r["head"]: r for r in row["rows"]}
    assert set(by_head) == {"ridge", "temporal-l1"}
    assert by_head["temporal-l1"]["features"] == "frames"
    for r in row["rows"]:
        assert r["train_ms_per_clip"] > 0 and r["infer_ms_per_clip"] > 0
        assert -1 <= r["utterance_LCC"] <= 1


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
