"""Reference values for the plane, neutrality, diversity, hit-rate and agreement analyses.

Everything here is computed **independently of the emoconvey package**: the bundled
AImoclips CSV files are read directly with pandas, and each statistic comes from a
different implementation than the package's:

* Krippendorff's alpha: the ``krippendorff`` package (``krippendorff.alpha``, interval).
* Covariance ellipses: ``numpy.cov`` + ``numpy.linalg.eigh``.
* Compression slopes: ``scipy.stats.linregress``.
* Wilson intervals: ``statsmodels.stats.proportion.proportion_confint(method="wilson")``.
* Listener z-scores: plain pandas ``groupby().transform``.
* The z-score ANOVA: ``statsmodels`` OLS + ``anova_lm(typ=2)``.

The same statistics are computed for a small fixed synthetic study defined below; its
ratings are written into the JSON as well, so that the tests can feed exactly the same
data to the package. Run from the repository root::

    .venv/bin/python scripts/reference/plane_agreement.py

and it writes ``tests/reference/plane_agreement.json`` (floats at full precision).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.proportion import proportion_confint

log = logging.getLogger("plane_agreement")

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "src" / "emoconvey" / "data" / "aimoclips"
OUT = REPO / "tests" / "reference" / "plane_agreement.json"

CONFIDENCE = 0.95
MIN_RATINGS = 4  # AImoclips drops clips with 3 or fewer ratings
CENTRE = 5.0
AXES = ("valence", "arousal")


# ----------------------------------------------------------------------------- data


def intents() -> pd.DataFrame:
    raw = pd.read_csv(DATA / "emotion_intents_metadata.csv")
    return raw.rename(
        columns={"emotion": "intent", "gt_valence": "norm_valence", "gt_arousal": "norm_arousal"}
    )


def aimoclips_ratings() -> pd.DataFrame:
    """Long-format ratings of the included clips, straight from the CSV files."""
    ratings = pd.read_csv(DATA / "ratings_metadata.csv")
    clips = pd.read_csv(DATA / "clips_metadata.csv")
    df = ratings.merge(
        clips[["audio_file", "model", "emotion"]], on="audio_file", how="left", validate="m:1"
    )
    if df["model"].isna().any():
        raise SystemExit("ratings_metadata.csv names a clip absent from clips_metadata.csv")
    df = df.rename(
        columns={"user": "listener", "audio_file": "clip", "model": "system", "emotion": "intent"}
    )
    df = df.merge(intents()[["intent", "quadrant"]], on="intent", how="left", validate="m:1")
    counts = df.groupby("clip")["valence"].transform("size")
    df = df[counts >= MIN_RATINGS]
    return df[["listener", "clip", "system", "intent", "quadrant", "valence", "arousal"]]


def synthetic_ratings() -> pd.DataFrame:
    """A small fixed study: 3 systems x 12 intents x 3 clips, 14 listeners.

    Built to exercise the edge cases: clips with a single rating (not pairable for
    alpha), a listener who always answers 5/5 (z-score fallback), a listener with a
    single rating, and clip means that fall exactly on 5.0 (not quadrant hits).
    """
    rng = np.random.default_rng(20250901)
    it = intents()
    systems = {"SysA": (0.9, 0.0), "SysB": (0.5, 0.6), "SysC": (0.2, -0.4)}
    rows = []
    for system, (gain, shift) in systems.items():
        for row in it.itertuples(index=False):
            for k in range(1, 4):
                clip = f"{system}_{row.intent}_{k}_crop.wav"
                m = int(rng.choice([1, 2, 3, 4, 5], p=[0.1, 0.2, 0.3, 0.25, 0.15]))
                listeners = rng.choice(12, size=m, replace=False)
                for lst in listeners:
                    v = CENTRE + gain * (row.norm_valence - CENTRE) + shift + rng.normal(0, 1.3)
                    a = CENTRE + gain * (row.norm_arousal - CENTRE) - shift + rng.normal(0, 1.3)
                    if lst == 0:  # the neutral listener
                        v, a = 5.0, 5.0
                    rows.append(
                        (f"L{lst + 1}", clip, system, row.intent, row.quadrant,
                         int(np.clip(round(v), 1, 9)), int(np.clip(round(a), 1, 9)))
                    )
    df = pd.DataFrame(
        rows, columns=["listener", "clip", "system", "intent", "quadrant", "valence", "arousal"]
    )
    # a listener with a single rating, on a clip nobody else has rated yet
    extra = pd.DataFrame(
        [("L99", "SysC_calm_4_crop.wav", "SysC", "calm", "hv_la", 7, 3)], columns=df.columns
    )
    return pd.concat([df, extra], ignore_index=True)


def clip_table(ratings: pd.DataFrame) -> pd.DataFrame:
    it = intents().set_index("intent")
    clips = (
        ratings.groupby("clip", sort=False)
        .agg(
            system=("system", "first"),
            intent=("intent", "first"),
            quadrant=("quadrant", "first"),
            n_ratings=("valence", "size"),
            valence=("valence", "mean"),
            arousal=("arousal", "mean"),
        )
        .reset_index()
    )
    clips["norm_valence"] = clips["intent"].map(it["norm_valence"])
    clips["norm_arousal"] = clips["intent"].map(it["norm_arousal"])
    return clips


# ----------------------------------------------------------------------------- references


def ref_plane(clips: pd.DataFrame) -> list[dict]:
    q = stats.chi2.ppf(CONFIDENCE, 2)
    out = []
    for (system, quadrant), g in clips.groupby(["system", "quadrant"]):
        rec = {
            "system": system,
            "quadrant": quadrant,
            "n": len(g),
            "mean_valence": float(np.mean(g["valence"])),
            "mean_arousal": float(np.mean(g["arousal"])),
            "norm_valence": float(np.mean(g["norm_valence"])),
            "norm_arousal": float(np.mean(g["norm_arousal"])),
        }
        if len(g) >= 3:
            cov = np.cov(np.vstack([g["valence"].to_numpy(), g["arousal"].to_numpy()]))
            w, vecs = np.linalg.eigh(cov)  # ascending
            major = vecs[:, 1]
            angle = float(np.degrees(np.arctan2(major[1], major[0])))
            angle = (angle + 90.0) % 180.0 - 90.0
            if angle == -90.0:
                angle = 90.0
            rec.update(
                cov_vv=float(cov[0, 0]),
                cov_aa=float(cov[1, 1]),
                cov_va=float(cov[0, 1]),
                ellipse_width=float(2 * np.sqrt(q * w[1])),
                ellipse_height=float(2 * np.sqrt(q * max(w[0], 0.0))),
                ellipse_angle=angle,
            )
        out.append(rec)
    return out


def ref_neutrality(clips: pd.DataFrame) -> list[dict]:
    out = []
    for system, g in clips.groupby("system"):
        for axis in AXES:
            x = g[f"norm_{axis}"].to_numpy(dtype=float)
            y = g[axis].to_numpy(dtype=float)
            fit = stats.linregress(x, y)
            n = len(x)
            tcrit = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 2)
            norm_d = float(np.mean(np.abs(x - CENTRE)))
            rating_d = float(np.mean(np.abs(y - CENTRE)))
            out.append(
                {
                    "system": system,
                    "axis": axis,
                    "n": n,
                    "norm_distance": norm_d,
                    "rating_distance": rating_d,
                    "bias": norm_d - rating_d,
                    "ratio": rating_d / norm_d,
                    "slope": float(fit.slope),
                    "slope_ci_low": float(fit.slope - tcrit * fit.stderr),
                    "slope_ci_high": float(fit.slope + tcrit * fit.stderr),
                    "intercept": float(fit.intercept),
                    "r": float(fit.rvalue),
                    "p_slope_lt_1": float(stats.t.cdf((fit.slope - 1) / fit.stderr, n - 2)),
                }
            )
    return out


def ref_diversity(clips: pd.DataFrame) -> list[dict]:
    q = stats.chi2.ppf(CONFIDENCE, 2)
    out = []
    for system, g in clips.groupby("system"):
        pts = np.vstack([g["valence"].to_numpy(), g["arousal"].to_numpy()])
        cov = np.cov(pts)
        out.append(
            {
                "system": system,
                "n": len(g),
                "sd_valence": float(np.std(pts[0], ddof=1)),
                "sd_arousal": float(np.std(pts[1], ddof=1)),
                "iqr_valence": float(np.subtract(*np.percentile(pts[0], [75, 25]))),
                "iqr_arousal": float(np.subtract(*np.percentile(pts[1], [75, 25]))),
                "plane_spread": float(np.sqrt(np.trace(cov))),
                "ellipse_area": float(np.pi * q * np.sqrt(np.linalg.det(cov))),
                "norm_sd_valence": float(np.std(g["norm_valence"], ddof=1)),
                "norm_sd_arousal": float(np.std(g["norm_arousal"], ddof=1)),
            }
        )
    return out


def _landed(v: np.ndarray, a: np.ndarray) -> np.ndarray:
    out = np.full(len(v), "none", dtype=object)
    out[(v > CENTRE) & (a > CENTRE)] = "hv_ha"
    out[(v < CENTRE) & (a > CENTRE)] = "lv_ha"
    out[(v < CENTRE) & (a < CENTRE)] = "lv_la"
    out[(v > CENTRE) & (a < CENTRE)] = "hv_la"
    return out


def ref_hit_rate(clips: pd.DataFrame, by: list[str]) -> list[dict]:
    df = clips.copy()
    df["hit"] = _landed(df["valence"].to_numpy(), df["arousal"].to_numpy()) == df["quadrant"]
    df["split"] = (df["valence"] == CENTRE) | (df["arousal"] == CENTRE)
    out = []
    for key, g in df.groupby(by):
        key = key if isinstance(key, tuple) else (key,)
        n, k = len(g), int(g["hit"].sum())
        low, high = proportion_confint(k, n, alpha=1 - CONFIDENCE, method="wilson")
        rec = dict(zip(by, key, strict=True))
        rec.update(
            n=n, hits=k, hit_rate=k / n, ci_low=float(low), ci_high=float(high),
            on_split=int(g["split"].sum()),
        )
        out.append(rec)
    return out


def ref_alpha(ratings: pd.DataFrame, by: str | None) -> list[dict]:
    out = []
    groups = [(None, ratings)] if by is None else list(ratings.groupby(by))
    for key, g in groups:
        for axis in AXES:
            table = g.pivot(index="listener", columns="clip", values=axis)
            counts = table.notna().sum(axis=0)
            pairable = g[g["clip"].isin(counts.index[counts >= 2])]
            rec = {} if by is None else {by: key}
            rec.update(
                axis=axis,
                alpha=float(
                    krippendorff.alpha(
                        reliability_data=table.to_numpy(dtype=float),
                        level_of_measurement="interval",
                    )
                ),
                units=int((counts >= 2).sum()),
                pairable_ratings=len(pairable),
                raters=int(pairable["listener"].nunique()),
            )
            out.append(rec)
    return out


def ref_zscores(ratings: pd.DataFrame) -> pd.DataFrame:
    df = ratings.copy()
    for axis in AXES:
        g = df.groupby("listener")[axis]
        mean = g.transform("mean")
        sd = g.transform("std")  # ddof=1; NaN for a single rating
        z = (df[axis] - mean) / sd
        df[f"{axis}_z"] = z.where(sd.notna() & (sd > 0), 0.0)
    return df


def ref_z_clips(ratings: pd.DataFrame) -> list[dict]:
    z = ref_zscores(ratings)
    clips = (
        z.groupby("clip")
        .agg(
            n_ratings=("valence_z", "size"),
            valence_z=("valence_z", "mean"),
            arousal_z=("arousal_z", "mean"),
        )
        .reset_index()
    )
    return clips.to_dict(orient="records")


def ref_anova_z(ratings: pd.DataFrame) -> list[dict]:
    z = ref_zscores(ratings)
    clips = (
        z.groupby("clip")
        .agg(system=("system", "first"), intent=("intent", "first"),
             valence_z=("valence_z", "mean"), arousal_z=("arousal_z", "mean"))
        .reset_index()
    )
    out = []
    for axis in AXES:
        fit = smf.ols(f"{axis}_z ~ C(system) + C(intent)", data=clips).fit()
        table = anova_lm(fit, typ=2)
        for term, source in (("C(system)", "system"), ("C(intent)", "intent")):
            out.append(
                {
                    "axis": axis,
                    "source": source,
                    "sum_sq": float(table.loc[term, "sum_sq"]),
                    "df": float(table.loc[term, "df"]),
                    "df_resid": float(table.loc["Residual", "df"]),
                    "F": float(table.loc[term, "F"]),
                    "p": float(table.loc[term, "PR(>F)"]),
                }
            )
    return out


def ref_rank_agreement(ratings: pd.DataFrame) -> list[dict]:
    z = ref_zscores(ratings)
    clips = z.groupby("clip").agg(
        system=("system", "first"), valence=("valence", "mean"), arousal=("arousal", "mean"),
        valence_z=("valence_z", "mean"), arousal_z=("arousal_z", "mean"),
    )
    out = []
    for axis in AXES:
        means = clips.groupby("system")[[axis, f"{axis}_z"]].mean()
        rho = stats.spearmanr(means[axis], means[f"{axis}_z"]).statistic
        for system, row in means.iterrows():
            out.append(
                {"axis": axis, "system": system, "mean_raw": float(row[axis]),
                 "mean_z": float(row[f"{axis}_z"]), "spearman_rho": float(rho)}
            )
    return out


def references(ratings: pd.DataFrame) -> dict:
    clips = clip_table(ratings)
    return {
        "n_ratings": len(ratings),
        "n_clips": len(clips),
        "va_plane": ref_plane(clips),
        "neutrality_bias": ref_neutrality(clips),
        "emotional_diversity": ref_diversity(clips),
        "hit_rate_system": ref_hit_rate(clips, ["system"]),
        "hit_rate_system_intent": ref_hit_rate(clips, ["system", "intent"]),
        "hit_rate_quadrant": ref_hit_rate(clips, ["quadrant"]),
        "alpha": ref_alpha(ratings, None),
        "alpha_by_system": ref_alpha(ratings, "system"),
        "rater_normalised_clips": ref_z_clips(ratings),
        "rater_normalised_anova": ref_anova_z(ratings),
        "zscore_rank_agreement": ref_rank_agreement(ratings),
    }


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    synthetic = synthetic_ratings()
    doc = {
        "about": (
            "Reference values for emoconvey.analysis.{plane,neutrality,diversity,hit_rate,"
            "agreement}, computed independently by scripts/reference/plane_agreement.py "
            "(krippendorff, numpy.cov/eigh, scipy linregress, statsmodels Wilson and "
            "anova_lm, plain pandas)."
        ),
        "confidence": CONFIDENCE,
        "aimoclips": references(aimoclips_ratings()),
        "synthetic": {
            "ratings": synthetic.to_dict(orient="records"),
            "min_ratings": 1,
            **references(synthetic),
        },
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1, allow_nan=True) + "\n", encoding="utf-8")
    log.info("wrote %s", OUT.relative_to(REPO))
    for rec in doc["aimoclips"]["alpha"]:
        log.info("AImoclips alpha %s = %.6f", rec["axis"], rec["alpha"])


if __name__ == "__main__":
    main()
