"""One-line-per-system ranking of emotion conveyance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from emoconvey.analysis.deviation import clip_deviations
from emoconvey.intents import quadrant_of

__all__ = ["system_ranking"]


def system_ranking(clips: pd.DataFrame) -> pd.DataFrame:
    """Rank systems by how closely their clips land on the intended emotion.

    For each clip the distance to its intent in the valence-arousal plane is

    .. math:: \\delta_c = \\sqrt{d_{c,v}^2 + d_{c,a}^2}

    with :math:`d` the per-clip deviations (see :func:`clip_deviations`). Systems are
    ranked by mean distance, smallest (best) first; ties share the lower rank.

    Parameters
    ----------
    clips : DataFrame
        Clip table (``Dataset.clips``).

    Returns
    -------
    DataFrame
        ``rank``, ``system``, ``n`` (clips), ``mean_distance``, ``mae_valence``,
        ``mae_arousal`` (mean absolute deviations), ``mean_dev_valence``,
        ``mean_dev_arousal`` (signed), ``hit_rate`` (share of clips whose mean lies in
        the intended quadrant), sorted by rank.
    """
    dev = clip_deviations(clips)
    dev["distance"] = np.hypot(dev["dev_valence"], dev["dev_arousal"])
    dev["hit"] = quadrant_of(dev["valence"], dev["arousal"]) == dev["quadrant"].to_numpy()
    out = (
        dev.groupby("system", sort=False)
        .agg(
            n=("clip", "size"),
            mean_distance=("distance", "mean"),
            mae_valence=("absdev_valence", "mean"),
            mae_arousal=("absdev_arousal", "mean"),
            mean_dev_valence=("dev_valence", "mean"),
            mean_dev_arousal=("dev_arousal", "mean"),
            hit_rate=("hit", "mean"),
        )
        .reset_index()
    )
    out.insert(0, "rank", out["mean_distance"].rank(method="min").astype(int))
    return out.sort_values(["rank", "system"], kind="stable").reset_index(drop=True)
