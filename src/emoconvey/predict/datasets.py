"""Rated clips for training and evaluating a predictor.

Three sources give a :class:`RatedClips` (one row per clip with its audio file and its
target scores):

* :func:`from_aimoclips`: an AImoclips-format study (ratings, optional clips and intents
  files) plus the audio folder; targets are the clip means of ``valence`` and
  ``arousal`` (1-9), as :func:`emoconvey.data.load_dataset` computes them;
* :func:`from_musiceval`: the MusicEval / AudioMOS 2025 track 1 release layout; targets
  ``MI`` and ``TA`` (1-5), the prompt text of each clip, the official split from
  ``sets/<split>_mos_list.txt``;
* :func:`from_table`: a CSV with ``audio_file``, ``system`` and one numeric column per
  target (optional ``intent``, ``text``, ``prompt_id``, ``split``).

:func:`check_audio` rejects unreadable, empty and shorter-than-1-s audio, naming the file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from emoconvey.data.formats import read_text_csv
from emoconvey.errors import DataValidationError, EmoconveyError

__all__ = [
    "BASE_COLUMNS",
    "MIN_DURATION_S",
    "RatedClips",
    "check_audio",
    "from_aimoclips",
    "from_musiceval",
    "from_table",
]

log = logging.getLogger(__name__)

MIN_DURATION_S: float = 1.0
"""Audio shorter than this is rejected."""

BASE_COLUMNS: tuple[str, ...] = (
    "clip_id", "audio_file", "system", "intent", "prompt_id", "text", "split"
)
"""Columns every :attr:`RatedClips.clips` table has, before the target columns."""

_OPTIONAL = ("intent", "prompt_id", "text", "split")
_AUDIO_SUFFIX = re.compile(r"\.(?:wav|flac|mp3|ogg)$", re.IGNORECASE)


@dataclass(frozen=True)
class RatedClips:
    """Clips with audio and target scores.

    Attributes
    ----------
    clips : DataFrame
        Columns :data:`BASE_COLUMNS` (``audio_file`` an absolute path; ``intent``,
        ``prompt_id``, ``text`` and ``split`` missing where unknown), then one float column
        per target.
    targets : tuple of str
        The target columns.
    scales : dict
        ``target -> (low, high)`` of the rating scale, used to clip predictions.
    source : str
        Where the data came from.
    system_mos : DataFrame or None
        Released system scores (``system`` plus target columns), e.g. a MusicEval
        release's ``system_mos/system_mos_phase1.csv``: the system-level truth the
        official scorer uses. None when the data has none.
    """

    clips: pd.DataFrame
    targets: tuple[str, ...]
    scales: dict[str, tuple[float, float]] = field(default_factory=dict)
    source: str = ""
    system_mos: pd.DataFrame | None = None

    def data_hash(self) -> str:
        """SHA-256 over clip ids, systems and target values (the training data's identity)."""
        h = hashlib.sha256()
        cols = ["clip_id", "system", *self.targets]
        h.update(self.clips[cols].to_csv(index=False, float_format="%.6g").encode())
        return h.hexdigest()

    def select(self, targets: Sequence[str] | None) -> RatedClips:
        """The same clips restricted to ``targets`` (all when None)."""
        if targets is None:
            return self
        targets = tuple(targets)
        unknown = [t for t in targets if t not in self.targets]
        if not unknown and targets:
            keep = [*BASE_COLUMNS, *targets]
            return RatedClips(
                self.clips.loc[:, keep].copy(), targets,
                {t: self.scales[t] for t in targets if t in self.scales}, self.source,
                self.system_mos,
            )
        raise EmoconveyError(
            f"--targets: unknown target(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"this data has {', '.join(self.targets)}"
        )

    def __repr__(self) -> str:
        return (
            f"RatedClips({len(self.clips)} clips, {self.clips['system'].nunique()} systems, "
            f"targets {', '.join(self.targets)}; {self.source})"
        )


# ----------------------------------------------------------------------------- audio checks


def check_audio(paths: Sequence[str | Path], *, min_duration: float = MIN_DURATION_S) -> None:
    """Raise unless every file is readable audio of at least ``min_duration`` seconds.

    Reads only the header (``soundfile.info``).

    Raises
    ------
    DataValidationError
        Naming the file: missing, unreadable, empty or too short.
    """
    import soundfile as sf

    for p in paths:
        path = Path(p)
        if not path.is_file():
            raise DataValidationError("audio file not found", file=path)
        try:
            info = sf.info(str(path))
            frames, rate = int(info.frames), float(info.samplerate)
        except Exception as exc:
            raise DataValidationError(
                f"cannot read the audio ({type(exc).__name__}); expected a WAV, FLAC, OGG or "
                "MP3 file that libsndfile reads",
                file=path,
            ) from None
        if frames == 0:
            raise DataValidationError("the audio is empty (0 samples)", file=path)
        if frames / rate < min_duration:
            raise DataValidationError(
                f"the audio lasts {frames / rate:.2f} s; expected at least {min_duration:g} s",
                file=path,
            )


def _finish(
    clips: pd.DataFrame,
    targets: Sequence[str],
    scales: dict[str, tuple[float, float]],
    source: str,
    *,
    check: bool,
) -> RatedClips:
    for col in _OPTIONAL:
        if col not in clips:
            clips[col] = None
    clips = clips.loc[:, [*BASE_COLUMNS, *targets]].reset_index(drop=True)
    for t in targets:
        clips[t] = clips[t].astype(float)
    if check:
        check_audio(clips["audio_file"].tolist())
    return RatedClips(clips, tuple(targets), dict(scales), source)


# ----------------------------------------------------------------------------- AImoclips


def from_aimoclips(
    ratings: str | Path | pd.DataFrame,
    clips: str | Path | pd.DataFrame | None = None,
    intents: str | Path | pd.DataFrame | None = None,
    *,
    audio_root: str | Path,
    min_ratings: int = 4,
    check: bool = True,
) -> RatedClips:
    """Clip-mean valence and arousal of an AImoclips-format study, with the clips' audio.

    Parameters
    ----------
    ratings, clips, intents
        As :func:`emoconvey.data.load_dataset`.
    audio_root : path
        Folder holding the audio (``music_clips/<system>/<clip>.wav`` or flat).
    min_ratings : int, default 4
        Clips with fewer ratings are left out (as in the analysis).
    check : bool, default True
        Check every audio file (:func:`check_audio`).

    Raises
    ------
    DataValidationError
        Bad ratings/clips/intents rows (file, line, column), or a clip whose audio is not
        under ``audio_root``.
    """
    from emoconvey.data import load_dataset

    root = Path(audio_root)
    if not root.is_dir():
        raise EmoconveyError(f"--audio-root: {str(root)!r} is not a folder")
    ds = load_dataset(ratings, clips, intents, min_ratings=min_ratings, audio_root=root)
    table = ds.clips
    missing = table["audio_path"].isna()
    if missing.any():
        clip = table.loc[missing, "clip"].iloc[0]
        system = table.loc[missing, "system"].iloc[0]
        raise DataValidationError(
            f"no audio for clip {clip!r} under {root} ({int(missing.sum())} clip(s) missing); "
            f"expected music_clips/{system}/<clip>.wav, {system}/<clip>.wav or <clip>.wav",
            file=ds.source,
        )
    out = pd.DataFrame(
        {
            "clip_id": table["clip"].map(_stem).to_numpy(),
            "audio_file": table["audio_path"].to_numpy(),
            "system": table["system"].astype(str).to_numpy(),
            "intent": table["intent"].astype(str).to_numpy(),
            "text": table["intent"].astype(str).to_numpy(),
            "valence": table["valence"].to_numpy(float),
            "arousal": table["arousal"].to_numpy(float),
        }
    )
    scales = {"valence": (1.0, 9.0), "arousal": (1.0, 9.0)}
    return _finish(out, ["valence", "arousal"], scales, ds.source, check=check)


def _stem(name: object) -> str:
    stem = _AUDIO_SUFFIX.sub("", Path(str(name)).name)
    return stem[: -len("_crop")] if stem.endswith("_crop") else stem


# ----------------------------------------------------------------------------- plain CSV


def from_table(
    path: str | Path,
    *,
    audio_root: str | Path | None = None,
    targets: Sequence[str] | None = None,
    check: bool = True,
) -> RatedClips:
    """Rated clips from a CSV: ``audio_file``, ``system`` and one column per target.

    Parameters
    ----------
    path : path
        The CSV. Optional columns ``intent``, ``prompt_id``, ``text`` and ``split``; every
        other column is a target (or only ``targets``).
    audio_root : path, optional
        Folder the ``audio_file`` paths are relative to (default: the CSV's folder).
    targets : sequence of str, optional
        The target columns (default: every column not named above).
    check : bool, default True
        Check every audio file (:func:`check_audio`).
    """
    path = Path(path)
    raw = read_text_csv(path, name="--table")
    for col in ("audio_file", "system"):
        if col not in raw:
            raise DataValidationError(
                f"missing column {col!r}; expected audio_file, system and one column per "
                f"target; found {', '.join(map(repr, raw.columns))}",
                file=path,
            )
    if not len(raw):
        raise DataValidationError("no data rows; expected one row per clip", file=path)
    names = [c for c in raw.columns if c not in ("audio_file", "system", *_OPTIONAL)]
    if targets is None:
        targets = names
    targets = list(targets)
    if not targets:
        raise DataValidationError("no target column; expected one numeric column per target",
                                  file=path)
    for t in targets:
        if t not in raw:
            raise DataValidationError(
                f"missing target column {t!r}; found {', '.join(map(repr, raw.columns))}",
                file=path,
            )
    root = Path(audio_root) if audio_root is not None else path.parent
    out = pd.DataFrame({"audio_file": raw["audio_file"].str.strip()})
    for col in ("audio_file", "system"):
        blank = raw[col].str.strip().eq("")
        if blank.any():
            pos = int(np.flatnonzero(blank.to_numpy())[0])
            raise DataValidationError(f"empty {col}", file=path, row=pos + 2, column=col)
    out["system"] = raw["system"].str.strip()
    for t in targets:
        values = pd.to_numeric(raw[t].str.strip(), errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise DataValidationError(
                f"expected a number, found {raw[t].iloc[pos]!r}", file=path, row=pos + 2,
                column=t,
            )
        out[t] = values.to_numpy(float)
    for col in _OPTIONAL:
        if col in raw:
            stripped = raw[col].str.strip()
            out[col] = stripped.astype(object).where(stripped.ne(""), None)
    out["clip_id"] = out["audio_file"].map(_stem)
    dup = out["audio_file"].duplicated()
    if dup.any():
        pos = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataValidationError(
            f"audio file {out['audio_file'].iloc[pos]!r} listed twice; expected one row per clip",
            file=path, row=pos + 2, column="audio_file",
        )
    out["audio_file"] = [
        str(p if p.is_absolute() else (root / p).resolve()) for p in map(Path, out["audio_file"])
    ]
    scales = {
        t: (float(out[t].min()), float(out[t].max())) for t in targets
    }
    return _finish(out, targets, scales, str(path), check=check)


# ----------------------------------------------------------------------------- MusicEval


def from_musiceval(root: str | Path, *, check: bool = True) -> RatedClips:
    """Rated clips of a MusicEval / AudioMOS 2025 track 1 release folder.

    Targets ``MI`` (overall musical impression) and ``TA`` (textual alignment), both on
    1-5; ``text`` is the clip's prompt (``demo_prompt_info.txt`` first, then
    ``prompt_info.txt``); ``split`` the name of the ``sets/<split>_mos_list.txt`` file;
    :attr:`RatedClips.system_mos` the release's system MOS file
    (:func:`emoconvey.data.musiceval.system_mos_file`), when it has one.
    Read and validated by :func:`emoconvey.data.musiceval.load_musiceval` (errors name
    file, line and column).
    """
    from emoconvey.data.musiceval import load_musiceval, read_system_mos, system_mos_file

    root = Path(root)
    ds = load_musiceval(root)
    sys_file = system_mos_file(root)
    clips = ds.clips
    texts = dict(zip(ds.clip_prompts()["clip_id"], ds.clip_prompts()["text"], strict=True))
    out = pd.DataFrame(
        {
            "clip_id": clips["clip_id"].astype(str),
            "audio_file": [str((root / a).resolve()) for a in clips["audio_file"]],
            "system": clips["system"].astype(str),
            "prompt_id": clips["prompt_id"].astype(str),
            "split": clips["split"].astype(str),
            "MI": clips["MI"].astype(float),
            "TA": clips["TA"].astype(float),
        }
    )
    out["text"] = [texts.get(c) for c in out["clip_id"]]
    scales = {"MI": (1.0, 5.0), "TA": (1.0, 5.0)}
    data = _finish(out, ["MI", "TA"], scales, str(root), check=check)
    if sys_file is None:
        return data
    return dataclasses.replace(data, system_mos=read_system_mos(sys_file))
