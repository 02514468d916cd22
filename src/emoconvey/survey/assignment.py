"""Which clips a participant rates.

The rule (AImoclips-style balanced design):

* at most one clip per distinct (system, intent) pair, ``clips_per_participant`` in all;
* clips with the fewest ratings first, where a clip's *load* counts its ratings plus the
  unanswered assignments of sessions still in progress (a session idle longer than
  ``session_expiry_minutes`` no longer holds its clips);
* among pairs, those whose least-loaded clip has the smallest load are chosen (then
  those with the smallest mean load, so that the least-rated clips stay spread over
  many pairs); remaining ties, within and between pairs, are broken at random;
* the chosen clips are presented in random order; repeated clips (a second showing of
  one of the participant's clips, later in the sequence) and attention clips are
  inserted at random positions.

The decision is made in one write transaction that is serialised with every other
assignment (SQLite ``BEGIN IMMEDIATE``, PostgreSQL advisory lock), so two simultaneous
starts never decide on the same counts.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from emoconvey.errors import EmoconveyError
from emoconvey.survey.db import Assignment, Clip, Participant, Rating

__all__ = ["ClipLoad", "assign_clips", "build_sequence", "choose_clips", "clip_loads"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClipLoad:
    """A candidate clip and its current load (ratings + ratings in progress)."""

    clip_id: int
    system: str
    intent: str
    load: int


def choose_clips(candidates: Sequence[ClipLoad], n: int, rng: random.Random) -> list[int]:
    """Pick ``n`` clips, one per (system, intent) pair, least-loaded first.

    Parameters
    ----------
    candidates : sequence of ClipLoad
    n : int
        Number of clips; at most the number of distinct pairs.
    rng : random.Random
        Breaks ties and shuffles the presentation order.

    Returns
    -------
    list of int
        Clip ids in presentation order (random).
    """
    pairs: dict[tuple[str, str], list[ClipLoad]] = defaultdict(list)
    for c in candidates:
        pairs[(c.system, c.intent)].append(c)
    if n > len(pairs):
        raise EmoconveyError(
            f"clips_per_participant: {n} clips requested but the study has only "
            f"{len(pairs)} distinct (system, intent) pairs"
        )
    best: list[tuple[int, float, float, ClipLoad]] = []
    for clips in pairs.values():
        low = min(c.load for c in clips)
        pick = rng.choice([c for c in clips if c.load == low])
        mean = sum(c.load for c in clips) / len(clips)
        best.append((low, mean, rng.random(), pick))
    best.sort(key=lambda t: t[:3])
    chosen = [t[3].clip_id for t in best[:n]]
    rng.shuffle(chosen)
    return chosen


def build_sequence(
    main: Sequence[int],
    rng: random.Random,
    *,
    repeats: int = 0,
    attention: Sequence[int] = (),
) -> list[tuple[int, str]]:
    """Presentation sequence of ``(clip_id, role)`` with repeats and attention clips.

    A repeated clip is one of the first half of ``main`` shown again somewhere in the
    second half (so the two showings are never adjacent when ``main`` is long enough).
    """
    seq: list[tuple[int, str]] = [(c, "main") for c in main]
    repeats = min(repeats, len(main) // 2)
    half = len(main) // 2
    for clip in rng.sample(list(main[:half]), repeats):
        first = next(i for i, (c, _) in enumerate(seq) if c == clip)
        lo = max(first + 2, len(seq) // 2)
        seq.insert(rng.randint(min(lo, len(seq)), len(seq)), (clip, "repeat"))
    for clip in attention:
        seq.insert(rng.randint(1 if seq else 0, len(seq)), (clip, "attention"))
    return seq


def clip_loads(session: Session, *, cutoff: float) -> list[ClipLoad]:
    """Load of every main clip: its ratings plus unanswered assignments still held.

    An assignment is held while its participant is at the rating stage and was last
    seen at or after ``cutoff`` (seconds since the epoch).
    """
    rated = dict(
        session.execute(
            select(Rating.clip_id, func.count())
            .where(Rating.role == "main")
            .group_by(Rating.clip_id)
        ).all()
    )
    pending = dict(
        session.execute(
            select(Assignment.clip_id, func.count())
            .join(Participant, Participant.id == Assignment.participant_id)
            .outerjoin(Rating, Rating.assignment_id == Assignment.id)
            .where(
                and_(
                    Assignment.role == "main",
                    Rating.id.is_(None),
                    Participant.stage == "rating",
                    Participant.last_seen >= cutoff,
                )
            )
            .group_by(Assignment.clip_id)
        ).all()
    )
    rows = session.execute(
        select(Clip.id, Clip.system, Clip.intent).where(Clip.role == "main").order_by(Clip.id)
    ).all()
    return [
        ClipLoad(cid, system, intent, int(rated.get(cid, 0)) + int(pending.get(cid, 0)))
        for cid, system, intent in rows
    ]


def assign_clips(
    session: Session,
    participant: Participant,
    *,
    n: int,
    now: float,
    expiry_s: float,
    rng: random.Random,
    repeats: int = 0,
    attention_ids: Sequence[int] = (),
) -> int:
    """Give ``participant`` their clips unless they already have some.

    Must run inside a transaction serialised with every other assignment
    (:meth:`emoconvey.survey.db.Store.write` with ``lock_assignment=True``).

    Returns
    -------
    int
        Number of assignments the participant has.
    """
    existing = session.scalar(
        select(func.count()).select_from(Assignment).where(
            Assignment.participant_id == participant.id
        )
    )
    if existing:
        return int(existing)
    loads = clip_loads(session, cutoff=now - expiry_s)
    main = choose_clips(loads, n, rng)
    seq = build_sequence(main, rng, repeats=repeats, attention=attention_ids)
    session.add_all(
        Assignment(participant_id=participant.id, clip_id=cid, position=i, role=role)
        for i, (cid, role) in enumerate(seq)
    )
    log.debug("participant %d: assigned %d clips", participant.id, len(seq))
    return len(seq)
