"""``emoconvey intents from-text``, ``intents train`` and ``intents evaluate``.

Mounted on the ``intents`` group of :mod:`emoconvey.cli` by :func:`register`.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]

_NormsOpt = Annotated[
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


def register(intents_app: typer.Typer) -> None:
    """Add the text commands to the ``intents`` Typer group."""
    from emoconvey.cli import _friendly_errors, console, out

    _register_train(intents_app)

    @intents_app.command("from-text")
    def from_text(
        texts: Annotated[list[str], typer.Argument(help="Prompts, captions or words.")],
        norms: _NormsOpt,
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

        with _friendly_errors(), warnings.catch_warnings(record=True) as caught:
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
                console.print(f"[yellow]warning:[/] {w.message}", highlight=False)
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

    @intents_app.command("evaluate")
    def evaluate(
        norms: _NormsOpt,
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
        with _friendly_errors():
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


def _register_train(intents_app: typer.Typer) -> None:
    """Add ``intents train`` to the ``intents`` Typer group."""
    from emoconvey.cli import _friendly_errors, console, out

    @intents_app.command("train")
    def train(
        norms: _NormsOpt,
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
        with _friendly_errors():
            fm = finetuned_model(norms, model=model, cache_dir=cache_dir, retrain=retrain,
                                 progress=console.is_terminal)
        meta = fm.meta
        out.print(
            f"fine-tuned {fm.model_id} on {meta.get('train_words')} words of {norms.name} "
            f"({meta.get('steps')} steps, training {meta.get('seconds')} s; "
            f"{meta.get('calibration_words')} words held out for the intervals); "
            f"ready in {time.perf_counter() - t0:.1f} s"
        )
