"""Emotion intents: words with target valence/arousal taken from lexicon norms.

AImoclips (Go et al., 2025) prompts each system with 12 emotion words, three per
valence-arousal quadrant, whose targets are the Warriner, Kuperman & Brysbaert (2013)
norms for the word (means on 1-9 scales). Words whose valence *or* arousal norm lies in
the neutral band [4.0, 6.0] are not used, and 5.0 splits the quadrants.

An intents table has the columns

``intent``
    The emotion word, as used in prompts and file names.
``quadrant``
    One of ``hv_ha``, ``lv_ha``, ``lv_la``, ``hv_la`` (high/low valence, high/low arousal).
``norm_valence``, ``norm_arousal``
    Target valence and arousal on the 1-9 scale.

References
----------
Warriner, A. B., Kuperman, V., & Brysbaert, M. (2013). Norms of valence, arousal, and
dominance for 13,915 English lemmas. Behavior Research Methods, 45, 1191-1207.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from emoconvey._validation import (
    QUADRANTS,
    SCALE_MAX,
    SCALE_MIN,
    check_positive_int,
    raise_at_first,
    require_columns,
    require_numeric,
    require_rows,
    require_unique,
)
from emoconvey.errors import DataValidationError, EmoconveyError, EmoconveyWarning

__all__ = [
    "INTENT_COLUMNS",
    "NEUTRAL_BAND",
    "QUADRANTS",
    "QUADRANT_SPLIT",
    "aimoclips_intents",
    "intents_from_words",
    "load_norms",
    "quadrant_of",
    "screen_candidates",
    "select_intents",
    "validate_intents",
]

INTENT_COLUMNS: tuple[str, ...] = ("intent", "quadrant", "norm_valence", "norm_arousal")
QUADRANT_SPLIT: float = 5.0
NEUTRAL_BAND: tuple[float, float] = (4.0, 6.0)

_WARRINER_COLUMNS = {
    "Word": "word",
    "V.Mean.Sum": "valence",
    "A.Mean.Sum": "arousal",
    "D.Mean.Sum": "dominance",
    "V.SD.Sum": "valence_sd",
    "A.SD.Sum": "arousal_sd",
    "V.Rat.Sum": "valence_n",
    "A.Rat.Sum": "arousal_n",
}


def quadrant_of(
    valence: float | Sequence[float] | np.ndarray | pd.Series,
    arousal: float | Sequence[float] | np.ndarray | pd.Series,
    *,
    split: float = QUADRANT_SPLIT,
) -> str | np.ndarray | None:
    """Valence-arousal quadrant of one or more points.

    A point is high on an axis when its value is strictly greater than ``split`` and low
    when strictly smaller. A point lying exactly on a split line belongs to no quadrant.

    Parameters
    ----------
    valence, arousal : float or array-like
        Values on the 1-9 scales.
    split : float, default 5.0
        The value that separates low from high (the scale centre in AImoclips).

    Returns
    -------
    str, None or numpy.ndarray of object
        ``"hv_ha"``, ``"lv_ha"``, ``"lv_la"`` or ``"hv_la"``; ``None`` on a split line.
        Array input gives an object array of the same length.
    """
    v = np.asarray(valence, dtype=float)
    a = np.asarray(arousal, dtype=float)
    if v.shape != a.shape:
        raise EmoconveyError(
            f"valence and arousal: expected the same shape, got {v.shape} and {a.shape}"
        )
    hv = np.where(v > split, "hv", np.where(v < split, "lv", ""))
    ha = np.where(a > split, "ha", np.where(a < split, "la", ""))
    out = np.where((hv == "") | (ha == ""), None, np.char.add(np.char.add(hv, "_"), ha))
    out = out.astype(object)
    if out.ndim == 0:
        return out.item()
    return out


def validate_intents(intents: pd.DataFrame, *, name: str = "intents") -> pd.DataFrame:
    """Check an intents table and return a clean copy.

    Raises :class:`~emoconvey.errors.DataValidationError` naming the row and column when
    a column is missing, a norm is not a number in [1, 9], an intent is listed twice, a
    quadrant is unknown, or a quadrant contradicts the norms (split at 5.0).

    Parameters
    ----------
    intents : DataFrame
        Columns ``intent``, ``quadrant``, ``norm_valence``, ``norm_arousal``.
    name : str
        How to call the table (usually its file path) in error messages.

    Returns
    -------
    DataFrame
        The four columns, with norms as floats and intents as strings.
    """
    require_columns(intents, INTENT_COLUMNS, name=name)
    require_rows(intents, name=name)
    df = intents.loc[:, list(INTENT_COLUMNS)].copy().reset_index(drop=True)
    for col in ("intent", "quadrant"):
        blank = df[col].isna() | (df[col].astype(str).str.strip() == "")
        raise_at_first(blank, lambda _: "expected a non-empty value", name=name, column=col)
        df[col] = df[col].astype(str).str.strip()
    require_numeric(df, ["norm_valence", "norm_arousal"], name=name)
    for col in ("norm_valence", "norm_arousal"):
        df[col] = pd.to_numeric(df[col]).astype(float)
        out = (df[col] < SCALE_MIN) | (df[col] > SCALE_MAX)
        raise_at_first(out, lambda pos, col=col: (
            f"expected a norm between {SCALE_MIN} and {SCALE_MAX}, "
            f"found {df[col].iloc[pos]!r}"
        ), name=name, column=col)
    require_unique(df["intent"], lambda pos, _: (
        f"intent {df['intent'].iloc[pos]!r} is listed twice; expected each intent once"
    ), name=name, column="intent")
    unknown = ~df["quadrant"].isin(QUADRANTS)
    raise_at_first(unknown, lambda pos: (
        f"expected one of {', '.join(QUADRANTS)}, found {df['quadrant'].iloc[pos]!r}"
    ), name=name, column="quadrant")
    implied = quadrant_of(df["norm_valence"], df["norm_arousal"])
    wrong = df["quadrant"].to_numpy() != implied
    raise_at_first(wrong, lambda pos: (
        f"intent {df['intent'].iloc[pos]!r} has norms ({df['norm_valence'].iloc[pos]}, "
        f"{df['norm_arousal'].iloc[pos]}), which lie in quadrant {implied[pos]!r}, "
        f"not {df['quadrant'].iloc[pos]!r}"
    ), name=name, column="quadrant")
    return df


def aimoclips_intents() -> pd.DataFrame:
    """The 12 emotion intents of AImoclips with their Warriner norms.

    Returns
    -------
    DataFrame
        Columns ``intent``, ``quadrant``, ``norm_valence``, ``norm_arousal``; a new copy
        on every call.
    """
    ref = resources.files("emoconvey.data").joinpath("aimoclips/emotion_intents_metadata.csv")
    with resources.as_file(ref) as path:
        raw = pd.read_csv(path)
    df = raw.rename(
        columns={"emotion": "intent", "gt_valence": "norm_valence", "gt_arousal": "norm_arousal"}
    )
    return validate_intents(df, name="emoconvey:aimoclips/emotion_intents_metadata.csv")


def load_norms(path: str | Path) -> pd.DataFrame:
    """Read a lexicon norms file in the format of Warriner et al. (2013).

    The file is the published ``Ratings_Warriner_et_al.csv`` (its licence forbids
    redistribution, so emoconvey never bundles it) or any CSV with at least the columns
    ``Word``, ``V.Mean.Sum`` and ``A.Mean.Sum``.

    Parameters
    ----------
    path : str or Path
        The CSV file.

    Returns
    -------
    DataFrame
        Columns ``word``, ``valence``, ``arousal`` and, where the file has
        them, ``dominance``, ``valence_sd``, ``arousal_sd``, ``valence_n``,
        ``arousal_n``.
    """
    path = Path(path)
    if not path.is_file():
        raise EmoconveyError(f"norms: file {str(path)!r} does not exist")
    try:
        header = pd.read_csv(path, nrows=0).columns
        usecols = [c for c in header if c in _WARRINER_COLUMNS]
        raw = pd.read_csv(path, usecols=usecols, keep_default_na=False, na_values=[""])
    except pd.errors.EmptyDataError as exc:
        raise DataValidationError("the file is empty; expected a header row", file=path) from exc
    require_columns(raw, ["Word", "V.Mean.Sum", "A.Mean.Sum"], name=str(path))
    require_rows(raw, name=str(path))
    keep = [c for c in _WARRINER_COLUMNS if c in raw.columns]
    df = raw.loc[:, keep].rename(columns=_WARRINER_COLUMNS)
    require_numeric(raw, ["V.Mean.Sum", "A.Mean.Sum"], name=str(path))
    df["word"] = df["word"].astype(str).str.strip()
    for col in ("valence", "arousal"):
        df[col] = pd.to_numeric(df[col]).astype(float)
    require_unique(df["word"], lambda pos, _: (
        f"word {df['word'].iloc[pos]!r} appears twice; expected one row per word"
    ), name=path, column="Word")
    return df.reset_index(drop=True)


def _lookup(words: Iterable[str], norms: pd.DataFrame) -> pd.DataFrame:
    require_columns(norms, ["word", "valence", "arousal"], name="norms")
    words = [str(w).strip() for w in words]
    if not words:
        raise EmoconveyError("words: expected at least one word")
    exact = {str(w): i for i, w in enumerate(norms["word"])}
    lower: dict[str, int] = {}
    for w, i in exact.items():
        lower.setdefault(w.lower(), i)
    val = norms["valence"].to_numpy(dtype=float)
    aro = norms["arousal"].to_numpy(dtype=float)
    rows = []
    for word in words:
        # exact spelling first: the norms distinguish e.g. 'aids' from 'AIDS'
        i = exact.get(word, lower.get(word.lower()))
        if i is None:
            rows.append((word, np.nan, np.nan, False))
        else:
            rows.append((word, float(val[i]), float(aro[i]), True))
    return pd.DataFrame(rows, columns=["word", "norm_valence", "norm_arousal", "in_norms"])


def intents_from_words(
    words: Iterable[str],
    norms: pd.DataFrame,
    *,
    split: float = QUADRANT_SPLIT,
    neutral_band: tuple[float, float] | None = NEUTRAL_BAND,
) -> pd.DataFrame:
    """Build an intents table for custom emotion words from lexicon norms.

    Parameters
    ----------
    words : iterable of str
        Emotion words (case-insensitive lookup; the spelling given is kept).
    norms : DataFrame
        Norms as returned by :func:`load_norms`.
    split : float, default 5.0
        Quadrant split.
    neutral_band : (float, float) or None, default (4.0, 6.0)
        A word whose valence or arousal norm lies in this closed interval triggers an
        :class:`~emoconvey.errors.EmoconveyWarning`, since AImoclips would not use it.

    Returns
    -------
    DataFrame
        An intents table (see module docstring).
    """
    looked = _lookup(words, norms)
    missing = looked.loc[~looked["in_norms"], "word"].tolist()
    if missing:
        raise EmoconveyError(
            f"words: not found in the norms: {', '.join(map(repr, missing))}"
        )
    looked["quadrant"] = quadrant_of(looked["norm_valence"], looked["norm_arousal"], split=split)
    on_split = looked["quadrant"].isna()
    if on_split.any():
        raise EmoconveyError(
            "words: a norm equal to the split value has no quadrant: "
            + ", ".join(map(repr, looked.loc[on_split, "word"]))
        )
    if neutral_band is not None:
        lo, hi = neutral_band
        neutral = looked["norm_valence"].between(lo, hi) | looked["norm_arousal"].between(lo, hi)
        if neutral.any():
            warnings.warn(
                f"words {', '.join(map(repr, looked.loc[neutral, 'word']))} have a norm in "
                f"the neutral band [{lo}, {hi}]; AImoclips does not use such words as intents",
                EmoconveyWarning,
                stacklevel=2,
            )
    out = looked.rename(columns={"word": "intent"})
    return validate_intents(out.loc[:, list(INTENT_COLUMNS)], name="words")


def screen_candidates(
    candidates: Iterable[str],
    norms: pd.DataFrame,
    *,
    per_quadrant: int = 3,
    neutral_band: tuple[float, float] = NEUTRAL_BAND,
    split: float = QUADRANT_SPLIT,
) -> pd.DataFrame:
    """Apply the AImoclips intent-selection rule to candidate words, showing every decision.

    The rule: drop candidates absent from the norms; drop candidates whose valence or
    arousal norm lies in the closed ``neutral_band``; assign each remaining word to the
    quadrant given by ``split``; keep the first ``per_quadrant`` words of each quadrant in
    the order given.

    Parameters
    ----------
    candidates : iterable of str
        Candidate words in order of preference. Duplicates are rejected.
    norms : DataFrame
        Norms as returned by :func:`load_norms`.
    per_quadrant : int, default 3
        Words to keep per quadrant.
    neutral_band : (float, float), default (4.0, 6.0)
        Closed interval of norms considered neutral.
    split : float, default 5.0
        Quadrant split.

    Returns
    -------
    DataFrame
        One row per candidate in input order: ``word``, ``norm_valence``,
        ``norm_arousal``, ``quadrant`` (None when not in the norms or neutral),
        ``selected`` (bool) and ``reason`` (``"selected"``, ``"not_in_norms"``,
        ``"neutral_valence"``, ``"neutral_arousal"`` or ``"quadrant_full"``).
    """
    per_quadrant = check_positive_int(per_quadrant, name="per_quadrant")
    lo, hi = neutral_band
    if not lo <= split <= hi:
        raise EmoconveyError(
            f"neutral_band: expected an interval containing split={split}, got {neutral_band!r}"
        )
    df = _lookup(candidates, norms)
    dup = df["word"].str.lower().duplicated()
    if dup.any():
        raise EmoconveyError(
            f"candidates: {df['word'][dup].iloc[0]!r} is listed twice; expected distinct words"
        )
    reason = np.full(len(df), "selected", dtype=object)
    reason[~df["in_norms"].to_numpy()] = "not_in_norms"
    nv = df["norm_arousal"].between(lo, hi).to_numpy()
    reason[(reason == "selected") & nv] = "neutral_arousal"
    nval = df["norm_valence"].between(lo, hi).to_numpy()
    reason[df["in_norms"].to_numpy() & nval] = "neutral_valence"
    quadrant = quadrant_of(df["norm_valence"], df["norm_arousal"], split=split)
    quadrant[reason != "selected"] = None
    taken: dict[str, int] = dict.fromkeys(QUADRANTS, 0)
    for i, q in enumerate(quadrant):
        if reason[i] != "selected":
            continue
        if taken[q] >= per_quadrant:
            reason[i] = "quadrant_full"
        else:
            taken[q] += 1
    short = [q for q, n in taken.items() if n < per_quadrant]
    if short:
        warnings.warn(
            f"quadrant(s) {', '.join(short)} received fewer than {per_quadrant} words "
            f"({', '.join(f'{q}: {taken[q]}' for q in short)})",
            EmoconveyWarning,
            stacklevel=2,
        )
    return pd.DataFrame(
        {
            "word": df["word"],
            "norm_valence": df["norm_valence"],
            "norm_arousal": df["norm_arousal"],
            "quadrant": quadrant,
            "selected": reason == "selected",
            "reason": reason,
        }
    )


def select_intents(
    candidates: Iterable[str],
    norms: pd.DataFrame,
    *,
    per_quadrant: int = 3,
    neutral_band: tuple[float, float] = NEUTRAL_BAND,
    split: float = QUADRANT_SPLIT,
) -> pd.DataFrame:
    """Select emotion intents from candidate words with the AImoclips rule.

    See :func:`screen_candidates` for the rule and the parameters.

    Returns
    -------
    DataFrame
        An intents table of the selected words, ordered by quadrant
        (``hv_ha``, ``lv_ha``, ``lv_la``, ``hv_la``) then candidate order.
    """
    screened = screen_candidates(
        candidates, norms, per_quadrant=per_quadrant, neutral_band=neutral_band, split=split
    )
    chosen = screened[screened["selected"]].rename(columns={"word": "intent"})
    if chosen.empty:
        raise EmoconveyError("candidates: no candidate passed the selection rule")
    order = {q: i for i, q in enumerate(QUADRANTS)}
    chosen = chosen.assign(_q=chosen["quadrant"].map(order)).sort_values("_q", kind="stable")
    return validate_intents(chosen.loc[:, list(INTENT_COLUMNS)], name="candidates")
