"""Inter-listener agreement and listener-normalised (z-scored) ratings.

Krippendorff's alpha (interval)
-------------------------------
Units are clips and coders are listeners; each clip is rated by its own subset of
listeners (an incomplete design). Only *pairable* values count: ratings of clips with at
least two ratings. With :math:`m_u` pairable ratings of unit :math:`u`, :math:`n =
\\sum_u m_u` pairable values in all and the interval metric
:math:`\\delta^2(x, y) = (x - y)^2`, the observed and expected disagreements are
(Krippendorff, 2011, "Computing Krippendorff's alpha-reliability", Sec. C and E)

.. math::

   D_o = \\frac{1}{n} \\sum_u \\frac{1}{m_u - 1} \\sum_{i \\ne j \\in u} (x_i - x_j)^2,
   \\qquad
   D_e = \\frac{1}{n (n - 1)} \\sum_{i \\ne j} (x_i - x_j)^2,
   \\qquad
   \\alpha = 1 - \\frac{D_o}{D_e},

the double sums running over ordered pairs of distinct values, the second over all
pairable values. Since :math:`\\sum_{i \\ne j \\in u}(x_i - x_j)^2 = 2 m_u SS_u` with
:math:`SS_u` the within-unit sum of squared deviations from the unit mean (and likewise
for all values with :math:`SS` about the grand mean), this is computed without pairs as

.. math::

   \\alpha = 1 - \\frac{(n - 1) \\sum_u m_u SS_u / (m_u - 1)}{n \\cdot SS},

which equals the coincidence-matrix formulation of Krippendorff (2011) for interval data.
:math:`\\alpha = 1` is perfect agreement, 0 agreement at chance level.

Listener z-scores
-----------------
Listeners use the 9-point scales differently (some never go below 3, some use the whole
range). :func:`zscore_ratings` standardises each listener's ratings on each axis,
:math:`z = (x - \\bar x_\\ell) / s_\\ell` (sample SD, ddof = 1), and
:func:`rater_normalised_anova` repeats the AImoclips system-effect test on clip means of
the z-scores, as a robustness check that system differences are not an artefact of who
happened to rate which clip.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from emoconvey._validation import (
    check_axes,
    check_choice,
    require_columns,
    require_numeric,
    require_rows,
)
from emoconvey.analysis.common import listed, require_keys
from emoconvey.errors import DataValidationError, DegenerateDataWarning

__all__ = [
    "ALPHA_COLUMNS",
    "ALPHA_GROUPS",
    "RANK_AGREEMENT_COLUMNS",
    "RATER_ANOVA_COLUMNS",
    "RATER_CLIP_COLUMNS",
    "interval_alpha",
    "krippendorff_alpha",
    "rater_normalised_anova",
    "rater_normalised_clips",
    "zscore_rank_agreement",
    "zscore_ratings",
]

log = logging.getLogger(__name__)

ALPHA_COLUMNS: tuple[str, ...] = (
    "axis",
    "alpha",
    "units",
    "pairable_ratings",
    "raters",
    "level",
)
"""Columns of :func:`krippendorff_alpha` (preceded by the ``by`` column when given)."""

ALPHA_GROUPS: tuple[str, ...] = ("system", "intent", "quadrant")
"""Columns :func:`krippendorff_alpha` can compute alpha separately for."""

RATER_CLIP_COLUMNS: tuple[str, ...] = (
    "clip",
    "system",
    "intent",
    "quadrant",
    "n_ratings",
    "valence_z",
    "arousal_z",
)
"""Columns of :func:`rater_normalised_clips`."""

RATER_ANOVA_COLUMNS: tuple[str, ...] = (
    "test",
    "axis",
    "measure",
    "source",
    "sum_sq",
    "df",
    "df_resid",
    "F",
    "p",
    "eta_sq",
)
"""Columns of :func:`rater_normalised_anova`."""

RANK_AGREEMENT_COLUMNS: tuple[str, ...] = (
    "axis",
    "system",
    "mean_raw",
    "mean_z",
    "rank_raw",
    "rank_z",
    "spearman_rho",
)
"""Columns of :func:`zscore_rank_agreement`."""

_RATING_KEYS = ("listener", "clip")


def _check_ratings(
    ratings: pd.DataFrame, axes: Sequence[str], extra: Sequence[str] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a ratings table; return integer codes of listener and clip.

    Codes number the values in order of first appearance (``pandas.factorize``).
    """
    require_columns(ratings, [*_RATING_KEYS, *extra, *axes], name="ratings")
    require_rows(ratings, name="ratings")
    require_keys(ratings, [*_RATING_KEYS, *extra], name="ratings")
    require_numeric(ratings, list(axes), name="ratings")
    lcode, _ = pd.factorize(ratings["listener"], sort=False)
    ccode, clips = pd.factorize(ratings["clip"], sort=False)
    key = lcode.astype(np.int64) * max(len(clips), 1) + ccode
    dup = pd.Series(key).duplicated().to_numpy()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        row = ratings.iloc[pos]
        raise DataValidationError(
            f"listener {row['listener']!r} rated clip {row['clip']!r} more than once (row "
            f"{pos}, 0-based); expected one rating per listener and clip",
            file="ratings",
            column="clip",
        )
    return lcode.astype(np.int64), ccode.astype(np.int64)


# ----------------------------------------------------------------------------- alpha


def _alpha_one(
    x: np.ndarray,
    unit: np.ndarray,
    rater: np.ndarray,
    group: np.ndarray,
    n_groups: int,
) -> pd.DataFrame:
    """Interval alpha of one axis per group code (0..n_groups-1), with ``np.bincount``.

    ``unit`` codes must be nested in groups (a unit code belongs to one group).
    Returns one row per group code: units, pairable_ratings, raters, d_o, d_e.
    """
    n_units = int(unit.max()) + 1 if len(unit) else 0
    m_all = np.bincount(unit, minlength=n_units)
    keep = m_all[unit] >= 2
    x, unit, rater, group = x[keep], unit[keep], rater[keep], group[keep]
    m = m_all[unit].astype(float)
    unit_mean = np.bincount(unit, weights=x, minlength=n_units) / np.maximum(m_all, 1)
    dev = x - unit_mean[unit]
    # per rating m_u (x - mean_u)^2 / (m_u - 1); summed over a unit: m_u SS_u / (m_u - 1)
    within = np.bincount(group, weights=m * dev * dev / (m - 1.0), minlength=n_groups)
    n = np.bincount(group, minlength=n_groups).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        grand = np.bincount(group, weights=x, minlength=n_groups) / n
        tot = x - grand[group]
        total = np.bincount(group, weights=tot * tot, minlength=n_groups)
        d_o = 2.0 * within / n
        d_e = 2.0 * total / (n - 1.0)
    unit_group = np.full(n_units, -1, dtype=np.int64)
    unit_group[unit] = group
    units = np.bincount(unit_group[unit_group >= 0], minlength=n_groups)
    n_raters = int(rater.max()) + 1 if len(rater) else 1
    pairs = np.unique(group * n_raters + rater)
    raters = np.bincount(pairs // n_raters, minlength=n_groups)
    return pd.DataFrame(
        {
            "units": units.astype(np.int64),
            "pairable_ratings": n.astype(np.int64),
            "raters": raters.astype(np.int64),
            "d_o": d_o,
            "d_e": d_e,
        }
    )


def interval_alpha(values: np.ndarray, units: np.ndarray) -> float:
    """Interval Krippendorff's alpha of ``values`` whose unit (clip) codes are ``units``.

    The one implementation of interval alpha (see the module docstring; Krippendorff,
    2011): :func:`krippendorff_alpha` uses it per axis and group, and
    :func:`emoconvey.analysis.mos.krippendorff_alpha_mos` for MOS scales. Units with a
    single value are not pairable and are ignored.

    Parameters
    ----------
    values : ndarray of float
        One value per rating.
    units : ndarray of int
        Unit code of each rating, ``0 .. n_units - 1``.

    Returns
    -------
    float
        NaN when there is no expected disagreement (no two pairable values differ); the
        caller warns. With a single pairable unit alpha is 0.
    """
    units = np.asarray(units, dtype=np.int64)
    zeros = np.zeros(len(units), dtype=np.int64)
    res = _alpha_one(np.asarray(values, dtype=float), units, zeros, zeros, 1)
    d_e = float(res["d_e"].iloc[0])
    return 1.0 - float(res["d_o"].iloc[0]) / d_e if d_e > 0 else float("nan")


def krippendorff_alpha(
    ratings: pd.DataFrame,
    *,
    axes: str | Sequence[str] | None = None,
    by: str | None = None,
) -> pd.DataFrame:
    """Interval-level Krippendorff's alpha of the listeners' ratings, per axis.

    Units are clips, coders are listeners, and each clip may be rated by a different
    subset of listeners; clips with a single rating are not pairable and are ignored.
    See the module docstring for the formula (Krippendorff, 2011).

    Parameters
    ----------
    ratings : DataFrame
        One row per rating with ``listener``, ``clip`` and the rating columns
        (``valence``, ``arousal``), e.g. :attr:`emoconvey.data.Dataset.ratings`. Not
        modified.
    axes : str or sequence of str, optional
        ``"valence"``, ``"arousal"`` or both (default).
    by : {"system", "intent", "quadrant"}, optional
        Compute alpha separately within each value of this column (clips are nested in
        it). Default: one alpha over all clips.

    Returns
    -------
    DataFrame
        One row per axis (per ``by`` value, in order of first appearance, then axis).
        Columns: the ``by`` column if given, then :data:`ALPHA_COLUMNS`: ``axis``,
        ``alpha``, ``units`` (clips with at least 2 ratings), ``pairable_ratings``
        (ratings of those clips), ``raters`` (distinct listeners among them) and
        ``level`` (``"interval"``).

    Warns
    -----
    DegenerateDataWarning
        Fewer than 2 pairable clips, or all pairable ratings equal (:math:`D_e = 0`):
        alpha is NaN.

    Raises
    ------
    DataValidationError
        A required column is missing, a listener or clip is missing, a rating is not a
        finite number, or a listener rated a clip twice.
    EmoconveyError
        ``axes`` or ``by`` is invalid.

    Examples
    --------
    >>> from emoconvey.data import load_aimoclips
    >>> krippendorff_alpha(load_aimoclips().ratings)["axis"].tolist()
    ['valence', 'arousal']
    """
    axes_t = check_axes(axes)
    if by is not None:
        by = check_choice(by, ALPHA_GROUPS, name="by")
    lcode, ccode = _check_ratings(ratings, axes_t, extra=[by] if by is not None else [])
    if by is not None:
        gcode, groups = pd.factorize(ratings[by], sort=False)
        gcode = gcode.astype(np.int64)
        # a clip listed under two groups (inconsistent table) is kept apart per group
        unit, _ = pd.factorize(gcode * (int(ccode.max()) + 1) + ccode, sort=False)
        unit = unit.astype(np.int64)
        labels = [f"{by}={g}" for g in groups]
    else:
        groups = np.array([None], dtype=object)
        gcode = np.zeros(len(ratings), dtype=np.int64)
        unit = ccode
        labels = ["all ratings"]
    parts = []
    for axis in axes_t:
        res = _alpha_one(
            ratings[axis].to_numpy(dtype=float), unit, lcode, gcode, len(groups)
        )
        few = res["units"].to_numpy() < 2
        no_var = (~few) & ~(res["d_e"].to_numpy() > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            alpha = 1.0 - res["d_o"].to_numpy() / res["d_e"].to_numpy()
        alpha[few | no_var] = np.nan
        if few.any():
            warnings.warn(
                f"krippendorff_alpha: {axis}: fewer than 2 clips with at least 2 ratings in "
                f"{listed([labels[i] for i in np.flatnonzero(few)])}; alpha is NaN",
                DegenerateDataWarning,
                stacklevel=2,
            )
        if no_var.any():
            warnings.warn(
                f"krippendorff_alpha: {axis}: all pairable ratings are equal (no expected "
                f"disagreement) in {listed([labels[i] for i in np.flatnonzero(no_var)])}; "
                "alpha is NaN",
                DegenerateDataWarning,
                stacklevel=2,
            )
        part = pd.DataFrame(
            {
                "_g": np.asarray(groups, dtype=object),
                "_order": np.arange(len(groups)),
                "axis": axis,
                "alpha": alpha.astype(float),
                "units": res["units"].to_numpy(),
                "pairable_ratings": res["pairable_ratings"].to_numpy(),
                "raters": res["raters"].to_numpy(),
                "level": "interval",
            }
        )
        parts.append(part)
    out = pd.concat(parts, ignore_index=True)
    if by is not None:
        axis_code = out["axis"].map({a: i for i, a in enumerate(axes_t)}).to_numpy()
        out = out.iloc[np.lexsort((axis_code, out["_order"].to_numpy()))]
        out = out.rename(columns={"_g": by}).reset_index(drop=True)
        cols = [by, *ALPHA_COLUMNS]
    else:
        cols = list(ALPHA_COLUMNS)
    log.debug("krippendorff_alpha: %d rows", len(out))
    return out.loc[:, cols].reset_index(drop=True)


# ----------------------------------------------------------------------------- z-scores


def zscore_ratings(ratings: pd.DataFrame) -> pd.DataFrame:
    """Standardise each listener's ratings on each axis.

    .. math:: z_{\\ell c} = \\frac{x_{\\ell c} - \\bar x_\\ell}{s_\\ell}

    with :math:`\\bar x_\\ell` and :math:`s_\\ell` (ddof = 1) over all ratings of
    listener :math:`\\ell` on that axis.

    Parameters
    ----------
    ratings : DataFrame
        One row per rating with ``listener``, ``clip``, ``valence``, ``arousal``. Not
        modified.

    Returns
    -------
    DataFrame
        A copy of ``ratings`` (same index and columns) with ``valence_z`` and
        ``arousal_z`` added.

    Warns
    -----
    DegenerateDataWarning
        Listeners with a single rating, or whose ratings on an axis are all equal, have
        no scale to standardise by: their z-scores on that axis are set to 0 (the
        fallback treats every rating as the listener's own mean), and the warning says
        how many listeners are affected.

    Raises
    ------
    DataValidationError
        A required column is missing, a listener or clip is missing, a rating is not a
        finite number, or a listener rated a clip twice.
    """
    lcode, _ = _check_ratings(ratings, ("valence", "arousal"))
    out = ratings.copy()
    out["valence_z"], out["arousal_z"] = _zscores(ratings, lcode, stacklevel=3)
    return out


def _zscores(
    ratings: pd.DataFrame, lcode: np.ndarray, *, stacklevel: int
) -> tuple[np.ndarray, np.ndarray]:
    """Within-listener z-scores of both axes (two-pass, ``np.bincount``)."""
    n_l = int(lcode.max()) + 1
    count = np.bincount(lcode, minlength=n_l).astype(float)
    result = []
    for axis in ("valence", "arousal"):
        x = ratings[axis].to_numpy(dtype=float)
        mean = np.bincount(lcode, weights=x, minlength=n_l) / count
        dev = x - mean[lcode]
        with np.errstate(divide="ignore", invalid="ignore"):
            sd = np.sqrt(np.bincount(lcode, weights=dev * dev, minlength=n_l) / (count - 1.0))
        ok_l = np.isfinite(sd) & (sd > 0)
        ok = ok_l[lcode]
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(ok, dev / np.where(ok_l, sd, 1.0)[lcode], 0.0)
        result.append(z)
        if not ok_l.all():
            bad = pd.unique(ratings["listener"].to_numpy()[~ok])
            warnings.warn(
                f"zscore_ratings: {len(bad)} listener(s) have a single rating or constant "
                f"{axis} ratings, so their {axis}_z is set to 0: {listed(list(bad))}",
                DegenerateDataWarning,
                stacklevel=stacklevel,
            )
    return result[0], result[1]


def rater_normalised_clips(ratings: pd.DataFrame) -> pd.DataFrame:
    """Clip table of mean listener z-scores.

    Parameters
    ----------
    ratings : DataFrame
        One row per rating with ``listener``, ``clip``, ``system``, ``intent``,
        ``quadrant``, ``valence``, ``arousal`` (e.g. :attr:`emoconvey.data.Dataset.ratings`).
        Not modified.

    Returns
    -------
    DataFrame
        One row per clip in order of first appearance, columns
        :data:`RATER_CLIP_COLUMNS`: ``clip``, ``system``, ``intent``, ``quadrant``,
        ``n_ratings`` and ``valence_z``, ``arousal_z`` (means over the clip's ratings of
        the z-scores of :func:`zscore_ratings`).

    Warns
    -----
    DegenerateDataWarning
        As :func:`zscore_ratings`.

    Raises
    ------
    DataValidationError
        As :func:`zscore_ratings`, or when a clip is attributed to several systems,
        intents or quadrants.
    """
    lcode, ccode = _check_ratings(
        ratings, ("valence", "arousal"), extra=("system", "intent", "quadrant")
    )
    vz, az = _zscores(ratings, lcode, stacklevel=3)
    n_c = int(ccode.max()) + 1
    _, first = np.unique(ccode, return_index=True)  # first row of each clip, by code
    for col in ("system", "intent", "quadrant"):
        codes, _ = pd.factorize(ratings[col], sort=False)
        clash = codes != codes[first][ccode]
        if clash.any():
            pos = int(np.flatnonzero(clash)[0])
            raise DataValidationError(
                f"clip {ratings['clip'].iloc[pos]!r} has several values; expected one {col} "
                "per clip",
                file="ratings",
                column=col,
            )
    count = np.bincount(ccode, minlength=n_c)
    out = pd.DataFrame(
        {
            "clip": ratings["clip"].to_numpy()[first],
            "system": ratings["system"].to_numpy()[first],
            "intent": ratings["intent"].to_numpy()[first],
            "quadrant": ratings["quadrant"].to_numpy()[first],
            "n_ratings": count.astype(np.int64),
            "valence_z": np.bincount(ccode, weights=vz, minlength=n_c) / count,
            "arousal_z": np.bincount(ccode, weights=az, minlength=n_c) / count,
        }
    )
    return out


def rater_normalised_anova(
    ratings: pd.DataFrame, *, axes: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """System effect on listener-normalised ratings (robustness check of the ANOVA).

    Two-way ANOVA (Type II, main effects of ``system`` and ``intent``) of the clip means
    of listener z-scores (:func:`rater_normalised_clips`), via
    :func:`emoconvey.analysis.anova.two_way_anova`. Because ``intent`` is a factor,
    subtracting the intent norm from the dependent variable changes only the intent
    effect, so the system effect here is the exact z-score analogue of the AImoclips
    system-effect test on deviations (Go et al., 2025, Sec. 5).

    Parameters
    ----------
    ratings : DataFrame
        As for :func:`rater_normalised_clips`. Not modified.
    axes : str or sequence of str, optional
        ``"valence"``, ``"arousal"`` or both (default).

    Returns
    -------
    DataFrame
        Columns :data:`RATER_ANOVA_COLUMNS`: ``test`` (``"system_effect_z"``), ``axis``,
        ``measure`` (``"zscore"``), then the rows of ``two_way_anova``: ``source``,
        ``sum_sq``, ``df``, ``df_resid``, ``F``, ``p``, ``eta_sq``.

    Warns
    -----
    DegenerateDataWarning
        As :func:`zscore_ratings` and ``two_way_anova``.

    Raises
    ------
    DataValidationError, EmoconveyError
        As :func:`rater_normalised_clips`; bad ``axes``.
    """
    from emoconvey.analysis.anova import two_way_anova  # another module; imported lazily

    axes_t = check_axes(axes)
    clips = rater_normalised_clips(ratings)
    parts = []
    for axis in axes_t:
        table = two_way_anova(clips, dv=f"{axis}_z", factors=("system", "intent"))
        table = table.copy()
        table.insert(0, "measure", "zscore")
        table.insert(0, "axis", axis)
        table.insert(0, "test", "system_effect_z")
        parts.append(table)
    out = pd.concat(parts, ignore_index=True)
    return out.loc[:, list(RATER_ANOVA_COLUMNS)]


def zscore_rank_agreement(
    ratings: pd.DataFrame, *, axes: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """Do systems rank the same on raw and listener-normalised ratings?

    For each axis, systems are ranked by the mean of their clip means on the raw
    1-9 ratings and on the listener z-scores (:func:`rater_normalised_clips`), rank 1 =
    highest (most positive / most aroused), ties sharing the average rank. Spearman's
    :math:`\\rho` between the two rankings (Spearman, 1904) near 1 says that who rated
    which clip does not drive the comparison between systems.

    Parameters
    ----------
    ratings : DataFrame
        As for :func:`rater_normalised_clips`. Not modified.
    axes : str or sequence of str, optional
        ``"valence"``, ``"arousal"`` or both (default).

    Returns
    -------
    DataFrame
        One row per axis and system (order of first appearance), columns
        :data:`RANK_AGREEMENT_COLUMNS`: ``axis``, ``system``, ``mean_raw``, ``mean_z``,
        ``rank_raw``, ``rank_z``, ``spearman_rho`` (the same for every row of an axis).

    Warns
    -----
    DegenerateDataWarning
        Fewer than 3 systems, or a ranking with all systems tied: ``spearman_rho`` NaN.
    """
    axes_t = check_axes(axes)
    zc = rater_normalised_clips(ratings)
    raw = ratings.groupby("clip", sort=False)[list(axes_t)].mean()
    parts = []
    for axis in axes_t:
        frame = pd.DataFrame(
            {
                "system": zc["system"].to_numpy(),
                "raw": raw[axis].reindex(zc["clip"]).to_numpy(dtype=float),
                "z": zc[f"{axis}_z"].to_numpy(dtype=float),
            }
        )
        means = frame.groupby("system", sort=False)[["raw", "z"]].mean()
        rank_raw = means["raw"].rank(ascending=False, method="average")
        rank_z = means["z"].rank(ascending=False, method="average")
        if len(means) < 3 or means["raw"].nunique() < 2 or means["z"].nunique() < 2:
            warnings.warn(
                f"zscore_rank_agreement: {axis}: fewer than 3 systems or all systems tied, "
                "so spearman_rho is NaN",
                DegenerateDataWarning,
                stacklevel=2,
            )
            rho = np.nan
        else:
            rho = float(stats.spearmanr(means["raw"], means["z"]).statistic)
        parts.append(
            pd.DataFrame(
                {
                    "axis": axis,
                    "system": means.index.to_numpy(),
                    "mean_raw": means["raw"].to_numpy(),
                    "mean_z": means["z"].to_numpy(),
                    "rank_raw": rank_raw.to_numpy(),
                    "rank_z": rank_z.to_numpy(),
                    "spearman_rho": rho,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)
