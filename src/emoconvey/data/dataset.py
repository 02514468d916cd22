"""Load, validate, summarise and write AImoclips-format rating data.

A :class:`Dataset` holds three long-format tables (ratings, clips, intents) and the list
of clips excluded by the benchmark's rule (clips with fewer than ``min_ratings`` ratings;
AImoclips drops clips with 3 or fewer, i.e. ``min_ratings=4``).

Clip means and counts are always derived from the individual ratings. When a clips file
is given too, its ``valence``, ``arousal`` (rounded to 3 decimals in the release) and
``num_annotators`` are checked against what the ratings give.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from emoconvey._validation import (
    AXES,
    SCALE_MAX,
    SCALE_MIN,
    check_positive_int,
    file_line,
    raise_at_first,
    require_columns,
    require_unique,
)
from emoconvey.data.audio import parse_clip_names, resolve_audio_paths
from emoconvey.data.formats import (
    CLIPS_COLUMNS,
    CLIPS_FILE,
    EXCLUDED_COLUMNS,
    INTENTS_FILE,
    RATINGS_COLUMNS,
    RATINGS_FILE,
    read_csv,
)
from emoconvey.errors import DataValidationError, EmoconveyError
from emoconvey.intents import aimoclips_intents, validate_intents

__all__ = [
    "DEFAULT_MIN_RATINGS",
    "Dataset",
    "bundled_path",
    "derive_clips",
    "load_aimoclips",
    "load_dataset",
    "read_clips",
    "read_intents",
    "read_ratings",
    "write_dataset",
]

log = logging.getLogger(__name__)

DEFAULT_MIN_RATINGS = 4
"""Clips with fewer ratings than this are excluded (AImoclips: 3 or fewer are dropped)."""

# The release rounds clip means to 3 decimals: allow half a unit in the last place.
_MEAN_TOLERANCE = 0.0005 + 1e-9

BUNDLED_NAME = "AImoclips (Go et al., 2025; CC BY 4.0)"


@dataclass(frozen=True)
class Dataset:
    """Validated AImoclips-format data.

    Attributes
    ----------
    ratings : DataFrame
        One row per rating of an included clip: ``listener``, ``clip``, ``system``,
        ``intent``, ``quadrant``, ``valence``, ``arousal`` (integers 1-9).
    clips : DataFrame
        One row per included clip: ``clip``, ``system``, ``intent``, ``quadrant``,
        ``file_index``, ``n_ratings``, ``valence`` and ``arousal`` (mean ratings),
        ``norm_valence`` and ``norm_arousal`` (the intent's targets), and
        ``audio_path`` when audio was resolved.
    intents : DataFrame
        ``intent``, ``quadrant``, ``norm_valence``, ``norm_arousal``.
    excluded : DataFrame
        Clips left out of the analysis: ``clip``, ``system``, ``intent``, ``n_ratings``,
        ``reason``.
    min_ratings : int
        The exclusion threshold used.
    source : str
        Where the data came from, for reports.
    """

    ratings: pd.DataFrame
    clips: pd.DataFrame
    intents: pd.DataFrame
    excluded: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=list(EXCLUDED_COLUMNS))
    )
    min_ratings: int = DEFAULT_MIN_RATINGS
    source: str = ""

    @property
    def systems(self) -> list[str]:
        """Systems in order of first appearance in the clips table."""
        return list(pd.unique(self.clips["system"]))

    @property
    def listeners(self) -> list[str]:
        """Listeners in order of first appearance."""
        return list(pd.unique(self.ratings["listener"]))

    def __repr__(self) -> str:
        return (
            f"Dataset({len(self.clips)} clips, {len(self.ratings)} ratings, "
            f"{self.ratings['listener'].nunique()} listeners, {len(self.systems)} systems, "
            f"{len(self.intents)} intents, {len(self.excluded)} excluded; {self.source})"
        )


# ----------------------------------------------------------------------------- readers


def _strip_text(df: pd.DataFrame, columns: Iterable[str], *, name: str) -> None:
    """Strip whitespace in text columns in place and raise on the first blank cell.

    Works on the distinct values only (10^6 ratings have ~10^4 listeners and ~10^5 clips).
    """
    for col in columns:
        codes, uniques = pd.factorize(df[col], use_na_sentinel=True)
        stripped = pd.Series(uniques, dtype=object).astype(str).str.strip()
        blank_codes = np.flatnonzero(stripped.to_numpy() == "")
        blank = codes < 0
        if len(blank_codes):
            blank |= np.isin(codes, blank_codes)
        raise_at_first(blank, lambda _: "expected a non-empty value", name=name, column=col)
        df[col] = stripped.to_numpy()[codes]


def _parse_scores(df: pd.DataFrame, *, name: str) -> None:
    """Turn the rating columns into integers 1-9 in place, or raise naming the cell."""
    for col in AXES:
        num = pd.to_numeric(df[col], errors="coerce")
        if num.isna().any() and not pd.api.types.is_numeric_dtype(df[col]):
            # text column: retry with whitespace stripped before calling a cell bad
            num = pd.to_numeric(df[col].astype(str).str.strip(), errors="coerce")
        bad = num.isna() | (num != np.round(num)) | (num < SCALE_MIN) | (num > SCALE_MAX)
        raise_at_first(bad, lambda pos, col=col: (
            f"expected an integer rating from {SCALE_MIN} to {SCALE_MAX}, "
            f"found {str(df[col].iloc[pos]).strip()!r}"
        ), name=name, column=col)
        df[col] = num.astype(np.int64)


def read_ratings(path: str | Path) -> pd.DataFrame:
    """Read a ``ratings_metadata.csv`` file.

    Columns ``user``, ``audio_file``, ``valence``, ``arousal`` are required; ``model``
    and ``emotion`` are optional and, when present, are checked against the file name.
    Ratings must be integers from 1 to 9 and each listener may rate a clip once.

    Returns
    -------
    DataFrame
        ``listener``, ``clip``, ``valence``, ``arousal`` (+ ``system``, ``intent`` when
        the file has ``model``/``emotion``), in file order with the default index, so
        that row ``i`` is on line ``i + 2`` of the file.
    """
    return _ratings_from_text(read_csv(path, what="ratings", numeric=AXES), name=str(path))


def _ratings_from_text(raw: pd.DataFrame, name: str) -> pd.DataFrame:
    require_columns(raw, ["user", "audio_file", "valence", "arousal"], name=name)
    keep = ["user", "audio_file", "valence", "arousal"] + [
        c for c in ("model", "emotion") if c in raw.columns
    ]
    df = raw.loc[:, keep].rename(
        columns={"user": "listener", "audio_file": "clip", "model": "system", "emotion": "intent"}
    )
    _strip_text(df, [c for c in df.columns if c not in AXES], name=name)
    _parse_scores(df, name=name)
    require_unique(df[["listener", "clip"]], lambda pos, first: (
        f"listener {df['listener'].iloc[pos]!r} rated clip {df['clip'].iloc[pos]!r} twice "
        f"(first on line {file_line(first)}); expected one rating per listener and clip"
    ), name=name, column="audio_file")
    return df.reset_index(drop=True)


def read_clips(path: str | Path) -> pd.DataFrame:
    """Read a ``clips_metadata.csv`` file.

    Columns ``audio_file``, ``model`` and ``emotion`` are required; ``file_index``,
    ``valence``, ``arousal`` and ``num_annotators`` are optional and checked when
    present. ``index`` is ignored (it is rewritten on output).

    Returns
    -------
    DataFrame
        ``clip``, ``system``, ``intent`` and whichever of ``file_index``,
        ``valence``, ``arousal``, ``n_ratings`` the file has, in file order.
    """
    return _clips_from_text(read_csv(path, what="clips"), name=str(path))


def _clips_from_text(raw: pd.DataFrame, name: str) -> pd.DataFrame:
    require_columns(raw, ["audio_file", "model", "emotion"], name=name)
    optional = [c for c in ("file_index", "valence", "arousal", "num_annotators") if c in raw]
    df = raw.loc[:, ["audio_file", "model", "emotion", *optional]].rename(
        columns={
            "audio_file": "clip",
            "model": "system",
            "emotion": "intent",
            "num_annotators": "n_ratings",
        }
    )
    _strip_text(df, ["clip", "system", "intent"], name=name)
    for col, kind in (
        ("file_index", "int"),
        ("n_ratings", "int"),
        ("valence", "mean"),
        ("arousal", "mean"),
    ):
        if col not in df:
            continue
        text = df[col].astype(str).str.strip()
        num = pd.to_numeric(text, errors="coerce")
        if kind == "int":
            bad = num.isna() | (num != np.round(num)) | (num < 0)
            expected = "a non-negative integer"
        else:
            bad = num.isna() | (num < SCALE_MIN) | (num > SCALE_MAX)
            expected = f"a mean rating from {SCALE_MIN} to {SCALE_MAX}"
        raise_at_first(bad, lambda pos, expected=expected, text=text: (
            f"expected {expected}, found {text.iloc[pos]!r}"
        ), name=name, column="num_annotators" if col == "n_ratings" else col)
        df[col] = num.astype(np.int64) if kind == "int" else num.astype(float)
    require_unique(df["clip"], lambda pos, _: (
        f"clip {df['clip'].iloc[pos]!r} is listed twice; expected one row per clip"
    ), name=name, column="audio_file")
    return df.reset_index(drop=True)


def read_intents(path: str | Path) -> pd.DataFrame:
    """Read an ``emotion_intents_metadata.csv`` file (columns ``quadrant``, ``emotion``,
    ``gt_valence``, ``gt_arousal``) into an intents table."""
    name = str(path)
    raw = read_csv(path, what="intents")
    require_columns(raw, ["quadrant", "emotion", "gt_valence", "gt_arousal"], name=name)
    df = raw.rename(
        columns={"emotion": "intent", "gt_valence": "norm_valence", "gt_arousal": "norm_arousal"}
    )
    try:
        return validate_intents(df, name=name)
    except DataValidationError as exc:
        # report the release's column names, not the internal ones
        column = {"intent": "emotion", "norm_valence": "gt_valence", "norm_arousal": "gt_arousal"}
        raise DataValidationError(
            exc.reason, file=exc.file, row=exc.row, column=column.get(exc.column, exc.column)
        ) from None


# ----------------------------------------------------------------------------- checks


def _check_names(
    df: pd.DataFrame, intents: pd.DataFrame, *, name: str, system_col: str, intent_col: str
) -> pd.DataFrame:
    """Check that file names agree with the system/intent columns.

    Names of the form ``<system>_<intent>_<n>[_crop].wav`` must match the row's columns;
    free-form names are accepted as they are. Returns the parsed parts.
    """
    unique = pd.Series(pd.unique(df["clip"]))
    parsed = parse_clip_names(unique, intents["intent"]).set_index(unique)
    parts = parsed.reindex(df["clip"]).reset_index(drop=True)
    for col, release in ((system_col, "model"), (intent_col, "emotion")):
        key = "system" if col == system_col else "intent"
        if col not in df:
            continue
        clash = parts[key].notna() & (parts[key] != df[col])
        raise_at_first(clash, lambda pos, col=col, key=key, release=release: (
            f"file name {df['clip'].iloc[pos]!r} names {key} {parts[key].iloc[pos]!r} "
            f"but the {release} column says {df[col].iloc[pos]!r}"
        ), name=name, column=release)
    if "file_index" in df:
        clash = parts["file_index"].notna() & (parts["file_index"] != df["file_index"])
        raise_at_first(clash, lambda pos: (
            f"file name {df['clip'].iloc[pos]!r} has index {parts['file_index'].iloc[pos]} "
            f"but the file_index column says {df['file_index'].iloc[pos]}"
        ), name=name, column="file_index")
    return parts


def _check_known_intents(
    df: pd.DataFrame, intents: pd.DataFrame, *, name: str, column: str = "emotion"
) -> None:
    unknown = ~df["intent"].isin(intents["intent"])
    raise_at_first(unknown, lambda pos: (
        f"unknown intent {df['intent'].iloc[pos]!r}; expected one of "
        f"{', '.join(intents['intent'])} (give an intents file for other intents)"
    ), name=name, column=column)


def derive_clips(ratings: pd.DataFrame, intents: pd.DataFrame) -> pd.DataFrame:
    """Clip-level means and counts from individual ratings.

    Parameters
    ----------
    ratings : DataFrame
        Long format with ``clip``, ``system``, ``intent``, ``valence``, ``arousal``, and
        optionally ``file_index`` (otherwise parsed from the clip name).
    intents : DataFrame
        Intents table giving each intent's quadrant and norms.

    Returns
    -------
    DataFrame
        Columns as :attr:`Dataset.clips`, one row per clip in order of first appearance;
        ``file_index`` is parsed from the name where it follows the release pattern.
    """
    require_columns(ratings, ["clip", "system", "intent", *AXES], name="ratings")
    grouped = ratings.groupby("clip", sort=False)
    clips = grouped.agg(
        system=("system", "first"),
        intent=("intent", "first"),
        n_ratings=("valence", "size"),
        valence=("valence", "mean"),
        arousal=("arousal", "mean"),
    ).reset_index()
    nsys = grouped["system"].nunique()
    nint = grouped["intent"].nunique()
    if (nsys > 1).any() or (nint > 1).any():
        bad = nsys.index[(nsys > 1) | (nint > 1)][0]
        raise EmoconveyError(f"ratings: clip {bad!r} is attributed to several systems or intents")
    if "file_index" in ratings:
        clips["file_index"] = grouped["file_index"].first().to_numpy()
    else:
        clips["file_index"] = parse_clip_names(clips["clip"], intents["intent"])["file_index"]
    return _attach_intents(clips, intents)


def _attach_intents(clips: pd.DataFrame, intents: pd.DataFrame) -> pd.DataFrame:
    norms = intents.set_index("intent")
    out = clips.copy()
    out["quadrant"] = out["intent"].map(norms["quadrant"])
    out["norm_valence"] = out["intent"].map(norms["norm_valence"]).astype(float)
    out["norm_arousal"] = out["intent"].map(norms["norm_arousal"]).astype(float)
    out["n_ratings"] = out["n_ratings"].astype(np.int64)
    out["file_index"] = out["file_index"].astype("Int64")
    extra = [c for c in out.columns if c not in CLIPS_COLUMNS]
    return out.loc[:, [*CLIPS_COLUMNS, *extra]]


def _reconcile(
    clips_file: pd.DataFrame,
    derived: pd.DataFrame,
    *,
    name: str,
) -> pd.DataFrame:
    """Check a clips file against clip statistics derived from ratings; return the table."""
    stats = derived.set_index("clip")
    n = clips_file["clip"].map(stats["n_ratings"]).fillna(0).astype(np.int64)
    if "n_ratings" in clips_file:
        wrong = clips_file["n_ratings"] != n
        raise_at_first(wrong, lambda pos: (
            f"clip {clips_file['clip'].iloc[pos]!r} has num_annotators "
            f"{clips_file['n_ratings'].iloc[pos]} but the ratings file has {n.iloc[pos]} "
            "ratings for it"
        ), name=name, column="num_annotators")
    for axis in AXES:
        if axis not in clips_file:
            continue
        mean = clips_file["clip"].map(stats[axis])
        wrong = mean.notna() & ((clips_file[axis] - mean).abs() > _MEAN_TOLERANCE)
        raise_at_first(wrong, lambda pos, axis=axis, mean=mean: (
            f"clip {clips_file['clip'].iloc[pos]!r} has mean {axis} "
            f"{clips_file[axis].iloc[pos]} but its ratings average {mean.iloc[pos]:.4f}"
        ), name=name, column=axis)
    out = clips_file.loc[:, ["clip", "system", "intent"]].copy()
    out["file_index"] = clips_file.get("file_index", pd.NA)
    out["n_ratings"] = n
    for axis in AXES:
        out[axis] = clips_file["clip"].map(stats[axis]).astype(float)
    return out


def _exclude(
    clips: pd.DataFrame, min_ratings: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    low = clips["n_ratings"] < min_ratings
    excluded = clips.loc[low, ["clip", "system", "intent", "n_ratings"]].copy()
    excluded["reason"] = np.where(
        excluded["n_ratings"] == 0,
        "no ratings",
        f"fewer than {min_ratings} ratings",
    )
    return clips.loc[~low].reset_index(drop=True), excluded.reset_index(drop=True)


# ----------------------------------------------------------------------------- loaders


def load_dataset(
    ratings: str | Path | pd.DataFrame,
    clips: str | Path | pd.DataFrame | None = None,
    intents: str | Path | pd.DataFrame | None = None,
    *,
    min_ratings: int = DEFAULT_MIN_RATINGS,
    audio_root: str | Path | None = None,
    source: str | None = None,
) -> Dataset:
    """Load and validate AImoclips-format data.

    Parameters
    ----------
    ratings : path or DataFrame
        ``ratings_metadata.csv`` (``user``, ``audio_file``, ``valence``, ``arousal``), or a
        DataFrame with those columns or with ``listener``, ``clip``, ``valence``,
        ``arousal``.
    clips : path or DataFrame, optional
        ``clips_metadata.csv``. Without it, each clip's system, intent and index are read
        from its file name (``<system>_<intent>_<n>[_crop].wav``).
    intents : path or DataFrame, optional
        ``emotion_intents_metadata.csv``; defaults to the 12 AImoclips intents.
    min_ratings : int, default 4
        Clips with fewer ratings are excluded and listed in :attr:`Dataset.excluded`
        (AImoclips drops clips with 3 or fewer ratings).
    audio_root : path, optional
        Folder holding the audio (release layout ``music_clips/<Model>/...`` or flat);
        adds an ``audio_path`` column to the clips table.
    source : str, optional
        Description used in reports; defaults to the ratings file path.

    Returns
    -------
    Dataset

    Raises
    ------
    DataValidationError
        For every kind of bad input, naming file, line and column: missing columns,
        empty files, ratings that are not integers from 1 to 9, a listener rating a
        clip twice, unknown intents, ratings of clips absent from the clips file, file
        names that contradict their model/emotion columns, clip means or counts that
        disagree with the ratings.
    """
    min_ratings = check_positive_int(min_ratings, name="min_ratings")
    intents_df = _load_intents(intents)
    ratings_df, rname = _load_ratings(ratings)

    if clips is None:
        parts = _check_names(ratings_df, intents_df, name=rname, system_col="system",
                             intent_col="intent")
        raise_at_first(parts["intent"].isna(), lambda pos: (
            f"cannot tell the system and intent of clip {ratings_df['clip'].iloc[pos]!r}: "
            f"expected a name '<system>_<intent>_<n>.wav' with intent one of "
            f"{', '.join(intents_df['intent'])}, or give a clips file"
        ), name=rname, column="audio_file")
        for col in ("system", "intent"):
            if col not in ratings_df:
                ratings_df[col] = parts[col].to_numpy()
        _check_known_intents(ratings_df, intents_df, name=rname)
        clip_table = derive_clips(
            ratings_df.assign(file_index=parts["file_index"].to_numpy()), intents_df
        )
        clips_name = rname
    else:
        clips_df, clips_name = _load_clips(clips)
        _check_known_intents(clips_df, intents_df, name=clips_name)
        _check_names(clips_df, intents_df, name=clips_name, system_col="system",
                     intent_col="intent")
        index = clips_df.set_index("clip")
        absent = ~ratings_df["clip"].isin(index.index)
        raise_at_first(absent, lambda pos: (
            f"clip {ratings_df['clip'].iloc[pos]!r} is rated but not listed in the clips "
            f"file {clips_name}; expected every rated clip to be in the clips file"
        ), name=rname, column="audio_file")
        for col in ("system", "intent"):
            attributed = ratings_df["clip"].map(index[col])
            if col in ratings_df:
                clash = ratings_df[col] != attributed
                raise_at_first(clash, lambda pos, attributed=attributed, col=col: (
                    f"the ratings file says {col} {ratings_df[col].iloc[pos]!r} for clip "
                    f"{ratings_df['clip'].iloc[pos]!r} but the clips file says "
                    f"{attributed.iloc[pos]!r}"
                ), name=rname, column="model" if col == "system" else "emotion")
            ratings_df[col] = attributed.to_numpy()
        derived = derive_clips(ratings_df, intents_df)
        reconciled = _reconcile(clips_df, derived, name=clips_name)
        if reconciled["file_index"].isna().all():
            reconciled["file_index"] = parse_clip_names(
                reconciled["clip"], intents_df["intent"]
            )["file_index"]
        clip_table = _attach_intents(reconciled, intents_df)

    kept, excluded = _exclude(clip_table, min_ratings)
    if len(excluded):
        log.info(
            "excluded %d clip(s) with fewer than %d ratings", len(excluded), min_ratings
        )
    rating_rows = ratings_df[ratings_df["clip"].isin(kept["clip"])]
    rating_rows = rating_rows.assign(
        quadrant=rating_rows["intent"].map(intents_df.set_index("intent")["quadrant"])
    ).loc[:, list(RATINGS_COLUMNS)].reset_index(drop=True)
    if audio_root is not None:
        kept = kept.assign(audio_path=resolve_audio_paths(kept, audio_root))
    return Dataset(
        ratings=rating_rows,
        clips=kept,
        intents=intents_df,
        excluded=excluded,
        min_ratings=min_ratings,
        source=source if source is not None else rname,
    )


def _load_intents(intents: str | Path | pd.DataFrame | None) -> pd.DataFrame:
    if intents is None:
        return aimoclips_intents()
    if isinstance(intents, pd.DataFrame):
        df = intents.rename(
            columns={"emotion": "intent", "gt_valence": "norm_valence",
                     "gt_arousal": "norm_arousal"}
        )
        return validate_intents(df, name="intents")
    return read_intents(intents)


def _frame_to_text(df: pd.DataFrame, renames: dict[str, str], *, name: str) -> pd.DataFrame:
    """Make an in-memory table look like a file read as text, so one validator serves both."""
    if df.empty:
        raise DataValidationError("expected at least one data row, found none", file=name)
    df = df.rename(columns=renames)
    return df.astype(object).where(df.notna(), "").astype(str).reset_index(drop=True)


def _load_ratings(ratings: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    if isinstance(ratings, pd.DataFrame):
        renames = {"listener": "user", "clip": "audio_file", "system": "model",
                   "intent": "emotion"}
        return _ratings_from_text(_frame_to_text(ratings, renames, name="ratings"),
                                  "ratings"), "ratings"
    return read_ratings(ratings), str(ratings)


def _load_clips(clips: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    if isinstance(clips, pd.DataFrame):
        renames = {"clip": "audio_file", "system": "model", "intent": "emotion",
                   "n_ratings": "num_annotators"}
        return _clips_from_text(_frame_to_text(clips, renames, name="clips"), "clips"), "clips"
    return read_clips(clips), str(clips)


def bundled_path(filename: str) -> Path:
    """Path of a bundled AImoclips file (``clips_metadata.csv`` etc.)."""
    ref = resources.files("emoconvey.data").joinpath(f"aimoclips/{filename}")
    return Path(str(ref))


def load_aimoclips(
    *, min_ratings: int = DEFAULT_MIN_RATINGS, audio_root: str | Path | None = None
) -> Dataset:
    """Load the bundled AImoclips release (991 clips, 6,162 ratings, 111 listeners).

    Data: Go, Han, Choi, Choi, Nam & Park (2025), "AImoclips: A Benchmark for Evaluating
    Emotion Conveyance in Text-to-Music Generation", HCMIR 2025, arXiv:2509.00813;
    licensed CC BY 4.0.

    Parameters
    ----------
    min_ratings : int, default 4
        Exclusion threshold (the release already omits clips with 3 or fewer ratings).
    audio_root : path, optional
        Folder of the audio release, if you have it.
    """
    return load_dataset(
        bundled_path(RATINGS_FILE),
        bundled_path(CLIPS_FILE),
        bundled_path(INTENTS_FILE),
        min_ratings=min_ratings,
        audio_root=audio_root,
        source=BUNDLED_NAME,
    )


# ----------------------------------------------------------------------------- writer


def write_dataset(dataset: Dataset, folder: str | Path) -> dict[str, Path]:
    """Write a dataset as the three AImoclips CSV files.

    Like the release, the files hold the analysed clips only; excluded clips are in
    :attr:`Dataset.excluded`.

    Parameters
    ----------
    dataset : Dataset
    folder : path
        Created if needed; existing files of the same names are replaced.

    Returns
    -------
    dict
        ``{"ratings": path, "clips": path, "intents": path}``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ratings = dataset.ratings.rename(columns={"listener": "user", "clip": "audio_file"}).loc[
        :, ["user", "audio_file", "valence", "arousal"]
    ]
    clips = dataset.clips
    out_clips = pd.DataFrame(
        {
            "index": np.arange(1, len(clips) + 1),
            "audio_file": clips["clip"],
            "model": clips["system"],
            "emotion": clips["intent"],
            "file_index": clips["file_index"],
            "valence": clips["valence"].round(3),
            "arousal": clips["arousal"].round(3),
            "num_annotators": clips["n_ratings"],
        }
    )
    intents = dataset.intents.rename(
        columns={"intent": "emotion", "norm_valence": "gt_valence", "norm_arousal": "gt_arousal"}
    ).loc[:, ["quadrant", "emotion", "gt_valence", "gt_arousal"]]
    paths = {
        "ratings": folder / RATINGS_FILE,
        "clips": folder / CLIPS_FILE,
        "intents": folder / INTENTS_FILE,
    }
    ratings.to_csv(paths["ratings"], index=False)
    out_clips.to_csv(paths["clips"], index=False)
    intents.to_csv(paths["intents"], index=False)
    return paths
