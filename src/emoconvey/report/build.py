"""Write the report folder: ``index.html``, ``tables/*.csv``, ``figures/*``, ``results.json``."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as _dt
import html
import json
import logging
from collections.abc import Iterator, Sequence
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

__all__ = ["ReportPaths", "build_report", "posthoc_note", "render_table", "reorder_systems"]

log = logging.getLogger(__name__)

_P_COLUMNS = {"p", "p_adj", "p_slope_lt_1"}
_MAX_HTML_ROWS = 300


@dataclass(frozen=True)
class ReportPaths:
    """Where :func:`build_report` wrote things."""

    folder: Path
    index: Path
    results: Path
    tables: dict[str, Path]
    figures: dict[str, list[Path]]


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

    Returns
    -------
    ReportPaths
    """
    confidence = check_confidence(confidence)
    unknown = sorted(set(reference_systems) - set(dataset.systems))
    if unknown:
        raise EmoconveyError(f"reference_systems: not in the dataset: {unknown!r}")
    formats = tuple(dict.fromkeys(["png", *formats])) if figures else ()
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise EmoconveyError(f"out: {str(folder)!r} exists and is not a folder")
    (folder / "tables").mkdir(parents=True, exist_ok=True)

    n_fig_steps = 10 if figures else 0
    with _progress(progress, len(TABLES) + n_fig_steps + 2) as step:
        results = analyse(dataset, confidence=confidence, on_step=step, posthoc=posthoc,
                          seed=seed, n_boot=n_boot)
        results = reorder_systems(results, system_order)
        order = _system_order(results, system_order)

        table_paths: dict[str, Path] = {}
        for name, df in results.tables.items():
            path = folder / "tables" / f"{name}.csv"
            df.to_csv(path, index=False)
            table_paths[name] = path

        figure_paths: dict[str, list[Path]] = {}
        embedded: list[dict[str, Any]] = []
        if figures:
            from emoconvey.plots.io import save_figure

            (folder / "figures").mkdir(exist_ok=True)
            own_systems = (
                [x for x in dataset.systems if x not in reference_systems]
                if reference_systems else []
            )
            for spec in figure_specs(results, highlight=own_systems, order=order,
                                     smallest_pairs=smallest_pairs):
                step(f"figure {spec.name}")
                fig = spec.draw()
                paths = save_figure(fig, folder / "figures", spec.name, formats=formats)
                figure_paths[spec.name] = [Path(p) for p in paths]
                png = next(p for p in figure_paths[spec.name] if p.suffix == ".png")
                embedded.append(
                    {
                        "name": spec.name,
                        "caption": spec.caption,
                        "data": base64.b64encode(png.read_bytes()).decode("ascii"),
                        "files": [p.relative_to(folder).as_posix()
                                  for p in figure_paths[spec.name]],
                    }
                )

        step("results.json")
        summary = summarise(results)
        doc = results_document(
            results,
            summary=summary,
            figures=[p.relative_to(folder).as_posix()
                     for ps in figure_paths.values() for p in ps],
            reference_systems=list(reference_systems),
        )
        results_path = folder / "results.json"
        results_path.write_text(json.dumps(doc, indent=2, allow_nan=False) + "\n")

        step("index.html")
        index = folder / "index.html"
        index.write_text(
            _render_html(
                results,
                summary=summary,
                figures=embedded,
                reference_systems=list(reference_systems),
                title=title,
            ),
            encoding="utf-8",
        )
    log.info("report written to %s", folder)
    return ReportPaths(
        folder=folder,
        index=index,
        results=results_path,
        tables=table_paths,
        figures=figure_paths,
    )


def _render_html(
    results: AnalysisResults,
    *,
    summary: list[str],
    figures: list[dict[str, Any]],
    reference_systems: list[str],
    title: str,
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
        if name == "summary":  # one wide row reads better as a column
            df = df.T.reset_index().set_axis(["statistic", "value"], axis=1)
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
        warnings=results.warnings,
        confidence=round(100 * results.confidence),
        mixed_skipped=_mixed_skipped(results),
        posthoc_text=POSTHOC_MODELS.get(results.posthoc, results.posthoc),
        posthoc_note=posthoc_note(results.posthoc),
    )


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
