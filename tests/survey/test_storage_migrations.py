"""Alembic brings the databases made by earlier code forward: ``study.db`` (AImoclips,
schema 0004) and ``mos.db`` (MOS, made with ``create_all``, no Alembic history).

The files in ``fixtures/`` were made by ``fixtures/make_legacy_dbs.py`` on the code before
MOS studies joined the Alembic schema.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from fastapi.testclient import TestClient
from survey_helpers import ADMIN, finish_session, session_csrf

from emoconvey.survey.app import create_app
from emoconvey.survey.protocols.musiceval import is_mos_db, open_mos_study
from emoconvey.survey.study import open_study

FIXTURES = Path(__file__).resolve().parent / "fixtures"
HEAD = "0005"


def _copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copy(FIXTURES / f"legacy_{name}", target)
    return target


def _version(db: Path) -> str:
    with sqlite3.connect(db) as c:
        return c.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_legacy_study_db_is_brought_forward(tmp_path):
    db = _copy("study.db", tmp_path)
    assert _version(db) == "0004"
    study = open_study(db, pool_size=2)
    assert _version(db) == HEAD
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT COUNT(*) FROM ratings").fetchone()[0] == 11
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"mos_batches", "mos_answers"} <= tables
    assert not is_mos_db(db)
    # the half-way participant goes on where they left off
    with sqlite3.connect(db) as c:
        token = c.execute("SELECT token FROM participants WHERE finished_at IS NULL"
                          ).fetchone()[0]
    with TestClient(create_app(study, admin_token=ADMIN, seed=0)) as client:
        session_csrf(client, token)
        assert finish_session(client, token) == 5
        assert "admin" in client.get(f"/admin?token={ADMIN}").text.lower()
    study.store.engine.dispose()


def test_legacy_mos_db_is_brought_forward(tmp_path):
    db = _copy("mos.db", tmp_path)
    with sqlite3.connect(db) as c:
        assert not c.execute("SELECT name FROM sqlite_master WHERE name='alembic_version'"
                             ).fetchall()
    assert is_mos_db(db)
    study = open_mos_study(db, seed=0)
    assert _version(db) == HEAD
    r01 = study.current_batch("R01")
    assert r01 is not None and r01.answered == {0, 1}
    assert study.current_batch("R02") is None
    answers = study.answers()
    assert len(answers) == 9 and set(answers.loc[answers["rater"] == "R02", "MI"]) == {5}
    # the state goes on: R01 answers on, R03 gets a batch without R01's open clips over k
    study.answer("R01", r01.batch_id, 2, 3, 3)
    b3 = study.start_batch("R03")
    assert b3 is not None and b3.batch_id == 3
    prog = study.progress()
    assert max(prog["ratings_per_clip"]) <= study.config.ratings_per_clip
    study.engine.dispose()
