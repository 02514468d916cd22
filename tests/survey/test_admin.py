"""The admin page's numbers: the participants-over-time curves and the charts."""

from __future__ import annotations

import re

import pytest
from survey_helpers import ADMIN

from emoconvey.survey import admin as admin_mod
from emoconvey.survey.storage import Participant


def add(study, token, *, created, last_seen, stage="rating", finished=None):
    with study.store.write() as s:
        s.add(Participant(token=token, csrf="c" * 24, stage=stage, created_at=created,
                          last_seen=last_seen, finished_at=finished))


def test_timeline_counts_by_hand(demo_study, monkeypatch):
    expiry = demo_study.config.session_expiry_minutes * 60.0  # 3600 s in the demo
    t0 = 1_000_000.0
    add(demo_study, "a" * 43, created=t0, last_seen=t0 + 600, stage="done",
        finished=t0 + 600)
    add(demo_study, "b" * 43, created=t0 + 1200, last_seen=t0 + 1500)  # expires t0+5100
    add(demo_study, "c" * 43, created=t0 + 4800, last_seen=t0 + 4800, stage="ineligible")
    monkeypatch.setattr(admin_mod, "now", lambda: t0 + 7200.0)
    st = admin_mod.progress(demo_study)
    tl = st["timeline"]
    assert len(tl) == admin_mod.TIMELINE_POINTS + 1
    assert tl[0]["t"] == t0 and tl[-1]["t"] == t0 + 7200
    step = 7200 / admin_mod.TIMELINE_POINTS  # 300 s

    def expected(t):
        started = sum(c <= t for c in (t0, t0 + 1200, t0 + 4800))
        finished = int(t0 + 600 <= t)
        dropped = int(t0 + 1500 + expiry <= t)
        return started, finished, dropped

    for i, p in enumerate(tl):
        assert p["t"] == pytest.approx(t0 + i * step)
        assert (p["started"], p["finished"], p["dropped"]) == expected(p["t"]), i
    assert (st["started"], st["finished"], st["dropped"], st["ineligible"]) == (3, 1, 1, 1)
    assert tl[-1]["dropped"] == st["dropped"]


def test_charts_and_tables(client, demo_study):
    assert admin_mod.timeline_svg([]).startswith('<p class="note">')
    svg = admin_mod.histogram_svg([[0, 60], [1, 10], [3, 2]], min_ratings=2)
    bars = re.findall(r'<rect class="(bar(?: below)?)"[^>]*height="([0-9.]+)"', svg)
    assert [b[0] for b in bars] == ["bar below", "bar below", "bar", "bar"]  # 0..3 ratings
    heights = [float(b[1]) for b in bars]
    assert heights[2] == 0 and heights[0] == max(heights)
    assert heights[1] / heights[0] == pytest.approx(10 / 60, abs=0.01)
    html = client.get(f"/admin?token={ADMIN}").text
    assert html.index('class="tiles"') < html.index("sec-below") < html.index("sec-flags")
    assert 'table class="sortable" id="t-below"' in html
    assert '<details class="section" id="sec-below">' in html  # 72 clips: folded
    assert "/static/admin.js" in html and "<script>" not in html  # CSP: no inline script
    assert client.get(f"/admin/status.json?token={ADMIN}").json()["timeline"] == []
