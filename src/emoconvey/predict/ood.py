"""Out-of-distribution (OOD) flags and extrapolation checks for predicted clips.

A predictor trained on one kind of music can return confident-looking numbers for music
it never heard. Every prediction therefore comes with two checks, saved with the model
(arrays in ``ood.safetensors``, settings in ``card.json["ood"]``):

**Feature distance.** The features of every training clip are standardised with the
training mean and standard deviation, :math:`z = (x - \\mu) / \\sigma`. The distance of a
clip to a reference set is the mean Euclidean distance to its :math:`k` nearest
neighbours there (:math:`k = 5`; a k-NN novelty score, Breunig et al., 2000). The
training clips are cut into :math:`K = 5` folds (whole systems per fold when the
training data has at least 5 systems, so that the calibration asks "how far is a *new
system's* clip?", else random clips; seeded), and each training clip :math:`i` gets its
cross-fitted distance :math:`d_i` to the clips of the other folds. A new clip :math:`x`
gets, for every fold :math:`j`, its distance :math:`d_j(x)` to the clips outside fold
:math:`j`, and the cross-conformal p-value (Vovk, 2015)

.. math::

    p(x) = \\frac{1 + \\sum_j \\#\\{i \\in j : d_i \\ge d_j(x)\\}}{n + 1}.

``ood_score`` :math:`= 1 - p(x)`, a calibrated percentile: 0.97 means the clip is
farther from the training set than about 97 % of the training set's own held-out clips,
whatever the extractor. ``ood`` is true when :math:`p(x) \\le \\alpha` (default
:data:`DEFAULT_ALPHA` = 5 %): on clips from the training distribution about 5 % are
flagged (the nominal rate), on clips unlike anything in training nearly all are. With
:math:`n` training clips the smallest p-value is :math:`1/(n+1)`, so a nominal rate
below that cannot be asked for.

**Extrapolation.** ``raw_<target>`` is the head's output before clamping;
``extrapolated`` is true when a raw value lies outside the range of the training targets
(a linear head extrapolates freely there), ``clamped`` when it lay outside the rating
scale and was clipped to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from emoconvey.errors import EmoconveyError

__all__ = ["DEFAULT_ALPHA", "DEFAULT_K", "OODDetector", "extrapolation", "flag_reasons"]

DEFAULT_ALPHA: float = 0.05
"""Nominal share of in-distribution clips flagged (the test's level)."""

DEFAULT_K: int = 5
"""Neighbours of the k-NN distance."""

_FOLDS = 5
_CHUNK = 512


def _knn_mean(D: np.ndarray, k: int) -> np.ndarray:
    """Mean of the ``k`` smallest values of every row of ``D``."""
    k = min(k, D.shape[1])
    return np.partition(D, k - 1, axis=1)[:, :k].mean(axis=1)


def _distances(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of ``A`` and ``B``."""
    sq = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
    return np.sqrt(np.clip(sq, 0.0, None))


def _fold_ids(n: int, groups: np.ndarray | None, seed: int) -> tuple[np.ndarray, str]:
    rng = np.random.default_rng(seed)
    if groups is not None:
        uniq = np.array(sorted(pd.unique(pd.Series(groups).astype(str))))
        if len(uniq) >= _FOLDS:
            shuffled = uniq[rng.permutation(len(uniq))]
            fold_of = {g: i % _FOLDS for i, g in enumerate(shuffled)}
            return np.array([fold_of[str(g)] for g in groups]), "by-system"
    return rng.permutation(n) % _FOLDS, "random"


@dataclass
class OODDetector:
    """Cross-fitted k-NN distance to the training features (see the module docstring)."""

    mean: np.ndarray
    scale: np.ndarray
    reference: np.ndarray
    fold: np.ndarray
    null: np.ndarray
    k: int = DEFAULT_K
    alpha: float = DEFAULT_ALPHA
    calibration: str = "random"
    seed: int = 0
    target_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def fit(
        cls, X: np.ndarray, *, groups: np.ndarray | None = None,
        targets: pd.DataFrame | None = None, k: int = DEFAULT_K,
        alpha: float = DEFAULT_ALPHA, seed: int = 0,
    ) -> OODDetector:
        """Calibrate on the training features ``X`` (n, d).

        ``groups`` (one system per row) makes the folds hold out whole systems when there
        are at least 5; ``targets`` (the training targets) gives the ranges that
        :func:`extrapolation` checks.
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or len(X) < 2 * _FOLDS:
            raise EmoconveyError(
                f"OOD calibration: expected at least {2 * _FOLDS} training clips, got {len(X)}"
            )
        if not 0 < alpha < 1:
            raise EmoconveyError(f"--ood-alpha: expected a number in (0, 1), got {alpha!r}")
        mean = X.mean(axis=0)
        scale = X.std(axis=0)
        scale[scale < 1e-12] = 1.0
        Z = (X - mean) / scale
        fold, how = _fold_ids(len(Z), groups, seed)
        null = np.empty(len(Z))
        for j in range(_FOLDS):
            test = fold == j
            if test.any():
                null[test] = _knn_mean(_distances(Z[test], Z[~test]), k)
        ranges = {} if targets is None else {
            str(t): (float(targets[t].min()), float(targets[t].max())) for t in targets.columns
        }
        return cls(mean, scale, Z, fold, null, int(k), float(alpha), how, int(seed), ranges)

    def score(self, X: np.ndarray) -> pd.DataFrame:
        """``ood_distance``, ``ood_score`` (1 - p), ``ood_p`` and ``ood`` per row of ``X``."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.reference.shape[1]:
            raise EmoconveyError(
                f"OOD: expected features with {self.reference.shape[1]} columns, got shape "
                f"{X.shape}"
            )
        Z = (X - self.mean) / self.scale
        n = len(self.null)
        exceed = np.zeros(len(Z))
        dist = np.zeros(len(Z))
        for start in range(0, len(Z), _CHUNK):
            D = _distances(Z[start:start + _CHUNK], self.reference)
            rows = slice(start, start + len(D))
            for j in range(_FOLDS):
                in_j = self.fold == j
                if not in_j.any():
                    continue
                d_j = _knn_mean(D[:, ~in_j], self.k)
                dist[rows] += d_j * in_j.sum() / n
                exceed[rows] += (self.null[in_j][None, :] >= d_j[:, None]).sum(axis=1)
        p = (1.0 + exceed) / (n + 1.0)
        return pd.DataFrame({"ood_distance": dist, "ood_score": 1.0 - p, "ood_p": p,
                             "ood": p <= self.alpha})

    def with_alpha(self, alpha: float) -> OODDetector:
        """The same detector at another nominal rate ``alpha``."""
        if isinstance(alpha, bool) or not 0 < float(alpha) < 1:
            raise EmoconveyError(f"--ood-alpha: expected a number in (0, 1), got {alpha!r}")
        return replace(self, alpha=float(alpha))

    def arrays(self) -> dict[str, np.ndarray]:
        """The fitted arrays (for safetensors)."""
        return {"mean": self.mean, "scale": self.scale, "reference": self.reference,
                "fold": self.fold.astype(np.float64), "null": self.null}

    def config(self) -> dict[str, object]:
        """JSON settings (saved in ``card.json["ood"]``)."""
        return {"method": "knn-crossfit", "k": self.k, "alpha": self.alpha, "folds": _FOLDS,
                "calibration": self.calibration, "seed": self.seed,
                "n_reference": len(self.null), "file": "ood.safetensors",
                "target_ranges": {t: list(v) for t, v in self.target_ranges.items()}}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], config: dict[str, object]) -> OODDetector:
        """The detector saved by :meth:`arrays` and :meth:`config`."""
        ranges = dict(config.get("target_ranges", {}))  # type: ignore[call-overload]
        return cls(
            arrays["mean"], arrays["scale"], arrays["reference"],
            np.rint(arrays["fold"]).astype(int), arrays["null"], k=int(config.get("k", 5)),  # type: ignore[call-overload]
            alpha=float(config.get("alpha", DEFAULT_ALPHA)),  # type: ignore[arg-type]
            calibration=str(config.get("calibration", "random")),
            seed=int(config.get("seed", 0)),  # type: ignore[call-overload]
            target_ranges={t: (float(v[0]), float(v[1])) for t, v in ranges.items()},
        )


def extrapolation(
    raw: pd.DataFrame,
    *,
    target_ranges: dict[str, tuple[float, float]],
    scales: dict[str, tuple[float, float]],
) -> pd.DataFrame:
    """Per clip: ``extrapolated`` (a raw value outside the training targets' range) and
    ``clamped`` (outside the rating scale, so clipped), and which targets."""
    extra = np.zeros(len(raw), dtype=bool)
    clamp = np.zeros(len(raw), dtype=bool)
    which_e = [[] for _ in range(len(raw))]  # type: list[list[str]]
    which_c = [[] for _ in range(len(raw))]  # type: list[list[str]]
    for t in raw.columns:
        v = raw[t].to_numpy(float)
        lo, hi = target_ranges.get(t, (-np.inf, np.inf))
        slo, shi = scales.get(t, (-np.inf, np.inf))
        for i in np.flatnonzero((v < lo) | (v > hi)):
            which_e[i].append(f"{t} {v[i]:.2f} outside training {lo:g}-{hi:g}")
        for i in np.flatnonzero((v < slo) | (v > shi)):
            which_c[i].append(f"{t} {v[i]:.2f} clamped to {min(max(v[i], slo), shi):g}")
        extra |= (v < lo) | (v > hi)
        clamp |= (v < slo) | (v > shi)
    return pd.DataFrame({"extrapolated": extra, "clamped": clamp,
                         "extrapolated_targets": ["; ".join(w) for w in which_e],
                         "clamped_targets": ["; ".join(w) for w in which_c]})


def flag_reasons(pred: pd.DataFrame, *, alpha: float) -> list[str]:
    """One reason string per clip (``""`` when none) from :func:`run_predictor`'s columns."""
    out = []
    for row in pred.itertuples(index=False):
        parts = []
        ood = getattr(row, "ood", False)
        if pd.notna(ood) and bool(ood):
            parts.append(
                f"features farther from the training set than {100 * row.ood_score:.1f} % of "
                f"held-out training clips (p = {row.ood_p:.3g} <= {alpha:g})"
            )
        if getattr(row, "extrapolated_targets", ""):
            parts.append(str(row.extrapolated_targets))
        if getattr(row, "clamped_targets", ""):
            parts.append(str(row.clamped_targets))
        out.append("; ".join(parts))
    return out
