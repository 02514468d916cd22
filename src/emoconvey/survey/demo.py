"""A small synthetic study anyone can run (``emoconvey survey init --demo``).

Clips are short synthesised tones written with numpy and the standard :mod:`wave`
module: higher norm valence gives a major chord, higher norm arousal a faster pulse and
brighter timbre, so that the ratings of a demo session are not meaningless.
"""

from __future__ import annotations

import logging
import wave
from pathlib import Path

import numpy as np

from emoconvey.intents import aimoclips_intents

__all__ = ["DEMO_CONFIG", "DEMO_SYSTEMS", "make_demo_files", "write_wav"]

log = logging.getLogger(__name__)

DEMO_SYSTEMS: tuple[str, ...] = ("ToneGen", "PulseNet", "ChordBox")
RATE = 16_000

DEMO_CONFIG = """\
# Demo study written by 'emoconvey survey init --demo'. A study's settings are fixed when
# it is created: to change them, edit this file and create a new study from it, e.g.
#   emoconvey survey init NEW_FOLDER --clips THIS_FOLDER/clips --config THIS_FOLDER/study.yaml
title: emoconvey demo listening study
clips_per_participant: 6
completion_code: DEMO-1234
min_ratings: 2
session_expiry_minutes: 60
sample_clip: extras/sample.wav
quality:
  repeats: 1
  repeat_tolerance: 3
  min_seconds: 1.0
  attention:
    - file: extras/attention_calm.wav
      valence: [1, 9]
      arousal: [1, 5]
"""


def write_wav(path: Path, signal: np.ndarray, rate: int = RATE) -> None:
    """Write a mono float signal in [-1, 1] as 16-bit PCM WAV."""
    pcm = (np.clip(signal, -1.0, 1.0) * 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def _tone(valence: float, arousal: float, seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    root = 220.0 * 2 ** (rng.integers(0, 5) / 12)
    third = 4 if valence >= 5 else 3
    freqs = [root, root * 2 ** (third / 12), root * 2 ** (7 / 12)]
    bright = 1 + int(arousal >= 5) * 2
    sig = sum(
        np.sin(2 * np.pi * f * k * t) / k for f in freqs for k in range(1, bright + 2)
    )
    pulse_hz = 1.0 + (arousal - 1) * 0.8
    env = 0.55 + 0.45 * np.cos(2 * np.pi * pulse_hz * t)
    fade = np.minimum(1, np.minimum(t / 0.05, (t[-1] - t) / 0.05))
    sig = sig * env * fade
    return 0.3 * sig / max(np.max(np.abs(sig)), 1e-9)


def make_demo_files(folder: str | Path, *, clips_per_pair: int = 2,
                    seconds: float = 1.5) -> tuple[Path, Path]:
    """Write demo audio (release layout) and ``study.yaml`` into ``folder``.

    Returns
    -------
    (clips_dir, config_path)
    """
    folder = Path(folder)
    clips_dir = folder / "clips"
    intents = aimoclips_intents()
    seed = 0
    for s_i, system in enumerate(DEMO_SYSTEMS):
        for it in intents.itertuples():
            for n in range(1, clips_per_pair + 1):
                seed += 1
                v = float(np.clip(it.norm_valence + (s_i - 1) * 0.8, 1, 9))
                write_wav(
                    clips_dir / "music_clips" / system / f"{system}_{it.intent}_{n}.wav",
                    _tone(v, it.norm_arousal, seconds, seed),
                )
    write_wav(clips_dir / "extras" / "sample.wav", _tone(6.0, 5.0, seconds, 999))
    write_wav(clips_dir / "extras" / "attention_calm.wav", _tone(6.0, 1.0, seconds, 998))
    config_path = folder / "study.yaml"
    config_path.write_text(DEMO_CONFIG, encoding="utf-8")
    log.info("demo files written to %s", folder)
    return clips_dir, config_path
