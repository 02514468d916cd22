"""Several server processes serve one study on one database (SQLite file or PostgreSQL),
for both protocols.

Real processes on loopback: ``emoconvey survey serve --workers 2`` on one port and a
second ``survey serve`` on another, both on the same database. Simulated raters send
every other request to the other port, so consecutive requests of one rater are handled
by different processes; one rater abandons a batch, which must expire and reach others.
Bounded: every request has a timeout, the run a deadline, and the servers are killed at
the end.
"""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from survey_helpers import free_port
from test_mos_study import make_files

from emoconvey.survey.protocols.musiceval import open_mos_study

pytestmark = [pytest.mark.slow]

ADMIN = "multi-process-admin-0123456789"
CONFIG = """\
protocol: musiceval
title: Multi-process MOS study
ratings_per_clip: 2
batch_size: 4
repeats_per_batch: 1
session_expiry_minutes: 0.03
anchors:
  - {file: anchors/real1.wav, prompt: "A real string quartet"}
"""
CLI = [sys.executable, "-c", "from emoconvey.cli import app; app()", "survey"]


def _cli(*args: str) -> None:
    res = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=120,
                         env=_env())
    assert res.returncode == 0, res.stdout + res.stderr


def _env() -> dict[str, str]:
    env = dict(os.environ, EMOCONVEY_ADMIN_TOKEN=ADMIN)
    env.pop("EMOCONVEY_SURVEY_DB", None)
    return env


def _serve(study: Path, db: str, port: int, workers: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [*CLI, "serve", str(study), "--db", db, "--port", str(port), "--workers", str(workers)],
        stdout=log.open("w"), stderr=subprocess.STDOUT, env=_env(), start_new_session=True)


def _wait(url: str, proc: subprocess.Popen, log: Path) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            pytest.fail(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"server did not start: {log.read_text()[-2000:]}")


def _rater(token: str, urls: list[str], deadline: float, *, abandon: bool,
           errors: list[str]) -> None:
    """Rate until the study is complete (or, with ``abandon``, leave after one answer)."""
    i = 0
    csrf = None
    with httpx.Client(timeout=20, follow_redirects=False) as c:
        while time.monotonic() < deadline:
            base = urls[i % len(urls)]
            i += 1
            html = c.get(f"{base}/r/{token}").text
            csrf = csrf or re.search(r'name="csrf" value="([^"]+)"', html).group(1)
            pos = re.search(r'name="position" value="([0-9]+)"', html)
            if pos:
                batch = re.search(r'name="batch" value="([0-9]+)"', html).group(1)
                base = urls[i % len(urls)]
                r = c.post(f"{base}/r/{token}/rate", data={
                    "csrf": csrf, "batch": batch, "position": pos.group(1), "MI": "4",
                    "TA": "3", "played": "1"})
                if r.status_code not in (303, 409):
                    errors.append(f"rate: {r.status_code} {r.text[:200]}")
                if abandon:
                    return
                continue
            status = httpx.get(f"{base}/admin?format=json&token={ADMIN}", timeout=20).json()
            if status["complete_clips"] == status["clips"]:
                return
            if "/start" not in html:
                time.sleep(0.3)  # nothing for me now: clips held by someone else
            r = c.post(f"{base}/r/{token}/start", data={"csrf": csrf})
            if r.status_code != 303:
                errors.append(f"start: {r.status_code} {r.text[:200]}")


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres",
                                                            marks=pytest.mark.postgres)])
def test_mos_exactly_k_across_processes(backend, tmp_path, request):
    files = make_files(tmp_path / "files")
    (files["root"] / "mos.yaml").write_text(CONFIG)
    db = (str(tmp_path / "mos.db") if backend == "sqlite"
          else request.getfixturevalue("postgres_server").new_database())
    study = tmp_path / "study"
    _cli("init", str(study), "--db", db, "--clips", str(files["root"]), "--manifest",
         str(files["manifest"]), "--prompts", str(files["prompts"]), "--config",
         str(files["config"]))
    _cli("invite", str(study), "--db", db, "--n", "7")
    with (study / "invites.csv").open() as fh:
        tokens = [r["link"].rsplit("/", 1)[-1] for r in csv.DictReader(fh)]
    ports = [free_port(), free_port()]
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [_serve(study, db, ports[0], 2, logs[0]), _serve(study, db, ports[1], 1, logs[1])]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    try:
        for u, p, log in zip(urls, procs, logs, strict=True):
            _wait(u, p, log)
        deadline = time.monotonic() + 150
        errors: list[str] = []
        _rater(tokens[0], urls, deadline, abandon=True, errors=errors)
        threads = [threading.Thread(target=_rater, args=(t, urls, deadline),
                                    kwargs={"abandon": False, "errors": errors})
                   for t in tokens[1:]]
        for t in threads:
            t.start()
        for t in threads:
            t.join(200)
        assert not errors, errors[:5]
        status = httpx.get(f"{urls[1]}/admin?format=json&token={ADMIN}", timeout=20).json()
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(30)
    assert status["ratings_per_clip"] == {"2": 12}, status
    mos = open_mos_study(db)
    answers = mos.answers()
    main = answers[answers["role"] == "main"]
    assert Counter(main["clip_id"]).most_common(1)[0][1] == 2
    assert not main.duplicated(["rater", "clip_id"]).any()
    # the abandoned batch expired and its clips went to others
    first = mos.batch(1)
    assert first is not None and not first.open
    mos.engine.dispose()


def _participant(k: int, urls: list[str], deadline: float, errors: list[str]) -> None:
    """One AImoclips participant; every request goes to the other process than the last."""
    i = 0

    def url(path: str) -> str:
        nonlocal i
        i += 1
        return urls[i % len(urls)] + path

    with httpx.Client(timeout=20, follow_redirects=False) as c:
        r = c.get(url(f"/?PROLIFIC_PID=MP{k}"))
        csrf = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
        r = c.post(url("/start"), data={"csrf": csrf, "consent": "yes", "pid": f"MP{k}"})
        page = "/s/" + r.headers["location"].rsplit("/", 1)[-1]
        while time.monotonic() < deadline:
            html = c.get(url(page)).text
            csrf = re.search(r'name="csrf" value="([^"]+)"', html)
            if csrf is None or 'id="completion-code"' in html:  # the completion page
                return
            data = {"csrf": csrf.group(1)}
            if (pos := re.search(r'name="position" value="([0-9]+)"', html)) is not None:
                step = "rate"
                data |= {"position": pos.group(1), "valence": "5", "arousal": "4",
                         "played": "1"}
            elif "/demographics\"" in html:
                step = "demographics"
                data |= {"gender": "Female", "age": "30", "fluency": "yes"}
            elif "/sample\"" in html:
                step = "sample"
                data |= {"valence": "5", "arousal": "5"}
            else:
                step = "instructions"
            r = c.post(url(f"{page}/{step}"), data=data)
            if r.status_code != 303:
                errors.append(f"{step}: {r.status_code} {r.text[:200]}")
        errors.append(f"participant {k}: out of time")


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres",
                                                            marks=pytest.mark.postgres)])
def test_aimoclips_across_processes(backend, tmp_path, request, demo_files):
    from sqlalchemy import create_engine, text

    from emoconvey.survey.storage import database_url

    clips, config = demo_files
    db = (str(tmp_path / "study.db") if backend == "sqlite"
          else request.getfixturevalue("postgres_server").new_database())
    study = tmp_path / "study"
    _cli("init", str(study), "--db", db, "--clips", str(clips), "--config", str(config))
    ports = [free_port(), free_port()]
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [_serve(study, db, ports[0], 2, logs[0]), _serve(study, db, ports[1], 1, logs[1])]
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    errors: list[str] = []
    try:
        for u, p, log in zip(urls, procs, logs, strict=True):
            _wait(u, p, log)
        deadline = time.monotonic() + 120
        threads = [threading.Thread(target=_participant, args=(k, urls, deadline, errors))
                   for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(200)
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(30)
    assert not errors, errors[:5]
    engine = create_engine(database_url(db))
    with engine.connect() as c:
        finished = c.execute(text("SELECT COUNT(*) FROM participants WHERE stage = 'done'"
                                  )).scalar()
        per_clip = [n for (n,) in c.execute(text(
            "SELECT n_rated FROM clips WHERE role = 'main'"))]
        recount = c.execute(text("SELECT COUNT(*) FROM ratings WHERE role = 'main'")).scalar()
    engine.dispose()
    assert finished == 8
    # 8 x 6 main ratings over 72 clips, least-rated first across processes: none twice
    assert sum(per_clip) == recount == 48 and max(per_clip) == 1
