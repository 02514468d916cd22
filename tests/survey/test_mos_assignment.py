"""Prompt-grouped balanced MOS batches and the quality-probe rules (pure module)."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from emoconvey.errors import DataValidationError, EmoconveyError
from emoconvey.survey.protocols.batches import (
    MosAssigner,
    anchor_failures,
    invalid_raters,
    repeat_failures,
    simulate_mos_study,
)


def _clips(n_prompts: int = 40, systems: int = 6, missing_every: int = 5) -> pd.DataFrame:
    rows = []
    for p in range(n_prompts):
        for s in range(systems):
            if (p + s) % missing_every == 0:  # not every system made every prompt
                continue
            rows.append((f"S{s}_P{p:03d}", f"S{s}", f"P{p:03d}"))
    return pd.DataFrame(rows, columns=["clip_id", "system", "prompt_id"])


RATERS = [f"R{i:02d}" for i in range(14)]


@pytest.mark.parametrize(("dropout", "seed"), [(0.0, 0), (0.3, 1), (0.6, 2)])
def test_every_clip_ends_with_exactly_k(dropout, seed):
    clips = _clips()
    a = MosAssigner(clips, ratings_per_clip=5, batch_size=20, anchors=["A1", "A2"], seed=seed)
    res = simulate_mos_study(a, RATERS, dropout=dropout, seed=seed)
    assert res.complete
    assert res.ratings_per_clip.to_dict() == {5: len(clips)}
    assert (res.progress["held"] == 0).all()
    assert res.max_batch_main <= 20
    assert res.duplicates == 0
    if dropout:
        assert any(not b.open and len(b.answered) < len(b.items) for b in res.batches)


def test_no_rater_sees_a_clip_twice_except_the_planned_repeat():
    a = MosAssigner(_clips(), batch_size=15, anchors=["A1", "A2", "A3"], seed=4)
    res = simulate_mos_study(a, RATERS, dropout=0.25, seed=4)
    shown: dict[str, Counter] = {}
    for b in res.batches:
        c = shown.setdefault(b.rater, Counter())
        for i, it in enumerate(b.items):
            if it.role == "main" and b.presented(i):
                c[it.clip_id] += 1
        repeats = [it for it in b.items if it.role == "repeat"]
        assert len(repeats) == (1 if len(b.main_clips) >= 2 else 0)
        if not repeats:
            continue
        rep = repeats[0]
        first = b.items[rep.repeat_of]
        assert first.role == "main" and first.clip_id == rep.clip_id
        assert b.items.index(rep) > rep.repeat_of
    assert all(v == 1 for c in shown.values() for v in c.values())


def test_batches_are_prompt_grouped_with_probes_between_groups():
    clips = _clips()
    a = MosAssigner(clips, batch_size=25, anchors=["A1"], anchor_prompts={"A1": "PA"}, seed=3)
    b = a.next_batch("R1")
    mains = [it for it in b.items if it.role == "main"]
    assert len(mains) == 25
    # each prompt's clips are shown back to back (probes only between groups)
    order = [it.prompt_id for it in b.items if it.role == "main"]
    runs = [p for i, p in enumerate(order) if i == 0 or order[i - 1] != p]
    assert len(runs) == len(set(runs))
    seq = [it.prompt_id for it in b.items]
    for i, it in enumerate(b.items):
        if it.role != "main" and 0 < i < len(seq) - 1:
            assert seq[i - 1] != seq[i + 1] or b.items[i + 1].role != "main"
    anchors = [it for it in b.items if it.role == "anchor"]
    assert [(x.clip_id, x.prompt_id) for x in anchors] == [("A1", "PA")]
    # all clips of a chosen prompt come together (except a last group cut short)
    by_prompt = clips.groupby("prompt_id")["clip_id"].size()
    sizes = Counter(order)
    assert sum(sizes[p] < by_prompt[p] for p in sizes) <= 1
    # systems within a prompt are different systems
    for p in sizes:
        systems = [a.system_of[it.clip_id] for it in mains if it.prompt_id == p]
        assert len(systems) == len(set(systems))


def test_order_is_randomised_per_rater_and_reproducible():
    clips = _clips()
    b1 = MosAssigner(clips, batch_size=30, seed=9).next_batch("R1")
    b2 = MosAssigner(clips, batch_size=30, seed=9).next_batch("R1")
    b3 = MosAssigner(clips, batch_size=30, seed=10).next_batch("R1")
    assert b1.items == b2.items
    assert b1.items != b3.items


def test_full_clips_are_not_served_and_late_answers_rejected():
    clips = _clips(n_prompts=2, systems=3, missing_every=100)
    n = len(clips)
    a = MosAssigner(clips, ratings_per_clip=2, batch_size=10, repeats_per_batch=0, seed=0)
    b1, b2 = a.next_batch("R1"), a.next_batch("R2")
    assert len(b1.main_clips) == len(b2.main_clips) == n
    assert a.next_batch("R3") is None  # every clip is held to k
    assert a.next_batch("R1") is b1  # one open batch per rater
    a.record(b1.batch_id, 0)
    assert a.release(b1.batch_id) == n - 1
    with pytest.raises(EmoconveyError, match="was released"):
        a.record(b1.batch_id, 1)
    b3 = a.next_batch("R3")
    assert sorted(b3.main_clips) == sorted(b1.main_clips[1:])
    # R1 heard items 0 and 1 (answered 0, was on 1): never again; the rest they may get
    assert a.next_batch("R1") is None  # every clip is held again (b2, b3)
    assert b1.reached == 2 and a.seen["R1"] == set(b1.main_clips[:2])
    for pos in range(len(b2.items)):
        a.record(b2.batch_id, pos)
    for pos in range(len(b3.items)):
        a.record(b3.batch_id, pos)
    assert a.progress()["done"].tolist() == [2] * n and a.complete
    with pytest.raises(EmoconveyError, match="position 0 already answered"):
        a.record(b2.batch_id, 0)


def test_restore_rebuilds_counts():
    clips = _clips()
    a = MosAssigner(clips, batch_size=12, seed=1)
    b = a.next_batch("R1")
    for pos in range(5):
        a.record(b.batch_id, pos)
    c = a.next_batch("R2")
    a.release(c.batch_id)
    fresh = MosAssigner(clips, batch_size=12, seed=1)
    fresh.restore(a.batches.values())
    pd.testing.assert_frame_equal(fresh.progress(), a.progress())
    assert fresh.seen["R2"] == a.seen["R2"]


def test_assigner_input_errors():
    clips = _clips()
    with pytest.raises(DataValidationError, match="missing column"):
        MosAssigner(clips.drop(columns="prompt_id"))
    with pytest.raises(DataValidationError, match="duplicated clip id"):
        MosAssigner(pd.concat([clips, clips.head(1)]))
    with pytest.raises(DataValidationError, match="at least one clip"):
        MosAssigner(clips.head(0))
    with pytest.raises(EmoconveyError, match="batch_size: expected an integer >= 1"):
        MosAssigner(clips, batch_size=0)
    with pytest.raises(EmoconveyError, match="also study clips"):
        MosAssigner(clips, anchors=[clips["clip_id"].iloc[0]])
    with pytest.raises(EmoconveyError, match="expected a DataFrame"):
        MosAssigner([1])
    a = MosAssigner(clips)
    with pytest.raises(EmoconveyError, match="no such batch"):
        a.record(99, 0)
    b = a.next_batch("R1")
    with pytest.raises(EmoconveyError, match="position: expected"):
        a.record(b.batch_id, 10_000)
    with pytest.raises(EmoconveyError, match="dropout"):
        simulate_mos_study(a, RATERS, dropout=1.0)
    with pytest.raises(EmoconveyError, match="at least one rater"):
        simulate_mos_study(a, [])


def _probe_ratings() -> pd.DataFrame:
    rows = [
        # R1: fine; R2 fails the anchor on MI; R3 fails the repeat on TA
        ("R1", "A1", "MI", 4, "anchor"),
        ("R1", "A1", "TA", 3, "anchor"),
        ("R1", "c1", "MI", 3, "main"),
        ("R1", "c1", "MI", 4, "repeat"),
        ("R1", "c1", "TA", 2, "main"),
        ("R1", "c1", "TA", 2, "repeat"),
        ("R2", "A1", "MI", 2, "anchor"),
        ("R2", "A1", "TA", 4, "anchor"),
        ("R2", "c2", "MI", 3, "main"),
        ("R2", "c2", "MI", 3, "repeat"),
        ("R3", "A1", "MI", 5, "anchor"),
        ("R3", "A1", "TA", 1, "anchor"),
        ("R3", "c1", "TA", 1, "main"),
        ("R3", "c1", "TA", 4, "repeat"),
    ]
    return pd.DataFrame(rows, columns=["rater", "clip_id", "scale", "score", "role"])


def test_anchor_rule():
    r = _probe_ratings()
    assert anchor_failures(r, scales=["MI"])["rater"].tolist() == ["R2"]
    assert anchor_failures(r)["rater"].tolist() == ["R2", "R3"]
    assert anchor_failures(r, threshold=2)["rater"].tolist() == ["R3"]


def test_repeat_rule():
    r = _probe_ratings()
    got = repeat_failures(r)
    assert got.to_dict("records") == [
        {"rater": "R3", "clip_id": "c1", "scale": "TA", "first": 1, "second": 4, "difference": 3}
    ]
    assert repeat_failures(r, max_difference=0)["rater"].tolist() == ["R1", "R3"]


def test_invalid_raters_reasons():
    got = invalid_raters(_probe_ratings(), anchor_scales=["MI"])
    assert got["rater"].tolist() == ["R2", "R3"]
    assert got["rule"].tolist() == ["anchor", "repeat"]
    assert "scored anchor A1 2 on MI (below 3)" in got["detail"].iloc[0]
    with pytest.raises(DataValidationError, match="missing column"):
        invalid_raters(_probe_ratings().drop(columns="role"))


def test_benchmark_musiceval_protocol_runs():
    import json
    import subprocess
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parents[2] / "benchmarks" / "assignment_sim.py"
    proc = subprocess.run(
        [
            sys.executable,
            str(bench),
            "--protocol",
            "musiceval",
            "--json",
            "--raters",
            "8",
            "--batch-size",
            "80",
            "--leave",
            "0.3",
            "--seed",
            "2",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    out = json.loads(proc.stdout)
    assert out["clips"] == 2748 and out["prompts"] == 384 and out["systems"] == 31
    assert out["ratings_per_clip"] == {"5": 2748}
    assert out["goal_no_batch_over_size"] and out["clips_served_twice_to_a_rater"] == 0
    assert out["batches_abandoned"] > 0
