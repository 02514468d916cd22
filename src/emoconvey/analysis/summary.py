"""Size of a listening study: clips, ratings, listeners, and ratings per clip/listener.

These are the counts a benchmark reports about its data (AImoclips: 991 clips, 6,162
ratings by 111 listeners, 4-9 ratings per clip after dropping clips with 3 or fewer;
Go et al., 2025, Sec. 3).

References
----------
Go, G., Han, S., Choi, A., Choi, E., Nam, J., & Park, J. M. (2025). AImoclips: A
Benchmark for Evaluating Emotion Conveyance in Text-to-Music Generation. HCMIR 2025,
arXiv:2509.00813.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from emoconvey._validation import require_columns, require_rows
from emoconvey.analysis.common import require_group_labels

__all__ = [
    "DATASET_SUMMARY_COLUMNS",
    "RATINGS_PER_CLIP_COLUMNS",
    "SYSTEM_SUMMARY_COLUMNS",
    "dataset_summary",
    "ratings_per_clip",
    "system_summary",
]

log = logging.getLogger(__name__)

RATINGS_PER_CLIP_COLUMNS: tuple[str, str] = ("n_ratings", "clips")
"""Columns of :func:`ratings_per_clip`."""

DATASET_SUMMARY_COLUMNS: tuple[str, ...] = (
    "clips",
    "ratings",
    "listeners",
    "systems",
    "intents",
    "excluded_clips",
    "ratings_per_clip_min",
    "ratings_per_clip_median",
    "ratings_per_clip_mean",
    "ratings_per_clip_max",
    "ratings_per_listener_min",
    "ratings_per_listener_median",
    "ratings_per_listener_max",
)
"""Columns of :func:`dataset_summary`."""

SYSTEM_SUMMARY_COLUMNS: tuple[str, ...] = (
    "system",
    "clips",
    "ratings",
    "listeners",
    "ratings_per_clip_mean",
)
"""Columns of :func:`system_summary`."""


def _counts(values: pd.Series) -> np.ndarray:
    """Number of rows per distinct value (vectorised)."""
    codes, _ = pd.factorize(values, sort=False)
    return np.bincount(codes)


def ratings_per_clip(ratings: pd.DataFrame) -> pd.DataFrame:
    """Distribution of the number of ratings per clip.

    Parameters
    ----------
    ratings : DataFrame
        Long format, one row per rating, with a ``clip`` column (e.g. ``Dataset.ratings``).
        Not modified.

    Returns
    -------
    DataFrame
        Columns ``n_ratings`` (int) and ``clips`` (int, the number of clips rated that
        many times), ascending by ``n_ratings``; only counts that occur are listed.

    Raises
    ------
    DataValidationError
        ``clip`` is missing, has a missing value, or the table has no rows.
    """
    require_columns(ratings, ["clip"], name="ratings")
    require_rows(ratings, name="ratings")
    require_group_labels(ratings, ["clip"], name="ratings")
    per_clip = _counts(ratings["clip"])
    tally = np.bincount(per_clip)
    n = np.flatnonzero(tally)
    return pd.DataFrame(
        {"n_ratings": n.astype(np.int64), "clips": tally[n].astype(np.int64)}
    )


def dataset_summary(
    ratings: pd.DataFrame, *, excluded: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One-row summary of a study's size.

    Parameters
    ----------
    ratings : DataFrame
        Long format with ``listener``, ``clip``, ``system``, ``intent`` (e.g.
        ``Dataset.ratings``). Not modified.
    excluded : DataFrame, optional
        Clips left out of the analysis, with a ``clip`` column (e.g.
        ``Dataset.excluded``); ``excluded_clips`` is its number of distinct clips, 0 when
        not given.

    Returns
    -------
    DataFrame
        One row with :data:`DATASET_SUMMARY_COLUMNS`: ``clips``, ``ratings``,
        ``listeners``, ``systems``, ``intents``, ``excluded_clips`` (ints);
        ``ratings_per_clip_min``/``_max`` (int), ``_median``/``_mean`` (float);
        ``ratings_per_listener_min``/``_max`` (int), ``_median`` (float).

    Raises
    ------
    DataValidationError
        A required column is missing or has a missing value, or ``ratings`` is empty.
    """
    cols = ["listener", "clip", "system", "intent"]
    require_columns(ratings, cols, name="ratings")
    require_rows(ratings, name="ratings")
    require_group_labels(ratings, cols, name="ratings")
    n_excluded = 0
    if excluded is not None:
        require_columns(excluded, ["clip"], name="excluded")
        n_excluded = int(excluded["clip"].dropna().nunique())
    per_clip = _counts(ratings["clip"])
    per_listener = _counts(ratings["listener"])
    row = {
        "clips": len(per_clip),
        "ratings": len(ratings),
        "listeners": len(per_listener),
        "systems": int(ratings["system"].nunique()),
        "intents": int(ratings["intent"].nunique()),
        "excluded_clips": n_excluded,
        "ratings_per_clip_min": int(per_clip.min()),
        "ratings_per_clip_median": float(np.median(per_clip)),
        "ratings_per_clip_mean": float(per_clip.mean()),
        "ratings_per_clip_max": int(per_clip.max()),
        "ratings_per_listener_min": int(per_listener.min()),
        "ratings_per_listener_median": float(np.median(per_listener)),
        "ratings_per_listener_max": int(per_listener.max()),
    }
    out = pd.DataFrame([row], columns=list(DATASET_SUMMARY_COLUMNS))
    ints = [c for c, v in row.items() if isinstance(v, int)]
    return out.astype(dict.fromkeys(ints, np.int64))


def system_summary(ratings: pd.DataFrame) -> pd.DataFrame:
    """Clips, ratings and listeners per system.

    Parameters
    ----------
    ratings : DataFrame
        Long format with ``system``, ``clip``, ``listener`` (e.g. ``Dataset.ratings``).
        Not modified.

    Returns
    -------
    DataFrame
        One row per system in order of first appearance, columns ``system``, ``clips``,
        ``ratings``, ``listeners`` (ints: distinct clips, rating rows, distinct
        listeners) and ``ratings_per_clip_mean`` (= ratings / clips).

    Raises
    ------
    DataValidationError
        A required column is missing or has a missing value, or ``ratings`` is empty.
    """
    cols = ["system", "clip", "listener"]
    require_columns(ratings, cols, name="ratings")
    require_rows(ratings, name="ratings")
    require_group_labels(ratings, cols, name="ratings")
    grouped = ratings.loc[:, cols].groupby("system", sort=False)
    out = pd.DataFrame(
        {
            "clips": grouped["clip"].nunique().astype(np.int64),
            "ratings": grouped.size().astype(np.int64),
            "listeners": grouped["listener"].nunique().astype(np.int64),
        }
    )
    out["ratings_per_clip_mean"] = out["ratings"] / out["clips"]
    out = out.rename_axis("system").reset_index()
    log.debug("system_summary: %d system(s)", len(out))
    return out.loc[:, list(SYSTEM_SUMMARY_COLUMNS)]
