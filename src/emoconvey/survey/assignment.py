"""Which clips a participant rates.

The rule (AImoclips-style balanced design):

* at most one clip per distinct (system, intent) pair, ``clips_per_participant`` in all;
* clips with the fewest ratings first, where a clip's *load* counts its ratings plus the
  unanswered assignments of sessions still in progress (a session idle longer than
  ``session_expiry_minutes`` no longer holds its clips);
* among clips of equal load, those with fewer ratings given come first (their load is
  partly held by sessions in progress, which may yet be abandoned: preferring them keeps
  a clip held by someone who left from ending a rating short);
* among pairs, those whose least-loaded clip has the smallest load are chosen (then
  those with the smallest mean load, so that the least-rated clips stay spread over
  many pairs); remaining ties, within and between pairs, are broken at random;
* the chosen clips are presented in random order; repeated clips (a second showing of
  one of the participant's clips, later in the sequence) and attention clips are
  inserted at random positions.

Two ways of applying the rule (``StudyConfig.assignment``):

``just_in_time`` (default)
    At the start only the participant's *plan* is fixed: how many slots, which of them
    show an attention clip and which repeat an earlier slot (:func:`make_plan`,
    :func:`start_plan`). Each main clip is chosen when the participant reaches its slot
    (:func:`assign_next`, called in the transaction that saves the previous answer), so
    a participant holds at most one unanswered clip. Someone who leaves early then
    withholds one clip until their session expires instead of all their remaining
    clips, which is what keeps the ratings per clip balanced when people drop out.
``upfront``
    Every clip is chosen at the start (:func:`assign_clips`), so the whole list is
    known in advance; drop-outs leave clips under-rated until their sessions expire.

Every decision is made in one write transaction that is serialised with every other
assignment (SQLite ``BEGIN IMMEDIATE``, PostgreSQL advisory lock), so two simultaneous
starts (or answers) never decide on the same counts.
"""

from __future__ import annotations

import json
import logging
import random
from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, exists, func, insert, select
from sqlalchemy.orm import Session

from emoconvey.errors import EmoconveyError
from emoconvey.survey.storage import Assignment, Clip, Participant, Rating

__all__ = [
    "ClipLoad",
    "Slot",
    "SlotRow",
    "assign_clips",
    "assign_next",
    "assign_next_core",
    "build_sequence",
    "choose_clips",
    "clip_loads",
    "make_plan",
    "next_slot",
    "plan_length",
    "plan_of",
    "slot_rows",
    "start_plan",
]

Slot = tuple[str, int | None]
"""A slot of a plan: ``("main", None)``, ``("repeat", position of the repeated slot)`` or
``("attention", clip id)``."""

log = logging.getLogger(__name__)


class ClipLoad(NamedTuple):
    """A candidate clip and its current load (ratings + ratings in progress).

    ``rated`` is the number of ratings given (``None``: same as ``load``).
    """

    clip_id: int
    system: str
    intent: str
    load: int
    rated: int | None = None

    @property
    def key(self) -> tuple[int, int]:
        """Sort key: least load first, then fewest ratings given."""
        return self.load, self.load if self.rated is None else self.rated


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
    best: list[tuple[tuple[int, int], float, float, ClipLoad]] = []
    for clips in pairs.values():
        low = min(c.key for c in clips)
        pick = rng.choice([c for c in clips if c.key == low])
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


_RATED = (
    select(Clip.id, Clip.system, Clip.intent, Clip.n_rated)
    .where(Clip.role == "main").order_by(Clip.id)
)
_PENDING = (
    select(Assignment.clip_id, func.count())
    .select_from(Participant)
    .join(Assignment, Assignment.participant_id == Participant.id)
    .where(
        Participant.stage == "rating",
        Participant.last_seen >= bindparam("cutoff"),
        Assignment.role == "main",
        ~exists().where(Rating.assignment_id == Assignment.id),
    )
    .group_by(Assignment.clip_id)
)
_SLOTS = (
    select(Assignment.id, Assignment.position, Assignment.clip_id, Assignment.role,
           Rating.id.is_not(None))
    .outerjoin(Rating, Rating.assignment_id == Assignment.id)
    .where(Assignment.participant_id == bindparam("pid"))
    .order_by(Assignment.position)
)
_INSERT_ASSIGNMENT = insert(Assignment)


class SlotRow(NamedTuple):
    """An assigned slot of a participant: assignment id, position, clip, role, and
    whether it is answered."""

    id: int
    position: int
    clip_id: int
    role: str
    answered: bool


def slot_rows(conn: Connection | Session, participant_id: int) -> list[SlotRow]:
    """The participant's assignments in order, with whether each is answered."""
    conn = conn.connection() if isinstance(conn, Session) else conn
    return [SlotRow(int(i), int(p), int(c), str(r), bool(a))
            for i, p, c, r, a in conn.execute(_SLOTS, {"pid": participant_id})]


def clip_loads(session: Session | Connection, *, cutoff: float) -> list[ClipLoad]:
    """Load of every main clip: its ratings plus unanswered assignments still held.

    An assignment is held while its participant is at the rating stage and was last
    seen at or after ``cutoff`` (seconds since the epoch). Ratings come from the
    ``clips.n_rated`` counter (kept by triggers), held assignments through the
    ``ix_participants_stage_seen`` index: this runs on every assignment, inside the
    serialised transaction.
    """
    # Core rows: no ORM loading overhead on ~1,000 rows
    conn = session.connection() if isinstance(session, Session) else session
    pending = dict(conn.execute(_PENDING, {"cutoff": cutoff}).all())
    return [ClipLoad(cid, system, intent, n + pending.get(cid, 0), n)
            for cid, system, intent, n in conn.execute(_RATED)]


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
    (:meth:`emoconvey.survey.storage.Store.write` with ``lock_assignment=True``).

    Returns
    -------
    int
        Number of assignments the participant has.
    """
    existing = _assignment_count(session, participant)
    if existing:
        return existing
    loads = clip_loads(session, cutoff=now - expiry_s)
    main = choose_clips(loads, n, rng)
    seq = build_sequence(main, rng, repeats=repeats, attention=attention_ids)
    session.add_all(
        Assignment(participant_id=participant.id, clip_id=cid, position=i, role=role)
        for i, (cid, role) in enumerate(seq)
    )
    log.debug("participant %d: assigned %d clips", participant.id, len(seq))
    return len(seq)


# ----------------------------------------------------------------------------- just in time


def make_plan(
    n: int, rng: random.Random, *, repeats: int = 0, attention: Sequence[int] = ()
) -> list[Slot]:
    """The slots of a just-in-time session, laid out like :func:`build_sequence`.

    Parameters
    ----------
    n : int
        Number of main slots.
    rng : random.Random
    repeats : int
        Main slots of the first half shown again later.
    attention : sequence of int
        Attention clip ids, inserted at random positions.

    Returns
    -------
    list of Slot
        ``("main", None)``, ``("repeat", k)`` (repeats the main slot at position ``k``)
        or ``("attention", clip_id)``, in presentation order.
    """
    placeholders = [-(k + 1) for k in range(n)]  # never a clip id (those are positive)
    seq = build_sequence(placeholders, rng, repeats=repeats, attention=attention)
    main_at = {c: i for i, (c, role) in enumerate(seq) if role == "main"}
    plan: list[Slot] = []
    for c, role in seq:
        if role == "main":
            plan.append(("main", None))
        elif role == "repeat":
            plan.append(("repeat", main_at[c]))
        else:
            plan.append(("attention", c))
    return plan


def plan_of(participant: Participant) -> list[Slot] | None:
    """The participant's just-in-time plan, or ``None`` when assigned up front."""
    if participant.plan_json is None:
        return None
    return [(str(role), None if ref is None else int(ref))
            for role, ref in json.loads(participant.plan_json)]


def plan_length(session: Session, participant: Participant) -> int:
    """Number of slots of a participant's session (0 before the rating stage)."""
    plan = plan_of(participant)
    if plan is not None:
        return len(plan)
    return _assignment_count(session, participant)


def _assignment_count(session: Session, participant: Participant) -> int:
    """Number of clips assigned so far to ``participant``."""
    return int(session.scalar(
        select(func.count()).select_from(Assignment)
        .where(Assignment.participant_id == participant.id)
    ) or 0)


def start_plan(
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
    """Give ``participant`` a just-in-time plan and their first clip, unless they have one.

    Must run inside a transaction serialised with every other assignment
    (:meth:`emoconvey.survey.storage.Store.write` with ``lock_assignment=True``).

    Returns
    -------
    int
        Number of slots of the participant's session.

    Raises
    ------
    EmoconveyError
        When ``n`` exceeds the number of distinct (system, intent) pairs.
    """
    have = plan_length(session, participant)
    if have:
        return have
    pairs = session.scalar(
        select(func.count()).select_from(
            select(Clip.system, Clip.intent).where(Clip.role == "main").distinct().subquery()
        )
    ) or 0
    if n > pairs:
        raise EmoconveyError(
            f"clips_per_participant: {n} clips requested but the study has only "
            f"{pairs} distinct (system, intent) pairs"
        )
    plan = make_plan(n, rng, repeats=repeats, attention=attention_ids)
    participant.plan_json = json.dumps(plan)
    assign_next(session, participant, now=now, expiry_s=expiry_s, rng=rng)
    log.debug("participant %d: plan of %d slots", participant.id, len(plan))
    return len(plan)


def next_slot(
    conn: Connection,
    plan: Sequence[Slot],
    rows: Sequence[SlotRow],
    *,
    now: float,
    expiry_s: float,
    rng: random.Random,
) -> tuple[int, int, str] | None:
    """The clip of a just-in-time participant's next slot, when it is due.

    Parameters
    ----------
    conn : Connection
        Inside a transaction serialised with every other assignment.
    plan : sequence of Slot
        The participant's plan.
    rows : sequence of SlotRow
        The participant's assignments (:func:`slot_rows`), answers included.

    Returns
    -------
    tuple or None
        ``(position, clip_id, role)`` of the slot to assign; ``None`` when a slot is
        still unanswered or every slot is assigned.
    """
    if any(not r.answered for r in rows):
        return None
    k = len(rows)
    if k >= len(plan):
        return None
    role, ref = plan[k]
    if role == "main":
        loads = clip_loads(conn, cutoff=now - expiry_s)
        pair_of = {c.clip_id: (c.system, c.intent) for c in loads}
        used = {pair_of[r.clip_id] for r in rows if r.role == "main"}
        clip_id = choose_clips([c for c in loads if (c.system, c.intent) not in used], 1,
                               rng)[0]
    elif role == "repeat":
        clip_id = next(r.clip_id for r in rows if r.position == ref)
    else:
        clip_id = int(ref) if ref is not None else -1
    return k, clip_id, role


def assign_next_core(
    conn: Connection,
    participant_id: int,
    plan: Sequence[Slot],
    rows: Sequence[SlotRow],
    *,
    now: float,
    expiry_s: float,
    rng: random.Random,
) -> tuple[int, int, str] | None:
    """:func:`assign_next` on plain rows: choose the next slot's clip and insert it.

    Returns
    -------
    tuple or None
        ``(position, clip_id, role)`` of the new assignment, ``None`` when none is due.
    """
    slot = next_slot(conn, plan, rows, now=now, expiry_s=expiry_s, rng=rng)
    if slot is not None:
        k, clip_id, role = slot
        conn.execute(_INSERT_ASSIGNMENT, {"participant_id": participant_id,
                                          "clip_id": clip_id, "position": k, "role": role})
        log.debug("participant %d: slot %d (%s) gets clip %d", participant_id, k, role,
                  clip_id)
    return slot


def assign_next(
    session: Session,
    participant: Participant,
    *,
    now: float,
    expiry_s: float,
    rng: random.Random,
) -> Assignment | None:
    """Assign the clip of the participant's next slot, unless one is still unanswered.

    A main slot gets the least-loaded clip (:func:`choose_clips`) of a (system, intent)
    pair the participant has not had yet; a repeat slot the clip of the slot it repeats;
    an attention slot its clip. Must run inside a transaction serialised with every other
    assignment.

    Returns
    -------
    Assignment or None
        The participant's current (unanswered) assignment; ``None`` when every slot is
        answered or the participant's clips were all assigned up front.
    """
    plan = plan_of(participant)
    if plan is None:
        return None
    session.flush()
    rows = slot_rows(session, participant.id)
    open_ = [r for r in rows if not r.answered]
    if open_:
        return session.scalar(select(Assignment).where(
            Assignment.participant_id == participant.id,
            Assignment.position == open_[0].position))
    slot = next_slot(session.connection(), plan, rows, now=now, expiry_s=expiry_s, rng=rng)
    if slot is None:
        return None
    k, clip_id, role = slot
    a = Assignment(participant_id=participant.id, clip_id=clip_id, position=k, role=role)
    session.add(a)
    session.flush()
    log.debug("participant %d: slot %d (%s) gets clip %d", participant.id, k, role, clip_id)
    return a
