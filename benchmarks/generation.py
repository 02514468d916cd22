"""Speed of the generation protocol, its Ray runner and the ``cues`` generator.

Measures, and prints as text and then as one JSON document:

* ``overhead``: the protocol's own cost per clip (crop, two WAV writes, two SHA-256,
  manifest row) with a backend that returns ready-made audio, for 30 s clips at 32 kHz
  mono (MusicGen) and 44.1 kHz stereo (Stable Audio Open). Goal: under 20 ms per clip.
* ``ray``: the same 72 clips (12 with ``--quick``) of a CPU-bound backend (``cues`` with
  its numpy renderer, one thread) locally and on a local Ray cluster with 2 workers; ratio
  local / Ray, cluster start excluded, actor start included (about 1.5 s, which is why
  a few dozen clips understate the speed-up). Goal: at least 1.6x (needs 2 idle cores).
* ``cues``: time per 30 s clip of the ``cues`` generator with each renderer; wall time and
  CPU time (this process plus FluidSynth's). Goal: under 0.5 s on one core.
* ``tiny``: clips/s of each model backend on a tiny randomly initialised checkpoint
  (``emoconvey.generate.tiny.build_tiny_checkpoint``; 2 s clips, 10 diffusion steps;
  rows are skipped with a note when that module or a backend is not installed).
* ``real`` (``--real``): real-time factor (generation seconds per second of audio) of each
  model backend with its default weights, on the best device, when the weights are in the
  local Hugging Face cache (nothing is downloaded).

Usage::

    python benchmarks/generation.py [--quick] [--skip-ray] [--real] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np

from emoconvey.generate.backends.base import (
    Backend,
    GeneratedAudio,
    GenerationRequest,
)
from emoconvey.intents import aimoclips_intents

DIFFUSION_BACKENDS = ("audioldm2", "stable-audio", "diffusers")
TINY_STEPS = 10  # diffusion steps on tiny models (the defaults, ~200, measure the sampler)
TINY_BACKENDS = ("musicgen", "audioldm2", "stable-audio", "diffusers", "transformers")
MODEL_BACKENDS = ("musicgen", "audioldm2", "stable-audio", "mustango", "diffusers",
                  "transformers")


class ReadyMadeBackend(Backend):
    """Returns the same pre-computed clip: the run's time is the protocol's."""

    name = "ready-made"
    extra = ""

    def load(self) -> None:
        rate = int(self.options.get("rate", 32000))
        channels = int(self.options.get("channels", 1))
        rng = np.random.default_rng(0)
        self.audio = (0.1 * rng.standard_normal((channels, 30 * rate))).astype(np.float32)
        self.rate = rate

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GeneratedAudio]:
        return [GeneratedAudio(self.audio, self.rate) for _ in requests]


def _intents(n: int):
    return aimoclips_intents().iloc[:n].reset_index(drop=True)


def bench_overhead(quick: bool) -> list[dict]:
    from emoconvey.generate.run import run_generation

    rows = []
    n_per = 2 if quick else 5
    for label, rate, channels in (("32 kHz mono", 32000, 1), ("44.1 kHz stereo", 44100, 2)):
        with tempfile.TemporaryDirectory() as tmp:
            kw = {"backend": ReadyMadeBackend, "system": "Bench", "out": tmp,
                  "intents": _intents(12), "clips_per_intent": n_per, "seconds": 30.0,
                  "device": "cpu", "options": {"rate": rate, "channels": channels}}
            t0, c0 = time.perf_counter(), time.process_time()
            df = run_generation(**kw)
            total, cpu = time.perf_counter() - t0, time.process_time() - c0
            t0 = time.perf_counter()
            run_generation(**kw)  # everything present: hashing and manifest only
            resume = time.perf_counter() - t0
        n = len(df)
        backend = float(df["wall_seconds"].sum())  # ~0: the backend returns ready audio
        rows.append({"clip": label, "clips": n,
                     "overhead_ms_per_clip": 1000 * (total - backend) / n,
                     "overhead_cpu_ms_per_clip": 1000 * cpu / n,
                     "resume_check_ms_per_clip": 1000 * resume / n})
    return rows


def bench_ray(quick: bool) -> dict:
    from emoconvey.generate.run import run_generation

    try:
        import ray
    except ImportError:
        return {"note": "ray is not installed"}
    n_per = 1 if quick else 6
    kw = {"backend": "cues", "system": "Cues", "intents": _intents(12),
          "clips_per_intent": n_per, "seconds": 30.0, "device": "cpu",
          "options": {"renderer": "numpy"}}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_generation(out=Path(tmp) / "local", **kw)
        local = time.perf_counter() - t0
        t0 = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        start = time.perf_counter() - t0
        try:
            t0 = time.perf_counter()
            run_generation(out=Path(tmp) / "ray", ray=True, **kw)
            on_ray = time.perf_counter() - t0
        finally:
            ray.shutdown()
        same = _digest(Path(tmp) / "local") == _digest(Path(tmp) / "ray")
    n = 12 * n_per
    return {"clips": n, "local_s": local, "ray_s": on_ray, "ray_start_s": start,
            "speedup": local / on_ray, "cpus_seen": os.cpu_count(),
            "load_avg_1min": os.getloadavg()[0], "identical_output": same}


def _digest(root: Path) -> dict[str, bytes]:
    import hashlib

    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).digest()
            for p in root.rglob("*.wav")}


def bench_cues(quick: bool) -> list[dict]:
    from emoconvey.generate.backends.cues import fluidsynth_available, render_cues

    points = [(8.0, 7.0), (2.5, 7.0), (2.5, 2.5), (7.5, 2.5)]
    repeats = 1 if quick else 3
    rows = []
    renderers = ["numpy"] + (["fluidsynth"] if fluidsynth_available() else [])
    for renderer in renderers:
        walls, cpus = [], []
        for r in range(repeats):
            for i, (v, a) in enumerate(points):
                c0 = _cpu()
                t0 = time.perf_counter()
                render_cues(v, a, seconds=30.0, seed=r * 10 + i, renderer=renderer)
                walls.append(time.perf_counter() - t0)
                cpus.append(_cpu() - c0)
        rows.append({"renderer": renderer, "clips": len(walls),
                     "wall_s_median": statistics.median(walls), "wall_s_max": max(walls),
                     "cpu_s_median": statistics.median(cpus)})
    if "fluidsynth" not in renderers:
        rows.append({"renderer": "fluidsynth", "note": "fluidsynth or the GM soundfont is "
                     "not installed"})
    return rows


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def bench_tiny(quick: bool) -> list[dict]:
    from emoconvey.generate.run import run_generation

    try:
        from emoconvey.generate.tiny import build_tiny_checkpoint
    except ImportError as exc:
        return [{"backend": "*", "note": f"tiny checkpoints unavailable ({exc})"}]
    rows = []
    for name in TINY_BACKENDS:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                ckpt = build_tiny_checkpoint(name, Path(tmp) / "ckpt")
                kw = {"backend": name, "checkpoint": ckpt, "system": "Tiny",
                      "out": Path(tmp) / "out", "intents": _intents(2),
                      "clips_per_intent": 1 if quick else 2, "seconds": 2.0, "crop": 1.0,
                      "device": "auto",
                      "options": ({"num_inference_steps": TINY_STEPS}
                                  if name in DIFFUSION_BACKENDS else {})}
                t0 = time.perf_counter()
                df = run_generation(**kw)
                wall = time.perf_counter() - t0
            except Exception as exc:  # a backend not installed or not buildable here
                rows.append({"backend": name, "note": f"{type(exc).__name__}: {exc}"[:200]})
                continue
        rows.append({"backend": name, "clips": len(df), "clips_per_s": len(df) / wall,
                     "device": str(df["device"].iloc[0]),
                     "overhead_share": 1 - float(df["wall_seconds"].sum()) / wall})
    return rows


def bench_real() -> list[dict]:
    from emoconvey.generate.backends.registry import get_backend
    from emoconvey.generate.run import run_generation

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rows = []
    for name in MODEL_BACKENDS:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                cls = get_backend(name)
                seconds = float(min(30.0, cls.max_seconds or 30.0))
                df = run_generation(backend=name, system="Real", out=tmp,
                                    intents=_intents(1), clips_per_intent=2, seconds=seconds,
                                    crop=min(10.0, 0.7 * seconds), device="auto")
            except Exception as exc:
                rows.append({"backend": name, "note": f"{type(exc).__name__}: {exc}"[:200]})
                continue
        gen = df["wall_seconds"].to_numpy(dtype=float)
        rows.append({"backend": name, "checkpoint": str(df["checkpoint"].iloc[0]),
                     "device": str(df["device"].iloc[0]), "seconds": seconds,
                     "rtf_median": float(np.median(gen / df["full_seconds"].to_numpy(float)))})
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer clips (smoke test)")
    ap.add_argument("--skip-ray", action="store_true", help="leave out local vs Ray")
    ap.add_argument("--skip-tiny", action="store_true", help="leave out tiny-model backends")
    ap.add_argument("--real", action="store_true", help="real weights: real-time factors")
    ap.add_argument("--json", action="store_true", help="print only the JSON document")
    args = ap.parse_args(argv)
    result: dict = {"python": sys.version.split()[0], "cpus": os.cpu_count()}
    result["overhead"] = bench_overhead(args.quick)
    result["cues"] = bench_cues(args.quick)
    result["ray"] = None if args.skip_ray else bench_ray(args.quick)
    result["tiny"] = None if args.skip_tiny else bench_tiny(args.quick)
    result["real"] = bench_real() if args.real else None
    if not args.json:
        _print_text(result)
    print(json.dumps(result, indent=None if args.json else 1, default=str))
    return 0


def _print_text(r: dict) -> None:
    print("protocol overhead per clip (goal < 20 ms):")
    for row in r["overhead"]:
        print(f"  {row['clip']:>16}: wall {row['overhead_ms_per_clip']:6.1f} ms, CPU "
              f"{row['overhead_cpu_ms_per_clip']:6.1f} ms "
              f"(resume check {row['resume_check_ms_per_clip']:.1f} ms) over {row['clips']} clips")
    print("cues generator per 30 s clip (goal < 0.5 s on one core):")
    for row in r["cues"]:
        if "note" in row:
            print(f"  {row['renderer']:>10}: skipped, {row['note']}")
        else:
            print(f"  {row['renderer']:>10}: wall {row['wall_s_median']:.3f} s median "
                  f"(max {row['wall_s_max']:.3f}), CPU {row['cpu_s_median']:.3f} s")
    ray = r["ray"]
    if ray is not None:
        if "note" in ray:
            print(f"local vs Ray: skipped, {ray['note']}")
        else:
            print(f"local vs Ray 2 workers, {ray['clips']} cues clips (goal >= 1.6x): local "
                  f"{ray['local_s']:.2f} s, Ray {ray['ray_s']:.2f} s (+{ray['ray_start_s']:.1f} s "
                  f"cluster start) -> {ray['speedup']:.2f}x; {ray['cpus_seen']} CPUs, load "
                  f"{ray['load_avg_1min']:.1f}; identical output: {ray['identical_output']}")
    if r["tiny"] is not None:
        print("tiny-model backends:")
        for row in r["tiny"]:
            if "note" in row:
                print(f"  {row['backend']:>12}: skipped, {row['note']}")
            else:
                print(f"  {row['backend']:>12}: {row['clips_per_s']:.2f} clips/s on "
                      f"{row['device']} ({row['clips']} clips of 2 s)")
    if r["real"] is not None:
        print("real weights, real-time factor (generation s per audio s):")
        for row in r["real"]:
            if "note" in row:
                print(f"  {row['backend']:>12}: skipped, {row['note']}")
            else:
                print(f"  {row['backend']:>12}: RTF {row['rtf_median']:.3f} on {row['device']} "
                      f"({row['checkpoint']}, {row['seconds']:g} s)")


if __name__ == "__main__":
    raise SystemExit(main())
