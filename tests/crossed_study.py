"""Simulated listening tests with crossed listener and clip effects, and their truth.

Importable as ``crossed_study`` from any test and from ``benchmarks/ranking_calibration.py``.

A study has *K* systems, *M* intents, *N* clips per (system, intent) cell and *R* ratings
per clip from distinct listeners. Listener *l* rates one clip of every cell (so
``K*M`` clips, ``N*R`` listeners); per axis a rating's deviation from the intent norm is

.. math:: y_{lc} = \\mu_{s(c), i(c)} + u_l + v_c + \\varepsilon_{lc}

with :math:`u_l \\sim N(0, \\sigma_L^2)`, :math:`v_c \\sim N(0, \\sigma_C^2)`,
:math:`\\varepsilon \\sim N(0, \\sigma^2)`, independent between the axes. Ratings are not
rounded, so every ranking metric has a closed-form truth: its expectation over new
clips and new listeners, i.e. the mean over intents of the metric of a clip-mean
deviation :math:`N(\\mu_{si}, \\tau^2)` per axis, :math:`\\tau^2 = \\sigma_C^2 +
(\\sigma_L^2 + \\sigma^2)/R`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special, stats

from emoconvey.intents import aimoclips_intents

__all__ = ["AIMOCLIPS_VARIANCES", "crossed_study", "scenario_means", "true_metrics"]

AIMOCLIPS_VARIANCES = {"listener": 0.67, "clip": 0.45, "residual": 2.71}
"""Listener, clip and residual variances fitted on AImoclips (issue 17)."""


def _intents(m: int) -> pd.DataFrame:
    it = aimoclips_intents()
    # alternate quadrants so that every design uses all four
    order = np.argsort(np.arange(len(it)) % 3, kind="stable")
    return it.iloc[order[:m]].reset_index(drop=True)


def scenario_means(
    name: str, *, systems: int = 4, intents: int = 6, rng: np.random.Generator
) -> np.ndarray:
    """Cell mean deviations, shape (systems, intents, 2), of a named scenario.

    ``"additive"``: system + intent effects; ``"interaction"``: plus an intent x system
    interaction (s.d. 0.5); ``"one_signed"``: valence and arousal deviations all
    positive (0.4 to 1.6), so that a listener's shift moves every absolute deviation
    the same way; ``"random"``: system effects N(0, 0.3^2) around a common profile.
    """
    sys_eff = rng.normal(0.0, 0.4, (systems, 1, 2))
    int_eff = rng.normal(0.0, 0.6, (1, intents, 2))
    if name == "additive":
        return np.broadcast_to(sys_eff + int_eff, (systems, intents, 2)).copy()
    if name == "interaction":
        return sys_eff + int_eff + rng.normal(0.0, 0.5, (systems, intents, 2))
    if name == "one_signed":
        return rng.uniform(0.4, 1.6, (systems, intents, 2))
    if name == "random":
        return 0.8 + int_eff * 0.5 + rng.normal(0.0, 0.3, (systems, 1, 2))
    raise ValueError(name)


def crossed_study(
    means: np.ndarray,
    *,
    clips_per_cell: int = 8,
    ratings_per_clip: int = 6,
    variances: dict[str, float] = AIMOCLIPS_VARIANCES,
    rng: np.random.Generator,
    shuffle: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One simulated study: (clips table, ratings table) as in ``Dataset``.

    In every cell the ``N*R`` listeners are shuffled and split into the cell's ``N``
    clips, R distinct listeners each (a listener rates one clip of every cell, and
    shares each clip with different co-raters, as under the survey's assignment).
    ``shuffle=False``: blocks instead; listener ``l`` of group ``g = l // R`` rates
    clip ``(g + offset) mod N`` of every cell (random offsets), so a group's listeners
    always rate together.
    """
    k, m, _ = means.shape
    n, r = clips_per_cell, ratings_per_clip
    it = _intents(m)
    n_lis = n * r
    cells = k * m
    cell = np.repeat(np.arange(cells), n)  # clip -> cell
    clip_sys, clip_int = cell // m, cell % m
    rat_cell = np.repeat(np.arange(cells), n_lis)
    if shuffle:
        lis = np.argsort(rng.random((cells, n_lis)), axis=1).ravel()  # a shuffle per cell
        rat_clip = rat_cell * n + np.tile(np.arange(n_lis) // r, cells)
    else:
        offset = rng.integers(0, n, cells)
        lis = np.tile(np.arange(n_lis), cells)
        rat_clip = rat_cell * n + (lis // r + offset[rat_cell]) % n
    u = rng.normal(0.0, np.sqrt(variances["listener"]), (n_lis, 2))
    v = rng.normal(0.0, np.sqrt(variances["clip"]), (cells * n, 2))
    eps = rng.normal(0.0, np.sqrt(variances["residual"]), (len(lis), 2))
    mu = means[clip_sys, clip_int]  # (clips, 2)
    dev = mu[rat_clip] + v[rat_clip] + u[lis] + eps
    norms = it[["norm_valence", "norm_arousal"]].to_numpy(dtype=float)
    y = dev + norms[clip_int[rat_clip]]
    names = np.array([f"S{s}_{it['intent'][i]}_{c}" for c, (s, i)
                      in enumerate(zip(clip_sys, clip_int, strict=True))])
    ratings = pd.DataFrame({
        "listener": [f"L{x}" for x in lis], "clip": names[rat_clip],
        "system": [f"S{s}" for s in clip_sys[rat_clip]],
        "intent": it["intent"].to_numpy()[clip_int[rat_clip]],
        "valence": y[:, 0], "arousal": y[:, 1],
    })
    cm = np.zeros((cells * n, 2))
    np.add.at(cm, rat_clip, y)
    cm /= np.bincount(rat_clip, minlength=cells * n)[:, None]
    clips = pd.DataFrame({
        "clip": names, "system": [f"S{s}" for s in clip_sys],
        "intent": it["intent"].to_numpy()[clip_int],
        "quadrant": it["quadrant"].to_numpy()[clip_int],
        "valence": cm[:, 0], "arousal": cm[:, 1],
        "norm_valence": norms[clip_int, 0], "norm_arousal": norms[clip_int, 1],
    })
    return clips, ratings


def true_metrics(
    means: np.ndarray,
    *,
    ratings_per_clip: int = 6,
    variances: dict[str, float] = AIMOCLIPS_VARIANCES,
) -> pd.DataFrame:
    """Expected ranking metrics of each system over new clips and listeners.

    Columns ``system``, ``mean_distance`` (mean of a Rice distribution),
    ``mae_valence``, ``mae_arousal`` (folded normal), ``hit_rate``.
    """
    k, m, _ = means.shape
    tau = np.sqrt(variances["clip"]
                  + (variances["listener"] + variances["residual"]) / ratings_per_clip)
    it = _intents(m)
    norms = it[["norm_valence", "norm_arousal"]].to_numpy(dtype=float)
    quad = it["quadrant"].to_numpy()
    high = np.column_stack([[q.startswith("hv") for q in quad],
                            [q.endswith("ha") for q in quad]])
    z = (means[..., 0] ** 2 + means[..., 1] ** 2) / (4.0 * tau**2)
    lag = (1.0 + 2.0 * z) * special.ive(0, z) + 2.0 * z * special.ive(1, z)
    dist = tau * np.sqrt(np.pi / 2.0) * lag
    mae = (tau * np.sqrt(2.0 / np.pi) * np.exp(-(means**2) / (2.0 * tau**2))
           + means * (1.0 - 2.0 * stats.norm.cdf(-means / tau)))
    p_high = stats.norm.cdf((norms[None] + means - 5.0) / tau)
    p_in = np.where(high[None], p_high, 1.0 - p_high)
    return pd.DataFrame({
        "system": [f"S{s}" for s in range(k)],
        "mean_distance": dist.mean(axis=1),
        "mae_valence": mae[..., 0].mean(axis=1),
        "mae_arousal": mae[..., 1].mean(axis=1),
        "hit_rate": p_in.prod(axis=2).mean(axis=1),
    })
