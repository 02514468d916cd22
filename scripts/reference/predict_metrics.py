"""Reference values for emoconvey.predict.metrics (MusicEval / AudioMOS metrics).

Computed **independently of the emoconvey package** with scipy and pandas only:

* MSE: ``numpy.mean((y - p) ** 2)``;
* LCC: ``scipy.stats.pearsonr``; SRCC: ``scipy.stats.spearmanr``;
  KTAU: ``scipy.stats.kendalltau(variant="b")``;
* system level: ``pandas.DataFrame.groupby("system").mean()`` of truth and prediction,
  then the same four functions;
* bootstrap: percentile interval (numpy ``quantile``) over ``B`` resamples drawn as
  ``numpy.random.default_rng(seed).integers(0, n, size=(B, n))``, each resample scored
  with the scipy functions above in a plain loop.

The data (ties included, as in rounded MOS) are written into the JSON so the tests feed
exactly the same numbers to the package. Run from the repository root::

    PYTHONPATH=src /work/venv/bin/python scripts/reference/predict_metrics.py

and it writes ``tests/reference/predict_metrics.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "reference" / "predict_metrics.json"
B = 200
SEED = 7


def four(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    return {
        "MSE": float(np.mean((y - p) ** 2)),
        "LCC": float(stats.pearsonr(y, p)[0]),
        "SRCC": float(stats.spearmanr(y, p)[0]),
        "KTAU": float(stats.kendalltau(y, p, variant="b")[0]),
    }


def boot(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    rng = np.random.default_rng(SEED)
    idx = rng.integers(0, len(y), size=(B, len(y)))
    vals: dict[str, list[float]] = {m: [] for m in ("MSE", "LCC", "SRCC", "KTAU")}
    for row in idx:
        for k, v in four(y[row], p[row]).items():
            vals[k].append(v)
    out = {}
    for k, v in vals.items():
        lo, hi = np.quantile(np.asarray(v), [0.025, 0.975])
        out[f"{k}_ci_low"], out[f"{k}_ci_high"] = float(lo), float(hi)
    return out


def main() -> None:
    rng = np.random.default_rng(2025)
    systems = [f"S{i:03d}" for i in range(1, 9)]
    sys_col = np.repeat(systems, 12)
    offset = np.repeat(rng.normal(0, 0.8, len(systems)), 12)
    truth = np.clip(np.round(3 + offset + rng.normal(0, 0.7, len(sys_col)), 1), 1, 5)
    pred = np.round(truth * 0.6 + 1.2 + rng.normal(0, 0.5, len(sys_col)), 2)
    frame = pd.DataFrame({"system": sys_col, "truth": truth, "pred": pred})
    means = frame.groupby("system").mean()
    result = {
        "seed": SEED,
        "n_boot": B,
        "system": sys_col.tolist(),
        "truth": truth.tolist(),
        "pred": pred.tolist(),
        "utterance": {**four(truth, pred), **boot(truth, pred)},
        "system_level": {
            **four(means["truth"].to_numpy(), means["pred"].to_numpy()),
            **boot(means["truth"].to_numpy(), means["pred"].to_numpy()),
        },
    }
    OUT.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
