"""The ``emoconvey`` command line.

``emoconvey report``            analyse ratings and write the report folder
``emoconvey validate``          check data files and show what would be analysed
``emoconvey generate ...``      make clips under the AImoclips protocol (``generate`` extra)
``emoconvey intents list``      the 12 AImoclips intents
``emoconvey intents select``    the AImoclips intent-selection rule on candidate words
``emoconvey intents from-words`` an intents file for custom words
``emoconvey intents from-text``  predicted targets with intervals for any text (extra: text)
``emoconvey intents evaluate``   cross-validated accuracy of the from-text methods
``emoconvey survey ...``        the listening-test server (needs the ``survey`` extra)
``emoconvey plan``              participants a study needs, by simulation
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.table import Table

from emoconvey import __version__
from emoconvey.data import Dataset
from emoconvey.errors import EmoconveyError

app = typer.Typer(
    name="emoconvey",
    help="Measure how well text-to-music systems convey an intended emotion (AImoclips).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
intents_app = typer.Typer(help="Emotion intents and their lexicon norms.", no_args_is_help=True)
app.add_typer(intents_app, name="intents")

console = Console(stderr=True)
out = Console()


@contextlib.contextmanager
def _friendly_errors() -> Iterator[None]:
    """Turn emoconvey's input errors into a one-line message and exit status 2."""
    try:
        yield
    except EmoconveyError as exc:
        # escaped: messages carry brackets (pip install "emoconvey[generate]", x[0]) that
        # rich would otherwise read as markup and drop
        console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None


def _version(value: bool) -> None:
    if value:
        out.print(f"emoconvey {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress details.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=console, show_path=False, show_time=False)],
        force=True,
    )


RatingsOpt = Annotated[
    Path | None,
    typer.Option("--ratings", help="ratings_metadata.csv (user, audio_file, valence, arousal)."),
]
ClipsOpt = Annotated[
    Path | None, typer.Option("--clips", help="clips_metadata.csv (optional).")
]
IntentsOpt = Annotated[
    Path | None,
    typer.Option("--intents", help="emotion_intents_metadata.csv (default: the 12 AImoclips)."),
]
MinRatingsOpt = Annotated[
    int,
    typer.Option("--min-ratings", help="Exclude clips with fewer ratings (AImoclips: 4)."),
]


def _load(
    ratings: Path | None,
    clips: Path | None,
    intents: Path | None,
    min_ratings: int,
    with_reference: bool = False,
) -> tuple[Dataset, list[str]]:
    from emoconvey.data import load_aimoclips, load_dataset
    from emoconvey.data.combine import combine_datasets

    if ratings is None:
        if clips is not None or intents is not None:
            raise EmoconveyError("--clips/--intents: give --ratings too")
        if with_reference:
            raise EmoconveyError(
                "--with-reference: adds AImoclips to your own data; give --ratings"
            )
        return load_aimoclips(min_ratings=min_ratings), []
    dataset = load_dataset(ratings, clips, intents, min_ratings=min_ratings)
    _check_not_all_excluded(dataset)
    if not with_reference:
        return dataset, []
    reference = load_aimoclips(min_ratings=min_ratings)
    combined = combine_datasets([dataset, reference], labels=["yours", "aimoclips"])
    return combined, reference.systems


def _check_not_all_excluded(dataset: Dataset) -> None:
    """Refuse, with the reason and the fix, a dataset whose every clip was excluded."""
    if len(dataset.ratings) == 0 and len(dataset.excluded):
        most = int(dataset.excluded["n_ratings"].max())
        raise EmoconveyError(
            f"--min-ratings: all {len(dataset.excluded)} clip(s) have fewer than "
            f"{dataset.min_ratings} ratings (the most any clip has is {most}), so every clip "
            f"was excluded; lower the threshold, e.g. --min-ratings {max(most, 1)} (a survey "
            "export's study_report.md and 'analyse with' hint give the study's own value)"
        )


@app.command()
def report(
    ratings: RatingsOpt = None,
    clips: ClipsOpt = None,
    intents: IntentsOpt = None,
    with_reference: Annotated[
        bool,
        typer.Option(
            "--with-reference",
            help="Add the six AImoclips systems beside yours, ranked in every table.",
        ),
    ] = False,
    out_dir: Annotated[
        Path, typer.Option("--out", "-o", help="Report folder to write.")
    ] = Path("emoconvey-report"),
    min_ratings: MinRatingsOpt = 4,
    figures: Annotated[
        bool, typer.Option("--figures/--no-figures", help="Draw figures (PNG + SVG).")
    ] = True,
    confidence: Annotated[float, typer.Option(help="Confidence level of intervals.")] = 0.95,
    mos: Annotated[
        Path | None,
        typer.Option(
            "--mos",
            help="MOS report of a MusicEval-layout folder or of a study export with MOS "
            "scales (MI/TA); see 'Analysing MOS data' in the README.",
        ),
    ] = None,
    predicted: Annotated[
        Path | None,
        typer.Option(
            "--predicted",
            help="predictions.csv of 'predict run': report predicted ratings (marked so); "
            "--ratings or --with-reference add a predicted-vs-human comparison.",
        ),
    ] = None,
    posthoc: Annotated[
        str,
        typer.Option(
            help="Tukey model: 'adjusted' (dev ~ system + intent; the default, and the "
            "analysis 'emoconvey plan' plans for) or 'oneway' (dev ~ system, as the "
            "AImoclips paper).",
        ),
    ] = "adjusted",
    seed: Annotated[int, typer.Option(help="Seed of the ranking bootstrap.")] = 0,
    system_order: Annotated[
        str | None,
        typer.Option(
            "--order",
            help="Comma-separated systems to show first in every table and figure "
            "(default: ranking order).",
        ),
    ] = None,
    smallest_pairs: Annotated[
        int | None,
        typer.Option(
            "--smallest-pairs",
            help="Bracket only this many significant pairs (smallest differences).",
        ),
    ] = None,
) -> None:
    """Analyse ratings and write index.html, tables/, figures/ and results.json.

    With no options, analyses the bundled AImoclips release.
    """
    from emoconvey.report import build_report

    if mos is not None and predicted is not None:
        with _friendly_errors():
            raise EmoconveyError("--mos and --predicted: give one of them")
    if mos is not None:
        _report_mos(mos, ratings, out_dir, min_ratings, figures, confidence)
        return
    if predicted is not None:
        _report_predicted(predicted, ratings, clips, intents, with_reference, out_dir,
                          min_ratings, figures, confidence)
        return
    with _friendly_errors():
        dataset, reference = _load(ratings, clips, intents, min_ratings, with_reference)
        paths = build_report(
            dataset,
            out=out_dir,
            figures=figures,
            confidence=confidence,
            reference_systems=reference,
            progress=console.is_terminal,
            posthoc=posthoc,
            seed=seed,
            system_order=(
                [x.strip() for x in system_order.split(",") if x.strip()]
                if system_order else None
            ),
            smallest_pairs=smallest_pairs,
        )
    s = dataset
    out.print(
        f"[bold green]Report written[/] to {paths.folder}/ "
        f"({len(s.clips)} clips, {len(s.ratings)} ratings, "
        f"{s.ratings['listener'].nunique()} listeners, {len(s.systems)} systems, "
        f"{len(s.excluded)} excluded)"
    )
    out.print(f"  open {paths.index}")


def _report_mos(
    folder: Path,
    ratings: Path | None,
    out_dir: Path,
    min_ratings: int,
    figures: bool,
    confidence: float,
) -> None:
    from emoconvey.report.mos import build_mos_report

    with _friendly_errors():
        if ratings is not None:
            raise EmoconveyError(
                "--mos: give the folder alone (a study export with MOS scales holds the "
                "valence/arousal ratings too)"
            )
        paths = build_mos_report(
            folder,
            out=out_dir,
            figures=figures,
            confidence=confidence,
            min_ratings=min_ratings,
            progress=console.is_terminal,
        )
    out.print(f"[bold green]MOS report written[/] to {paths.folder}/")
    out.print(f"  open {paths.index}")


@app.command()
def validate(
    ratings: RatingsOpt = None,
    clips: ClipsOpt = None,
    intents: IntentsOpt = None,
    min_ratings: MinRatingsOpt = 4,
) -> None:
    """Check data files and show what would be analysed (exit status 2 on bad input)."""
    with _friendly_errors():
        dataset, _ = _load(ratings, clips, intents, min_ratings)
    table = Table(title=f"{dataset.source}", show_edge=False)
    for col in ("system", "clips", "ratings", "listeners"):
        table.add_column(col, justify="right" if col != "system" else "left")
    for system, grp in dataset.ratings.groupby("system", sort=False):
        table.add_row(
            str(system),
            str(grp["clip"].nunique()),
            str(len(grp)),
            str(grp["listener"].nunique()),
        )
    out.print(table)
    out.print(
        f"[bold green]OK[/]: {len(dataset.clips)} clips, {len(dataset.ratings)} ratings, "
        f"{dataset.ratings['listener'].nunique()} listeners; "
        f"{len(dataset.excluded)} clip(s) excluded (fewer than {dataset.min_ratings} ratings)"
    )
    for row in dataset.excluded.itertuples(index=False):
        out.print(f"  excluded {row.clip} ({row.n_ratings} ratings)")


@intents_app.command("list")
def intents_list() -> None:
    """Show the 12 AImoclips intents and their Warriner norms."""
    from emoconvey.intents import aimoclips_intents

    _print_intents(aimoclips_intents())


def _print_intents(df: pd.DataFrame) -> None:
    table = Table(show_edge=False)
    for col in df.columns:
        table.add_column(str(col))
    for row in df.itertuples(index=False):
        table.add_row(*(str(v) for v in row))
    out.print(table)


def _write_intents(df: pd.DataFrame, path: Path) -> None:
    df.rename(
        columns={"intent": "emotion", "norm_valence": "gt_valence", "norm_arousal": "gt_arousal"}
    ).loc[:, ["quadrant", "emotion", "gt_valence", "gt_arousal"]].to_csv(path, index=False)
    out.print(f"wrote {path}")


NormsOpt = Annotated[
    Path,
    typer.Option(
        "--norms", help="Warriner et al. (2013) norms CSV (Ratings_Warriner_et_al.csv)."
    ),
]


@intents_app.command("select")
def intents_select(
    norms: NormsOpt,
    candidates: Annotated[
        list[str] | None, typer.Argument(help="Candidate words in order of preference.")
    ] = None,
    candidates_file: Annotated[
        Path | None, typer.Option("--candidates-file", help="One candidate word per line.")
    ] = None,
    per_quadrant: Annotated[int, typer.Option(help="Words to keep per quadrant.")] = 3,
    neutral_low: Annotated[float, typer.Option(help="Lower end of the neutral band.")] = 4.0,
    neutral_high: Annotated[float, typer.Option(help="Upper end of the neutral band.")] = 6.0,
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the intents file here.")
    ] = None,
) -> None:
    """Apply the AImoclips selection rule: drop words with a norm in the neutral band,
    split quadrants at 5.0, keep the first N per quadrant."""
    import warnings

    from emoconvey.intents import load_norms, screen_candidates, select_intents

    with _friendly_errors():
        words = list(candidates or [])
        if candidates_file is not None:
            if not candidates_file.is_file():
                raise EmoconveyError(f"--candidates-file: {str(candidates_file)!r} not found")
            words += [w.strip() for w in candidates_file.read_text().splitlines() if w.strip()]
        if not words:
            raise EmoconveyError("candidates: give words as arguments or --candidates-file")
        table = load_norms(norms)
        band = (neutral_low, neutral_high)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            screened = screen_candidates(
                words, table, per_quadrant=per_quadrant, neutral_band=band
            )
        for w in caught:
            console.print(f"[yellow]warning:[/] {w.message}")
        _print_intents(screened)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            chosen = select_intents(words, table, per_quadrant=per_quadrant, neutral_band=band)
        if output is not None:
            _write_intents(chosen, output)


@intents_app.command("from-words")
def intents_from_words_cmd(
    norms: NormsOpt,
    words: Annotated[list[str], typer.Argument(help="Emotion words.")],
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the intents file here.")
    ] = None,
) -> None:
    """Build an intents file for custom words from the norms."""
    from emoconvey.intents import intents_from_words, load_norms

    with _friendly_errors():
        df = intents_from_words(words, load_norms(norms))
    _print_intents(df)
    if output is not None:
        _write_intents(df, output)


def _mount_group(name: str, module: str, extra: str, help_text: str) -> None:
    """Add the Typer app ``module.app`` as ``emoconvey NAME``.

    When the module cannot be imported because its extra is missing, ``emoconvey NAME``
    still exists and says which ``pip install`` to run (exit status 2).
    """
    import importlib

    try:
        group = importlib.import_module(module).app
    except ImportError as exc:
        if (exc.name or "").startswith("emoconvey"):
            raise
        missing = exc.name or "a dependency"

        def group_missing() -> None:
            message = (f"emoconvey {name} needs {missing}; "
                       f"install it with pip install 'emoconvey[{extra}]'")
            console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
            raise typer.Exit(code=2)

        group_missing.__doc__ = f"{help_text} (install with: pip install 'emoconvey[{extra}]')"
        app.command(
            name, context_settings={"ignore_unknown_options": True, "allow_extra_args": True}
        )(group_missing)
        return
    app.add_typer(group, name=name, help=help_text)


_mount_group("survey", "emoconvey.survey.cli", "survey",
             "Run a listening test (AImoclips protocol).")
_mount_group("generate", "emoconvey.generate.cli", "generate",
             "Generate clips under the AImoclips protocol, or import them.")


def _report_predicted(
    predicted: Path,
    ratings: Path | None,
    clips: Path | None,
    intents: Path | None,
    with_reference: bool,
    out_dir: Path,
    min_ratings: int,
    figures: bool,
    confidence: float,
) -> None:
    """``emoconvey report --predicted``: see :mod:`emoconvey.report.predicted`."""
    from emoconvey.data import load_aimoclips, load_dataset
    from emoconvey.report.predicted import build_predicted_report, read_predictions

    with _friendly_errors():
        if ratings is not None and with_reference:
            raise EmoconveyError(
                "--predicted: compare with either your --ratings or the AImoclips reference "
                "(--with-reference), not both"
            )
        preds = read_predictions(predicted)
        human = None
        if ratings is not None:
            human = load_dataset(ratings, clips, intents, min_ratings=min_ratings)
        elif with_reference:
            human = load_aimoclips(min_ratings=min_ratings)
        folder = build_predicted_report(
            preds, out=out_dir, human=human, intents=intents, source=str(predicted),
            figures=figures, confidence=confidence, progress=console.is_terminal,
        )
    out.print(f"[bold green]Report of PREDICTED ratings written[/] to {folder}/ "
              f"({len(preds)} clips)")
    out.print(f"  open {folder / 'index.html'}")


_mount_group("predict", "emoconvey.predict.cli", "predict",
             "Predict listener ratings from audio.")


def _mount_plan() -> None:
    from emoconvey.plan_cli import plan

    app.command("plan")(plan)


_mount_plan()


def _mount_intents_text() -> None:
    from emoconvey.intents.cli import register

    register(intents_app)


_mount_intents_text()


def main() -> None:
    """Console-script entry point."""
    app()
