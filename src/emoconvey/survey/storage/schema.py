"""The one schema of every study: SQLAlchemy models, engines and Alembic migrations.

SQLite (in WAL mode) is the default: a file path is all a user gives. PostgreSQL works
through a database URL (``postgresql://user@host/db``; the psycopg 3 driver is used).
The schema is created and upgraded by the Alembic scripts shipped in
``emoconvey/survey/storage/migrations`` (:func:`migrate`), never by ``create_all``.

Times are stored as seconds since the epoch (floats), which behave the same on every
backend.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from emoconvey.errors import EmoconveyError

__all__ = [
    "Assignment",
    "Base",
    "Clip",
    "Contact",
    "Participant",
    "Rating",
    "Study",
    "database_has_row",
    "database_url",
    "make_engine",
    "migrate",
    "mos_answers",
    "mos_batches",
    "mos_clips",
    "mos_prompts",
    "mos_raters",
    "mos_study",
    "now",
]

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ASSIGNMENT_LOCK_KEY = 74_220_317  # PostgreSQL advisory lock id used for assignment
MIGRATION_LOCK_KEY = ASSIGNMENT_LOCK_KEY + 1  # and the one that serialises migrations
_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:k)")


def now() -> float:
    """Current time in seconds since the epoch."""
    return time.time()


class Base(DeclarativeBase):
    """Declarative base of the survey tables."""


class Study(Base):
    """The single row describing the study (config and clips folder)."""

    __tablename__ = "study"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    config_json: Mapped[str] = mapped_column(Text)
    intents_json: Mapped[str] = mapped_column(Text)
    clips_root: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)

    @property
    def config(self) -> dict[str, Any]:
        return json.loads(self.config_json)


class Clip(Base):
    """A clip: ``role`` is ``main`` (rated and exported), ``attention`` or ``sample``."""

    __tablename__ = "clips"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    system: Mapped[str] = mapped_column(String(255))
    intent: Mapped[str] = mapped_column(String(255))
    path: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16), default="main")
    n_rated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Number of ``main`` ratings of the clip, kept equal to a recount by database
    triggers on ``ratings`` (migration 0003), in the transaction that changes them."""


class Participant(Base):
    """One participant session, reached through its unguessable ``token``."""

    __tablename__ = "participants"
    __table_args__ = (Index("ix_participants_stage_seen", "stage", "last_seen"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    csrf: Mapped[str] = mapped_column(String(64))
    platform_pid: Mapped[str | None] = mapped_column(String(128), index=True, nullable=True)
    stage: Mapped[str] = mapped_column(String(16), default="demographics")
    created_at: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    gender: Mapped[str | None] = mapped_column(String(64), nullable=True)
    age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fluency: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    plan_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    """Roles of the presentation slots when clips are assigned just in time (JSON list of
    ``[role, ref]``, see :func:`emoconvey.survey.assignment.make_plan`); ``None`` when
    every clip was assigned at the start."""
    resume_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    """SHA-256 (hex) of the resume cookie of the browser that started the session: only
    it may come back through the platform ID; ``"released"``: the next browser that
    presents the ID takes the session over; ``None``: never by ID (migration 0004)."""


class Assignment(Base):
    """A clip a participant is to rate, at ``position`` (0-based) in their sequence."""

    __tablename__ = "assignments"
    __table_args__ = (
        UniqueConstraint("participant_id", "position", name="uq_assignment_position"),
        UniqueConstraint("participant_id", "clip_id", "role", name="uq_assignment_clip"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))


class Rating(Base):
    """An answer; at most one per (participant, clip, role) and per assignment."""

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("participant_id", "clip_id", "role", name="uq_rating_clip"),
        Index("ix_ratings_role_clip", "role", "clip_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), unique=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    valence: Mapped[int] = mapped_column(Integer)
    arousal: Mapped[int] = mapped_column(Integer)
    extra_json: Mapped[str] = mapped_column(Text, default="{}")
    played_full: Mapped[bool] = mapped_column(Boolean, default=False)
    response_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[float] = mapped_column(Float)


class Contact(Base):
    """Optional contact details for rewards, kept apart from ratings, never exported."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), unique=True)
    contact: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)


# ----------------------------------------------------------------------------- MOS tables
# The tables of a MOS study (``protocol: musiceval``, :mod:`emoconvey.survey.protocols.musiceval`):
# the same database and Alembic history as the tables above (migration 0005). A batch's
# items are stored with it (JSON ``[[clip_id, prompt_id, role, repeat_of], ...]``); whether
# an item is answered is the presence of its row in ``mos_answers``.

mos_study = Table(
    "mos_study", Base.metadata,
    Column("key", String(64), primary_key=True), Column("value", Text),
)
mos_clips = Table(
    "mos_clips", Base.metadata,
    Column("clip_id", String(255), primary_key=True),
    Column("system", String(255)),
    Column("prompt_id", String(255)),
    Column("path", Text),
    Column("role", String(16)),
)
mos_prompts = Table(
    "mos_prompts", Base.metadata,
    Column("prompt_id", String(255), primary_key=True),
    Column("text", Text),
    Column("source", String(255), nullable=True),
)
mos_raters = Table(
    "mos_raters", Base.metadata,
    Column("token", String(64), primary_key=True),
    Column("name", String(128), unique=True),
    Column("csrf", String(64)),
    Column("stage", String(16)),
    Column("created_at", Float),
    Column("last_seen", Float),
)
mos_batches = Table(
    "mos_batches", Base.metadata,
    Column("batch_id", Integer, primary_key=True),
    Column("rater", String(128)),
    Column("items_json", Text),
    Column("open", Boolean),
    Column("reached", Integer, nullable=True),
    Column("created_at", Float),
    Index("ix_mos_batches_rater_open", "rater", "open"),
)
mos_answers = Table(
    "mos_answers", Base.metadata,
    Column("batch_id", Integer, primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("rater", String(128)),
    Column("clip_id", String(255)),
    Column("role", String(16)),
    Column("MI", Integer),
    Column("TA", Integer),
    Column("created_at", Float),
    Index("ix_mos_answers_clip", "clip_id"),
)


# ----------------------------------------------------------------------------- engines


def database_url(db: str | Path) -> str:
    """Turn a file path or URL into a SQLAlchemy URL.

    A plain path means a SQLite file; ``postgresql://`` URLs get the psycopg 3 driver.
    """
    db = str(db)
    if "://" not in db:
        return f"sqlite:///{Path(db).expanduser().resolve()}"
    if db.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + db.split("://", 1)[1]
    return db


def is_sqlite(engine: Engine) -> bool:
    """Whether ``engine`` talks to SQLite."""
    return engine.dialect.name == "sqlite"


def make_engine(db: str | Path, *, pool_size: int = 20) -> Engine:
    """Create an engine for a study database.

    For SQLite the file is put in WAL mode with ``synchronous=NORMAL`` and a busy
    timeout, and transactions begin explicitly so that writers can take the write lock
    up front (``BEGIN IMMEDIATE``, see :meth:`Store.write`).
    """
    url = database_url(db)
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            raise EmoconveyError("db: an in-memory SQLite database cannot be shared; give a file")
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=2 * pool_size,
        )

        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get("immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    try:
        return create_engine(url, pool_size=pool_size, max_overflow=2 * pool_size,
                             pool_pre_ping=True)
    except ModuleNotFoundError as exc:
        raise EmoconveyError(
            f"db: the driver for {url.split('://')[0]!r} is not installed ({exc}); "
            "install emoconvey[postgres] for PostgreSQL"
        ) from exc


class Store:
    """Session factories of one database: plain reads and serialised writes."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite has one writer at a time; a waiting writer polls with sleeps (busy
        # timeout), which makes latencies explode when many threads want to write. This
        # process's writers queue on a lock instead, so SQLite's write lock is free
        # whenever one of them asks (other processes still queue through BEGIN IMMEDIATE).
        self._local_writer = threading.Lock()
        self.sqlite = is_sqlite(engine)
        self._immediate = engine.execution_options(immediate=True)
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._write = sessionmaker(self._immediate, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading (rolled back at the end)."""
        with self._read() as s:
            try:
                yield s
            finally:
                s.rollback()

    @contextmanager
    def write(self, *, lock_assignment: bool = False) -> Iterator[Session]:
        """A transaction that commits on success.

        On SQLite it starts with ``BEGIN IMMEDIATE`` (one writer at a time, decided at the
        start, so no decision is made on stale counts), after taking this process's
        writer lock. On PostgreSQL,
        ``lock_assignment`` takes a transaction-scoped advisory lock that serialises
        clip assignment.
        """
        lock = self._local_writer if self.sqlite else contextlib.nullcontext()
        with lock, self._write() as s, s.begin():
            if lock_assignment and not self.sqlite:
                s.execute(_ADVISORY_LOCK, {"k": ASSIGNMENT_LOCK_KEY})
            yield s

    @contextmanager
    def read_conn(self) -> Iterator[Connection]:
        """A Core connection for reading (no ORM; rolled back at the end).

        The hot request paths use this and :meth:`write_conn`: plain rows instead of
        ORM objects cost a fraction of the CPU time.
        """
        with self.engine.connect() as conn:
            try:
                yield conn
            finally:
                conn.rollback()

    @contextmanager
    def write_conn(self, *, lock_assignment: bool = False) -> Iterator[Connection]:
        """A Core connection in a transaction that commits on success.

        Same guarantees as :meth:`write` (writer lock and ``BEGIN IMMEDIATE`` on SQLite,
        advisory lock for assignment on PostgreSQL); the commit happens before the
        context manager exits, so a caller answering afterwards answers after it.
        """
        lock = self._local_writer if self.sqlite else contextlib.nullcontext()
        with lock, self._immediate.begin() as conn:
            if lock_assignment and not self.sqlite:
                conn.execute(_ADVISORY_LOCK, {"k": ASSIGNMENT_LOCK_KEY})
            yield conn



def database_has_row(db: str | Path, table: str, query: Any) -> bool:
    """Whether the database ``db`` (an existing file, or a URL) has the table ``table``
    and ``query`` finds a row in it (used to tell which protocol a database holds)."""
    from sqlalchemy import inspect

    if "://" not in str(db) and not Path(db).is_file():
        return False
    engine = make_engine(db, pool_size=1)
    try:
        with engine.connect() as c:
            return inspect(c).has_table(table) and c.execute(query).first() is not None
    finally:
        engine.dispose()


def migrate(engine: Engine) -> None:
    """Create or upgrade the schema to the newest migration (safe to call concurrently)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    immediate = engine.execution_options(immediate=True)
    with immediate.begin() as conn:
        if not is_sqlite(engine):
            conn.execute(_ADVISORY_LOCK, {"k": MIGRATION_LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    log.info("database %s is at the newest schema", engine.url.render_as_string())
