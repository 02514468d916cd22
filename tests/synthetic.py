"""Small synthetic studies for tests (importable as ``synthetic`` from any test)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from emoconvey.intents import aimoclips_intents

__all__ = ["synthetic_ratings"]


def synthetic_ratings(
    *,
    systems: tuple[str, ...] = ("SysA", "SysB", "SysC"),
    clips_per_pair: int = 4,
    listeners: int = 30,
    ratings_per_clip: int = 6,
    seed: int = 0,
) -> pd.DataFrame:
    """A small balanced study in release format (user, audio_file, valence, arousal).

    Each system has its own offset from the norms so that system effects exist.
    """
    rng = np.random.default_rng(seed)
    intents = aimoclips_intents()
    rows = []
    for s_i, system in enumerate(systems):
        for _, it in intents.iterrows():
            for n in range(1, clips_per_pair + 1):
                clip = f"{system}_{it['intent']}_{n}_crop.wav"
                raters = rng.choice(listeners, size=ratings_per_clip, replace=False)
                for r in raters:
                    v = it["norm_valence"] * 0.5 + 2.5 + s_i * 0.4 + rng.normal(0, 1.2)
                    a = it["norm_arousal"] * 0.6 + 2.0 - s_i * 0.3 + rng.normal(0, 1.2)
                    rows.append(
                        (f"P{r + 1}", clip, int(np.clip(round(v), 1, 9)),
                         int(np.clip(round(a), 1, 9)))
                    )
    return pd.DataFrame(rows, columns=["user", "audio_file", "valence", "arousal"])
