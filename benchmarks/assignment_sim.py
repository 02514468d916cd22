"""Replay an AImoclips-shaped study through the real assignment code and database.

6 systems x 12 intents x 14 clips (1,008 clips), 56 clips per participant. Participants
arrive over time (as on Prolific: a place is reopened when someone leaves) until 111 have
finished; some leave early at random, and the clips they hold are released when their
session expires (``--expiry`` minutes). Prints the ratings-per-clip distribution.

Clips are assigned as the server does (``--mode``): ``just_in_time`` (default; the
server's default) fixes the plan at the start and chooses each clip when the participant
reaches it, in the transaction that saves the previous answer; ``upfront`` chooses all
56 at the start.

Usage::

    python benchmarks/assignment_sim.py --json [--finished 111] [--leave 0.15] [--seed 0]
        [--mode just_in_time|upfront]

Goal: max - min <= 1 and no clip below the exclusion threshold (4 ratings).

``--protocol musiceval`` instead replays a MusicEval-shaped MOS study through
:class:`emoconvey.survey.protocols.batches.MosAssigner`: 2,748 clips of 31 systems on 384
prompts, 14 invited raters working in prompt-grouped batches (``--batch-size`` main clips
plus one anchor and one repeat), 5 ratings per clip; with probability ``--leave`` a rater
abandons a batch at a random point (its unanswered clips are released). Goal: every clip
exactly 5, no batch over the batch size, no rater presented a clip twice::

    python benchmarks/assignment_sim.py --protocol musiceval [--batch-size 60]
        [--raters 14] [--leave 0.15] [--seed 0]
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
import secrets
import tempfile
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from emoconvey.intents import aimoclips_intents
from emoconvey.survey.assignment import assign_clips, assign_next, start_plan
from emoconvey.survey.config import StudyConfig
from emoconvey.survey.storage import Assignment, Clip, Participant, Rating
from emoconvey.survey.study import init_study


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print JSON only")
    ap.add_argument("--finished", type=int, default=111)
    ap.add_argument("--leave", type=float, default=0.15, help="share who leave early")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--expiry", type=float, default=60.0, help="session expiry, minutes")
    ap.add_argument("--db", default=None, help="database URL (default: temp SQLite)")
    ap.add_argument("--mode", choices=("just_in_time", "upfront"), default="just_in_time",
                    help="when clips are assigned (StudyConfig.assignment)")
    ap.add_argument("--protocol", choices=("aimoclips", "musiceval"), default="aimoclips",
                    help="study protocol to simulate")
    ap.add_argument("--raters", type=int, default=14, help="musiceval: invited raters")
    ap.add_argument("--batch-size", type=int, default=60, help="musiceval: clips per batch")
    ap.add_argument("--per-clip", type=int, default=5, help="musiceval: ratings per clip")
    args = ap.parse_args()
    if args.protocol == "musiceval":
        _musiceval(args)
        return
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rows = ["system,intent,file"]
        for s in range(6):
            for intent in aimoclips_intents()["intent"]:
                for n in range(1, 15):
                    rel = f"Sys{s}/Sys{s}_{intent}_{n}.wav"
                    (root / "clips" / f"Sys{s}").mkdir(parents=True, exist_ok=True)
                    (root / "clips" / rel).touch()
                    rows.append(f"Sys{s},{intent},{rel}")
        (root / "manifest.csv").write_text("\n".join(rows) + "\n")
        cfg = StudyConfig.from_dict({"clips_per_participant": 56, "min_ratings": 4,
                                     "session_expiry_minutes": args.expiry,
                                     "assignment": args.mode})
        study = init_study(args.db or str(root / "sim.db"), root / "clips",
                           manifest=root / "manifest.csv", config=cfg)
        store, expiry = study.store, cfg.session_expiry_minutes * 60
        # events: (time, seq, kind, participant_id); arrivals every ~3 minutes
        events: list[tuple[float, int, str, int]] = []
        seq = 0
        finished = left = 0
        clock = 0.0
        done_count: dict[int, int] = {}
        stop_after: dict[int, int] = {}
        arrivals = 0
        heapq.heappush(events, (0.0, seq, "arrive", 0))
        while events:
            clock, _, kind, pid = heapq.heappop(events)
            if kind == "arrive":
                if finished + (arrivals - finished - left) >= args.finished:
                    continue  # every place is taken
                arrivals += 1
                with store.write(lock_assignment=True) as s:
                    p = Participant(token=secrets.token_urlsafe(32), csrf="-", stage="rating",
                                    created_at=clock, last_seen=clock)
                    s.add(p)
                    s.flush()
                    assign = assign_clips if args.mode == "upfront" else start_plan
                    assign(s, p, n=56, now=clock, expiry_s=expiry, rng=rng)
                    pid = p.id
                    done_count[pid] = 0
                if rng.random() < args.leave:
                    stop_after[pid] = rng.randrange(0, 56)
                seq += 1
                heapq.heappush(events, (clock + rng.expovariate(1 / 20), seq, "rate", pid))
                active = arrivals - finished - left
                if finished + active < args.finished:
                    seq += 1
                    heapq.heappush(events, (clock + rng.expovariate(1 / 180), seq, "arrive", 0))
            else:
                done_n = done_count[pid]
                if stop_after.get(pid) == done_n:
                    left += 1  # leaves: never seen again, session expires; place reopens
                    seq += 1
                    heapq.heappush(events, (clock + rng.expovariate(1 / 180), seq, "arrive", 0))
                    continue
                finishing = done_n + 1 == 56
                # as the server's rate handler: save, then assign the next clip
                with store.write(lock_assignment=True) as s:
                    a = s.scalar(select(Assignment).where(Assignment.participant_id == pid,
                                                          Assignment.position == done_n))
                    s.add(Rating(participant_id=pid, assignment_id=a.id, clip_id=a.clip_id,
                                 role=a.role, valence=rng.randint(1, 9),
                                 arousal=rng.randint(1, 9), extra_json="{}",
                                 played_full=True, created_at=clock))
                    p = s.get(Participant, pid)
                    p.last_seen = clock
                    if finishing:
                        p.stage, p.finished_at = "done", clock
                    else:
                        s.flush()
                        assign_next(s, p, now=clock, expiry_s=expiry, rng=rng)
                done_count[pid] = done_n + 1
                if finishing:
                    finished += 1
                else:
                    seq += 1
                    heapq.heappush(events, (clock + rng.uniform(15, 45), seq, "rate", pid))
        with store.read() as s:
            per_clip = dict(s.execute(select(Rating.clip_id, func.count())
                                      .group_by(Rating.clip_id)).all())
            clip_ids = list(s.scalars(select(Clip.id).where(Clip.role == "main")))
        study.store.engine.dispose()
    counts = [per_clip.get(c, 0) for c in clip_ids]
    hist = Counter(counts)
    result = {
        "mode": args.mode,
        "clips": len(clip_ids),
        "participants_started": arrivals,
        "participants_finished": finished,
        "participants_left_early": left,
        "ratings": sum(counts),
        "min": min(counts),
        "max": max(counts),
        "counts": {str(k): hist[k] for k in sorted(hist)},
        "below_threshold": sum(1 for c in counts if c < cfg.min_ratings),
        "goal_max_minus_min_le_1": max(counts) - min(counts) <= 1,
        "simulated_hours": round(clock / 3600, 1),
        "wall_seconds": round(time.perf_counter() - t0, 1),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=2))


def _musiceval(args: argparse.Namespace) -> None:
    import pandas as pd

    from emoconvey.survey.protocols.batches import MosAssigner, simulate_mos_study

    rng = random.Random(args.seed)
    systems = [f"S{i:03d}" for i in range(1, 32)]
    rows = []
    for p in range(1, 385):
        n = 8 if p <= 2748 - 7 * 384 else 7  # 60 prompts with 8 systems, 324 with 7
        for s in rng.sample(systems, n):
            rows.append((f"audiomos2025-track1-{s}_P{p:03d}", s, f"P{p:03d}"))
    clips = pd.DataFrame(rows, columns=["clip_id", "system", "prompt_id"])
    t0 = time.perf_counter()
    assigner = MosAssigner(
        clips,
        ratings_per_clip=args.per_clip,
        batch_size=args.batch_size,
        anchors=[f"anchor{i}" for i in range(1, 11)],
        seed=args.seed,
    )
    res = simulate_mos_study(
        assigner,
        [f"R{i:02d}" for i in range(1, args.raters + 1)],
        dropout=args.leave,
        seed=args.seed,
    )
    wall = time.perf_counter() - t0
    per_rater = Counter()
    batches_per_rater = Counter()
    for b in res.batches:
        batches_per_rater[b.rater] += 1
        per_rater[b.rater] += sum(1 for i in b.answered if b.items[i].role == "main")
    abandoned = sum(1 for b in res.batches if len(b.answered) < len(b.items))
    result = {
        "protocol": "musiceval",
        "clips": len(clips),
        "prompts": clips["prompt_id"].nunique(),
        "systems": clips["system"].nunique(),
        "raters": args.raters,
        "ratings_per_clip_target": args.per_clip,
        "batch_size": args.batch_size,
        "batches": len(res.batches),
        "batches_abandoned": abandoned,
        "ratings_per_clip": {str(k): int(v) for k, v in res.ratings_per_clip.items()},
        "goal_every_clip_exactly_k": res.ratings_per_clip.index.tolist() == [args.per_clip],
        "max_main_clips_in_a_batch": res.max_batch_main,
        "goal_no_batch_over_size": res.max_batch_main <= args.batch_size,
        "clips_served_twice_to_a_rater": res.duplicates,
        "ratings_per_rater": {k: per_rater[k] for k in sorted(per_rater)},
        "batches_per_rater": {k: batches_per_rater[k] for k in sorted(batches_per_rater)},
        "wall_seconds": round(wall, 2),
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
