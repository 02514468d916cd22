"""Evaluation splits: ``random``, ``official``, ``by-system``, ``by-intent``.

* ``random``: one seeded 85/15 split of the clips (MusicEval's protocol);
* ``official``: the release's lists (MusicEval ``sets/<split>_mos_list.txt``, or a
  ``split`` column): train on ``train`` (and ``dev``), test on ``test`` (else ``eval``,
  else ``dev``);
* ``by-system``: grouped K-fold (K = min(5, number of systems)) holding out whole systems,
  assigned to folds by a seeded shuffle: how well the predictor rates systems it never
  heard;
* ``by-intent``: grouped K-fold holding out whole intents.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from emoconvey.errors import EmoconveyError

__all__ = ["SPLITS", "Fold", "make_folds"]

SPLITS: tuple[str, ...] = ("random", "official", "by-system", "by-intent")
"""Split names accepted by :func:`make_folds`."""


@dataclass(frozen=True)
class Fold:
    """Row positions of one train/test split."""

    name: str
    train: np.ndarray
    test: np.ndarray


def _grouped(groups: pd.Series, *, k: int, seed: int, what: str) -> list[Fold]:
    if groups.isna().any():
        n_missing = int(groups.isna().sum())
        raise EmoconveyError(f"--split by-{what}: {n_missing} clip(s) have no {what}")
    uniq = np.array(sorted(groups.astype(str).unique()))
    if len(uniq) < 2:
        raise EmoconveyError(
            f"--split by-{what}: expected at least 2 {what}s to hold out, found {len(uniq)}"
        )
    k = min(k, len(uniq))
    rng = np.random.default_rng(seed)
    shuffled = uniq[rng.permutation(len(uniq))]
    fold_of = {g: i % k for i, g in enumerate(shuffled)}
    assign = groups.astype(str).map(fold_of).to_numpy()
    return [
        Fold(f"by-{what}-{i + 1}", np.flatnonzero(assign != i), np.flatnonzero(assign == i))
        for i in range(k)
    ]


def make_folds(
    clips: pd.DataFrame, kind: str, *, seed: int = 0, k: int = 5, test_fraction: float = 0.15
) -> list[Fold]:
    """Train/test folds of ``clips`` (columns ``system``, ``intent``, ``split``)."""
    if kind not in SPLITS:
        raise EmoconveyError(
            f"--split: unknown split {kind!r}; expected one of {', '.join(SPLITS)}"
        )
    if isinstance(k, bool) or int(k) < 2:
        raise EmoconveyError(f"--folds: expected at least 2, got {k!r}")
    n = len(clips)
    if kind == "random":
        if n < 7:
            raise EmoconveyError(f"--split random: expected at least 7 clips, found {n}")
        order = np.random.default_rng(seed).permutation(n)
        n_test = max(1, round(test_fraction * n))
        return [Fold("random", np.sort(order[n_test:]), np.sort(order[:n_test]))]
    if kind == "official":
        split = clips["split"] if "split" in clips else pd.Series([None] * n)
        if split.isna().all():
            raise EmoconveyError(
                "--split official: the data has no official split (MusicEval sets/*_mos_list.txt "
                "or a 'split' column)"
            )
        names = set(split.dropna().astype(str))
        test_name = next((s for s in ("test", "eval", "dev") if s in names), None)
        if test_name is None or "train" not in names:
            raise EmoconveyError(
                "--split official: expected a 'train' list and a 'test', 'eval' or 'dev' list; "
                f"found {', '.join(sorted(names))}"
            )
        train_names = {"train", "dev"} - {test_name}
        s = split.astype(str).to_numpy()
        return [Fold(f"official-{test_name}", np.flatnonzero(np.isin(s, list(train_names))),
                     np.flatnonzero(s == test_name))]
    what = "system" if kind == "by-system" else "intent"
    return _grouped(clips[what].reset_index(drop=True), k=int(k), seed=seed, what=what)
