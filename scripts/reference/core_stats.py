"""Write tests/reference/core_stats.json: reference values for the core statistics.

The values are computed here *independently* of emoconvey's own code, so that the tests
in ``tests/analysis/`` compare two implementations:

=====================  ===========================================  ======================
quantity               emoconvey                                    reference (this file)
=====================  ===========================================  ======================
clip means, counts     ``load_aimoclips`` / ``Dataset``             pandas ``groupby`` on
                                                                    the raw CSV files
study summary          ``analysis.summary`` (bincount)              pandas ``value_counts``
group mean, sd, CI     ``analysis.descriptive`` (bincount, t.ppf)   per-group loop,
                                                                    ``scipy.stats.t.interval``
two-way ANOVA Type II  ``analysis.anova`` (numpy normal equations)  statsmodels ``ols`` +
                                                                    ``anova_lm(typ=2)``
Tukey HSD              ``analysis.posthoc`` (statsmodels            ``scipy.stats.tukey_hsd``
                       ``pairwise_tukeyhsd``)
=====================  ===========================================  ======================

Two data sets are used: (a) the bundled AImoclips release, read directly with pandas from
``src/emoconvey/data/aimoclips/*.csv``, and (b) a small, deliberately unbalanced synthetic
study generated below from a fixed seed; its ratings and clip table are written into the
JSON so that the tests do not depend on the random generator.

Run from the repository root (or anywhere)::

    .venv/bin/python scripts/reference/core_stats.py

It is deterministic: running it again rewrites the same file.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.anova import anova_lm

log = logging.getLogger("core_stats")

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "src" / "emoconvey" / "data" / "aimoclips"
OUT = REPO / "tests" / "reference" / "core_stats.json"

AXES = ("valence", "arousal")
QUADRANT_ORDER = ("hv_ha", "lv_ha", "lv_la", "hv_la")
CONFIDENCES = (0.95, 0.9)
SEED = 20250901


# ----------------------------------------------------------------------------- data


def read_intents() -> pd.DataFrame:
    raw = pd.read_csv(DATA / "emotion_intents_metadata.csv")
    return raw.rename(
        columns={"emotion": "intent", "gt_valence": "norm_valence", "gt_arousal": "norm_arousal"}
    )


def aimoclips_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ratings and clip tables of the release, in the layout emoconvey uses."""
    intents = read_intents().set_index("intent")
    ratings = pd.read_csv(DATA / "ratings_metadata.csv").rename(
        columns={"user": "listener", "audio_file": "clip"}
    )
    clips_file = pd.read_csv(DATA / "clips_metadata.csv").rename(
        columns={"audio_file": "clip", "model": "system", "emotion": "intent"}
    )
    ratings = ratings.merge(clips_file[["clip", "system", "intent"]], on="clip", how="left")
    ratings["quadrant"] = ratings["intent"].map(intents["quadrant"])
    # clips in the order of the clips file, means recomputed from the ratings
    means = ratings.groupby("clip")[list(AXES)].mean()
    counts = ratings.groupby("clip").size()
    clips = clips_file[["clip", "system", "intent"]].copy()
    clips = clips[clips["clip"].isin(counts.index)].reset_index(drop=True)
    clips["quadrant"] = clips["intent"].map(intents["quadrant"])
    clips["n_ratings"] = clips["clip"].map(counts).astype(int)
    for axis in AXES:
        clips[axis] = clips["clip"].map(means[axis])
        clips[f"norm_{axis}"] = clips["intent"].map(intents[f"norm_{axis}"])
    return ratings, clips


def synthetic_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A small unbalanced study: 4 systems x 8 intents, 1-3 clips per cell, some cells
    empty, 2-7 ratings per clip by 25 listeners, ratings shuffled."""
    rng = np.random.default_rng(SEED)
    intents = read_intents().set_index("intent")
    systems = ["Gamma", "Alpha", "Delta", "Beta"]  # deliberately not alphabetical
    offsets = {"Gamma": (0.8, -0.3), "Alpha": (-0.6, 0.4), "Delta": (0.1, 0.0), "Beta": (0.3, 0.7)}
    words = ["sad", "calm", "angry", "happy", "gloomy", "relaxed", "scared", "excited"]
    empty_cells = {("Delta", "gloomy"), ("Beta", "calm"), ("Alpha", "excited")}
    rows = []
    for system in systems:
        for word in words:
            if (system, word) in empty_cells:
                continue
            for index in range(1, int(rng.integers(1, 4)) + 1):
                clip = f"{system}_{word}_{index}_crop.wav"
                clip_effect = rng.normal(0.0, 0.7, size=2)
                raters = rng.choice(25, size=int(rng.integers(2, 8)), replace=False)
                for rater in raters:
                    scores = []
                    for a, axis in enumerate(AXES):
                        centre = 5.0 + 0.55 * (intents.loc[word, f"norm_{axis}"] - 5.0)
                        value = centre + offsets[system][a] + clip_effect[a] + rng.normal(0, 1.3)
                        scores.append(int(np.clip(np.rint(value), 1, 9)))
                    rows.append((f"L{rater + 1:02d}", clip, system, word, *scores))
    ratings = pd.DataFrame(rows, columns=["listener", "clip", "system", "intent", *AXES])
    ratings = ratings.iloc[rng.permutation(len(ratings))].reset_index(drop=True)
    ratings.insert(4, "quadrant", ratings["intent"].map(intents["quadrant"]))
    # clip table in order of first appearance in the shuffled ratings
    first = ratings.drop_duplicates("clip")[["clip", "system", "intent", "quadrant"]]
    clips = first.reset_index(drop=True)
    grouped = ratings.groupby("clip")
    clips["n_ratings"] = clips["clip"].map(grouped.size()).astype(int)
    for axis in AXES:
        clips[axis] = clips["clip"].map(grouped[axis].mean())
        clips[f"norm_{axis}"] = clips["intent"].map(intents[f"norm_{axis}"])
    return ratings, clips


# ----------------------------------------------------------------------------- statistics


def group_order(values: pd.Series, by: str) -> list[str]:
    seen = list(dict.fromkeys(values.tolist()))
    if by == "quadrant":
        return [q for q in QUADRANT_ORDER if q in seen] + [q for q in seen if q not in
                                                          QUADRANT_ORDER]
    return seen


def with_deviations(clips: pd.DataFrame) -> pd.DataFrame:
    out = clips.copy()
    for axis in AXES:
        out[f"dev_{axis}"] = out[axis] - out[f"norm_{axis}"]
        out[f"absdev_{axis}"] = (out[axis] - out[f"norm_{axis}"]).abs()
    return out


def summary_reference(ratings: pd.DataFrame) -> dict[str, Any]:
    per_clip = ratings["clip"].value_counts()
    per_listener = ratings["listener"].value_counts()
    distribution = per_clip.value_counts().sort_index()
    systems = []
    for system in dict.fromkeys(ratings["system"].tolist()):
        part = ratings[ratings["system"] == system]
        systems.append(
            {
                "system": system,
                "clips": part["clip"].nunique(),
                "ratings": len(part),
                "listeners": part["listener"].nunique(),
                "ratings_per_clip_mean": len(part) / part["clip"].nunique(),
            }
        )
    return {
        "dataset": {
            "clips": per_clip.size,
            "ratings": len(ratings),
            "listeners": per_listener.size,
            "systems": ratings["system"].nunique(),
            "intents": ratings["intent"].nunique(),
            "ratings_per_clip_min": per_clip.min(),
            "ratings_per_clip_median": float(per_clip.median()),
            "ratings_per_clip_mean": float(per_clip.mean()),
            "ratings_per_clip_max": per_clip.max(),
            "ratings_per_listener_min": per_listener.min(),
            "ratings_per_listener_median": float(per_listener.median()),
            "ratings_per_listener_max": per_listener.max(),
        },
        "ratings_per_clip": [
            {"n_ratings": n, "clips": c} for n, c in distribution.items()
        ],
        "systems": systems,
    }


def descriptive_reference(clips: pd.DataFrame) -> list[dict[str, Any]]:
    dev = with_deviations(clips)
    records = []
    for confidence in CONFIDENCES:
        for by in ("system", "quadrant", "intent"):
            for measure, prefix in (("deviation", "dev"), ("abs_deviation", "absdev")):
                for axis in AXES:
                    for group in group_order(dev[by], by):
                        x = dev.loc[dev[by] == group, f"{prefix}_{axis}"].to_numpy()
                        n = len(x)
                        mean = float(np.mean(x))
                        sd = float(np.std(x, ddof=1))
                        se = sd / math.sqrt(n)
                        low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=se)
                        records.append(
                            {
                                "confidence": confidence,
                                "by": by,
                                "group": group,
                                "axis": axis,
                                "measure": measure,
                                "n": n,
                                "mean": mean,
                                "sd": sd,
                                "se": se,
                                "ci_low": float(low),
                                "ci_high": float(high),
                            }
                        )
    return records


ANOVA_TESTS = (
    # (test, factors, measure)
    ("system_effect", ("system", "intent"), "deviation"),
    ("quadrant_effect", ("quadrant", "system"), "abs_deviation"),
    ("intent_system", ("intent", "system"), "abs_deviation"),
)


def anova_reference(clips: pd.DataFrame) -> list[dict[str, Any]]:
    dev = with_deviations(clips)
    records = []
    for test, (fa, fb), measure in ANOVA_TESTS:
        prefix = "dev" if measure == "deviation" else "absdev"
        for axis in AXES:
            dv = f"{prefix}_{axis}"
            fit = smf.ols(f"{dv} ~ C({fa}) + C({fb})", data=dev).fit()
            table = anova_lm(fit, typ=2)
            total = float(table["sum_sq"].sum())
            df_resid = float(table.loc["Residual", "df"])
            for term, source in ((f"C({fa})", fa), (f"C({fb})", fb), ("Residual", "Residual")):
                row = table.loc[term]
                records.append(
                    {
                        "test": test,
                        "factors": [fa, fb],
                        "axis": axis,
                        "measure": measure,
                        "source": source,
                        "sum_sq": float(row["sum_sq"]),
                        "df": float(row["df"]),
                        "df_resid": df_resid,
                        "F": float(row["F"]),
                        "p": float(row["PR(>F)"]),
                        "eta_sq": float(row["sum_sq"]) / total,
                    }
                )
    return records


TUKEY_RUNS = (
    # (by, measure, confidence)
    ("system", "deviation", 0.95),
    ("system", "abs_deviation", 0.9),
    ("quadrant", "abs_deviation", 0.95),
    ("intent", "deviation", 0.95),
)


def tukey_reference(clips: pd.DataFrame) -> list[dict[str, Any]]:
    dev = with_deviations(clips)
    records = []
    for by, measure, confidence in TUKEY_RUNS:
        prefix = "dev" if measure == "deviation" else "absdev"
        groups = group_order(dev[by], by)
        for axis in AXES:
            samples = [dev.loc[dev[by] == g, f"{prefix}_{axis}"].to_numpy() for g in groups]
            res = stats.tukey_hsd(*samples)
            ci = res.confidence_interval(confidence_level=confidence)
            # scipy: statistic[i, j] = mean_i - mean_j; emoconvey: mean(group2) - mean(group1)
            for i in range(len(groups)):
                for j in range(i + 1, len(groups)):
                    records.append(
                        {
                            "by": by,
                            "confidence": confidence,
                            "axis": axis,
                            "measure": measure,
                            "group1": groups[i],
                            "group2": groups[j],
                            "meandiff": float(res.statistic[j, i]),
                            "ci_low": float(ci.low[j, i]),
                            "ci_high": float(ci.high[j, i]),
                            "p_adj": float(res.pvalue[i, j]),
                        }
                    )
    return records


def study_reference(ratings: pd.DataFrame, clips: pd.DataFrame) -> dict[str, Any]:
    return {
        "summary": summary_reference(ratings),
        "group_order": {by: group_order(clips[by], by) for by in ("system", "quadrant",
                                                                  "intent")},
        "mean_deviation": descriptive_reference(clips),
        "anova": anova_reference(clips),
        "tukey": tukey_reference(clips),
    }


# ----------------------------------------------------------------------------- output


def plain(value: Any) -> Any:
    """JSON-ready Python values: numpy scalars unwrapped, NaN as null."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer | int):
        return int(value)
    if isinstance(value, np.floating | float):
        return None if math.isnan(value) else float(value)
    return value


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [dict(zip(df.columns, row, strict=True)) for row in df.itertuples(index=False)]


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ratings, clips = aimoclips_tables()
    syn_ratings, syn_clips = synthetic_tables()
    payload = {
        "about": (
            "Reference values for tests/analysis (summary, descriptive, anova, posthoc), "
            "written by scripts/reference/core_stats.py with pandas, scipy.stats.t.interval, "
            "statsmodels ols+anova_lm(typ=2) and scipy.stats.tukey_hsd. Regenerate with "
            "'.venv/bin/python scripts/reference/core_stats.py'."
        ),
        "aimoclips": study_reference(ratings, clips),
        "synthetic": {
            "seed": SEED,
            "ratings": records(syn_ratings),
            "clips": records(syn_clips),
            **study_reference(syn_ratings, syn_clips),
        },
    }
    text = json.dumps(plain(payload), indent=1, sort_keys=True, allow_nan=False)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text + "\n", encoding="utf-8")
    log.info("wrote %s (%d bytes)", OUT.relative_to(REPO), len(text) + 1)


if __name__ == "__main__":
    main()
