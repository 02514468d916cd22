"""Can valence and arousal be heard in the ``cues`` generator's clips?

For each of the 12 AImoclips intents and a few seeds, renders a clip with the ``cues``
backend and prints, per intent (medians over seeds):

* ``dBFS``: RMS level, :math:`20 \\log_{10} \\sqrt{\\overline{x^2}}`;
* ``notes/s``: notes of the score per second (all parts);
* ``centroid``: spectral centroid (kHz), from the ``handcrafted`` extractor;
* ``mode``: the Krumhansl-Kessler mode estimate of the ``handcrafted`` extractor
  (best major minus best minor correlation of the mean chroma with the 24 rotated KK
  profiles; positive: major), and how many seeds' clips it calls major.

Then the count of intents whose majority mode call matches the intent's valence (major
for high valence, minor for low), the goal being at least 11 of 12.

Usage::

    python benchmarks/cues_valence.py [--seeds 3] [--seconds 10] [--renderer numpy]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from emoconvey.generate.backends.cues import compose, cue_parameters, render_cues
from emoconvey.intents import aimoclips_intents
from emoconvey.predict.extractors.handcrafted import FEATURE_NAMES, SR, clip_features


def _mono_22k(audio: np.ndarray, rate: int) -> np.ndarray:
    import librosa

    y = audio.mean(axis=0)
    return librosa.resample(y, orig_sr=rate, target_sr=SR) if rate != SR else y


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--renderer", default="numpy", choices=("numpy", "fluidsynth"))
    args = ap.parse_args()
    i_mode = FEATURE_NAMES.index("mode")
    i_cent = FEATURE_NAMES.index("centroid_mean")
    right = 0
    print(f"{'intent':<10} {'quad':<6} {'dBFS':>6} {'notes/s':>7} {'centroid':>8} "
          f"{'mode':>6} {'major':>5}")
    for row in aimoclips_intents().itertuples():
        dbfs, rate, cent, modes = [], [], [], []
        for seed in range(args.seeds):
            g = render_cues(row.norm_valence, row.norm_arousal, seconds=args.seconds,
                            seed=seed, renderer=args.renderer)
            dbfs.append(20 * np.log10(np.sqrt(np.mean(g.audio.astype(np.float64) ** 2))))
            cues = cue_parameters(row.norm_valence, row.norm_arousal)
            rate.append(len(compose(cues, seconds=args.seconds, seed=seed)) / args.seconds)
            f = clip_features(_mono_22k(g.audio, g.sample_rate))
            modes.append(float(f[i_mode]))
            cent.append(float(f[i_cent]))
        n_major = sum(m > 0 for m in modes)
        want_major = row.norm_valence >= 5
        right += (n_major * 2 > len(modes)) == want_major
        print(f"{row.intent:<10} {row.quadrant:<6} {statistics.median(dbfs):6.1f} "
              f"{statistics.median(rate):7.1f} {statistics.median(cent):8.2f} "
              f"{statistics.median(modes):+6.3f} {n_major:>3}/{len(modes)}")
    print(f"mode right (majority over seeds): {right} of 12")


if __name__ == "__main__":
    main()
