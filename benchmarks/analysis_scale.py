"""How the full analysis scales with the number of ratings.

Builds synthetic studies of 10^4, 10^5 and 10^6 ratings with more systems, intents and
listeners than AImoclips (20 systems, 40 intents, ~10 ratings per clip, one listener per
100 ratings), writes them as AImoclips CSV files, and for each size runs, in a fresh
process each time:

* ``load``: reading and validating the CSV files (``load_dataset``);
* ``analysis``: every table of the report (``analyse``);
* ``report``: the whole report folder without figures, and with figures;
* ``mixed`` (opt-in, ``--tasks mixed``): the rating-level mixed model alone (both axes);
  it is skipped, as in the report, when listeners and clips both exceed
  ``emoconvey.analysis.mixed.MAX_DENSE_LEVELS``.

It prints wall time (median of ``--repeat`` runs) and peak resident memory of the process,
and the growth ratio from one size to the next (10x more ratings; linear cost = 10x).
Target: 10^6 ratings in under 30 s and under 2 GiB.

Usage::

    python benchmarks/analysis_scale.py [--sizes 10000 100000 1000000] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

QUADRANT_CENTRES = {"hv_ha": (7.5, 6.5), "lv_ha": (2.8, 6.6), "lv_la": (2.8, 2.8),
                    "hv_la": (7.2, 2.4)}


def synthetic_study(n_ratings: int, folder: Path, *, seed: int = 0, systems: int = 20,
                    intents: int = 40, ratings_per_clip: int = 10) -> dict[str, Path]:
    """Write a synthetic study with about ``n_ratings`` ratings; return the file paths."""
    rng = np.random.default_rng(seed)
    quads = list(QUADRANT_CENTRES)
    rows = []
    for i in range(intents):
        q = quads[i % 4]
        cv, ca = QUADRANT_CENTRES[q]
        # keep the norms outside the neutral band [4, 6]
        v = float(np.clip(cv + rng.uniform(-0.8, 0.8), 1.0, 9.0))
        a = float(np.clip(ca + rng.uniform(-0.4, 0.4), 1.0, 9.0))
        rows.append((q, f"emo{i:02d}", round(v, 2), round(a, 2)))
    intents_df = pd.DataFrame(rows, columns=["quadrant", "emotion", "gt_valence", "gt_arousal"])

    n_clips = max(n_ratings // ratings_per_clip, systems * intents)
    listeners = max(n_ratings // 100, ratings_per_clip)
    clip_system = np.arange(n_clips) % systems
    clip_intent = (np.arange(n_clips) // systems) % intents
    clip_index = np.arange(n_clips) // (systems * intents) + 1
    names = np.array([f"Sys{s:02d}_emo{i:02d}_{k}_crop.wav" for s, i, k in
                      zip(clip_system, clip_intent, clip_index, strict=True)])
    # each clip gets 4..(2*rpc-4) ratings, so some fall under the exclusion threshold
    per_clip = rng.integers(3, 2 * ratings_per_clip - 2, size=n_clips)
    per_clip = np.minimum(per_clip, listeners)
    clip_of = np.repeat(np.arange(n_clips), per_clip)
    within = np.arange(len(clip_of)) - np.repeat(np.cumsum(per_clip) - per_clip, per_clip)
    base = rng.integers(0, listeners, size=n_clips)
    listener = (base[clip_of] + within) % listeners  # distinct listeners within a clip
    sys_bias = rng.normal(0, 0.6, size=(systems, 2))
    norm_v = intents_df["gt_valence"].to_numpy()[clip_intent]
    norm_a = intents_df["gt_arousal"].to_numpy()[clip_intent]
    clip_v = 5 + 0.6 * (norm_v - 5) + sys_bias[clip_system, 0] + rng.normal(0, 0.8, n_clips)
    clip_a = 5 + 0.6 * (norm_a - 5) + sys_bias[clip_system, 1] + rng.normal(0, 0.8, n_clips)
    val = np.clip(np.rint(clip_v[clip_of] + rng.normal(0, 1.3, len(clip_of))), 1, 9)
    aro = np.clip(np.rint(clip_a[clip_of] + rng.normal(0, 1.3, len(clip_of))), 1, 9)
    ratings = pd.DataFrame({
        "user": np.char.add("P", (listener + 1).astype(str)),
        "audio_file": names[clip_of],
        "valence": val.astype(int),
        "arousal": aro.astype(int),
    })
    paths = {"ratings": folder / "ratings_metadata.csv",
             "intents": folder / "emotion_intents_metadata.csv"}
    ratings.to_csv(paths["ratings"], index=False)
    intents_df.to_csv(paths["intents"], index=False)
    return paths


def _child(args: argparse.Namespace) -> None:
    """Run one measurement in this (fresh) process and print a JSON line."""
    import logging

    logging.disable(logging.WARNING)
    import warnings

    warnings.simplefilter("ignore")
    from emoconvey.analysis.pipeline import analyse
    from emoconvey.data import load_dataset
    from emoconvey.report import build_report

    t0 = time.perf_counter()
    ds = load_dataset(args.ratings, intents=args.intents)
    t_load = time.perf_counter() - t0
    result = {"ratings": len(ds.ratings), "clips": len(ds.clips),
              "listeners": int(ds.ratings["listener"].nunique()),
              "systems": len(ds.systems), "intents": len(ds.intents),
              "excluded": len(ds.excluded), "load_s": t_load}
    if args.task == "mixed":
        from emoconvey.analysis.mixed import MAX_DENSE_LEVELS, mixed_model

        t0 = time.perf_counter()
        _, var = mixed_model(ds.ratings, ds.intents)
        result["task_s"] = time.perf_counter() - t0
        result["mixed_fitted"] = not var.empty
        result["mixed_max_levels"] = MAX_DENSE_LEVELS
    elif args.task == "analysis":
        t0 = time.perf_counter()
        analyse(ds)
        result["task_s"] = time.perf_counter() - t0
    else:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            build_report(ds, out=Path(tmp) / "r", figures=args.task == "report+figures")
            result["task_s"] = time.perf_counter() - t0
    result["total_s"] = result["load_s"] + result["task_s"]
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--tasks", nargs="+",
                        default=["analysis", "report", "report+figures"],
                        choices=["analysis", "report", "report+figures", "mixed"])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--task", help=argparse.SUPPRESS)
    parser.add_argument("--ratings", help=argparse.SUPPRESS)
    parser.add_argument("--intents", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            folder = Path(tmp) / str(size)
            folder.mkdir()
            paths = synthetic_study(size, folder)
            for task in args.tasks:
                runs = []
                for _ in range(args.repeat):
                    proc = subprocess.run(
                        [sys.executable, __file__, "--child", "--task", task,
                         "--ratings", str(paths["ratings"]), "--intents", str(paths["intents"])],
                        capture_output=True, text=True, check=True,
                    )
                    runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
                row = {k: runs[0][k] for k in ("ratings", "clips", "listeners", "systems",
                                               "intents", "excluded")}
                row["size"] = size
                row["task"] = task
                for key in ("load_s", "task_s", "total_s", "peak_rss_mib"):
                    row[key] = statistics.median(r[key] for r in runs)
                rows.append(row)
                if "mixed_fitted" in runs[0]:
                    row["mixed_fitted"] = runs[0]["mixed_fitted"]
                    task = f"mixed{'' if row['mixed_fitted'] else ' (skipped)'}"
                if not args.json:
                    print(f"{size:>9,} ratings  {task:<15} total {row['total_s']:7.2f} s "
                          f"(load {row['load_s']:.2f} s)  peak RSS {row['peak_rss_mib']:7.0f} MiB"
                          f"  [{row['clips']:,} clips, {row['listeners']:,} listeners, "
                          f"{row['systems']} systems, {row['intents']} intents]", flush=True)
    for task in args.tasks:
        series = [r for r in rows if r["task"] == task]
        for prev, cur in itertools.pairwise(series):
            cur["time_ratio_vs_previous"] = cur["total_s"] / prev["total_s"]
            cur["size_ratio_vs_previous"] = cur["size"] / prev["size"]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print("\ngrowth (time ratio for each 10x more ratings; linear = 10x):")
    for task in args.tasks:
        ratios = [f"{r['time_ratio_vs_previous']:.1f}x" for r in rows
                  if r["task"] == task and "time_ratio_vs_previous" in r]
        print(f"  {task:<15} {' then '.join(ratios) or 'n/a'}")
    big = [r for r in rows if r["size"] >= 1_000_000 and r["task"] == "report+figures"]
    for r in big:
        ok = r["total_s"] < 30 and r["peak_rss_mib"] < 2048
        print(f"target (10^6 ratings, full report with figures: < 30 s, < 2 GiB): "
              f"{'met' if ok else 'NOT met'} ({r['total_s']:.1f} s, {r['peak_rss_mib']:.0f} MiB)")


if __name__ == "__main__":
    main()
