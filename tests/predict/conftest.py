"""Fixtures of the prediction tests: a synthetic rated set and a tiny CLAP model."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_clap import build_tiny_clap

from emoconvey.predict.datasets import RatedClips, from_table
from emoconvey.predict.synthetic import write_synthetic_set


@pytest.fixture(scope="session")
def synthetic_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8 systems x 10 synthetic 3-s clips with valence/arousal scores (ratings.csv)."""
    folder = tmp_path_factory.mktemp("synthetic")
    write_synthetic_set(folder, n_systems=8, clips_per_system=10, seed=1)
    return folder


@pytest.fixture(scope="session")
def synthetic_data(synthetic_folder: Path) -> RatedClips:
    return from_table(synthetic_folder / "ratings.csv")


@pytest.fixture(scope="session")
def feature_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A feature cache shared by the tests (each file is extracted once per session)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def tiny_clap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny randomly initialised CLAP model + processor saved locally."""
    return build_tiny_clap(tmp_path_factory.mktemp("tiny_clap"))
