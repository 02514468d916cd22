"""The MOS (quality) part of the report: ``emoconvey report --mos DIR``.

``DIR`` is either

* a MusicEval-layout folder (:mod:`emoconvey.data.musiceval`: the release, or
  ``emoconvey survey export --format musiceval``): a MOS-only report; with the individual
  ratings (the full release's ``person_mos/<split>_person_mos.txt``, or emoconvey's
  ``individual_ratings.csv``) it has score distributions, rater agreement and rater
  effects,
  with clip means only (the public release) the tables that clip means allow; or
* an AImoclips-format export of a study that also had MOS scales
  (``ratings_metadata.csv`` + ``extra_ratings.csv``, ``overall_impression`` read as
  ``MI`` and ``text_alignment`` as ``TA``): the usual emotion-conveyance report with a
  MOS section added, including the correlation between quality (MI) and emotion
  conveyance (distance to the intent) per system.

Folder written (as :func:`emoconvey.report.build_report`): ``index.html``,
``tables/mos_*.csv``, ``figures/mos_*.{png,svg}`` and ``results.json``, whose ``mos``
object holds:

``scales`` : list of str
``source`` : str
``has_individual_ratings`` : bool
``rows`` : list of objects
    One per system and scale: ``system``, ``scale``, ``n_clips``, ``n_ratings``
    (null when only clip means are known), ``mean`` (MOS: mean of clip means), ``sd``,
    ``se``, ``ci_low``, ``ci_high`` (Student t over clip means), ``rank`` (1 = best).
``by_source``, ``correlation``, ``system_correlation``, ``agreement``, ``pairwise``,
``distribution``, ``emotion`` : lists of row objects
    The tables of the same names (absent tables are empty lists); columns as documented
    in :mod:`emoconvey.analysis.mos`.
``summary`` : list of str
``warnings`` : list of str
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from emoconvey import __version__
from emoconvey._validation import check_confidence
from emoconvey.analysis import mos as M
from emoconvey.data.dataset import Dataset
from emoconvey.data.musiceval import MusicEvalDataset, load_musiceval
from emoconvey.errors import EmoconveyError, EmoconveyWarning
from emoconvey.report.build import ReportPaths, ReportSection, build_report, render_table
from emoconvey.report.formatting import fmt_num, fmt_p, json_records

__all__ = [
    "MOS_TABLES",
    "SCALE_ALIASES",
    "MosResults",
    "analyse_mos",
    "build_mos_report",
    "load_mos_folder",
]

log = logging.getLogger(__name__)

SCALE_ALIASES: dict[str, str] = {"overall_impression": "MI", "text_alignment": "TA"}
"""Survey scale names read as MusicEval's scales."""

MOS_TABLES: dict[str, str] = {
    "mos_system": "MOS of every system on every scale: mean of clip means, Student-t "
    "interval over clips, rank (1 = best).",
    "mos_by_source": "The same, broken down by where the prompt came from.",
    "mos_distribution": "How often each score was given, per scale.",
    "mos_system_distribution": "How often each score was given, per system and scale.",
    "mos_correlation": "Correlation between the two scales over clips and over systems "
    "(Pearson with Fisher-z interval, Spearman).",
    "mos_system_correlation": "Correlation between the two scales over the clips of each system.",
    "mos_agreement": "Rater agreement per scale: Krippendorff's alpha (interval, ordinal) "
    "and one-way ICC(1), ICC(1,k).",
    "mos_rater_effects": "Each rater's mean deviation from the other raters of the same "
    "clips (positive: lenient), with a 95 % t interval.",
    "mos_pairwise": "Every pair of systems: Welch t test on clip means, Holm-adjusted p.",
    "mos_emotion": "Quality (MI) against emotion conveyance (distance to the intent in the "
    "valence-arousal plane) per system and across systems.",
    "mos_clips": "Every clip: its mean score on each scale.",
}
"""Tables of the MOS report, in display order, with their descriptions."""


@dataclass(frozen=True)
class MosResults:
    """Everything :func:`analyse_mos` computed.

    Attributes
    ----------
    tables : dict of str to DataFrame
        Keyed by :data:`MOS_TABLES` names (tables that the data do not allow are absent).
    scales : list of str
    systems : list of str
    source : str
    has_ratings : bool
        Whether individual ratings were available.
    confidence : float
    n_clips, n_ratings, n_raters : int
        ``n_ratings``/``n_raters`` are 0 without individual ratings.
    warnings : list of str
    """

    tables: dict[str, pd.DataFrame]
    scales: list[str]
    systems: list[str]
    source: str
    has_ratings: bool
    confidence: float
    n_clips: int
    n_ratings: int = 0
    n_raters: int = 0
    warnings: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- loading


def _extra_mos_ratings(folder: Path, dataset: Dataset) -> pd.DataFrame:
    path = folder / "extra_ratings.csv"
    raw = pd.read_csv(path, dtype={"user": str, "audio_file": str})
    if not {"user", "audio_file"} <= set(raw.columns):
        raise EmoconveyError(f"{path}: expected columns 'user', 'audio_file' and the scales")
    scales = [c for c in raw.columns if c not in ("user", "audio_file")]
    if not scales:
        raise EmoconveyError(f"{path}: no scale columns besides 'user' and 'audio_file'")
    long = raw.melt(
        id_vars=["user", "audio_file"], value_vars=scales, var_name="scale", value_name="score"
    ).dropna(subset=["score"])
    long["scale"] = long["scale"].map(lambda s: SCALE_ALIASES.get(s, s))
    systems = dataset.clips.set_index("clip")["system"]
    long = long[long["audio_file"].isin(systems.index)]
    return pd.DataFrame(
        {
            "rater": long["user"].to_numpy(),
            "clip_id": long["audio_file"].to_numpy(),
            "system": long["audio_file"].map(systems).to_numpy(),
            "scale": long["scale"].to_numpy(),
            "score": long["score"].to_numpy(float),
        }
    )


def load_mos_folder(
    folder: str | Path, *, min_ratings: int = 4
) -> tuple[MusicEvalDataset | None, pd.DataFrame | None, Dataset | None]:
    """Read the folder ``emoconvey report --mos`` is given.

    Returns
    -------
    (MusicEvalDataset or None, DataFrame or None, Dataset or None)
        The MusicEval data set (MusicEval layout), the long MOS ratings (when individual
        ratings exist) and the AImoclips-format emotion data set (study export with MOS
        scales).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise EmoconveyError(f"--mos: {str(folder)!r} is not a folder")
    if (folder / "sets").is_dir():
        ds = load_musiceval(folder)
        ratings = M.mos_ratings(ds) if ds.ratings is not None else None
        return ds, ratings, None
    if (folder / "ratings_metadata.csv").is_file() and (folder / "extra_ratings.csv").is_file():
        from emoconvey.data import load_dataset

        def opt(name: str) -> Path | None:
            return folder / name if (folder / name).is_file() else None

        emo = load_dataset(
            folder / "ratings_metadata.csv",
            opt("clips_metadata.csv"),
            opt("emotion_intents_metadata.csv"),
            min_ratings=min_ratings,
        )
        return None, _extra_mos_ratings(folder, emo), emo
    raise EmoconveyError(
        f"--mos: {str(folder)!r} is neither a MusicEval-layout folder (sets/*_mos_list.txt) "
        "nor a study export with MOS scales (ratings_metadata.csv + extra_ratings.csv)"
    )


# ----------------------------------------------------------------------------- analysis


def _emotion_clip_table(emo: Dataset, clip_means: pd.DataFrame) -> pd.DataFrame:
    from emoconvey.analysis.deviation import clip_deviations

    dev = clip_deviations(emo.clips)
    dev = dev.assign(distance=np.hypot(dev["dev_valence"], dev["dev_arousal"]))
    mi = clip_means[clip_means["scale"] == "MI"].set_index("clip_id")["mean"]
    out = dev.loc[:, ["clip", "system", "distance"]].copy()
    out["MI"] = out["clip"].map(mi)
    return out


def analyse_mos(
    data: MusicEvalDataset | pd.DataFrame,
    *,
    confidence: float = 0.95,
    emotion: Dataset | None = None,
    source: str = "",
) -> MosResults:
    """Compute every MOS table of the report.

    Parameters
    ----------
    data : MusicEvalDataset or DataFrame
        A MusicEval data set (its individual ratings are used when present, otherwise its
        clip means), or the long rating table of :mod:`emoconvey.analysis.mos`.
    confidence : float, default 0.95
    emotion : Dataset, optional
        The valence/arousal data of the same clips (clip ids = ``Dataset.clips.clip``):
        adds the ``mos_emotion`` table.
    source : str
        Description of where the data came from.

    Returns
    -------
    MosResults
    """
    confidence = check_confidence(confidence)
    ratings: pd.DataFrame | None
    if isinstance(data, MusicEvalDataset):
        ratings = M.mos_ratings(data) if data.ratings is not None else None
        clip_info = data.clip_prompts()
        if ratings is None:
            wide = data.clips.merge(clip_info[["clip_id", "source"]], on="clip_id", how="left")
            clips = wide.melt(
                id_vars=["clip_id", "system", "prompt_id", "source"],
                value_vars=["MI", "TA"],
                var_name="scale",
                value_name="mean",
            )
            clips["n_ratings"] = np.nan
        source = source or str(data.root or "")
    elif isinstance(data, pd.DataFrame):
        ratings = data
    else:
        raise EmoconveyError(
            f"data: expected a MusicEvalDataset or a DataFrame, got {type(data).__name__}"
        )
    caught: list[str] = []
    tables: dict[str, pd.DataFrame] = {}
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always", EmoconveyWarning)
        if ratings is not None:
            clips = M.clip_mos(ratings)
            scales = list(pd.unique(clips["scale"]))
            tables["mos_system"] = M.system_mos(ratings, confidence=confidence)
            has_source = "source" in ratings.columns and ratings["source"].notna().any()
            if has_source:
                tables["mos_by_source"] = M.system_mos(
                    ratings[ratings["source"].notna()], by="source", confidence=confidence
                )
            points = sorted({int(v) for v in ratings["score"] if float(v).is_integer()})
            lo, hi = (min(points[0], 1), max(points[-1], 5)) if points else (1, 5)
            try:
                tables["mos_distribution"] = M.score_distribution(ratings, points=range(lo, hi + 1))
                tables["mos_system_distribution"] = M.score_distribution(
                    ratings, by_system=True, points=range(lo, hi + 1)
                )
            except EmoconveyError as exc:  # non-integer scores: no histogram of points
                caught.append(f"score distribution skipped: {exc}")
        else:
            scales = list(pd.unique(clips["scale"]))
            tables["mos_system"] = M.system_mos(clips=clips, confidence=confidence)
            if clips["source"].notna().any():
                tables["mos_by_source"] = M.system_mos(
                    clips=clips[clips["source"].notna()], by="source", confidence=confidence
                )
        two = "MI" in scales and "TA" in scales
        if two:
            if ratings is not None:
                tables["mos_correlation"] = M.scale_correlation(ratings)
                tables["mos_system_correlation"] = M.system_scale_correlation(ratings)
            else:
                tables["mos_correlation"] = M.scale_correlation(clips=clips)
        if ratings is not None:
            tables["mos_agreement"] = M.mos_agreement(ratings)
            tables["mos_rater_effects"] = M.rater_effects(ratings, confidence=confidence)
            tables["mos_pairwise"] = M.pairwise_mos_tests(ratings)
        else:
            tables["mos_pairwise"] = M.pairwise_mos_tests(clips=clips)
        if emotion is not None and "MI" in scales:
            tables["mos_emotion"] = M.mos_emotion_correlation(
                _emotion_clip_table(emotion, clips), quality="MI", distance="distance"
            )
        tables["mos_clips"] = clips.reset_index(drop=True)
    caught += [str(w.message) for w in record if issubclass(w.category, EmoconveyWarning)]
    ordered = {k: tables[k] for k in MOS_TABLES if k in tables}
    return MosResults(
        tables=ordered,
        scales=scales,
        systems=list(pd.unique(clips["system"])),
        source=source,
        has_ratings=ratings is not None,
        confidence=confidence,
        n_clips=int(clips["clip_id"].nunique()),
        n_ratings=0 if ratings is None else len(ratings),
        n_raters=0 if ratings is None else int(ratings["rater"].nunique()),
        warnings=list(dict.fromkeys(caught)),
    )


# ----------------------------------------------------------------------------- narrative


def summarise_mos(res: MosResults) -> list[str]:
    """The MOS section's sentences (plain text)."""
    out = []
    pct = round(100 * res.confidence)
    sm = res.tables["mos_system"]
    for scale in res.scales:
        part = sm[sm["scale"] == scale].sort_values("mean", ascending=False)
        if part.empty:
            continue
        best, worst = part.iloc[0], part.iloc[-1]
        out.append(
            f"{scale}: {best['system']} has the highest MOS, {fmt_num(best['mean'])} "
            f"({pct} % CI {fmt_num(best['ci_low'])} to {fmt_num(best['ci_high'])}); "
            f"{worst['system']} the lowest, {fmt_num(worst['mean'])}."
        )
    if "mos_pairwise" in res.tables:
        pw = res.tables["mos_pairwise"]
        for scale in res.scales:
            part = pw[pw["scale"] == scale]
            if len(part):
                out.append(
                    f"{scale}: {int(part['reject'].sum())} of {len(part)} system pairs differ "
                    "(Welch t, Holm-adjusted, family-wise 5 %)."
                )
    if "mos_correlation" in res.tables:
        c = res.tables["mos_correlation"].set_index("level")
        out.append(
            f"MI and TA correlate with Pearson r = {fmt_num(c.loc['clip', 'pearson_r'])} over "
            f"{int(c.loc['clip', 'n'])} clips ({fmt_p(c.loc['clip', 'pearson_p'])}) and "
            f"r = {fmt_num(c.loc['system', 'pearson_r'])} over {int(c.loc['system', 'n'])} "
            "systems."
        )
    if "mos_agreement" in res.tables:
        for row in res.tables["mos_agreement"].itertuples():
            out.append(
                f"{row.scale}: rater agreement Krippendorff's alpha {fmt_num(row.alpha_interval)}"
                f" (interval), {fmt_num(row.alpha_ordinal)} (ordinal); ICC(1) "
                f"{fmt_num(row.icc1)}, ICC(1,k) {fmt_num(row.icc1k)} with k = "
                f"{fmt_num(row.k, 1)} ratings per clip."
            )
    if "mos_emotion" in res.tables:
        e = res.tables["mos_emotion"].set_index("system").loc["(all systems)"]
        out.append(
            f"Across {len(res.tables['mos_emotion']) - 1} systems, MI and the distance to "
            f"the intended emotion correlate with r = {fmt_num(e['pearson_r'])} "
            f"({fmt_p(e['pearson_p'])}); negative means better-sounding systems also "
            "convey the intent better."
        )
    return out


# ----------------------------------------------------------------------------- figures


def _figures(res: MosResults) -> list[tuple[str, str, Callable[[], Any]]]:
    from matplotlib.figure import Figure

    from emoconvey.plots.mos import (
        plot_score_histogram,
        plot_system_distributions,
        plot_system_mos,
    )

    t = res.tables
    scales = res.scales
    specs = []

    def grid(width: float, height: float) -> tuple[Any, list[Any]]:
        fig = Figure(figsize=(width * len(scales), height), layout="constrained")
        axes = fig.subplots(1, len(scales), squeeze=False)[0]
        return fig, list(axes)

    def hist() -> Any:
        fig, axes = grid(4.2, 3.4)
        data = t.get("mos_distribution", t["mos_clips"])
        for ax, s in zip(axes, scales, strict=True):
            plot_score_histogram(data, scale=s, ax=ax, title=s)
        return fig

    def boxes() -> Any:
        n = len(res.systems)
        fig, axes = grid(max(4.5, 0.32 * n + 1.8), 3.8)
        for ax, s in zip(axes, scales, strict=True):
            plot_system_distributions(
                t["mos_clips"], scale=s, system_mos=t["mos_system"], ax=ax, title=s
            )
        return fig

    def sysmos() -> Any:
        n = len(res.systems)
        fig, axes = grid(4.2, max(2.6, 0.26 * n + 1.2))
        for ax, s in zip(axes, scales, strict=True):
            plot_system_mos(t["mos_system"], scale=s, ax=ax, title=s)
        return fig

    what = "individual scores" if "mos_distribution" in t else "clip means"
    specs.append(("mos_histogram", f"Distribution of the {what} on each scale.", hist))
    specs.append(
        (
            "mos_system_distributions",
            "Clip means of each system (box: quartiles; diamond: MOS), best system first.",
            boxes,
        )
    )
    specs.append(
        (
            "mos_system",
            f"System MOS with {round(100 * res.confidence)} % confidence intervals.",
            sysmos,
        )
    )
    return specs


# ----------------------------------------------------------------------------- writing


def _env() -> Environment:
    return Environment(
        loader=PackageLoader("emoconvey.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def mos_document(res: MosResults, *, summary: list[str]) -> dict[str, Any]:
    """The ``mos`` object of ``results.json`` (see the module docstring)."""

    def rows(name: str) -> list[dict[str, Any]]:
        return json_records(res.tables[name]) if name in res.tables else []

    return {
        "scales": list(res.scales),
        "source": res.source,
        "has_individual_ratings": res.has_ratings,
        "rows": rows("mos_system"),
        "by_source": rows("mos_by_source"),
        "distribution": rows("mos_distribution"),
        "correlation": rows("mos_correlation"),
        "system_correlation": rows("mos_system_correlation"),
        "agreement": rows("mos_agreement"),
        "pairwise": rows("mos_pairwise"),
        "emotion": rows("mos_emotion"),
        "summary": list(summary),
        "warnings": list(res.warnings),
    }


def _write(
    res: MosResults, folder: Path, *, figures: bool, formats: Sequence[str]
) -> tuple[dict[str, Path], dict[str, list[Path]], list[dict[str, Any]]]:
    (folder / "tables").mkdir(parents=True, exist_ok=True)
    table_paths = {}
    for name, df in res.tables.items():
        path = folder / "tables" / f"{name}.csv"
        df.to_csv(path, index=False)
        table_paths[name] = path
    figure_paths: dict[str, list[Path]] = {}
    embedded = []
    if figures:
        from emoconvey.plots.io import save_figure

        for name, caption, draw in _figures(res):
            paths = [
                Path(p) for p in save_figure(draw(), folder / "figures", name, formats=formats)
            ]
            figure_paths[name] = paths
            png = next(p for p in paths if p.suffix == ".png")
            embedded.append(
                {
                    "name": name,
                    "caption": caption,
                    "data": base64.b64encode(png.read_bytes()).decode("ascii"),
                    "files": [p.relative_to(folder).as_posix() for p in paths],
                }
            )
    return table_paths, figure_paths, embedded


def _section(res: MosResults, summary: list[str], embedded: list[dict[str, Any]]) -> str:
    def table(name: str) -> Markup:
        return render_table(res.tables[name])

    return (
        _env()
        .get_template("mos_section.html.j2")
        .render(
            res=res,
            summary=summary,
            figures={f["name"]: f for f in embedded},
            table=table,
            tables=[n for n in MOS_TABLES if n in res.tables],
            descriptions=MOS_TABLES,
            confidence=round(100 * res.confidence),
        )
    )


def build_mos_report(
    folder_or_data: str | Path | MusicEvalDataset | pd.DataFrame,
    *,
    out: str | Path = "emoconvey-report",
    figures: bool = True,
    formats: Sequence[str] = ("png", "svg"),
    confidence: float = 0.95,
    min_ratings: int = 4,
    title: str | None = None,
    progress: bool = False,
) -> ReportPaths:
    """Write the report folder for MOS data (see the module docstring).

    Parameters
    ----------
    folder_or_data : path, MusicEvalDataset or DataFrame
        A folder as ``--mos`` takes, a MusicEval data set, or a long rating table.
    out : path
    figures : bool, default True
    formats : sequence of str, default ("png", "svg")
    confidence : float, default 0.95
    min_ratings : int, default 4
        For the emotion part of a combined study export.
    title : str, optional
    progress : bool, default False

    Returns
    -------
    ReportPaths
    """
    confidence = check_confidence(confidence)
    emo = None
    if isinstance(folder_or_data, str | Path):
        ds, ratings, emo = load_mos_folder(folder_or_data, min_ratings=min_ratings)
        data: MusicEvalDataset | pd.DataFrame = ds if ds is not None else ratings
        source = str(folder_or_data)
    else:
        data, source = folder_or_data, ""
    res = analyse_mos(data, confidence=confidence, emotion=emo, source=source)
    summary = summarise_mos(res)
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise EmoconveyError(f"out: {str(folder)!r} exists and is not a folder")
    formats = tuple(dict.fromkeys(["png", *formats])) if figures else ()

    if emo is not None:
        table_paths, figure_paths, embedded = _write(res, folder, figures=figures, formats=formats)
        section = ReportSection("mos", "Quality (MOS)", _section(res, summary, embedded))
        paths = build_report(
            emo,
            out=folder,
            figures=figures,
            formats=formats or ("png",),
            confidence=confidence,
            title=title or "Emotion conveyance and quality (MOS) report",
            progress=progress,
            sections=[section],
            extra_results={"mos": mos_document(res, summary=summary)},
            extra_figures=[p.relative_to(folder).as_posix()
                           for ps in figure_paths.values() for p in ps],
        )
        return ReportPaths(
            folder=folder,
            index=paths.index,
            results=paths.results,
            tables={**paths.tables, **table_paths},
            figures={**paths.figures, **figure_paths},
        )

    table_paths, figure_paths, embedded = _write(res, folder, figures=figures, formats=formats)
    doc = {
        "schema_version": 1,
        "emoconvey_version": __version__,
        "source": res.source,
        "confidence": res.confidence,
        "dataset": {
            "clips": res.n_clips,
            "ratings": res.n_ratings,
            "raters": res.n_raters,
            "systems": list(res.systems),
            "n_systems": len(res.systems),
            "scales": list(res.scales),
        },
        "mos": mos_document(res, summary=summary),
        "summary": list(summary),
        "warnings": list(res.warnings),
        "figures": [p.relative_to(folder).as_posix() for ps in figure_paths.values() for p in ps],
    }
    results_path = folder / "results.json"
    results_path.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    index = folder / "index.html"
    index.write_text(
        _env()
        .get_template("mos_report.html.j2")
        .render(
            title=title or "Music quality (MOS) report",
            version=__version__,
            generated=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            res=res,
            section=Markup(_section(res, summary, embedded)),
        ),
        encoding="utf-8",
    )
    log.info("MOS report written to %s", folder)
    return ReportPaths(
        folder=folder, index=index, results=results_path, tables=table_paths, figures=figure_paths
    )
