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
``posthoc`` : str
    Model of the Tukey comparisons (``adjusted``, the default that ``emoconvey plan``
    plans for, or ``oneway``).
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
    Rows of the ranking table, each with the bootstrap uncertainty of its mean
    distance: ``ci_low``, ``ci_high``, ``rank_low``, ``rank_high``, ``p_best``,
    ``group`` (compact letters; systems sharing one are tied).
``mixed_model`` : object
    Per axis (``valence``, ``arousal``): ``variance`` (``listener``, ``clip``,
    ``residual``: variances of the rating-level model dev ~ system + intent +
    (1|listener) + (1|clip), REML), ``icc_listener``, ``icc_clip``, ``chi2_system``,
    ``df_system``, ``p_system`` (Wald test of the system effect), and ``systems``: one
    object per system with ``system``, ``estimate`` (estimated marginal mean deviation),
    ``se``, ``ci_low``, ``ci_high``. Empty (``{}``) when the model was skipped (too many
    levels; see ``warnings``).
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


def _mixed_model(t: dict[str, Any]) -> dict[str, Any]:
    var = t.get("mixed_model_variance")
    sys_t = t.get("mixed_model")
    if var is None or sys_t is None or var.empty:
        return {}
    out: dict[str, Any] = {}
    for rec in json_records(var):
        axis = rec["axis"]
        rows = sys_t[sys_t["axis"] == axis].drop(columns="axis")
        out[axis] = {
            "variance": {k: rec[k] for k in ("listener", "clip", "residual")},
            **{k: rec[k] for k in ("icc_listener", "icc_clip", "chi2_system", "df_system",
                                   "p_system", "n_ratings", "n_listeners", "n_clips")},
            "systems": json_records(rows),
        }
    return out


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
        "posthoc": results.posthoc,
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
        "mixed_model": _mixed_model(t),
        "summary": list(summary),
        "warnings": list(results.warnings),
        "tables": {
            name: json_records(df) for name, df in t.items() if name != "clip_deviations"
        },
        "figures": list(figures),
    }
