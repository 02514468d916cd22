"""Shared fixtures: the bundled AImoclips data and small synthetic studies."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emoconvey.data import Dataset, load_aimoclips, load_dataset
from emoconvey.intents import aimoclips_intents

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
WARRINER = SHARED / "warriner" / "Ratings_Warriner_et_al.csv"
REFERENCE = Path(__file__).resolve().parent / "reference"


@pytest.fixture(scope="session")
def aimoclips() -> Dataset:
    """The bundled release (do not modify its tables in a test)."""
    return load_aimoclips()


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


@pytest.fixture
def synthetic() -> Dataset:
    """A synthetic 3-system study built from :func:`synthetic_ratings`."""
    return load_dataset(synthetic_ratings())


@pytest.fixture
def warriner_path() -> Path:
    if not WARRINER.is_file():
        pytest.skip("the Warriner norms are not in ../shared/data/warriner")
    return WARRINER
