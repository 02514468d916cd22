"""Write the report folder: ``index.html``, ``tables/*.csv``, ``figures/*``, ``results.json``."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as _dt
import html
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from emoconvey import __version__
from emoconvey._validation import check_confidence
from emoconvey.analysis.bootstrap import DEFAULT_N_BOOT
from emoconvey.analysis.pipeline import (
    DEFAULT_POSTHOC,
    POSTHOC_MODELS,
    TABLES,
    AnalysisResults,
    analyse,
)
from emoconvey.data.dataset import Dataset
from emoconvey.errors import EmoconveyError
from emoconvey.report.figures import figure_specs
from emoconvey.report.figures import system_order as ranking_order
from emoconvey.report.formatting import fmt_num, fmt_p
from emoconvey.report.narrative import summarise
from emoconvey.report.results_json import results_document

__all__ = [
    "ReportPaths",
    "ReportSection",
    "build_report",
    "posthoc_note",
    "render_table",
    "reorder_systems",
]

log = logging.getLogger(__name__)

_P_COLUMNS = {"p", "p_adj", "p_slope_lt_1"}
_LISTENER_TABLES = {"agreement", "agreement_by_system", "anova_zscore", "ranking_zscore",
                    "mixed_model", "mixed_model_variance", "ratings_per_clip",
                    "excluded_clips"}
"""Tables that need listeners (left out of a report on predicted ratings)."""
PREDICTED_SUFFIX = "_predicted"
"""Suffix of every table and figure file of a report on predicted ratings."""
_MAX_HTML_ROWS = 300


@dataclass(frozen=True)
class ReportPaths:
    """Where :func:`build_report` wrote things."""

    folder: Path
    index: Path
    results: Path
    tables: dict[str, Path]
    figures: dict[str, list[Path]]


@dataclass(frozen=True)
class ReportSection:
    """A section a caller adds to the report page, listed in the navigation.

    Attributes
    ----------
    id : str
        The anchor the navigation links to.
    title : str
        The navigation label.
    html : str
        The whole section (trusted HTML, escaped by the caller), whose outer element
        carries ``id="<id>"`` and which starts with its own ``<h2>`` heading.
    where : {"top", "end"}
        ``"top"``: before the summary (in the order given); ``"end"``: after the
        standard sections, before *Methods and credits*.
    """

    id: str
    title: str
    html: str
    where: str = "end"

    def __post_init__(self) -> None:
        if f'id="{self.id}"' not in self.html:
            raise EmoconveyError(f"ReportSection {self.id!r}: the HTML has no element with "
                                 f'id="{self.id}" for the navigation to link to')
        if self.where not in ("top", "end"):
            raise EmoconveyError(f"ReportSection.where: expected 'top' or 'end', got "
                                 f"{self.where!r}")


_COUNT_COLUMNS = {"n", "clips", "ratings", "listeners", "systems", "intents", "excluded_clips",
                  "rank", "rank_low", "rank_high"}


def _is_count(col: str) -> bool:
    return col in _COUNT_COLUMNS or col.startswith("n_")


def _cell(col: str, value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return '<span class="na">n/a</span>'
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if col in _P_COLUMNS and isinstance(value, float | np.floating):
        return html.escape(fmt_p(float(value)).removeprefix("p ").removeprefix("= "))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        v = float(value)
        if _is_count(col) and v.is_integer():
            return str(int(v))
        if v != 0 and abs(v) < 0.001:
            return f"{v:.2e}"
        return fmt_num(v, 3)
    return html.escape(str(value))


def render_table(
    df: pd.DataFrame,
    *,
    max_rows: int = _MAX_HTML_ROWS,
    highlight: Sequence[str] = (),
) -> Markup:
    """An HTML table of ``df`` with numbers formatted for reading.

    Floats get 3 decimals, p values APA style, missing values ``n/a``; rows whose
    ``system`` is in ``highlight`` get the ``highlight`` class. At most ``max_rows`` rows
    are shown (the CSV has all of them).
    """
    shown = df.head(max_rows)
    head = "".join(f"<th scope=\"col\">{html.escape(str(c))}</th>" for c in shown.columns)
    body = []
    hl = set(highlight)
    for row in shown.itertuples(index=False, name=None):
        rec = dict(zip(shown.columns, row, strict=True))
        cls = ' class="highlight"' if hl and rec.get("system") in hl else ""
        cells = "".join(
            f'<td class="{"num" if isinstance(v, int | float | np.number) else "txt"}">'
            f"{_cell(str(c), v)}</td>"
            for c, v in rec.items()
        )
        body.append(f"<tr{cls}>{cells}</tr>")
    note = ""
    if len(df) > max_rows:
        note = (
            f'<p class="note">Showing {max_rows} of {len(df)} rows; the CSV file has '
            "all of them.</p>"
        )
    return Markup(
        f'<div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>{note}"
    )


@contextlib.contextmanager
def _progress(enabled: bool, total: int) -> Iterator[Any]:
    if not enabled:
        yield lambda description: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        transient=True,
    ) as bar:
        task = bar.add_task("analysis", total=total)

        def step(description: str) -> None:
            bar.update(task, description=description, advance=1)

        yield step


def build_report(
    dataset: Dataset,
    *,
    out: str | Path = "emoconvey-report",
    figures: bool = True,
    formats: Sequence[str] = ("png", "svg"),
    confidence: float = 0.95,
    reference_systems: Sequence[str] = (),
    title: str = "Emotion conveyance report",
    progress: bool = False,
    posthoc: str = DEFAULT_POSTHOC,
    seed: int = 0,
    n_boot: int = DEFAULT_N_BOOT,
    system_order: Sequence[str] | None = None,
    smallest_pairs: int | None = None,
    sections: Sequence[ReportSection] = (),
    banner: str = "",
    extra_results: Mapping[str, Any] | None = None,
    extra_figures: Sequence[str] = (),
    predicted: bool = False,
) -> ReportPaths:
    """Analyse ``dataset`` and write the complete report folder.

    Parameters
    ----------
    dataset : Dataset
    out : path, default ``"emoconvey-report"``
        Folder to write (created; files of the same names are replaced).
    figures : bool, default True
        Draw the figures (PNG and SVG) and embed them in ``index.html``.
    formats : sequence of str, default ("png", "svg")
        Figure file formats; PNG is always written when figures are on, since the
        HTML embeds it.
    confidence : float, default 0.95
    reference_systems : sequence of str
        Systems that come from the AImoclips reference (``--with-reference``); the other
        systems are highlighted in the tables.
    title : str
    progress : bool, default False
        Show a rich progress bar on the terminal.
    posthoc : {"adjusted", "oneway"}, default "adjusted"
        Model of the Tukey comparisons (see
        :data:`~emoconvey.analysis.pipeline.POSTHOC_MODELS`); the default is the one the
        study planner plans for (:data:`~emoconvey.analysis.posthoc.DEFAULT_POSTHOC`);
        ``"oneway"`` reproduces the AImoclips paper, and the report then says that the
        planner's power does not apply to it.
    seed : int, default 0
        Seed of the ranking bootstrap.
    n_boot : int, default 2000
        Bootstrap replicates of the ranking.
    system_order : sequence of str, optional
        Order of the systems in every table and figure: these first, then the others by
        ranking. Default: the ranking (best first).
    smallest_pairs : int, optional
        System CI figures bracket only this many significant Tukey pairs, those with
        the smallest differences (the paper's convention).
    sections : sequence of ReportSection
        Sections the caller adds to the page and its navigation (e.g. the MOS section,
        a model card).
    banner : str
        Trusted HTML shown at the top of the page, before everything else.
    extra_results : mapping, optional
        Keys added to ``results.json`` (they may not replace a standard key).
    extra_figures : sequence of str
        Further figure files (relative to ``out``) the caller wrote, listed in
        ``results.json["figures"]``.
    predicted : bool, default False
        The ratings are automatic predictions, one per clip: statistics that need
        listeners (agreement, listener z-scores, the listener mixed model, rating counts
        and exclusions) are left out of the page, the summary and the table and figure
        files, and every table and figure file is named ``<name>_predicted`` and
        captioned as predicted.

    Returns
    -------
    ReportPaths
    """
    confidence = check_confidence(confidence)
    folder = _check_output(dataset, reference_systems, out)
    formats = tuple(dict.fromkeys(["png", *formats])) if figures else ()
    suffix = PREDICTED_SUFFIX if predicted else ""

    n_fig_steps = 10 if figures else 0
    with _progress(progress, len(TABLES) + n_fig_steps + 2) as step:
        results = analyse(dataset, confidence=confidence, on_step=step, posthoc=posthoc,
                          seed=seed, n_boot=n_boot)
        results = reorder_systems(results, system_order)
        order = _system_order(results, system_order)

        table_paths = _write_tables(results, folder, suffix=suffix, predicted=predicted)

        figure_paths: dict[str, list[Path]] = {}
        embedded: list[dict[str, Any]] = []
        if figures:
            own = [x for x in dataset.systems if x not in reference_systems]
            figure_paths, embedded = _write_figures(
                results, folder, own_systems=own if reference_systems else [], order=order,
                formats=formats, smallest_pairs=smallest_pairs, suffix=suffix, step=step,
            )

        step("results.json")
        summary = summarise(results, predicted=predicted)
        results_path = _write_results(
            results, folder, summary=summary,
            figures=[p.relative_to(folder).as_posix()
                     for ps in figure_paths.values() for p in ps] + list(extra_figures),
            reference_systems=list(reference_systems), extra=extra_results or {},
        )

        step("index.html")
        index = folder / "index.html"
        index.write_text(_render_html(
            results, summary=summary, figures=embedded, reference_systems=list(reference_systems),
            title=title, sections=list(sections), banner=banner, predicted=predicted,
        ), encoding="utf-8")
    log.info("report written to %s", folder)
    return ReportPaths(folder=folder, index=index, results=results_path, tables=table_paths,
                       figures=figure_paths)


def _check_output(dataset: Dataset, reference_systems: Sequence[str], out: str | Path) -> Path:
    """The output folder (with ``tables/``), after checking the reference systems."""
    unknown = sorted(set(reference_systems) - set(dataset.systems))
    if unknown:
        raise EmoconveyError(f"reference_systems: not in the dataset: {unknown!r}")
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise EmoconveyError(f"out: {str(folder)!r} exists and is not a folder")
    (folder / "tables").mkdir(parents=True, exist_ok=True)
    return folder


def _write_tables(results: AnalysisResults, folder: Path, *, suffix: str,
                  predicted: bool) -> dict[str, Path]:
    """Every table as ``tables/<name><suffix>.csv`` (listener tables left out if predicted)."""
    paths: dict[str, Path] = {}
    for name, df in results.tables.items():
        if predicted and name in _LISTENER_TABLES:
            continue
        path = folder / "tables" / f"{name}{suffix}.csv"
        df.to_csv(path, index=False)
        paths[name] = path
    return paths


def _write_results(results: AnalysisResults, folder: Path, *, summary: list[str],
                   figures: list[str], reference_systems: list[str],
                   extra: Mapping[str, Any]) -> Path:
    """Write ``results.json`` with the callers' extra keys (never replacing a standard one)."""
    doc = results_document(results, summary=summary, figures=figures,
                           reference_systems=reference_systems)
    for key, value in extra.items():
        if key in doc:
            raise EmoconveyError(f"extra_results: {key!r} is a standard results.json key")
        doc[key] = value
    path = folder / "results.json"
    path.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")
    return path


def _write_figures(
    results: AnalysisResults, folder: Path, *, own_systems: list[str], order: list[str],
    formats: Sequence[str], smallest_pairs: int | None, suffix: str,
    step: Callable[[str], None],
) -> tuple[dict[str, list[Path]], list[dict[str, Any]]]:
    """Draw and save every figure; the paths and the embedded PNGs."""
    from emoconvey.plots.io import save_figure

    (folder / "figures").mkdir(exist_ok=True)
    figure_paths: dict[str, list[Path]] = {}
    embedded: list[dict[str, Any]] = []
    for spec in figure_specs(results, highlight=own_systems, order=order,
                             smallest_pairs=smallest_pairs):
        step(f"figure {spec.name}")
        if suffix and spec.name in _LISTENER_TABLES:
            continue
        fig = spec.draw()
        paths = save_figure(fig, folder / "figures", f"{spec.name}{suffix}", formats=formats)
        figure_paths[spec.name] = [Path(p) for p in paths]
        png = next(p for p in figure_paths[spec.name] if p.suffix == ".png")
        caption = f"PREDICTED ratings. {spec.caption}" if suffix else spec.caption
        embedded.append(
            {
                "name": spec.name,
                "caption": caption,
                "data": base64.b64encode(png.read_bytes()).decode("ascii"),
                "files": [p.relative_to(folder).as_posix() for p in figure_paths[spec.name]],
            }
        )
    return figure_paths, embedded


def _render_html(
    results: AnalysisResults,
    *,
    summary: list[str],
    figures: list[dict[str, Any]],
    reference_systems: list[str],
    title: str,
    sections: list[ReportSection],
    banner: str,
    predicted: bool,
) -> str:
    env = Environment(
        loader=PackageLoader("emoconvey.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    ds = results.dataset
    own = [s for s in ds.systems if s not in reference_systems] if reference_systems else []
    t = results.tables

    def table(name: str, **kw: Any) -> Markup:
        df = t[name]
        if name == "summary":  # one wide row reads better as a column (types kept per cell)
            values = [df[c].iloc[0] for c in df.columns]
            values = [int(v) if _is_count(str(c)) and pd.notna(v) and float(v).is_integer()
                      else v for c, v in zip(df.columns, values, strict=True)]
            df = pd.DataFrame({"statistic": [str(c) for c in df.columns],
                               "value": pd.Series(values, dtype=object)})
        return render_table(df, highlight=own, **kw)

    template = env.get_template("report.html.j2")
    return template.render(
        title=title,
        version=__version__,
        generated=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        ds=ds,
        s=t["summary"].iloc[0],
        summary=summary,
        figures={f["name"]: f for f in figures},
        table=table,
        descriptions=TABLES,
        reference_systems=reference_systems,
        own_systems=own,
        warnings=[w for w in results.warnings
                  if not (predicted and w.split(":", 1)[0] in _LISTENER_TABLES)],
        confidence=round(100 * results.confidence),
        mixed_skipped=_mixed_skipped(results),
        posthoc_text=POSTHOC_MODELS.get(results.posthoc, results.posthoc),
        top_sections=[_markup_section(x) for x in sections if x.where == "top"],
        end_sections=[_markup_section(x) for x in sections if x.where == "end"],
        banner=Markup(banner),
        predicted=predicted,
        suffix=PREDICTED_SUFFIX if predicted else "",
        posthoc_note=posthoc_note(results.posthoc),
    )


def _markup_section(section: ReportSection) -> dict[str, Any]:
    return {"id": section.id, "title": section.title, "html": Markup(section.html)}


def posthoc_note(posthoc: str) -> str:
    """What the report says about its Tukey model relative to the planner's default."""
    if posthoc == DEFAULT_POSTHOC:
        return (f"This is the '{DEFAULT_POSTHOC}' analysis, the one 'emoconvey plan' "
                "plans for by default.")
    return (f"This report uses the '{posthoc}' analysis; 'emoconvey plan' plans for "
            f"'{DEFAULT_POSTHOC}' by default, so a study sized with the planner's default "
            f"does not have its planned power here (plan with --posthoc {posthoc}, or "
            f"report with --posthoc {DEFAULT_POSTHOC}).")


def _mixed_skipped(results: AnalysisResults) -> str:
    """Why the mixed-model section is empty (``""`` when it is not)."""
    var = results.tables.get("mixed_model_variance")
    if var is not None and len(var):
        return ""
    why = [w for w in results.warnings if w.startswith("mixed_model")]
    return "The mixed model was not fitted: " + (
        why[0].split(": ", 2)[-1] if why else "not enough data."
    )


_RANKED_TABLES = {"ranking", "ranking_uncertainty", "ranking_zscore"}


def _system_order(results: AnalysisResults, given: Sequence[str] | None) -> list[str]:
    """The given systems first, then the rest in ranking order."""
    ranked = ranking_order(results)
    if given is None:
        return ranked
    if isinstance(given, str):
        raise EmoconveyError(f"system_order: expected a list of system names, got {given!r}")
    given = [str(x) for x in given]
    unknown = [x for x in given if x not in ranked]
    if unknown:
        raise EmoconveyError(
            f"system_order: not in the dataset: {unknown!r} (systems: {ranked!r})"
        )
    if len(set(given)) != len(given):
        raise EmoconveyError(f"system_order: a system is listed twice: {given!r}")
    return given + [x for x in ranked if x not in given]


def _reorder(results: AnalysisResults, order: list[str]) -> AnalysisResults:
    """Rows of per-system tables in ``order`` (stable within a system)."""
    rank = {x: i for i, x in enumerate(order)}
    tables = {}
    for name, df in results.tables.items():
        if name in _RANKED_TABLES or "system" not in df.columns or df.empty:
            tables[name] = df
            continue
        key = df["system"].map(lambda x: rank.get(str(x), len(rank)))
        tables[name] = df.iloc[np.argsort(key.to_numpy(), kind="stable")].reset_index(
            drop=True
        )
    return dataclasses.replace(results, tables=tables)


def reorder_systems(
    results: AnalysisResults, order: Sequence[str] | None = None
) -> AnalysisResults:
    """The results with per-system tables in one system order, as the report shows them.

    Parameters
    ----------
    results : AnalysisResults
    order : sequence of str, optional
        These systems first, then the others in ranking order; default the ranking.

    Returns
    -------
    AnalysisResults
        A copy; rows of every table with a ``system`` column are in that order (stable
        within a system), except the ranking tables, which stay ranked.
    """
    return _reorder(results, _system_order(results, order))
