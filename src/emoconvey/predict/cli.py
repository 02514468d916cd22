"""``emoconvey predict ...``: train a rating predictor, run it, score predictions."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from emoconvey.cli import _friendly_errors, console, out
from emoconvey.predict.metrics import METRIC_NAMES, read_scores, records_to_json, score_frames

app = typer.Typer(
    help="Predict listener ratings from audio (train, run, score).", no_args_is_help=True
)


def _metrics_rich_table(table: pd.DataFrame, title: str) -> Table:
    rich_table = Table(title=title)
    for col in ("target", "level", "split", "n"):
        rich_table.add_column(col)
    for m in METRIC_NAMES:
        rich_table.add_column(m, justify="right")
    for _, row in table.iterrows():
        cells = [str(row["target"]), str(row["level"]), str(row["split"]), str(row["n"])]
        for m in METRIC_NAMES:
            lo, hi = row.get(f"{m}_ci_low"), row.get(f"{m}_ci_high")
            value = f"{row[m]:.3f}"
            if lo is not None and pd.notna(lo):
                value += f" [{lo:.3f}, {hi:.3f}]"
            cells.append(value)
        rich_table.add_row(*cells)
    return rich_table


@app.command("score")
def score_cmd(
    truth: Annotated[
        Path, typer.Option("--truth", help="Truth: a MusicEval *_mos_list.txt or a CSV.")
    ],
    pred: Annotated[
        Path, typer.Option("--pred", help="Predictions: an AudioMOS answer.txt or a CSV.")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the records as JSON (as metrics.json).")
    ] = False,
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Bootstrap seed.")] = 0,
) -> None:
    """MSE, LCC, SRCC, KTAU at utterance and system level (MusicEval / AudioMOS)."""
    with _friendly_errors():
        table = score_frames(
            read_scores(truth), read_scores(pred), split=truth.stem, n_boot=n_boot, seed=seed
        )
    if as_json:
        sys.stdout.write(records_to_json(table) + "\n")
    else:
        out.print(_metrics_rich_table(table, f"{pred} vs {truth}"))


__all__ = ["app", "console"]
