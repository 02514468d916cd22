"""Write tests/reference/mos_stats.json: reference values for emoconvey.analysis.mos.

Computed *independently* of emoconvey, with the packages the statistics are usually
taken from:

==========================  ============================================================
quantity                    reference
==========================  ============================================================
system MOS, t interval      pandas groupby + ``scipy.stats.t.interval``
score distribution          pandas ``value_counts``
MI-TA correlation           ``scipy.stats.pearsonr`` (+ its Fisher-z
                            ``confidence_interval``), ``scipy.stats.spearmanr``
Krippendorff's alpha        ``krippendorff.alpha`` (interval and ordinal)
ICC(1), ICC(1,k), balanced  ``pingouin.intraclass_corr`` (ICC(1,1), ICC(1,k)) on the clips with
                            exactly 5 ratings, raters numbered by slot
ICC(1) unbalanced           one-way ANOVA mean squares from statsmodels ``anova_lm``
pairwise tests              ``scipy.stats.ttest_ind(equal_var=False)`` +
                            ``statsmodels.stats.multitest.multipletests(method="holm")``
==========================  ============================================================

The data: a synthetic MusicEval-shaped study (5 systems x 12 prompts, 14 raters, 5
ratings per clip and scale; one clip with only 3 ratings and one with 2 TA ratings) from
a fixed seed. Its ratings are written into the JSON so that the tests do not depend on
the random generator. Run (deterministic)::

    /work/venv/bin/python scripts/reference/mos_stats.py
"""

from __future__ import annotations

import json
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pingouin as pg
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.anova import anova_lm
from statsmodels.stats.multitest import multipletests

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "reference" / "mos_stats.json"
SEED = 20250115
SCALES = ("MI", "TA")


def make_ratings() -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    quality = {"S01": 3.8, "S02": 3.2, "S03": 2.5, "S04": 3.3, "S05": 1.9}
    raters = [f"R{i:02d}" for i in range(1, 15)]
    bias = dict(zip(raters, rng.normal(0, 0.4, len(raters)), strict=True))
    rows = []
    for p in range(1, 13):
        prompt = f"P{p:03d}"
        source = "manual" if p % 3 else "MusicCaps"
        for system, q in quality.items():
            clip = f"me-{system}_{prompt}"
            clip_effect = rng.normal(0, 0.6)
            n = 3 if (system, p) == ("S02", 4) else 5
            who = rng.choice(raters, size=n, replace=False)
            for r in who:
                mi = q + clip_effect + bias[r] + rng.normal(0, 0.7)
                ta = 0.6 * mi + 0.4 * (3 + rng.normal(0, 1.0))
                for scale, v in (("MI", mi), ("TA", ta)):
                    if scale == "TA" and (system, p) == ("S05", 7) and r in who[2:]:
                        continue
                    rows.append(
                        {
                            "rater": str(r),
                            "clip_id": clip,
                            "system": system,
                            "prompt_id": prompt,
                            "source": source,
                            "scale": scale,
                            "score": int(np.clip(np.rint(v), 1, 5)),
                        }
                    )
    return pd.DataFrame(rows)


def system_mos(df: pd.DataFrame, by: str | None = None, unit: str = "clip") -> list[dict]:
    keys = ([by] if by else []) + ["system", "scale"]
    clip = df.groupby([*keys, "clip_id"], sort=False)["score"].mean().reset_index()
    src = (
        clip.rename(columns={"score": "v"}) if unit == "clip" else df.rename(columns={"score": "v"})
    )
    out = []
    for key, g in src.groupby(keys, sort=False):
        x = g["v"].to_numpy(float)
        m = x.mean()
        lo, hi = stats.t.interval(0.95, len(x) - 1, loc=m, scale=stats.sem(x))
        out.append(dict(zip(keys, key, strict=True)) | {"mean": m, "ci_low": lo, "ci_high": hi})
    res = pd.DataFrame(out)
    res["rank"] = res.groupby(([by] if by else []) + ["scale"])["mean"].rank(
        ascending=False, method="min"
    )
    return res.to_dict("records")


def distribution(df: pd.DataFrame) -> list[dict]:
    out = []
    for scale, g in df.groupby("scale", sort=False):
        vc = g["score"].value_counts()
        for s in range(1, 6):
            out.append({"scale": scale, "score": s, "count": int(vc.get(s, 0))})
    return out


def correlation(df: pd.DataFrame) -> dict:
    clip = df.groupby(["clip_id", "system", "scale"])["score"].mean().unstack("scale").dropna()
    sysm = clip.groupby("system")[["MI", "TA"]].mean()
    out = {}
    for level, t in (("clip", clip), ("system", sysm)):
        pr = stats.pearsonr(t["MI"], t["TA"])
        ci = pr.confidence_interval(0.95)
        sr = stats.spearmanr(t["MI"], t["TA"])
        out[level] = {
            "n": len(t),
            "pearson_r": pr.statistic,
            "pearson_p": pr.pvalue,
            "pearson_ci_low": ci.low,
            "pearson_ci_high": ci.high,
            "spearman_rho": sr.statistic,
            "spearman_p": sr.pvalue,
        }
    return out


def agreement(df: pd.DataFrame) -> dict:
    out = {}
    for scale, g in df.groupby("scale", sort=False):
        mat = g.pivot(index="rater", columns="clip_id", values="score").to_numpy(float)
        res = {
            "alpha_interval": krippendorff.alpha(mat, level_of_measurement="interval"),
            "alpha_ordinal": krippendorff.alpha(mat, level_of_measurement="ordinal"),
        }
        # balanced subset for pingouin: clips with exactly 5 ratings, raters by slot
        size = g.groupby("clip_id")["score"].transform("size")
        bal = g[size == 5].copy()
        bal["slot"] = bal.groupby("clip_id").cumcount()
        icc = pg.intraclass_corr(bal, targets="clip_id", raters="slot", ratings="score")
        icc = icc.set_index("Type")
        res["balanced"] = {
            "icc1": icc.loc["ICC(1,1)", "ICC"],
            "icc1_ci": list(icc.loc["ICC(1,1)", "CI95"]),
            "icc1k": icc.loc["ICC(1,k)", "ICC"],
            "icc1k_ci": list(icc.loc["ICC(1,k)", "CI95"]),
        }
        # unbalanced: one-way ANOVA via statsmodels
        fit = smf.ols("score ~ C(clip_id)", data=g).fit()
        table = anova_lm(fit)
        msb = table.loc["C(clip_id)", "mean_sq"]
        msw = table.loc["Residual", "mean_sq"]
        sizes = g.groupby("clip_id").size().to_numpy(float)
        n, big = len(sizes), sizes.sum()
        k0 = (big - (sizes**2).sum() / big) / (n - 1)
        res["unbalanced"] = {
            "icc1": (msb - msw) / (msb + (k0 - 1) * msw),
            "icc1k": (msb - msw) / msb,
            "k0": k0,
        }
        out[scale] = res
    return out


def pairwise(df: pd.DataFrame) -> list[dict]:
    clip = df.groupby(["system", "scale", "clip_id"], sort=False)["score"].mean().reset_index()
    out = []
    for scale, g in clip.groupby("scale", sort=False):
        systems = list(pd.unique(g["system"]))
        block = []
        for i, a in enumerate(systems):
            for b in systems[i + 1 :]:
                xa = g.loc[g["system"] == a, "score"]
                xb = g.loc[g["system"] == b, "score"]
                t = stats.ttest_ind(xa, xb, equal_var=False)
                block.append(
                    {
                        "scale": scale,
                        "system_a": a,
                        "system_b": b,
                        "t": t.statistic,
                        "df": t.df,
                        "p": t.pvalue,
                    }
                )
        adj = multipletests([r["p"] for r in block], method="holm")[1]
        for r, p in zip(block, adj, strict=True):
            r["p_holm"] = p
        out.extend(block)
    return out


def main() -> None:
    df = make_ratings()
    ref = {
        "ratings": df.to_dict("list"),
        "system_mos": system_mos(df),
        "system_mos_rating_unit": system_mos(df, unit="rating"),
        "system_mos_by_source": system_mos(df, by="source"),
        "distribution": distribution(df),
        "correlation": correlation(df),
        "agreement": agreement(df),
        "pairwise": pairwise(df),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(ref, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
