"""A throw-away PostgreSQL cluster on a free loopback port (tests and benchmarks/load.py).

Needs Debian's PostgreSQL server binaries (``scripts/system-deps.sh``) and psycopg.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from survey_helpers import free_port

__all__ = ["PostgresServer"]


class PostgresServer:
    """A throw-away PostgreSQL cluster on a free loopback port."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise FileNotFoundError("PostgreSQL binaries not found in "
                                    "/usr/lib/postgresql/*/bin (run scripts/system-deps.sh)")
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
