"""``results.json``: the report's machine-readable, documented contract.

Schema (version 1). Numbers are plain JSON numbers, unrounded; missing values are
``null``.

``schema_version`` : int
    1.
``emoconvey_version`` : str
``source`` : str
    Where the data came from.
``confidence`` : float
    Level of the confidence intervals (0.95).
``dataset`` : object
    ``clips``, ``ratings``, ``listeners`` (int counts of the analysed data),
    ``systems`` (list of system names), ``n_systems``, ``intents`` (list of intent
    words), ``excluded_clips`` (int count), ``excluded`` (list of
    ``{clip, system, intent, n_ratings, reason}``), ``min_ratings``,
    ``reference_systems`` (names of AImoclips systems added with ``--with-reference``).
``anova`` : list of objects
    One per effect: ``test`` (``system_effect``: deviation ~ system + intent;
    ``quadrant_effect``: |deviation| ~ quadrant + system), ``axis`` (``valence`` or
    ``arousal``), ``source`` (the factor), ``df``, ``df_resid``, ``F``, ``p``,
    ``eta_sq`` (effect SS / total SS of the table), ``sum_sq``, ``measure``.
``anova_zscore`` : list of objects
    Same keys for the rater-normalised robustness check (``test`` =
    ``system_effect_z``).
``ranking`` : list of objects
    Rows of the ranking table.
``summary`` : list of str
    The report's sentences.
``warnings`` : list of str
``tables`` : object
    Every table of the report except ``clip_deviations`` (which is in
    ``tables/clip_deviations.csv``), as lists of row objects, keyed by table name.
``figures`` : list of str
    Figure files relative to the report folder.
"""

from __future__ import annotations

from typing import Any

from emoconvey import __version__
from emoconvey.analysis.pipeline import AnalysisResults
from emoconvey.report.formatting import json_records

__all__ = ["SCHEMA_VERSION", "results_document"]

SCHEMA_VERSION = 1

_ANOVA_KEYS = ("test", "axis", "source", "df", "df_resid", "F", "p", "eta_sq", "sum_sq",
               "measure")


def _anova_rows(table: Any) -> list[dict[str, Any]]:
    effects = table[table["source"] != "Residual"]
    keys = [k for k in _ANOVA_KEYS if k in effects.columns]
    return json_records(effects.loc[:, keys])


def results_document(
    results: AnalysisResults,
    *,
    summary: list[str],
    figures: list[str],
    reference_systems: list[str] | None = None,
) -> dict[str, Any]:
    """Build the ``results.json`` document (see the module docstring for the schema)."""
    ds = results.dataset
    t = results.tables
    s = t["summary"].iloc[0]
    return {
        "schema_version": SCHEMA_VERSION,
        "emoconvey_version": __version__,
        "source": ds.source,
        "confidence": results.confidence,
        "dataset": {
            "clips": int(s["clips"]),
            "ratings": int(s["ratings"]),
            "listeners": int(s["listeners"]),
            "systems": list(ds.systems),
            "n_systems": len(ds.systems),
            "intents": ds.intents["intent"].tolist(),
            "excluded_clips": len(ds.excluded),
            "excluded": json_records(ds.excluded),
            "min_ratings": ds.min_ratings,
            "reference_systems": list(reference_systems or []),
        },
        "anova": _anova_rows(t["anova"]),
        "anova_zscore": _anova_rows(t["anova_zscore"]),
        "ranking": json_records(t["ranking"]),
        "summary": list(summary),
        "warnings": list(results.warnings),
        "tables": {
            name: json_records(df) for name, df in t.items() if name != "clip_deviations"
        },
        "figures": list(figures),
    }
