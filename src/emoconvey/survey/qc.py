"""Quality-control flags of listeners.

A listener is flagged when

``inconsistent_repeat``
    they rated a repeated clip differently by more than ``repeat_tolerance`` on valence
    or arousal, more than ``max_inconsistent_repeats`` times;
``attention``
    a rating of an attention clip lies outside its plausible range;
``straight_lining``
    at least ``straightline_share`` of their (valence, arousal) answers are the same
    pair, over at least ``straightline_min`` answers to main clips;
``too_fast``
    the median time between their consecutive answers is under ``min_seconds``.
"""

from __future__ import annotations

from pathlib import PurePosixPath

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from emoconvey.survey.config import StudyConfig
from emoconvey.survey.storage import Clip, Rating

__all__ = ["FLAG_COLUMNS", "compute_flags", "flags_from_ratings"]

FLAG_COLUMNS = ["participant_id", "flag", "detail"]


def flags_from_ratings(
    ratings: pd.DataFrame, config: StudyConfig, attention_ranges: dict[int, tuple]
) -> pd.DataFrame:
    """Flags from a ratings table.

    Parameters
    ----------
    ratings : DataFrame
        ``participant_id``, ``clip_id``, ``role`` (main/repeat/attention), ``valence``,
        ``arousal``, ``created_at`` (seconds).
    config : StudyConfig
    attention_ranges : dict
        Attention clip id -> ``((v_lo, v_hi), (a_lo, a_hi))``.

    Returns
    -------
    DataFrame
        ``participant_id``, ``flag``, ``detail``; one row per flag.
    """
    q = config.quality
    out: list[tuple[int, str, str]] = []
    if ratings.empty:
        return pd.DataFrame(columns=FLAG_COLUMNS)
    for pid, r in ratings.sort_values("created_at").groupby("participant_id", sort=True):
        main = r[r["role"] == "main"].set_index("clip_id")
        rep = r[r["role"] == "repeat"]
        bad = []
        for row in rep.itertuples():
            if row.clip_id in main.index:
                first = main.loc[row.clip_id]
                dv = abs(int(first["valence"]) - row.valence)
                da = abs(int(first["arousal"]) - row.arousal)
                if max(dv, da) > q.repeat_tolerance:
                    bad.append(f"clip {row.clip_id}: valence {first['valence']}->{row.valence}, "
                               f"arousal {first['arousal']}->{row.arousal}")
        if len(bad) > q.max_inconsistent_repeats:
            out.append((pid, "inconsistent_repeat",
                        f"{len(bad)} of {len(rep)} repeated clips differ by more than "
                        f"{q.repeat_tolerance} ({'; '.join(bad)})"))
        for row in r[r["role"] == "attention"].itertuples():
            rng = attention_ranges.get(row.clip_id)
            if rng is None:
                continue
            (vl, vh), (al, ah) = rng
            if not (vl <= row.valence <= vh and al <= row.arousal <= ah):
                out.append((pid, "attention",
                            f"attention clip {row.clip_id} rated valence {row.valence}, "
                            f"arousal {row.arousal}; expected valence {vl}-{vh}, "
                            f"arousal {al}-{ah}"))
        if len(main) >= q.straightline_min:
            share = main.groupby(["valence", "arousal"]).size().max() / len(main)
            if share >= q.straightline_share:
                out.append((pid, "straight_lining",
                            f"{share:.0%} of {len(main)} answers are the same "
                            "(valence, arousal)"))
        if len(r) >= 3:
            median = float(r["created_at"].diff().dropna().median())
            if median < q.min_seconds:
                out.append((pid, "too_fast",
                            f"median {median:.1f} s between answers; expected at least "
                            f"{q.min_seconds:g} s"))
    return pd.DataFrame(out, columns=FLAG_COLUMNS)


def compute_flags(session: Session, config: StudyConfig) -> pd.DataFrame:
    """Flags of every participant in the database (see :func:`flags_from_ratings`)."""
    rows = session.execute(
        select(Rating.participant_id, Rating.clip_id, Rating.role, Rating.valence,
               Rating.arousal, Rating.created_at)
    ).all()
    ratings = pd.DataFrame(
        rows, columns=["participant_id", "clip_id", "role", "valence", "arousal", "created_at"]
    )
    by_path = {str(PurePosixPath(a.file)): (a.valence, a.arousal)
               for a in config.quality.attention}
    ranges = {
        cid: by_path[path]
        for cid, path in session.execute(
            select(Clip.id, Clip.path).where(Clip.role == "attention")
        ).all()
        if path in by_path
    }
    return flags_from_ratings(ratings, config, ranges)
