"""The report's short factual summary, generated from the numbers.

Every sentence is computed from the analysis tables; nothing is hard-coded about which
system is better. Wording follows APA conventions for test statistics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from emoconvey.analysis.pipeline import AnalysisResults
from emoconvey.report.formatting import fmt_df, fmt_num, fmt_p

__all__ = ["summarise"]

_AXIS_NOUN = {"valence": "valence", "arousal": "arousal"}


def _n(count: float, noun: str) -> str:
    """``"1 intent"``, ``"12 intents"``."""
    count = int(count)
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _list(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _effect_sentence(row: pd.Series, *, what: str, factor: str) -> str:
    stat = (
        f"F({fmt_df(row['df'])}, {fmt_df(row['df_resid'])}) = {fmt_num(row['F'])}, "
        f"{fmt_p(row['p'])}, \u03b7\u00b2 = {fmt_num(row['eta_sq'], 3)}"
    )
    if not np.isfinite(row["df"]) or row["df"] < 1:
        return (f"The effect of {factor} on {what} could not be tested: there is only one "
                f"{factor} level.")
    if not np.isfinite(row["p"]):
        return f"The effect of {factor} on {what} could not be tested ({stat})."
    verdict = "had a significant effect" if row["p"] < 0.05 else "had no significant effect"
    return f"{factor.capitalize()} {verdict} on {what} ({stat})."


def _tied(a: str, b: str) -> bool:
    """Two compact-letter groups share a letter (not distinguishable)."""
    return bool(set(str(a)) & set(str(b)))


def _ranking_sentence(rank: pd.DataFrame, *, level: int) -> str:
    """The ranking in words, naming the systems the bootstrap cannot tell apart."""
    best, worst = rank.iloc[0], rank.iloc[-1]

    def point(row: pd.Series) -> str:
        return (
            f"mean distance {fmt_num(row['mean_distance'])} scale points, {level} % CI "
            f"{fmt_num(row['ci_low'])} to {fmt_num(row['ci_high'])}, "
            f"{fmt_num(100 * row['hit_rate'], 0)} % of clips in the intended quadrant"
        )

    ties = [r["system"] for _, r in rank.iloc[1:].iterrows() if _tied(r["group"], best["group"])]
    low_ties = [
        r["system"] for _, r in rank.iloc[:-1].iterrows() if _tied(r["group"], worst["group"])
    ]
    if len(ties) == len(rank) - 1:
        return (
            f"Closest to the intended emotions overall: {best['system']} ({point(best)}); "
            f"farthest: {worst['system']} ({point(worst)}); but no system differs "
            f"significantly from another, so all {len(rank)} are tied (bootstrap over "
            "clips and listeners, Holm-adjusted)."
        )
    text = f"Closest to the intended emotions overall: {best['system']} ({point(best)}"
    text += (
        f"; probability of ranking first {fmt_num(100 * best['p_best'], 0)} %)"
    )
    if ties:
        text += f", not significantly different from {_list([str(t) for t in ties])}"
    text += f"; farthest: {worst['system']} ({point(worst)})"
    if low_ties:
        text += f", not significantly different from {_list([str(t) for t in low_ties])}"
    return text + " (tie groups from a bootstrap over clips and listeners, Holm-adjusted)."


def summarise(
    results: AnalysisResults, *, alpha: float = 0.05, predicted: bool = False
) -> list[str]:
    """Sentences summarising the analysis, in report order.

    Parameters
    ----------
    results : AnalysisResults
    alpha : float, default 0.05
        Significance level used in the wording.
    predicted : bool, default False
        The ratings are automatic predictions (one per clip): the sentences about
        listeners, rating counts, exclusions, rater agreement, listener z-scores and the
        listener mixed model are left out.

    Returns
    -------
    list of str
    """
    t = results.tables
    s = t["summary"].iloc[0]
    ds = results.dataset
    out: list[str] = []
    if predicted:
        out.append(
            f"{_n(s['clips'], 'clip')} from {_n(s['systems'], 'system')} "
            f"({_list(ds.systems)}) on {_n(s['intents'], 'intent')} were rated by an "
            "automatic predictor (one predicted valence and arousal per clip), not by "
            "listeners."
        )
    else:
        out.extend(_rating_sentences(s, ds.systems, ds.min_ratings))
    out.extend(_result_sentences(results, alpha=alpha))
    if not predicted:
        out.extend(_listener_sentences(results, alpha=alpha))
    return out


def _rating_sentences(s: pd.Series, systems: list[str], min_ratings: int) -> list[str]:
    out = []
    out.append(
        f"{_n(s['clips'], 'clip')} from {_n(s['systems'], 'system')} "
        f"({_list(systems)}) on {_n(s['intents'], 'intent')} were rated by "
        f"{_n(s['listeners'], 'listener')}: {_n(s['ratings'], 'rating')}, "
        f"{fmt_num(s['ratings_per_clip_min'], 0)} to {fmt_num(s['ratings_per_clip_max'], 0)} "
        f"per clip (median {fmt_num(s['ratings_per_clip_median'], 1)})."
    )
    n_ex = int(s["excluded_clips"])
    out.append(
        f"{n_ex} clip{'s' if n_ex != 1 else ''} with fewer than {min_ratings} ratings "
        f"{'were' if n_ex != 1 else 'was'} excluded."
        if n_ex
        else f"No clip had fewer than {min_ratings} ratings, so none was excluded."
    )
    return out


def _result_sentences(results: AnalysisResults, *, alpha: float) -> list[str]:
    t = results.tables
    out: list[str] = []

    rank = t["ranking"]
    if len(rank) > 1 and (rank["rank"] == 1).all():
        out.append(
            f"All systems are equally close to the intended emotions (mean distance "
            f"{fmt_num(rank['mean_distance'].iloc[0])} scale points)."
        )
    elif len(rank) > 1 and "group" in rank.columns:
        out.append(_ranking_sentence(rank, level=round(100 * results.confidence)))
    elif len(rank) > 1:
        best, worst = rank.iloc[0], rank.iloc[-1]
        out.append(
            f"Closest to the intended emotions overall: {best['system']} (mean distance "
            f"{fmt_num(best['mean_distance'])} scale points in the valence\u2013arousal "
            f"plane, {fmt_num(100 * best['hit_rate'], 0)} % of clips in the intended "
            f"quadrant); farthest: {worst['system']} ({fmt_num(worst['mean_distance'])} "
            f"points, {fmt_num(100 * worst['hit_rate'], 0)} %)."
        )

    anova = t["anova"]
    for test, factor, what in (
        ("system_effect", "system", "the deviation of {axis}"),
        ("quadrant_effect", "quadrant", "the absolute deviation of {axis}"),
    ):
        for axis in ("valence", "arousal"):
            rows = anova[
                (anova["test"] == test) & (anova["axis"] == axis) & (anova["source"] == factor)
            ]
            if len(rows):
                out.append(
                    _effect_sentence(rows.iloc[0], what=what.format(axis=axis), factor=factor)
                )

    out.extend(_deviation_sentences(t))
    return out


def _deviation_sentences(t: dict[str, pd.DataFrame]) -> list[str]:
    """Systems rated above/below their intents, and the neutrality compression, per axis."""
    out: list[str] = []
    dev = t["deviation_by_system"]
    for axis in ("valence", "arousal"):
        d = dev[dev["axis"] == axis]
        if d.empty:
            continue
        neg = d[d["ci_high"] < 0]["system"].tolist()
        pos = d[d["ci_low"] > 0]["system"].tolist()
        parts = []
        if pos:
            parts.append(f"higher than intended for {_list(pos)}")
        if neg:
            parts.append(f"lower than intended for {_list(neg)}")
        if parts:
            out.append(
                f"Mean {axis} was {' and '.join(parts)} (95 % CI of the mean deviation "
                "excluding zero)."
            )

    neut = t["neutrality"]
    for axis in ("valence", "arousal"):
        d = neut[neut["axis"] == axis]
        if d.empty:
            continue
        toward = d[d["bias"] > 0]["system"].tolist()
        slopes = d["slope"].dropna()
        if len(slopes):
            out.append(
                f"On {axis}, {len(toward)} of {len(d)} systems were rated closer to the "
                f"scale centre than their intents (compression slopes "
                f"{fmt_num(slopes.min())} to {fmt_num(slopes.max())}; 1 = no compression)."
            )
    return out


def _listener_sentences(results: AnalysisResults, *, alpha: float) -> list[str]:
    """Rater agreement, listener z-scores and the mixed model (listening tests only)."""
    t = results.tables
    out: list[str] = []
    agree = t["agreement"]
    if len(agree):
        parts = [f"{r['axis']} \u03b1 = {fmt_num(r['alpha'], 3)}" for _, r in agree.iterrows()]
        out.append(
            "Inter-rater agreement (Krippendorff's alpha, interval): " + ", ".join(parts) + "."
        )
    out.extend(_zscore_sentences(t, alpha=alpha))
    out.extend(_mixed_sentences(t.get("mixed_model_variance"), alpha=alpha))
    return out


def _zscore_sentences(t: dict[str, pd.DataFrame], *, alpha: float) -> list[str]:
    """Whether z-scoring ratings within listeners changes the system effect and ranking."""
    out: list[str] = []
    anova = t["anova"]
    z = t["anova_zscore"]
    for axis in ("valence", "arousal"):
        raw = anova[
            (anova["test"] == "system_effect")
            & (anova["axis"] == axis)
            & (anova["source"] == "system")
        ]
        zr = z[(z["axis"] == axis) & (z["source"] == "system")]
        if len(raw) and len(zr) and np.isfinite(zr.iloc[0]["p"]):
            same = (raw.iloc[0]["p"] < alpha) == (zr.iloc[0]["p"] < alpha)
            out.append(
                f"With ratings z-scored within each listener, the system effect on {axis} "
                f"{'is unchanged in significance' if same else 'changes significance'} "
                f"({fmt_p(zr.iloc[0]['p'])})."
            )
    rz = t.get("ranking_zscore")
    if rz is not None and len(rz):
        rhos = rz.groupby("axis", sort=False)["spearman_rho"].first().dropna()
        if len(rhos):
            parts = [f"{axis} \u03c1 = {fmt_num(rho)}" for axis, rho in rhos.items()]
            out.append(
                "Spearman correlation between the system rankings on raw and on "
                "z-scored ratings: " + ", ".join(parts) + "."
            )
    return out


def _mixed_sentences(var: pd.DataFrame | None, *, alpha: float) -> list[str]:
    """The rating-level mixed model in words (nothing when it was skipped)."""
    if var is None or var.empty:
        return []
    out = []
    for _, r in var.iterrows():
        verdict = "holds" if r["p_system"] < alpha else "is not significant"
        out.append(
            f"In a rating-level mixed model with crossed random intercepts for listener "
            f"and clip, the system effect on {r['axis']} {verdict} "
            f"(Wald \u03c7\u00b2({fmt_df(r['df_system'])}) = {fmt_num(r['chi2_system'])}, "
            f"{fmt_p(r['p_system'])}); listeners account for "
            f"{fmt_num(100 * r['icc_listener'], 0)} % and clips for "
            f"{fmt_num(100 * r['icc_clip'], 0)} % of the rating variance."
        )
    return out
