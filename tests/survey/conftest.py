"""Fixtures of the survey tests: a demo study on SQLite or on a real PostgreSQL server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the survey extra is not installed")

from pg_server import PostgresServer
from survey_helpers import ADMIN

from emoconvey.survey.config import load_config
from emoconvey.survey.demo import make_demo_files
from emoconvey.survey.study import OpenStudy, init_study, open_study


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Demo audio (3 systems x 12 intents x 2 clips) and its study.yaml."""
    return make_demo_files(tmp_path_factory.mktemp("demo"))


# ----------------------------------------------------------------------------- postgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    pytest.importorskip("psycopg", reason="psycopg is not installed (postgres extra)")
    try:
        server = PostgresServer()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database: a SQLite file, or a new database on the test server."""
    if request.param == "sqlite":
        return str(tmp_path / "study.db")
    return request.getfixturevalue("postgres_server").new_database()


@pytest.fixture
def demo_study(db_url: str, demo_files: tuple[Path, Path]) -> OpenStudy:
    clips, config = demo_files
    init_study(db_url, clips, config=load_config(config))
    return open_study(db_url, pool_size=5)


@pytest.fixture
def client(demo_study: OpenStudy) -> Iterator:
    from fastapi.testclient import TestClient

    from emoconvey.survey.app import create_app

    with TestClient(create_app(demo_study, admin_token=ADMIN, seed=0),
                    base_url="http://testserver") as c:
        yield c
    demo_study.store.engine.dispose()
