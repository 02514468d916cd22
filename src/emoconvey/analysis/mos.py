"""Mean opinion score (MOS) statistics of MusicEval-style quality ratings.

Input is a long table of individual ratings, one row per (rater, clip, scale):

=========  ==================================================================
column     meaning
=========  ==================================================================
rater      who rated (any text)
clip_id    the clip
system     the system that made the clip
scale      the scale, e.g. ``MI`` (musical impression) or ``TA`` (text alignment)
score      the rating, a number (MusicEval: integers 1-5)
prompt_id  optional; the prompt of the clip
source     optional; where the prompt came from (manual, MusicCaps, demo ...)
=========  ==================================================================

:func:`mos_ratings` builds it from a :class:`~emoconvey.data.musiceval.MusicEvalDataset`.

The unit of analysis is the clip, as in MusicEval (Liu et al., 2025): a clip's score on a
scale is the mean :math:`\\bar x_c` of its :math:`m_c` ratings, a system's MOS is the mean
of its clips' means, and the confidence interval is the Student-t interval over those
clip means,

.. math::

    \\mathrm{MOS}_s = \\frac{1}{n_s}\\sum_{c \\in s} \\bar x_c, \\qquad
    \\mathrm{MOS}_s \\pm t_{(1+\\gamma)/2,\\, n_s - 1}\\, \\frac{s_s}{\\sqrt{n_s}},

with :math:`s_s` the sample standard deviation (ddof 1) of the clip means. With
``unit="rating"`` the interval is computed over the individual ratings instead (the
VoiceMOS convention, which ignores that the ratings of a clip are correlated).

Rater agreement (:func:`mos_agreement`) reports Krippendorff's alpha (Krippendorff, 2011)
with the interval and the ordinal metric, computed from the coincidence matrix, and the
one-way random-effects intraclass correlations ICC(1) and ICC(1,k) of Shrout & Fleiss
(1979, case 1). Case 1 is the model that fits MusicEval's design: every clip is rated by a
*different* subset of raters (5 of 14), so rater and clip are not crossed and the rater
variance cannot be separated (ICC(2,·) and ICC(3,·) need every rater to rate every clip).
With unequal numbers of ratings per clip the ANOVA uses
:math:`k_0 = (N - \\sum_c m_c^2 / N)/(n - 1)` (Snedecor & Cochran, 1989, Sec. 13.11)
in place of :math:`k`.

Pairwise system differences (:func:`pairwise_mos_tests`) are Welch two-sample t tests on
clip means (Welch, 1947) with Holm's (1979) step-down adjustment over all pairs of one
scale, which controls the family-wise error rate without assuming equal variances.

References
----------
Liu, C., Wang, H., Zhao, J., Zhao, S., Bu, H., Xu, X., Zhou, J., Sun, H., & Qin, Y.
(2025). MusicEval: A generative music dataset with expert ratings for automatic
text-to-music evaluation. ICASSP 2025, arXiv:2501.10811.

Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability. Annenberg School
for Communication, University of Pennsylvania.

Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
reliability. Psychological Bulletin, 86(2), 420-428.

Snedecor, G. W., & Cochran, W. G. (1989). Statistical Methods (8th ed.). Iowa State
University Press.

Welch, B. L. (1947). The generalization of "Student's" problem when several different
population variances are involved. Biometrika, 34(1-2), 28-35.

Holm, S. (1979). A simple sequentially rejective multiple test procedure. Scandinavian
Journal of Statistics, 6(2), 65-70.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from emoconvey._validation import (
    check_choice,
    check_confidence,
    file_line,
    require_columns,
    require_complete,
    require_dataframe,
    require_numeric,
    warn_degenerate,
)
from emoconvey.analysis.adjust import holm as holm_adjust
from emoconvey.analysis.agreement import interval_alpha
from emoconvey.errors import DataValidationError, EmoconveyError

if TYPE_CHECKING:
    from emoconvey.data.musiceval import MusicEvalDataset

__all__ = [
    "AGREEMENT_COLUMNS",
    "CLIP_MOS_COLUMNS",
    "CORRELATION_COLUMNS",
    "DISTRIBUTION_COLUMNS",
    "EMOTION_CORRELATION_COLUMNS",
    "MOS_RATING_COLUMNS",
    "PAIRWISE_COLUMNS",
    "RATER_EFFECT_COLUMNS",
    "SYSTEM_MOS_COLUMNS",
    "clip_mos",
    "holm_adjust",
    "krippendorff_alpha_mos",
    "mos_agreement",
    "mos_emotion_correlation",
    "mos_ratings",
    "one_way_icc",
    "pairwise_mos_tests",
    "rater_effects",
    "scale_correlation",
    "score_distribution",
    "system_mos",
    "system_scale_correlation",
]

log = logging.getLogger(__name__)

MOS_RATING_COLUMNS = ("rater", "clip_id", "system", "scale", "score")
"""Required columns of the long rating table."""

CLIP_MOS_COLUMNS = ("clip_id", "system", "scale", "n_ratings", "mean", "sd")
"""Columns of :func:`clip_mos` (preceded by ``prompt_id``/``source`` when present)."""

SYSTEM_MOS_COLUMNS = (
    "system",
    "scale",
    "n_clips",
    "n_ratings",
    "mean",
    "sd",
    "se",
    "ci_low",
    "ci_high",
    "rank",
)
"""Columns of :func:`system_mos` (preceded by the ``by`` column when given)."""

DISTRIBUTION_COLUMNS = ("scale", "score", "count", "proportion")
"""Columns of :func:`score_distribution` (``system`` after ``scale`` when by system)."""

_CORRELATION_STATS = (
    "pearson_r",
    "pearson_ci_low",
    "pearson_ci_high",
    "pearson_p",
    "spearman_rho",
    "spearman_p",
)
"""The statistics of one correlation, the last columns of both correlation tables."""

CORRELATION_COLUMNS = ("level", "x", "y", "n", *_CORRELATION_STATS)
"""Columns of :func:`scale_correlation`."""

AGREEMENT_COLUMNS = (
    "scale",
    "n_clips",
    "n_raters",
    "n_ratings",
    "alpha_interval",
    "alpha_ordinal",
    "icc1",
    "icc1_ci_low",
    "icc1_ci_high",
    "icc1k",
    "icc1k_ci_low",
    "icc1k_ci_high",
    "k",
)
"""Columns of :func:`mos_agreement`."""

RATER_EFFECT_COLUMNS = (
    "scale",
    "rater",
    "n_ratings",
    "mean_score",
    "effect",
    "effect_ci_low",
    "effect_ci_high",
)
"""Columns of :func:`rater_effects`."""

EMOTION_CORRELATION_COLUMNS = ("system", "n", "mean_quality", "mean_distance", *_CORRELATION_STATS)
"""Columns of :func:`mos_emotion_correlation`."""

PAIRWISE_COLUMNS = (
    "scale",
    "system_a",
    "system_b",
    "mean_a",
    "mean_b",
    "diff",
    "t",
    "df",
    "p",
    "p_holm",
    "reject",
)
"""Columns of :func:`pairwise_mos_tests`."""


# ----------------------------------------------------------------------------- input


def mos_ratings(dataset: MusicEvalDataset) -> pd.DataFrame:
    """The long rating table of a MusicEval data set, with system, prompt and source.

    Returns
    -------
    DataFrame
        ``rater``, ``clip_id``, ``system``, ``prompt_id``, ``source``, ``scale``,
        ``score``.

    Raises
    ------
    EmoconveyError
        When the data set has no individual ratings (the public release has only clip
        means; use :func:`system_mos` with ``clips=`` then).
    """
    from emoconvey.data.musiceval import MusicEvalDataset

    if not isinstance(dataset, MusicEvalDataset):
        raise EmoconveyError(f"dataset: expected a MusicEvalDataset, got {type(dataset).__name__}")
    if dataset.ratings is None:
        raise EmoconveyError(
            "dataset: it has no individual ratings (individual_ratings.csv); only clip means"
        )
    info = dataset.clip_prompts().loc[:, ["clip_id", "system", "prompt_id", "source"]]
    out = dataset.ratings.merge(info, on="clip_id", how="left", validate="many_to_one")
    return out.loc[:, ["rater", "clip_id", "system", "prompt_id", "source", "scale", "score"]]


def _check(ratings: pd.DataFrame, *, name: str = "ratings") -> pd.DataFrame:
    require_dataframe(ratings, name=name)
    require_columns(ratings, MOS_RATING_COLUMNS, name=name)
    if len(ratings) == 0:
        raise DataValidationError("expected at least one rating, found none", file=name)
    require_complete(ratings, ["rater", "clip_id", "system", "scale"], name=name)
    require_numeric(ratings, ["score"], name=name)
    score = pd.to_numeric(ratings["score"], errors="coerce")
    dup = ratings.duplicated(["rater", "clip_id", "scale"]).to_numpy()
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        r = ratings.iloc[pos]
        raise DataValidationError(
            f"rater {r['rater']!r} scored clip {r['clip_id']!r} on {r['scale']!r} twice; "
            "expected one score per rater, clip and scale",
            file=name,
            row=file_line(pos),
        )
    clip_systems = ratings.groupby("clip_id", sort=False)["system"].nunique()
    if (clip_systems > 1).any():
        raise DataValidationError(
            f"clip {clip_systems[clip_systems > 1].index[0]!r} belongs to more than one "
            "system; expected one system per clip",
            file=name,
            column="system",
        )
    out = ratings.copy()
    out["score"] = score.astype(float)
    return out


def _scales(df: pd.DataFrame, scales: str | Sequence[str] | None) -> list[str]:
    present = list(pd.unique(df["scale"]))
    if scales is None:
        return present
    wanted = [scales] if isinstance(scales, str) else list(scales)
    unknown = [s for s in wanted if s not in present]
    if unknown or not wanted:
        raise EmoconveyError(f"scales: {unknown or wanted!r} not in the ratings; found {present!r}")
    return wanted


# ----------------------------------------------------------------------------- MOS


def clip_mos(ratings: pd.DataFrame) -> pd.DataFrame:
    """Mean score of every clip on every scale.

    Returns
    -------
    DataFrame
        ``clip_id``, ``system``, (``prompt_id``, ``source`` when present), ``scale``,
        ``n_ratings``, ``mean``, ``sd`` (ddof 1; NaN for a single rating), in order of
        first appearance.
    """
    df = _check(ratings)
    keys = ["clip_id", "system"] + [c for c in ("prompt_id", "source") if c in df.columns]
    g = df.groupby([*keys, "scale"], sort=False, dropna=False)["score"]
    out = g.agg(n_ratings="size", mean="mean", sd="std").reset_index()
    out["n_ratings"] = out["n_ratings"].astype(np.int64)
    return out.loc[:, [*keys, "scale", "n_ratings", "mean", "sd"]]


def _aggregate(
    clips: pd.DataFrame, *, by: str | None, confidence: float, unit_values: pd.DataFrame | None
) -> pd.DataFrame:
    keys = ([by] if by else []) + ["system", "scale"]
    rows = []
    src = unit_values if unit_values is not None else clips
    value = "score" if unit_values is not None else "mean"
    counts = clips.groupby(keys, sort=False, dropna=False).agg(
        n_clips=("clip_id", "size"), n_ratings=("n_ratings", lambda s: s.sum(min_count=1))
    )
    for key, grp in src.groupby(keys, sort=False, dropna=False):
        x = grp[value].to_numpy(dtype=float)
        n = len(x)
        mean = float(np.mean(x))
        sd = float(np.std(x, ddof=1)) if n > 1 else np.nan
        se = sd / np.sqrt(n) if n > 1 else np.nan
        if n > 1 and se > 0:
            lo, hi = stats.t.interval(confidence, n - 1, loc=mean, scale=se)
        elif n > 1:
            lo = hi = mean
        else:
            lo = hi = np.nan
        c = counts.loc[key]
        rows.append(
            dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
            | {
                "n_clips": int(c["n_clips"]),
                "n_ratings": c["n_ratings"],
                "mean": mean,
                "sd": sd,
                "se": se,
                "ci_low": float(lo),
                "ci_high": float(hi),
            }
        )
    out = pd.DataFrame(rows)
    rank_keys = ([by] if by else []) + ["scale"]
    out["rank"] = (
        out.groupby(rank_keys, sort=False, dropna=False)["mean"]
        .rank(ascending=False, method="min")
        .astype(np.int64)
    )
    if (out["n_clips"] < 2).any():
        small = out.loc[out["n_clips"] < 2, "system"].tolist()
        warn_degenerate(
            f"system_mos: system(s) {small} have fewer than 2 clips on a scale; their "
            "confidence interval is NaN",
            stacklevel=4,
        )
    return out.loc[:, ([by] if by else []) + list(SYSTEM_MOS_COLUMNS)]


def system_mos(
    ratings: pd.DataFrame | None = None,
    *,
    clips: pd.DataFrame | None = None,
    scales: str | Sequence[str] | None = None,
    by: str | None = None,
    confidence: float = 0.95,
    unit: str = "clip",
) -> pd.DataFrame:
    """Per-system MOS on each scale with a Student-t confidence interval and the rank.

    Parameters
    ----------
    ratings : DataFrame, optional
        The long rating table (see the module docstring).
    clips : DataFrame, optional
        Instead of ``ratings``: clip means, long (``clip_id``, ``system``, ``scale``,
        ``mean``, optional ``n_ratings`` and ``by`` column) or wide as
        :attr:`MusicEvalDataset.clips <emoconvey.data.musiceval.MusicEvalDataset.clips>`
        (``MI``/``TA`` columns). For a release that has only clip means;
        ``n_ratings`` is then NaN unless given.
    scales : str or sequence of str, optional
        Scales to report (default: all, in order of appearance).
    by : str, optional
        A column to break the table down by first (e.g. ``"source"``: the prompt source);
        ranks are then within each value.
    confidence : float, default 0.95
    unit : {"clip", "rating"}, default "clip"
        What the t interval is computed over (see the module docstring).

    Returns
    -------
    DataFrame
        (``by``), ``system``, ``scale``, ``n_clips``, ``n_ratings``, ``mean`` (mean of clip
        means), ``sd``, ``se`` and ``ci_low``/``ci_high`` (over the chosen unit), and
        ``rank`` (1 = highest mean within the scale; ties share the lowest rank).
        A system with one clip has NaN ``sd``/``se``/CI and warns
        :class:`~emoconvey.errors.DegenerateDataWarning`.
    """
    confidence = check_confidence(confidence)
    check_choice(unit, ("clip", "rating"), name="unit")
    if (ratings is None) == (clips is None):
        raise EmoconveyError("system_mos: give exactly one of ratings= and clips=")
    if ratings is not None:
        df = _check(ratings)
        if by is not None:
            require_columns(df, [by], name="ratings")
        wanted = _scales(df, scales)
        df = df[df["scale"].isin(wanted)]
        cm = clip_mos(df)
        if by is not None and by not in cm.columns:
            cm = cm.merge(df.drop_duplicates("clip_id")[["clip_id", by]], on="clip_id", how="left")
        unit_values = df if unit == "rating" else None
    else:
        if unit == "rating":
            raise EmoconveyError("system_mos: unit='rating' needs individual ratings=")
        cm = _long_clips(clips, by=by)
        wanted = _scales(cm, scales)
        cm = cm[cm["scale"].isin(wanted)]
        unit_values = None
    cm = cm.assign(scale=pd.Categorical(cm["scale"], categories=wanted, ordered=True))
    cm = cm.sort_values("scale", kind="stable").assign(scale=lambda d: d["scale"].astype(str))
    if unit_values is not None:
        unit_values = unit_values.assign(
            scale=pd.Categorical(unit_values["scale"], categories=wanted, ordered=True)
        ).sort_values("scale", kind="stable")
        unit_values["scale"] = unit_values["scale"].astype(str)
        if by is not None and by not in unit_values.columns:
            unit_values = unit_values.merge(cm[["clip_id", by]].drop_duplicates(), on="clip_id")
    return _aggregate(cm, by=by, confidence=confidence, unit_values=unit_values).reset_index(
        drop=True
    )


def _long_clips(clips: pd.DataFrame, *, by: str | None) -> pd.DataFrame:
    require_dataframe(clips, name="clips")
    require_columns(clips, ["clip_id", "system"], name="clips")
    if "scale" in clips.columns:
        require_columns(clips, ["mean"], name="clips")
        out = clips.copy()
    else:
        wide = [c for c in ("MI", "TA") if c in clips.columns]
        if not wide:
            raise DataValidationError(
                "expected either 'scale' and 'mean' columns or 'MI'/'TA' columns", file="clips"
            )
        keep = ["clip_id", "system"] + ([by] if by and by in clips.columns else [])
        keep += [c for c in ("n_ratings",) if c in clips.columns]
        out = clips.melt(id_vars=keep, value_vars=wide, var_name="scale", value_name="mean")
    if by is not None:
        require_columns(out, [by], name="clips")
    if "n_ratings" not in out.columns:
        out["n_ratings"] = np.nan
    bad = ~np.isfinite(pd.to_numeric(out["mean"], errors="coerce").to_numpy(dtype=float))
    if bad.any():
        raise DataValidationError(
            f"expected a finite clip mean, found {out['mean'].iloc[int(np.flatnonzero(bad)[0])]!r}",
            file="clips",
            column="mean",
        )
    out["mean"] = out["mean"].astype(float)
    return out


def score_distribution(
    ratings: pd.DataFrame,
    *,
    scales: str | Sequence[str] | None = None,
    by_system: bool = False,
    points: Sequence[int] = (1, 2, 3, 4, 5),
) -> pd.DataFrame:
    """How often each score was given (MusicEval's score histograms).

    Parameters
    ----------
    ratings : DataFrame
    scales : str or sequence of str, optional
    by_system : bool, default False
        One distribution per system instead of one per scale.
    points : sequence of int, default 1..5
        The scale's points; every point gets a row (count 0 when unused). A score not
        among them is an error.

    Returns
    -------
    DataFrame
        ``scale``, (``system``), ``score``, ``count``, ``proportion`` (of the group's
        ratings).
    """
    df = _check(ratings)
    wanted = _scales(df, scales)
    pts = [int(p) for p in points]
    bad = ~df["score"].isin(pts).to_numpy()
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise DataValidationError(
            f"expected a score in {pts}, found {df['score'].iloc[pos]!r}",
            file="ratings",
            row=file_line(pos),
            column="score",
        )
    rows = []
    for scale in wanted:
        part = df[df["scale"] == scale]
        groups = part.groupby("system", sort=False) if by_system else [(None, part)]
        for system, grp in groups:
            counts = grp["score"].astype(int).value_counts()
            total = len(grp)
            for p in pts:
                c = int(counts.get(p, 0))
                row = {"scale": scale}
                if by_system:
                    row["system"] = system
                rows.append(row | {"score": p, "count": c, "proportion": c / total})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- correlation


def _corr_row(level: str, x_name: str, y_name: str, x: np.ndarray, y: np.ndarray) -> dict:
    n = len(x)
    row = {"level": level, "x": x_name, "y": y_name, "n": n}
    if n < 3 or np.std(x) == 0 or np.std(y) == 0:
        warn_degenerate(
            f"scale_correlation: {level} level has {n} pairs or a constant scale; "
            "the correlation is NaN",
            stacklevel=4,
        )
        return row | dict.fromkeys(_CORRELATION_STATS, np.nan)
    r, p = stats.pearsonr(x, y)
    z = np.arctanh(r)
    half = stats.norm.ppf(0.975) / np.sqrt(n - 3)
    rho, sp = stats.spearmanr(x, y)
    return row | {
        "pearson_r": float(r),
        "pearson_ci_low": float(np.tanh(z - half)),
        "pearson_ci_high": float(np.tanh(z + half)),
        "pearson_p": float(p),
        "spearman_rho": float(rho),
        "spearman_p": float(sp),
    }


def scale_correlation(
    ratings: pd.DataFrame | None = None,
    *,
    clips: pd.DataFrame | None = None,
    x: str = "MI",
    y: str = "TA",
) -> pd.DataFrame:
    """Correlation of two scales over clips (clip means) and over systems (system MOS).

    Pearson's r with a 95 % Fisher-z interval (:math:`\\tanh(\\operatorname{artanh} r
    \\pm 1.96/\\sqrt{n-3})`) and Spearman's rho, each with its two-sided p value (scipy).

    Parameters
    ----------
    ratings : DataFrame, optional
        The long rating table; or ``clips=`` as for :func:`system_mos`.
    x, y : str
        The two scales (default MI and TA).

    Returns
    -------
    DataFrame
        Two rows (``level`` ``"clip"`` and ``"system"``) with :data:`CORRELATION_COLUMNS`.
        Fewer than 3 pairs or a constant scale give NaN and a DegenerateDataWarning.
    """
    if (ratings is None) == (clips is None):
        raise EmoconveyError("scale_correlation: give exactly one of ratings= and clips=")
    cm = clip_mos(ratings) if ratings is not None else _long_clips(clips, by=None)
    for s in (x, y):
        if s not in set(cm["scale"]):
            raise EmoconveyError(f"scale_correlation: scale {s!r} not in the data")
    wide = cm.pivot_table(index=["clip_id", "system"], columns="scale", values="mean")
    wide = wide.dropna(subset=[x, y])
    sysw = wide.groupby(level="system", sort=False)[[x, y]].mean()
    return pd.DataFrame(
        [
            _corr_row("clip", x, y, wide[x].to_numpy(), wide[y].to_numpy()),
            _corr_row("system", x, y, sysw[x].to_numpy(), sysw[y].to_numpy()),
        ],
        columns=list(CORRELATION_COLUMNS),
    )


def system_scale_correlation(
    ratings: pd.DataFrame, *, x: str = "MI", y: str = "TA"
) -> pd.DataFrame:
    """Correlation of two scales over the clips of each system separately.

    Returns
    -------
    DataFrame
        ``system`` followed by :data:`CORRELATION_COLUMNS` (``level`` is ``"clip"``).
    """
    cm = clip_mos(ratings)
    wide = cm.pivot_table(index=["clip_id", "system"], columns="scale", values="mean")
    for s in (x, y):
        if s not in wide.columns:
            raise EmoconveyError(f"system_scale_correlation: scale {s!r} not in the data")
    wide = wide.dropna(subset=[x, y]).reset_index()
    rows = []
    for system, grp in wide.groupby("system", sort=False):
        rows.append(
            {"system": system} | _corr_row("clip", x, y, grp[x].to_numpy(), grp[y].to_numpy())
        )
    return pd.DataFrame(rows, columns=["system", *CORRELATION_COLUMNS])


# ----------------------------------------------------------------------------- agreement


def krippendorff_alpha_mos(ratings: pd.DataFrame, *, scale: str, metric: str = "interval") -> float:
    """Krippendorff's alpha of one scale, from the coincidence matrix.

    With the values :math:`c` observed, the coincidences
    :math:`o_{ck} = \\sum_u \\frac{\\#\\{(i,j)\\text{ pairs in } u: x_i=c, x_j=k\\}}{m_u - 1}`
    over units (clips) with :math:`m_u \\ge 2` ratings, :math:`n_c = \\sum_k o_{ck}`,
    :math:`n = \\sum_c n_c`, and

    .. math::

        \\alpha = 1 - (n - 1)\\frac{\\sum_{c,k} o_{ck}\\,\\delta^2_{ck}}
                                 {\\sum_{c,k} n_c n_k\\,\\delta^2_{ck}},

    with :math:`\\delta^2_{ck} = (c - k)^2` (interval) or
    :math:`\\delta^2_{ck} = (\\sum_{g=c}^{k} n_g - (n_c + n_k)/2)^2` (ordinal)
    (Krippendorff, 2011, Sec. C and E).

    Returns
    -------
    float
        NaN (with a DegenerateDataWarning) when no clip has 2 ratings or all pairable
        ratings are equal.
    """
    check_choice(metric, ("interval", "ordinal"), name="metric")
    df = _check(ratings)
    df = df[df["scale"] == scale]
    if df.empty:
        raise EmoconveyError(f"krippendorff_alpha_mos: scale {scale!r} not in the ratings")
    m = df.groupby("clip_id")["score"].transform("size")
    df = df[m >= 2]
    values = np.sort(pd.unique(df["score"]))
    if len(values) < 2:
        warn_degenerate(
            f"krippendorff_alpha_mos: {scale}: fewer than 2 distinct pairable values; alpha is NaN"
        )
        return float("nan")
    if metric == "interval":
        units, _ = pd.factorize(df["clip_id"], sort=False)
        return interval_alpha(df["score"].to_numpy(dtype=float), units)
    idx = {v: i for i, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for _, grp in df.groupby("clip_id"):
        counts = np.bincount([idx[v] for v in grp["score"]], minlength=len(values)).astype(float)
        o += (np.outer(counts, counts) - np.diag(counts)) / (len(grp) - 1)
    nc = o.sum(axis=1)
    n = nc.sum()
    cum = np.concatenate([[0.0], np.cumsum(nc)])
    lo = np.minimum.outer(np.arange(len(values)), np.arange(len(values)))
    hi = np.maximum.outer(np.arange(len(values)), np.arange(len(values)))
    delta = (cum[hi + 1] - cum[lo] - (nc[:, None] + nc[None, :]) / 2.0) ** 2
    d_o = (o * delta).sum()
    d_e = (np.outer(nc, nc) * delta).sum()
    return float(1.0 - (n - 1.0) * d_o / d_e)


def one_way_icc(ratings: pd.DataFrame, *, scale: str, confidence: float = 0.95) -> dict[str, float]:
    """ICC(1) and ICC(1,k): one-way random effects, clips as targets (Shrout & Fleiss).

    From the one-way ANOVA of scores on clips, with :math:`n` clips, :math:`N` ratings,
    :math:`MS_B` and :math:`MS_W` the between- and within-clip mean squares and
    :math:`k_0` the (average) number of ratings per clip (see the module docstring):

    .. math::

        \\mathrm{ICC}(1) = \\frac{MS_B - MS_W}{MS_B + (k_0 - 1) MS_W}, \\qquad
        \\mathrm{ICC}(1,k) = \\frac{MS_B - MS_W}{MS_B}.

    The intervals use :math:`F = MS_B/MS_W` with :math:`(n-1, N-n)` degrees of freedom:
    :math:`F_L = F / F_{1-\\alpha/2}(n-1, N-n)`, :math:`F_U = F\\,F_{1-\\alpha/2}(N-n, n-1)`,
    ICC(1) in :math:`[(F_L-1)/(F_L+k_0-1), (F_U-1)/(F_U+k_0-1)]` and ICC(1,k) in
    :math:`[1 - 1/F_L, 1 - 1/F_U]`.

    Returns
    -------
    dict
        ``icc1``, ``icc1_ci_low``, ``icc1_ci_high``, ``icc1k``, ``icc1k_ci_low``,
        ``icc1k_ci_high``, ``k`` (:math:`k_0`), ``f``, ``df1``, ``df2``. NaN values and a
        DegenerateDataWarning when fewer than 2 clips have 2 ratings or there is no
        within-clip variance.
    """
    confidence = check_confidence(confidence)
    df = _check(ratings)
    df = df[df["scale"] == scale]
    if df.empty:
        raise EmoconveyError(f"one_way_icc: scale {scale!r} not in the ratings")
    m = df.groupby("clip_id")["score"].transform("size")
    df = df[m >= 2]
    keys = ("icc1", "icc1_ci_low", "icc1_ci_high", "icc1k", "icc1k_ci_low", "icc1k_ci_high")
    g = df.groupby("clip_id")["score"]
    n_clips = g.ngroups
    big_n = len(df)
    nan = dict.fromkeys(keys, float("nan")) | {"k": float("nan"), "f": float("nan")}
    if n_clips < 2:
        warn_degenerate(f"one_way_icc: {scale}: fewer than 2 clips with 2 ratings; ICC is NaN")
        return nan | {"df1": float(n_clips - 1), "df2": float(big_n - n_clips)}
    sizes = g.size().to_numpy(dtype=float)
    means = g.mean()
    grand = df["score"].mean()
    ssb = float((sizes * (means.to_numpy() - grand) ** 2).sum())
    ssw = float(((df["score"] - df["clip_id"].map(means)) ** 2).sum())
    df1, df2 = n_clips - 1, big_n - n_clips
    msb, msw = ssb / df1, ssw / df2
    k0 = (big_n - float((sizes**2).sum()) / big_n) / df1
    if msw == 0:
        warn_degenerate(f"one_way_icc: {scale}: no within-clip variance; ICC is NaN")
        return nan | {"k": k0, "df1": float(df1), "df2": float(df2)}
    f = msb / msw
    a = 1.0 - confidence
    fl = f / stats.f.ppf(1 - a / 2, df1, df2)
    fu = f * stats.f.ppf(1 - a / 2, df2, df1)
    return {
        "icc1": (msb - msw) / (msb + (k0 - 1) * msw),
        "icc1_ci_low": (fl - 1) / (fl + k0 - 1),
        "icc1_ci_high": (fu - 1) / (fu + k0 - 1),
        "icc1k": (msb - msw) / msb,
        "icc1k_ci_low": 1 - 1 / fl,
        "icc1k_ci_high": 1 - 1 / fu,
        "k": k0,
        "f": f,
        "df1": float(df1),
        "df2": float(df2),
    }


def mos_agreement(
    ratings: pd.DataFrame, *, scales: str | Sequence[str] | None = None
) -> pd.DataFrame:
    """Inter-rater agreement per scale: Krippendorff's alpha and one-way ICCs.

    Returns
    -------
    DataFrame
        :data:`AGREEMENT_COLUMNS`: ``alpha_interval`` and ``alpha_ordinal``
        (:func:`krippendorff_alpha_mos`), ``icc1``/``icc1k`` with 95 % intervals and
        ``k`` (:func:`one_way_icc`), and the counts used.
    """
    df = _check(ratings)
    rows = []
    for scale in _scales(df, scales):
        part = df[df["scale"] == scale]
        icc = one_way_icc(part, scale=scale)
        rows.append(
            {
                "scale": scale,
                "n_clips": int(part["clip_id"].nunique()),
                "n_raters": int(part["rater"].nunique()),
                "n_ratings": len(part),
                "alpha_interval": krippendorff_alpha_mos(part, scale=scale, metric="interval"),
                "alpha_ordinal": krippendorff_alpha_mos(part, scale=scale, metric="ordinal"),
            }
            | {k: icc[k] for k in AGREEMENT_COLUMNS[6:]}
        )
    return pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS))


def rater_effects(
    ratings: pd.DataFrame,
    *,
    scales: str | Sequence[str] | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Leniency or severity of each rater: mean deviation from the other raters.

    For every rating :math:`x_{rc}` of rater :math:`r` on clip :math:`c` (of a clip
    with at least two raters on the scale), the deviation from the mean of the *other*
    raters of that clip, :math:`d_{rc} = x_{rc} - \\bar x_{c,-r}`; a rater's effect is
    :math:`\\bar d_r`, with a Student-t interval :math:`\\bar d_r \\pm
    t_{n_r - 1} s_{d_r} / \\sqrt{n_r}` (NaN with fewer than 2 deviations). Positive:
    the rater scores higher than the others on the same clips (lenient). With MusicEval's
    design (each clip rated by a different subset of raters) this leave-one-out contrast
    is the rater effect the data identify (cf. the rater-mean model of Huang et al.,
    2022, LDNet).

    Returns
    -------
    DataFrame
        :data:`RATER_EFFECT_COLUMNS`, one row per scale and rater (sorted);
        ``n_ratings`` counts the ratings used, ``mean_score`` their mean.
    """
    confidence = check_confidence(confidence)
    df = _check(ratings)
    rows = []
    for scale in _scales(df, scales):
        part = df[df["scale"] == scale].astype({"score": float})
        g = part.groupby("clip_id")["score"]
        total, count = g.transform("sum"), g.transform("count")
        part = part[count > 1]
        dev = part["score"] - (total[count > 1] - part["score"]) / (count[count > 1] - 1)
        part = part.assign(dev=dev)
        for rater, d in part.groupby("rater", sort=True):
            n = len(d)
            mean = float(d["dev"].mean())
            lo = hi = float("nan")
            if n >= 2:
                half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)
                             * d["dev"].std(ddof=1) / np.sqrt(n))
                lo, hi = mean - half, mean + half
            rows.append({"scale": scale, "rater": rater, "n_ratings": n,
                         "mean_score": float(d["score"].mean()), "effect": mean,
                         "effect_ci_low": lo, "effect_ci_high": hi})
    return pd.DataFrame(rows, columns=list(RATER_EFFECT_COLUMNS))


# ----------------------------------------------------------------------------- pairwise


def pairwise_mos_tests(
    ratings: pd.DataFrame | None = None,
    *,
    clips: pd.DataFrame | None = None,
    scales: str | Sequence[str] | None = None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """All pairwise system differences per scale: Welch t tests with Holm's adjustment.

    Each pair of systems is compared with Welch's two-sample t test on the clip means
    (``scipy.stats.ttest_ind(equal_var=False)``); the p values of one scale are adjusted
    together with :func:`holm_adjust`.

    Parameters
    ----------
    ratings : DataFrame, optional
        The long rating table, or ``clips=`` as for :func:`system_mos`.
    scales : str or sequence of str, optional
    alpha : float, default 0.05
        Family-wise error rate for ``reject``.

    Returns
    -------
    DataFrame
        :data:`PAIRWISE_COLUMNS`; ``diff`` is ``mean_a - mean_b``; systems in order of
        first appearance. A pair where a system has fewer than 2 clips or both have zero
        variance gets NaN statistics (not counted in the adjustment).
    """
    if not 0 < alpha < 1:
        raise EmoconveyError(f"alpha: expected a number between 0 and 1, got {alpha!r}")
    if (ratings is None) == (clips is None):
        raise EmoconveyError("pairwise_mos_tests: give exactly one of ratings= and clips=")
    cm = clip_mos(ratings) if ratings is not None else _long_clips(clips, by=None)
    rows = []
    for scale in _scales(cm, scales):
        part = cm[cm["scale"] == scale]
        groups = {s: g["mean"].to_numpy(float) for s, g in part.groupby("system", sort=False)}
        block = []
        for a, b in combinations(groups, 2):
            xa, xb = groups[a], groups[b]
            t = dof = p = np.nan
            if len(xa) >= 2 and len(xb) >= 2 and (np.var(xa) > 0 or np.var(xb) > 0):
                res = stats.ttest_ind(xa, xb, equal_var=False)
                t, p = float(res.statistic), float(res.pvalue)
                dof = float(res.df)
            block.append(
                {
                    "scale": scale,
                    "system_a": a,
                    "system_b": b,
                    "mean_a": float(np.mean(xa)),
                    "mean_b": float(np.mean(xb)),
                    "diff": float(np.mean(xa) - np.mean(xb)),
                    "t": t,
                    "df": dof,
                    "p": p,
                }
            )
        adj = holm_adjust([r["p"] for r in block])
        for r, pa in zip(block, adj, strict=True):
            r["p_holm"] = float(pa)
            r["reject"] = bool(pa < alpha) if np.isfinite(pa) else False
        rows.extend(block)
    return pd.DataFrame(rows, columns=list(PAIRWISE_COLUMNS))


# ----------------------------------------------------------------------------- emotion


def mos_emotion_correlation(
    clips: pd.DataFrame, *, quality: str = "MI", distance: str = "distance"
) -> pd.DataFrame:
    """Correlation between quality and emotion conveyance, per system and across systems.

    Emotion conveyance of a clip is its distance to the intent in the valence-arousal
    plane, :math:`D_c = \\sqrt{d_{c,v}^2 + d_{c,a}^2}` with :math:`d` the deviations of
    :mod:`emoconvey.analysis.deviation` (smaller is better conveyed). A negative
    correlation means better-sounding clips also convey the intent better.

    Parameters
    ----------
    clips : DataFrame
        One row per clip with ``system``, the ``quality`` column (clip mean, e.g. MI) and
        the ``distance`` column.

    Returns
    -------
    DataFrame
        :data:`EMOTION_CORRELATION_COLUMNS`: one row per system (Pearson/Spearman over its
        clips), then a row with ``system`` ``"(all systems)"`` correlating the system
        means (``n`` = number of systems). NaN and a DegenerateDataWarning where fewer
        than 3 clips (systems) or a constant column.
    """
    require_dataframe(clips, name="clips")
    require_columns(clips, ["system", quality, distance], name="clips")
    df = clips.loc[:, ["system", quality, distance]].copy()
    for col in (quality, distance):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    df = df.dropna()
    if df.empty:
        raise DataValidationError(f"no clip has both {quality!r} and {distance!r}", file="clips")
    rows = []
    for system, grp in df.groupby("system", sort=False):
        r = _corr_row("clip", quality, distance, grp[quality].to_numpy(), grp[distance].to_numpy())
        rows.append(
            {
                "system": system,
                "mean_quality": grp[quality].mean(),
                "mean_distance": grp[distance].mean(),
            }
            | {k: r[k] for k in EMOTION_CORRELATION_COLUMNS if k in r and k != "system"}
        )
    means = df.groupby("system", sort=False)[[quality, distance]].mean()
    r = _corr_row(
        "system", quality, distance, means[quality].to_numpy(), means[distance].to_numpy()
    )
    rows.append(
        {
            "system": "(all systems)",
            "mean_quality": df[quality].mean(),
            "mean_distance": df[distance].mean(),
        }
        | {k: r[k] for k in EMOTION_CORRELATION_COLUMNS if k in r and k != "system"}
    )
    return pd.DataFrame(rows, columns=list(EMOTION_CORRELATION_COLUMNS))
