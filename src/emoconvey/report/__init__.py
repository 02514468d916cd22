"""The analysis report: ``index.html``, tables, figures and ``results.json``."""

from emoconvey.report.build import ReportPaths, build_report, render_table
from emoconvey.report.narrative import summarise
from emoconvey.report.results_json import SCHEMA_VERSION, results_document

__all__ = [
    "SCHEMA_VERSION",
    "ReportPaths",
    "build_report",
    "render_table",
    "results_document",
    "summarise",
]
