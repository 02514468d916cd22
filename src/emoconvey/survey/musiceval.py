"""MusicEval side of the survey: export in the MusicEval layout, personal invitations.

``emoconvey survey export STUDY --out DIR --format musiceval [--split train=0.8,...]``
writes the study's MOS ratings as a MusicEval-layout folder
(:mod:`emoconvey.data.musiceval`): ``sets/<split>_mos_list.txt`` (clip means),
``prompt_info.txt``, ``demo_prompt_info.txt``, ``system_mos/system_mos_phase1.csv`` and
the individual ratings (``person_mos/<split>_person_mos.txt`` when every rater gave both
MI and TA, else ``individual_ratings.csv``), plus the study's ``qc_flags.csv`` and
``study_report.md``; ``--ids audiomos`` renames systems and prompts to ``S…``/``P…`` ids
(``sets/systems.csv``), and the folder is checked against the official tools' parsing
rules (:func:`emoconvey.data.musiceval.check_compatibility`) before it ships.
The MOS scales are the survey scales ``overall_impression`` (written as ``MI``) and
``text_alignment`` (``TA``); scales already named ``MI``/``TA`` are kept.

Clip ids are ``<prefix>-<system>_<prompt>``. A study's clips are identified by
(system, intent, n): the prompt id is ``<intent>.<n>`` and its text the intent word
(source ``intent``); characters other than letters, digits and dots become dots.

``emoconvey survey invite STUDY --n 14 [--names file]`` creates one session per invited
rater and writes their personal links (``<base url>/s/<token>``) to a CSV file readable
by its owner only: experts use their own link, over as many visits as they need.
"""

from __future__ import annotations

import csv
import logging
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from emoconvey.data.musiceval import (
    MusicEvalDataset,
    clip_id_for,
    system_mos_from_clips,
    write_musiceval,
)
from emoconvey.errors import DataValidationError, EmoconveyError

__all__ = [
    "MOS_SCALE_NAMES",
    "check_invite_names",
    "export_musiceval",
    "invite_raters",
    "musiceval_from_export",
    "parse_split",
]

log = logging.getLogger(__name__)

MOS_SCALE_NAMES: dict[str, str] = {
    "overall_impression": "MI",
    "text_alignment": "TA",
    "MI": "MI",
    "TA": "TA",
}
"""Survey scale name -> MusicEval scale."""

INVITE_PREFIX = "invite:"


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", ".", str(text)).strip(".") or "x"


def parse_split(text: str | None) -> dict[str, float] | None:
    """Parse ``"train=0.8,dev=0.1,test=0.1"`` into split weights (None stays None)."""
    if text is None or not text.strip():
        return None
    out: dict[str, float] = {}
    for part in text.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        try:
            weight = float(value)
        except ValueError:
            weight = float("nan")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_]+", name) or not weight >= 0:
            raise EmoconveyError(
                f"--split: expected 'name=weight,...' (e.g. train=0.8,dev=0.1,test=0.1), "
                f"found {part.strip()!r}"
            )
        out[name] = weight
    return out


def musiceval_from_export(folder: str | Path, *, prefix: str = "emoconvey") -> MusicEvalDataset:
    """Build a MusicEval data set from an AImoclips-format study export.

    Parameters
    ----------
    folder : path
        Holds ``clips_metadata.csv`` and ``extra_ratings.csv`` (written by
        :func:`emoconvey.survey.export.export_study` for a study with MOS scales).
    prefix : str, default "emoconvey"
        Clip id prefix.

    Returns
    -------
    MusicEvalDataset
        Split ``total``; clips without a rating on every MOS scale are left out.
    """
    folder = Path(folder)
    extra_path = folder / "extra_ratings.csv"
    clips_path = folder / "clips_metadata.csv"
    if not extra_path.is_file():
        raise EmoconveyError(
            "export: the study has no MOS scales (extra_ratings.csv); add "
            "'extra_scales: [overall_impression, text_alignment]' to its config"
        )
    extra = pd.read_csv(extra_path, dtype={"user": str, "audio_file": str})
    scales = {c: MOS_SCALE_NAMES[c] for c in extra.columns if c in MOS_SCALE_NAMES}
    if not scales:
        raise DataValidationError(
            f"no MOS scale column; expected one of {sorted(MOS_SCALE_NAMES)}", file=extra_path
        )
    meta = pd.read_csv(clips_path, dtype={"audio_file": str, "model": str, "emotion": str})
    ids = {}
    rows = []
    for clip, system, intent, n in zip(
        meta["audio_file"], meta["model"], meta["emotion"], meta["file_index"], strict=True
    ):
        prompt = f"{_safe(intent)}.{int(n)}"
        cid = clip_id_for(_safe(system), prompt, prefix=prefix)
        if cid in ids.values():
            raise EmoconveyError(f"export: clip id {cid!r} is not unique after sanitising")
        ids[clip] = cid
        rows.append(
            {
                "clip": clip,
                "clip_id": cid,
                "system": _safe(system),
                "prompt_id": prompt,
                "text": str(intent),
            }
        )
    info = pd.DataFrame(rows)
    long = extra.melt(
        id_vars=["user", "audio_file"],
        value_vars=list(scales),
        var_name="scale",
        value_name="score",
    ).dropna(subset=["score"])
    long = long[long["audio_file"].isin(ids)]
    score = pd.to_numeric(long["score"], errors="coerce")
    bad = ~np.isin(score, [1, 2, 3, 4, 5])
    if bad.any():
        first = long["score"].iloc[int(np.flatnonzero(bad)[0])]
        raise DataValidationError(
            f"expected integer scores 1-5, found {str(first)!r}", file=extra_path
        )
    ratings = pd.DataFrame(
        {
            "rater": long["user"].to_numpy(),
            "clip_id": long["audio_file"].map(ids).to_numpy(),
            "scale": long["scale"].map(scales).to_numpy(),
            "score": score.astype(np.int64).to_numpy(),
        }
    )
    means = ratings.pivot_table(index="clip_id", columns="scale", values="score", aggfunc="mean")
    for s in ("MI", "TA"):
        if s not in means.columns:
            means[s] = np.nan
    complete = means.dropna(subset=["MI", "TA"]).index
    dropped = len(info) - len(complete)
    if dropped:
        log.warning("export: %d clip(s) lack a rating on MI or TA and are left out", dropped)
    info = info[info["clip_id"].isin(complete)]
    if info.empty:
        raise EmoconveyError("export: no clip has ratings on both MI and TA")
    clips = pd.DataFrame(
        {
            "clip_id": info["clip_id"].to_numpy(),
            "system": info["system"].to_numpy(),
            "prompt_id": info["prompt_id"].to_numpy(),
            "MI": info["clip_id"].map(means["MI"]).to_numpy(float),
            "TA": info["clip_id"].map(means["TA"]).to_numpy(float),
            "split": "total",
            "audio_file": ("wav/" + info["clip_id"] + ".wav").to_numpy(),
        }
    )
    prompts = info.drop_duplicates("prompt_id")
    prompts = pd.DataFrame(
        {
            "prompt_id": prompts["prompt_id"].to_numpy(),
            "text": prompts["text"].to_numpy(),
            "source": "intent",
            "per_clip": False,
        }
    )
    ratings = ratings[ratings["clip_id"].isin(set(clips["clip_id"]))].reset_index(drop=True)
    return MusicEvalDataset(
        clips=clips,
        prompts=prompts,
        system_mos=system_mos_from_clips(clips),
        ratings=ratings,
    )


def export_musiceval(
    study: object,
    out: str | Path,
    *,
    drop_flagged: bool = False,
    split: Mapping[str, float] | None = None,
    seed: int = 0,
    prefix: str = "emoconvey",
    ids: str = "keep",
) -> dict[str, Path]:
    """Export a study in the MusicEval layout (see the module docstring).

    Parameters
    ----------
    study : OpenStudy
    out : path
    drop_flagged : bool, default False
        Leave out raters with quality-control flags.
    split : mapping of split name to weight, optional
        A seeded split by prompt (e.g. ``{"train": 0.8, "dev": 0.1, "test": 0.1}``);
        default one ``total`` split.
    seed : int, default 0
    prefix : str, default "emoconvey"
    ids : {"keep", "audiomos"}, default "keep"
        ``audiomos``: ids the official MusicEval tools read (``S002``..., ``P001``...,
        mapping in ``sets/systems.csv``); see :func:`emoconvey.data.musiceval.write_musiceval`.

    Returns
    -------
    dict
        File kind -> path.
    """
    from emoconvey.survey.export import export_study

    out = Path(out)
    with tempfile.TemporaryDirectory() as tmp:
        paths = export_study(study, tmp, drop_flagged=drop_flagged)
        ds = musiceval_from_export(tmp, prefix=prefix)
        written = write_musiceval(ds, out, split=split, seed=seed, ids=ids)
        result = {p.relative_to(out).as_posix(): p for p in written}
        for kind in ("flags", "report"):
            if kind in paths:
                dst = out / Path(paths[kind]).name
                shutil.copyfile(paths[kind], dst)
                result[kind] = dst
    log.info("exported %d clips in MusicEval layout to %s", len(ds.clips), out)
    return result


def check_invite_names(n: int | None, names: Sequence[str] | None) -> list[str]:
    """Rater names from ``--n`` (``R01``, ``R02``, ...) or a names list, checked."""
    if names is None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise EmoconveyError(f"--n: expected a positive number of raters, got {n!r}")
        return [f"R{i:02d}" for i in range(1, n + 1)]
    else:
        names = [str(x).strip() for x in names]
        if n is not None and n != len(names):
            raise EmoconveyError(f"--n {n} but the names file lists {len(names)} raters")
        if not names or any(not x for x in names):
            raise EmoconveyError("--names: expected one non-empty name per line")
        dup = [x for x in names if names.count(x) > 1]
        if dup:
            raise EmoconveyError(f"--names: {dup[0]!r} is listed twice")
        long = [x for x in names if len(x) > 100]
        if long:
            raise EmoconveyError(f"--names: {long[0][:20]!r}... is longer than 100 characters")
    return list(names)


def invite_raters(
    study: object,
    out: str | Path,
    *,
    n: int | None = None,
    names: Sequence[str] | None = None,
    base_url: str = "http://127.0.0.1:8000",
) -> Path:
    """Create one session per invited rater and write their personal links.

    Parameters
    ----------
    study : OpenStudy
    out : path
        CSV file to write (``rater``, ``link``), owner-readable only.
    n : int, optional
        Number of raters (named ``R01``, ``R02``, ...) when ``names`` is not given.
    names : sequence of str, optional
        Rater names (unique, non-empty); re-inviting a name already invited fails.
    base_url : str
        Where the server is reached; links are ``<base_url>/s/<token>``.

    Returns
    -------
    Path
    """
    from sqlalchemy import select

    from emoconvey.survey.storage import Participant

    names = check_invite_names(n, names)
    if not re.match(r"^https?://[^\s]+$", base_url):
        raise EmoconveyError(f"--base-url: expected http(s)://host[:port][/path], got {base_url!r}")
    base = base_url.rstrip("/")
    out = Path(out)
    if out.exists():
        raise EmoconveyError(f"--out: {str(out)!r} exists; links are written once")
    store = study.store  # type: ignore[attr-defined]
    now = time.time()
    links = []
    with store.write() as s:
        taken = set(
            s.scalars(
                select(Participant.platform_pid).where(
                    Participant.platform_pid.in_([INVITE_PREFIX + x for x in names])
                )
            )
        )
        if taken:
            raise EmoconveyError(
                f"rater(s) already invited: {sorted(t[len(INVITE_PREFIX) :] for t in taken)}"
            )
        for name in names:
            token = secrets.token_urlsafe(32)
            s.add(
                Participant(
                    token=token,
                    csrf=secrets.token_urlsafe(24),
                    platform_pid=INVITE_PREFIX + name,
                    created_at=now,
                    last_seen=now,
                )
            )
            links.append((name, f"{base}/s/{token}"))
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["rater", "link"])
        w.writerows(links)
    log.info("invited %d raters; links in %s", len(links), out)
    return out
