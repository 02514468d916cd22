"""Fixtures of the survey tests: a demo study on SQLite or on a real PostgreSQL server."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the survey extra is not installed")

from survey_helpers import ADMIN, free_port

from emoconvey.survey.config import load_config
from emoconvey.survey.demo import make_demo_files
from emoconvey.survey.study import OpenStudy, init_study, open_study


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Demo audio (3 systems x 12 intents x 2 clips) and its study.yaml."""
    return make_demo_files(tmp_path_factory.mktemp("demo"))


# ----------------------------------------------------------------------------- postgres


class PostgresServer:
    """A throw-away PostgreSQL cluster on a free loopback port."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            pytest.skip("PostgreSQL binaries not found in /usr/lib/postgresql/*/bin "
                        "(run scripts/system-deps.sh)")
        self.bin = Path(bins[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="emoconvey-pg-"))
        self.port = free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                with contextlib.suppress(KeyError):
                    pw = pwd.getpwnam(name)
                    self.user = name
                    os.chown(self.dir, pw.pw_uid, pw.pw_gid)
                    break
        self.data = self.dir / "data"
        self._run([str(self.bin / "initdb"), "-D", str(self.data), "-U", "emoconvey",
                   "--auth=trust", "-E", "UTF8", "--no-sync"])
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -F "
                "-c max_connections=300")
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", opts, "-w",
                   "-l", str(self.dir / "log"), "start"])
        self.counter = 0

    def _run(self, cmd: list[str]) -> None:
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode:
            raise RuntimeError(f"{cmd} failed: {proc.stdout}\n{proc.stderr}")

    def url(self, db: str = "postgres") -> str:
        return f"postgresql+psycopg://emoconvey@127.0.0.1:{self.port}/{db}"

    def new_database(self) -> str:
        import psycopg

        self.counter += 1
        name = f"t{os.getpid()}_{self.counter}_{int(time.time() * 1000) % 100000}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=emoconvey dbname=postgres",
                             autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                       "stop"])
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    pytest.importorskip("psycopg", reason="psycopg is not installed (postgres extra)")
    server = PostgresServer()
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
