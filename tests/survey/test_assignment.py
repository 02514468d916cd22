"""Unit tests of the assignment rule and its serialisation under concurrent starts."""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from emoconvey.errors import EmoconveyError
from emoconvey.survey.assignment import (
    ClipLoad,
    assign_clips,
    assign_next,
    build_sequence,
    choose_clips,
    clip_loads,
    make_plan,
    plan_length,
    start_plan,
)
from emoconvey.survey.storage import Assignment, Clip, Participant, Rating


def grid(systems=3, intents=4, per_pair=3, load=lambda i: 0):
    out, i = [], 0
    for s in range(systems):
        for t in range(intents):
            for _ in range(per_pair):
                out.append(ClipLoad(i, f"S{s}", f"I{t}", load(i)))
                i += 1
    return out


def test_one_clip_per_distinct_pair():
    clips = grid()
    by_id = {c.clip_id: c for c in clips}
    for seed in range(20):
        chosen = choose_clips(clips, 12, random.Random(seed))
        assert len(chosen) == 12
        assert len({(by_id[c].system, by_id[c].intent) for c in chosen}) == 12


def test_least_rated_first_within_and_between_pairs():
    # clip i has load i % 3 within its pair, and pair (S0, I0) is saturated
    clips = grid(load=lambda i: 10 if i < 3 else i % 3)
    by_id = {c.clip_id: c for c in clips}
    chosen = choose_clips(clips, 11, random.Random(1))
    assert all(by_id[c].load == 0 for c in chosen)
    assert all(by_id[c].system != "S0" or by_id[c].intent != "I0" for c in chosen)


def test_ties_broken_at_random_and_order_shuffled():
    clips = grid(systems=1, intents=4, per_pair=3)
    picks = Counter()
    orders = set()
    for seed in range(200):
        chosen = choose_clips(clips, 2, random.Random(seed))
        picks.update(chosen)
        orders.add(tuple(chosen))
    assert set(picks) == {c.clip_id for c in clips}  # every tied clip gets picked
    assert max(picks.values()) < 3 * min(picks.values())
    assert len(orders) > 50


def test_too_many_clips_requested():
    with pytest.raises(EmoconveyError, match="distinct"):
        choose_clips(grid(systems=1, intents=2), 3, random.Random(0))


def test_sequence_repeats_come_later_and_attention_included():
    for seed in range(30):
        seq = build_sequence(list(range(20)), random.Random(seed), repeats=3, attention=[99])
        assert len(seq) == 24
        assert [c for c, r in seq if r == "attention"] == [99]
        for i, (c, r) in enumerate(seq):
            if r == "repeat":
                first = next(j for j, (c2, r2) in enumerate(seq) if c2 == c and r2 == "main")
                assert i > first + 1


def _participant(s, stage="rating", t=1000.0):
    import secrets

    p = Participant(token=secrets.token_urlsafe(32), csrf="x", stage=stage, created_at=t,
                    last_seen=t)
    s.add(p)
    s.flush()
    return p


def test_expired_sessions_release_their_clips(demo_study):
    store = demo_study.store
    with store.write(lock_assignment=True) as s:
        a = _participant(s, t=1000.0)
        assign_clips(s, a, n=6, now=1000.0, expiry_s=600, rng=random.Random(0))
    with store.read() as s:
        held = {c.clip_id for c in clip_loads(s, cutoff=1000.0 - 600) if c.load}
        assert len(held) == 6  # in progress: counted
        assert not any(c.load for c in clip_loads(s, cutoff=1700.0 - 600))  # expired
        mine = set(s.scalars(select(Assignment.clip_id)).all())
        assert held == mine
    # a rating given before leaving still counts after expiry
    with store.write() as s:
        asg = s.scalars(select(Assignment).order_by(Assignment.position)).first()
        s.add(Rating(participant_id=asg.participant_id, assignment_id=asg.id,
                     clip_id=asg.clip_id, role="main", valence=5, arousal=5, extra_json="{}",
                     played_full=True, created_at=1100.0))
    with store.read() as s:
        loads = {c.clip_id: c.load for c in clip_loads(s, cutoff=5000.0)}
        assert loads[asg.clip_id] == 1 and sum(loads.values()) == 1


def test_assignment_is_idempotent(demo_study):
    with demo_study.store.write(lock_assignment=True) as s:
        p = _participant(s)
        assert assign_clips(s, p, n=6, now=1000.0, expiry_s=600, rng=random.Random(0)) == 6
        assert assign_clips(s, p, n=6, now=1000.0, expiry_s=600, rng=random.Random(1)) == 6


def test_simultaneous_starts_never_share_stale_counts(demo_study):
    """12 participants x 6 clips start at once on 72 clips: every clip exactly once."""
    store = demo_study.store
    barrier = threading.Barrier(12)
    errors: list[BaseException] = []

    def start(k: int) -> None:
        try:
            barrier.wait()
            with store.write(lock_assignment=True) as s:
                p = _participant(s, t=2000.0)
                assign_clips(s, p, n=6, now=2000.0, expiry_s=3600, rng=random.Random(k))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with store.read() as s:
        counts = Counter(s.scalars(select(Assignment.clip_id)).all())
    assert len(counts) == 72 and set(counts.values()) == {1}


# ----------------------------------------------------------------------------- just in time


def test_equal_load_prefers_fewer_ratings_given():
    # clip 0: 2 ratings + 1 held by a session in progress; clip 1: 3 ratings; same load
    clips = [ClipLoad(0, "S", "I", 3, 2), ClipLoad(1, "S", "I", 3, 3),
             ClipLoad(2, "T", "I", 3, 3)]
    for seed in range(20):
        assert choose_clips(clips, 1, random.Random(seed)) == [0]


def test_plan_layout_matches_sequence_rules():
    for seed in range(30):
        plan = make_plan(20, random.Random(seed), repeats=3, attention=[99])
        assert len(plan) == 24
        assert [ref for role, ref in plan if role == "attention"] == [99]
        assert sum(role == "main" for role, _ in plan) == 20
        for i, (role, ref) in enumerate(plan):
            if role == "repeat":
                assert plan[ref][0] == "main" and i > ref + 1


def _answer(s, a, t):
    s.add(Rating(participant_id=a.participant_id, assignment_id=a.id, clip_id=a.clip_id,
                 role=a.role, valence=5, arousal=5, extra_json="{}", played_full=True,
                 created_at=t))
    s.flush()


def test_just_in_time_holds_one_clip_and_keeps_pairs_distinct(demo_study):
    store = demo_study.store
    rng = random.Random(0)
    with store.write(lock_assignment=True) as s:
        p = _participant(s, t=1000.0)
        assert start_plan(s, p, n=6, now=1000.0, expiry_s=600, rng=rng, repeats=1,
                          attention_ids=[]) == 7
        assert start_plan(s, p, n=6, now=1000.0, expiry_s=600, rng=rng) == 7  # idempotent
        pid = p.id
    with store.read() as s:
        assert [c.clip_id for c in clip_loads(s, cutoff=0) if c.load] == list(
            s.scalars(select(Assignment.clip_id)))  # only the current clip is held
    for k in range(7):
        with store.write(lock_assignment=True) as s:
            p = s.get(Participant, pid)
            a = assign_next(s, p, now=1000.0 + k, expiry_s=600, rng=rng)
            assert a is not None and a.position == k
            assert assign_next(s, p, now=1000.0 + k, expiry_s=600, rng=rng) is a
            assert plan_length(s, p) == 7
            _answer(s, a, 1000.0 + k)
    with store.read() as s:
        p = s.get(Participant, pid)
        assert assign_next(s, p, now=2000.0, expiry_s=600, rng=rng) is None
        rows = s.execute(select(Assignment.role, Clip.system, Clip.intent, Assignment.clip_id)
                         .join(Clip, Clip.id == Assignment.clip_id)
                         .where(Assignment.participant_id == pid)).all()
    main = [(sy, it) for role, sy, it, _ in rows if role == "main"]
    assert len(main) == 6 and len(set(main)) == 6
    repeat = [cid for role, _, _, cid in rows if role == "repeat"]
    assert len(repeat) == 1 and repeat[0] in {cid for role, _, _, cid in rows if role == "main"}


def test_just_in_time_balances_after_drop_outs(demo_study):
    """Sessions that stop early withhold only their current clip until they expire."""
    store = demo_study.store
    rng = random.Random(3)
    t = 1000.0
    for k in range(30):  # 72 clips, 6 per participant; one in three leaves after 2 answers
        with store.write(lock_assignment=True) as s:
            p = _participant(s, t=t)
            start_plan(s, p, n=6, now=t, expiry_s=1e6, rng=rng)
            stop = 2 if k % 3 == 0 else 6
            for _ in range(stop):
                a = assign_next(s, p, now=t, expiry_s=1e6, rng=rng)
                _answer(s, a, t)
                t += 1.0
                p.last_seen = t
            p.stage = "done" if stop == 6 else "rating"
            assert (assign_next(s, p, now=t, expiry_s=1e6, rng=rng) is None) == (stop == 6)
    with store.read() as s:
        loads = clip_loads(s, cutoff=t - 1e6)
        held = [c for c in loads if c.load != c.rated]
    assert len(held) == 10  # one per leaver, not four
    counts = [c.rated for c in loads]
    assert max(counts) - min(counts) <= 1 + 1  # held clips may lag by their one hold
    assert max(c.load for c in loads) - min(c.load for c in loads) <= 1


def test_simultaneous_answers_never_share_stale_counts(demo_study):
    """12 participants answer their first clip at once: their next 12 clips differ."""
    store = demo_study.store
    pids = []
    with store.write(lock_assignment=True) as s:
        for k in range(12):
            p = _participant(s, t=2000.0)
            start_plan(s, p, n=6, now=2000.0, expiry_s=3600, rng=random.Random(k))
            pids.append(p.id)
    barrier = threading.Barrier(12)
    errors: list[BaseException] = []

    def answer(k: int) -> None:
        try:
            barrier.wait()
            with store.write(lock_assignment=True) as s:
                p = s.get(Participant, pids[k])
                _answer(s, assign_next(s, p, now=2001.0, expiry_s=3600,
                                       rng=random.Random(k)), 2001.0)
                assign_next(s, p, now=2001.0, expiry_s=3600, rng=random.Random(100 + k))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=answer, args=(k,)) for k in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    with store.read() as s:
        counts = Counter(s.scalars(select(Assignment.clip_id)).all())
    assert sum(counts.values()) == 24 and set(counts.values()) == {1}


def test_upfront_mode_is_still_served(client, demo_study):
    """``assignment: upfront`` gives every clip at the start (old behaviour)."""
    from dataclasses import replace

    from fastapi.testclient import TestClient
    from survey_helpers import ADMIN, finish_session, start_session, to_ratings

    from emoconvey.survey.app import create_app

    study = replace(demo_study, config=replace(demo_study.config, assignment="upfront"))
    with TestClient(create_app(study, admin_token=ADMIN, seed=0)) as c:
        token = start_session(c)
        to_ratings(c, token)
        with study.store.read() as s:
            p = s.scalar(select(Participant).where(Participant.token == token))
            assert p.plan_json is None
            assert s.scalar(select(func.count()).select_from(Assignment)) == 8
        assert finish_session(c, token) == 8


def test_assignment_setting_is_validated():
    from emoconvey.survey.config import StudyConfig

    assert StudyConfig.from_dict({}).assignment == "just_in_time"
    assert StudyConfig.from_dict({"assignment": "upfront"}).assignment == "upfront"
    with pytest.raises(EmoconveyError, match="assignment"):
        StudyConfig.from_dict({"assignment": "later"})


def _recount(s) -> dict[int, int]:
    rated = dict(s.execute(select(Rating.clip_id, func.count())
                           .where(Rating.role == "main").group_by(Rating.clip_id)).all())
    return {cid: rated.get(cid, 0) for cid in s.scalars(select(Clip.id))}


def _pending_recount(s, cutoff: float) -> Counter:
    rows = s.execute(
        select(Assignment.clip_id)
        .join(Participant, Participant.id == Assignment.participant_id)
        .outerjoin(Rating, Rating.assignment_id == Assignment.id)
        .where(Participant.stage == "rating", Participant.last_seen >= cutoff,
               Assignment.role == "main", Rating.id.is_(None))).scalars().all()
    return Counter(rows)


def test_rating_counters_equal_a_recount(demo_study):
    """Random starts, answers, expiries, deletions and edits: n_rated == recount."""
    store = demo_study.store
    rng = random.Random(7)
    t = 1000.0
    pids: list[int] = []
    for step in range(120):
        t += rng.uniform(0, 200)
        action = rng.random()
        with store.write(lock_assignment=True) as s:
            if action < 0.25 or not pids:  # start
                p = _participant(s, t=t)
                start_plan(s, p, n=6, now=t, expiry_s=600, rng=rng, repeats=1,
                           attention_ids=[])
                pids.append(p.id)
            elif action < 0.85:  # answer the current clip of someone still going
                p = s.get(Participant, rng.choice(pids))
                a = assign_next(s, p, now=t, expiry_s=600, rng=rng)
                if a is not None:
                    _answer(s, a, t)
                    p.last_seen = t
                    if assign_next(s, p, now=t, expiry_s=600, rng=rng) is None:
                        p.stage = "done"
            elif action < 0.93:  # an operator removes a rating
                r = s.scalars(select(Rating).order_by(func.random()).limit(1)).first()
                if r is not None:
                    s.delete(r)
            else:  # an operator relabels a rating's role
                r = s.scalars(select(Rating).order_by(func.random()).limit(1)).first()
                if r is not None:
                    r.role = {"main": "excluded", "excluded": "main"}.get(r.role, r.role)
        if step % 10 == 0 or step == 119:
            with store.read() as s:
                counters = dict(s.execute(select(Clip.id, Clip.n_rated)).all())
                assert counters == _recount(s)
                cutoff = t - 600
                pending = _pending_recount(s, cutoff)
                for c in clip_loads(s, cutoff=cutoff):
                    assert c.rated == counters[c.clip_id]
                    assert c.load == c.rated + pending.get(c.clip_id, 0)
    with store.read() as s:
        assert sum(_recount(s).values()) > 0


def test_rating_counters_follow_the_web_flow(client, demo_study):
    from survey_helpers import finish_session, start_session, to_ratings

    for _ in range(3):
        token = start_session(client)
        to_ratings(client, token)
        assert finish_session(client, token) > 0
    with demo_study.store.read() as s:
        counters = dict(s.execute(select(Clip.id, Clip.n_rated)).all())
        assert counters == _recount(s)
        assert sum(counters.values()) > 0
