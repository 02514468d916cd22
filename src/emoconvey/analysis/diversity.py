"""Emotional diversity: how widely a system's clips spread over the valence-arousal plane.

A system that conveys 12 different intents should produce clips spread roughly as widely
as the intents' norms; a system whose clips all sound alike (e.g. mildly pleasant and
calm) has a small spread whatever it was asked for (cf. the clustering of some systems
near the centre in AImoclips, Go et al., 2025, Fig. 2).

For a system's :math:`n` clip means :math:`x_c = (v_c, a_c)` with sample covariance
:math:`\\Sigma` (ddof = 1):

``sd_valence``, ``sd_arousal``
    :math:`\\sqrt{\\Sigma_{vv}}`, :math:`\\sqrt{\\Sigma_{aa}}`.
``iqr_valence``, ``iqr_arousal``
    :math:`Q_{0.75} - Q_{0.25}` (linear interpolation, as ``numpy.percentile``).
``plane_spread``
    :math:`\\sqrt{\\operatorname{tr}\\Sigma} = \\sqrt{\\frac{1}{n-1}\\sum_c \\lVert x_c -
    \\bar x \\rVert^2}`, the root-mean-square Euclidean distance of the clips to their
    centroid (with the unbiased n - 1 divisor).
``ellipse_area``
    :math:`\\pi \\chi^2_2(\\gamma) \\sqrt{\\det \\Sigma}`, the area of the covariance
    ellipse holding a fraction :math:`\\gamma` (default 0.95) of bivariate-normal points
    (Johnson & Wichern, 2007, Result 4.7); 0 when the clips are collinear.
``norm_sd_valence``, ``norm_sd_arousal``
    The standard deviation of the intended norms over the same clips, the spread a
    system would reach by hitting every target exactly.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from emoconvey._validation import (
    check_confidence,
    require_columns,
    require_numeric,
    require_rows,
)
from emoconvey.analysis.common import group_moments, listed, require_keys
from emoconvey.analysis.plane import chi2_quantile
from emoconvey.errors import DegenerateDataWarning

__all__ = ["DIVERSITY_COLUMNS", "emotional_diversity"]

log = logging.getLogger(__name__)

DIVERSITY_COLUMNS: tuple[str, ...] = (
    "system",
    "n",
    "sd_valence",
    "sd_arousal",
    "iqr_valence",
    "iqr_arousal",
    "plane_spread",
    "ellipse_area",
    "norm_sd_valence",
    "norm_sd_arousal",
)
"""Columns of :func:`emotional_diversity`, in order."""

_INPUT = ("system", "valence", "arousal", "norm_valence", "norm_arousal")


def emotional_diversity(clips: pd.DataFrame, *, confidence: float = 0.95) -> pd.DataFrame:
    """Spread of each system's clip means over the valence-arousal plane.

    See the module docstring for the definitions.

    Parameters
    ----------
    clips : DataFrame
        One row per clip with ``system``, ``valence``, ``arousal`` (clip means) and
        ``norm_valence``, ``norm_arousal`` (intent norms), e.g.
        :attr:`emoconvey.data.Dataset.clips`. Not modified.
    confidence : float, default 0.95
        Coverage of the ellipse whose area is reported.

    Returns
    -------
    DataFrame
        One row per system in order of first appearance, columns
        :data:`DIVERSITY_COLUMNS`: ``system``, ``n``, ``sd_valence``, ``sd_arousal``,
        ``iqr_valence``, ``iqr_arousal``, ``plane_spread``, ``ellipse_area``,
        ``norm_sd_valence``, ``norm_sd_arousal``.

    Warns
    -----
    DegenerateDataWarning
        A system with a single clip (standard deviations, spread and area NaN; IQRs 0);
        a system with 2 clips (``ellipse_area`` NaN, as in
        :func:`~emoconvey.analysis.plane.va_plane`); a system whose clip means do not
        vary on an axis (its standard deviation is 0, returned as is).

    Raises
    ------
    DataValidationError
        A required column is missing, a system is missing or a value is not a finite
        number.
    EmoconveyError
        ``confidence`` is not in (0, 1).
    """
    confidence = check_confidence(confidence)
    require_columns(clips, _INPUT, name="clips")
    require_rows(clips, name="clips")
    require_keys(clips, ["system"], name="clips")
    require_numeric(clips, _INPUT[1:], name="clips")

    mom = group_moments(clips, ["system"], "valence", "arousal")
    norm_mom = group_moments(clips, ["system"], "norm_valence", "norm_arousal")
    frame = pd.DataFrame(
        {
            "system": clips["system"].to_numpy(),
            "valence": clips["valence"].to_numpy(dtype=float),
            "arousal": clips["arousal"].to_numpy(dtype=float),
        }
    )
    quart = frame.groupby("system", sort=False)[["valence", "arousal"]].quantile([0.25, 0.75])
    q25 = quart.xs(0.25, level=-1).reindex(mom["system"])
    q75 = quart.xs(0.75, level=-1).reindex(mom["system"])

    n = mom["n"].to_numpy(dtype=np.int64)
    cvv, caa, cva = (mom[c].to_numpy(dtype=float) for c in ("cxx", "cyy", "cxy"))
    det = np.maximum(cvv * caa - cva * cva, 0.0)
    area = np.pi * chi2_quantile(confidence) * np.sqrt(det)
    area = np.where(n < 3, np.nan, area)
    out = pd.DataFrame(
        {
            "system": mom["system"].to_numpy(),
            "n": n,
            "sd_valence": np.sqrt(cvv),
            "sd_arousal": np.sqrt(caa),
            "iqr_valence": (q75["valence"] - q25["valence"]).to_numpy(dtype=float),
            "iqr_arousal": (q75["arousal"] - q25["arousal"]).to_numpy(dtype=float),
            "plane_spread": np.sqrt(cvv + caa),
            "ellipse_area": area,
            "norm_sd_valence": np.sqrt(norm_mom["cxx"].to_numpy(dtype=float)),
            "norm_sd_arousal": np.sqrt(norm_mom["cyy"].to_numpy(dtype=float)),
        }
    )
    systems = out["system"].to_list()
    single = n < 2
    if single.any():
        warnings.warn(
            f"emotional_diversity: {int(single.sum())} system(s) have a single clip, so their "
            "standard deviations, plane_spread and ellipse_area are NaN: "
            f"{listed([systems[i] for i in np.flatnonzero(single)])}",
            DegenerateDataWarning,
            stacklevel=2,
        )
    two = n == 2
    if two.any():
        warnings.warn(
            f"emotional_diversity: {int(two.sum())} system(s) have only 2 clips, so their "
            "ellipse_area is NaN: "
            f"{listed([systems[i] for i in np.flatnonzero(two)])}",
            DegenerateDataWarning,
            stacklevel=2,
        )
    for axis, var in (("valence", cvv), ("arousal", caa)):
        flat = (~single) & (var <= 0)
        if flat.any():
            warnings.warn(
                f"emotional_diversity: the {axis} clip means of {int(flat.sum())} system(s) "
                f"do not vary (sd_{axis} = 0): "
                f"{listed([systems[i] for i in np.flatnonzero(flat)])}",
                DegenerateDataWarning,
                stacklevel=2,
            )
    log.debug("emotional_diversity: %d systems", len(out))
    return out
