"""Column names of the AImoclips release files and of emoconvey's tables.

emoconvey reads and writes the release's three CSV files unchanged and uses clearer
names inside (``listener`` for ``user``, ``clip`` for ``audio_file``, ``system`` for
``model``, ``intent`` for ``emotion``, ``n_ratings`` for ``num_annotators``,
``norm_*`` for ``gt_*``).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from emoconvey.errors import DataValidationError, EmoconveyError

RATINGS_FILE = "ratings_metadata.csv"
CLIPS_FILE = "clips_metadata.csv"
INTENTS_FILE = "emotion_intents_metadata.csv"

RATINGS_RELEASE_COLUMNS = ("user", "audio_file", "valence", "arousal")
CLIPS_RELEASE_COLUMNS = (
    "index",
    "audio_file",
    "model",
    "emotion",
    "file_index",
    "valence",
    "arousal",
    "num_annotators",
)
INTENTS_RELEASE_COLUMNS = ("quadrant", "emotion", "gt_valence", "gt_arousal")

RELEASE_TO_TABLE = {
    "user": "listener",
    "audio_file": "clip",
    "model": "system",
    "emotion": "intent",
    "num_annotators": "n_ratings",
    "gt_valence": "norm_valence",
    "gt_arousal": "norm_arousal",
}
TABLE_TO_RELEASE = {v: k for k, v in RELEASE_TO_TABLE.items()}

RATINGS_COLUMNS = ("listener", "clip", "system", "intent", "quadrant", "valence", "arousal")
"""Columns of :attr:`Dataset.ratings`: one row per (listener, clip) rating."""

CLIPS_COLUMNS = (
    "clip",
    "system",
    "intent",
    "quadrant",
    "file_index",
    "n_ratings",
    "valence",
    "arousal",
    "norm_valence",
    "norm_arousal",
)
"""Columns of :attr:`Dataset.clips`: one row per clip, ``valence``/``arousal`` are means."""

EXCLUDED_COLUMNS = ("clip", "system", "intent", "n_ratings", "reason")


def read_csv(path: str | Path, *, what: str, numeric: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV file with errors that name the file.

    Columns are read as text so that the validators can report the exact value found,
    except the ``numeric`` ones, which the C parser turns into numbers when every cell is
    one (fast for 10^6 ratings) and leaves as text otherwise.
    """
    path = Path(path)
    if not path.exists():
        raise EmoconveyError(f"{what}: file {str(path)!r} does not exist")
    if path.is_dir():
        raise EmoconveyError(f"{what}: {str(path)!r} is a folder; expected a CSV file")
    try:
        header = pd.read_csv(path, nrows=0, skipinitialspace=True).columns
        dtype = {c: str for c in header if str(c).strip() not in numeric}
        df = pd.read_csv(path, dtype=dtype, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError as exc:
        raise DataValidationError(
            "the file is empty; expected a header row and at least one data row", file=path
        ) from exc
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataValidationError(f"not a readable CSV file ({exc})", file=path) from exc
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise DataValidationError(
            "the file has a header but no data rows; expected at least one data row",
            file=path,
        )
    return df


def read_text_csv(path: str | Path, *, name: str) -> pd.DataFrame:
    """Read a CSV file as text: every cell a string (blank cells ``""``, never NaN).

    For tables whose cells are checked one by one by their reader (paths, labels,
    scores), so that an error can quote the cell as written. Column names are stripped.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    name : str
        The argument or option that gave the file, named when it does not exist.

    Raises
    ------
    EmoconveyError
        ``NAME: 'PATH' not found`` when ``path`` is not a file.
    DataValidationError
        When the file is empty (not even a header row).
    """
    path = Path(path)
    if not path.is_file():
        raise EmoconveyError(f"{name}: {str(path)!r} not found")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise DataValidationError("the file is empty; expected a header row", file=path) from None
    raw.columns = [str(c).strip() for c in raw.columns]
    return raw
