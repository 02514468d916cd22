"""Accuracy and time of the from-text methods on a norms file.

Default: the 10-fold cross-validation of ``lexicon``, ``embedding`` and ``hybrid``, run
twice in one process: ``cold`` with an empty cache folder (embeds every word of the
norms) and ``warm`` reusing the cached embeddings. Prints Pearson r, MAE and interval
coverage per method and axis, and the wall time of each run. The issue's floor is
r = 0.72 (valence) / 0.57 (arousal); the aim r >= 0.80 / 0.65.

``--finetune``: the ``finetune`` method instead, in an empty cache folder:

* ``evaluate``: one seeded 8:1:1 split (one training on 80 % of the words), r / MAE /
  coverage on the held-out 10 % as single words and inside topic phrases;
* ``train``: ``emoconvey intents train`` (90 % of the words, 10 % calibration);
* ``from-text first``: the first :func:`intents_from_text` of five phrases after
  training (loads the cached model); ``from-text warm``: the same call again.

Goal (issue 19): r >= 0.90 valence, >= 0.72 arousal on held-out words, phrases within
0.05, coverage within 2 points of nominal, training < 15 min on 2 cores.

Usage::

    python benchmarks/intents_text.py --norms Ratings_Warriner_et_al.csv [--json]
    python benchmarks/intents_text.py --norms Ratings_Warriner_et_al.csv --finetune \\
        [--epochs 2] [--threads 2] [--skip-evaluate]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from emoconvey.intents.text import evaluate_text_methods

PHRASES = ["a melancholic piano ballad", "an ecstatic festival anthem",
           "cheerful upbeat summer pop", "a tense horror soundtrack", "xqzzy blorf"]


def _finetune(args: argparse.Namespace) -> list[dict]:
    from emoconvey.intents.finetune import FinetuneParams
    from emoconvey.intents.text import finetuned_model, intents_from_text

    params = FinetuneParams(epochs=args.epochs, threads=args.threads)
    out = []
    with tempfile.TemporaryDirectory() as cache:
        if not args.skip_evaluate:
            df = evaluate_text_methods(args.norms, methods=["finetune"], protocol="8:1:1",
                                       model=args.model, finetune_params=params,
                                       progress=args.progress)
            out += [{"run": "evaluate", **rec} for rec in df.to_dict(orient="records")]
        t0 = time.perf_counter()
        fm = finetuned_model(args.norms, model=args.model, cache_dir=cache, params=params,
                             progress=args.progress)
        out.append({"run": "train", "total_s": round(time.perf_counter() - t0, 1),
                    "train_words": fm.meta["train_words"], "steps": fm.meta["steps"]})
        for run in ("from-text first", "from-text warm"):
            t0 = time.perf_counter()
            df = intents_from_text(PHRASES, norms=args.norms, method="finetune",
                                   model=args.model, cache_dir=cache, finetune_params=params)
            out.append({"run": run, "total_s": round(time.perf_counter() - t0, 2),
                        "targets": df[["text", "norm_valence", "norm_arousal"]].round(2)
                        .to_dict(orient="records")})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--norms", type=Path, required=True)
    parser.add_argument("--model", default=None)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--finetune", action="store_true", help="benchmark method finetune")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-evaluate", action="store_true")
    parser.add_argument("--progress", action="store_true")
    args = parser.parse_args()
    out = []
    if args.finetune:
        out = _finetune(args)
    else:
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
        if "axis" in rec:
            print(
                f"{rec['run']:8s} {rec['method']:9s} {rec['unit']:6s} {rec['axis']:8s} "
                f"r={rec['r']:.3f} mae={rec['mae']:.3f} coverage={rec['coverage']:.3f} "
                f"n={rec['n']:5d} {rec['protocol']} "
                f"run {rec.get('total_s', rec['seconds']):.1f} s"
            )
        else:
            print(f"{rec['run']:16s} {rec['total_s']:.2f} s "
                  f"{ {k: v for k, v in rec.items() if k not in ('run', 'total_s')} }")


if __name__ == "__main__":
    main()
