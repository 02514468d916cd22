"""Where each system's clips land on the valence-arousal plane.

For every system and *intended* quadrant, :func:`va_plane` gives the centroid of the
clip mean ratings, the centroid of the intended lexicon norms, the sample covariance of
the clip means and the covariance (confidence) ellipse, the usual way of drawing the
AImoclips valence-arousal scatter (Go et al., 2025, Fig. 2) with one ellipse per cluster.

Covariance ellipse
------------------
For a cluster of :math:`n` clip means :math:`x_c = (v_c, a_c)` with centroid
:math:`\\bar x` and sample covariance

.. math:: \\Sigma = \\frac{1}{n-1} \\sum_c (x_c - \\bar x)(x_c - \\bar x)^\\top ,

the ellipse at confidence :math:`\\gamma` is
:math:`\\{x : (x - \\bar x)^\\top \\Sigma^{-1} (x - \\bar x) \\le q\\}` with
:math:`q = \\chi^2_2(\\gamma) = -2 \\ln(1 - \\gamma)` (5.991 for 0.95). If the clip
means were bivariate normal with covariance :math:`\\Sigma`, it would hold a fraction
:math:`\\gamma` of them (Johnson & Wichern, 2007, *Applied Multivariate Statistical
Analysis*, 6th ed., Result 4.7). With eigenvalues :math:`\\lambda_1 \\ge \\lambda_2` of
:math:`\\Sigma` its full axis lengths are :math:`2\\sqrt{q \\lambda_1}` (``width``) and
:math:`2\\sqrt{q \\lambda_2}` (``height``), and ``angle`` is the direction of the
:math:`\\lambda_1` eigenvector, in degrees counter-clockwise from the valence axis, in
(-90, 90]. These are the arguments of :class:`matplotlib.patches.Ellipse`.

The eigen-decomposition of the symmetric 2 x 2 matrix
:math:`\\begin{pmatrix} s_{vv} & s_{va} \\\\ s_{va} & s_{aa} \\end{pmatrix}` is done in
closed form so that thousands of clusters are handled at once:

.. math::

   \\lambda_{1,2} = \\frac{s_{vv} + s_{aa}}{2} \\pm
       \\sqrt{\\left(\\frac{s_{vv} - s_{aa}}{2}\\right)^2 + s_{va}^2},
   \\qquad
   \\theta = \\tfrac12 \\operatorname{atan2}(2 s_{va},\\, s_{vv} - s_{aa}).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from emoconvey._validation import (
    QUADRANTS,
    check_confidence,
    check_positive_int,
    require_columns,
    require_numeric,
    require_rows,
)
from emoconvey.analysis.common import (
    group_moments,
    listed,
    order_codes,
    require_keys,
    require_quadrants,
)
from emoconvey.errors import DegenerateDataWarning, EmoconveyError

__all__ = [
    "VA_PLANE_COLUMNS",
    "chi2_quantile",
    "covariance_ellipse",
    "ellipse_contains",
    "ellipse_points",
    "va_plane",
]

log = logging.getLogger(__name__)

VA_PLANE_COLUMNS: tuple[str, ...] = (
    "system",
    "quadrant",
    "n",
    "mean_valence",
    "mean_arousal",
    "norm_valence",
    "norm_arousal",
    "cov_vv",
    "cov_aa",
    "cov_va",
    "ellipse_width",
    "ellipse_height",
    "ellipse_angle",
)
"""Columns of :func:`va_plane`, in order."""

_PLANE_INPUT: tuple[str, ...] = (
    "system",
    "quadrant",
    "valence",
    "arousal",
    "norm_valence",
    "norm_arousal",
)
def chi2_quantile(confidence: float, *, dof: int = 2) -> float:
    """Quantile :math:`\\chi^2_{k}(\\gamma)` used to scale a covariance ellipse.

    For ``dof=2`` this is :math:`-2\\ln(1-\\gamma)`, e.g. 5.991 at 0.95.
    """
    confidence = check_confidence(confidence)
    dof = check_positive_int(dof, name="dof")
    return float(stats.chi2.ppf(confidence, dof))


def covariance_ellipse(
    cov_vv: np.ndarray | float,
    cov_aa: np.ndarray | float,
    cov_va: np.ndarray | float,
    *,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full axis lengths and angle of covariance ellipses (vectorised, closed form).

    Parameters
    ----------
    cov_vv, cov_aa, cov_va : float or array
        Entries of 2 x 2 covariance matrices.
    confidence : float, default 0.95
        Coverage :math:`\\gamma`; the ellipse is scaled by :math:`\\chi^2_2(\\gamma)`.

    Returns
    -------
    width, height, angle : ndarray
        ``width = 2 sqrt(q lambda_1)`` (major axis), ``height = 2 sqrt(q lambda_2)``,
        ``angle`` in degrees in (-90, 90], counter-clockwise from the valence axis, of the
        ``width`` axis (matplotlib ``Ellipse`` convention). NaN where an entry is NaN.
        A tiny negative second eigenvalue from rounding is clipped to 0.
    """
    q = chi2_quantile(confidence)
    a = np.asarray(cov_vv, dtype=float)
    c = np.asarray(cov_aa, dtype=float)
    b = np.asarray(cov_va, dtype=float)
    half_sum = 0.5 * (a + c)
    radius = np.hypot(0.5 * (a - c), b)
    lam1 = half_sum + radius
    lam2 = np.maximum(half_sum - radius, 0.0)
    width = 2.0 * np.sqrt(q * np.maximum(lam1, 0.0))
    height = 2.0 * np.sqrt(q * lam2)
    angle = np.degrees(0.5 * np.arctan2(2.0 * b, a - c))
    angle = np.where(angle <= -90.0, angle + 180.0, angle)
    nan = np.isnan(a) | np.isnan(b) | np.isnan(c)
    width = np.where(nan, np.nan, width)
    height = np.where(nan, np.nan, height)
    angle = np.where(nan, np.nan, angle)
    return width, height, angle


# ----------------------------------------------------------------------------- va_plane


def _blank_degenerate_ellipses(out: pd.DataFrame) -> None:
    """Set the ellipse of groups under 3 clips to NaN (in place); warn about those and
    about flat (collinear) ellipses, pointing at :func:`va_plane`'s caller."""
    few = out["n"].to_numpy() < 3
    if few.any():
        out.loc[few, ["ellipse_width", "ellipse_height", "ellipse_angle"]] = np.nan
        groups = [f"{s}/{q} (n={n})" for s, q, n in out.loc[few, ["system", "quadrant", "n"]]
                  .itertuples(index=False)]
        warnings.warn(
            f"va_plane: {len(groups)} system/quadrant group(s) have fewer than 3 clips, "
            f"so their ellipse is NaN: {listed(groups)}",
            DegenerateDataWarning,
            stacklevel=3,
        )
    flat = (~few) & (out["ellipse_height"].to_numpy() <= 1e-12 * np.maximum(
        out["ellipse_width"].to_numpy(), 1.0))
    if flat.any():
        groups = [f"{s}/{q}" for s, q in out.loc[flat, ["system", "quadrant"]]
                  .itertuples(index=False)]
        warnings.warn(
            f"va_plane: the clip means of {len(groups)} group(s) are collinear or identical, "
            f"so their ellipse has zero height: {listed(groups)}",
            DegenerateDataWarning,
            stacklevel=3,
        )


def va_plane(clips: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Centroid, spread and covariance ellipse of each system's clips per intended quadrant.

    Parameters
    ----------
    clips : DataFrame
        One row per clip (e.g. :attr:`emoconvey.data.Dataset.clips`) with ``system``,
        ``quadrant`` (the *intended* quadrant, one of ``hv_ha``, ``lv_ha``, ``lv_la``,
        ``hv_la``), ``valence``, ``arousal`` (clip mean ratings) and ``norm_valence``,
        ``norm_arousal`` (intent targets). Not modified.
    confidence : float, default 0.95
        Coverage of the ellipse, scaled by :math:`\\chi^2_2(\\text{confidence})`.

    Returns
    -------
    DataFrame
        One row per (system, intended quadrant) present in ``clips``: systems in order of
        first appearance, quadrants in the order ``hv_ha, lv_ha, lv_la, hv_la``. Columns
        (:data:`VA_PLANE_COLUMNS`):

        ``system``, ``quadrant``
            The group.
        ``n``
            Number of clips.
        ``mean_valence``, ``mean_arousal``
            Centroid of the clip means.
        ``norm_valence``, ``norm_arousal``
            Mean of the intent norms of the same clips (the intended centroid).
        ``cov_vv``, ``cov_aa``, ``cov_va``
            Sample covariance (ddof=1) of the clip means; NaN when ``n < 2``.
        ``ellipse_width``, ``ellipse_height``
            Full major and minor axis lengths, :math:`2\\sqrt{\\chi^2_2(\\gamma)\\lambda}`.
        ``ellipse_angle``
            Degrees counter-clockwise from the valence axis to the ``width`` axis, in
            (-90, 90].

    Warns
    -----
    DegenerateDataWarning
        When a group has fewer than 3 clips (its ellipse columns are NaN), or when a
        group's clip means are collinear or identical (its ellipse has zero height; the
        values are returned as computed).

    Raises
    ------
    DataValidationError
        A required column is missing, a group key is missing, a quadrant is unknown or
        a rating/norm is not a finite number.
    EmoconveyError
        ``confidence`` is not in (0, 1).

    Examples
    --------
    >>> from emoconvey.data import load_aimoclips
    >>> plane = va_plane(load_aimoclips().clips)
    >>> list(plane.columns[:4])
    ['system', 'quadrant', 'n', 'mean_valence']
    """
    confidence = check_confidence(confidence)
    require_columns(clips, _PLANE_INPUT, name="clips")
    require_rows(clips, name="clips")
    require_keys(clips, ["system", "quadrant"], name="clips")
    require_quadrants(clips, name="clips")
    require_numeric(clips, ["valence", "arousal", "norm_valence", "norm_arousal"], name="clips")

    keys = ["system", "quadrant"]
    mom = group_moments(clips, keys, "valence", "arousal")
    norms = (
        clips.loc[:, [*keys, "norm_valence", "norm_arousal"]]
        .astype({"norm_valence": float, "norm_arousal": float})
        .groupby(keys, sort=False)
        .mean()
        .reset_index()
    )
    mom = mom.merge(norms, on=keys, how="left", validate="one_to_one")
    width, height, angle = covariance_ellipse(
        mom["cxx"], mom["cyy"], mom["cxy"], confidence=confidence
    )
    out = pd.DataFrame(
        {
            "system": mom["system"].to_numpy(),
            "quadrant": mom["quadrant"].to_numpy(),
            "n": mom["n"].to_numpy(dtype=np.int64),
            "mean_valence": mom["mean_x"].to_numpy(dtype=float),
            "mean_arousal": mom["mean_y"].to_numpy(dtype=float),
            "norm_valence": mom["norm_valence"].to_numpy(dtype=float),
            "norm_arousal": mom["norm_arousal"].to_numpy(dtype=float),
            "cov_vv": mom["cxx"].to_numpy(dtype=float),
            "cov_aa": mom["cyy"].to_numpy(dtype=float),
            "cov_va": mom["cxy"].to_numpy(dtype=float),
            "ellipse_width": width,
            "ellipse_height": height,
            "ellipse_angle": angle,
        }
    )
    _blank_degenerate_ellipses(out)
    order = np.lexsort(
        (
            order_codes(out["quadrant"], natural=QUADRANTS),
            order_codes(out["system"]),
        )
    )
    out = out.iloc[order].reset_index(drop=True)
    log.debug("va_plane: %d groups from %d clips", len(out), len(clips))
    return out


# ----------------------------------------------------------------------------- geometry

_ELLIPSE_KEYS = ("mean_valence", "mean_arousal", "ellipse_width", "ellipse_height",
                 "ellipse_angle")


def _ellipse_params(row_or_params: object) -> tuple[float, float, float, float, float]:
    if isinstance(row_or_params, pd.Series | Mapping):
        missing = [k for k in _ELLIPSE_KEYS if k not in row_or_params]
        if missing:
            raise EmoconveyError(
                f"row_or_params: missing {', '.join(map(repr, missing))}; expected a va_plane "
                f"row with {', '.join(_ELLIPSE_KEYS)}"
            )
        values = [row_or_params[k] for k in _ELLIPSE_KEYS]
    elif isinstance(row_or_params, Sequence | np.ndarray) and not isinstance(
        row_or_params, str
    ):
        values = list(row_or_params)
        if len(values) != 5:
            raise EmoconveyError(
                "row_or_params: expected 5 numbers (centre_valence, centre_arousal, width, "
                f"height, angle), got {len(values)}"
            )
    else:
        raise EmoconveyError(
            "row_or_params: expected a va_plane row (Series or mapping) or a 5-tuple "
            f"(centre_valence, centre_arousal, width, height, angle), got "
            f"{type(row_or_params).__name__}"
        )
    try:
        cx, cy, w, h, ang = (float(v) for v in values)
    except (TypeError, ValueError) as exc:
        raise EmoconveyError(f"row_or_params: expected numbers, got {values!r}") from exc
    if (w < 0 or h < 0) and not (np.isnan(w) or np.isnan(h)):
        raise EmoconveyError(
            f"row_or_params: expected non-negative width and height, got {w!r} and {h!r}"
        )
    return cx, cy, w, h, ang


def ellipse_points(row_or_params: object, *, n: int = 100) -> np.ndarray:
    """Points on the boundary of a va_plane ellipse, e.g. for plotting with ``plt.plot``.

    Parameters
    ----------
    row_or_params : Series, mapping or sequence
        A row of :func:`va_plane` (keys ``mean_valence``, ``mean_arousal``,
        ``ellipse_width``, ``ellipse_height``, ``ellipse_angle``) or the tuple
        ``(centre_valence, centre_arousal, width, height, angle_degrees)``.
    n : int, default 100
        Number of points (at least 2), at parameter angles :math:`t = 2\\pi k/(n-1)`,
        :math:`k = 0..n-1`: the first and last points coincide, so the curve is closed.

    Returns
    -------
    ndarray, shape (n, 2)
        ``[:, 0]`` valence, ``[:, 1]`` arousal:
        :math:`c + R(\\theta) (\\tfrac{w}{2}\\cos t, \\tfrac{h}{2}\\sin t)`. All NaN when
        the ellipse is NaN (fewer than 3 clips).
    """
    n = check_positive_int(n, name="n", minimum=2)
    cx, cy, w, h, ang = _ellipse_params(row_or_params)
    t = np.linspace(0.0, 2.0 * np.pi, n)
    theta = np.radians(ang)
    x = 0.5 * w * np.cos(t)
    y = 0.5 * h * np.sin(t)
    cos, sin = np.cos(theta), np.sin(theta)
    return np.column_stack((cx + cos * x - sin * y, cy + sin * x + cos * y))


def ellipse_contains(
    row_or_params: object, valence: np.ndarray | Sequence[float], arousal: np.ndarray |
    Sequence[float]
) -> np.ndarray:
    """Whether points lie inside (or on) a va_plane ellipse.

    Parameters
    ----------
    row_or_params : Series, mapping or sequence
        As for :func:`ellipse_points`.
    valence, arousal : array-like
        Coordinates of the points (same shape).

    Returns
    -------
    ndarray of bool
        :math:`(u / (w/2))^2 + (v / (h/2))^2 \\le 1` where :math:`(u, v)` are the
        coordinates relative to the centre rotated by :math:`-\\theta`. False everywhere
        when the ellipse is NaN or has zero width or height.
    """
    cx, cy, w, h, ang = _ellipse_params(row_or_params)
    v = np.asarray(valence, dtype=float)
    a = np.asarray(arousal, dtype=float)
    if v.shape != a.shape:
        raise EmoconveyError(
            f"valence and arousal: expected the same shape, got {v.shape} and {a.shape}"
        )
    if not (w > 0 and h > 0):
        return np.zeros(v.shape, dtype=bool)
    theta = np.radians(ang)
    dv, da = v - cx, a - cy
    u = np.cos(theta) * dv + np.sin(theta) * da
    s = -np.sin(theta) * dv + np.cos(theta) * da
    return (u / (0.5 * w)) ** 2 + (s / (0.5 * h)) ** 2 <= 1.0
