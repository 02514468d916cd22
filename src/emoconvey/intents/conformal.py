"""Split-conformal prediction intervals for valence/arousal predictions.

Given absolute residuals :math:`R_i = |y_i - \\hat y_i|` of :math:`n` calibration points
that the predictor did not see, the interval :math:`\\hat y \\pm \\hat q` with

.. math::

    \\hat q = R_{(k)}, \\qquad k = \\lceil (n + 1)(1 - \\alpha) \\rceil

(the :math:`k`-th smallest residual) covers a new exchangeable point with probability at
least :math:`1 - \\alpha` (Vovk, Gammerman & Shafer, 2005; Lei et al., 2018, Thm 2.2).
When :math:`k > n` no finite quantile has this guarantee and the interval is infinite.

References
----------
Vovk, V., Gammerman, A., & Shafer, G. (2005). *Algorithmic Learning in a Random World*.
Springer.
Lei, J., G'Sell, M., Rinaldo, A., Tibshirani, R. J., & Wasserman, L. (2018).
Distribution-free predictive inference for regression. JASA, 113, 1094-1111.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from emoconvey._validation import SCALE_MAX, SCALE_MIN
from emoconvey.errors import EmoconveyError

__all__ = ["check_coverage", "conformal_quantile", "interval_coverage", "prediction_interval"]


def check_coverage(coverage: object) -> float:
    """Check a nominal coverage lies strictly between 0 and 1."""
    if isinstance(coverage, bool) or not isinstance(coverage, int | float) or not (
        0.0 < float(coverage) < 1.0
    ):
        raise EmoconveyError(f"coverage: expected a number in (0, 1), got {coverage!r}")
    return float(coverage)


def conformal_quantile(residuals: Sequence[float] | np.ndarray, *, coverage: float) -> float:
    """Split-conformal half-width from calibration residuals.

    Parameters
    ----------
    residuals : array-like
        Absolute residuals :math:`|y - \\hat y|` of calibration points (finite, >= 0).
    coverage : float
        Nominal coverage :math:`1 - \\alpha`, in (0, 1).

    Returns
    -------
    float
        The :math:`\\lceil (n + 1)(1 - \\alpha) \\rceil`-th smallest residual, or
        ``inf`` when that rank exceeds ``n``.
    """
    coverage = check_coverage(coverage)
    r = np.asarray(residuals, dtype=float).ravel()
    if r.size == 0:
        raise EmoconveyError("residuals: expected at least one calibration residual")
    if not np.all(np.isfinite(r)) or np.any(r < 0):
        raise EmoconveyError("residuals: expected finite absolute residuals (>= 0)")
    k = math.ceil((r.size + 1) * coverage)
    if k > r.size:
        return math.inf
    return float(np.partition(r, k - 1)[k - 1])


def prediction_interval(
    prediction: float | np.ndarray,
    half_width: float,
    *,
    clip: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric interval ``prediction ± half_width``, clipped to the 1-9 scale.

    Clipping to the scale never lowers coverage since every norm lies in [1, 9].

    Returns
    -------
    (low, high) : tuple of ndarray
    """
    p = np.asarray(prediction, dtype=float)
    lo, hi = p - half_width, p + half_width
    if clip:
        lo, hi = np.clip(lo, SCALE_MIN, SCALE_MAX), np.clip(hi, SCALE_MIN, SCALE_MAX)
    return lo, hi


def interval_coverage(
    truth: np.ndarray, low: np.ndarray, high: np.ndarray
) -> float:
    """Fraction of ``truth`` values inside the closed intervals ``[low, high]``."""
    t = np.asarray(truth, dtype=float)
    if t.size == 0:
        raise EmoconveyError("truth: expected at least one value")
    return float(np.mean((t >= np.asarray(low)) & (t <= np.asarray(high))))
