"""Data access of the AImoclips participant routes: every query they make, by name.

The routers (:mod:`emoconvey.survey.routers.participant`, :mod:`.audio`) hold no SQL; they
call these functions inside the transactions of :class:`~.schema.Store`. The statements
of the hot paths are plain Core statements built once (SQLAlchemy caches their compiled
form). The MOS protocol's data access is
:class:`emoconvey.survey.protocols.musiceval.MosStudy`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.orm import Session

from emoconvey.survey.storage.schema import Assignment, Contact, Participant, Rating

__all__ = [
    "add_participant",
    "clip_at",
    "find_participant",
    "finish_participant",
    "has_contact",
    "insert_rating",
    "participant_row",
    "pid_session",
    "rebind_resume",
    "save_contact",
    "session_exists",
    "touch_participant",
]

_P = Participant
_PARTICIPANT = select(_P.id, _P.csrf, _P.stage, _P.last_seen, _P.plan_json, _P.gender,
                      _P.age, _P.fluency).where(_P.token == bindparam("token"))
_TOUCH = update(_P).where(_P.id == bindparam("pid")).values(last_seen=bindparam("t"))
_FINISH = update(_P).where(_P.id == bindparam("pid")).values(
    last_seen=bindparam("t"), stage="done", finished_at=bindparam("t"))
_INSERT_RATING = insert(Rating)
_EXISTS = select(_P.id).where(_P.token == bindparam("token"))
_CLIP_AT = (select(Assignment.clip_id)
            .join(_P, _P.id == Assignment.participant_id)
            .where(_P.token == bindparam("token"), Assignment.position == bindparam("pos")))


def participant_row(c: Connection, token: str) -> Any:
    """``id, csrf, stage, last_seen, plan_json, gender, age, fluency`` of the session
    ``token`` (or None)."""
    return c.execute(_PARTICIPANT, {"token": token}).first()


def touch_participant(c: Connection, participant_id: int, t: float) -> None:
    """Set ``last_seen``."""
    c.execute(_TOUCH, {"pid": participant_id, "t": t})


def finish_participant(c: Connection, participant_id: int, t: float) -> None:
    """Mark the session done at ``t``."""
    c.execute(_FINISH, {"pid": participant_id, "t": t})


def insert_rating(c: Connection, **values: Any) -> None:
    """Insert one row of ``ratings`` (columns as keywords)."""
    c.execute(_INSERT_RATING, values)


def pid_session(s: Session, pid: str) -> Any:
    """``id, token, resume_hash`` of the first session with platform ID ``pid`` (or None)."""
    return s.execute(select(_P.id, _P.token, _P.resume_hash)
                     .where(_P.platform_pid == pid).order_by(_P.id).limit(1)).first()


def rebind_resume(s: Session, participant_id: int, resume_hash: str) -> None:
    """Bind a (released) session to the browser whose resume cookie hashes to this."""
    s.execute(update(_P).where(_P.id == participant_id).values(resume_hash=resume_hash))


def add_participant(s: Session, **values: Any) -> None:
    """Create a session (columns of ``participants`` as keywords)."""
    s.add(Participant(**values))


def find_participant(s: Session, token: str) -> Participant | None:
    """The session ``token`` as an ORM object (to change it), or None."""
    return s.scalar(select(_P).where(_P.token == token))


def has_contact(c: Connection, participant_id: int) -> bool:
    """Whether the participant left contact details."""
    return c.execute(select(Contact.id).where(Contact.participant_id == participant_id)
                     ).first() is not None


def save_contact(s: Session, participant_id: int, text: str, t: float) -> None:
    """Store (or replace) the participant's contact details."""
    old = s.scalar(select(Contact).where(Contact.participant_id == participant_id))
    if old is None:
        s.add(Contact(participant_id=participant_id, contact=text, created_at=t))
    else:
        old.contact = text


def session_exists(c: Connection, token: str) -> bool:
    """Whether a session has this token."""
    return c.execute(_EXISTS, {"token": token}).first() is not None


def clip_at(c: Connection, token: str, position: int) -> int | None:
    """The clip id at ``position`` of the session ``token`` (None if none)."""
    return c.execute(_CLIP_AT, {"token": token, "pos": position}).scalar()
