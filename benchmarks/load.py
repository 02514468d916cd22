"""Load test of the listening-test server: N simulated participants against a live server.

Starts the study server (the real app under a real ``uvicorn`` subprocess, ``--workers``
processes) on 127.0.0.1 with a free port and a SQLite file in a temporary folder (or
``--db``), then runs
``--participants`` simulated participants at once (asyncio + httpx, one connection
each, loopback only). Each goes through the real flow: consent page, start, the
demographics, sample and instructions pages, then for every clip the rating page, its
audio and the answer (with the session's CSRF token), until the completion page. Between
steps a participant "thinks" for a random ``--think`` time (real people take ~30 s per
clip; the default is 10-30 times faster).

Every request's latency is recorded, and every rating the server *acknowledged* (a 303
answer to the rating POST). At the end the server is stopped and the database is read
back: every acknowledged rating must be there exactly once, with the values sent.

``--kill`` SIGKILLs the server at ``--kill-at`` of the run and restarts it on the same
database and port; participants whose requests fail retry (every POST of the flow is
idempotent) and continue from their session link. Nothing acknowledged may be lost.

Everything is bounded in time (``--duration``, plus a grace period), and the server
process and temporary files are always cleaned up.

``--protocol musiceval`` runs invited raters of a MOS study instead (10 systems x 30
prompts, k = 5 ratings per clip, batches of 20 with an anchor and a repeat): each works
through batches (instructions, batch, "next batch", ...) until nothing is left for them;
the JSON adds ``ratings_per_clip`` (``{"<count>": <clips>}`` over the study's clips at
the end: no clip may exceed k). ``--db URL`` puts the study in an empty PostgreSQL
database (``--db postgres``: a throw-away cluster on loopback, needs Debian's
PostgreSQL binaries), ``--workers N`` serves it with N uvicorn worker processes.

Usage::

    python benchmarks/load.py [--participants 200] [--duration 60] [--think 1:3]
        [--protocol aimoclips|musiceval] [--study demo|aimoclips] [--db URL|postgres]
        [--workers N] [--kill] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"
SERVER_CODE = """
import os, sys, uvicorn
from emoconvey.survey.server import FACTORY, app_from_env
workers = int(sys.argv[2])
kw = dict(host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False,
          backlog=4096)
if workers > 1:  # every worker builds the app from EMOCONVEY_SURVEY_SERVE
    uvicorn.run(FACTORY, factory=True, workers=workers, **kw)
    sys.exit(0)
profile = os.environ.get("EMOCONVEY_LOAD_PROFILE")
if profile:  # run thread-pool work inline so that cProfile (main thread) sees it
    import cProfile, fastapi.routing, starlette.concurrency, emoconvey.survey.deps as ea
    async def inline(func, *args, **kwargs):
        return func(*args, **kwargs)
    async def inline_db(func, limiter):
        return func()
    fastapi.routing.run_in_threadpool = starlette.concurrency.run_in_threadpool = inline
    ea.run_db = inline_db
app = app_from_env()
run = lambda: uvicorn.run(app, **kw)
if profile:  # uvicorn re-raises SIGTERM after shutting down: dump the stats then
    import signal
    prof = cProfile.Profile()
    def dump(*_):
        prof.disable()
        prof.dump_stats(profile)
        sys.exit(0)
    signal.signal(signal.SIGTERM, dump)
    prof.enable()
run()
"""


# ----------------------------------------------------------------------------- study


def make_study(folder: Path, kind: str, db: str | None = None) -> str:
    """Create an AImoclips-protocol study (in ``db``, default ``folder/study.db``).

    ``demo`` is the demo study (3 systems x 12 intents x 2 clips, 6 clips + 1 repeat
    + 1 attention clip per participant); ``aimoclips`` has the AImoclips shape (6 x 12 x
    14 clips, 56 per participant) with tiny silent WAV files.
    """
    from emoconvey.intents import aimoclips_intents
    from emoconvey.survey.config import StudyConfig, load_config
    from emoconvey.survey.demo import make_demo_files, write_wav
    from emoconvey.survey.study import init_study

    db = db or str(folder / "study.db")
    if kind == "demo":
        clips, config = make_demo_files(folder)
        study = init_study(db, clips, config=load_config(config))
    else:
        import numpy as np

        root = folder / "clips"
        rows = ["system,intent,file"]
        silence = np.zeros(1600)
        for s in range(6):
            for intent in aimoclips_intents()["intent"]:
                for n in range(1, 15):
                    rel = f"Sys{s}/Sys{s}_{intent}_{n}.wav"
                    write_wav(root / rel, silence)
                    rows.append(f"Sys{s},{intent},{rel}")
        (folder / "manifest.csv").write_text("\n".join(rows) + "\n")
        cfg = StudyConfig.from_dict({"clips_per_participant": 56, "min_ratings": 4,
                                     "completion_code": "LOAD-OK"})
        study = init_study(db, root, manifest=folder / "manifest.csv", config=cfg)
    study.store.engine.dispose()
    return db


MOS_SHAPE = (10, 30)
"""Systems x prompts of the load test's MOS study (300 clips, k = 5: 1,500 ratings)."""


def make_mos_study(folder: Path, n_raters: int, db: str | None = None) -> tuple[str, list[str]]:
    """Create a MusicEval-protocol study and invite ``n_raters``; (db, rater tokens).

    10 systems x 30 prompts, k = 5 ratings per clip, batches of 20 clips with one
    real-music anchor and one repeat, tiny silent WAV files.
    """
    import csv

    import numpy as np

    from emoconvey.survey.demo import write_wav
    from emoconvey.survey.protocols.musiceval import (
        MosConfig,
        init_mos_study,
        invite_mos_raters,
    )

    db = db or str(folder / "mos.db")
    silence = np.zeros(1600)
    rows = ["system,prompt_id,file"]
    systems, prompts = MOS_SHAPE
    for s_ in range(systems):
        for p_ in range(prompts):
            rel = f"clips/S{s_:02d}_P{p_:03d}.wav"
            write_wav(folder / rel, silence)
            rows.append(f"S{s_:02d},P{p_:03d},{rel}")
    write_wav(folder / "anchors" / "real1.wav", silence)
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n")
    (folder / "prompt_info.txt").write_text("id\ttext\tsource\n" + "".join(
        f"P{p_:03d}\tPrompt {p_}: a calm piano piece\tload\n" for p_ in range(prompts)))
    cfg = MosConfig(ratings_per_clip=5, batch_size=20, repeats_per_batch=1,
                    anchors=(("anchors/real1.wav", "A real string quartet"),))
    study = init_mos_study(db, folder, manifest=folder / "manifest.csv",
                           prompts=folder / "prompt_info.txt", config=cfg)
    links = invite_mos_raters(study, folder / "invites.csv", n=n_raters)
    study.engine.dispose()
    with links.open() as fh:
        return db, [r["link"].rsplit("/", 1)[-1] for r in csv.DictReader(fh)]


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    """The study server in a subprocess (started, killed, restarted on the same port)."""

    def __init__(self, db: str, port: int, log: Path, *, protocol: str = "aimoclips",
                 workers: int = 1, profile: str | None = None) -> None:
        self.db, self.port, self.log, self.profile = db, port, log, profile
        self.protocol, self.workers = protocol, workers
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> float:
        """Start and wait until ``/healthz`` answers; return the seconds it took."""
        t0 = time.perf_counter()
        with open(self.log, "ab") as fh:
            from emoconvey.survey.server import SERVE_ENV, serve_settings

            settings = serve_settings(protocol=self.protocol, db=self.db, admin_token=None)
            self.proc = subprocess.Popen(
                [sys.executable, "-c", SERVER_CODE, str(self.port), str(self.workers)],
                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "EMOCONVEY_LOAD_PROFILE": self.profile or "",
                     SERVE_ENV: settings},
            )
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see "
                                   f"{self.log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://{HOST}:{self.port}/healthz", timeout=1).status_code == 200:
                    return time.perf_counter() - t0
            time.sleep(0.05)
        raise RuntimeError("server did not start in time")

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the server's processes (workers too) have used."""
        if not self.proc or self.proc.poll() is not None:
            return 0.0
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[3]) == self.proc.pid:  # same session as the server
                    total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def kill(self) -> None:
        """SIGKILL the server and its workers (no chance to clean up)."""
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        """SIGTERM to the server's process group, then SIGKILL after 10 s."""
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


# ----------------------------------------------------------------------------- clients


class Deadline(Exception):
    """The run's time is up."""


@dataclass
class Stats:
    """What the clients saw."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    acked: dict[tuple[Any, ...], tuple[int, int]] = field(default_factory=dict)
    finished: int = 0
    started: int = 0


CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')
POS_RE = re.compile(r'name="position" value="([0-9]+)"')
OPTION_RE = re.compile(r'<option value="([^"]+)">')


class Participant:
    """One simulated participant with its own connection."""

    def __init__(self, k: int, base: str, stats: Stats, args: argparse.Namespace,
                 deadline: float) -> None:
        self.k, self.base, self.stats, self.args, self.deadline = k, base, stats, args, deadline
        self.rng = random.Random(args.seed * 100_003 + k)
        self.client = httpx.AsyncClient(
            base_url=base, timeout=httpx.Timeout(10.0),
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    async def think(self) -> None:
        lo, hi = self.args.think
        delay = self.rng.uniform(lo, hi)
        if time.monotonic() + delay > self.deadline:
            raise Deadline
        await asyncio.sleep(delay)

    async def call(self, kind: str, method: str, url: str, ok: tuple[int, ...],
                   **kw: Any) -> httpx.Response:
        """One request, retried (it is idempotent) until it gets an answer in ``ok``."""
        wait = 0.05
        while True:
            if time.monotonic() > self.deadline:
                raise Deadline
            t0 = time.perf_counter()
            try:
                r = await self.client.request(method, url, **kw)
            except httpx.TransportError as exc:
                self.stats.errors[f"{kind}:{type(exc).__name__}"] += 1
            else:
                self.stats.latencies[kind].append(time.perf_counter() - t0)
                self.stats.statuses[r.status_code] += 1
                if r.status_code in ok:
                    return r
                self.stats.errors[f"{kind}:HTTP {r.status_code}"] += 1
            await asyncio.sleep(wait)
            wait = min(wait * 2, 0.5)

    async def run(self) -> None:
        try:
            await self._run()
        except Deadline:
            pass
        finally:
            await self.client.aclose()

    async def _run(self) -> None:
        await asyncio.sleep(self.rng.uniform(0, self.args.ramp))
        pid = f"LOAD{self.k:05d}"
        r = await self.call("consent", "GET", f"/?PROLIFIC_PID={pid}", (200,))
        self.stats.started += 1
        cookie = r.cookies.get("ec_csrf", "")
        resume = r.cookies.get("ec_resume", "")  # binds the platform ID to this "browser"
        await self.think()
        r = await self.call("start", "POST", "/start", (303,),
                            data={"csrf": CSRF_RE.search(r.text).group(1), "consent": "yes",
                                  "pid": pid},
                            headers={"cookie": f"ec_csrf={cookie}; ec_resume={resume}"})
        token = r.headers["location"].rsplit("/", 1)[-1]
        page = f"/s/{token}"
        while True:
            html = (await self.call("page", "GET", page, (200,))).text
            csrf_m = CSRF_RE.search(html)
            if "/rate\"" in html and (pos_m := POS_RE.search(html)):
                pos = int(pos_m.group(1))
                if self.args.audio:
                    await self.call("audio", "GET", f"{page}/audio/{pos}", (200,))
                await self.think()
                v, a = self.rng.randint(1, 9), self.rng.randint(1, 9)
                await self.call("rate", "POST", f"{page}/rate", (303,),
                                data={"csrf": csrf_m.group(1), "position": str(pos),
                                      "valence": str(v), "arousal": str(a), "played": "1",
                                      "rt_ms": "2000"})
                self.stats.acked[(token, pos)] = (v, a)  # acknowledged: 303 after commit
            elif "/demographics\"" in html:
                await self.think()
                gender = OPTION_RE.search(html).group(1)
                await self.call("demographics", "POST", f"{page}/demographics", (303,),
                                data={"csrf": csrf_m.group(1), "gender": gender, "age": "30",
                                      "fluency": "yes"})
            elif "/sample\"" in html:
                await self.think()
                await self.call("sample", "POST", f"{page}/sample", (303,),
                                data={"csrf": csrf_m.group(1), "valence": "5", "arousal": "5"})
            elif "/instructions\"" in html:
                await self.think()
                await self.call("instructions", "POST", f"{page}/instructions", (303,),
                                data={"csrf": csrf_m.group(1)})
            else:  # the completion page
                self.stats.finished += 1
                return


BATCH_RE = re.compile(r'name="batch" value="([0-9]+)"')


class Rater(Participant):
    """One simulated invited rater of a MOS study (``/r/<token>``)."""

    def __init__(self, k: int, token: str, base: str, stats: Stats, args: argparse.Namespace,
                 deadline: float) -> None:
        super().__init__(k, base, stats, args, deadline)
        self.token = token

    async def _run(self) -> None:
        await asyncio.sleep(self.rng.uniform(0, self.args.ramp))
        page = f"/r/{self.token}"
        self.stats.started += 1
        while True:
            html = (await self.call("page", "GET", page, (200,))).text
            csrf_m = CSRF_RE.search(html)
            if (pos_m := POS_RE.search(html)) and (batch_m := BATCH_RE.search(html)):
                batch, pos = int(batch_m.group(1)), int(pos_m.group(1))
                if self.args.audio:
                    await self.call("audio", "GET", f"{page}/audio/{batch}/{pos}", (200,))
                await self.think()
                mi, ta = self.rng.randint(1, 5), self.rng.randint(1, 5)
                r = await self.call("rate", "POST", f"{page}/rate", (303, 409),
                                    data={"csrf": csrf_m.group(1), "batch": str(batch),
                                          "position": str(pos), "MI": str(mi), "TA": str(ta),
                                          "played": "1"})
                if r.status_code == 303:  # acknowledged after commit (409: batch expired)
                    self.stats.acked[(self.token, batch, pos)] = (mi, ta)
            elif f'{page}/start"' in html:
                await self.think()
                await self.call("start", "POST", f"{page}/start", (303,),
                                data={"csrf": csrf_m.group(1)})
            else:  # nothing left for this rater
                self.stats.finished += 1
                return


# ----------------------------------------------------------------------------- report


def pct(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (nearest rank) in milliseconds."""
    if not values:
        return None
    s = sorted(values)
    return round(1000 * s[min(len(s) - 1, max(0, round(q / 100 * len(s)) - 1))], 1)


def summary(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50_ms": pct(values, 50), "p95_ms": pct(values, 95),
            "p99_ms": pct(values, 99), "max_ms": pct(values, 100)}


def _compare(acked: dict[tuple[Any, ...], tuple[int, int]],
             stored: dict[tuple[Any, ...], list[tuple[int, int]]], dup: int) -> dict[str, int]:
    found = [stored.get(key, []) for key in acked]
    return {
        "acknowledged": len(acked),
        "found_exactly_once": sum(1 for f in found if len(f) == 1),
        "missing": sum(1 for f in found if not f),
        "duplicated": sum(1 for f in found if len(f) > 1) + dup,
        "wrong_values": sum(1 for key, f in zip(acked, found, strict=True)
                            if len(f) == 1 and f[0] != acked[key]),
        "stored_not_acknowledged": sum(1 for key in stored if key not in acked),
        "ratings_in_db": sum(len(v) for v in stored.values()),
    }


def reconcile(db: str, acked: dict[tuple[Any, ...], tuple[int, int]]) -> dict[str, int]:
    """Compare acknowledged ratings of an AImoclips study with the database."""
    from sqlalchemy import create_engine, text

    from emoconvey.survey.storage import database_url

    engine = create_engine(database_url(db))
    with engine.connect() as con:
        rows = con.execute(text(
            "SELECT p.token, a.position, r.valence, r.arousal FROM ratings r "
            "JOIN assignments a ON a.id = r.assignment_id "
            "JOIN participants p ON p.id = r.participant_id")).all()
        dup_clip = con.execute(text(
            "SELECT COUNT(*) FROM (SELECT 1 FROM ratings GROUP BY participant_id, clip_id, "
            "role HAVING COUNT(*) > 1) d")).scalar()
    engine.dispose()
    stored: dict[tuple[Any, ...], list[tuple[int, int]]] = defaultdict(list)
    for token, position, v, a in rows:
        stored[(token, position)].append((v, a))
    return _compare(acked, stored, int(dup_clip or 0))


def reconcile_mos(db: str, acked: dict[tuple[Any, ...], tuple[int, int]]
                  ) -> tuple[dict[str, int], dict[str, int]]:
    """Compare acknowledged answers of a MOS study with the database; also the
    ``ratings_per_clip`` histogram ``{"<count>": <clips>}`` over every main clip."""
    from sqlalchemy import create_engine, text

    from emoconvey.survey.storage import database_url

    engine = create_engine(database_url(db))
    with engine.connect() as con:
        rows = con.execute(text(
            'SELECT r.token, a.batch_id, a.position, a."MI", a."TA" FROM mos_answers a '
            "JOIN mos_raters r ON r.name = a.rater")).all()
        dup = con.execute(text(
            "SELECT COUNT(*) FROM (SELECT 1 FROM mos_answers WHERE role = 'main' "
            "GROUP BY rater, clip_id HAVING COUNT(*) > 1) d")).scalar()
        counts = con.execute(text(
            "SELECT c.clip_id, COUNT(a.clip_id) FROM mos_clips c LEFT JOIN mos_answers a "
            "ON a.clip_id = c.clip_id AND a.role = 'main' WHERE c.role = 'main' "
            "GROUP BY c.clip_id")).all()
    engine.dispose()
    stored: dict[tuple[Any, ...], list[tuple[int, int]]] = defaultdict(list)
    for token, batch, position, mi, ta in rows:
        stored[(token, batch, position)].append((mi, ta))
    hist = Counter(int(n) for _, n in counts)
    return _compare(acked, stored, int(dup or 0)), {str(k): hist[k] for k in sorted(hist)}


# ----------------------------------------------------------------------------- main


async def drive(args: argparse.Namespace, server: Server, stats: Stats,
                tokens: list[str]) -> dict[str, Any]:
    base = f"http://{HOST}:{server.port}"
    t0 = time.monotonic()
    deadline = t0 + args.duration
    people: list[Participant] = (
        [Rater(k, tok, base, stats, args, deadline) for k, tok in enumerate(tokens)]
        if args.protocol == "musiceval"
        else [Participant(k, base, stats, args, deadline) for k in range(args.participants)])
    kill_info: dict[str, Any] = {}

    cpu = {"server_cpu_s": 0.0}

    async def killer() -> None:
        await asyncio.sleep(args.kill_at * args.duration)
        cpu["server_cpu_s"] += server.cpu_s()
        kill_info["killed_at_s"] = round(time.monotonic() - t0, 2)
        kill_info["acknowledged_before_kill"] = len(stats.acked)
        server.kill()
        await asyncio.sleep(args.down)
        kill_info["restart_s"] = round(await asyncio.to_thread(server.start), 2)
        kill_info["back_at_s"] = round(time.monotonic() - t0, 2)

    tasks = [asyncio.create_task(p.run()) for p in people]
    if args.kill:
        tasks.append(asyncio.create_task(killer()))
    done, pending = await asyncio.wait(tasks, timeout=args.duration + 15)
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for t in done:
        if t.exception() is not None:
            stats.errors[f"client:{type(t.exception()).__name__}"] += 1
    cpu["server_cpu_s"] += server.cpu_s()
    return {"elapsed_s": time.monotonic() - t0, "kill": kill_info, **cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--participants", type=int, default=200)
    ap.add_argument("--duration", type=float, default=60.0,
                    help="seconds; participants still going then stop (default 60)")
    ap.add_argument("--think", default="1:3",
                    help="seconds between a participant's steps, LOW:HIGH (default 1:3)")
    ap.add_argument("--ramp", type=float, default=2.0,
                    help="participants start within this many seconds (default 2)")
    ap.add_argument("--protocol", choices=("aimoclips", "musiceval"), default="aimoclips",
                    help="aimoclips: open-link participants (size: --study); musiceval: "
                         "invited raters of a 300-clip MOS study, k = 5")
    ap.add_argument("--study", choices=("demo", "aimoclips"), default="demo",
                    help="size of an aimoclips-protocol study")
    ap.add_argument("--db", default=None,
                    help="an EMPTY database URL (postgresql://...) for the study; 'postgres': "
                         "a throw-away PostgreSQL cluster on loopback; default: SQLite file")
    ap.add_argument("--workers", type=int, default=1, help="server worker processes")
    ap.add_argument("--no-audio", dest="audio", action="store_false",
                    help="do not fetch the audio of each clip")
    ap.add_argument("--kill", action="store_true",
                    help="SIGKILL the server mid-load and restart it")
    ap.add_argument("--kill-at", type=float, default=0.4, help="share of --duration")
    ap.add_argument("--down", type=float, default=0.5, help="seconds the server stays down")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print JSON only")
    ap.add_argument("--profile", default=None,
                    help="run the server under cProfile and write its stats to this file "
                         "(thread-pool work runs inline then: latencies are not comparable)")
    args = ap.parse_args()
    lo, _, hi = args.think.partition(":")
    args.think = (float(lo), float(hi or lo))

    with tempfile.TemporaryDirectory(prefix="emoconvey-load-") as tmp, \
            contextlib.ExitStack() as stack:
        folder = Path(tmp)
        db = args.db
        if db == "postgres":
            sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "survey"))
            from pg_server import PostgresServer

            pg = PostgresServer()
            stack.callback(pg.stop)
            db = pg.new_database()
        tokens: list[str] = []
        if args.protocol == "musiceval":
            db, tokens = make_mos_study(folder, args.participants, db)
        else:
            db = make_study(folder, args.study, db)
        profile = str(Path(args.profile).resolve()) if args.profile else None
        server = Server(db, free_port(), folder / "server.log", protocol=args.protocol,
                        workers=args.workers, profile=profile)
        stats = Stats()
        try:
            server.start()
            run = asyncio.run(drive(args, server, stats, tokens))
        finally:
            server.stop()
        per_clip = None
        if args.protocol == "musiceval":
            rec, per_clip = reconcile_mos(db, stats.acked)
        else:
            rec = reconcile(db, stats.acked)
        log_tail = (folder / "server.log").read_text(errors="replace")[-1500:]
    elapsed = run["elapsed_s"]
    everything = [x for v in stats.latencies.values() for x in v]
    result = {
        "participants": args.participants,
        "protocol": args.protocol,
        "study": args.study if args.protocol == "aimoclips" else "mos-{}x{}".format(*MOS_SHAPE),
        "db": "postgresql" if "://" in db and not db.startswith("sqlite") else "sqlite",
        "workers": args.workers,
        "think_s": list(args.think),
        "started": stats.started,
        "finished": stats.finished,
        "elapsed_s": round(elapsed, 1),
        "requests": len(everything),
        "throughput_req_s": round(len(everything) / elapsed, 1),
        "ratings_per_s": round(len(stats.acked) / elapsed, 1),
        "latency_rate_post": summary(stats.latencies["rate"]),
        "latency_all": summary(everything),
        "latency_by_kind_p99_ms": {k: pct(v, 99) for k, v in sorted(stats.latencies.items())},
        "statuses": {str(k): n for k, n in sorted(stats.statuses.items())},
        "errors": dict(stats.errors),
        "reconciliation": rec,
        "goal_ok": rec["missing"] == 0 and rec["duplicated"] == 0
        and rec["wrong_values"] == 0
        and (per_clip is None or max(map(int, per_clip)) <= 5),
        "cpus": os.cpu_count(),
        "server_cpu_s": round(run["server_cpu_s"], 1),
        "client_cpu_s": round(sum(os.times()[:2]), 1),
    }
    if per_clip is not None:
        result["ratings_per_clip"] = per_clip
    if args.kill:
        result["kill"] = run["kill"]
    if any(k.startswith("client:") for k in stats.errors):
        result["server_log_tail"] = log_tail
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
