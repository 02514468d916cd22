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
``emoconvey predict ...``       predict listener ratings from audio (``predict`` extra)
``emoconvey plan``              participants a study needs, by simulation

Every command module but this one's own ``report`` and ``validate`` is listed in
:data:`LAZY_COMMANDS` and imported only when its command runs, so ``emoconvey --help``
starts without pandas, scipy or torch. Output and errors go through
:mod:`emoconvey.console`.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from emoconvey import __version__
from emoconvey.console import console, fail, friendly_errors, out, setup_logging
from emoconvey.errors import EmoconveyError

if TYPE_CHECKING:
    from emoconvey.data import Dataset


@dataclasses.dataclass(frozen=True)
class LazyCommand:
    """A command group (or single command) that :mod:`emoconvey.cli` imports on use.

    Attributes
    ----------
    module : str
        The module holding a Typer app named ``app``.
    help : str
        One line shown by ``emoconvey --help`` without importing ``module``.
    extra : str or None
        The ``pip install 'emoconvey[EXTRA]'`` that brings ``module``'s dependencies.
    """

    module: str
    help: str
    extra: str | None = None


LAZY_COMMANDS: dict[str, LazyCommand] = {
    "intents": LazyCommand("emoconvey.intents.cli", "Emotion intents and their lexicon norms."),
    "plan": LazyCommand(
        "emoconvey.plan_cli",
        "Simulate studies to find how many participants detect an effect with given power.",
    ),
    "survey": LazyCommand(
        "emoconvey.survey.cli", "Run a listening test (AImoclips protocol).", "survey"
    ),
    "generate": LazyCommand(
        "emoconvey.generate.cli",
        "Generate clips under the AImoclips protocol, or import them.",
        "generate",
    ),
    "predict": LazyCommand(
        "emoconvey.predict.cli", "Predict listener ratings from audio.", "predict"
    ),
}
"""Every command module mounted on ``emoconvey``, by command name (one way for all)."""


def _missing_extra(name: str, missing: str | None, extra: str | None) -> str:
    install = f"; install it with pip install 'emoconvey[{extra}]'" if extra else ""
    return f"emoconvey {name} needs {missing or 'a dependency'}{install}"


def _load_command(name: str, spec: LazyCommand) -> TyperCommand | TyperGroup:
    """Import ``spec.module`` and return its app as a click command named ``name``.

    When a dependency of the module is missing, the command still exists, takes any
    arguments and says which ``pip install`` to run (one line, exit status 2).
    """
    try:
        module = importlib.import_module(spec.module)
    except ImportError as exc:
        if (exc.name or "").startswith("emoconvey"):
            raise  # a bug of ours, not a missing extra
        message = _missing_extra(name, exc.name, spec.extra)

        def group_missing() -> None:
            raise fail(message)

        return TyperCommand(
            name, callback=group_missing, help=spec.help,
            context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        )
    command = typer.main.get_command(module.app)
    command.name = name
    # a Typer app turned into a command on its own gets shell-completion options; the
    # root has none, so neither do its commands
    command.params = [p for p in command.params
                      if p.name not in ("install_completion", "show_completion")]
    return command


class LazyGroup(TyperGroup):
    """The ``emoconvey`` group: the modules of :data:`LAZY_COMMANDS` load on invocation.

    ``emoconvey --help`` lists them with their one-line help without importing them, so
    that starting the command line loads neither pandas nor scipy nor torch.
    """

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in LAZY_COMMANDS if n not in self.commands)]

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in LAZY_COMMANDS:  # listed, not yet imported
            return TyperCommand(cmd_name, help=LAZY_COMMANDS[cmd_name].help)
        return command

    def resolve_command(
        self, ctx: typer.Context, args: list[str]
    ) -> tuple[str | None, Any, list[str]]:
        name = args[0] if args else None
        if name in LAZY_COMMANDS and name not in self.commands:
            self.commands[name] = _load_command(name, LAZY_COMMANDS[name])
        elif name is not None and name not in self.commands and not name.startswith("-"):
            # Typer suggests only among loaded commands; suggest among all of them
            matches = difflib.get_close_matches(name, self.list_commands(ctx))
            if matches:
                ctx.fail(f"No such command {name!r}. Did you mean "
                         f"{', '.join(map(repr, matches))}?")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as exc:  # an extra's package imported inside a command
            name = ctx.invoked_subcommand or ""
            spec = LAZY_COMMANDS.get(name)
            if spec is None or spec.extra is None or (exc.name or "emoconvey").startswith(
                "emoconvey"
            ):
                raise
            raise fail(_missing_extra(name, exc.name, spec.extra)) from None


app = typer.Typer(
    name="emoconvey",
    cls=LazyGroup,
    help="Measure how well text-to-music systems convey an intended emotion (AImoclips).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
    setup_logging(verbose=verbose)


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
        with friendly_errors():
            raise EmoconveyError("--mos and --predicted: give one of them")
    if mos is not None:
        _report_mos(mos, ratings, out_dir, min_ratings, figures, confidence)
        return
    if predicted is not None:
        _report_predicted(predicted, ratings, clips, intents, with_reference, out_dir,
                          min_ratings, figures, confidence)
        return
    with friendly_errors():
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

    with friendly_errors():
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
    from rich.table import Table

    with friendly_errors():
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

    with friendly_errors():
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


def main() -> None:
    """Console-script entry point."""
    app()
