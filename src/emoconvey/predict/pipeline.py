"""Train a predictor on rated clips and run it on new audio (what the CLI calls)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emoconvey.data.formats import read_text_csv
from emoconvey.errors import DataValidationError, EmoconveyError
from emoconvey.predict.datasets import RatedClips, check_audio
from emoconvey.predict.extractors import Extractor, extract_features, get_extractor
from emoconvey.predict.metrics import audiomos_system_of, system_of
from emoconvey.predict.model import (
    DEFAULT_TEXT_TARGETS,
    Predictor,
    cross_validate,
    fit_predictor,
    load_predictor,
)
from emoconvey.predict.ood import OODDetector, extrapolation, flag_reasons
from emoconvey.predict.sequences import Sequences

__all__ = ["TrainResult", "audio_manifest", "featurise", "run_predictor", "train_predictor"]

log = logging.getLogger(__name__)

_AUDIO_EXT = (".wav", ".flac", ".mp3", ".ogg")


def _text_embeddings(extractor: Extractor, texts: Sequence[object], *, tokens: bool = False
                     ) -> np.ndarray | Sequences:
    """Embeddings of the distinct texts, one row per clip (missing text is an error).

    With ``tokens``, token-level features of a frame extractor as :class:`Sequences`.
    """
    clean = [None if t is None or (isinstance(t, float) and np.isnan(t)) else str(t)
             for t in texts]
    if any(t is None for t in clean):
        raise EmoconveyError(
            f"{sum(t is None for t in clean)} clip(s) have no prompt text, which the "
            "text-conditioned target(s) need (a 'text' column, or MusicEval's prompt files)"
        )
    uniq = sorted(set(clean))  # type: ignore[arg-type]
    pos = {t: i for i, t in enumerate(uniq)}
    if tokens:
        per_text = extractor.embed_text_tokens(uniq)  # type: ignore[attr-defined]
        return Sequences.from_list([per_text[pos[t]] for t in clean])  # type: ignore[index]
    emb = extractor.embed_texts(uniq)
    return emb[[pos[t] for t in clean]]  # type: ignore[index]


def featurise(
    extractor: Extractor,
    audio_files: Sequence[str],
    texts: Sequence[object] | None = None,
    *,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    progress: Callable[[int], None] | None = None,
    frames: bool = False,
) -> tuple[np.ndarray | Sequences, np.ndarray | Sequences | None, int]:
    """Audio features (cached), text embeddings when ``texts`` is given, and files extracted.

    With ``frames``, the frames of a frame-level extractor and the texts' token
    features, as :class:`~emoconvey.predict.sequences.Sequences` (for sequence heads).
    """
    if frames:
        from emoconvey.predict.extractors.frames import extract_frame_features

        seq, extracted, _ = extract_frame_features(
            extractor, list(audio_files), cache_dir=cache_dir,  # type: ignore[arg-type]
            use_cache=use_cache, progress=progress,
        )
        T = None if texts is None else _text_embeddings(extractor, texts, tokens=True)
        return seq, T, extracted
    feats = extract_features(extractor, list(audio_files), cache_dir=cache_dir,
                             use_cache=use_cache, progress=progress)
    T = None if texts is None else _text_embeddings(extractor, texts)
    return feats.matrix, T, feats.extracted


@dataclass
class TrainResult:
    """What :func:`train_predictor` produced."""

    model: Predictor
    metrics: pd.DataFrame
    heldout: pd.DataFrame
    extracted: int


def _extractor_info(extractor: Extractor) -> dict[str, object]:
    return {"id": extractor.id, "version": extractor.version, "options": extractor.options(),
            "cache_key": extractor.cache_key}


def train_predictor(
    data: RatedClips,
    *,
    extractor: Extractor | str = "handcrafted",
    head: str = "ridge",
    split: str = "by-system",
    seed: int = 0,
    folds: int | None = None,
    text_targets: Sequence[str] = DEFAULT_TEXT_TARGETS,
    n_boot: int = 1000,
    cache_dir: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
    out: str | Path | None = None,
    system_truth: str = "auto",
    head_params: dict[str, object] | None = None,
) -> TrainResult:
    """Extract features, evaluate on ``split`` and fit the model to save.

    ``head_params`` go to :func:`~emoconvey.predict.heads.make_head` (e.g. ``loss``,
    ``ensemble``). A sequence head (``temporal``) reads the frames of a frame-level
    extractor.

    The held-out metrics come from :func:`~emoconvey.predict.model.cross_validate`. The
    saved model is then fitted on the training part of a single split (``random``,
    ``official``), or on all the clips after a K-fold split (``by-system``,
    ``by-intent``). ``system_truth`` as in
    :func:`~emoconvey.predict.model.cross_validate`. With ``out`` the model folder is
    written there. ``progress(k)`` is
    called as files are featurised, ``on_stage(text)`` when a stage begins.
    """
    from emoconvey.predict.heads import get_head_class, make_head
    from emoconvey.predict.splits import make_folds

    # Check every option before the (long) extraction.
    frames = get_head_class(head).sequence_input
    make_head(head, **(head_params or {}))  # checks the options
    fold_list = make_folds(data.clips, split, seed=seed, k=folds)
    ext = get_extractor(extractor) if isinstance(extractor, str) else extractor
    if frames and not ext.frame_level:
        raise EmoconveyError(
            f"--head {head} reads frames: use a frame-level extractor (mel-frames, "
            f"clap-frames, mert, muq), not {ext.id}"
        )
    use_text = ext.supports_text and any(t in text_targets for t in data.targets)
    if not use_text and any(t in text_targets for t in data.targets):
        log.info("extractor %s has no text tower: %s predicted from audio only", ext.id,
                 ", ".join(t for t in data.targets if t in text_targets))
    X, T, extracted = featurise(
        ext, data.clips["audio_file"].tolist(),
        data.clips["text"].tolist() if use_text else None,
        cache_dir=cache_dir, progress=progress, frames=frames,
    )
    if on_stage is not None:
        on_stage(f"cross-validating {head} ({split}, {len(fold_list)} fold(s))")
    metrics, heldout = cross_validate(
        data, X, T, split=split, head=head, text_targets=text_targets, seed=seed, folds=folds,
        n_boot=n_boot, system_truth=system_truth, head_params=head_params,
    )
    rows = fold_list[0].train if len(fold_list) == 1 else None
    if on_stage is not None:
        on_stage(f"fitting the {head} model")
    model = fit_predictor(
        data, X, T, extractor=_extractor_info(ext), head=head, text_targets=text_targets,
        seed=seed, rows=rows, head_params=head_params,
        info={"split": split, "folds": len(fold_list),
              "trained_on": "train part of the split" if rows is not None else "all clips"},
    )
    model.metrics = metrics.to_dict("records")
    model.ood = _fit_ood(data, X, rows, seed=seed)
    if out is not None:
        model.save(out)
        heldout.to_csv(Path(out) / "heldout_predictions.csv", index=False)
    return TrainResult(model, metrics, heldout, extracted)


def _fit_ood(data: RatedClips, X: np.ndarray | Sequences, rows: np.ndarray | None, *,
             seed: int) -> OODDetector | None:
    """The OOD detector on the clips the model was fitted on (None, with a warning, when
    there are too few to calibrate it)."""
    idx = np.arange(len(X)) if rows is None else np.asarray(rows)
    if len(idx) < 10:
        log.warning("only %d training clips: too few to calibrate the out-of-distribution "
                    "check (10 needed); predictions will carry no OOD flags", len(idx))
        return None
    clips = data.clips.iloc[idx]
    return OODDetector.fit(ood_features(X[idx]), groups=clips["system"].to_numpy(),
                           targets=clips[list(data.targets)], seed=seed)


def audio_manifest(audio: str | Path, *, system: str | None = None) -> pd.DataFrame:
    """Clips to predict: every audio file under a folder, or a CSV manifest.

    Returns ``audio_file`` (absolute), ``clip_id``, ``system``, ``intent`` and ``text``.
    A ``.txt`` file is a MusicEval evaluation list (``eval_list.txt``, one clip id per
    line; audio in the release's ``wav/``, see
    :func:`emoconvey.data.musiceval.read_eval_list`), its systems parsed from the ids by
    the baseline's rule. A CSV needs ``audio_file`` (relative to the CSV's folder) and may
    give ``system``, ``intent`` and ``text``. Otherwise a clip's system is, in this order:
    the manifest's ``system`` column; ``system`` (``--system NAME``); the sub-folder of
    ``<system>/<clip>.wav``; an AImoclips-style name ``<system>_<intent>_<n>`` (with an
    AImoclips intent); a MusicEval id ``[audiomos2025-track1-]S<nnn>_P<nnn>``. Nothing
    else is guessed: a clip with no system is an error. The intent comes from the
    manifest's ``intent`` column, else from ``<system>_<intent>_<n>`` names.
    """
    from emoconvey.data import parse_clip_names
    from emoconvey.intents import aimoclips_intents

    audio = Path(audio)
    if audio.is_file() and audio.suffix.lower() == ".txt":
        from emoconvey.data.musiceval import read_eval_list

        df = read_eval_list(audio)
        df["system"] = df["clip_id"].map(system_of)
        df["text"], df["folder"] = None, None
    elif audio.is_dir():
        files = sorted(p for p in audio.rglob("*") if p.suffix.lower() in _AUDIO_EXT)
        if not files:
            raise EmoconveyError(f"--audio: no .wav/.flac/.mp3/.ogg file under {str(audio)!r}")
        df = pd.DataFrame({
            "audio_file": [str(f.resolve()) for f in files],
            "clip_id": [f.stem for f in files],
            "folder": [f.relative_to(audio).parts[-2] if len(f.relative_to(audio).parts) >= 2
                       else None for f in files],
        })
        df["system"], df["text"] = None, None
    elif audio.is_file():
        df = _read_manifest(audio)
        df["folder"] = None
    else:
        raise EmoconveyError(f"--audio: {str(audio)!r} is neither a folder nor a CSV file")
    parsed = parse_clip_names(df["clip_id"], aimoclips_intents()["intent"])
    if "intent" not in df:
        df["intent"] = parsed["intent"].astype(object).where(parsed["intent"].notna(), None)
    if system is not None:
        if not str(system).strip():
            raise EmoconveyError("--system: expected a system name, got an empty string")
        df["system"] = df["system"].where(df["system"].notna(), str(system).strip())
    for guess in (df["folder"], parsed["system"].astype(object),
                  df["clip_id"].map(audiomos_system_of)):
        df["system"] = df["system"].where(df["system"].notna(), guess)
    df["system"] = df["system"].astype(object).where(df["system"].notna(), None)
    missing = df["system"].isna()
    if missing.any():
        examples = ", ".join(repr(Path(f).name) for f in df.loc[missing, "audio_file"].head(3))
        raise EmoconveyError(
            f"{int(missing.sum())} of {len(df)} clip(s) have no system (e.g. {examples}): "
            "systems are read only from <system>_<intent>_<n> file names, <system>/ "
            "sub-folders or a manifest's system column; give --system NAME when all the "
            "clips come from one system"
        )
    df["clip_id"] = df["clip_id"].str.replace(r"_crop$", "", regex=True)
    return df.drop(columns="folder")


def _read_manifest(path: Path) -> pd.DataFrame:
    """``audio_file`` (absolute), ``clip_id``, ``system``, ``text`` [, ``intent``] of a CSV."""
    raw = read_text_csv(path, name="--audio")
    if "audio_file" not in raw:
        raise DataValidationError(
            "missing column 'audio_file'; expected audio_file and optionally system, "
            "intent, text", file=path,
        )
    if not len(raw):
        raise DataValidationError("no data rows", file=path)
    paths = [Path(p.strip()) for p in raw["audio_file"]]
    df = pd.DataFrame({
        "audio_file": [str(p if p.is_absolute() else (path.parent / p).resolve())
                       for p in paths],
        "clip_id": [p.stem for p in paths],
    })
    df["system"] = raw["system"].str.strip().replace("", None) if "system" in raw else None
    if "intent" in raw:
        df["intent"] = raw["intent"].str.strip().replace("", None)
    df["text"] = raw["text"].replace("", None) if "text" in raw else None
    return df


def run_predictor(
    model: Predictor | str | Path,
    audio: str | Path | pd.DataFrame,
    *,
    cache_dir: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
    extractor: Extractor | None = None,
    ood_alpha: float | None = None,
) -> pd.DataFrame:
    """Predictions for new clips, with their out-of-distribution and extrapolation flags.

    Columns: ``audio_file``, ``clip_id``, ``system``, ``intent``, one column per target
    (clamped to the rating scale, except for heads that do not clip), ``<target>_sd`` for
    an ensemble (the members' spread), ``raw_<target>`` (before clamping), then
    ``ood_distance``, ``ood_score``, ``ood_p``, ``ood``, ``extrapolated``, ``clamped``
    and ``flag_reason`` (see :mod:`emoconvey.predict.ood`; the OOD columns are empty for a
    model saved without OOD calibration). ``ood_alpha`` overrides the model's nominal
    rate. Frame-level features are checked through their pooled statistics.
    """
    if not isinstance(model, Predictor):
        model = load_predictor(model)
    clips = audio if isinstance(audio, pd.DataFrame) else audio_manifest(audio)
    check_audio(clips["audio_file"].tolist())
    info = model.extractor
    ext = extractor or get_extractor(str(info["id"]), **dict(info.get("options", {})))
    if ext.version != str(info.get("version")):
        raise EmoconveyError(
            f"the model was trained on {info['id']} features version {info.get('version')}; "
            f"this emoconvey computes version {ext.version}: retrain the model"
        )
    X, T, _ = featurise(ext, clips["audio_file"].tolist(),
                        clips["text"].tolist() if model.needs_text else None,
                        cache_dir=cache_dir, progress=progress, frames=model.sequence_input)
    raw = model.predict_raw(X, T)
    scales = model.output_scales()
    out = clips[["audio_file", "clip_id", "system", "intent"]].reset_index(drop=True)
    for t in model.targets:
        lo, hi = scales[t]
        out[t] = np.clip(raw[t].to_numpy(float), lo, hi)
        if f"{t}_sd" in raw:
            out[f"{t}_sd"] = raw[f"{t}_sd"].to_numpy(float)
    for t in model.targets:
        out[f"raw_{t}"] = raw[t].to_numpy(float)
    det = model.ood
    if det is not None:
        if ood_alpha is not None:
            det = det.with_alpha(ood_alpha)
        flags = det.score(ood_features(X))
        ranges = det.target_ranges
    else:
        flags = pd.DataFrame({"ood_distance": np.nan, "ood_score": np.nan, "ood_p": np.nan,
                              "ood": pd.array([pd.NA] * len(out), dtype="boolean")})
        ranges = {}
    ex = extrapolation(raw[list(model.targets)], target_ranges=ranges, scales=scales)
    out = pd.concat([out, flags.reset_index(drop=True), ex], axis=1)
    out["flag_reason"] = flag_reasons(out, alpha=det.alpha if det is not None else np.nan)
    return out.drop(columns=["extrapolated_targets", "clamped_targets"])


def ood_features(X: np.ndarray | Sequences) -> np.ndarray:
    """What the OOD check measures: the features, or frame sequences' pooled statistics."""
    return X.pooled() if isinstance(X, Sequences) else np.asarray(X, dtype=np.float64)
