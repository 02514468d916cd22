"""The MusicEval protocol (Liu et al., 2025): MOS ratings of musical impression and text fit.

* **Scales**: 5-point MI and TA with end labels (config ``scales``).
* **Grouping and assignment**: prompt-grouped batches, exactly ``ratings_per_clip`` (k)
  ratings per clip (:class:`~emoconvey.survey.protocols.batches.MosAssigner`), decided
  from the database in one serialised transaction, so several processes serve a study.
* **Quality rules**: real-music anchors and repeats
  (:func:`~emoconvey.survey.protocols.batches.invalid_raters`).
* **Export**: the MusicEval layout (:func:`export_mos_study`).

A MOS study lives in the shared schema (:mod:`emoconvey.survey.storage`, tables
``mos_*``), in ``STUDY/mos.db`` or a database URL, and is served by
:mod:`emoconvey.survey.mos_app`. Raters are invited (personal links, no open link) and
rate prompt-grouped batches chosen by :class:`~emoconvey.survey.protocols.batches.MosAssigner`
on the scales MI and TA (5 points each), with the prompt text shown.

Config (YAML or TOML), every key optional::

    protocol: musiceval
    title: Text-to-music quality study
    ratings_per_clip: 5          # k: every clip ends with exactly k ratings
    batch_size: 50               # main clips per batch
    repeats_per_batch: 1         # quality probe: a clip shown twice in a batch
    anchors:                     # quality probe: real-music anchors, one per batch
      - {file: anchors/real1.wav, prompt: "A solo cello plays a slow melody"}
    anchors_per_batch: 1
    anchor_threshold: 3          # a rater scoring an anchor below this is invalid
    repeat_max_difference: 1     # ... or whose repeated scores differ by more
    session_expiry_minutes: 240  # an idle open batch is released after this
    scales:
      MI: {question: "Overall musical impression", low: "very poor", high: "excellent"}
      TA: {question: "How well does the music match the text?", low: "not at all",
           high: "perfectly"}
    instructions: "..."          # shown before the first batch
    language: en                 # lang of every page; translate with texts
    require_full_play: false     # true: "Next" waits until the clip was played through
    texts: {batch_done_title: "..."}  # any page text (MOS_TEXTS, config.DEFAULT_TEXTS)

Clips come from a manifest CSV ``system,prompt_id,file`` and the prompts from a
``prompt_info.txt``-style file (tab-separated ``id<TAB>text[<TAB>source]``).
"""

from __future__ import annotations

import json
import logging
import random
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Connection, func, insert, select, update

from emoconvey.data.musiceval import (
    MusicEvalDataset,
    clip_id_for,
    system_mos_from_clips,
    write_musiceval,
)
from emoconvey.errors import DataValidationError, EmoconveyError
from emoconvey.survey.config import DEFAULT_TEXTS
from emoconvey.survey.protocols.base import Protocol
from emoconvey.survey.protocols.batches import Batch, BatchItem, MosAssigner, invalid_raters
from emoconvey.survey.storage import (
    Store,
    Study,
    database_has_row,
    make_engine,
    migrate,
    mos_answers,
    mos_batches,
    mos_clips,
    mos_prompts,
    mos_raters,
    mos_study,
)
from emoconvey.survey.study import check_audio_files

__all__ = [
    "MOS_DB_FILE",
    "PROTOCOL",
    "MosConfig",
    "MosStudy",
    "export_mos_study",
    "init_mos_study",
    "invite_mos_raters",
    "is_mos_db",
    "is_mos_study",
    "open_mos_study",
    "read_mos_config",
]

log = logging.getLogger(__name__)

MOS_DB_FILE = "mos.db"
SCALES = ("MI", "TA")

DEFAULT_SCALES = {
    "MI": {"question": "Overall musical impression", "low": "very poor", "high": "excellent"},
    "TA": {
        "question": "How well does the music match the text prompt?",
        "low": "not at all",
        "high": "perfectly",
    },
}
DEFAULT_INSTRUCTIONS = (
    "You will rate short pieces of generated music. Each page shows a text prompt and a "
    "clip made from it. Listen to the clip (you may replay it), then rate its overall "
    "musical impression and how well it matches the text, from 1 (lowest) to 5 "
    "(highest). Clips made from the same prompt follow one another. You can stop after "
    "any clip and come back later with the same link."
)

t_study, t_clips, t_prompts = mos_study, mos_clips, mos_prompts
t_raters, t_batches, t_answers = mos_raters, mos_batches, mos_answers


MOS_TEXTS: dict[str, str] = {
    "steps": "Instructions|Ratings|Done",
    "start_button": "Start",
    "batch_done_title": "Batch finished",
    "batch_done_body": "Thank you. You can take a break and come back later with the same "
                       "link, or go on now.",
    "next_batch_button": "Next batch",
    "all_done_title": "All done",
    "all_done_body": "Thank you: there is nothing left for you to rate in this study.",
    "batch_progress": "Batch {batch} · clip {n} of {total}",
    "prompt_label": "Text prompt:",
    "invitation_only": "This study is by invitation: please use your personal link.",
    "error_404": "This page does not exist. Please check the personal link you were given.",
}
"""Rater-facing texts of MOS pages (English); the shared texts (errors, play status,
"Next", "Instructions", ...) come from :data:`emoconvey.survey.config.DEFAULT_TEXTS`.
Override any of both in the config's ``texts``."""


def _page_settings(data: dict[str, Any], source: str) -> dict[str, Any]:
    """``language``, ``require_full_play`` and ``texts`` of a MOS config mapping."""
    kw: dict[str, Any] = {}
    if "language" in data:
        lang = data["language"]
        if not isinstance(lang, str) or not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*",
                                                          lang):
            raise EmoconveyError(f"{source}: language: expected a language tag such as "
                                 f"'en' or 'ko', got {lang!r}")
        kw["language"] = lang
    if "require_full_play" in data:
        if not isinstance(data["require_full_play"], bool):
            raise EmoconveyError(f"{source}: require_full_play: expected true or false")
        kw["require_full_play"] = data["require_full_play"]
    if "texts" in data:
        given = data["texts"]
        known = set(MOS_TEXTS) | set(DEFAULT_TEXTS)
        if not isinstance(given, dict):
            raise EmoconveyError(f"{source}: texts: expected a mapping of text keys")
        bad = sorted(set(given) - known)
        if bad:
            raise EmoconveyError(f"{source}: texts: unknown key(s) {bad}; expected some of "
                                 f"{sorted(known)}")
        if any(not isinstance(v, str) or not v.strip() for v in given.values()):
            raise EmoconveyError(f"{source}: texts: expected non-empty texts")
        kw["texts"] = dict(given)
    return kw


@dataclass(frozen=True)
class MosConfig:
    """Settings of a MOS study (see the module docstring)."""

    title: str = "Text-to-music quality study"
    ratings_per_clip: int = 5
    batch_size: int = 50
    repeats_per_batch: int = 1
    anchors: tuple[tuple[str, str], ...] = ()
    anchors_per_batch: int = 1
    anchor_threshold: float = 3
    repeat_max_difference: float = 1
    session_expiry_minutes: float = 240.0
    scales: dict[str, dict[str, str]] = field(default_factory=lambda: dict(DEFAULT_SCALES))
    instructions: str = DEFAULT_INSTRUCTIONS
    language: str = "en"
    require_full_play: bool = False
    texts: dict[str, str] = field(default_factory=dict)
    """Overrides of the page texts (:data:`MOS_TEXTS`, then the shared
    :data:`emoconvey.survey.config.DEFAULT_TEXTS`), e.g. to run the study in another
    language."""

    def text(self, key: str, **kwargs: Any) -> str:
        """A rater-facing text with ``{placeholders}`` filled in."""
        raw = self.texts.get(key) or MOS_TEXTS.get(key) or DEFAULT_TEXTS.get(key, key)
        try:
            return raw.format(**kwargs) if kwargs else raw
        except (KeyError, IndexError, ValueError):
            return raw

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> MosConfig:
        """Validate a config mapping (as read from YAML/TOML)."""
        if not isinstance(data, dict):
            raise EmoconveyError(f"{source}: expected a mapping of settings")
        data = dict(data)
        protocol = data.pop("protocol", "musiceval")
        if protocol != "musiceval":
            raise EmoconveyError(f"{source}: protocol: expected 'musiceval', got {protocol!r}")
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise EmoconveyError(
                f"{source}: unknown setting(s) {unknown}; expected some of {sorted(known)}"
            )
        kw: dict[str, Any] = {}
        for key, low in (
            ("ratings_per_clip", 1),
            ("batch_size", 1),
            ("repeats_per_batch", 0),
            ("anchors_per_batch", 0),
        ):
            if key in data:
                v = data[key]
                if isinstance(v, bool) or not isinstance(v, int) or v < low:
                    raise EmoconveyError(
                        f"{source}: {key}: expected an integer >= {low}, got {v!r}"
                    )
                kw[key] = v
        for key in ("anchor_threshold", "repeat_max_difference", "session_expiry_minutes"):
            if key in data:
                v = data[key]
                if isinstance(v, bool) or not isinstance(v, int | float) or v < 0:
                    raise EmoconveyError(f"{source}: {key}: expected a number >= 0, got {v!r}")
                kw[key] = float(v)
        for key in ("title", "instructions"):
            if key in data:
                if not isinstance(data[key], str) or not data[key].strip():
                    raise EmoconveyError(f"{source}: {key}: expected a non-empty text")
                kw[key] = data[key]
        if "anchors" in data:
            raw = data["anchors"]
            if not isinstance(raw, list):
                raise EmoconveyError(f"{source}: anchors: expected a list of {{file, prompt}}")
            anchors = []
            for i, a in enumerate(raw):
                if not isinstance(a, dict) or not isinstance(a.get("file"), str):
                    raise EmoconveyError(f"{source}: anchors[{i}]: expected {{file, prompt}}")
                anchors.append((a["file"], str(a.get("prompt", ""))))
            kw["anchors"] = tuple(anchors)
        kw.update(_page_settings(data, source))
        if "scales" in data:
            raw = data["scales"]
            if not isinstance(raw, dict) or set(raw) - set(SCALES):
                raise EmoconveyError(f"{source}: scales: expected a mapping with keys MI and TA")
            scales = {k: dict(v) for k, v in DEFAULT_SCALES.items()}
            for name, spec in raw.items():
                if not isinstance(spec, dict) or set(spec) - {"question", "low", "high"}:
                    raise EmoconveyError(
                        f"{source}: scales.{name}: expected question, low and high texts"
                    )
                scales[name].update({k: str(v) for k, v in spec.items()})
            kw["scales"] = scales
        return cls(**kw)

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": "musiceval",
            "title": self.title,
            "ratings_per_clip": self.ratings_per_clip,
            "batch_size": self.batch_size,
            "repeats_per_batch": self.repeats_per_batch,
            "anchors": [{"file": f, "prompt": p} for f, p in self.anchors],
            "anchors_per_batch": self.anchors_per_batch,
            "anchor_threshold": self.anchor_threshold,
            "repeat_max_difference": self.repeat_max_difference,
            "session_expiry_minutes": self.session_expiry_minutes,
            "scales": self.scales,
            "instructions": self.instructions,
            "language": self.language,
            "require_full_play": self.require_full_play,
            "texts": dict(self.texts),
        }


def read_mos_config(path: str | Path) -> MosConfig | None:
    """The MOS config in a YAML/TOML file, or None when it is not ``protocol: musiceval``."""
    import tomllib

    path = Path(path)
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text) or {}
    except Exception:
        return None
    if not isinstance(data, dict) or data.get("protocol") != "musiceval":
        return None
    return MosConfig.from_dict(data, source=str(path))


def is_mos_study(study_dir: str | Path) -> bool:
    """Whether ``study_dir`` holds a MOS study database."""
    return (Path(study_dir) / MOS_DB_FILE).is_file()


def is_mos_db(db: str | Path) -> bool:
    """Whether the database ``db`` (file or URL) holds a MOS study."""
    return database_has_row(db, "mos_study",
                            select(t_study.c.key).where(t_study.c.key == "config"))


def _batch(row: Any, answered: set[int]) -> Batch:
    return Batch(int(row.batch_id), str(row.rater),
                 [BatchItem(*it) for it in json.loads(row.items_json)], set(answered),
                 bool(row.open), row.reached)


class MosStudy:
    """An open MOS study: config, clips and prompts; the assignment state in the database.

    Nothing about raters or batches is kept in the process: every request reads the
    database, and every decision is taken in one write transaction serialised with the
    others of every process (:meth:`emoconvey.survey.storage.Store.write_conn`: SQLite
    ``BEGIN IMMEDIATE``; PostgreSQL an advisory lock for new batches and a row lock on
    the batch for answers and expiry). So several server processes can serve one study,
    and "exactly k ratings per clip" holds across them and across restarts.
    """

    def __init__(self, store: Store, *, seed: int | None = None) -> None:
        self.store = store
        self.engine = store.engine
        with store.read_conn() as c:
            kv = dict(c.execute(select(t_study.c.key, t_study.c.value)).all())
            if "config" not in kv:
                raise EmoconveyError("db: it holds no MOS study; create one with 'survey init'")
            self.config = MosConfig.from_dict(json.loads(kv["config"]))
            self.clips_root = Path(kv["clips_root"])
            self.clips = pd.DataFrame(c.execute(select(t_clips)).mappings().all())
            self.prompts = pd.DataFrame(c.execute(select(t_prompts)).mappings().all())
        self.path_of = dict(zip(self.clips["clip_id"], self.clips["path"], strict=True))
        self.prompt_text = dict(zip(self.prompts["prompt_id"], self.prompts["text"],
                                    strict=True))
        self._rng = random.Random(seed) if seed is not None else random.SystemRandom()

    # ------------------------------------------------------------------ state

    def _assigner(self, c: Connection) -> MosAssigner:
        """A :class:`MosAssigner` holding the state read from the database now."""
        clips, cfg = self.clips, self.config
        main = clips[clips["role"] == "main"]
        anchors = clips[clips["role"] == "anchor"]
        asg = MosAssigner(
            main.loc[:, ["clip_id", "system", "prompt_id"]].reset_index(drop=True),
            ratings_per_clip=cfg.ratings_per_clip,
            batch_size=cfg.batch_size,
            anchors=list(anchors["clip_id"]),
            anchor_prompts=dict(zip(anchors["clip_id"], anchors["prompt_id"], strict=True)),
            anchors_per_batch=cfg.anchors_per_batch,
            repeats_per_batch=cfg.repeats_per_batch,
        )
        asg.rng = self._rng  # type: ignore[assignment]
        answered: dict[int, set[int]] = {}
        for b, p in c.execute(select(t_answers.c.batch_id, t_answers.c.position)):
            answered.setdefault(int(b), set()).add(int(p))
        rows = c.execute(select(t_batches).order_by(t_batches.c.batch_id)).all()
        asg.restore(_batch(r, answered.get(int(r.batch_id), set())) for r in rows)
        return asg

    @property
    def assigner(self) -> MosAssigner:
        """A snapshot of the assignment state (read from the database now)."""
        with self.store.read_conn() as c:
            return self._assigner(c)

    def _open_batch(self, c: Connection, name: str) -> Batch | None:
        row = c.execute(select(t_batches).where(t_batches.c.rater == name,
                                                t_batches.c.open.is_(True))
                        .order_by(t_batches.c.batch_id)).first()
        if row is None:
            return None
        done = c.execute(select(t_answers.c.position)
                         .where(t_answers.c.batch_id == row.batch_id)).scalars()
        return _batch(row, {int(p) for p in done})

    # ------------------------------------------------------------------ raters

    def rater(self, token: str) -> dict[str, Any] | None:
        with self.store.read_conn() as c:
            row = c.execute(select(t_raters).where(t_raters.c.token == token)).mappings().first()
        return dict(row) if row else None

    def touch(self, token: str, *, stage: str | None = None) -> None:
        values: dict[str, Any] = {"last_seen": time.time()}
        if stage:
            values["stage"] = stage
        with self.store.write_conn() as c:
            c.execute(update(t_raters).where(t_raters.c.token == token).values(**values))

    def invite(self, names: list[str]) -> list[tuple[str, str]]:
        """Create raters; returns (name, token) pairs."""
        now = time.time()
        out = []
        with self.store.write_conn() as c:
            taken = set(
                c.execute(select(t_raters.c.name).where(t_raters.c.name.in_(names))).scalars()
            )
            if taken:
                raise EmoconveyError(f"rater(s) already invited: {sorted(taken)}")
            for name in names:
                token = secrets.token_urlsafe(32)
                c.execute(insert(t_raters).values(
                    token=token, name=name, csrf=secrets.token_urlsafe(24),
                    stage="instructions", created_at=now, last_seen=now))
                out.append((name, token))
        return out

    # ------------------------------------------------------------------ batches

    def _expire(self, c: Connection, asg: MosAssigner, idle: list[int]) -> None:
        """Release the open batches ``idle`` (their rows locked by the caller)."""
        for batch_id in idle:
            asg.release(batch_id)
            c.execute(update(t_batches).where(t_batches.c.batch_id == batch_id)
                      .values(open=False, reached=asg.batches[batch_id].reached))

    def _lock_idle(self, c: Connection, now: float) -> list[int]:
        """Open batches of raters idle past the expiry, locked (``FOR UPDATE``) so that
        no answer to them commits while they are released."""
        limit = now - self.config.session_expiry_minutes * 60
        idle = select(t_raters.c.name).where(t_raters.c.last_seen < limit)
        return [int(b) for b in c.execute(
            select(t_batches.c.batch_id)
            .where(t_batches.c.open.is_(True), t_batches.c.rater.in_(idle))
            .with_for_update()).scalars()]

    def current_batch(self, name: str) -> Batch | None:
        """The rater's open batch, if any."""
        with self.store.read_conn() as c:
            return self._open_batch(c, name)

    def batch(self, batch_id: int) -> Batch | None:
        """A batch as stored now (None when there is no such batch)."""
        with self.store.read_conn() as c:
            row = c.execute(select(t_batches).where(t_batches.c.batch_id == batch_id)).first()
            if row is None:
                return None
            done = c.execute(select(t_answers.c.position)
                             .where(t_answers.c.batch_id == batch_id)).scalars()
            return _batch(row, {int(p) for p in done})

    def rater_view(self, name: str) -> tuple[BatchItem | None, int, int, int, int]:
        """What the rater's page shows: the next item (None when no batch is open), the
        batch id, the position, the number of answered items, and the rater's batch
        count (in ``[4]``)."""
        with self.store.read_conn() as c:
            batch = self._open_batch(c, name)
            count = int(c.execute(select(func.count()).select_from(t_batches)
                                  .where(t_batches.c.rater == name)).scalar() or 0)
        if batch is None:
            return None, 0, 0, 0, count
        pos = min(i for i in range(len(batch.items)) if i not in batch.answered)
        return batch.items[pos], batch.batch_id, pos, len(batch.answered), count

    def clip_at(self, name: str, batch_id: int, position: int) -> str | None:
        """The clip at ``position`` of the rater's batch (None if there is none)."""
        with self.store.read_conn() as c:
            row = c.execute(select(t_batches.c.rater, t_batches.c.items_json)
                            .where(t_batches.c.batch_id == batch_id)).first()
        if row is None or row.rater != name:
            return None
        items = json.loads(row.items_json)
        return str(items[position][0]) if 0 <= position < len(items) else None

    def batch_size_of(self, batch_id: int) -> int:
        """Number of items in a batch."""
        b = self.batch(batch_id)
        return len(b.items) if b is not None else 0

    def start_batch(self, name: str) -> Batch | None:
        """The rater's open batch, or a new one (None when nothing is left for them).

        Idle batches (of raters not seen for ``session_expiry_minutes``) are released
        first, in the same transaction, which also sets the rater's stage (``rating``, or
        ``done`` when nothing is left) and last visit.
        """
        with self.store.write_conn(lock_assignment=True) as c:
            t = time.time()
            c.execute(update(t_raters).where(t_raters.c.name == name).values(last_seen=t))
            idle = self._lock_idle(c, t)
            asg = self._assigner(c)
            self._expire(c, asg, idle)
            open_ = next((b for b in asg.batches.values() if b.open and b.rater == name), None)
            batch = open_ or asg.next_batch(name)
            c.execute(update(t_raters).where(t_raters.c.name == name)
                      .values(stage="done" if batch is None else "rating"))
            if batch is None or open_ is not None:
                return batch
            c.execute(insert(t_batches).values(
                batch_id=batch.batch_id, rater=name, open=True, reached=None,
                items_json=json.dumps([[it.clip_id, it.prompt_id, it.role, it.repeat_of]
                                       for it in batch.items]),
                created_at=time.time()))
            return batch

    def answer(self, name: str, batch_id: int, position: int, mi: int, ta: int) -> str:
        """Save an answer; ``"saved"`` or ``"duplicate"``.

        The batch's row is locked (``FOR UPDATE``; SQLite: the write lock) so that an
        answer and the release of its batch by another process never both happen.
        """
        with self.store.write_conn() as c:
            row = c.execute(select(t_batches).where(t_batches.c.batch_id == batch_id)
                            .with_for_update()).first()
            if row is None or row.rater != name:
                raise EmoconveyError("no such batch for this rater")
            answered = {int(p) for p in c.execute(
                select(t_answers.c.position).where(t_answers.c.batch_id == batch_id)).scalars()}
            if position in answered:
                return "duplicate"
            if not row.open:
                raise EmoconveyError("this batch was closed; reload the page")
            items = json.loads(row.items_json)
            first_open = min(i for i in range(len(items)) if i not in answered)
            if position != first_open:
                raise EmoconveyError("answer the clips in order")
            t = time.time()
            c.execute(insert(t_answers).values(
                batch_id=batch_id, position=position, rater=name, clip_id=items[position][0],
                role=items[position][2], MI=mi, TA=ta, created_at=t))
            c.execute(update(t_raters).where(t_raters.c.name == name).values(last_seen=t))
            if len(answered) + 1 == len(items):
                c.execute(update(t_batches).where(t_batches.c.batch_id == batch_id)
                          .values(open=False))
            return "saved"

    def answers(self) -> pd.DataFrame:
        """Every answer: ``batch_id``, ``position``, ``rater``, ``clip_id``, ``role``,
        ``MI``, ``TA``, ``created_at``."""
        with self.store.read_conn() as c:
            rows = c.execute(select(t_answers).order_by(t_answers.c.created_at,
                                                        t_answers.c.batch_id,
                                                        t_answers.c.position)).mappings().all()
        cols = [col.name for col in t_answers.columns]
        return pd.DataFrame([dict(r) for r in rows], columns=cols)

    def long_ratings(self) -> pd.DataFrame:
        """Answers as long ratings with ``role`` (for the probe rules)."""
        a = self.answers()
        return a.melt(
            id_vars=["rater", "clip_id", "role"],
            value_vars=list(SCALES),
            var_name="scale",
            value_name="score",
        )

    def progress(self) -> dict[str, Any]:
        """Admin summary: raters, batches, ratings-per-clip histogram, per-system progress
        (``systems``: clips, complete clips, ratings) and invalid raters."""
        with self.store.read_conn() as c:
            asg = self._assigner(c)
            raters = c.execute(select(t_raters.c.name, t_raters.c.stage)).all()
        prog = asg.progress()
        n_batches = len(asg.batches)
        n_open = sum(b.open for b in asg.batches.values())
        cfg = self.config
        inv = invalid_raters(
            self.long_ratings(),
            anchor_threshold=cfg.anchor_threshold,
            max_repeat_difference=cfg.repeat_max_difference,
        )
        k = cfg.ratings_per_clip
        per_system = [
            {"system": sysname, "clips": len(g), "complete": int((g["done"] >= k).sum()),
             "ratings": int(g["done"].sum())}
            for sysname, g in prog.groupby("system", sort=True)
        ]
        return {
            "clips": len(prog),
            "systems": per_system,
            "ratings_per_clip": {
                int(k): int(v) for k, v in prog["done"].value_counts().sort_index().items()
            },
            "complete_clips": int((prog["done"] >= cfg.ratings_per_clip).sum()),
            "ratings": int(prog["done"].sum()),
            "below": prog.loc[prog["done"] < k, ["clip_id", "done", "held"]]
            .sort_values(["done", "clip_id"]).to_dict("records"),
            "held": int(prog["held"].sum()),
            "raters": len(raters),
            "batches": n_batches,
            "open_batches": n_open,
            "invalid": inv.to_dict("records"),
        }


def init_mos_study(
    db: str | Path,
    clips_dir: str | Path,
    *,
    manifest: str | Path,
    prompts: str | Path,
    config: MosConfig | None = None,
    prefix: str = "",
) -> MosStudy:
    """Create a MOS study database.

    Parameters
    ----------
    db : path or URL
        A new SQLite file (``STUDY/mos.db``) or database URL.
    clips_dir : path
        Folder the manifest's and the anchors' files are relative to.
    manifest : path
        CSV ``system,prompt_id,file``.
    prompts : path
        Tab-separated ``id<TAB>text[<TAB>source]`` with a header line.
    config : MosConfig, optional
    prefix : str
        Clip id prefix (``<prefix>-<system>_<prompt>``).
    """
    config = config or MosConfig()
    root = Path(clips_dir).resolve()
    if not root.is_dir():
        raise EmoconveyError(f"--clips: {str(root)!r} is not a folder")
    man = pd.read_csv(manifest, dtype=str, keep_default_na=False)
    missing = [c for c in ("system", "prompt_id", "file") if c not in man.columns]
    if missing:
        raise DataValidationError(f"missing column(s) {missing}", file=manifest)
    from emoconvey.data.musiceval import _read_prompt_table

    prompt_rows = _read_prompt_table(Path(prompts), per_clip=False)
    known = {r["prompt_id"] for r in prompt_rows}
    rows = []
    for i, r in enumerate(man.itertuples(index=False), start=2):
        try:
            cid = clip_id_for(r.system, r.prompt_id, prefix=prefix)
        except EmoconveyError as exc:
            raise DataValidationError(str(exc), file=manifest, row=i) from None
        if r.prompt_id not in known:
            raise DataValidationError(
                f"unknown prompt {r.prompt_id!r}", file=manifest, row=i, column="prompt_id"
            )
        path = (root / r.file).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise DataValidationError(
                f"audio file {r.file!r} not found under {str(root)!r}",
                file=manifest,
                row=i,
                column="file",
            )
        rows.append(
            {
                "clip_id": cid,
                "system": r.system,
                "prompt_id": r.prompt_id,
                "path": str(path.relative_to(root)),
                "role": "main",
            }
        )
    ids = [r["clip_id"] for r in rows]
    if len(set(ids)) != len(ids):
        dup = next(x for x in ids if ids.count(x) > 1)
        raise DataValidationError(f"clip {dup!r} (system and prompt) listed twice", file=manifest)
    anchor_prompts = []
    for i, (file, text) in enumerate(config.anchors, start=1):
        path = (root / file).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise EmoconveyError(f"anchors: file {file!r} not found under {str(root)!r}")
        rows.append(
            {
                "clip_id": f"anchor{i}",
                "system": "anchor",
                "prompt_id": f"anchor{i}",
                "path": str(path.relative_to(root)),
                "role": "anchor",
            }
        )
        anchor_prompts.append({"prompt_id": f"anchor{i}", "text": text, "source": "anchor"})
    check_audio_files(root, [r["path"] for r in rows])  # a file raters could not play
    engine = make_engine(db)
    migrate(engine)
    store = Store(engine)
    with store.write_conn() as c:
        if (c.execute(select(t_study.c.key)).first() is not None
                or c.execute(select(Study.id)).first() is not None):
            raise EmoconveyError(f"db: {db} already holds a study; use a new database")
        c.execute(
            insert(t_study),
            [
                {"key": "config", "value": json.dumps(config.to_dict())},
                {"key": "clips_root", "value": str(root)},
            ],
        )
        c.execute(insert(t_clips), rows)
        c.execute(
            insert(t_prompts),
            [
                {"prompt_id": r["prompt_id"], "text": r["text"], "source": r["source"]}
                for r in prompt_rows
            ]
            + anchor_prompts,
        )
    log.info("MOS study created in %s with %d clips", db, len(ids))
    return MosStudy(store)


def open_mos_study(db: str | Path, *, seed: int | None = None,
                   pool_size: int = 20) -> MosStudy:
    """Open a MOS study database (file or URL), upgrading its schema first.

    A ``mos.db`` made before MOS studies joined the Alembic history is brought forward
    by :func:`emoconvey.survey.storage.migrate` (revision 0005 keeps its tables).
    """
    if "://" not in str(db) and not Path(db).is_file():
        raise EmoconveyError(f"db: {db} does not exist")
    engine = make_engine(db, pool_size=pool_size)
    migrate(engine)
    return MosStudy(Store(engine), seed=seed)


def export_mos_study(
    study: MosStudy,
    out: str | Path,
    *,
    drop_invalid: bool = False,
    split: dict[str, float] | None = None,
    seed: int = 0,
    ids: str = "keep",
) -> dict[str, Path]:
    """Write the study's ratings in the MusicEval layout, plus ``invalid_raters.csv``
    and ``study_report.md`` (who failed which quality probe, and whether they were
    dropped). Only main ratings are exported; clips with no rating are left out."""
    cfg = study.config
    long = study.long_ratings()
    if long.empty:
        raise EmoconveyError("export: the study has no ratings yet")
    inv = invalid_raters(
        long, anchor_threshold=cfg.anchor_threshold, max_repeat_difference=cfg.repeat_max_difference
    )
    bad = set(inv["rater"])
    main = long[long["role"] == "main"]
    if drop_invalid:
        main = main[~main["rater"].isin(bad)]
    if main.empty:
        raise EmoconveyError("export: no ratings left after dropping invalid raters")
    ratings = main.loc[:, ["rater", "clip_id", "scale", "score"]].reset_index(drop=True)
    ratings["score"] = ratings["score"].astype(int)
    means = ratings.pivot_table(index="clip_id", columns="scale", values="score")
    clips = study.clips[
        (study.clips["role"] == "main") & study.clips["clip_id"].isin(means.index)
    ].copy()
    clips = pd.DataFrame(
        {
            "clip_id": clips["clip_id"].to_numpy(),
            "system": clips["system"].to_numpy(),
            "prompt_id": clips["prompt_id"].to_numpy(),
            "MI": clips["clip_id"].map(means["MI"]).to_numpy(float),
            "TA": clips["clip_id"].map(means["TA"]).to_numpy(float),
            "split": "total",
            "audio_file": ("wav/" + clips["clip_id"] + ".wav").to_numpy(),
        }
    )
    pr = study.prompts[study.prompts["prompt_id"].isin(set(clips["prompt_id"]))]
    prompts = pd.DataFrame(
        {
            "prompt_id": pr["prompt_id"].to_numpy(),
            "text": pr["text"].to_numpy(),
            "source": pr["source"].to_numpy(),
            "per_clip": False,
        }
    )
    ds = MusicEvalDataset(
        clips=clips, prompts=prompts, system_mos=system_mos_from_clips(clips), ratings=ratings
    )
    out = Path(out)
    written = write_musiceval(ds, out, split=split, seed=seed, ids=ids)
    paths = {p.relative_to(out).as_posix(): p for p in written}
    paths["invalid"] = out / "invalid_raters.csv"
    inv.to_csv(paths["invalid"], index=False)
    lines = [
        f"# {cfg.title}: MOS study export",
        "",
        f"* clips exported: {len(clips)}; ratings: {len(ratings)} by "
        f"{ratings['rater'].nunique()} raters",
        f"* quality probes: anchors below {cfg.anchor_threshold:g}, repeats differing by more "
        f"than {cfg.repeat_max_difference:g}",
        f"* invalid raters: {', '.join(sorted(bad)) or 'none'}"
        + (" (dropped)" if drop_invalid and bad else " (kept)" if bad else ""),
        "",
    ]
    lines += [f"- {r.rater}: {r.rule}: {r.detail}" for r in inv.itertuples()]
    paths["report"] = out / "study_report.md"
    paths["report"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


def invite_mos_raters(
    study: MosStudy,
    out: str | Path,
    *,
    n: int | None = None,
    names: list[str] | None = None,
    base_url: str = "http://127.0.0.1:8000",
) -> Path:
    """Invite raters to a MOS study and write their links ``<base_url>/r/<token>``
    (CSV ``rater,link``, owner-readable only). Same checks as
    :func:`emoconvey.survey.musiceval.invite_raters`."""
    import csv
    import os
    import re

    from emoconvey.survey.musiceval import check_invite_names

    names = check_invite_names(n, names)
    if not re.match(r"^https?://[^\s]+$", base_url):
        raise EmoconveyError(f"--base-url: expected http(s)://host[:port][/path], got {base_url!r}")
    out = Path(out)
    if out.exists():
        raise EmoconveyError(f"--out: {str(out)!r} exists; links are written once")
    pairs = study.invite(names)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["rater", "link"])
        w.writerows((name, f"{base_url.rstrip('/')}/r/{token}") for name, token in pairs)
    return out



PROTOCOL = Protocol(
    name="musiceval",
    summary="5-point MI/TA; prompt-grouped batches, exactly k ratings per clip, probes",
    holds=is_mos_db,
    open=open_mos_study,
    app_factory="emoconvey.survey.mos_app:create_mos_app",
)
