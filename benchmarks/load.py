"""Load test of the listening-test server: N simulated participants against a live server.

Starts the study server (the real app under a real ``uvicorn`` subprocess) on
127.0.0.1 with a free port and a SQLite file in a temporary folder, then runs
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

Usage::

    python benchmarks/load.py [--participants 200] [--duration 60] [--think 1:3]
        [--study demo|aimoclips] [--kill] [--json]
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
import sqlite3
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
from emoconvey.survey.app import create_app
from emoconvey.survey.study import open_study
profile = os.environ.get("EMOCONVEY_LOAD_PROFILE")
if profile:  # run thread-pool work inline so that cProfile (main thread) sees it
    import cProfile, fastapi.routing, starlette.concurrency, emoconvey.survey.deps as ea
    async def inline(func, *args, **kwargs):
        return func(*args, **kwargs)
    async def inline_db(func, limiter):
        return func()
    fastapi.routing.run_in_threadpool = starlette.concurrency.run_in_threadpool = inline
    ea.run_db = inline_db
app = create_app(open_study(sys.argv[1]), admin_token=None)
run = lambda: uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
                          access_log=False, backlog=4096)
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


def make_study(folder: Path, kind: str) -> Path:
    """Create a study database in ``folder``; return its path.

    ``demo`` is the demo study (3 systems x 12 intents x 2 clips, 6 clips + 1 repeat
    + 1 attention clip per participant); ``aimoclips`` has the AImoclips shape (6 x 12 x
    14 clips, 56 per participant) with tiny silent WAV files.
    """
    from emoconvey.intents import aimoclips_intents
    from emoconvey.survey.config import StudyConfig, load_config
    from emoconvey.survey.demo import make_demo_files, write_wav
    from emoconvey.survey.study import init_study

    db = folder / "study.db"
    if kind == "demo":
        clips, config = make_demo_files(folder)
        study = init_study(str(db), clips, config=load_config(config))
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
        study = init_study(str(db), root, manifest=folder / "manifest.csv", config=cfg)
    study.store.engine.dispose()
    return db


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    """The study server in a subprocess (started, killed, restarted on the same port)."""

    def __init__(self, db: Path, port: int, log: Path, profile: str | None = None) -> None:
        self.db, self.port, self.log, self.profile = db, port, log, profile
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30.0) -> float:
        """Start and wait until ``/healthz`` answers; return the seconds it took."""
        t0 = time.perf_counter()
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", SERVER_CODE, str(self.db), str(self.port)],
                stdout=fh, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "EMOCONVEY_LOAD_PROFILE": self.profile or ""},
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
        """CPU seconds (user + system) the running server process has used."""
        if not self.proc or self.proc.poll() is not None:
            return 0.0
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def kill(self) -> None:
        """SIGKILL the server (no chance to clean up)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s."""
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
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
    acked: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)
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


def reconcile(db: Path, acked: dict[tuple[str, int], tuple[int, int]]) -> dict[str, int]:
    """Compare acknowledged ratings with the database."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT p.token, a.position, r.valence, r.arousal FROM ratings r "
            "JOIN assignments a ON a.id = r.assignment_id "
            "JOIN participants p ON p.id = r.participant_id"
        ).fetchall()
        dup_clip = con.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM ratings GROUP BY participant_id, clip_id, "
            "role HAVING COUNT(*) > 1)"
        ).fetchone()[0]
    finally:
        con.close()
    stored: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
    for token, position, v, a in rows:
        stored[(token, position)].append((v, a))
    found = [stored.get(key, []) for key in acked]
    return {
        "acknowledged": len(acked),
        "found_exactly_once": sum(1 for f in found if len(f) == 1),
        "missing": sum(1 for f in found if not f),
        "duplicated": sum(1 for f in found if len(f) > 1) + dup_clip,
        "wrong_values": sum(1 for key, f in zip(acked, found, strict=True)
                            if len(f) == 1 and f[0] != acked[key]),
        "stored_not_acknowledged": sum(1 for key in stored if key not in acked),
        "ratings_in_db": len(rows),
    }


# ----------------------------------------------------------------------------- main


async def drive(args: argparse.Namespace, server: Server, stats: Stats) -> dict[str, Any]:
    base = f"http://{HOST}:{server.port}"
    t0 = time.monotonic()
    deadline = t0 + args.duration
    people = [Participant(k, base, stats, args, deadline) for k in range(args.participants)]
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
    ap.add_argument("--study", choices=("demo", "aimoclips"), default="demo")
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

    with tempfile.TemporaryDirectory(prefix="emoconvey-load-") as tmp:
        folder = Path(tmp)
        db = make_study(folder, args.study)
        profile = str(Path(args.profile).resolve()) if args.profile else None
        server = Server(db, free_port(), folder / "server.log", profile)
        stats = Stats()
        try:
            server.start()
            run = asyncio.run(drive(args, server, stats))
        finally:
            server.stop()
        rec = reconcile(db, stats.acked)
        log_tail = (folder / "server.log").read_text(errors="replace")[-1500:]
    elapsed = run["elapsed_s"]
    everything = [x for v in stats.latencies.values() for x in v]
    result = {
        "participants": args.participants,
        "study": args.study,
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
        and rec["wrong_values"] == 0,
        "cpus": os.cpu_count(),
        "server_cpu_s": round(run["server_cpu_s"], 1),
        "client_cpu_s": round(sum(os.times()[:2]), 1),
    }
    if args.kill:
        result["kill"] = run["kill"]
    if any(k.startswith("client:") for k in stats.errors):
        result["server_log_tail"] = log_tail
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
