"""A synthetic but musically meaningful rated set (for tests, benchmarks and demos).

Each clip is synthesised with numpy from a latent valence and arousal (1-9), following
the cues music-emotion research relates them to (Juslin & Laukka, 2004; Gabrielsson &
Lindström, 2010):

* arousal raises the **tempo** (60-180 BPM), the **loudness** (-32 to -8 dBFS), the
  percussion level and the **brightness** (more and stronger harmonics);
* valence sets the **mode** (a I-IV-V-I progression in a major key, or i-iv-v-i in a
  minor key, major with probability :math:`\\sigma(1.2 (v - 5))`), adds **dissonance**
  (a tritone in up to 60 % of the chords of low-valence clips) and raises the
  **register** (18 semitones over the scale).

A "system" has its own timbre (harmonic roll-off), key and a bias of its latent
valence/arousal, so systems differ. The released scores are the latent values plus
listener noise (sd 0.5), rounded to 0.1 as clip means are.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["synthesize_clip", "synthesize_temporal_clip", "write_synthetic_set",
           "write_temporal_set"]

# I-IV-V-I in a major key and i-iv-v-i in a minor key (semitones above the tonic).
_MAJOR = ((0, 4, 7), (5, 9, 12), (7, 11, 14), (0, 4, 7))
_MINOR = ((0, 3, 7), (5, 8, 12), (7, 10, 14), (0, 3, 7))


def _with_noise_floor(y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``y`` plus a -80 dB noise floor (no digital silence), as float32."""
    y += rng.normal(0, 1e-4, len(y))
    return y.astype(np.float32)


def _system_folder(folder: Path, s: int) -> str:
    """Name of system number ``s`` (0-based), its folder under ``folder`` made."""
    system = f"Sys{s + 1:02d}"
    (folder / system).mkdir(parents=True, exist_ok=True)
    return system


def _write_clip(folder: Path, system: str, k: int, clip: np.ndarray, sr: int) -> str:
    """Write clip ``k`` (0-based) of ``system`` as 16-bit WAV; return its relative path."""
    import soundfile as sf

    rel = f"{system}/{system}_{k + 1}.wav"
    sf.write(folder / rel, clip, sr, subtype="PCM_16")
    return rel


def _write_ratings(folder: Path, rows: list[dict]) -> pd.DataFrame:
    """Write ``rows`` to ``<folder>/ratings.csv`` and return them as a table."""
    table = pd.DataFrame(rows)
    table.to_csv(folder / "ratings.csv", index=False)
    return table


def synthesize_clip(
    valence: float, arousal: float, *, seed: int = 0, sr: int = 22050, duration: float = 3.0,
    rolloff: float = 1.0, root: int = 0,
) -> np.ndarray:
    """Mono float32 samples of a clip conveying ``valence`` and ``arousal`` (1-9)."""
    rng = np.random.default_rng(seed)
    a = (float(arousal) - 1.0) / 8.0
    v = (float(valence) - 1.0) / 8.0
    n = int(sr * duration)
    t = np.arange(n) / sr
    y = np.zeros(n)
    bpm = 60.0 + 120.0 * a
    beat = 60.0 / bpm
    p_major = 1.0 / (1.0 + np.exp(-1.2 * (float(valence) - 5.0)))
    base_midi = 45 + root + round(18 * v)
    n_harm = 2 + round(6 * a)
    progression = _MAJOR if rng.random() < p_major else _MINOR
    start = 0.0
    step_no = 0
    while start < duration:
        chord = progression[step_no % len(progression)]
        step_no += 1
        chord = (chord[0] - 12, *chord)  # the bass doubles the chord root
        if rng.random() < 0.6 * (1.0 - p_major):
            chord = (*chord, chord[1] + 6)  # a dissonant tritone
        length = min(beat * 2, duration - start)
        i0, i1 = int(start * sr), int((start + length) * sr)
        tt = t[i0:i1] - start
        env = np.exp(-tt * (1.5 + 4 * a)) * np.minimum(1.0, tt / 0.01)
        for step in chord:
            f0 = 440.0 * 2 ** ((base_midi + step - 69) / 12)
            for h in range(1, n_harm + 1):
                if f0 * h > sr / 2:
                    break
                amp = (0.3 + 0.7 * a) ** (h - 1) / h**rolloff
                y[i0:i1] += amp * env * np.sin(2 * np.pi * f0 * h * tt + rng.uniform(0, 6.3))
        start += length
    # percussion on every beat, louder with arousal
    drum = 0.6 * a
    for b in np.arange(0.0, duration, beat):
        i0 = int(b * sr)
        m = min(int(0.05 * sr), n - i0)
        y[i0:i0 + m] += drum * rng.normal(0, 1, m) * np.exp(-np.arange(m) / (0.008 * sr))
    y /= np.max(np.abs(y)) + 1e-9
    gain_db = -32.0 + 24.0 * a
    y *= 10 ** (gain_db / 20)
    return _with_noise_floor(y, rng)


def write_synthetic_set(
    folder: str | Path,
    *,
    n_systems: int = 6,
    clips_per_system: int = 12,
    seed: int = 0,
    duration: float = 3.0,
    sr: int = 22050,
    noise: float = 0.5,
) -> pd.DataFrame:
    """Write ``<folder>/<system>/<system>_<k>.wav`` and ``<folder>/ratings.csv``.

    Returns the table written to ``ratings.csv``: ``audio_file`` (relative to ``folder``),
    ``system``, ``valence``, ``arousal`` (1-9 clip means) and the latent ``true_valence``
    / ``true_arousal`` are not included (the scores are what a predictor should learn).
    """
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_systems):
        system = _system_folder(folder, s)
        bias_v, bias_a = rng.normal(0, 0.8, 2)
        rolloff = rng.uniform(0.6, 1.6)
        root = int(rng.integers(0, 5))
        for k in range(clips_per_system):
            v = float(np.clip(rng.uniform(1.5, 8.5) + bias_v, 1, 9))
            ar = float(np.clip(rng.uniform(1.5, 8.5) + bias_a, 1, 9))
            clip = synthesize_clip(v, ar, seed=int(rng.integers(2**31)), sr=sr,
                                   duration=duration, rolloff=rolloff, root=root)
            rel = _write_clip(folder, system, k, clip, sr)
            rows.append({
                "audio_file": rel, "system": system,
                "valence": round(float(np.clip(v + rng.normal(0, noise), 1, 9)), 1),
                "arousal": round(float(np.clip(ar + rng.normal(0, noise), 1, 9)), 1),
            })
    return _write_ratings(folder, rows)


def synthesize_temporal_clip(
    levels_db: np.ndarray, *, seed: int = 0, sr: int = 22050, duration: float = 4.0,
    rolloff: float = 1.0, root: int = 0,
) -> np.ndarray:
    """A clip of ``len(levels_db)`` equal segments, segment ``i`` played at ``levels_db[i]``.

    Each segment is a held triad whose brightness (harmonics) grows with its level, so
    the order of the levels (a build-up or a fade) is audible while the clip-level
    distribution of loudness and brightness does not depend on it.
    """
    rng = np.random.default_rng(seed)
    n = int(sr * duration)
    y = np.zeros(n)
    k = len(levels_db)
    bounds = np.linspace(0, n, k + 1).astype(int)
    for i, level in enumerate(levels_db):
        i0, i1 = bounds[i], bounds[i + 1]
        tt = np.arange(i1 - i0) / sr
        fade = np.minimum(1.0, np.minimum(tt, tt[::-1]) / 0.02)
        bright = (float(level) + 36.0) / 36.0  # 0 (quiet) .. 1 (loud)
        seg = np.zeros(i1 - i0)
        for step in (0, 4, 7):
            f0 = 440.0 * 2 ** ((57 + root + step - 69) / 12)
            for h in range(1, 2 + round(6 * bright)):
                if f0 * h < sr / 2:
                    seg += (0.3 + 0.6 * bright) ** (h - 1) / h**rolloff * np.sin(
                        2 * np.pi * f0 * h * tt + rng.uniform(0, 6.3))
        seg /= np.max(np.abs(seg)) + 1e-9
        y[i0:i1] = seg * fade * 10 ** (float(level) / 20)
    return _with_noise_floor(y, rng)


def write_temporal_set(
    folder: str | Path,
    *,
    n_systems: int = 8,
    clips_per_system: int = 16,
    seed: int = 0,
    segments: int = 8,
    duration: float = 4.0,
    sr: int = 22050,
    noise: float = 0.3,
) -> pd.DataFrame:
    """A rated set whose scores depend on *when* things happen in each clip.

    Every clip plays ``segments`` loudness levels (drawn from -36 to -6 dBFS) in an order
    between a fade (loud to quiet) and a build-up (quiet to loud); its ``buildup`` score
    (1-9) is :math:`5 + 4\\rho` plus listener noise (sd ``noise``), where :math:`\\rho`
    is Spearman's correlation of segment position and level. Shuffling the segments
    changes the score but not the clip's distribution of frames, so pooled statistics
    (means, deviations) carry little of it. A system has its own timbre, key and a bias
    towards build-ups or fades. Writes ``<folder>/<system>/<system>_<k>.wav`` and
    ``<folder>/ratings.csv`` (``audio_file``, ``system``, ``buildup``).
    """
    from scipy.stats import spearmanr

    folder = Path(folder)
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_systems):
        system = _system_folder(folder, s)
        bias = rng.uniform(-0.5, 0.5)
        rolloff, root = rng.uniform(0.6, 1.6), int(rng.integers(0, 7))
        for k in range(clips_per_system):
            levels = np.sort(rng.uniform(-36.0, -6.0, segments))
            trend = float(np.clip(rng.uniform(-1, 1) + bias, -1, 1))
            keys = trend * np.arange(segments) / segments + (1 - abs(trend)) * rng.random(segments)
            ordered = levels[np.argsort(np.argsort(keys))]
            rho = float(spearmanr(np.arange(segments), ordered).statistic)
            clip = synthesize_temporal_clip(ordered, seed=int(rng.integers(2**31)), sr=sr,
                                            duration=duration, rolloff=rolloff, root=root)
            rel = _write_clip(folder, system, k, clip, sr)
            score = float(np.clip(5 + 4 * rho + rng.normal(0, noise), 1, 9))
            rows.append({"audio_file": rel, "system": system, "buildup": round(score, 1)})
    return _write_ratings(folder, rows)
