"""``emoconvey plan``: how many participants a listening test needs (simulation).

A command module of its own, mounted lazily by :mod:`emoconvey.cli` like every group.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from emoconvey.console import console, friendly_errors, out

__all__ = ["app", "plan"]

app = typer.Typer(add_completion=False)


@app.command("plan")
def plan(
    systems: Annotated[int, typer.Option("--systems", help="Number of systems (K).")],
    intents: Annotated[int, typer.Option("--intents", help="Number of intents (M).")],
    clips_per_pair: Annotated[
        int, typer.Option("--clips-per-pair", help="Clips per (system, intent) pair.")
    ] = 14,
    clips_per_participant: Annotated[
        int, typer.Option("--clips-per-participant", help="Clips each participant rates.")
    ] = 56,
    effect: Annotated[
        float, typer.Option("--effect", help="Difference between two systems to detect "
                            "(scale points of mean deviation).")
    ] = 0.3,
    power: Annotated[float, typer.Option("--power", help="Target power.")] = 0.8,
    alpha: Annotated[float, typer.Option("--alpha", help="Family-wise level (Tukey).")] = 0.05,
    dropout: Annotated[
        float, typer.Option("--dropout", help="Share of participants leaving early.")
    ] = 0.15,
    pilot: Annotated[
        Path | None,
        typer.Option("--pilot", help="Folder of a pilot export (ratings_metadata.csv, "
                     "optionally clips_metadata.csv, emotion_intents_metadata.csv) whose "
                     "variance components replace AImoclips'."),
    ] = None,
    axis: Annotated[
        str | None, typer.Option("--axis", help="valence or arousal (default: the axis "
                                 "that needs more participants under --posthoc).")
    ] = None,
    posthoc: Annotated[
        str, typer.Option("--posthoc", help="Analysis planned for: 'adjusted' (dev ~ "
                          "system + intent; the report's default too) or 'oneway' "
                          "(dev ~ system).")
    ] = "adjusted",
    sims: Annotated[int, typer.Option("--sims", help="Simulated studies.")] = 300,
    seed: Annotated[int, typer.Option("--seed", help="Seed.")] = 0,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Processes (default: CPU count).")
    ] = None,
    figure: Annotated[
        Path | None, typer.Option("--figure", help="Write the power curve here (.png/.svg).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Simulate studies to find how many participants detect an effect with given power."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from emoconvey.analysis.planning import plan_study, variance_components
    from emoconvey.errors import EmoconveyError

    with friendly_errors():
        if pilot is not None:
            from emoconvey.data import load_dataset

            folder = Path(pilot)
            ratings = folder / "ratings_metadata.csv"
            if not ratings.is_file():
                raise EmoconveyError(f"--pilot: {str(ratings)!r} not found")
            clips = folder / "clips_metadata.csv"
            intents_file = folder / "emotion_intents_metadata.csv"
            ds = load_dataset(ratings, clips=clips if clips.is_file() else None,
                              intents=intents_file if intents_file.is_file() else None)
            comp = variance_components(ds, axis=axis, posthoc=posthoc)
        else:
            comp = variance_components(axis=axis, posthoc=posthoc)
        with Progress(TextColumn("[bold]simulating studies"), BarColumn(),
                      TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                      console=console, transient=True,
                      disable=as_json or not console.is_terminal) as bar:
            task = bar.add_task("sims", total=sims)
            result = plan_study(
                systems=systems, intents=intents, clips_per_pair=clips_per_pair,
                clips_per_participant=clips_per_participant, effect=effect, power=power,
                alpha=alpha, dropout=dropout, components=comp, n_sims=sims, seed=seed,
                posthoc=posthoc, workers=workers,
                on_batch=lambda n: bar.update(task, advance=n),
            )
        if figure is not None:
            from emoconvey.plots.planning import plot_power_curve

            ax = plot_power_curve(result.power_curve, target=power,
                                  participants=result.participants)
            figure.parent.mkdir(parents=True, exist_ok=True)
            ax.figure.savefig(figure, dpi=150)
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
        return
    table = Table(title=f"Power to detect {effect:g} points between two of {systems} systems "
                  f"(Tukey, {posthoc}, \u03b1 = {alpha:g})")
    for col in ("participants", "ratings per clip", "power", "\u00b1 MC s.e.",
                "monotone fit"):
        table.add_column(col, justify="right")
    for r in result.power_curve.itertuples(index=False):
        table.add_row(str(r.participants), f"{r.ratings_per_clip:.1f}", f"{r.power:.3f}",
                      f"{r.se:.3f}", f"{r.power_monotone:.3f}")
    out.print(table)
    out.print(
        f"Variance components ({comp.axis}, from {comp.source or 'the pilot'}): listener "
        f"{comp.listener:.3f}, clip {comp.clip:.3f}, residual {comp.residual:.3f}, intent "
        f"{comp.intent:.3f}."
    )
    out.print(f"Planned for the report's analysis: {result.analysis} "
              f"('emoconvey report --posthoc {posthoc}').")
    if result.participants is None:
        out.print(f"[bold red]Power {power:g} not reached[/] within the simulated range; "
                  "add clips per pair, or relax the effect or the power.")
    else:
        out.print(f"[bold green]{result.participants} participants[/] (about "
                  f"{result.ratings_per_clip:.1f} ratings per clip) give power \u2265 {power:g}.")
    if figure is not None:
        out.print(f"Power curve written to {figure}")
