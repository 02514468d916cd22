"""``handcrafted``: weight-free music-emotion cues computed with librosa.

The cues music emotion research relates to arousal and valence (Juslin & Laukka, 2004;
Eerola & Vuoskoski, 2013; the MIRtoolbox feature set of Lartillot & Toiviainen, 2007),
from one STFT of the clip at 22.05 kHz (2048-sample frames, hop 512), summarised over
time (mean and standard deviation unless stated):

* rhythm: tempo (librosa's onset-autocorrelation estimate, BPM), **pulse clarity** (the
  largest normalised autocorrelation of the onset-strength envelope at lags of
  40-240 BPM, after Lartillot et al., 2008), onset rate (onsets per second), onset
  strength;
* dynamics: **loudness level** (mean RMS in dB), **loudness range** (95th minus 5th
  percentile of the frame RMS in dB), its standard deviation;
* timbre: spectral centroid, roll-off (85 %), flatness, the seven octave-band spectral
  contrasts, zero-crossing rate, 13 MFCCs;
* tonality: **key clarity** and **mode** from the Krumhansl-Kessler key profiles
  (Krumhansl, 1990): the mean chroma vector is correlated (Pearson) with the 24 rotated
  major and minor profiles; key clarity is the largest correlation, mode the best major
  minus the best minor correlation (positive: major, as in MIRtoolbox ``mirmode``);
  chroma entropy;
* texture: **harmonic/percussive balance** :math:`E_H / (E_H + E_P)` from median-filtering
  HPSS (Fitzgerald, 2010) of the mel power spectrogram.

:data:`FEATURE_NAMES` lists the columns in order.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from emoconvey.errors import EmoconveyError
from emoconvey.predict.extractors.base import Extractor, load_audio

__all__ = ["FEATURE_NAMES", "KK_MAJOR", "KK_MINOR", "HandcraftedExtractor", "clip_features"]

log = logging.getLogger(__name__)

SR = 22050
N_FFT = 2048
HOP = 512

KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
"""Krumhansl-Kessler major key profile (C major; Krumhansl, 1990)."""
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
"""Krumhansl-Kessler minor key profile (C minor)."""


def _names() -> list[str]:
    names = ["tempo_bpm", "pulse_clarity", "onset_rate", "onset_strength_mean",
             "onset_strength_std", "loudness_db_mean", "loudness_db_std", "loudness_range_db"]
    for f in ("centroid", "rolloff", "flatness", "zcr"):
        names += [f"{f}_mean", f"{f}_std"]
    names += [f"contrast{b}_mean" for b in range(7)]
    names += [f"contrast{b}_std" for b in range(7)]
    names += [f"mfcc{k}_mean" for k in range(13)]
    names += [f"mfcc{k}_std" for k in range(13)]
    names += ["key_clarity", "mode", "chroma_entropy", "harmonic_ratio"]
    return names


FEATURE_NAMES: tuple[str, ...] = tuple(_names())


def _key_profiles() -> np.ndarray:
    rows = [np.roll(KK_MAJOR, k) for k in range(12)] + [np.roll(KK_MINOR, k) for k in range(12)]
    prof = np.asarray(rows)
    prof = prof - prof.mean(axis=1, keepdims=True)
    return prof / np.linalg.norm(prof, axis=1, keepdims=True)


_PROFILES = _key_profiles()


def _ms(x: np.ndarray) -> list[float]:
    return [float(np.mean(x)), float(np.std(x))]


def clip_features(y: np.ndarray, sr: int = SR) -> np.ndarray:
    """The :data:`FEATURE_NAMES` vector of mono samples ``y`` at ``sr`` Hz."""
    import librosa

    y = np.asarray(y, dtype=np.float32)
    duration = len(y) / sr
    S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP))
    power = S**2
    mel = librosa.feature.melspectrogram(S=power, sr=sr, n_mels=64)
    logmel = librosa.power_to_db(mel, ref=1.0, top_db=None)

    env = librosa.onset.onset_strength(S=logmel, sr=sr, hop_length=HOP)
    tempo = float(np.atleast_1d(
        librosa.feature.tempo(onset_envelope=env, sr=sr, hop_length=HOP)
    )[0])
    ac = librosa.autocorrelate(env - env.mean())
    fps = sr / HOP
    lo, hi = int(fps * 60 / 240), int(fps * 60 / 40) + 1
    pulse = float(np.max(ac[lo:hi]) / ac[0]) if ac[0] > 0 and len(ac) > lo else 0.0
    onsets = librosa.onset.onset_detect(onset_envelope=env, sr=sr, hop_length=HOP)
    feats: list[float] = [tempo, pulse, len(onsets) / duration, *_ms(env)]

    rms = librosa.feature.rms(S=S, frame_length=N_FFT)[0]
    db = 20.0 * np.log10(rms + 1e-6)
    p5, p95 = np.percentile(db, [5, 95])
    feats += [float(np.mean(db)), float(np.std(db)), float(p95 - p5)]

    feats += _ms(librosa.feature.spectral_centroid(S=S, sr=sr)[0] / 1000.0)
    feats += _ms(librosa.feature.spectral_rolloff(S=S, sr=sr)[0] / 1000.0)
    feats += _ms(librosa.feature.spectral_flatness(S=S)[0])
    feats += _ms(librosa.feature.zero_crossing_rate(y, frame_length=N_FFT, hop_length=HOP)[0])
    contrast = librosa.feature.spectral_contrast(S=S, sr=sr)
    feats += contrast.mean(axis=1).tolist() + contrast.std(axis=1).tolist()
    mfcc = librosa.feature.mfcc(S=logmel, n_mfcc=13)
    feats += mfcc.mean(axis=1).tolist() + mfcc.std(axis=1).tolist()

    chroma = librosa.feature.chroma_stft(S=power, sr=sr)
    mean_chroma = chroma.mean(axis=1)
    centred = mean_chroma - mean_chroma.mean()
    norm = np.linalg.norm(centred)
    if norm > 0:
        corr = _PROFILES @ (centred / norm)
        key_clarity = float(corr.max())
        mode = float(corr[:12].max() - corr[12:].max())
    else:
        key_clarity = mode = 0.0
    p = mean_chroma / mean_chroma.sum() if mean_chroma.sum() > 0 else np.full(12, 1 / 12)
    entropy = float(-(p * np.log2(np.clip(p, 1e-12, None))).sum())

    harm, perc = librosa.decompose.hpss(mel, kernel_size=(17, 9))
    eh, ep = float(harm.sum()), float(perc.sum())
    hratio = eh / (eh + ep) if eh + ep > 0 else 0.5
    feats += [key_clarity, mode, entropy, hratio]
    return np.asarray(feats, dtype=np.float32)


@functools.cache
def warm_up() -> None:
    """Import librosa's modules and load numba's compiled functions once in this process.

    Worker processes forked afterwards inherit them instead of each paying seconds.
    """
    clip_features(np.random.default_rng(0).normal(0, 0.1, SR).astype(np.float32), SR)


def _file_features(path: str) -> np.ndarray:
    from emoconvey.predict._threads import single_threaded

    with single_threaded():
        return clip_features(load_audio(path, SR), SR)


class HandcraftedExtractor(Extractor):
    """Music-emotion cues from librosa (see the module docstring), parallel over processes.

    Parameters
    ----------
    workers : int, optional
        Processes (default: every core the process may use; 1 runs in-process).
    """

    id = "handcrafted"
    version = "1"

    def __init__(self, *, workers: int | None = None) -> None:
        if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
            raise EmoconveyError(f"workers: expected a positive integer, got {workers!r}")
        self.workers = int(workers) if workers is not None else len(os.sched_getaffinity(0))

    @property
    def feature_names(self) -> tuple[str, ...]:
        return FEATURE_NAMES

    def extract(self, paths: Sequence[str], *, progress: Callable[[int], None] | None = None
                ) -> np.ndarray:
        out = np.zeros((len(paths), len(FEATURE_NAMES)), dtype=np.float32)
        if self.workers <= 1 or len(paths) < 2:
            for i, p in enumerate(paths):
                out[i] = _file_features(p)
                if progress is not None:
                    progress(1)
            return out
        warm_up()
        workers = min(self.workers, len(paths))
        with ProcessPoolExecutor(max_workers=workers) as pool:
            chunk = max(1, min(16, len(paths) // (4 * workers)))
            for i, vec in enumerate(pool.map(_file_features, paths, chunksize=chunk)):
                out[i] = vec
                if progress is not None:
                    progress(1)
        return out
