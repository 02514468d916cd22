"""Shared fixtures: the bundled AImoclips data and small synthetic studies."""

from __future__ import annotations

from pathlib import Path

import pytest

from emoconvey.data import Dataset, load_aimoclips, load_dataset
from synthetic import synthetic_ratings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
WARRINER = SHARED / "warriner" / "Ratings_Warriner_et_al.csv"


@pytest.fixture(scope="session")
def aimoclips() -> Dataset:
    """The bundled release (do not modify its tables in a test)."""
    return load_aimoclips()


@pytest.fixture
def synthetic() -> Dataset:
    """A synthetic 3-system study built from :func:`synthetic_ratings`."""
    return load_dataset(synthetic_ratings())


@pytest.fixture
def warriner_path() -> Path:
    if not WARRINER.is_file():
        pytest.skip("the Warriner norms are not in ../shared/data/warriner")
    return WARRINER
