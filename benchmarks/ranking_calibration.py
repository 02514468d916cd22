"""Coverage of the ranking intervals and calibration of P(best), before and after issue 17.

Simulated studies with known truth (``tests/crossed_study.py``): 4 systems x 6 intents x
8 clips, 6 ratings per clip from distinct listeners, listener/clip/residual variances
0.67/0.45/2.71 (AImoclips' fit); truth = the expected metric over new clips and new
listeners. Methods:

* ``before``: clips resampled within (system, intent) cells, percentile intervals,
  P(best) = share of replicates ranked first (emoconvey up to issue 17);
* ``after``: the default of ``bootstrap_ranking(clips, ratings=...)``: listeners'
  shifts redrawn as well (crossed bootstrap), and the posterior P(best);

plus any other ``--interval`` for the crossed bootstrap. Coverage scenarios: ``additive``
without listener effects, ``additive``, ``interaction`` (intent x system) and
``one_signed`` (all deviations positive) with them; each a fixed truth. P(best): a new
random truth per study (``random``: system effects N(0, 0.3^2) per axis around a common
profile), stated P(best) of every system binned, against the share of those systems that
are truly best. Monte-Carlo standard errors are binomial (coverage: intervals of one study
are correlated, so they are a little optimistic).

Usage::

    python benchmarks/ranking_calibration.py [--studies 300] [--n-boot 1000] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import itertools

from crossed_study import (
    AIMOCLIPS_VARIANCES,
    crossed_study,
    scenario_means,
    true_metrics,
)
from emoconvey.analysis.bootstrap import bootstrap_ranking

METRICS = ("mean_distance", "mae_valence", "mae_arousal", "hit_rate")
SCENARIOS = (("additive", 0.0), ("additive", 0.67), ("interaction", 0.67),
             ("one_signed", 0.67))
BANDS = (0.0, 0.2, 0.5, 0.8, 0.95, 1.0001)


def _methods(intervals: list[str]) -> dict[str, dict[str, object]]:
    out: dict[str, dict[str, object]] = {
        "before": {"crossed": False, "interval": "percentile", "p_best": "bootstrap"},
        "after": {"crossed": True, "interval": "centred", "p_best": "posterior"},
    }
    for i in intervals:
        out.setdefault(f"crossed_{i}", {"crossed": True, "interval": i,
                                        "p_best": "posterior"})
    return out


def _run(clips: pd.DataFrame, ratings: pd.DataFrame, method: dict[str, object], *,
         n_boot: int, seed: int) -> pd.DataFrame:
    return bootstrap_ranking(
        clips, ratings=ratings if method["crossed"] else None, n_boot=n_boot, seed=seed,
        interval=str(method["interval"]), p_best=str(method["p_best"]),
    )


def coverage(studies: int, n_boot: int, intervals: list[str]) -> list[dict[str, object]]:
    """Coverage of the 95 % intervals per scenario, method and metric."""
    rows = []
    methods = _methods(intervals)
    for scen, var_l in SCENARIOS:
        variances = dict(AIMOCLIPS_VARIANCES, listener=var_l)
        rng = np.random.default_rng(11)
        means = scenario_means(scen, rng=rng)
        truth = true_metrics(means, variances=variances).set_index("system")
        hit = {(m, x): [] for m in methods for x in METRICS}
        below = {key: 0 for key in hit}
        for rep in range(studies):
            clips, ratings = crossed_study(means, variances=variances, rng=rng)
            for name, method in methods.items():
                table = _run(clips, ratings, method, n_boot=n_boot, seed=rep)
                for metric in METRICS:
                    sub = table[table["metric"] == metric]
                    t = truth.loc[sub["system"], metric].to_numpy()
                    hit[(name, metric)] += list((sub["ci_low"].to_numpy() <= t)
                                                & (t <= sub["ci_high"].to_numpy()))
                    below[(name, metric)] += int((t < sub["ci_low"].to_numpy()).sum())
        for (name, metric), h in hit.items():
            h_a = np.asarray(h, dtype=float)
            rows.append({
                "scenario": scen, "listener_var": var_l, "method": name, "metric": metric,
                "coverage": float(h_a.mean()),
                "se": float(np.sqrt(h_a.mean() * (1 - h_a.mean()) / len(h_a))),
                "miss_low": below[(name, metric)],
                "miss_high": int((1 - h_a).sum()) - below[(name, metric)],
                "intervals": len(h_a),
            })
        for r in rows[-len(hit):]:
            print(f"# {scen} {var_l} {r['method']:>18s} {r['metric']:>13s} "
                  f"{r['coverage']:.3f} ± {r['se']:.3f}", file=sys.stderr, flush=True)
    return rows


def calibration(studies: int, n_boot: int) -> list[dict[str, object]]:
    """Stated P(best) against the realised frequency of being best, in bands."""
    methods = {k: v for k, v in _methods([]).items()}
    stated = {(m, x): [] for m in methods for x in ("mean_distance", "mae_valence")}
    truly = {key: [] for key in stated}
    rng = np.random.default_rng(12)
    for rep in range(studies):
        means = scenario_means("random", rng=rng)
        truth = true_metrics(means).set_index("system")
        clips, ratings = crossed_study(means, rng=rng)
        for name, method in methods.items():
            table = _run(clips, ratings, method, n_boot=n_boot, seed=rep)
            for metric in ("mean_distance", "mae_valence"):
                sub = table[table["metric"] == metric]
                best = truth[metric].idxmin()
                stated[(name, metric)] += list(sub["p_best"])
                truly[(name, metric)] += list(sub["system"] == best)
    rows = []
    for (name, metric), p in stated.items():
        p_a, t_a = np.asarray(p), np.asarray(truly[(name, metric)], dtype=float)
        for lo, hi in itertools.pairwise(BANDS):
            sel = (p_a >= lo) & (p_a < hi)
            n = int(sel.sum())
            real = float(t_a[sel].mean()) if n else float("nan")
            rows.append({
                "method": name, "metric": metric, "band": f"{lo:.2f}-{min(hi, 1):.2f}",
                "n": n, "stated": float(p_a[sel].mean()) if n else float("nan"),
                "realised": real,
                "se": float(np.sqrt(real * (1 - real) / n)) if n else float("nan"),
            })
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--studies", type=int, default=300, help="studies per scenario")
    ap.add_argument("--calibration-studies", type=int, default=None,
                    help="studies for P(best) (default: --studies)")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--intervals", nargs="*", default=["percentile", "bca"],
                    help="other intervals of the crossed bootstrap to show")
    ap.add_argument("--skip", choices=["coverage", "calibration"], default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    cov = [] if args.skip == "coverage" else coverage(args.studies, args.n_boot,
                                                      args.intervals)
    cal = [] if args.skip == "calibration" else calibration(
        args.calibration_studies or args.studies, args.n_boot)
    if args.json:
        print(json.dumps({"coverage": cov, "calibration": cal}, indent=1))
        return
    if cov:
        df = pd.DataFrame(cov)
        df["cell"] = df.apply(lambda r: f"{r.coverage:.3f} ± {r.se:.3f}", axis=1)
        print("Coverage of 95 % intervals (± binomial MC s.e.; goal 0.935-0.965)")
        print(df.pivot_table(index=["scenario", "listener_var", "metric"],
                             columns="method", values="cell", aggfunc="first").to_string())
        print("\nMisses below / above the truth:")
        df["miss"] = df["miss_low"].astype(str) + " / " + df["miss_high"].astype(str)
        print(df.pivot_table(index=["scenario", "listener_var", "metric"],
                             columns="method", values="miss", aggfunc="first").to_string())
    if cal:
        df = pd.DataFrame(cal)
        print("\nP(best): stated vs realised per band (random truth; goal within ±0.05)")
        print(df.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"\n{time.perf_counter() - t0:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
