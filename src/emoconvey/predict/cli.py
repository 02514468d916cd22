"""``emoconvey predict ...``: train a rating predictor, run it, score predictions."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from emoconvey._validation import check_output_folder
from emoconvey.console import console, friendly_errors, out
from emoconvey.errors import EmoconveyError
from emoconvey.predict.datasets import RatedClips
from emoconvey.predict.metrics import (
    METRIC_NAMES,
    read_scores,
    records_to_json,
    score_frames,
    system_truth_table,
)

if TYPE_CHECKING:
    from emoconvey.predict.extractors import Extractor
    from emoconvey.predict.model import Predictor
    from emoconvey.predict.pipeline import TrainResult

app = typer.Typer(
    help="Predict listener ratings from audio (train, run, score).", no_args_is_help=True
)


# options shared by train and run
_ClapModel = Annotated[
    str | None, typer.Option("--clap-model", help="transformers CLAP model id or folder.")
]
_CacheDir = Annotated[
    Path | None, typer.Option("--cache-dir", help="Feature cache (default ~/.cache).")
]
_Ray = Annotated[
    bool, typer.Option("--ray", help="Extract features on a Ray cluster (extra: ray).")
]
_RayAddress = Annotated[
    str | None, typer.Option("--ray-address", help="Ray cluster (default: a local Ray).")
]


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
    system_truth: Annotated[
        str, typer.Option("--system-truth", help="System-level truth: file (the release's "
                          "system_mos_phase1.csv, as the official scorer; default when "
                          "there is one) or clip-mean.")
    ] = "auto",
    system_mos: Annotated[
        Path | None, typer.Option("--system-mos", help="System MOS file (system,MI,TA).")
    ] = None,
) -> None:
    """MSE, LCC, SRCC, KTAU at utterance and system level (MusicEval / AudioMOS)."""
    with friendly_errors():
        truth_df, pred_df = read_scores(truth), read_scores(pred)
        for line in _unmatched(truth_df, pred_df):
            console.print(line, highlight=False, markup=False, soft_wrap=True)
        sys_truth = system_truth_table(truth, system_truth, system_mos=system_mos)
        table = score_frames(truth_df, pred_df, split=truth.stem, n_boot=n_boot, seed=seed,
                             system_truth=sys_truth)
    if as_json:
        sys.stdout.write(records_to_json(table) + "\n")
    else:
        out.print(_metrics_rich_table(table, f"{pred} vs {truth}"))
    _warn_few_systems(table)


def _unmatched(truth: pd.DataFrame, pred: pd.DataFrame) -> list[str]:
    """Lines naming the clips of either file that the other lacks (matched on clip id)."""
    t_ids, p_ids = set(truth["clip_id"]), set(pred["clip_id"])
    lines = [f"scoring {len(t_ids & p_ids)} clip(s) present in both files"]
    for name, only in (("truth", sorted(t_ids - p_ids)), ("predictions", sorted(p_ids - t_ids))):
        if only:
            more = f" and {len(only) - 3} more" if len(only) > 3 else ""
            lines.append(f"{len(only)} clip(s) only in the {name}: "
                         + ", ".join(only[:3]) + more)
    return lines


def _warn_few_systems(table: pd.DataFrame) -> None:
    """Warn when system-level metrics rest on fewer than 5 systems."""
    from emoconvey.predict.model import MIN_SYSTEMS_FOR_SYSTEM_METRICS

    sys_rows = table[table["level"] == "system"]
    if len(sys_rows) and int(sys_rows["n"].min()) < MIN_SYSTEMS_FOR_SYSTEM_METRICS:
        console.print(
            f"warning: system-level metrics over {int(sys_rows['n'].min())} systems (fewer "
            f"than {MIN_SYSTEMS_FOR_SYSTEM_METRICS}) mean little: a correlation over so few "
            "points can be ±1 by chance", highlight=False, markup=False, soft_wrap=True,
        )


class _Bar:
    """Callbacks of a rich progress bar: ``advance(k)`` and ``stage(text)``."""

    def __init__(self, bar: Progress, task: TaskID) -> None:
        self._bar, self._task = bar, task

    def advance(self, k: int) -> None:
        self._bar.advance(self._task, k)

    def stage(self, text: str) -> None:
        self._bar.update(self._task, description=text)


@contextlib.contextmanager
def _progress(label: str, total: int) -> Iterator[_Bar]:
    """A rich progress bar on stderr (extraction, then the training stages)."""
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=True,
    ) as bar:
        yield _Bar(bar, bar.add_task(label, total=total))


def _load_training_data(
    audio_root: Path | None,
    ratings: Path | None,
    clips: Path | None,
    intents: Path | None,
    musiceval: Path | None,
    table: Path | None,
    targets: list[str] | None,
) -> RatedClips:
    from emoconvey.predict import datasets

    given = [n for n, v in (("--ratings", ratings), ("--musiceval", musiceval),
                            ("--table", table)) if v is not None]
    if len(given) != 1:
        raise EmoconveyError(
            "give exactly one of --ratings (AImoclips format), --musiceval DIR or --table CSV"
            + (f"; got {', '.join(given)}" if given else "")
        )
    if ratings is not None:
        if audio_root is None:
            raise EmoconveyError("--ratings needs --audio-root (the folder holding the clips)")
        data = datasets.from_aimoclips(ratings, clips, intents, audio_root=audio_root)
    elif musiceval is not None:
        data = datasets.from_musiceval(musiceval)
    else:
        data = datasets.from_table(table, audio_root=audio_root)  # type: ignore[arg-type]
    return data.select(targets)


def _extractor_options(extractor: str, clap_model: str | None, clap_checkpoint: Path | None,
                       workers: int | None, seed: int = 0,
                       frames: dict[str, object] | None = None) -> dict[str, object]:
    opts: dict[str, object] = {}
    if extractor in ("clap-frames", "mert", "muq", "mel-frames"):
        frames = dict(frames or {})
        model = frames.pop("model", None) or (clap_model if extractor == "clap-frames" else None)
        if model and extractor != "mel-frames":
            opts["model"] = model
        if frames.pop("trust_remote_code", False) and extractor == "mert":
            opts["trust_remote_code"] = True
        opts.update({k: v for k, v in frames.items() if v is not None})
    elif extractor == "clap":
        if clap_model:
            opts["model"] = clap_model
        if clap_checkpoint is not None:
            opts["checkpoint"] = str(clap_checkpoint)
            opts["seed"] = seed  # the crop of clips longer than LAION-CLAP's window
    elif extractor == "handcrafted" and workers is not None:
        opts["workers"] = workers
    return opts


def _head_options(items: list[str]) -> dict[str, object]:
    """``KEY=VALUE`` strings as a dict, values read as int, float or text."""
    opts: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise EmoconveyError(f"--head-option: expected KEY=VALUE, got {item!r}")
        parsed: object = value.strip()
        for cast in (int, float):
            try:
                parsed = cast(value)
                break
            except ValueError:
                continue
        opts[key.strip()] = parsed
    return opts


@app.command("train")
def train_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Model folder to write.")],
    audio_root: Annotated[
        Path | None, typer.Option("--audio-root", help="Folder holding the audio.")
    ] = None,
    ratings: Annotated[
        Path | None, typer.Option("--ratings", help="AImoclips-format ratings CSV.")
    ] = None,
    clips: Annotated[Path | None, typer.Option("--clips", help="clips_metadata.csv.")] = None,
    intents: Annotated[
        Path | None, typer.Option("--intents", help="emotion_intents_metadata.csv.")
    ] = None,
    musiceval: Annotated[
        Path | None, typer.Option("--musiceval", help="MusicEval release folder.")
    ] = None,
    table: Annotated[
        Path | None, typer.Option("--table", help="CSV: audio_file, system, target columns.")
    ] = None,
    targets: Annotated[
        list[str] | None, typer.Option("--targets", help="Targets to learn (default: all).")
    ] = None,
    extractor: Annotated[
        str, typer.Option("--extractor", help="Audio representation (handcrafted, clap, ...).")
    ] = "handcrafted",
    head: Annotated[
        str, typer.Option("--head", help="ridge, mlp, temporal or musiceval-baseline (the "
                          "MusicEval baseline exactly: raw CLAP embeddings, affine heads, SGD).")
    ] = "ridge",
    loss: Annotated[
        str | None,
        typer.Option("--loss", help="temporal head: l1, distribution or coral (default l1)."),
    ] = None,
    ensemble: Annotated[
        int, typer.Option("--ensemble", help="Members trained with seeds seed..seed+K-1; "
                          "adds <target>_sd to predictions.")
    ] = 1,
    frames_model: Annotated[
        str | None,
        typer.Option("--frames-model", help="Model id or folder of clap-frames, mert or muq."),
    ] = None,
    text_model: Annotated[
        str | None,
        typer.Option("--text-model", help="Text encoder (e.g. roberta-base) for frame "
                     "extractors' text tokens."),
    ] = None,
    trust_remote_code: Annotated[
        bool, typer.Option("--trust-remote-code", help="mert: run the checkpoint's own code.")
    ] = False,
    head_option: Annotated[
        list[str] | None,
        typer.Option("--head-option", help="KEY=VALUE hyper-parameter of the head "
                     "(e.g. d_model=32, max_epochs=50); repeatable."),
    ] = None,
    split: Annotated[
        str, typer.Option("--split", help="random, official, by-system or by-intent.")
    ] = "by-system",
    folds: Annotated[
        int | None,
        typer.Option("--folds", help="K of the grouped K-fold (default min(5, groups)); "
                     "more folds than systems/intents is an error."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of every random step.")] = 0,
    text_targets: Annotated[
        list[str] | None,
        typer.Option("--text-target", help="Targets conditioned on the prompt (default TA)."),
    ] = None,
    clap_model: _ClapModel = None,
    clap_checkpoint: Annotated[
        Path | None,
        typer.Option("--clap-checkpoint", help="LAION-CLAP .pt (needs laion_clap)."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Processes for handcrafted features.")
    ] = None,
    cache_dir: _CacheDir = None,
    n_boot: Annotated[int, typer.Option("--n-boot", help="Bootstrap resamples.")] = 1000,
    system_truth: Annotated[
        str, typer.Option("--system-truth", help="file (released system scores, the "
                          "default when the data has them) or clip-mean.")
    ] = "auto",
    finetune_encoder: Annotated[
        bool, typer.Option("--finetune-encoder", help="musiceval-baseline: fine-tune CLAP end "
                           "to end with the heads, as the MusicEval baseline does.")
    ] = False,
    max_epochs: Annotated[
        int, typer.Option("--max-epochs", help="--finetune-encoder: at most this many epochs "
                          "(the baseline: 1000, patience 20).")
    ] = 1000,
    ray: _Ray = False,
    ray_address: _RayAddress = None,
) -> None:
    """Train a predictor of listener ratings and report held-out agreement."""
    if finetune_encoder:  # the baseline's end-to-end route (its own checks and loop)
        return _finetune(out_dir, musiceval, table, audio_root, extractor, head, clap_model,
                         clap_checkpoint, seed, max_epochs)
    from emoconvey.predict.extractors import get_extractor
    from emoconvey.predict.model import DEFAULT_TEXT_TARGETS
    from emoconvey.predict.pipeline import train_predictor

    with friendly_errors():
        _check_ray(ray, ray_address)
        check_output_folder(out_dir, name="--out")
        data = _load_training_data(audio_root, ratings, clips, intents, musiceval, table,
                                   targets)
        frame_opts = {"model": frames_model, "text_model": text_model,
                      "trust_remote_code": trust_remote_code}
        ext = get_extractor(extractor, **_extractor_options(
            extractor, clap_model, clap_checkpoint, workers, seed, frame_opts))
        ext = _maybe_ray(ext, ray=ray, address=ray_address, workers=workers)
        head_params = _head_params(head_option, loss, ensemble)
        console.print(f"{data!r}", highlight=False)
        with _progress(f"{ext.id} features", len(data.clips)) as bar:
            result = train_predictor(
                data, extractor=ext, head=head, split=split, seed=seed, folds=folds,
                text_targets=tuple(text_targets) if text_targets else DEFAULT_TEXT_TARGETS,
                n_boot=n_boot, cache_dir=cache_dir, progress=bar.advance,
                on_stage=bar.stage, out=out_dir, system_truth=system_truth,
                head_params=head_params,
            )
    _print_training(result, n_clips=len(data.clips), split=split, out_dir=out_dir)


def _head_params(head_option: list[str] | None, loss: str | None,
                 ensemble: int) -> dict[str, object]:
    """The head's hyper-parameters from ``--head-option``, ``--loss`` and ``--ensemble``."""
    params = _head_options(head_option or [])
    if loss is not None:
        params["loss"] = loss
    if ensemble != 1:
        params["ensemble"] = ensemble
    return params


def _print_training(result: TrainResult, *, n_clips: int, split: str, out_dir: Path) -> None:
    """The cache use, the held-out agreement table and where the model went."""
    console.print(
        f"features: {result.extracted} extracted, {n_clips - result.extracted} "
        "from the cache", highlight=False,
    )
    n_folds = result.model.info.get("folds")
    out.print(_metrics_rich_table(
        result.metrics, f"held-out agreement ({split}, {n_folds} fold{'s' * (n_folds != 1)})"))
    _warn_few_systems(result.metrics)
    console.print(f"model written to {out_dir}", highlight=False)


def _finetune(out_dir: Path, musiceval: Path | None, table: Path | None,
              audio_root: Path | None, extractor: str, head: str, clap_model: str | None,
              clap_checkpoint: Path | None, seed: int, max_epochs: int) -> None:
    from emoconvey.predict.extractors.clap import DEFAULT_CLAP_MODEL
    from emoconvey.predict.finetune import finetune_baseline

    with friendly_errors():
        if head != "musiceval-baseline" or extractor != "clap" or clap_checkpoint is not None:
            raise EmoconveyError(
                "--finetune-encoder: needs --head musiceval-baseline --extractor clap and a "
                "transformers CLAP (--clap-model), not --clap-checkpoint"
            )
        data = _load_training_data(audio_root, None, None, None, musiceval, table, None)
        with _progress("fine-tuning CLAP (epochs)", 0) as bar:
            model = finetune_baseline(
                data, clap_model=clap_model or DEFAULT_CLAP_MODEL, out=out_dir, seed=seed,
                max_epochs=max_epochs,
                on_epoch=lambda e, loss: bar.stage(f"epoch {e}: dev loss {loss:.4f}"),
            )
    if model.metrics:
        out.print(_metrics_rich_table(pd.DataFrame(model.metrics), "test agreement"))
    console.print(f"model written to {out_dir} (best epoch {model.info['best_epoch']})",
                  highlight=False)


@app.command("run")
def run_cmd(
    audio: Annotated[
        Path, typer.Option("--audio", help="Folder of audio, or a CSV manifest (audio_file).")
    ],
    output: Annotated[Path, typer.Option("--out", help="predictions.csv (or answer.txt).")],
    model: Annotated[
        Path | None, typer.Option("--model", help="Model folder from predict train.")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="csv, or audiomos for the challenge answer.txt.")
    ] = "csv",
    cache_dir: _CacheDir = None,
    system: Annotated[
        str | None,
        typer.Option("--system", help="System of clips whose names or manifest do not give "
                     "one (no system is guessed from free-form names)."),
    ] = None,
    prompts: Annotated[
        Path | None, typer.Option("--prompts", help="MusicEval prompt_info.txt: prompt "
                                  "texts for TA (demo_prompt_info.txt beside it too).")
    ] = None,
    ood_alpha: Annotated[
        float | None,
        typer.Option("--ood-alpha", help="Nominal share of in-distribution clips flagged "
                     "out of distribution (default: the model's, 0.05)."),
    ] = None,
    zero_shot: Annotated[
        str | None,
        typer.Option("--zero-shot", help="clap: valence/arousal without a trained model, "
                     "from CLAP similarities to emotion words of --norms."),
    ] = None,
    norms: Annotated[
        Path | None, typer.Option("--norms", help="Norms CSV (Word, V.Mean.Sum, A.Mean.Sum).")
    ] = None,
    clap_model: _ClapModel = None,
    top_k: Annotated[int, typer.Option("--top-k", help="Zero-shot: words averaged.")] = 10,
    temperature: Annotated[
        float, typer.Option("--temperature", help="Zero-shot: softmax temperature.")
    ] = 0.05,
    ray: _Ray = False,
    ray_address: _RayAddress = None,
) -> None:
    """Predict ratings of new clips with a trained model, flagging clips unlike its training.

    With --zero-shot clap --norms FILE no model is needed (valence and arousal only).
    """
    from emoconvey.predict.pipeline import audio_manifest

    with friendly_errors():
        if fmt not in ("csv", "audiomos"):
            raise EmoconveyError(f"--format: expected csv or audiomos, got {fmt!r}")
        _check_ray(ray, ray_address, zero_shot=zero_shot)
        if (model is None) == (zero_shot is None):
            raise EmoconveyError("give either --model (a trained predictor) or --zero-shot "
                                 "clap --norms FILE")
        if zero_shot is not None:
            _run_zero_shot(audio_manifest(audio, system=system), output, kind=zero_shot,
                           norms=norms, fmt=fmt, clap_model=clap_model, top_k=top_k,
                           temperature=temperature, cache_dir=cache_dir)
            return
        from emoconvey.predict.model import load_predictor

        predictor = load_predictor(model)  # type: ignore[arg-type]
        ext = None
        if ray:
            from emoconvey.predict.extractors import get_extractor

            info = predictor.extractor
            ext = _maybe_ray(get_extractor(str(info["id"]), **dict(info.get("options", {}))),
                             ray=True, address=ray_address, workers=None)
        clips_df = audio_manifest(audio, system=system)
        if prompts is not None:
            from emoconvey.data.musiceval import prompt_texts

            clips_df["text"] = prompt_texts(clips_df["clip_id"].tolist(), prompts)
        _run_model(predictor, clips_df, output,
                   model=model, fmt=fmt, cache_dir=cache_dir,  # type: ignore[arg-type]
                   ood_alpha=ood_alpha, extractor=ext)


def _check_ray(ray: bool, address: str | None, *, zero_shot: str | None = None) -> None:
    """The Ray options, checked before any work: ``--ray-address`` needs ``--ray``, and
    zero-shot scoring has no Ray route (so ``--ray`` is refused, not ignored)."""
    if address is not None and not ray:
        raise EmoconveyError("--ray-address needs --ray")
    if ray and zero_shot is not None:
        raise EmoconveyError("--ray: not available with --zero-shot; leave out --ray")


def _maybe_ray(ext: Extractor, *, ray: bool, address: str | None,
               workers: int | None) -> Extractor:
    """``ext``, or ``ext`` on Ray actors with ``--ray`` (same features and cache)."""
    if not ray:
        return ext
    from emoconvey.predict.ray_extract import RayExtractor

    return RayExtractor(ext, address=address, workers=workers)


def _run_model(predictor: Predictor, clips_df: pd.DataFrame, output: Path, *, model: Path,
               fmt: str, cache_dir: Path | None, ood_alpha: float | None,
               extractor: Extractor | None = None) -> None:
    from emoconvey.predict.pipeline import run_predictor

    with _progress("features", len(clips_df)) as bar:
        pred = run_predictor(predictor, clips_df, cache_dir=cache_dir,
                             progress=bar.advance, ood_alpha=ood_alpha, extractor=extractor)
    output.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "audiomos":
        write_answer(pred, output, targets=predictor.targets)
    else:
        cols = ["audio_file", "system", "intent",
                *(c for t in predictor.targets for c in (t, f"{t}_sd") if c in pred),
                *(f"raw_{t}" for t in predictor.targets), *PREDICTION_FLAG_COLUMNS,
                "model"]
        pred.assign(model=str(model.resolve()))[cols].to_csv(
            output, index=False, float_format="%.6g")
    console.print(f"{len(pred)} clip(s) predicted: {output}", highlight=False)
    for line in flag_summary(pred, alpha=None if predictor.ood is None else
                             (ood_alpha if ood_alpha is not None else predictor.ood.alpha)):
        console.print(line, highlight=False, markup=False, soft_wrap=True)


def _run_zero_shot(clips_df: pd.DataFrame, output: Path, *, kind: str, norms: Path | None,
                   fmt: str, clap_model: str | None, top_k: int, temperature: float,
                   cache_dir: Path | None) -> None:
    from emoconvey.intents import load_norms
    from emoconvey.predict.extractors import get_extractor
    from emoconvey.predict.zeroshot import zero_shot_predict

    if kind != "clap":
        raise EmoconveyError(f"--zero-shot: expected clap, got {kind!r}")
    if norms is None:
        raise EmoconveyError("--zero-shot clap needs --norms FILE (a Warriner-format norms CSV)")
    if fmt != "csv":
        raise EmoconveyError("--zero-shot predicts valence and arousal: use --format csv")
    ext = get_extractor("clap", **_extractor_options("clap", clap_model, None, None))
    table = load_norms(norms)
    with _progress("CLAP embeddings", len(clips_df)) as bar:
        pred, settings = zero_shot_predict(
            ext, clips_df["audio_file"].tolist(), table, top_k=top_k,
            temperature=temperature, cache_dir=cache_dir, progress=bar.advance,
        )
    described = (f"zero-shot clap (model {ext.options().get('model', '')}; norms {norms.name}; "
                 f"{len(settings['words'])} words; '{settings['template']}'; "  # type: ignore[arg-type]
                 f"top-k {settings['top_k']}; temperature {settings['temperature']:g})")
    out_df = clips_df[["audio_file", "system", "intent"]].reset_index(drop=True)
    out_df = pd.concat([out_df, pred], axis=1).assign(method="zero-shot clap", model=described)
    output.parent.mkdir(parents=True, exist_ok=True)
    out_df.to_csv(output, index=False, float_format="%.6g")
    console.print(f"{len(out_df)} clip(s) predicted ZERO-SHOT (no rated data, accuracy "
                  f"unknown): {output}", highlight=False, markup=False, soft_wrap=True)
    console.print(described, highlight=False, markup=False, soft_wrap=True)


PREDICTION_FLAG_COLUMNS: tuple[str, ...] = (
    "ood_score", "ood_p", "ood", "extrapolated", "clamped", "flag_reason"
)
"""Columns of ``predictions.csv`` after the targets and ``raw_<target>`` columns."""


def flag_summary(pred: pd.DataFrame, *, alpha: float | None, show: int = 5) -> list[str]:
    """Lines telling how many clips were flagged out of distribution, extrapolated or
    clamped, and why (the first ``show`` clips of each)."""
    def names(mask: pd.Series) -> str:
        files = [Path(str(f)).name for f in pred.loc[mask, "audio_file"]]
        more = f" and {len(files) - show} more" if len(files) > show else ""
        return ", ".join(files[:show]) + more

    n = len(pred)
    if alpha is None:
        lines = ["warning: this model has no out-of-distribution calibration (saved by an "
                 "older emoconvey): nothing tells whether these clips resemble its training "
                 "data; retrain it"]
    else:
        ood = pred["ood"].fillna(False).astype(bool)
        lines = [f"out of distribution: {int(ood.sum())} of {n} clip(s) farther from the "
                 f"training set than the model's own held-out clips at the {alpha:g} level "
                 f"(about {alpha * n:.1f} expected by chance)"
                 + (f": {names(ood)}" if ood.any() else "")]
    for col, what in (("extrapolated", "predicted outside the range of the training targets"),
                      ("clamped", "predicted outside the rating scale and clamped to it")):
        mask = pred[col].astype(bool)
        if mask.any():
            lines.append(f"{col}: {int(mask.sum())} of {n} clip(s) {what}: {names(mask)}")
    if len(lines) > 1 or (alpha is not None and pred["ood"].fillna(False).astype(bool).any()):
        lines.append("the reasons are in the flag_reason column; flagged predictions are "
                     "not to be trusted")
    return lines


def write_answer(pred: pd.DataFrame, path: Path, *, targets: tuple[str, ...]) -> None:
    """Write the AudioMOS ``answer.txt`` exactly as the track-1 baseline does.

    One line ``<id>,<MI>,<TA>`` per clip: the id is the clip name cut at its first
    ``.``, each score the text of its 32-bit float (``str(numpy.float32(x))``, the
    baseline's model output type), in the order of ``pred``.
    """
    import numpy as np

    missing = [t for t in ("MI", "TA") if t not in targets]
    if missing:
        raise EmoconveyError(
            f"--format audiomos needs a model predicting MI and TA; this one predicts "
            f"{', '.join(targets)}"
        )
    lines = [f"{str(cid).split('.')[0]},{np.float32(mi)!s},{np.float32(ta)!s}\n"
             for cid, mi, ta in
             zip(pred["clip_id"], pred["MI"], pred["TA"], strict=True)]
    path.write_text("".join(lines))


__all__ = ["PREDICTION_FLAG_COLUMNS", "app", "flag_summary", "write_answer"]
