"""Bias of perceived emotion toward the neutral centre (5, 5) of the rating scales.

AImoclips (Go et al., 2025) observes that listeners rate generated clips closer to the
scale centre than the intents' lexicon norms. :func:`neutrality_bias` quantifies this per
system and axis in two complementary ways.

Distances to the centre
    With :math:`\\nu_c` the intent norm and :math:`\\bar r_c` the mean rating of clip
    :math:`c` on one axis, and the centre :math:`m = 5`,

    .. math::

       D_\\text{norm} = \\frac1n \\sum_c |\\nu_c - m|, \\quad
       D_\\text{rating} = \\frac1n \\sum_c |\\bar r_c - m|, \\quad
       \\text{bias} = D_\\text{norm} - D_\\text{rating}, \\quad
       \\text{ratio} = D_\\text{rating} / D_\\text{norm}.

    ``bias > 0`` (``ratio < 1``) means clips are perceived closer to neutral than intended.

Regression slope (compression)
    The ordinary least squares fit :math:`\\bar r_c = \\beta_0 + \\beta_1 \\nu_c + e_c`
    over the system's clips. :math:`\\beta_1 = 1` reproduces the spread of the intents,
    :math:`0 < \\beta_1 < 1` compresses it toward the centre, :math:`\\beta_1 \\le 0` loses
    it. With :math:`S_{xx} = \\sum (\\nu_c - \\bar\\nu)^2`,
    :math:`S_{xy} = \\sum (\\nu_c - \\bar\\nu)(\\bar r_c - \\bar r)` and
    :math:`S_{yy} = \\sum (\\bar r_c - \\bar r)^2`:

    .. math::

       \\hat\\beta_1 = S_{xy}/S_{xx}, \\quad
       \\hat\\beta_0 = \\bar r - \\hat\\beta_1 \\bar\\nu, \\quad
       r = S_{xy}/\\sqrt{S_{xx} S_{yy}}, \\quad
       \\operatorname{se}(\\hat\\beta_1) = \\sqrt{\\frac{(S_{yy} - \\hat\\beta_1 S_{xy})/(n-2)}
       {S_{xx}}},

    the confidence interval is :math:`\\hat\\beta_1 \\pm t_{n-2, (1+\\gamma)/2}
    \\operatorname{se}` and ``p_slope_lt_1`` is the one-sided p-value
    :math:`P(T_{n-2} \\le (\\hat\\beta_1 - 1)/\\operatorname{se})` of
    :math:`H_1: \\beta_1 < 1` (e.g. Draper & Smith, 1998, *Applied Regression Analysis*,
    3rd ed., Ch. 1). The norms are treated as fixed; rating noise in the clip means is
    error in the response, which widens the interval but does not bias the slope, so the
    slope estimates the compression of the *expected* clip rating.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from emoconvey._validation import (
    SCALE_CENTRE,
    check_axes,
    check_confidence,
    require_columns,
    require_numeric,
    require_rows,
)
from emoconvey.analysis.common import group_moments, listed, require_keys
from emoconvey.errors import DegenerateDataWarning

__all__ = ["NEUTRALITY_COLUMNS", "neutrality_bias"]

log = logging.getLogger(__name__)

NEUTRALITY_COLUMNS: tuple[str, ...] = (
    "system",
    "axis",
    "n",
    "norm_distance",
    "rating_distance",
    "bias",
    "ratio",
    "slope",
    "slope_ci_low",
    "slope_ci_high",
    "intercept",
    "r",
    "p_slope_lt_1",
)
"""Columns of :func:`neutrality_bias`, in order."""


def _one_axis(clips: pd.DataFrame, axis: str, confidence: float) -> pd.DataFrame:
    y = clips[axis].to_numpy(dtype=float)
    x = clips[f"norm_{axis}"].to_numpy(dtype=float)
    frame = pd.DataFrame({"system": clips["system"].to_numpy(), "x": x, "y": y})
    frame["norm_dist"] = np.abs(x - SCALE_CENTRE)
    frame["rating_dist"] = np.abs(y - SCALE_CENTRE)
    spread = frame.groupby("system", sort=False).agg(
        x_min=("x", "min"),
        x_max=("x", "max"),
        norm_distance=("norm_dist", "mean"),
        rating_distance=("rating_dist", "mean"),
    )
    # n, mean_x, mean_y and the centred sums of squares and products sxx, syy, sxy
    agg = group_moments(frame, ["system"], "x", "y").set_index("system").join(spread)
    n = agg["n"].to_numpy(dtype=float)
    sxx = agg["sxx"].to_numpy()
    syy = agg["syy"].to_numpy()
    sxy = agg["sxy"].to_numpy()
    norm_d = agg["norm_distance"].to_numpy()
    rating_d = agg["rating_distance"].to_numpy()
    systems = agg.index.to_list()

    # one distinct norm value: the slope is not identified (exact test, no tolerance)
    constant_x = (agg["x_max"] == agg["x_min"]).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(constant_x, np.nan, sxy / sxx)
        intercept = agg["mean_y"].to_numpy() - slope * agg["mean_x"].to_numpy()
        r = np.where(constant_x | (syy <= 0), np.nan, sxy / np.sqrt(sxx * syy))
        r = np.clip(r, -1.0, 1.0)
        dof = n - 2.0
        resid = np.maximum(syy - slope * sxy, 0.0)
        se = np.where(dof > 0, np.sqrt(resid / np.where(dof > 0, dof, np.nan) / sxx), np.nan)
        tcrit = stats.t.ppf(0.5 + confidence / 2.0, np.where(dof > 0, dof, np.nan))
        ci_low = slope - tcrit * se
        ci_high = slope + tcrit * se
        tstat = (slope - 1.0) / se
        p = stats.t.cdf(tstat, np.where(dof > 0, dof, np.nan))
        ratio = np.where(norm_d > 0, rating_d / norm_d, np.nan)

    if constant_x.any():
        warnings.warn(
            f"neutrality_bias: {axis}: the clips of {int(constant_x.sum())} system(s) all have "
            f"the same intent norm, so slope, intercept, r and p are NaN: "
            f"{listed([systems[i] for i in np.flatnonzero(constant_x)])}",
            DegenerateDataWarning,
            stacklevel=3,
        )
    few = (~constant_x) & (n < 3)
    if few.any():
        warnings.warn(
            f"neutrality_bias: {axis}: {int(few.sum())} system(s) have fewer than 3 clips, so "
            "the slope's confidence interval and p-value are NaN: "
            f"{listed([systems[i] for i in np.flatnonzero(few)])}",
            DegenerateDataWarning,
            stacklevel=3,
        )
    flat_y = (~constant_x) & (syy <= 0)
    if flat_y.any():
        warnings.warn(
            f"neutrality_bias: {axis}: the clip means of {int(flat_y.sum())} system(s) do not "
            "vary, so r is NaN (slope 0): "
            f"{listed([systems[i] for i in np.flatnonzero(flat_y)])}",
            DegenerateDataWarning,
            stacklevel=3,
        )
    zero_norm = norm_d <= 0
    if zero_norm.any():
        warnings.warn(
            f"neutrality_bias: {axis}: the intent norms of {int(zero_norm.sum())} system(s) "
            "all lie on the scale centre, so ratio is NaN: "
            f"{listed([systems[i] for i in np.flatnonzero(zero_norm)])}",
            DegenerateDataWarning,
            stacklevel=3,
        )
    return pd.DataFrame(
        {
            "system": systems,
            "axis": axis,
            "n": agg["n"].to_numpy(dtype=np.int64),
            "norm_distance": norm_d,
            "rating_distance": rating_d,
            "bias": norm_d - rating_d,
            "ratio": ratio,
            "slope": slope,
            "slope_ci_low": ci_low,
            "slope_ci_high": ci_high,
            "intercept": intercept,
            "r": r,
            "p_slope_lt_1": p,
        }
    )


def neutrality_bias(
    clips: pd.DataFrame,
    *,
    axes: str | Sequence[str] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """How much closer to the neutral centre (5, 5) each system's clips are than intended.

    See the module docstring for the formulas.

    Parameters
    ----------
    clips : DataFrame
        One row per clip with ``system``, ``valence``, ``arousal`` (clip mean ratings)
        and ``norm_valence``, ``norm_arousal`` (intent norms), e.g.
        :attr:`emoconvey.data.Dataset.clips`. Only the columns of the requested axes are
        needed. Not modified.
    axes : str or sequence of str, optional
        ``"valence"``, ``"arousal"`` or both (default).
    confidence : float, default 0.95
        Level of the slope's confidence interval.

    Returns
    -------
    DataFrame
        One row per system (order of first appearance) and axis (order given), columns
        (:data:`NEUTRALITY_COLUMNS`): ``system``, ``axis``, ``n`` (clips),
        ``norm_distance`` (mean :math:`|\\nu - 5|`), ``rating_distance`` (mean
        :math:`|\\bar r - 5|`), ``bias`` (``norm_distance - rating_distance``; > 0 = rated
        closer to neutral than intended), ``ratio`` (``rating_distance / norm_distance``),
        ``slope``, ``slope_ci_low``, ``slope_ci_high``, ``intercept``, ``r`` (OLS of clip
        mean on intent norm; slope < 1 = compression toward the centre) and
        ``p_slope_lt_1`` (one-sided t-test of slope < 1, n - 2 degrees of freedom).

    Warns
    -----
    DegenerateDataWarning
        A system's clips share one intent norm (slope, intercept, r, CI and p NaN); fewer
        than 3 clips (CI and p NaN); constant clip means (r NaN); all norms at the centre
        (ratio NaN).

    Raises
    ------
    DataValidationError
        A required column is missing, a system is missing, or a value is not a finite
        number.
    EmoconveyError
        ``axes`` or ``confidence`` is invalid.
    """
    axes_t = check_axes(axes)
    confidence = check_confidence(confidence)
    needed = ["system", *axes_t, *(f"norm_{a}" for a in axes_t)]
    require_columns(clips, needed, name="clips")
    require_rows(clips, name="clips")
    require_keys(clips, ["system"], name="clips")
    require_numeric(clips, needed[1:], name="clips")
    parts = [_one_axis(clips, axis, confidence) for axis in axes_t]
    out = pd.concat(parts, ignore_index=True)
    sys_code, _ = pd.factorize(out["system"], sort=False)
    axis_code = out["axis"].map({a: i for i, a in enumerate(axes_t)}).to_numpy()
    out = out.iloc[np.lexsort((axis_code, sys_code))].reset_index(drop=True)
    log.debug("neutrality_bias: %d rows", len(out))
    return out.loc[:, list(NEUTRALITY_COLUMNS)]
