"""Clip file names and audio paths.

The AImoclips CSVs name a clip ``<Model>_<emotion>_<n>_crop.wav`` while the audio release
stores it as ``music_clips/<Model>/<Model>_<emotion>_<n>.wav``. Both spellings name the
same clip.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

__all__ = ["audio_candidates", "clip_stem", "clip_stems", "parse_clip_names", "resolve_audio_paths"]

log = logging.getLogger(__name__)

_AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg")


def clip_stem(name: str) -> str:
    """The clip's name without folder, extension and ``_crop`` suffix."""
    stem = Path(str(name)).name
    for suffix in _AUDIO_SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    if stem.endswith("_crop"):
        stem = stem[: -len("_crop")]
    return stem


def parse_clip_names(names: Iterable[str], intents: Iterable[str]) -> pd.DataFrame:
    """Split clip file names of the form ``<system>_<intent>_<n>[_crop].wav``.

    The system name may itself contain underscores; the intent must be one of
    ``intents`` and ``n`` a positive integer. When several splits are possible the
    shortest system name wins (``my_sys_very_sad_3`` with intents ``sad`` and
    ``very_sad`` is system ``my_sys``, intent ``very_sad``).

    Returns
    -------
    DataFrame
        Indexed like ``names``, columns ``system``, ``intent``, ``file_index`` (Int64);
        all missing where the name does not follow the pattern.
    """
    names = pd.Series(list(names), dtype=str)
    if not len(names):
        return pd.DataFrame(columns=["system", "intent", "file_index"]).astype(
            {"file_index": "Int64"}
        )
    words = sorted({str(i) for i in intents}, key=len, reverse=True)
    if not words:
        return pd.DataFrame(
            {"system": pd.NA, "intent": pd.NA, "file_index": pd.NA}, index=names.index
        ).astype({"file_index": "Int64"})
    alternation = "|".join(re.escape(w) for w in words)
    # Clips share few "<system>_<intent>" prefixes: split off the index, then run the
    # (slow, backtracking) intent pattern once per distinct prefix.
    split = clip_stems(names).str.extract(r"^(?P<prefix>.+)_(?P<file_index>[0-9]+)$")
    prefixes = pd.Series(split["prefix"].dropna().unique(), dtype=str)
    pattern = rf"^(?P<system>.+?)_(?P<intent>{alternation})$"
    known = prefixes.str.extract(pattern).set_index(prefixes)
    parts = known.reindex(split["prefix"]).reset_index(drop=True)
    parts.index = names.index
    parts["file_index"] = pd.to_numeric(split["file_index"]).astype("Int64")
    parts.loc[parts["intent"].isna(), "file_index"] = pd.NA
    return parts


def clip_stems(names: pd.Series) -> pd.Series:
    """Vectorised :func:`clip_stem` over a Series of names."""
    pattern = r"^(?:.*[/\\])?(.*?)(?:_crop)?(?:\.(?i:wav|flac|mp3|ogg))?$"
    return names.astype(str).str.extract(pattern, expand=False)


def audio_candidates(clip: str, system: str) -> list[Path]:
    """Relative paths under which a clip's audio may be stored, most specific first."""
    name = Path(str(clip)).name
    stem = clip_stem(name)
    return [
        Path("music_clips") / system / f"{stem}.wav",
        Path(system) / f"{stem}.wav",
        Path("music_clips") / system / name,
        Path(system) / name,
        Path(name),
        Path(f"{stem}.wav"),
    ]


def resolve_audio_paths(clips: pd.DataFrame, root: str | Path) -> pd.Series:
    """Find each clip's audio file under ``root``.

    Both the release layout (``music_clips/<Model>/<Model>_<emotion>_<n>.wav``) and the
    CSV spelling (``..._crop.wav``) are tried, with or without the ``music_clips`` folder.

    Parameters
    ----------
    clips : DataFrame
        Columns ``clip`` and ``system``.
    root : str or Path
        Folder holding the audio.

    Returns
    -------
    Series of str
        Absolute path of each clip's audio, or missing where none was found (the number
        missing is logged).
    """
    root = Path(root)
    found: list[str | None] = []
    for clip, system in zip(clips["clip"], clips["system"], strict=True):
        hit = next(
            (root / p for p in audio_candidates(clip, system) if (root / p).is_file()), None
        )
        found.append(None if hit is None else str(hit.resolve()))
    out = pd.Series(found, index=clips.index, dtype=object, name="audio_path")
    missing = int(out.isna().sum())
    if missing:
        log.warning("audio not found under %s for %d of %d clips", root, missing, len(out))
    return out
