"""Multiple-comparison adjustment of p values (one implementation for every analysis)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["holm"]


def holm(p: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's (1979) step-down adjusted p values, in the shape of ``p``.

    With the :math:`m` finite p values sorted, :math:`p_{(1)} \\le \\dots \\le p_{(m)}`,

    .. math::

        \\tilde p_{(i)} = \\min\\Big(1, \\max_{j \\le i} (m - j + 1)\\, p_{(j)}\\Big).

    NaN (a test that could not be run) stays NaN and is not counted in :math:`m`. Ties keep
    their input order (stable sort). Matches ``statsmodels.stats.multitest.multipletests(p,
    method="holm")`` on finite input.

    Parameters
    ----------
    p : array-like
        Raw p values, any shape.

    Returns
    -------
    ndarray
        Adjusted p values, same shape as ``p``.

    References
    ----------
    S. Holm (1979), "A simple sequentially rejective multiple test procedure",
    *Scandinavian Journal of Statistics* 6, 65-70.
    """
    flat = np.asarray(p, dtype=float).ravel()
    out = np.full_like(flat, np.nan)
    ok = np.flatnonzero(np.isfinite(flat))
    m = len(ok)
    if m:
        order = ok[np.argsort(flat[ok], kind="stable")]
        adj = np.maximum.accumulate((m - np.arange(m)) * flat[order])
        out[order] = np.minimum(adj, 1.0)
    return out.reshape(np.shape(p))
