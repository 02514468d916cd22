"""Unit tests of the assignment rule and its serialisation under concurrent starts."""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
from sqlalchemy import select

from emoconvey.errors import EmoconveyError
from emoconvey.survey.assignment import (
    ClipLoad,
    assign_clips,
    build_sequence,
    choose_clips,
    clip_loads,
)
from emoconvey.survey.db import Assignment, Participant, Rating


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
