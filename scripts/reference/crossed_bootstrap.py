"""Write tests/reference/crossed_bootstrap.json: the exact variance of the crossed bootstrap.

``emoconvey.analysis.bootstrap`` resamples clips within (system, intent) cells (``n_h - 1``
draws weighted ``n_h / (n_h - 1)``) and redraws every listener's shift from the rescaled
pool of estimated shifts. For a metric that is *linear* in the clip deviations (the
valence MAE of a study whose valence deviations are all positive), the variance of a
system's replicate mean has a closed form, computed here by an independent route
(pandas loops for the listener shifts, an explicit covariance matrix of the draw
weights; no emoconvey code):

.. math::

    \\mathrm{Var}^*(T^*_s) = \\tilde y^\\top C \\tilde y / N_s^2
        + \\rho\\,\\hat\\sigma_L^2 \\sum_l \\big[(\\textstyle\\sum_c a_{lc})^2
        + a_l^\\top C a_l\\big],

with :math:`\\tilde y_c` the listener-adjusted clip deviations of system *s*, :math:`C`
the covariance of the draw weights (1 on the diagonal, :math:`-1/(n_h-1)` between
clips of one cell, 0 across cells), and :math:`a_{lc} = 1/(N_s n_c)` when listener
*l* rated clip *c*; :math:`\\rho = \\sum_{s,l} (\\sum_c a_{lc})^2 / \\sum_{s,l}
[(\\sum_c a_{lc})^2 + a_l^\\top C a_l]` is the share of the listener variance given to the
redrawn shifts (the clip draws carry the rest). The moment estimates follow the formulas of
``emoconvey.analysis.bootstrap.listener_effects``; they are recomputed here with
``groupby`` loops.

The study (3 systems x 2 intents x 4 clips, 3 ratings per clip, 12 listeners) is drawn
from a fixed seed and written into the JSON, so the test does not depend on the
generator. Run::

    .venv/bin/python scripts/reference/crossed_bootstrap.py
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).resolve().parents[2] / "tests" / "reference" / "crossed_bootstrap.json"


def study(seed: int = 5) -> pd.DataFrame:
    """Ratings: listener, clip, system, intent, valence, arousal (deviations + 5)."""
    rng = np.random.default_rng(seed)
    k, m, n, r = 3, 2, 4, 3
    listeners = n * r
    u = rng.normal(0.0, 0.8, listeners)
    rows = []
    for s in range(k):
        for i in range(m):
            perm = rng.permutation(listeners)
            for c in range(n):
                v = rng.normal(0.0, 0.6)
                for l_ in perm[c * r:(c + 1) * r]:
                    rows.append({
                        "listener": f"L{l_}", "clip": f"S{s}_I{i}_{c}", "system": f"S{s}",
                        "intent": f"I{i}",
                        "valence": 5.0 + 3.0 + 0.3 * s + v + u[l_] + rng.normal(0, 0.7),
                        "arousal": 5.0 + rng.normal(0, 1.0),
                    })
    return pd.DataFrame(rows)


def listener_moments(ratings: pd.DataFrame) -> tuple[pd.Series, float]:
    """Per-listener shift estimates (valence) and the moment estimate of sigma_L^2."""
    df = ratings.copy()
    g = df.groupby("clip")["valence"]
    df["n_c"] = g.transform("size")
    df["resid"] = df["valence"] - g.transform("mean")
    within = (df["resid"] ** 2).sum() / (df.groupby("clip").size() - 1).sum()
    per = df.groupby("listener").agg(e=("resid", "mean"), m=("resid", "size"),
                                     k=("n_c", lambda x: float(np.mean(1 - 1 / x))))
    denom = float(np.mean(per["k"] ** 2 * (1 - 1 / per["m"])))
    var_l = max(0.0, (per["e"].var(ddof=1) - within * float(np.mean(per["k"] / per["m"])))
                / denom)
    return per["e"] / per["k"], var_l


def reference_variance(ratings: pd.DataFrame) -> dict[str, float]:
    """Exact bootstrap variance of each system's valence MAE replicate mean."""
    u_hat, var_l = listener_moments(ratings)
    clip_mean = ratings.groupby("clip")["valence"].mean() - 5.0
    clip_shift = ratings.groupby("clip")["listener"].apply(
        lambda ls: float(np.mean([u_hat[x] for x in ls])))
    meta = ratings.drop_duplicates("clip").set_index("clip")
    parts = {}
    for s, clips_s in meta.groupby("system"):
        names = list(clips_s.index)
        n_s = len(names)
        cell = clips_s["intent"].to_numpy()
        size = pd.Series(cell).value_counts()
        cov = np.zeros((n_s, n_s))
        for a in range(n_s):
            for b in range(n_s):
                if cell[a] == cell[b]:
                    cov[a, b] = 1.0 if a == b else -1.0 / (size[cell[a]] - 1)
        y = np.array([clip_mean[c] - clip_shift[c] for c in names])
        v_clip = float(y @ cov @ y) / n_s**2
        g2 = extra = 0.0
        for lis in ratings["listener"].unique():
            a = np.array([
                1.0 / (n_s * len(ratings[ratings["clip"] == c]))
                if ((ratings["clip"] == c) & (ratings["listener"] == lis)).any() else 0.0
                for c in names
            ])
            g2 += a.sum() ** 2
            extra += float(a @ cov @ a)
        parts[str(s)] = (v_clip, g2, extra)
    # the shifts are redrawn with variance rho * sigma_L^2, so that the listener part
    # (both terms) totals sigma_L^2 * sum g^2 over the systems
    rho = sum(p[1] for p in parts.values()) / sum(p[1] + p[2] for p in parts.values())
    return {s: v + rho * var_l * (g2 + extra) for s, (v, g2, extra) in parts.items()}


def main() -> None:
    ratings = study()
    assert (ratings.groupby("clip")["valence"].mean() > 5.0).all()  # |d| = d: linear
    doc = {
        "about": "Exact variance of the crossed bootstrap's replicate mean of the valence "
                 "MAE (linear here: every valence deviation is positive), by the formula "
                 "of scripts/reference/crossed_bootstrap.py.",
        "ratings": ratings.to_dict(orient="list"),
        "listener_variance": listener_moments(ratings)[1],
        "variance": reference_variance(ratings),
    }
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT}: {doc['variance']}, sigma_L^2 = {doc['listener_variance']:.4f}")


if __name__ == "__main__":
    main()
