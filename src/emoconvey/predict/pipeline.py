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
from emoconvey.predict.metrics import system_of
from emoconvey.predict.model import (
    DEFAULT_TEXT_TARGETS,
    Predictor,
    cross_validate,
    fit_predictor,
    load_predictor,
)
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
    folds: int = 5,
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
    if out is not None:
        model.save(out)
        heldout.to_csv(Path(out) / "heldout_predictions.csv", index=False)
    return TrainResult(model, metrics, heldout, extracted)


def audio_manifest(audio: str | Path) -> pd.DataFrame:
    """Clips to predict: every audio file under a folder, or a CSV manifest.

    A ``.txt`` file is a MusicEval evaluation list (``eval_list.txt``, one clip id per
    line; audio in the release's ``wav/``, see
    :func:`emoconvey.data.musiceval.read_eval_list`). A folder gives ``audio_file``
    (absolute), ``clip_id``, ``system`` (the sub-folder
    for ``<system>/<clip>.wav`` and ``music_clips/<system>/<clip>.wav``, else parsed from
    ``<system>_<rest>``) and ``intent`` (from AImoclips-style names
    ``<system>_<intent>_<n>``). A CSV needs ``audio_file`` (relative to the CSV's folder)
    and may give ``system``, ``intent`` and ``text``.
    """
    from emoconvey.data import parse_clip_names
    from emoconvey.intents import aimoclips_intents

    audio = Path(audio)
    if audio.is_file() and audio.suffix.lower() == ".txt":
        from emoconvey.data.musiceval import read_eval_list

        df = read_eval_list(audio)
        df["system"] = df["clip_id"].map(system_of)
        df["text"] = None
    elif audio.is_dir():
        files = sorted(p for p in audio.rglob("*") if p.suffix.lower() in _AUDIO_EXT)
        if not files:
            raise EmoconveyError(f"--audio: no .wav/.flac/.mp3/.ogg file under {str(audio)!r}")
        rows = []
        for f in files:
            rel = f.relative_to(audio)
            system = rel.parts[-2] if len(rel.parts) >= 2 else system_of(f.stem)
            rows.append({"audio_file": str(f.resolve()), "clip_id": f.stem, "system": system})
        df = pd.DataFrame(rows)
        df["text"] = None
    elif audio.is_file():
        raw = read_text_csv(audio, name="--audio")
        if "audio_file" not in raw:
            raise DataValidationError(
                "missing column 'audio_file'; expected audio_file and optionally system, "
                "intent, text", file=audio,
            )
        if not len(raw):
            raise DataValidationError("no data rows", file=audio)
        paths = [Path(p.strip()) for p in raw["audio_file"]]
        df = pd.DataFrame({
            "audio_file": [str(p if p.is_absolute() else (audio.parent / p).resolve())
                           for p in paths],
            "clip_id": [p.stem for p in paths],
        })
        df["system"] = (raw["system"].str.strip().replace("", None) if "system" in raw
                        else df["clip_id"].map(system_of))
        if "intent" in raw:
            df["intent"] = raw["intent"].str.strip().replace("", None)
        df["text"] = raw["text"].replace("", None) if "text" in raw else None
    else:
        raise EmoconveyError(f"--audio: {str(audio)!r} is neither a folder nor a CSV file")
    if "intent" not in df:
        parsed = parse_clip_names(df["clip_id"], aimoclips_intents()["intent"])
        df["intent"] = parsed["intent"].where(parsed["intent"].notna(), None)
        known = parsed["system"].notna()
        df.loc[known & df["system"].isna(), "system"] = parsed.loc[known, "system"]
    df["clip_id"] = df["clip_id"].str.replace(r"_crop$", "", regex=True)
    return df


def run_predictor(
    model: Predictor | str | Path,
    audio: str | Path | pd.DataFrame,
    *,
    cache_dir: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
    extractor: Extractor | None = None,
) -> pd.DataFrame:
    """Predictions for new clips: ``audio_file``, ``clip_id``, ``system``, ``intent``, targets.

    An ensemble model adds ``<target>_sd`` after each target (the members' spread).
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
    pred = model.predict(X, T)
    out = clips[["audio_file", "clip_id", "system", "intent"]].reset_index(drop=True)
    for col in pred.columns:
        out[col] = pred[col].to_numpy()
    return out

