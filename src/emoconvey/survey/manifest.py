"""The clips of a study: a manifest CSV or the AImoclips release folder layout.

A manifest CSV has one row per clip with the columns ``system``, ``intent`` and ``file``
(a path relative to the clips folder); the AImoclips/generation-pipeline spellings
``model``, ``emotion`` and ``audio_file`` are accepted too. Without a manifest the clips
folder is scanned for the release layout ``music_clips/<Model>/<Model>_<emotion>_<n>.wav``
(the ``music_clips`` level is optional).
"""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath

import pandas as pd

from emoconvey.data.audio import parse_clip_names
from emoconvey.data.formats import read_csv
from emoconvey.errors import DataValidationError, EmoconveyError

__all__ = ["AUDIO_SUFFIXES", "load_manifest", "safe_relative", "scan_release_layout"]

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg")
_ALIASES = {"model": "system", "emotion": "intent", "audio_file": "file", "path": "file"}


def safe_relative(root: Path, rel: str, *, where: str) -> PurePosixPath:
    """Check that ``rel`` names a file inside ``root`` and return it as a POSIX path.

    Raises
    ------
    EmoconveyError
        When the path is absolute, climbs out of ``root`` or does not exist.
    """
    rel_path = PurePosixPath(str(rel).replace("\\", "/"))
    if rel_path.is_absolute() or ".." in rel_path.parts or not rel_path.parts:
        raise EmoconveyError(f"{where}: {rel!r} must be a path inside the clips folder")
    full = (root / rel_path).resolve()
    if not full.is_relative_to(root.resolve()):
        raise EmoconveyError(f"{where}: {rel!r} points outside the clips folder")
    if not full.is_file():
        raise EmoconveyError(f"{where}: audio file {str(root / rel_path)!r} does not exist")
    return rel_path


def load_manifest(
    clips_dir: str | Path,
    manifest: str | Path | None,
    intents: pd.DataFrame,
) -> pd.DataFrame:
    """Read the clips of a study.

    Parameters
    ----------
    clips_dir : path
        Folder holding the audio.
    manifest : path or None
        Manifest CSV; ``None`` scans ``clips_dir`` for the release layout.
    intents : DataFrame
        Intents table; every clip's intent must be one of them.

    Returns
    -------
    DataFrame
        ``clip`` (unique name, exported as ``audio_file``), ``system``, ``intent``,
        ``path`` (POSIX path relative to ``clips_dir``), sorted by system, intent, clip.
    """
    root = Path(clips_dir)
    if not root.is_dir():
        raise EmoconveyError(f"clips: folder {str(root)!r} does not exist")
    if manifest is None:
        df = scan_release_layout(root, intents)
        name = str(root)
    else:
        name = str(manifest)
        raw = read_csv(manifest, what="manifest")
        raw = raw.rename(columns={k: v for k, v in _ALIASES.items() if k in raw.columns})
        missing = [c for c in ("system", "intent", "file") if c not in raw.columns]
        if missing:
            raise DataValidationError(
                f"missing column(s) {', '.join(map(repr, missing))}; expected system, intent, "
                "file (or model, emotion, audio_file)",
                file=name,
            )
        rows = []
        for pos, rec in enumerate(raw.loc[:, ["system", "intent", "file"]].itertuples()):
            line = pos + 2
            for col in ("system", "intent", "file"):
                if not str(getattr(rec, col)).strip():
                    raise DataValidationError(
                        "expected a non-empty value", file=name, row=line, column=col
                    )
            try:
                rel = safe_relative(root, str(rec.file).strip(), where=f"{name}, line {line}")
            except EmoconveyError as exc:
                raise DataValidationError(str(exc).split(": ", 1)[-1], file=name, row=line,
                                          column="file") from None
            rows.append((rel.name, str(rec.system).strip(), str(rec.intent).strip(), str(rel)))
        df = pd.DataFrame(rows, columns=["clip", "system", "intent", "path"])
        known = set(intents["intent"])
        bad = ~df["intent"].isin(known)
        if bad.any():
            pos = int(bad.to_numpy().nonzero()[0][0])
            raise DataValidationError(
                f"unknown intent {df['intent'].iloc[pos]!r}; expected one of "
                f"{', '.join(intents['intent'])}",
                file=name,
                row=pos + 2,
                column="intent",
            )
        dup = df["clip"].duplicated()
        if dup.any():
            pos = int(dup.to_numpy().nonzero()[0][0])
            raise DataValidationError(
                f"clip name {df['clip'].iloc[pos]!r} appears twice; expected unique file names",
                file=name,
                row=pos + 2,
                column="file",
            )
    if df.empty:
        raise EmoconveyError(f"clips: no clips found in {name}")
    log.info("manifest %s: %d clips, %d systems, %d intents", name, len(df),
             df["system"].nunique(), df["intent"].nunique())
    return df.sort_values(["system", "intent", "clip"]).reset_index(drop=True)


def scan_release_layout(root: Path, intents: pd.DataFrame) -> pd.DataFrame:
    """Find clips stored as ``[music_clips/]<Model>/<Model>_<emotion>_<n>.wav``."""
    base = root / "music_clips" if (root / "music_clips").is_dir() else root
    files = sorted(
        p for p in base.glob("*/*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES
    )
    if not files:
        raise EmoconveyError(
            f"clips: no audio found as {str(base)!r}/<Model>/<Model>_<emotion>_<n>.wav; "
            "give a manifest CSV for other layouts"
        )
    parts = parse_clip_names([p.name for p in files], intents["intent"])
    rows = []
    for p, (_, part) in zip(files, parts.iterrows(), strict=True):
        if pd.isna(part["intent"]) or part["system"] != p.parent.name:
            raise EmoconveyError(
                f"clips: cannot read system and intent from {str(p)!r}; expected "
                f"<Model>/<Model>_<emotion>_<n>.wav with emotion one of "
                f"{', '.join(intents['intent'])}"
            )
        rows.append((p.name, part["system"], part["intent"],
                     p.relative_to(root).as_posix()))
    return pd.DataFrame(rows, columns=["clip", "system", "intent", "path"])
