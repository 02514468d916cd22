"""Progress of a study for the operator's admin page (numbers and small SVG charts)."""

from __future__ import annotations

import time
from collections import Counter
from html import escape
from typing import Any

from sqlalchemy import func, select, update

from emoconvey.survey.qc import compute_flags
from emoconvey.survey.storage import Clip, Participant, Rating, now
from emoconvey.survey.study import OpenStudy

__all__ = ["TIMELINE_POINTS", "histogram_svg", "progress", "release_platform_id",
           "timeline_svg"]

TIMELINE_POINTS = 24
"""Points of the started/finished/dropped curves (evenly spaced from the first start)."""


def progress(study: OpenStudy) -> dict[str, Any]:
    """Counts of participants and ratings, the ratings-per-clip histogram and flags.

    Returns
    -------
    dict
        ``started``, ``in_progress``, ``finished``, ``dropped`` (unfinished and idle
        longer than the session expiry), ``ineligible``, ``ratings``, ``n_clips``,
        ``histogram`` (list of ``[n_ratings, n_clips]``), ``below`` (clips under the
        exclusion threshold as ``[name, n_ratings]``), ``flags`` (list of dicts),
        ``timeline`` (list of ``{"t", "started", "finished", "dropped"}``: cumulative
        counts at :data:`TIMELINE_POINTS` times from the first start to now; a
        participant counts as dropped from the moment their session expired).
    """
    cfg = study.config
    t_now = now()
    expiry = cfg.session_expiry_minutes * 60.0
    cutoff = t_now - expiry
    with study.store.read() as s:
        people = s.execute(select(Participant.stage, Participant.last_seen,
                                  Participant.created_at, Participant.finished_at)).all()
        per_clip = dict(s.execute(
            select(Rating.clip_id, func.count()).where(Rating.role == "main")
            .group_by(Rating.clip_id)).all())
        clips = s.execute(select(Clip.id, Clip.name).where(Clip.role == "main")
                          .order_by(Clip.id)).all()
        flags = compute_flags(s, cfg)
    finished = sum(1 for p in people if p.stage == "done")
    ineligible = sum(1 for p in people if p.stage == "ineligible")
    open_ = [p for p in people if p.stage not in ("done", "ineligible")]
    dropped = sum(1 for p in open_ if p.last_seen < cutoff)
    counts = {cid: int(per_clip.get(cid, 0)) for cid, _ in clips}
    hist = Counter(counts.values())
    below = sorted(
        ([name, counts[cid]] for cid, name in clips if counts[cid] < cfg.min_ratings),
        key=lambda t: (t[1], t[0]),
    )
    return {
        "started": len(people),
        "in_progress": len(open_) - dropped,
        "finished": finished,
        "dropped": dropped,
        "ineligible": ineligible,
        "ratings": sum(counts.values()),
        "n_clips": len(clips),
        "histogram": [[k, hist[k]] for k in sorted(hist)],
        "below": below,
        "flags": flags.to_dict(orient="records"),
        "timeline": _timeline(people, t_now, expiry),
    }


def release_platform_id(study: OpenStudy, pid: str) -> int:
    """Let the next browser that presents platform ID ``pid`` take over its session.

    Resuming through the platform ID is bound to the browser that started the session
    (see :mod:`emoconvey.survey.routers.participant`); a participant who lost that
    browser asks the researcher, who releases the ID. Returns the number of sessions
    released (0: no session has this ID).
    """
    from emoconvey.survey.routers.participant import RELEASED

    pid = pid.strip()[:128]
    if not pid:
        return 0
    with study.store.write() as s:
        return s.execute(update(Participant).where(Participant.platform_pid == pid)
                         .values(resume_hash=RELEASED)).rowcount


def _timeline(people: list[Any], t_now: float, expiry: float) -> list[dict[str, float]]:
    if not people:
        return []
    t0 = min(p.created_at for p in people)
    span = max(t_now - t0, 1.0)
    out = []
    for i in range(TIMELINE_POINTS + 1):
        t = t0 + span * i / TIMELINE_POINTS
        out.append({
            "t": t,
            "started": sum(1 for p in people if p.created_at <= t),
            "finished": sum(1 for p in people if p.finished_at is not None
                            and p.finished_at <= t),
            "dropped": sum(1 for p in people if p.stage not in ("done", "ineligible")
                           and p.created_at <= t and p.last_seen + expiry <= t),
        })
    return out


_W, _H, _L, _B, _T, _R = 360, 170, 34, 24, 8, 8  # size and margins of the charts


def timeline_svg(timeline: list[dict[str, float]]) -> str:
    """Started, finished and dropped participants over time as an inline SVG chart."""
    if not timeline:
        return '<p class="note">No participant has started yet.</p>'
    top = max(1, max(p["started"] for p in timeline))
    t0, t1 = timeline[0]["t"], timeline[-1]["t"]
    span = max(t1 - t0, 1.0)

    def x(t: float) -> float:
        return _L + (_W - _L - _R) * (t - t0) / span

    def y(v: float) -> float:
        return _T + (_H - _T - _B) * (1 - v / top)

    parts = [f'<svg viewBox="0 0 {_W} {_H}" role="img" aria-labelledby="tl-title">'
             '<title id="tl-title">Participants started, finished and dropped over time'
             '</title>']
    for v in sorted({0, top // 2, top}):
        parts.append(f'<line class="grid" x1="{_L}" x2="{_W - _R}" y1="{y(v):.1f}" '
                     f'y2="{y(v):.1f}"/><text x="{_L - 4}" y="{y(v) + 4:.1f}" '
                     f'text-anchor="end">{v}</text>')
    parts.append(f'<line class="axis" x1="{_L}" x2="{_W - _R}" y1="{_H - _B}" y2="{_H - _B}"/>')
    for t, anchor in ((t0, "start"), (t1, "end")):
        label = time.strftime("%d %b %H:%M", time.localtime(t))
        parts.append(f'<text x="{x(t):.1f}" y="{_H - 6}" text-anchor="{anchor}">'
                     f'{escape(label)}</text>')
    for key in ("started", "finished", "dropped"):
        pts = " ".join(f"{x(p['t']):.1f},{y(p[key]):.1f}" for p in timeline)
        parts.append(f'<polyline class="s-{key}" points="{pts}"/>')
    parts.append("</svg>")
    return "".join(parts)


def histogram_svg(histogram: list[list[int]], min_ratings: int) -> str:
    """Number of clips per number of ratings as an inline SVG bar chart; bars of clips
    under the exclusion threshold are drawn in the warning colour."""
    if not histogram:
        return '<p class="note">No clips.</p>'
    lo, hi = 0, max(k for k, _ in histogram)
    counts = dict((int(k), int(n)) for k, n in histogram)
    top = max(counts.values())
    n_bars = hi - lo + 1
    slot = (_W - _L - _R) / n_bars
    parts = [f'<svg viewBox="0 0 {_W} {_H}" role="img" aria-labelledby="h-title">'
             '<title id="h-title">Number of clips by number of ratings</title>']
    for v in sorted({0, top}):
        yv = _T + (_H - _T - _B) * (1 - v / top)
        parts.append(f'<line class="grid" x1="{_L}" x2="{_W - _R}" y1="{yv:.1f}" '
                     f'y2="{yv:.1f}"/><text x="{_L - 4}" y="{yv + 4:.1f}" '
                     f'text-anchor="end">{v}</text>')
    step = max(1, n_bars // 12)
    for k in range(lo, hi + 1):
        n = counts.get(k, 0)
        h = (_H - _T - _B) * n / top
        x0 = _L + slot * (k - lo) + slot * 0.12
        cls = "bar below" if k < min_ratings else "bar"
        parts.append(f'<rect class="{cls}" x="{x0:.1f}" y="{_H - _B - h:.1f}" '
                     f'width="{slot * 0.76:.1f}" height="{h:.1f}"><title>{k} ratings: '
                     f'{n} clips</title></rect>')
        if (k - lo) % step == 0:
            parts.append(f'<text x="{x0 + slot * 0.38:.1f}" y="{_H - 8}" '
                         f'text-anchor="middle">{k}</text>')
    parts.append(f'<line class="axis" x1="{_L}" x2="{_W - _R}" y1="{_H - _B}" y2="{_H - _B}"/>')
    parts.append("</svg>")
    return "".join(parts)
