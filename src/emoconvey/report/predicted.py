"""The emotion-conveyance report from *predicted* ratings (``emoconvey report --predicted``).

A trained predictor (``emoconvey predict run``) gives each clip a predicted valence and
arousal. :func:`predicted_dataset` turns those into a :class:`~emoconvey.data.Dataset`
with **one predicted "rating" per clip** from the listener ``predicted`` (kept as
continuous values), so that the whole analysis runs unchanged; :func:`build_predicted_report`
writes the usual report folder and marks it as predicted everywhere: the page title and a
banner in ``index.html``, ``"predicted": true`` and a ``prediction`` block in
``results.json``, and a ``PREDICTED.txt`` note beside the tables and figures.

Statistics that need several listeners per clip (agreement, listener z-scores) are not
meaningful with one predicted rating per clip and say so in their own warnings.

Where human ratings exist for the same clips, a comparison section is added (HTML,
``comparison/*.csv`` and ``results.json["prediction"]["comparison"]``):

* agreement of predicted and human clip means per axis, at clip and at system level
  (MSE, LCC, SRCC, KTAU as in MusicEval; :mod:`emoconvey.predict.metrics`);
* the system ranking of both reports (rank by mean distance to the intent norms) with
  Kendall's tau-b and Spearman's rho between the two rankings, and per-system deviations
  (predicted minus human mean distance and mean valence/arousal deviations).
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from emoconvey.data import Dataset
from emoconvey.data.formats import read_text_csv
from emoconvey.errors import DataValidationError, EmoconveyError

__all__ = ["PREDICTED_LISTENER", "build_predicted_report", "compare_with_human",
           "predicted_dataset", "read_predictions"]

log = logging.getLogger(__name__)

PREDICTED_LISTENER = "predicted"
"""The listener id every predicted rating carries."""



def read_predictions(path: str | Path) -> pd.DataFrame:
    """Read ``predictions.csv`` of ``emoconvey predict run`` (``audio_file``, ``system``,
    ``intent``, ``valence``, ``arousal``; kept when present: ``model``, ``ood``,
    ``ood_score``, ``extrapolated``, ``clamped``, ``flag_reason``, ``method``), checking
    every row (file, line, column)."""
    path = Path(path)
    raw = read_text_csv(path, name="--predicted")
    need = ["audio_file", "system", "intent", "valence", "arousal"]
    missing = [c for c in need if c not in raw]
    if missing:
        raise DataValidationError(
            f"missing column(s) {', '.join(map(repr, missing))}; expected the predictions.csv "
            "of emoconvey predict run with a model predicting valence and arousal",
            file=path,
        )
    if not len(raw):
        raise DataValidationError("no data rows", file=path)
    for col in ("system", "intent"):
        blank = raw[col].str.strip().eq("")
        if blank.any():
            pos = int(np.flatnonzero(blank.to_numpy())[0])
            hint = (" (name clips <system>_<intent>_<n>.wav or give predict run a manifest "
                    "with an intent column)" if col == "intent" else "")
            raise DataValidationError(f"empty {col}{hint}", file=path, row=pos + 2, column=col)
    out = raw.loc[:, ["audio_file", "system", "intent"]].apply(lambda s: s.str.strip())
    for col in ("valence", "arousal"):
        values = pd.to_numeric(raw[col].str.strip(), errors="coerce").to_numpy(float)
        bad = ~(np.isfinite(values) & (values >= 1) & (values <= 9))
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise DataValidationError(
                f"expected a predicted rating from 1 to 9, found {raw[col].iloc[pos]!r}",
                file=path, row=pos + 2, column=col,
            )
        out[col] = values
    for col in ("model", "flag_reason", "method"):
        if col in raw:
            out[col] = raw[col].str.strip().replace("", None)
    for col in _FLAG_COLUMNS:
        if col in raw:
            text = raw[col].str.strip().str.lower()
            bad = ~text.isin(["true", "false", ""])
            if bad.any():
                pos = int(np.flatnonzero(bad.to_numpy())[0])
                raise DataValidationError(f"expected True or False, found {raw[col].iloc[pos]!r}",
                                          file=path, row=pos + 2, column=col)
            out[col] = pd.array(text.map({"true": True, "false": False}), dtype="boolean")
    if "ood_score" in raw:
        out["ood_score"] = pd.to_numeric(raw["ood_score"], errors="coerce")
    return out


def predicted_dataset(
    predictions: pd.DataFrame, *, intents: str | Path | pd.DataFrame | None = None,
    source: str = "predicted",
) -> Dataset:
    """A Dataset with one continuous predicted rating per clip (listener ``predicted``).

    The clip names are ``<system>_<intent>_<n>.wav`` (numbered per system and intent in
    file order) so that the usual validation applies; ``clip_file`` in the clips table
    keeps the original audio file.
    """
    from emoconvey.data import load_dataset

    pred = predictions.reset_index(drop=True)
    idx = pred.groupby(["system", "intent"], sort=False).cumcount() + 1
    names = pred["system"] + "_" + pred["intent"] + "_" + idx.astype(str) + ".wav"
    ratings = pd.DataFrame({
        "user": PREDICTED_LISTENER,
        "audio_file": names,
        "valence": np.clip(np.round(pred["valence"]), 1, 9).astype(int),
        "arousal": np.clip(np.round(pred["arousal"]), 1, 9).astype(int),
    })
    clips = pd.DataFrame({
        "audio_file": names, "model": pred["system"], "emotion": pred["intent"],
        "n_ratings": 1, "valence": ratings["valence"], "arousal": ratings["arousal"],
    })
    ds = load_dataset(ratings, clips, intents, min_ratings=1, source=source)
    # keep the continuous predictions (validation needed integers)
    by_name = pd.Series(range(len(names)), index=names.str.replace(".wav", "", regex=False))
    stem = ds.ratings["clip"].str.replace(r"(?:_crop)?\.wav$", "", regex=True)
    pos = by_name.reindex(stem).to_numpy()
    r = ds.ratings.copy()
    r["valence"] = pred["valence"].to_numpy(float)[pos]
    r["arousal"] = pred["arousal"].to_numpy(float)[pos]
    c = ds.clips.copy()
    cstem = c["clip"].str.replace(r"(?:_crop)?\.wav$", "", regex=True)
    cpos = by_name.reindex(cstem).to_numpy()
    c["valence"] = pred["valence"].to_numpy(float)[cpos]
    c["arousal"] = pred["arousal"].to_numpy(float)[cpos]
    c["clip_file"] = pred["audio_file"].to_numpy()[cpos]
    return replace(ds, ratings=r, clips=c)


def _clip_key(values: pd.Series) -> pd.Series:
    return values.astype(str).str.replace(r"^.*[/\\]", "", regex=True).str.replace(
        r"(?:_crop)?\.(?i:wav|flac|mp3|ogg)$", "", regex=True
    )


def compare_with_human(
    predicted: Dataset, human: Dataset, *, n_boot: int = 1000, seed: int = 0
) -> dict[str, pd.DataFrame] | None:
    """Predicted vs human results for the clips both have (None when they share none).

    Returns
    -------
    dict of DataFrame
        ``agreement`` (metrics records per axis and level), ``ranking`` (per system:
        ``system``, ``rank_human``, ``rank_predicted``, ``mean_distance_human``,
        ``mean_distance_predicted``, ``diff_mean_distance``, ``diff_mean_dev_valence``,
        ``diff_mean_dev_arousal``, ``n_clips``) and ``ranking_agreement`` (``statistic``,
        ``value``, ``p_value``, ``n_systems``).
    """
    from emoconvey.analysis.pipeline import analyse
    from emoconvey.predict.metrics import metrics_table, score_predictions

    pc = predicted.clips.assign(key=_clip_key(predicted.clips["clip_file"]))
    hc = human.clips.assign(key=_clip_key(human.clips["clip"]))
    merged = pc.merge(hc[["key", "system", "valence", "arousal"]], on="key",
                      suffixes=("_pred", "_human"))
    if merged.empty:
        return None
    records = []
    for axis in ("valence", "arousal"):
        records += score_predictions(
            merged[f"{axis}_human"], merged[f"{axis}_pred"], merged["system_human"],
            target=axis, split="predicted-vs-human", n_boot=n_boot, seed=seed,
        )
    agreement = metrics_table(records)
    # rankings on the shared clips only
    shared_h = human.clips["clip"][_clip_key(human.clips["clip"]).isin(merged["key"])]
    shared_p = pc["clip"][pc["key"].isin(merged["key"])]
    h_ds = replace(human, clips=human.clips[human.clips["clip"].isin(shared_h)],
                   ratings=human.ratings[human.ratings["clip"].isin(shared_h)])
    p_ds = replace(predicted, clips=predicted.clips[predicted.clips["clip"].isin(shared_p)],
                   ratings=predicted.ratings[predicted.ratings["clip"].isin(shared_p)])
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rh = analyse(h_ds).tables["ranking"].set_index("system")
        rp = analyse(p_ds).tables["ranking"].set_index("system")
    systems = [s for s in rh.index if s in rp.index]
    ranking = pd.DataFrame({
        "system": systems,
        "rank_human": rh.loc[systems, "rank"].to_numpy(),
        "rank_predicted": rp.loc[systems, "rank"].to_numpy(),
        "mean_distance_human": rh.loc[systems, "mean_distance"].to_numpy(),
        "mean_distance_predicted": rp.loc[systems, "mean_distance"].to_numpy(),
    })
    ranking["diff_mean_distance"] = (ranking["mean_distance_predicted"]
                                     - ranking["mean_distance_human"])
    for axis in ("valence", "arousal"):
        ranking[f"diff_mean_dev_{axis}"] = (rp.loc[systems, f"mean_dev_{axis}"].to_numpy()
                                            - rh.loc[systems, f"mean_dev_{axis}"].to_numpy())
    ranking["n_clips"] = rh.loc[systems, "n"].to_numpy()
    rows = []
    if len(systems) >= 2:
        kt = stats.kendalltau(ranking["rank_human"], ranking["rank_predicted"], variant="b")
        sp = stats.spearmanr(ranking["rank_human"], ranking["rank_predicted"])
        rows = [("kendall_tau_b", kt.statistic, kt.pvalue), ("spearman_rho", sp.statistic,
                                                               sp.pvalue)]
    ranking_agreement = pd.DataFrame(rows, columns=["statistic", "value", "p_value"])
    ranking_agreement["n_systems"] = len(systems)
    return {"agreement": agreement, "ranking": ranking, "ranking_agreement": ranking_agreement}


def _html_table(df: pd.DataFrame) -> str:
    from emoconvey.report.build import render_table

    return str(render_table(df))


_FLAG_COLUMNS = ("ood", "extrapolated", "clamped")


def _flags(predictions: pd.DataFrame) -> dict[str, object]:
    """Counts of flagged clips (None where ``predictions.csv`` had no such column)."""
    out: dict[str, object] = {"n_clips": len(predictions)}
    for col in _FLAG_COLUMNS:
        if col in predictions and predictions[col].notna().any():
            out[col] = int(predictions[col].fillna(False).astype(bool).sum())
        else:
            out[col] = None
    out["ood_share"] = None if out["ood"] is None else out["ood"] / max(1, len(predictions))
    return out


def _model_section(model: dict[str, object] | None, flags: dict[str, object]) -> str:
    """The model card: which model made the numbers and how accurate it was held out."""
    esc = html.escape
    if model is not None and model.get("zero_shot"):
        body = (f'<p class="warn"><b>ZERO-SHOT predictions</b>: {esc(str(model["description"]))}. '
                "Each clip's valence and arousal are the similarity-weighted norms of the "
                "emotion words CLAP finds closest to it; nothing was fitted to ratings, so "
                "their accuracy is unknown. Compare with human ratings before relying on "
                "them.</p>")
    elif model is None or "error" in model:
        why = "" if model is None else f" ({esc(str(model['error']))})"
        body = (f'<p class="warn">The model that made these predictions is unknown{why}: '
                "nothing on this page says how accurate it is. Run <code>emoconvey predict "
                "run</code> again to record it.</p>")
    else:
        tr = dict(model["training"])  # type: ignore[call-overload]
        ood = model.get("ood") or {}
        rows = [
            ("model folder", model["folder"]),
            ("extractor", f"{model['extractor']} (version {model['extractor_version']})"),
            ("head", model["head"]),
            ("training data", f"{tr.get('source')}: {tr.get('n_clips')} clips, "
                              f"{tr.get('n_systems')} systems"),
            ("held-out split", f"{tr.get('split')} ({tr.get('folds')} fold(s)); saved model "
                               f"trained on {tr.get('trained_on')}"),
            ("OOD check", "none (model saved without calibration)" if not ood else
             f"k-NN distance, cross-fitted {ood.get('calibration')} calibration, "
             f"nominal rate {ood.get('alpha')}"),
        ]
        card = pd.DataFrame(rows, columns=["field", "value"])
        metrics = pd.DataFrame(list(model["metrics"]))  # type: ignore[call-overload]
        body = _html_table(card)
        if len(metrics):
            for m in ("LCC", "SRCC"):
                metrics[m] = [_with_ci(r, m) for _, r in metrics.iterrows()]
            body += ('<p class="desc">Held-out agreement of the model with the ratings it was '
                     "trained to predict (from the model's <code>metrics.json</code>; 95 % "
                     "bootstrap intervals).</p>"
                     + _html_table(metrics[["target", "level", "split", "n", "LCC", "SRCC",
                                            "MSE", "KTAU"]]))
        for w in model.get("warnings", []):  # type: ignore[attr-defined]
            body += f'<p class="warn">{esc(str(w))}.</p>'
    share = ("not checked" if flags["ood"] is None else
             f"{flags['ood']} of {flags['n_clips']} clips "
             f"({100 * float(flags['ood_share']):.1f} %)")  # type: ignore[arg-type]
    body += f'<p class="desc">Clips flagged out of distribution: {esc(share)}.</p>'
    return f'<section id="model-card"><h2>Model card</h2>{body}</section>'


def _with_ci(row: pd.Series, metric: str) -> str:
    v, lo, hi = row.get(metric), row.get(f"{metric}_ci_low"), row.get(f"{metric}_ci_high")
    if v is None or not np.isfinite(v):
        return "n/a"
    if lo is None or hi is None or not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{v:.3f}"
    return f"{v:.3f} [{lo:.3f}, {hi:.3f}]"


def _banner(flags: dict[str, object], source: str, *, zero_shot: bool = False) -> str:
    text = (
        '<div class="warn" id="predicted-banner"><b>PREDICTED RATINGS — no listening '
        "test.</b> Every number on this page comes from an automatic predictor's valence "
        "and arousal (one predicted rating per clip), not from people; see the model card "
        f"for the model and its held-out accuracy. Source: {html.escape(source)}."
        + (" <b>ZERO-SHOT</b>: no rated data was used, so the accuracy is unknown."
           if zero_shot else "") + "</div>"
    )
    parts = []
    n = flags["n_clips"]
    if flags["ood"]:
        parts.append(f"{flags['ood']} of {n} clips are unlike the model's training data "
                     "(out of distribution)")
    if flags["extrapolated"]:
        parts.append(f"{flags['extrapolated']} of {n} clips were predicted outside the range "
                     "of the training ratings")
    if flags["clamped"]:
        parts.append(f"{flags['clamped']} of {n} clips had predictions outside the rating "
                     "scale, clamped to it")
    if flags["ood"] is None:
        parts.append("the predictions carry no out-of-distribution check")
    if parts:
        text += ('<div class="warn" id="flagged-banner"><b>Treat with caution:</b> '
                 + "; ".join(parts) + ". See <code>flag_reason</code> in the predictions "
                 "file.</div>")
    return text


def _comparison_section(comparison: dict[str, pd.DataFrame]) -> str:
    cols = ["target", "level", "n", "MSE", "LCC", "SRCC", "KTAU"]
    return (
        '<section id="predicted-vs-human"><h2>Predicted vs human ratings</h2>'
        "<p class=\"desc\">Clips that have both a prediction and human ratings: agreement "
        "of the predicted with the human clip means (MusicEval metrics, clip and system "
        'level). <span class="file"><a href="comparison/agreement.csv">'
        "comparison/agreement.csv</a></span></p>"
        + _html_table(comparison["agreement"][cols])
        + "<p class=\"desc\">System ranking (by mean distance to the intent norms) from "
        "the human and from the predicted ratings, and the predicted-minus-human "
        'deviations. <span class="file"><a href="comparison/ranking.csv">'
        "comparison/ranking.csv</a></span></p>"
        + _html_table(comparison["ranking"])
        + _html_table(comparison["ranking_agreement"])
        + "</section>"
    )


def build_predicted_report(
    predictions: pd.DataFrame,
    *,
    out: str | Path,
    human: Dataset | None = None,
    intents: str | Path | pd.DataFrame | None = None,
    model: str | Path | None = None,
    source: str = "predicted",
    figures: bool = True,
    confidence: float = 0.95,
    progress: bool = False,
    n_boot: int = 1000,
) -> Path:
    """Write the report of predicted ratings to ``out``, marked as predicted (see module doc).

    ``model`` is the model folder (default: the ``model`` column of ``predictions``); its
    card and held-out metrics open the page and fill ``results.json["model"]``. Returns
    the folder.
    """
    from emoconvey.predict.metrics import records_to_json
    from emoconvey.report import build_report
    from emoconvey.report.build import ReportSection

    model_doc = _describe(predictions, model)
    flags = _flags(predictions)
    ds = predicted_dataset(predictions, intents=intents, source=f"PREDICTED: {source}")
    comparison = compare_with_human(ds, human, n_boot=n_boot) if human is not None else None
    sections = [ReportSection("model-card", "Model card", _model_section(model_doc, flags),
                              where="top")]
    prediction: dict[str, object] = {"listener": PREDICTED_LISTENER, "source": source,
                                     "flags": flags, "comparison": None}
    if comparison is not None:
        sections.append(ReportSection("predicted-vs-human", "Predicted vs human",
                                      _comparison_section(comparison)))
        prediction["comparison"] = {
            name: json.loads(records_to_json(comparison[name]))
            for name in ("agreement", "ranking", "ranking_agreement")
        }
    model_json = None if model_doc is None else {
        **model_doc, "ood_share": flags["ood_share"], "n_ood": flags["ood"]}
    paths = build_report(
        ds, out=out, figures=figures, confidence=confidence, progress=progress,
        title="Emotion conveyance report — PREDICTED ratings (no listening test)",
        sections=sections, predicted=True,
        banner=_banner(flags, source, zero_shot=bool(model_doc and model_doc.get("zero_shot"))),
        extra_results={"predicted": True, "model": model_json, "prediction": prediction},
    )
    folder = paths.folder
    if comparison is not None:
        cdir = folder / "comparison"
        cdir.mkdir(exist_ok=True)
        for name, df in comparison.items():
            df.to_csv(cdir / f"{name}.csv", index=False)
    where = "unknown model" if model_doc is None else f"model {model_doc.get('folder')}"
    note = ("These tables and figures were computed from PREDICTED valence and arousal (one "
            f"automatic prediction per clip, {where}), not from listeners. Source: {source}.\n")
    (folder / "tables" / "PREDICTED.txt").write_text(note)
    if (folder / "figures").is_dir():
        (folder / "figures" / "PREDICTED.txt").write_text(note)
    return folder


def _describe(predictions: pd.DataFrame, model: str | Path | None) -> dict[str, object] | None:
    """The model card of ``model`` or of the predictions' ``model`` column (None if unknown;
    a dict with ``error`` when the folder cannot be read)."""
    from emoconvey.predict.model import describe_model

    if model is None and "model" in predictions:
        named = predictions["model"].dropna().astype(str).str.strip()
        named = named[named.ne("")].unique()
        if len(named) > 1:
            raise EmoconveyError(
                f"the predictions come from {len(named)} models ({', '.join(named[:3])}); "
                "report the predictions of one model at a time"
            )
        model = named[0] if len(named) else None
    if model is None:
        log.warning("the predictions do not name their model: the report cannot say how "
                    "accurate it is")
        return None
    if str(model).startswith("zero-shot"):
        return {"zero_shot": True, "description": str(model), "metrics": [],
                "warnings": ["zero-shot predictions: nothing was fitted to ratings, so their "
                             "accuracy is unknown"]}
    try:
        return describe_model(model)
    except EmoconveyError as exc:
        log.warning("%s", exc)
        return {"folder": str(model), "error": str(exc)}
