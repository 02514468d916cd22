"""Evaluation splits: ``random``, ``official``, ``by-system``, ``by-intent``.

* ``random``: one seeded 85/15 split of the clips (MusicEval's protocol);
* ``official``: the release's lists (MusicEval ``sets/<split>_mos_list.txt``, or a
  ``split`` column): train on ``train`` (and ``dev``), test on ``test`` (else ``eval``,
  else ``dev``);
* ``by-system``: grouped K-fold holding out whole systems, assigned to folds by a seeded
  shuffle: how well the predictor rates systems it never heard. K is ``k`` when given
  (more folds than systems is an error naming both numbers), else
  min(:data:`DEFAULT_FOLDS`, number of systems), logged;
* ``by-intent``: grouped K-fold holding out whole intents (K chosen alike).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from emoconvey.errors import EmoconveyError

__all__ = ["DEFAULT_FOLDS", "SPLITS", "Fold", "make_folds"]

log = logging.getLogger(__name__)

DEFAULT_FOLDS = 5
"""K of a grouped split when none is given (fewer when there are fewer groups)."""

SPLITS: tuple[str, ...] = ("random", "official", "by-system", "by-intent")
"""Split names accepted by :func:`make_folds`."""


@dataclass(frozen=True)
class Fold:
    """Row positions of one train/test split."""

    name: str
    train: np.ndarray
    test: np.ndarray


def _grouped(groups: pd.Series, *, k: int | None, seed: int, what: str) -> list[Fold]:
    if groups.isna().any():
        n_missing = int(groups.isna().sum())
        raise EmoconveyError(f"--split by-{what}: {n_missing} clip(s) have no {what}")
    uniq = np.array(sorted(groups.astype(str).unique()))
    if len(uniq) < 2:
        raise EmoconveyError(
            f"--split by-{what}: expected at least 2 {what}s to hold out, found {len(uniq)}"
        )
    if k is None:
        k = min(DEFAULT_FOLDS, len(uniq))
        log.info("--split by-%s: %d folds (%d %ss)", what, k, len(uniq), what)
    elif k > len(uniq):
        raise EmoconveyError(
            f"--split by-{what} --folds {k}: only {len(uniq)} {what}s to hold out; give "
            f"--folds {len(uniq)} or fewer (each fold holds out whole {what}s)"
        )
    rng = np.random.default_rng(seed)
    shuffled = uniq[rng.permutation(len(uniq))]
    fold_of = {g: i % k for i, g in enumerate(shuffled)}
    assign = groups.astype(str).map(fold_of).to_numpy()
    return [
        Fold(f"by-{what}-{i + 1}", np.flatnonzero(assign != i), np.flatnonzero(assign == i))
        for i in range(k)
    ]


def make_folds(
    clips: pd.DataFrame, kind: str, *, seed: int = 0, k: int | None = None,
    test_fraction: float = 0.15,
) -> list[Fold]:
    """Train/test folds of ``clips`` (columns ``system``, ``intent``, ``split``).

    ``k`` is the number of folds of a grouped split (default: see the module docstring).
    """
    if kind not in SPLITS:
        raise EmoconveyError(
            f"--split: unknown split {kind!r}; expected one of {', '.join(SPLITS)}"
        )
    if k is not None and (isinstance(k, bool) or int(k) < 2):
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
    return _grouped(clips[what].reset_index(drop=True), k=None if k is None else int(k),
                    seed=seed, what=what)
