"""Accuracy and time of ``emoconvey intents evaluate`` on a norms file.

Runs the 10-fold cross-validation of the three from-text methods twice in one process:
``cold`` with an empty cache folder (embeds every word of the norms, trains nothing
persistent) and ``warm`` reusing the cached embeddings. Prints Pearson r, MAE and interval
coverage per method and axis, and the wall time of each run. The issue's floor is
r = 0.72 (valence) / 0.57 (arousal); the aim r >= 0.80 / 0.65.

Usage::

    python benchmarks/intents_text.py --norms Ratings_Warriner_et_al.csv [--json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from emoconvey.intents.text import evaluate_text_methods


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--norms", type=Path, required=True)
    parser.add_argument("--model", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = []
    with tempfile.TemporaryDirectory() as cache:
        for run in ("cold", "warm"):
            t0 = time.perf_counter()
            df = evaluate_text_methods(args.norms, model=args.model, cache_dir=cache)
            seconds = time.perf_counter() - t0
            for rec in df.to_dict(orient="records"):
                out.append({"run": run, "total_s": round(seconds, 1), **rec})
    if args.json:
        print(json.dumps(out, indent=1))
        return
    for rec in out:
        print(
            f"{rec['run']:5s} {rec['method']:9s} {rec['axis']:8s} r={rec['r']:.3f} "
            f"mae={rec['mae']:.3f} coverage={rec['coverage']:.3f} n={rec['n']:5d} "
            f"run {rec['total_s']:.1f} s"
        )


if __name__ == "__main__":
    main()
