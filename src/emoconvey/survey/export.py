"""Export a study in AImoclips format, ready for ``emoconvey report``.

Files written (``out`` folder):

``ratings_metadata.csv``, ``clips_metadata.csv``, ``emotion_intents_metadata.csv``
    AImoclips release format (via :func:`emoconvey.data.write_dataset`); listeners are
    anonymised ``P1``, ``P2``, ... in order of arrival. Only ratings of main clips are
    exported (never sample, attention or repeated showings).
``demographics.csv``
    ``user``, ``gender``, ``age``, ``fluency``, ``completed``, ``n_ratings``.
``extra_ratings.csv``
    When the study has scales besides valence and arousal.
``qc_flags.csv`` and ``study_report.md``
    Who was flagged and why, and whether flagged listeners were dropped.

Contact details and platform IDs are never written (see :func:`export_contacts`).
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from emoconvey.data import load_dataset, write_dataset
from emoconvey.errors import EmoconveyError
from emoconvey.survey.qc import compute_flags
from emoconvey.survey.storage import Clip, Contact, Participant, Rating
from emoconvey.survey.study import OpenStudy

__all__ = ["export_contacts", "export_study"]

log = logging.getLogger(__name__)


def export_study(
    study: OpenStudy, out: str | Path, *, drop_flagged: bool = False
) -> dict[str, Path]:
    """Write the study's ratings in AImoclips format.

    Parameters
    ----------
    study : OpenStudy
    out : path
        Folder, created if needed.
    drop_flagged : bool, default False
        Leave out every listener with a quality-control flag.

    Returns
    -------
    dict
        File kind -> path (``ratings``, ``clips``, ``intents``, ``demographics``,
        ``flags``, ``report`` and ``extra`` when written).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = study.config
    with study.store.read() as s:
        rows = s.execute(
            select(Rating.participant_id, Clip.name, Clip.system, Clip.intent,
                   Rating.valence, Rating.arousal, Rating.extra_json)
            .join(Clip, Clip.id == Rating.clip_id)
            .where(Rating.role == "main")
            .order_by(Rating.participant_id, Rating.id)
        ).all()
        people = s.execute(
            select(Participant.id, Participant.gender, Participant.age, Participant.fluency,
                   Participant.stage).order_by(Participant.id)
        ).all()
        clips = s.execute(
            select(Clip.name, Clip.system, Clip.intent).where(Clip.role == "main")
            .order_by(Clip.id)
        ).all()
        flags = compute_flags(s, config)
    ratings = pd.DataFrame(
        rows, columns=["pid", "clip", "system", "intent", "valence", "arousal", "extra"]
    )
    if ratings.empty:
        raise EmoconveyError("export: the study has no ratings yet")
    rated = list(dict.fromkeys(ratings["pid"]))
    listener = {pid: f"P{i}" for i, pid in enumerate(rated, start=1)}
    flagged = set(flags["participant_id"])
    keep = [p for p in rated if not (drop_flagged and p in flagged)]
    if not keep:
        raise EmoconveyError("export: every listener is flagged; nothing left to export")
    kept = ratings[ratings["pid"].isin(keep)].assign(listener=lambda d: d["pid"].map(listener))
    clips_df = pd.DataFrame(clips, columns=["clip", "system", "intent"])
    dataset = load_dataset(
        kept.loc[:, ["listener", "clip", "valence", "arousal"]],
        clips_df,
        study.intents,
        min_ratings=1,
        source="emoconvey survey export",
    )
    paths = dict(write_dataset(dataset, out))

    counts = kept.groupby("pid").size()
    demo = pd.DataFrame(people, columns=["pid", "gender", "age", "fluency", "stage"])
    demo = demo[demo["pid"].isin(keep)].copy()
    demo.insert(0, "user", demo["pid"].map(listener))
    demo["completed"] = demo["stage"] == "done"
    demo["n_ratings"] = demo["pid"].map(counts).fillna(0).astype(int)
    demo["age"] = demo["age"].astype("Int64")  # whole years, blank when not given
    paths["demographics"] = out / "demographics.csv"
    demo.loc[:, ["user", "gender", "age", "fluency", "completed", "n_ratings"]].to_csv(
        paths["demographics"], index=False
    )

    extra_names = [sc.name for sc in config.scales if sc.name not in ("valence", "arousal")]
    if extra_names:
        extra = pd.DataFrame([json.loads(x) for x in kept["extra"]], columns=extra_names)
        extra.insert(0, "audio_file", kept["clip"].to_numpy())
        extra.insert(0, "user", kept["listener"].to_numpy())
        paths["extra"] = out / "extra_ratings.csv"
        extra.to_csv(paths["extra"], index=False)

    flags = flags[flags["participant_id"].isin(listener)].copy()
    flags.insert(0, "user", flags["participant_id"].map(listener))
    paths["flags"] = out / "qc_flags.csv"
    flags.loc[:, ["user", "flag", "detail"]].to_csv(paths["flags"], index=False)
    paths["report"] = out / "study_report.md"
    paths["report"].write_text(
        _report(demo, people, dataset, flags, drop_flagged, config.min_ratings,
                len(clips_df)),
        encoding="utf-8",
    )
    log.info("exported %d ratings of %d listeners to %s", len(kept), len(keep), out)
    return paths


def _report(demo, people, dataset, flags, dropped, min_ratings, n_clips) -> str:
    stages = pd.Series([p[4] for p in people]).value_counts()
    n = dataset.clips.set_index("clip")["n_ratings"]
    below = n_clips - int((n >= min_ratings).sum())
    lines = [
        "# Listening study report",
        "",
        f"- participants who started: {len(people)}",
        f"- finished: {int(stages.get('done', 0))}; ineligible: "
        f"{int(stages.get('ineligible', 0))}",
        f"- listeners exported: {len(demo)}; ratings exported: {len(dataset.ratings)}",
        f"- clips: {n_clips}; with fewer than {min_ratings} ratings: {below}",
        f"- ratings per clip: min {int(n.min()) if len(n) else 0}, "
        f"max {int(n.max()) if len(n) else 0}",
        f"- flagged listeners {'dropped' if dropped else 'kept'} in the export",
        "",
        "## Quality-control flags",
        "",
    ]
    if flags.empty:
        lines.append("No listener was flagged.")
    else:
        lines += ["| listener | flag | reason |", "|---|---|---|"]
        lines += [f"| {r.user} | {r.flag} | {r.detail} |" for r in flags.itertuples()]
    return "\n".join(lines) + "\n"


def export_contacts(study: OpenStudy, path: str | Path) -> Path:
    """Write contact details for rewards (``contact`` only, no ratings, no IDs) to ``path``."""
    path = Path(path)
    with study.store.read() as s:
        contacts = s.scalars(select(Contact.contact).order_by(Contact.id)).all()
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["contact"])
        w.writerows([c] for c in contacts)
    return path
