"""``emoconvey intents``: emotion intents and their lexicon norms.

``emoconvey intents list``        the 12 AImoclips intents
``emoconvey intents select``      the AImoclips intent-selection rule on candidate words
``emoconvey intents from-words``  an intents file for custom words
``emoconvey intents from-text``   predicted targets with intervals for any text (extra: text)
``emoconvey intents evaluate``    cross-validated accuracy of the from-text methods
``emoconvey intents train``       fine-tune the sentence model on a norms file (finetune)

Mounted lazily by :mod:`emoconvey.cli`; every heavy import happens inside a command.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from emoconvey._validation import check_output_file
from emoconvey.console import console, friendly_errors, out, print_warning
from emoconvey.errors import EmoconveyError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["app"]

app = typer.Typer(help="Emotion intents and their lexicon norms.", no_args_is_help=True)

NormsOpt = Annotated[
    Path,
    typer.Option("--norms", help="Warriner et al. (2013) norms CSV (Ratings_Warriner_et_al.csv)."),
]
_MethodOpt = Annotated[
    str, typer.Option("--method", help="lexicon, embedding, hybrid or finetune.")
]
_ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="sentence-transformers model name (installed offline) or folder "
        "(default: the packaged all-MiniLM-L6-v2).",
    ),
]
_CacheOpt = Annotated[
    Path | None,
    typer.Option(
        "--cache-dir",
        help="Cache folder for trained regressors and embeddings "
        "(default: $EMOCONVEY_CACHE_DIR or the user cache folder).",
    ),
]
_CoverageOpt = Annotated[
    float, typer.Option("--coverage", help="Nominal coverage of the prediction intervals.")
]


@app.command("list")
def intents_list() -> None:
    """Show the 12 AImoclips intents and their Warriner norms."""
    from emoconvey.intents import aimoclips_intents

    _print_intents(aimoclips_intents())


def _print_intents(df: pd.DataFrame) -> None:
    from rich.table import Table

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


@app.command("select")
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
    from emoconvey.intents import load_norms, screen_candidates, select_intents

    with friendly_errors():
        check_output_file(output, name="--out")
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
            print_warning(w.message)
        _print_intents(screened)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            chosen = select_intents(words, table, per_quadrant=per_quadrant, neutral_band=band)
        if output is not None:
            _write_intents(chosen, output)


@app.command("from-words")
def intents_from_words_cmd(
    norms: NormsOpt,
    words: Annotated[list[str], typer.Argument(help="Emotion words.")],
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the intents file here.")
    ] = None,
) -> None:
    """Build an intents file for custom words from the norms."""
    from emoconvey.intents import intents_from_words, load_norms

    with friendly_errors():
        check_output_file(output, name="--out")
        df = intents_from_words(words, load_norms(norms))
    _print_intents(df)
    if output is not None:
        _write_intents(df, output)



@app.command("from-text")
def from_text(
    texts: Annotated[list[str], typer.Argument(help="Prompts, captions or words.")],
    norms: NormsOpt,
    method: _MethodOpt = "hybrid",
    model: _ModelOpt = None,
    coverage: _CoverageOpt = 0.9,
    cache_dir: _CacheOpt = None,
    output: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the intents file here.")
    ] = None,
) -> None:
    """Predicted valence/arousal targets (with intervals) for any text."""
    from rich.table import Table

    from emoconvey.errors import EmoconveyWarning
    from emoconvey.intents.text import intents_from_text, write_text_intents

    with friendly_errors(), warnings.catch_warnings(record=True) as caught:
        check_output_file(output, name="--out")
        warnings.simplefilter("always")
        df = intents_from_text(
            texts,
            norms=norms,
            method=method,
            model=model,
            coverage=coverage,
            cache_dir=cache_dir,
            progress=console.is_terminal,
        )
        written = None if output is None else write_text_intents(df, output)
    for w in caught:
        if issubclass(w.category, EmoconveyWarning):
            print_warning(w.message)
    table = Table(show_edge=False)
    cols = ["text", "norm_valence", "norm_arousal", "quadrant_or_band", "source",
            "lexicon_words", "neighbours"]
    for col in cols:
        table.add_column(col)
    for row in df.itertuples(index=False):
        table.add_row(
            row.text,
            f"{row.norm_valence:.2f} [{row.valence_low:.2f}, {row.valence_high:.2f}]",
            f"{row.norm_arousal:.2f} [{row.arousal_low:.2f}, {row.arousal_high:.2f}]",
            str(row.quadrant_or_band),
            row.source,
            row.lexicon_words,
            row.neighbours,
        )
    out.print(table)
    if written is not None:
        out.print(f"wrote {output} ({len(written)} intents, {coverage:.0%} intervals)")

@app.command("evaluate")
def evaluate(
    norms: NormsOpt,
    method: Annotated[
        list[str] | None,
        typer.Option("--method", help="Method(s) to evaluate (default: lexicon, "
                     "embedding, hybrid; finetune trains once per fold)."),
    ] = None,
    model: _ModelOpt = None,
    folds: Annotated[int, typer.Option("--folds", help="Cross-validation folds.")] = 10,
    protocol: Annotated[
        str | None,
        typer.Option("--protocol", help="10-fold (default; any k-fold) or 8:1:1 "
                     "(one seeded train/calibration/test split; finetune only)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the fold split.")] = 0,
    coverage: _CoverageOpt = 0.9,
    cache_dir: _CacheOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of records.")
    ] = False,
) -> None:
    """Cross-validated Pearson r, MAE and interval coverage on the lexicon words."""
    import time

    from rich.table import Table

    from emoconvey.intents.text import METHODS, evaluate_text_methods

    t0 = time.perf_counter()
    with friendly_errors():
        df = evaluate_text_methods(
            norms,
            methods=method or list(METHODS[:3]),
            model=model,
            folds=folds,
            protocol=protocol,
            seed=seed,
            coverage=coverage,
            cache_dir=cache_dir,
            progress=console.is_terminal and not as_json,
        )
    if as_json:
        out.print_json(json.dumps(df.to_dict(orient="records")))
        return
    table = Table(title=f"{df['protocol'].iloc[0]} evaluation on {norms.name}",
                  show_edge=False)
    for col in ("method", "unit", "axis", "r", "mae", "coverage", "n"):
        table.add_column(col, justify="right" if col in ("r", "mae", "coverage", "n")
                         else "left")
    for row in df.itertuples(index=False):
        table.add_row(
            row.method, row.unit, row.axis, f"{row.r:.3f}", f"{row.mae:.3f}",
            f"{row.coverage:.3f} (nominal {row.nominal:.2f})", str(row.n),
        )
    out.print(table)
    out.print(f"took {time.perf_counter() - t0:.1f} s")


@app.command("train")
def train(
    norms: NormsOpt,
    model: _ModelOpt = None,
    cache_dir: _CacheOpt = None,
    retrain: Annotated[
        bool, typer.Option("--retrain", help="Train again even if a cached model exists.")
    ] = False,
) -> None:
    """Fine-tune the sentence model on a norms file (method finetune; cached)."""
    import time

    from emoconvey.intents.text import finetuned_model

    t0 = time.perf_counter()
    with friendly_errors():
        fm = finetuned_model(norms, model=model, cache_dir=cache_dir, retrain=retrain,
                             progress=console.is_terminal)
    meta = fm.meta
    out.print(
        f"fine-tuned {fm.model_id} on {meta.get('train_words')} words of {norms.name} "
        f"({meta.get('steps')} steps, training {meta.get('seconds')} s; "
        f"{meta.get('calibration_words')} words held out for the intervals); "
        f"ready in {time.perf_counter() - t0:.1f} s"
    )
