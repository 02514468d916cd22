"""The generation benchmark runs and measures what it says (quick mode, no Ray, no tiny models)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "generation.py"


@pytest.mark.slow
def test_generation_benchmark_smoke():
    proc = subprocess.run([sys.executable, str(BENCH), "--quick", "--skip-ray", "--skip-tiny",
                           "--json"],
                          capture_output=True, text=True, check=True, timeout=600)
    result = json.loads(proc.stdout)
    assert [r["clip"] for r in result["overhead"]] == ["32 kHz mono", "44.1 kHz stereo"]
    assert all(r["clips"] == 24 and r["overhead_ms_per_clip"] > 0 for r in result["overhead"])
    numpy_row = next(r for r in result["cues"] if r["renderer"] == "numpy")
    assert numpy_row["clips"] == 4 and numpy_row["wall_s_median"] > 0
    assert result["ray"] is None and result["real"] is None
    assert result["tiny"] is None
