"""Speed and sanity of automatic rating prediction (``emoconvey.predict``).

Measures, each part in a fresh process so that peak memory is its own:

* ``rtf``: ``handcrafted`` feature extraction of 10-s clips (22.05 kHz synthetic music)
  as a real-time factor (seconds of computing per second of audio; lower is faster),
  on one core (in-process, median per clip, after the one-off import/JIT warm-up, which
  is reported separately) and on all cores (process pool, wall time over all clips).
  Goal: a 10-s clip in under 0.3 s of one core (RTF < 0.03).
* ``train``: fitting and 5-fold by-system evaluation (bootstrap CIs included) of the
  ``ridge`` and ``mlp`` heads on 1,000 and 10,000 clips of synthetic 60-d features
  (40 systems), wall time and peak resident memory.
* ``ood`` (``--parts ood``): the out-of-distribution check (:mod:`emoconvey.predict.ood`)
  of a ``handcrafted`` + ``ridge`` model trained on the synthetic rated set: share of
  clips flagged at the nominal 5 % on held-out in-distribution clips (new systems of
  the same generator; should stay near 5 %), on clips of another generator (the
  ``cues`` backend's numpy renderer) and on white noise (should be near 100 %).
* ``agreement``: learned vs shuffled-label agreement of ``handcrafted`` + ``ridge`` on
  held-out systems of the synthetic rated set (:mod:`emoconvey.predict.synthetic`), the
  control also summarised over 20 permutations.
* ``temporal``: on a synthetic rated set whose score depends on *when* things happen
  (:func:`emoconvey.predict.synthetic.write_temporal_set`: the order of loudness
  segments, build-up or fade, not their distribution), ``mel-frames`` features, the
  ``temporal`` head (each loss) against pooled ``ridge``/``mlp`` on the frames' mean and
  sd, 5-fold by-system; held-out MSE/LCC/SRCC at utterance and system level, training
  time per training clip (the 5 fold fits) and inference time per clip.

Usage::

    PYTHONPATH=src python benchmarks/prediction.py [--clips 16] [--sizes 1000 10000]
        [--heads ridge mlp] [--systems 12 --per-system 12]
        [--parts rtf train agreement temporal ood]
        [--temporal-heads ridge mlp temporal-l1 ...]
        [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def part_rtf(n_clips: int) -> dict[str, object]:
    import soundfile as sf

    from emoconvey.predict.extractors.handcrafted import SR, HandcraftedExtractor, warm_up
    from emoconvey.predict.synthetic import synthesize_clip

    duration = 10.0
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for k in range(n_clips):
            p = Path(tmp) / f"clip{k}.wav"
            y = synthesize_clip(1 + 8 * k / max(1, n_clips - 1), 9 - 8 * k / max(1, n_clips - 1),
                                seed=k, duration=duration, sr=44100)
            sf.write(p, y, 44100)
            paths.append(str(p))
        t0 = time.perf_counter()
        warm_up()
        warm = time.perf_counter() - t0
        one = HandcraftedExtractor(workers=1)
        wall, cpu = [], []
        for p in paths:
            w0, c0 = time.perf_counter(), time.process_time()
            one.extract([p])
            wall.append(time.perf_counter() - w0)
            cpu.append(time.process_time() - c0)
        cores = len(os.sched_getaffinity(0))
        many = HandcraftedExtractor(workers=cores)
        t0 = time.perf_counter()
        many.extract(paths)
        pool_wall = time.perf_counter() - t0
    return {
        "part": "rtf", "clips": n_clips, "clip_s": duration, "sample_rate_in": 44100,
        "analysis_rate": SR, "warm_up_s": warm,
        "one_core_median_s_per_clip": statistics.median(wall),
        "one_core_median_cpu_s_per_clip": statistics.median(cpu),
        "one_core_rtf": statistics.median(wall) / duration,
        "cores": cores, "all_cores_wall_s": pool_wall,
        "all_cores_rtf": pool_wall / (n_clips * duration),
        "peak_rss_mib": _peak_mib(),
    }


def part_train(n: int, head: str) -> dict[str, object]:
    import numpy as np
    import pandas as pd

    from emoconvey.predict.datasets import BASE_COLUMNS, RatedClips
    from emoconvey.predict.model import cross_validate, fit_predictor

    rng = np.random.default_rng(0)
    n_sys, d = 40, 60
    system = rng.integers(0, n_sys, n)
    latent = rng.uniform(1, 9, (n, 2)) + rng.normal(0, 0.8, (n_sys, 2))[system]
    mix = rng.normal(0, 1, (2, d))
    X = latent @ mix + rng.normal(0, 2.0, (n, d)) + rng.normal(0, 0.5, (n_sys, d))[system]
    clips = pd.DataFrame({c: [None] * n for c in BASE_COLUMNS})
    clips["clip_id"] = [f"c{i}" for i in range(n)]
    clips["audio_file"] = clips["clip_id"]
    clips["system"] = [f"S{s:02d}" for s in system]
    clips["valence"], clips["arousal"] = latent[:, 0], latent[:, 1]
    data = RatedClips(clips, ("valence", "arousal"), {"valence": (1, 9), "arousal": (1, 9)})
    t0 = time.perf_counter()
    metrics, _ = cross_validate(data, X, split="by-system", head=head, n_boot=1000)
    cv_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    fit_predictor(data, X, extractor={"id": "synthetic"}, head=head)
    fit_s = time.perf_counter() - t0
    utt = metrics[(metrics.level == "utterance")].set_index("target")["LCC"]
    return {"part": "train", "head": head, "clips": n, "features": d, "systems": n_sys,
            "cv_5fold_s": cv_s, "final_fit_s": fit_s, "peak_rss_mib": _peak_mib(),
            "heldout_LCC_valence": float(utt["valence"]),
            "heldout_LCC_arousal": float(utt["arousal"])}


def part_agreement(n_systems: int, per_system: int) -> dict[str, object]:
    from emoconvey.predict.datasets import from_table
    from emoconvey.predict.extractors import get_extractor
    from emoconvey.predict.model import cross_validate
    from emoconvey.predict.pipeline import featurise
    from emoconvey.predict.synthetic import write_synthetic_set

    with tempfile.TemporaryDirectory() as tmp:
        write_synthetic_set(tmp, n_systems=n_systems, clips_per_system=per_system, seed=0)
        data = from_table(Path(tmp) / "ratings.csv")
        X, _, _ = featurise(get_extractor("handcrafted"), data.clips["audio_file"].tolist(),
                            use_cache=False)
    learned, _ = cross_validate(data, X, split="by-system", n_boot=1000)
    shuffled, _ = cross_validate(data, X, split="by-system", shuffle_labels=True, n_boot=1000)
    cols = ["target", "level", "split", "n", "MSE", "LCC", "SRCC", "KTAU", "LCC_ci_low",
            "LCC_ci_high"]
    rows = [*learned[cols].to_dict("records"), *shuffled[cols].to_dict("records")]
    # the control over 20 permutations: its LCC should scatter around 0
    lcc: dict[str, list[float]] = {}
    for k in range(20):
        control, _ = cross_validate(data, X, split="by-system", shuffle_labels=True, seed=k,
                                    n_boot=0)
        for rec in control.to_dict("records"):
            lcc.setdefault(f"{rec['target']}/{rec['level']}", []).append(rec["LCC"])
    spread = {key: {"mean": statistics.mean(v), "sd": statistics.stdev(v)}
              for key, v in lcc.items()}
    return {"part": "agreement", "systems": n_systems, "clips": len(data.clips),
            "records": rows, "shuffled_lcc_20_permutations": spread,
            "peak_rss_mib": _peak_mib()}


TEMPORAL_HEADS = ("ridge", "mlp", "temporal-l1", "temporal-distribution", "temporal-coral")


def part_temporal(n_systems: int, per_system: int, heads: list[str]) -> dict[str, object]:
    import numpy as np

    from emoconvey.predict.datasets import from_table
    from emoconvey.predict.extractors import get_extractor
    from emoconvey.predict.model import cross_validate, fit_predictor
    from emoconvey.predict.pipeline import featurise
    from emoconvey.predict.synthetic import write_temporal_set

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        write_temporal_set(tmp, n_systems=n_systems, clips_per_system=per_system, seed=0)
        synth_s = time.perf_counter() - t0
        data = from_table(Path(tmp) / "ratings.csv")
        ext = get_extractor("mel-frames")
        t0 = time.perf_counter()
        frames, _, _ = featurise(ext, data.clips["audio_file"].tolist(), use_cache=False,
                                 frames=True)
        extract_s = time.perf_counter() - t0
    pooled = frames.pooled()  # the same frames' mean and sd, what pooled heads see
    rows = []
    for name in heads:
        head, _, loss = name.partition("-")
        X = frames if head == "temporal" else pooled
        params = {"loss": loss} if loss else None
        t0 = time.perf_counter()
        metrics, _ = cross_validate(data, X, split="by-system", head=head, n_boot=0,
                                    head_params=params)
        cv_s = time.perf_counter() - t0
        model = fit_predictor(data, X, extractor={"id": ext.id}, head=head, head_params=params)
        t0 = time.perf_counter()
        model.predict(X)
        infer_s = time.perf_counter() - t0
        rec = {(m["level"], k): m[k] for m in metrics.to_dict("records")
               for k in ("MSE", "LCC", "SRCC")}
        n_train = len(data.clips) * 4  # 5 folds, each training on 4/5 of the clips
        rows.append({
            "head": name, "features": "frames" if head == "temporal" else "mean+sd",
            "train_ms_per_clip": 1000 * cv_s / n_train,
            "infer_ms_per_clip": 1000 * infer_s / len(data.clips),
            **{f"{lvl}_{k}": float(v) for (lvl, k), v in rec.items()},
        })
    return {"part": "temporal", "systems": n_systems, "clips": len(data.clips),
            "frames_per_clip": float(np.median(frames.lengths)), "frame_dim": frames.dim,
            "synthesis_s": synth_s, "extraction_s": extract_s, "rows": rows,
            "peak_rss_mib": _peak_mib()}


def _ood_clips(folder: Path, kind: str, n: int) -> None:
    """``n`` 3-s clips of another generator (``cues``) or white noise under ``folder``."""
    import numpy as np
    import soundfile as sf

    from emoconvey.generate.backends.cues import render_cues

    rng = np.random.default_rng(5)
    (folder / kind).mkdir(parents=True)
    for k in range(n):
        if kind == "cues":
            g = render_cues(*rng.uniform(1.5, 8.5, 2), seconds=3.0, seed=k, renderer="numpy")
            y, sr = g.audio.mean(axis=0), g.sample_rate
        else:
            y, sr = (0.2 * rng.standard_normal(3 * 22050)).astype(np.float32), 22050
        sf.write(folder / kind / f"{kind}_{k}.wav", y, sr)


def part_ood(n_systems: int, per_system: int) -> dict[str, object]:
    from emoconvey.predict.datasets import from_table
    from emoconvey.predict.pipeline import run_predictor, train_predictor
    from emoconvey.predict.synthetic import write_synthetic_set

    shares: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_synthetic_set(root / "train", n_systems=n_systems, clips_per_system=per_system,
                            seed=0)
        t0 = time.perf_counter()
        model = train_predictor(from_table(root / "train" / "ratings.csv"), n_boot=0,
                                cache_dir=root / "cache").model
        train_s = time.perf_counter() - t0
        write_synthetic_set(root / "heldout", n_systems=n_systems, clips_per_system=per_system,
                            seed=1)
        sets = {"in-distribution (new systems)": root / "heldout"}
        for kind in ("cues", "noise"):
            _ood_clips(root / kind, kind, 2 * per_system)
            sets[{"cues": "another generator (cues)", "noise": "white noise"}[kind]] = (
                root / kind)
        for name, folder in sets.items():
            t0 = time.perf_counter()
            pred = run_predictor(model, folder, cache_dir=root / "cache")
            shares[name] = {"clips": len(pred), "share_ood": float(pred["ood"].mean()),
                            "share_extrapolated": float(pred["extrapolated"].mean()),
                            "share_clamped": float(pred["clamped"].mean()),
                            "s_per_clip": (time.perf_counter() - t0) / len(pred)}
    return {"part": "ood", "systems": n_systems, "train_clips": n_systems * per_system,
            "alpha": model.ood.alpha if model.ood else None, "train_s": train_s,
            "sets": shares, "peak_rss_mib": _peak_mib()}


def _print_ood(r: dict[str, object]) -> None:
    print(f"OOD check of handcrafted + ridge trained on {r['train_clips']} synthetic clips "
          f"({r['systems']} systems), nominal rate {r['alpha']}:")
    for name, v in r["sets"].items():  # type: ignore[attr-defined]
        print(f"  {name:32s} {v['clips']:4d} clips: {100 * v['share_ood']:5.1f} % flagged OOD, "
              f"{100 * v['share_extrapolated']:5.1f} % extrapolated, "
              f"{100 * v['share_clamped']:5.1f} % clamped ({v['s_per_clip']:.3f} s/clip)")


def _child(args: argparse.Namespace) -> None:
    kind = args.child
    if kind == "rtf":
        out = part_rtf(args.clips)
    elif kind == "train":
        out = part_train(args.size, args.head)
    elif kind == "temporal":
        out = part_temporal(args.systems, args.per_system, args.temporal_heads)
    elif kind == "ood":
        out = part_ood(args.systems, args.per_system)
    else:
        out = part_agreement(args.systems, args.per_system)
    sys.stdout.write(json.dumps(out) + "\n")


def _run(extra: list[str]) -> dict[str, object]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, __file__, *extra], capture_output=True, text=True,
                          check=True, env=env)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _print_temporal(r: dict) -> None:
    print(f"order-dependent synthetic set, {r['clips']} clips from {r['systems']} systems, "
          f"mel-frames ({r['frames_per_clip']:.0f} frames x {r['frame_dim']}), 5-fold by-system:")
    print(f"  {'head':22s} {'input':8s} {'MSE':>6s} {'LCC':>6s} {'SRCC':>6s} {'sysSRCC':>7s} "
          f"{'train ms/clip':>13s} {'infer ms/clip':>13s}")
    for h in r["rows"]:
        print(f"  {h['head']:22s} {h['features']:8s} {h['utterance_MSE']:6.2f} "
              f"{h['utterance_LCC']:6.3f} {h['utterance_SRCC']:6.3f} {h['system_SRCC']:7.3f} "
              f"{h['train_ms_per_clip']:13.1f} {h['infer_ms_per_clip']:13.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=16, help="10-s clips for the RTF")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--heads", nargs="+", default=["ridge", "mlp"])
    parser.add_argument("--systems", type=int, default=12)
    parser.add_argument("--per-system", type=int, default=12)
    parser.add_argument("--parts", nargs="+",
                        default=["rtf", "train", "agreement", "temporal", "ood"])
    parser.add_argument("--temporal-heads", nargs="+", default=list(TEMPORAL_HEADS),
                        choices=TEMPORAL_HEADS)
    parser.add_argument("--json", action="store_true", help="print JSON rows only")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--head", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args)
        return
    rows = []
    common = ["--clips", str(args.clips), "--systems", str(args.systems), "--per-system",
              str(args.per_system)]
    if "rtf" in args.parts:
        rows.append(_run([*common, "--child", "rtf"]))
    if "train" in args.parts:
        for head in args.heads:
            for n in args.sizes:
                rows.append(_run([*common, "--child", "train", "--size", str(n), "--head", head]))
    if "agreement" in args.parts:
        rows.append(_run([*common, "--child", "agreement"]))
    if "temporal" in args.parts:
        rows.append(_run([*common, "--child", "temporal", "--temporal-heads",
                          *args.temporal_heads]))
    if "ood" in args.parts:
        rows.append(_run([*common, "--child", "ood"]))
    if args.json:
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    for r in rows:
        if r["part"] == "rtf":
            print(f"handcrafted extraction, {r['clips']} clips of {r['clip_s']:.0f} s "
                  f"(44.1 kHz in, analysed at {r['analysis_rate']} Hz):")
            print(f"  one-off warm-up (imports, numba cache): {r['warm_up_s']:.2f} s")
            print(f"  one core: median {r['one_core_median_s_per_clip']:.3f} s wall / "
                  f"{r['one_core_median_cpu_s_per_clip']:.3f} s CPU per 10-s clip, "
                  f"RTF {r['one_core_rtf']:.4f} (goal < 0.03)")
            print(f"  all {r['cores']} cores: {r['all_cores_wall_s']:.2f} s for "
                  f"{r['clips']} clips, RTF {r['all_cores_rtf']:.4f}")
        elif r["part"] == "temporal":
            _print_temporal(r)
        elif r["part"] == "ood":
            _print_ood(r)
        elif r["part"] == "train":
            print(f"{r['head']:5s} {r['clips']:6d} clips x {r['features']} features, "
                  f"{r['systems']} systems: 5-fold by-system CV {r['cv_5fold_s']:.2f} s, "
                  f"final fit {r['final_fit_s']:.2f} s, peak RSS {r['peak_rss_mib']:.0f} MiB, "
                  f"held-out LCC valence {r['heldout_LCC_valence']:.3f} "
                  f"arousal {r['heldout_LCC_arousal']:.3f}")
        else:
            print(f"synthetic rated set, {r['clips']} clips from {r['systems']} systems, "
                  "handcrafted + ridge, 5-fold by-system (bootstrap 95 % CI of LCC):")
            print(f"  {'target':8s} {'level':9s} {'split':19s} {'n':>4s} {'MSE':>7s} "
                  f"{'LCC':>7s} {'SRCC':>7s} {'KTAU':>7s}  LCC 95 % CI")
            for m in r["records"]:
                print(f"  {m['target']:8s} {m['level']:9s} {m['split']:19s} {m['n']:4d} "
                      f"{m['MSE']:7.3f} {m['LCC']:7.3f} {m['SRCC']:7.3f} {m['KTAU']:7.3f}  "
                      f"[{m['LCC_ci_low']:.3f}, {m['LCC_ci_high']:.3f}]")
            print("  shuffled-label control over 20 permutations (seeds 0-19), LCC mean (sd):")
            for key, v in r["shuffled_lcc_20_permutations"].items():
                print(f"    {key:20s} {v['mean']:+.3f} ({v['sd']:.3f})")


if __name__ == "__main__":
    main()
