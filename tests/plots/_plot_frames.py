"""Small hand-built tables in the shapes the statistics modules produce (for plot tests).

Kept independent of :mod:`emoconvey.analysis` on purpose: the plots are tested against
the column contracts, not against the current state of the statistics code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

AXES = ("valence", "arousal")
MEASURES = ("deviation", "abs_deviation")
QUADRANTS = ("hv_ha", "lv_ha", "lv_la", "hv_la")


def per_clip() -> pd.DataFrame:
    """``ratings_per_clip``: 8 clips excluded below the default threshold of 4."""
    return pd.DataFrame({"n_ratings": [2, 3, 4, 5, 6, 7], "clips": [3, 5, 40, 80, 60, 12]})


def mean_dev(by: str = "system", groups: Sequence[str] = ("SysA", "SysB", "SysC")) -> pd.DataFrame:
    """Long ``mean_deviation`` table with both axes and both measures for each group."""
    rows = []
    for i, g in enumerate(groups):
        for j, axis in enumerate(AXES):
            for measure in MEASURES:
                mean = (0.4 * i - 0.5 + 0.3 * j) if measure == "deviation" else 1.0 + 0.2 * i
                se = 0.1 + 0.02 * i
                rows.append({
                    by: g, "axis": axis, "measure": measure, "n": 20, "mean": mean,
                    "sd": se * np.sqrt(20), "se": se,
                    "ci_low": mean - 1.96 * se, "ci_high": mean + 1.96 * se,
                })
    return pd.DataFrame(rows)


def tukey(
    groups: Sequence[str],
    p: Mapping[tuple[str, str], float] | None = None,
    *,
    default_p: float = 0.9,
) -> pd.DataFrame:
    """``tukey_hsd`` table for all pairs; ``p`` sets p_adj of chosen pairs (all axes/measures)."""
    p = dict(p or {})
    rows = []
    for axis in AXES:
        for measure in MEASURES:
            for i, a in enumerate(groups):
                for b in groups[i + 1:]:
                    pv = p.get((a, b), p.get((b, a), default_p))
                    rows.append({
                        "axis": axis, "measure": measure, "group1": a, "group2": b,
                        "meandiff": 0.3, "ci_low": 0.1, "ci_high": 0.5, "p_adj": pv,
                        "reject": pv < 0.05,
                    })
    return pd.DataFrame(rows)


INTENTS = pd.DataFrame({
    "intent": ["happy", "excited", "angry", "scared", "sad", "gloomy", "calm", "relaxed"],
    "quadrant": ["hv_ha", "hv_ha", "lv_ha", "lv_ha", "lv_la", "lv_la", "hv_la", "hv_la"],
    "norm_valence": [8.47, 8.11, 2.53, 2.80, 2.10, 3.15, 6.89, 7.25],
    "norm_arousal": [6.05, 6.43, 6.20, 6.10, 3.49, 3.32, 1.67, 2.49],
})


def intents() -> pd.DataFrame:
    return INTENTS.copy()


def clips(
    systems: Sequence[str] = ("SysA", "SysB"), per_intent: int = 3, seed: int = 0
) -> pd.DataFrame:
    """Clip table: ``per_intent`` clips per (system, intent), means pulled to the centre."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in systems:
        for it in INTENTS.itertuples():
            for k in range(1, per_intent + 1):
                v = float(np.clip(5 + 0.4 * (it.norm_valence - 5) + rng.normal(0, 0.8), 1, 9))
                a = float(np.clip(5 + 0.5 * (it.norm_arousal - 5) + rng.normal(0, 0.8), 1, 9))
                rows.append({
                    "clip": f"{s}_{it.intent}_{k}_crop.wav", "system": s, "intent": it.intent,
                    "quadrant": it.quadrant, "file_index": k, "n_ratings": 5,
                    "valence": v, "arousal": a,
                    "norm_valence": it.norm_valence, "norm_arousal": it.norm_arousal,
                })
    return pd.DataFrame(rows)


def plane(clip_table: pd.DataFrame) -> pd.DataFrame:
    """``va_plane`` table computed with numpy (95 % data ellipses)."""
    chi2 = 5.991464547107979
    rows = []
    for (s, q), sub in clip_table.groupby(["system", "quadrant"], sort=False):
        x = sub[["valence", "arousal"]].to_numpy()
        cov = np.cov(x.T)
        w, v = np.linalg.eigh(cov)
        rows.append({
            "system": s, "quadrant": q, "n": len(sub),
            "mean_valence": x[:, 0].mean(), "mean_arousal": x[:, 1].mean(),
            "norm_valence": sub["norm_valence"].mean(), "norm_arousal": sub["norm_arousal"].mean(),
            "cov_vv": cov[0, 0], "cov_aa": cov[1, 1], "cov_va": cov[0, 1],
            "ellipse_width": 2 * np.sqrt(chi2 * w[1]), "ellipse_height": 2 * np.sqrt(chi2 * w[0]),
            "ellipse_angle": float(np.degrees(np.arctan2(v[1, 1], v[0, 1]))),
        })
    return pd.DataFrame(rows)


def hit_rate(clip_table: pd.DataFrame) -> pd.DataFrame:
    """``quadrant_hit_rate`` table."""
    hv = clip_table["valence"] > 5
    ha = clip_table["arousal"] > 5
    landed = np.select([hv & ha, ~hv & ha, ~hv & ~ha], ["hv_ha", "lv_ha", "lv_la"], "hv_la")
    hits = pd.Series(landed == clip_table["quadrant"].to_numpy(), index=clip_table.index)
    g = hits.groupby([clip_table["system"], clip_table["intent"], clip_table["quadrant"]],
                     sort=False)
    out = g.agg(["size", "sum"]).reset_index()
    out.columns = ["system", "intent", "quadrant", "n", "hits"]
    out["hit_rate"] = out["hits"] / out["n"]
    out["ci_low"] = np.nan
    out["ci_high"] = np.nan
    return out


def neutrality(clip_table: pd.DataFrame) -> pd.DataFrame:
    """``neutrality_bias`` table with least-squares slopes of clip mean on norm."""
    rows = []
    for s, sub in clip_table.groupby("system", sort=False):
        for axis in AXES:
            slope, intercept = np.polyfit(sub[f"norm_{axis}"], sub[axis], 1)
            rows.append({
                "system": s, "axis": axis, "n": len(sub), "norm_distance": 2.0,
                "rating_distance": 1.0, "bias": 1.0, "ratio": 0.5, "slope": slope,
                "slope_ci_low": slope - 0.1, "slope_ci_high": slope + 0.1,
                "intercept": intercept, "r": 0.8,
            })
    return pd.DataFrame(rows)
