"""Combine datasets, e.g. a new system's study with the AImoclips reference systems."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from emoconvey.data.dataset import Dataset
from emoconvey.errors import EmoconveyError
from emoconvey.intents import validate_intents

__all__ = ["NORM_RTOL", "combine_datasets"]

NORM_RTOL = 1e-9
"""Relative tolerance when comparing an intent's norms across datasets: float noise of
a text round trip (~1e-16) passes, any real difference of published norms (two decimals)
fails."""


def combine_datasets(
    datasets: Sequence[Dataset], *, labels: Sequence[str] | None = None
) -> Dataset:
    """Stack datasets from separate studies into one for a joint analysis.

    Systems must be distinct across datasets (a system rated in two studies would mix two
    listener pools). Listener IDs are prefixed with the dataset's label (``"ref:P1"``),
    since ``P1`` of one study is not ``P1`` of another. An intent present in several
    datasets must have the same quadrant and norms in each.

    Parameters
    ----------
    datasets : sequence of Dataset
        At least one.
    labels : sequence of str, optional
        One label per dataset for listener prefixes; default ``"d1"``, ``"d2"``, …

    Returns
    -------
    Dataset
        With the union of intents (first dataset's order, then new ones), the excluded
        clips of every dataset, and ``min_ratings`` of the first dataset (they must agree).
    """
    if not datasets:
        raise EmoconveyError("datasets: expected at least one Dataset")
    labels = list(labels) if labels is not None else [f"d{i + 1}" for i in range(len(datasets))]
    if len(labels) != len(datasets) or len(set(labels)) != len(labels):
        raise EmoconveyError(
            f"labels: expected {len(datasets)} distinct labels, got {labels!r}"
        )
    seen: dict[str, str] = {}
    for label, ds in zip(labels, datasets, strict=True):
        for system in ds.systems:
            if system in seen:
                raise EmoconveyError(
                    f"system {system!r} appears in both {seen[system]!r} and {label!r}; "
                    "rename one of them (systems must be distinct across studies)"
                )
            seen[system] = label
    if len({ds.min_ratings for ds in datasets}) > 1:
        raise EmoconveyError(
            "datasets: expected the same min_ratings in every dataset, got "
            f"{[ds.min_ratings for ds in datasets]}"
        )

    intents = datasets[0].intents
    for label, ds in zip(labels[1:], datasets[1:], strict=True):
        merged = intents.merge(ds.intents, on="intent", how="inner", suffixes=("", "_other"))
        for col in ("quadrant", "norm_valence", "norm_arousal"):
            if col == "quadrant":
                clash = merged[col] != merged[f"{col}_other"]
            else:  # the same norm read through different float paths may differ in the
                # last bits (2.53 vs 2.5300000000000002): compare to 1e-9 relative
                clash = ~np.isclose(merged[col].to_numpy(float),
                                    merged[f"{col}_other"].to_numpy(float),
                                    rtol=NORM_RTOL, atol=0.0)
            if clash.any():
                row = merged[clash].iloc[0]
                raise EmoconveyError(
                    f"intent {row['intent']!r} has {col} {_show(row[col])} in {labels[0]!r} "
                    f"but {_show(row[col + '_other'])} in {label!r}; expected the same "
                    "intent norms"
                )
        new = ds.intents[~ds.intents["intent"].isin(intents["intent"])]
        intents = pd.concat([intents, new], ignore_index=True)
    intents = validate_intents(intents, name="combined intents")

    ratings = pd.concat(
        [
            ds.ratings.assign(listener=label + ":" + ds.ratings["listener"].astype(str))
            for label, ds in zip(labels, datasets, strict=True)
        ],
        ignore_index=True,
    )
    clips = pd.concat([ds.clips for ds in datasets], ignore_index=True)
    excluded = pd.concat([ds.excluded for ds in datasets], ignore_index=True)
    return Dataset(
        ratings=ratings,
        clips=clips,
        intents=intents,
        excluded=excluded,
        min_ratings=datasets[0].min_ratings,
        source=" + ".join(ds.source for ds in datasets),
    )


def _show(value: object) -> str:
    return repr(value.item() if hasattr(value, "item") else value)
