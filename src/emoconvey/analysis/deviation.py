"""Per-clip deviation from the intended emotion.

For clip *c* with intent *i* and axis *x* (valence or arousal),

.. math:: d_{c,x} = \\bar r_{c,x} - \\nu_{i,x}

where :math:`\\bar r_{c,x}` is the clip's mean rating and :math:`\\nu_{i,x}` the intent's
lexicon norm (AImoclips, Go et al., 2025, Sec. 4). Positive valence deviation means the
clip sounds more pleasant than intended; positive arousal deviation, more aroused.
"""

from __future__ import annotations

import pandas as pd

from emoconvey._validation import AXES, require_columns, require_rows

__all__ = ["CLIP_TABLE_COLUMNS", "clip_deviations"]

CLIP_TABLE_COLUMNS: tuple[str, ...] = (
    "clip",
    "system",
    "intent",
    "quadrant",
    "valence",
    "arousal",
    "norm_valence",
    "norm_arousal",
)
"""Columns every clip-level statistic needs (as in :attr:`emoconvey.data.Dataset.clips`)."""


def clip_deviations(clips: pd.DataFrame) -> pd.DataFrame:
    """Add signed and absolute deviations from the intent norms to a clip table.

    Parameters
    ----------
    clips : DataFrame
        One row per clip with :data:`CLIP_TABLE_COLUMNS` (e.g. ``Dataset.clips``).

    Returns
    -------
    DataFrame
        A copy of ``clips`` with ``dev_valence``, ``dev_arousal`` (clip mean − norm) and
        ``absdev_valence``, ``absdev_arousal`` (their absolute values).
    """
    require_columns(clips, CLIP_TABLE_COLUMNS, name="clips")
    require_rows(clips, name="clips")
    out = clips.copy()
    for axis in AXES:
        out[f"dev_{axis}"] = out[axis].astype(float) - out[f"norm_{axis}"].astype(float)
        out[f"absdev_{axis}"] = out[f"dev_{axis}"].abs()
    return out
