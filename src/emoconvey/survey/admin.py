"""Progress of a study for the operator's admin page."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select

from emoconvey.survey.db import Clip, Participant, Rating, now
from emoconvey.survey.qc import compute_flags
from emoconvey.survey.study import OpenStudy

__all__ = ["progress"]


def progress(study: OpenStudy) -> dict[str, Any]:
    """Counts of participants and ratings, the ratings-per-clip histogram and flags.

    Returns
    -------
    dict
        ``started``, ``in_progress``, ``finished``, ``dropped`` (unfinished and idle
        longer than the session expiry), ``ineligible``, ``ratings``, ``n_clips``,
        ``histogram`` (list of ``[n_ratings, n_clips]``), ``below`` (clips under the
        exclusion threshold as ``[name, n_ratings]``), ``flags`` (list of dicts).
    """
    cfg = study.config
    cutoff = now() - cfg.session_expiry_minutes * 60.0
    with study.store.read() as s:
        people = s.execute(select(Participant.stage, Participant.last_seen)).all()
        per_clip = dict(s.execute(
            select(Rating.clip_id, func.count()).where(Rating.role == "main")
            .group_by(Rating.clip_id)).all())
        clips = s.execute(select(Clip.id, Clip.name).where(Clip.role == "main")
                          .order_by(Clip.id)).all()
        flags = compute_flags(s, cfg)
    finished = sum(1 for st, _ in people if st == "done")
    ineligible = sum(1 for st, _ in people if st == "ineligible")
    open_ = [(st, seen) for st, seen in people if st not in ("done", "ineligible")]
    dropped = sum(1 for _, seen in open_ if seen < cutoff)
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
    }
