"""Read, validate and write the MusicEval release layout (AudioMOS 2025 track 1).

MusicEval (Liu et al., ICASSP 2025) rates text-to-music clips on two 5-point mean
opinion score (MOS) scales: overall musical impression (``MI``) and textual alignment
(``TA``). Its release, also used as AudioMOS 2025 challenge track 1, is a folder::

    <root>/
        sets/<split>_mos_list.txt      # "<clip id>.wav,MI,TA" per line, no header;
                                       # MI and TA are the clip means; the full
                                       # release's total_mos_list.txt is the union of
                                       # the others
        prompt_info.txt                # tab-separated, header "id<TAB>text", one row
                                       # per prompt id (P001 ...); emoconvey may add a
                                       # third column "source" (manual, MusicCaps, ...)
        demo_prompt_info.txt           # tab-separated, header "id<TAB>text", keyed by
                                       # the full clip file name: the prompts of systems
                                       # only available as demo pages
        system_mos/system_mos_<set>.csv  # "system,MI,TA" per line (optional header);
                                       # the official scorer reads system_mos_phase1.csv
        person_mos/<split>_person_mos.txt  # full release: "filename,rater_id,MI,TA"
                                       # per rating pair, no header, integers 1-5
        wav/<clip id>.wav
        individual_ratings.csv         # emoconvey's form for ratings that are not
                                       # complete MI+TA pairs: header
                                       # "rater,clip_id,scale,score"

A clip id is ``[<prefix>-]<system>_<prompt>``, e.g. ``audiomos2025-track1-S002_P044``:
system ``S002``, prompt ``P044``. Neither the system nor the prompt part may contain
``_`` or ``-``.

Every reader error is a :class:`~emoconvey.errors.DataValidationError` naming the file,
the line (1-based, as an editor shows it) and the column (field) that is wrong.
:func:`write_musiceval` writes what :func:`load_musiceval` reads byte for byte (score
decimals included). :func:`check_compatibility` says whether the official MusicEval /
AudioMOS 2025 track-1 tools would read a folder as emoconvey does
(:mod:`emoconvey.data.musiceval_compat`), and :func:`to_audiomos_ids` renames a data set
so that they do.
"""

from __future__ import annotations

import csv
import logging
import re
import shutil
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emoconvey._validation import require_first_seen
from emoconvey.data.musiceval_compat import (
    DEMO_SYSTEMS,
    OFFICIAL_PREFIX,
    PROBLEM_COLUMNS,
    official_reading,
)
from emoconvey.errors import DataValidationError, DegenerateDataWarning, EmoconveyError

__all__ = [
    "CLIP_COLUMNS",
    "DEMO_PROMPTS_FILE",
    "MOS_SCALES",
    "PROMPTS_FILE",
    "PROMPT_COLUMNS",
    "RATINGS_FILE",
    "RATING_COLUMNS",
    "SCORE_MAX",
    "SCORE_MIN",
    "SYSTEM_MOS_COLUMNS",
    "MusicEvalDataset",
    "check_compatibility",
    "clip_id_for",
    "load_musiceval",
    "parse_clip_id",
    "prompt_texts",
    "read_eval_list",
    "read_system_mos",
    "release_root",
    "split_by_prompt",
    "system_mos_file",
    "system_mos_from_clips",
    "to_audiomos_ids",
    "write_musiceval",
]

log = logging.getLogger(__name__)

MOS_SCALES: tuple[str, str] = ("MI", "TA")
"""MusicEval's two scales: overall musical impression and textual alignment."""
SCORE_MIN: int = 1
SCORE_MAX: int = 5

SETS_DIR = "sets"
MOS_LIST_SUFFIX = "_mos_list.txt"
PROMPTS_FILE = "prompt_info.txt"
DEMO_PROMPTS_FILE = "demo_prompt_info.txt"
SYSTEM_MOS_DIR = "system_mos"
SYSTEM_MOS_PREFIX = "system_mos_"
OFFICIAL_SYSTEM_SET = "phase1"
"""``system_mos/system_mos_phase1.csv`` is the file the official track-1 scorer reads."""
WAV_DIR = "wav"
RATINGS_FILE = "individual_ratings.csv"
PERSON_MOS_DIR = "person_mos"
PERSON_MOS_SUFFIX = "_person_mos.txt"
TOTAL_LIST = f"total{MOS_LIST_SUFFIX}"
SYSTEMS_FILE = "systems.csv"
DEMO_SOURCE = "demo"

CLIP_COLUMNS = ("clip_id", "system", "prompt_id", "MI", "TA", "split", "audio_file")
"""Columns of :attr:`MusicEvalDataset.clips`."""
PROMPT_COLUMNS = ("prompt_id", "text", "source", "per_clip")
"""Columns of :attr:`MusicEvalDataset.prompts`."""
SYSTEM_MOS_COLUMNS = ("system", "MI", "TA", "set")
"""Columns of :attr:`MusicEvalDataset.system_mos`."""
RATING_COLUMNS = ("rater", "clip_id", "scale", "score")
"""Columns of :attr:`MusicEvalDataset.ratings` and of ``individual_ratings.csv``."""

_CLIP_RE = re.compile(r"^(?:(?P<prefix>.*)-)?(?P<system>[^\s_\-,]+)_(?P<prompt>[^\s_\-,]+)$")
_NAME_RE = re.compile(r"^[A-Za-z0-9.]+$")


@dataclass(frozen=True)
class MusicEvalDataset:
    """A MusicEval-layout data set.

    Attributes
    ----------
    clips : DataFrame
        One row per clip, in file order: ``clip_id`` (without ``.wav``), ``system``,
        ``prompt_id``, ``MI`` and ``TA`` (clip means as released), ``split`` (the name of
        the ``sets/<split>_mos_list.txt`` file the clip is listed in) and ``audio_file``
        (``wav/<clip_id>.wav``, relative to the root).
    prompts : DataFrame
        ``prompt_id``, ``text``, ``source`` (``None`` when unknown) and ``per_clip``.
        Rows of ``prompt_info.txt`` have ``per_clip`` False and are keyed by prompt id;
        rows of ``demo_prompt_info.txt`` have ``per_clip`` True, ``prompt_id`` equal to
        the full clip id and ``source`` ``"demo"``.
    system_mos : DataFrame
        ``system``, ``MI``, ``TA`` as released, and ``set`` (``<set>`` of
        ``system_mos/system_mos_<set>.csv``). Empty when the folder has none.
    ratings : DataFrame or None
        Individual ratings ``rater``, ``clip_id``, ``scale``, ``score`` (integer 1-5),
        or None when the folder has no ``individual_ratings.csv``.
    root : Path or None
        The folder it was read from.
    total_order : tuple of str or None
        Clip ids in the order of ``sets/total_mos_list.txt`` (the union of the split
        lists in the full release), None when the folder has none; the writer then
        writes one back.
    score_decimals : int or None
        The number of decimals every score of the mos lists and system files was written
        with (``4.344000``: 6), so that the writer writes them the same way; None when
        they differ (the writer then writes the shortest exact text).
    """

    clips: pd.DataFrame
    prompts: pd.DataFrame
    system_mos: pd.DataFrame
    ratings: pd.DataFrame | None = None
    root: Path | None = None
    total_order: tuple[str, ...] | None = None
    score_decimals: int | None = None

    @property
    def systems(self) -> list[str]:
        """Systems in order of first appearance in :attr:`clips`."""
        return list(pd.unique(self.clips["system"]))

    @property
    def splits(self) -> list[str]:
        """Split names in order of first appearance in :attr:`clips`."""
        return list(pd.unique(self.clips["split"]))

    def clip_prompts(self) -> pd.DataFrame:
        """The prompt each clip was generated from.

        Returns
        -------
        DataFrame
            ``clip_id``, ``system``, ``prompt_id``, ``text``, ``source``; a clip listed in
            ``demo_prompt_info.txt`` takes that text (and source ``"demo"``), every other
            clip the text of its prompt id. ``text`` is None when neither file has it.
        """
        per_clip = self.prompts[self.prompts["per_clip"]].set_index("prompt_id")
        shared = self.prompts[~self.prompts["per_clip"]].set_index("prompt_id")
        out = self.clips.loc[:, ["clip_id", "system", "prompt_id"]].copy()
        texts, sources = [], []
        for cid, pid in zip(out["clip_id"], out["prompt_id"], strict=True):
            if cid in per_clip.index:
                row = per_clip.loc[cid]
            elif pid in shared.index:
                row = shared.loc[pid]
            else:
                texts.append(None)
                sources.append(None)
                continue
            texts.append(row["text"])
            sources.append(row["source"])
        out["text"] = texts
        out["source"] = sources
        return out

    def __repr__(self) -> str:
        n_ratings = (
            "no individual ratings"
            if self.ratings is None
            else (f"{len(self.ratings)} ratings by {self.ratings['rater'].nunique()} raters")
        )
        return (
            f"MusicEvalDataset({len(self.clips)} clips, {len(self.systems)} systems, "
            f"{(~self.prompts['per_clip']).sum()} prompts, splits {self.splits}, {n_ratings})"
        )


# ----------------------------------------------------------------------------- helpers


def parse_clip_id(clip_id: str) -> tuple[str, str]:
    """Split a clip id (with or without ``.wav``) into ``(system, prompt_id)``.

    Raises
    ------
    EmoconveyError
        When the id is not ``[<prefix>-]<system>_<prompt>``.
    """
    stem = clip_id[:-4] if clip_id.endswith(".wav") else clip_id
    m = _CLIP_RE.match(stem)
    if m is None:
        raise EmoconveyError(
            f"clip id {clip_id!r}: expected '[<prefix>-]<system>_<prompt>', e.g. "
            "'audiomos2025-track1-S002_P044'"
        )
    return m["system"], m["prompt"]


def clip_id_for(system: str, prompt_id: str, *, prefix: str = "") -> str:
    """The clip id of ``system``'s clip for ``prompt_id`` (``<prefix>-<system>_<prompt>``).

    ``system`` and ``prompt_id`` may hold letters, digits and dots only.
    """
    for what, value in (("system", system), ("prompt_id", prompt_id)):
        if not isinstance(value, str) or not _NAME_RE.match(value):
            raise EmoconveyError(
                f"{what}: expected letters, digits and dots only (the clip id joins them "
                f"with '_'), found {value!r}"
            )
    if prefix and (any(c in prefix for c in ",\t\n\r") or prefix.endswith("-")):
        raise EmoconveyError(f"prefix: expected no comma, tab or newline, found {prefix!r}")
    return f"{prefix}-{system}_{prompt_id}" if prefix else f"{system}_{prompt_id}"


def _fmt(value: float) -> str:
    """Shortest text that reads back as the same float (what ``repr`` gives)."""
    return repr(float(value))


def _tab_fields(line: str) -> list[str]:
    """Tab-separated fields, ``"``-quoted ones unquoted as pandas' default reader does."""
    if '"' not in line:
        return line.split("\t")
    return next(csv.reader([line], delimiter="\t", quotechar='"', doublequote=True))


def _tab_field(text: str) -> str:
    """``text`` as a tab-separated field that pandas' default reader reads back exactly.

    A field beginning with ``"`` is quoted (``"`` doubled); others are written as they
    are (a ``"`` inside an unquoted field is literal for pandas and :func:`_tab_fields`).
    """
    if text.startswith('"'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _read_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataValidationError(f"expected UTF-8 text ({exc})", file=path) from exc
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def _score(text: str, *, path: Path, line: int, column: str, integer: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    ok = np.isfinite(value) and SCORE_MIN <= value <= SCORE_MAX
    if integer:
        ok = ok and value == round(value)
    if not ok:
        kind = "an integer score" if integer else "a score"
        raise DataValidationError(
            f"expected {kind} from {SCORE_MIN} to {SCORE_MAX}, found {text!r}",
            file=path,
            row=line,
            column=column,
        )
    return value


# ----------------------------------------------------------------------------- readers


def _read_mos_list(path: Path, split: str) -> list[dict]:
    rows = []
    for i, raw in enumerate(_read_lines(path), start=1):
        if not raw.strip():
            continue
        fields = raw.split(",")
        if len(fields) != 3:
            raise DataValidationError(
                f"expected 3 comma-separated fields '<clip id>.wav,MI,TA', found {len(fields)}",
                file=path,
                row=i,
            )
        name = fields[0].strip()
        if not name.endswith(".wav"):
            raise DataValidationError(
                f"expected a wav file name '<clip id>.wav', found {name!r}",
                file=path,
                row=i,
                column="clip",
            )
        clip_id = name[:-4]
        try:
            system, prompt = parse_clip_id(clip_id)
        except EmoconveyError as exc:
            raise DataValidationError(str(exc), file=path, row=i, column="clip") from None
        mi = _score(fields[1].strip(), path=path, line=i, column="MI")
        ta = _score(fields[2].strip(), path=path, line=i, column="TA")
        rows.append(
            {
                "clip_id": clip_id,
                "system": system,
                "prompt_id": prompt,
                "MI": mi,
                "TA": ta,
                "split": split,
                "audio_file": f"{WAV_DIR}/{clip_id}.wav",
                "_where": (path, i),
                "_text": fields[1].strip(),
                "_text2": fields[2].strip(),
            }
        )
    return rows


def _read_prompt_table(path: Path, *, per_clip: bool) -> list[dict]:
    lines = _read_lines(path)
    if not lines:
        raise DataValidationError(
            "the file is empty; expected a header 'id<TAB>text'", file=path, row=1
        )
    header = lines[0].split("\t")
    allowed = (["id", "text"], ["id", "text", "source"])
    if [h.strip() for h in header] not in allowed:
        raise DataValidationError(
            f"expected the tab-separated header 'id<TAB>text' (or 'id<TAB>text<TAB>source'), "
            f"found {lines[0]!r}",
            file=path,
            row=1,
        )
    has_source = len(header) == 3
    rows, seen = [], {}
    for i, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        fields = _tab_fields(raw)
        if len(fields) != len(header):
            raise DataValidationError(
                f"expected {len(header)} tab-separated fields, found {len(fields)}",
                file=path,
                row=i,
            )
        key = fields[0].strip()
        if per_clip and key.endswith(".wav"):
            key = key[:-4]
        if not key:
            raise DataValidationError("expected a non-empty id", file=path, row=i, column="id")
        if per_clip:
            try:
                parse_clip_id(key)
            except EmoconveyError as exc:
                raise DataValidationError(str(exc), file=path, row=i, column="id") from None
        else:
            _require_name(key, "a prompt id of letters, digits and dots (e.g. 'P044')",
                          path=path, line=i, column="id")
        require_first_seen(
            seen,
            key,
            i,
            f"duplicated id {key!r}",
            expected="expected each id once",
            name=path,
            column="id",
        )
        source = fields[2] if has_source else None
        rows.append(
            {
                "prompt_id": key,
                "text": fields[1],
                "source": DEMO_SOURCE if per_clip else (source or None),
                "per_clip": per_clip,
                "_where": (path, i),
            }
        )
    return rows


def _require_name(value: str, expected: str, *, path: Path, line: int, column: str) -> None:
    """Raise unless ``value`` is a name of letters, digits and dots."""
    if not _NAME_RE.match(value):
        raise DataValidationError(
            f"expected {expected}, found {value!r}", file=path, row=line, column=column
        )


def _read_system_mos(path: Path, set_name: str) -> list[dict]:
    rows, seen = [], {}
    for i, raw in enumerate(_read_lines(path), start=1):
        if not raw.strip():
            continue
        fields = [f.strip() for f in raw.split(",")]
        if i == 1 and fields == ["system", "MI", "TA"]:
            continue
        if len(fields) != 3:
            raise DataValidationError(
                f"expected 3 comma-separated fields 'system,MI,TA', found {len(fields)}",
                file=path,
                row=i,
            )
        system = fields[0]
        _require_name(system, "a system id (e.g. 'S002')", path=path, line=i, column="system")
        require_first_seen(
            seen,
            system,
            i,
            f"duplicated system {system!r}",
            name=path,
            column="system",
        )
        rows.append(
            {
                "system": system,
                "MI": _score(fields[1], path=path, line=i, column="MI"),
                "TA": _score(fields[2], path=path, line=i, column="TA"),
                "set": set_name,
                "_where": (path, i),
                "_text": (fields[1], fields[2]),
            }
        )
    return rows


def _read_ratings(path: Path, known: set[str]) -> pd.DataFrame:
    lines = _read_lines(path)
    header = ",".join(RATING_COLUMNS)
    if not lines or [h.strip() for h in lines[0].split(",")] != list(RATING_COLUMNS):
        raise DataValidationError(
            f"expected the header {header!r}, found {lines[0] if lines else ''!r}",
            file=path,
            row=1,
        )
    raters, clips, scales, scores = [], [], [], []
    seen: dict[tuple[str, str, str], int] = {}
    for i, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        fields = [f.strip() for f in raw.split(",")]
        if len(fields) != 4:
            raise DataValidationError(
                f"expected 4 comma-separated fields {header!r}, found {len(fields)}",
                file=path,
                row=i,
            )
        rater, clip, scale, score = fields
        for col, value in (("rater", rater), ("clip_id", clip), ("scale", scale)):
            if not value:
                raise DataValidationError(
                    "expected a non-empty value", file=path, row=i, column=col
                )
        if clip.endswith(".wav"):
            clip = clip[:-4]
        if clip not in known:
            raise DataValidationError(
                f"unknown clip {clip!r}: it is in no sets/*{MOS_LIST_SUFFIX} file",
                file=path,
                row=i,
                column="clip_id",
            )
        require_first_seen(
            seen,
            (rater, clip, scale),
            i,
            f"rater {rater!r} scored clip {clip!r} on {scale!r} twice",
            expected="expected one score per rater, clip and scale",
            name=path,
            column="score",
        )
        raters.append(rater)
        clips.append(clip)
        scales.append(scale)
        scores.append(int(_score(score, path=path, line=i, column="score", integer=True)))
    return pd.DataFrame(
        {
            "rater": pd.Series(raters, dtype=object),
            "clip_id": pd.Series(clips, dtype=object),
            "scale": pd.Series(scales, dtype=object),
            "score": pd.Series(scores, dtype=np.int64),
        }
    )


def _read_person_mos(path: Path, known: set[str]) -> list[dict]:
    """``person_mos/<split>_person_mos.txt``: header-less ``filename,rater_id,MI,TA``."""
    rows: list[dict] = []
    seen: dict[tuple[str, str], int] = {}
    for i, raw in enumerate(_read_lines(path), start=1):
        if not raw.strip():
            continue
        fields = [f.strip() for f in raw.split(",")]
        if len(fields) != 4:
            raise DataValidationError(
                f"expected 4 comma-separated fields 'filename,rater_id,MI,TA', found "
                f"{len(fields)}", file=path, row=i,
            )
        name, rater = fields[0], fields[1]
        clip = name[:-4] if name.endswith(".wav") else name
        if clip not in known:
            raise DataValidationError(
                f"unknown clip {clip!r}: it is in no {SETS_DIR}/*{MOS_LIST_SUFFIX} file",
                file=path, row=i, column="filename",
            )
        if not rater:
            raise DataValidationError("expected a rater id", file=path, row=i, column="rater_id")
        require_first_seen(
            seen,
            (rater, clip),
            i,
            f"rater {rater!r} scored clip {clip!r} twice",
            expected="expected one line per rater and clip",
            name=path,
            column="rater_id",
        )
        for scale, text in zip(MOS_SCALES, fields[2:], strict=True):
            score = _score(text, path=path, line=i, column=scale, integer=True)
            rows.append({"rater": rater, "clip_id": clip, "scale": scale, "score": int(score)})
    return rows


def _ratings_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rater": pd.Series([r["rater"] for r in rows], dtype=object),
            "clip_id": pd.Series([r["clip_id"] for r in rows], dtype=object),
            "scale": pd.Series([r["scale"] for r in rows], dtype=object),
            "score": pd.Series([r["score"] for r in rows], dtype=np.int64),
        }
    )


def _decimals(tokens: list[str]) -> int | None:
    """The number of decimals every token shares (``4.344000`` -> 6), else None."""
    counts = {len(t.split(".")[1]) if re.fullmatch(r"\d+\.\d+", t) else -1 for t in tokens}
    return counts.pop() if len(counts) == 1 and -1 not in counts else None


def _read_all_lists(root: Path) -> tuple[list[dict], dict[str, tuple[Path, int]], list[str]]:
    """Clips of every mos list; ``total_mos_list.txt`` beside others is their union."""
    sets_dir = root / SETS_DIR
    lists = sorted(sets_dir.glob(f"*{MOS_LIST_SUFFIX}")) if sets_dir.is_dir() else []
    if not lists:
        raise EmoconveyError(
            f"{str(root)!r}: expected at least one {SETS_DIR}/<split>{MOS_LIST_SUFFIX} file "
            "(a MusicEval-layout folder)"
        )
    total = [p for p in lists if p.name == TOTAL_LIST]
    parts = [p for p in lists if p.name != TOTAL_LIST] or total
    total = total if parts is not total else []
    clip_rows: list[dict] = []
    seen: dict[str, tuple[Path, int]] = {}
    by_id: dict[str, dict] = {}
    for path in parts:
        for row in _read_mos_list(path, path.name[: -len(MOS_LIST_SUFFIX)]):
            cid = row["clip_id"]
            if cid in seen:
                first_path, first_line = seen[cid]
                raise DataValidationError(
                    f"duplicated clip id {cid!r} (first in {first_path.name} line "
                    f"{first_line}); expected each clip once across the split lists",
                    file=row["_where"][0], row=row["_where"][1], column="clip",
                )
            seen[cid] = row["_where"]
            by_id[cid] = row
            clip_rows.append(row)
    total_order: list[str] = []
    for path in total:
        for row in _read_mos_list(path, "total"):
            cid = row["clip_id"]
            total_order.append(cid)
            if cid not in by_id:
                seen[cid] = row["_where"]
                by_id[cid] = row
                clip_rows.append(row)
            elif (by_id[cid]["MI"], by_id[cid]["TA"]) != (row["MI"], row["TA"]):
                raise DataValidationError(
                    f"clip {cid!r} has other scores than in {by_id[cid]['_where'][0].name}; "
                    f"expected {TOTAL_LIST} to repeat the split lists",
                    file=path, row=row["_where"][1], column="clip",
                )
    if not clip_rows:
        raise DataValidationError(
            "the mos lists hold no clips; expected lines '<clip id>.wav,MI,TA'", file=lists[0]
        )
    return clip_rows, seen, total_order


def _read_prompt_files(root: Path, seen: Mapping[str, object]) -> tuple[list[dict], list[dict]]:
    prompts_path = root / PROMPTS_FILE
    if not prompts_path.is_file():
        raise EmoconveyError(f"{str(root)!r}: {PROMPTS_FILE} is missing")
    prompt_rows = _read_prompt_table(prompts_path, per_clip=False)
    demo_path = root / DEMO_PROMPTS_FILE
    demo_rows = _read_prompt_table(demo_path, per_clip=True) if demo_path.is_file() else []
    for r in demo_rows:
        if r["prompt_id"] not in seen:
            warnings.warn(
                f"{demo_path}, line {r['_where'][1]}: clip {r['prompt_id']!r} is in no "
                f"{SETS_DIR}/*{MOS_LIST_SUFFIX} file; its prompt is kept but unused",
                DegenerateDataWarning, stacklevel=3,
            )
    return prompt_rows, demo_rows


def _read_system_files(root: Path, systems: set[str]) -> list[dict]:
    sys_rows: list[dict] = []
    sys_dir = root / SYSTEM_MOS_DIR
    for path in sorted(sys_dir.glob("*.csv")) if sys_dir.is_dir() else []:
        stem = path.stem
        set_name = stem[len(SYSTEM_MOS_PREFIX):] if stem.startswith(SYSTEM_MOS_PREFIX) else stem
        for r in _read_system_mos(path, set_name):
            if r["system"] not in systems:
                warnings.warn(
                    f"{path}, line {r['_where'][1]}: system {r['system']!r} has no clip in "
                    "the mos lists; its score is kept but scores nothing",
                    DegenerateDataWarning, stacklevel=3,
                )
            sys_rows.append(r)
    return sys_rows


def _read_rating_files(root: Path, known: set[str]) -> pd.DataFrame | None:
    person = sorted((root / PERSON_MOS_DIR).glob(f"*{PERSON_MOS_SUFFIX}"))
    ratings_path = root / RATINGS_FILE
    if person:
        if ratings_path.is_file():
            log.warning("%s: %s/ holds the individual ratings; %s is ignored", root,
                        PERSON_MOS_DIR, RATINGS_FILE)
        return _ratings_frame([r for p in person for r in _read_person_mos(p, known)])
    return _read_ratings(ratings_path, known) if ratings_path.is_file() else None


def load_musiceval(root: str | Path, *, check_audio: bool = False) -> MusicEvalDataset:
    """Read and validate a MusicEval-layout folder.

    Parameters
    ----------
    root : str or Path
        The folder holding ``sets/``, ``prompt_info.txt`` and so on (see the module
        docstring for the layout).
    check_audio : bool, default False
        Also require ``wav/<clip id>.wav`` to exist for every clip.

    Returns
    -------
    MusicEvalDataset

    Raises
    ------
    EmoconveyError
        The folder or a required file is missing.
    DataValidationError
        A file is malformed (naming file, line and column): a score outside 1-5, a clip id
        listed twice (in one or two split lists, or with other scores in
        ``total_mos_list.txt``), a clip whose prompt is in neither prompt file, a rating
        of an unknown clip.

    Warns
    -----
    DegenerateDataWarning
        A demo prompt of a clip no list holds, or a system score of a system without
        clips (the official tools accept both; the rows are kept).
    """
    root = Path(root)
    if not root.is_dir():
        raise EmoconveyError(f"MusicEval folder {str(root)!r} does not exist or is not a folder")
    clip_rows, seen, total_order = _read_all_lists(root)
    prompt_rows, demo_rows = _read_prompt_files(root, seen)
    shared_ids = {r["prompt_id"] for r in prompt_rows}
    demo_ids = {r["prompt_id"] for r in demo_rows}
    for r in clip_rows:
        if r["clip_id"] not in demo_ids and r["prompt_id"] not in shared_ids:
            raise DataValidationError(
                f"unknown prompt {r['prompt_id']!r} of clip {r['clip_id']!r}: it is neither in "
                f"{PROMPTS_FILE} nor is the clip in {DEMO_PROMPTS_FILE}",
                file=r["_where"][0], row=r["_where"][1], column="clip",
            )
    sys_rows = _read_system_files(root, {r["system"] for r in clip_rows})
    clips = pd.DataFrame([{k: r[k] for k in CLIP_COLUMNS} for r in clip_rows])
    clips = clips.astype({"MI": float, "TA": float})
    prompts = pd.DataFrame(
        [{k: r[k] for k in PROMPT_COLUMNS} for r in prompt_rows + demo_rows],
        columns=list(PROMPT_COLUMNS),
    ).astype({"per_clip": bool})
    system_mos = pd.DataFrame(
        [{k: r[k] for k in SYSTEM_MOS_COLUMNS} for r in sys_rows],
        columns=list(SYSTEM_MOS_COLUMNS),
    ).astype({"MI": float, "TA": float})
    ratings = _read_rating_files(root, set(seen))
    if check_audio:
        for r in clip_rows:
            if not (root / r["audio_file"]).is_file():
                raise DataValidationError(
                    f"audio file {r['audio_file']!r} is missing under {str(root)!r}",
                    file=r["_where"][0], row=r["_where"][1], column="clip",
                )
    log.info("read %d MusicEval clips from %s", len(clips), root)
    return MusicEvalDataset(
        clips=clips, prompts=prompts, system_mos=system_mos, ratings=ratings, root=root,
        total_order=tuple(total_order) or None,
        score_decimals=_decimals([t for r in clip_rows for t in (r["_text"], r["_text2"])]
                                 + [t for r in sys_rows for t in r["_text"]]),
    )


def system_mos_file(root: str | Path) -> Path | None:
    """The system MOS file of a release that the official scorer would read.

    ``system_mos/system_mos_phase1.csv`` when present, else the only ``*.csv`` of
    ``system_mos/``; None when there is none (or several and no ``phase1``).
    """
    folder = Path(root) / SYSTEM_MOS_DIR
    official = folder / f"{SYSTEM_MOS_PREFIX}{OFFICIAL_SYSTEM_SET}.csv"
    if official.is_file():
        return official
    found = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    return found[0] if len(found) == 1 else None


def read_system_mos(path: str | Path) -> pd.DataFrame:
    """Read one ``system,MI,TA`` file (header optional).

    Returns
    -------
    DataFrame
        ``system``, ``MI``, ``TA``, ``set`` in file order.
    """
    path = Path(path)
    if not path.is_file():
        raise EmoconveyError(f"system MOS file {str(path)!r} does not exist")
    stem = path.stem
    set_name = stem[len(SYSTEM_MOS_PREFIX):] if stem.startswith(SYSTEM_MOS_PREFIX) else stem
    rows = _read_system_mos(path, set_name)
    return pd.DataFrame(
        [{k: r[k] for k in SYSTEM_MOS_COLUMNS} for r in rows], columns=list(SYSTEM_MOS_COLUMNS)
    ).astype({"MI": float, "TA": float})


def release_root(path: str | Path) -> Path | None:
    """The release folder of a ``<root>/sets/<split>_mos_list.txt`` path (None otherwise)."""
    path = Path(path)
    if path.is_dir() and (path / SETS_DIR).is_dir():
        return path
    if path.parent.name == SETS_DIR and path.name.endswith(MOS_LIST_SUFFIX):
        return path.parent.parent
    return None


# ----------------------------------------------------------------------------- splits


def split_by_prompt(
    clips: pd.DataFrame, fractions: Mapping[str, float], *, seed: int = 0
) -> pd.Series:
    """Assign clips to splits so that all clips of a prompt land in the same split.

    The distinct prompt ids (sorted) are shuffled with ``numpy.random.default_rng(seed)``
    and cut into consecutive groups whose sizes are the largest-remainder rounding of
    ``fractions`` (normalised to sum to 1) times the number of prompts.

    Parameters
    ----------
    clips : DataFrame
        With ``clip_id`` and ``prompt_id``.
    fractions : mapping of str to float
        Split name to positive weight, e.g. ``{"train": 0.8, "dev": 0.1, "test": 0.1}``.
    seed : int, default 0

    Returns
    -------
    Series
        Split name per clip, indexed like ``clips``.
    """
    if not isinstance(clips, pd.DataFrame) or not {"clip_id", "prompt_id"} <= set(clips.columns):
        raise EmoconveyError("clips: expected a DataFrame with columns 'clip_id' and 'prompt_id'")
    if not isinstance(fractions, Mapping) or not fractions:
        raise EmoconveyError("fractions: expected a non-empty mapping of split name to weight")
    names = list(fractions)
    weights = []
    for name in names:
        w = fractions[name]
        if not isinstance(name, str) or not _NAME_RE.match(name.replace("_", "")):
            raise EmoconveyError(f"fractions: split name {name!r} must be letters, digits, '_'")
        if isinstance(w, bool) or not isinstance(w, int | float) or not np.isfinite(w) or w < 0:
            raise EmoconveyError(f"fractions[{name!r}]: expected a weight >= 0, found {w!r}")
        weights.append(float(w))
    total = sum(weights)
    if total <= 0:
        raise EmoconveyError("fractions: expected at least one positive weight")
    prompts = np.array(sorted(pd.unique(clips["prompt_id"].astype(str))), dtype=object)
    order = np.random.default_rng(seed).permutation(len(prompts))
    exact = np.array(weights) / total * len(prompts)
    counts = np.floor(exact).astype(int)
    remainder = len(prompts) - counts.sum()
    for j in np.argsort(-(exact - counts), kind="stable")[:remainder]:
        counts[j] += 1
    assignment: dict[str, str] = {}
    start = 0
    for name, n in zip(names, counts, strict=True):
        for p in prompts[order[start : start + n]]:
            assignment[p] = name
        start += n
    return clips["prompt_id"].astype(str).map(assignment)


def system_mos_from_clips(
    clips: pd.DataFrame, *, set_name: str = OFFICIAL_SYSTEM_SET
) -> pd.DataFrame:
    """System MOS as the mean of the clip means of each system (MusicEval's definition).

    Returns
    -------
    DataFrame
        ``system``, ``MI``, ``TA``, ``set`` in order of first appearance of each system.
    """
    if not isinstance(clips, pd.DataFrame) or not {"system", *MOS_SCALES} <= set(clips.columns):
        raise EmoconveyError("clips: expected a DataFrame with columns 'system', 'MI', 'TA'")
    out = clips.groupby("system", sort=False)[list(MOS_SCALES)].mean().reset_index()
    out["set"] = set_name
    return out.loc[:, list(SYSTEM_MOS_COLUMNS)]


# ----------------------------------------------------------------------------- writer


def _check_field(value: object, *, what: str, sep: str) -> str:
    text = str(value)
    if any(c in text for c in (sep, "\n", "\r")):
        name = "tab" if sep == "\t" else "comma"
        raise EmoconveyError(f"{what}: {text!r} holds a {name} or a line break; cannot write it")
    return text


def write_musiceval(
    dataset: MusicEvalDataset,
    root: str | Path,
    *,
    split: Mapping[str, float] | Mapping[str, str] | None = None,
    seed: int = 0,
    audio_from: str | Path | None = None,
    ids: str = "keep",
) -> list[Path]:
    """Write ``dataset`` as a MusicEval-layout folder (see the module docstring).

    Parameters
    ----------
    dataset : MusicEvalDataset
    root : str or Path
        Output folder (created; existing files of the layout are overwritten).
    split : None, mapping of split name to weight, or mapping of clip id to split name
        None keeps ``dataset.clips["split"]``; weights (numbers) make a seeded split by
        prompt with :func:`split_by_prompt`; strings name each clip's split explicitly.
    seed : int, default 0
        Seed of the split by prompt.
    audio_from : str or Path, optional
        Folder to copy each clip's ``audio_file`` from (relative paths resolved there).
    ids : {"keep", "audiomos"}, default "keep"
        ``keep`` writes the dataset's clip ids; ``audiomos`` renames systems ``S002``,
        ``S003``, ... and prompts ``P001``, ... (:func:`to_audiomos_ids`), writes the
        mapping to ``sets/systems.csv`` and refuses to ship a folder the official tools
        would misread.

    Returns
    -------
    list of Path
        The files written.

    Notes
    -----
    ``demo_prompt_info.txt`` is always written (header only when no clip has a per-clip
    prompt: the baseline opens it unconditionally). Scores are written with
    ``dataset.score_decimals`` decimals when set (``4.344000`` stays ``4.344000``), else
    as the shortest exact text. Individual ratings go to ``person_mos/`` when every
    rater gave both MI and TA to each clip they rated, else to ``individual_ratings.csv``.
    A prompt beginning with ``"`` is quoted so that pandas reads it back exactly. At the
    end :func:`check_compatibility` runs on the folder: its problems are logged as
    warnings with ``ids="keep"`` and raised with ``ids="audiomos"``.
    """
    if ids not in ("keep", "audiomos"):
        raise EmoconveyError(f"ids: expected 'keep' or 'audiomos', got {ids!r}")
    mapping = None
    audio_src = None
    if ids == "audiomos" and isinstance(dataset, MusicEvalDataset):
        audio_src = dataset.clips["audio_file"].tolist()
        dataset, mapping = to_audiomos_ids(dataset)
    if not isinstance(dataset, MusicEvalDataset):
        raise EmoconveyError(f"dataset: expected a MusicEvalDataset, got {type(dataset).__name__}")
    clips = dataset.clips
    missing = [c for c in CLIP_COLUMNS if c not in clips.columns]
    if missing:
        raise EmoconveyError(f"dataset.clips: missing column(s) {missing}")
    dup = clips["clip_id"].duplicated()
    if dup.any():
        raise EmoconveyError(f"dataset.clips: duplicated clip id {clips['clip_id'][dup].iloc[0]!r}")
    if split is None:
        splits = clips["split"].astype(str)
    elif isinstance(split, Mapping) and split and all(isinstance(v, str) for v in split.values()):
        splits = clips["clip_id"].map(split)
        if splits.isna().any():
            raise EmoconveyError(
                f"split: no split given for clip {clips['clip_id'][splits.isna()].iloc[0]!r}"
            )
    elif isinstance(split, Mapping):
        splits = split_by_prompt(clips, split, seed=seed)
    else:
        raise EmoconveyError(
            "split: expected None, a mapping of split name to weight, or of clip id to split"
        )
    for name in pd.unique(splits):
        if not re.match(r"^[A-Za-z0-9_.]+$", str(name)):
            raise EmoconveyError(f"split: name {name!r} must be letters, digits, '_' or '.'")
    for scale in MOS_SCALES:
        values = clips[scale].astype(float)
        bad = ~values.between(SCORE_MIN, SCORE_MAX)
        if bad.any():
            raise EmoconveyError(
                f"dataset.clips: clip {clips['clip_id'][bad].iloc[0]!r} has {scale} "
                f"{float(values[bad].iloc[0])!r}; expected {SCORE_MIN}-{SCORE_MAX}"
            )

    root = Path(root)
    (root / SETS_DIR).mkdir(parents=True, exist_ok=True)
    written = _write_lists(dataset, root, splits)
    if mapping is not None:
        path = root / SETS_DIR / SYSTEMS_FILE
        mapping.to_csv(path, index=False, lineterminator="\n")
        written.append(path)
    written += _write_prompts(dataset.prompts, root)
    written += _write_system_files(dataset, root)
    if dataset.ratings is not None:
        written += _write_ratings(dataset.ratings, root, dict(zip(clips["clip_id"], splits,
                                                                   strict=True)))
    if audio_from is not None:
        src = audio_src if audio_src is not None else clips["audio_file"].tolist()
        written += _copy_audio(src, clips["audio_file"].tolist(), Path(audio_from), root)
    log.info("wrote %d MusicEval clips to %s", len(clips), root)
    problems = check_compatibility(root)
    if len(problems):
        text = "; ".join(f"{r.file}: {r.problem}" for r in problems.head(5).itertuples())
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        if ids == "audiomos":
            raise EmoconveyError(f"the official MusicEval tools would misread {root}: {text}{more}")
        log.warning("the official MusicEval tools would misread %s (write with ids="
                    "'audiomos' for a folder they read): %s%s", root, text, more)
    return written


def _fmt_score(value: float, decimals: int | None) -> str:
    if decimals is not None:
        text = f"{float(value):.{decimals}f}"
        if float(text) == float(value):
            return text
    return _fmt(value)


def _write_lists(dataset: MusicEvalDataset, root: Path, splits: pd.Series) -> list[Path]:
    clips, dec = dataset.clips, dataset.score_decimals
    lines: dict[str, list[str]] = {}
    by_id: dict[str, str] = {}
    for cid, mi, ta, s in zip(clips["clip_id"], clips["MI"], clips["TA"], splits, strict=True):
        parse_clip_id(str(cid))
        line = (f"{_check_field(cid, what='clip id', sep=',')}.wav,{_fmt_score(mi, dec)},"
                f"{_fmt_score(ta, dec)}\n")
        by_id[str(cid)] = line
        if not (dataset.total_order is not None and str(s) == "total"):
            lines.setdefault(str(s), []).append(line)
    if dataset.total_order is not None:
        order = [c for c in dataset.total_order if c in by_id]
        order += [c for c in by_id if c not in set(order)]
        lines["total"] = [by_id[c] for c in order]
    return _write_parts(root / SETS_DIR, lines, MOS_LIST_SUFFIX)


def _write_parts(folder: Path, parts: Mapping[str, list[str]], suffix: str) -> list[Path]:
    """Write each part's lines to ``folder/<name><suffix>``; return the paths."""
    written = []
    for name, body in parts.items():
        path = folder / f"{name}{suffix}"
        path.write_text("".join(body), encoding="utf-8", newline="")
        written.append(path)
    return written


def _write_prompts(prompts: pd.DataFrame, root: Path) -> list[Path]:
    shared = prompts[~prompts["per_clip"].astype(bool)]
    per_clip = prompts[prompts["per_clip"].astype(bool)]
    with_source = shared["source"].notna().any()
    out = ["id\ttext\tsource\n" if with_source else "id\ttext\n"]
    for pid, text, source in zip(
        shared["prompt_id"], shared["text"], shared["source"], strict=True
    ):
        fields = [
            _check_field(pid, what="prompt id", sep="\t"),
            _tab_field(_check_field(text, what=f"prompt {pid} text", sep="\t")),
        ]
        if with_source:
            src = (
                "" if source is None or (isinstance(source, float) and np.isnan(source)) else source
            )
            fields.append(_tab_field(_check_field(src, what=f"prompt {pid} source", sep="\t")))
        out.append("\t".join(fields) + "\n")
    path = root / PROMPTS_FILE
    path.write_text("".join(out), encoding="utf-8", newline="")
    demo = ["id\ttext\n"]
    for pid, text in zip(per_clip["prompt_id"], per_clip["text"], strict=True):
        demo.append(
            f"{_check_field(pid, what='clip id', sep=chr(9))}.wav\t"
            f"{_tab_field(_check_field(text, what=f'prompt of {pid}', sep=chr(9)))}\n"
        )
    demo_path = root / DEMO_PROMPTS_FILE
    demo_path.write_text("".join(demo), encoding="utf-8", newline="")
    return [path, demo_path]


def _write_system_files(dataset: MusicEvalDataset, root: Path) -> list[Path]:
    sm, dec = dataset.system_mos, dataset.score_decimals
    if not len(sm):
        return []
    (root / SYSTEM_MOS_DIR).mkdir(exist_ok=True)
    written = []
    for set_name in pd.unique(sm["set"]):
        part = sm[sm["set"] == set_name]
        body = "".join(
            f"{_check_field(s, what='system', sep=',')},{_fmt_score(mi, dec)},"
            f"{_fmt_score(ta, dec)}\n"
            for s, mi, ta in zip(part["system"], part["MI"], part["TA"], strict=True)
        )
        path = root / SYSTEM_MOS_DIR / f"{SYSTEM_MOS_PREFIX}{set_name}.csv"
        path.write_text(body, encoding="utf-8", newline="")
        written.append(path)
    return written


def _write_ratings(r: pd.DataFrame, root: Path, split_of: Mapping[str, str]) -> list[Path]:
    """``person_mos/<split>_person_mos.txt`` when every pair has MI and TA, else the CSV."""
    pairs: dict[tuple[str, str], dict[str, int]] = {}
    for rater, cid, scale, score in zip(r["rater"], r["clip_id"], r["scale"], r["score"],
                                        strict=True):
        pairs.setdefault((str(rater), str(cid)), {})[str(scale)] = int(score)
    if pairs and all(set(v) == set(MOS_SCALES) for v in pairs.values()):
        (root / PERSON_MOS_DIR).mkdir(exist_ok=True)
        files: dict[str, list[str]] = {}
        for (rater, cid), sc in pairs.items():
            files.setdefault(str(split_of.get(cid, "total")), []).append(
                f"{_check_field(cid, what='clip id', sep=',')}.wav,"
                f"{_check_field(rater, what='rater', sep=',')},{sc['MI']},{sc['TA']}\n"
            )
        return _write_parts(root / PERSON_MOS_DIR, files, PERSON_MOS_SUFFIX)
    body = [",".join(RATING_COLUMNS) + "\n"]
    for rater, cid, scale, score in zip(r["rater"], r["clip_id"], r["scale"], r["score"],
                                        strict=True):
        body.append(
            f"{_check_field(rater, what='rater', sep=',')},"
            f"{_check_field(cid, what='clip id', sep=',')},"
            f"{_check_field(scale, what='scale', sep=',')},{int(score)}\n"
        )
    path = root / RATINGS_FILE
    path.write_text("".join(body), encoding="utf-8", newline="")
    return [path]


def _copy_audio(sources: list[str], targets: list[str], src_root: Path, root: Path) -> list[Path]:
    (root / WAV_DIR).mkdir(exist_ok=True)
    written = []
    for rel, rel_dst in zip(sources, targets, strict=True):
        src = src_root / rel
        if not src.is_file():
            raise EmoconveyError(f"audio_from: {str(src)!r} does not exist")
        dst = root / rel_dst
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        written.append(dst)
    return written


# ----------------------------------------------------------------------------- official tools


def to_audiomos_ids(dataset: MusicEvalDataset) -> tuple[MusicEvalDataset, pd.DataFrame]:
    """The dataset with ids that the official MusicEval tools parse correctly.

    Systems become ``S002``, ``S003``, ... in order of appearance, skipping the demo ids
    :data:`~emoconvey.data.musiceval_compat.DEMO_SYSTEMS` (whose prompts the tools
    would look up elsewhere); every distinct prompt text of a clip becomes a prompt
    ``P001``, ``P002``, ... of ``prompt_info.txt`` (per-clip demo prompts included, with
    source ``demo``); clip ids are ``audiomos2025-track1-<system>_<prompt>``.

    Returns
    -------
    dataset : MusicEvalDataset
        Renamed clips, prompts, system MOS (systems without clips dropped) and ratings.
    systems : DataFrame
        ``system_id`` (new) and ``system`` (original), written as ``sets/systems.csv``.
    """
    free = (f"S{n:03d}" for n in range(2, 1000) if f"S{n:03d}" not in DEMO_SYSTEMS)
    sys_map = {s: next(free) for s in dataset.systems}
    cp = dataset.clip_prompts()
    per_clip = set(dataset.prompts.loc[dataset.prompts["per_clip"].astype(bool), "prompt_id"])
    prompt_of: dict[tuple[str, str], str] = {}
    prompt_rows, clip_map, new_prompt = [], {}, []
    for cid, pid, text, source in zip(cp["clip_id"], cp["prompt_id"], cp["text"], cp["source"],
                                      strict=True):
        key = ("clip", cid) if cid in per_clip else ("shared", pid)
        if key not in prompt_of:
            prompt_of[key] = f"P{len(prompt_of) + 1:03d}"
            prompt_rows.append({"prompt_id": prompt_of[key], "text": text,
                                "source": source, "per_clip": False})
        new_prompt.append(prompt_of[key])
    clips = dataset.clips.copy()
    clips["system"] = clips["system"].map(sys_map)
    clips["prompt_id"] = new_prompt
    clips["clip_id"] = [f"{OFFICIAL_PREFIX}{s}_{p}" for s, p in
                        zip(clips["system"], clips["prompt_id"], strict=True)]
    clip_map = dict(zip(dataset.clips["clip_id"], clips["clip_id"], strict=True))
    clips["audio_file"] = [f"{WAV_DIR}/{c}.wav" for c in clips["clip_id"]]
    sm = dataset.system_mos[dataset.system_mos["system"].isin(sys_map)].copy()
    sm["system"] = sm["system"].map(sys_map)
    ratings = None
    if dataset.ratings is not None:
        ratings = dataset.ratings.assign(clip_id=dataset.ratings["clip_id"].map(clip_map))
    out = MusicEvalDataset(
        clips=clips,
        prompts=pd.DataFrame(prompt_rows, columns=list(PROMPT_COLUMNS)).astype(
            {"per_clip": bool}),
        system_mos=sm.reset_index(drop=True), ratings=ratings,
        total_order=None if dataset.total_order is None else tuple(
            clip_map[c] for c in dataset.total_order if c in clip_map),
        score_decimals=dataset.score_decimals,
    )
    systems = pd.DataFrame({"system_id": list(sys_map.values()), "system": list(sys_map)})
    return out, systems


def check_compatibility(root: str | Path) -> pd.DataFrame:
    """What the official MusicEval tools would misread in the folder ``root``.

    Reads ``root`` as the AudioMOS 2025 track-1 baseline and the track-1 winner's
    loaders do (:func:`emoconvey.data.musiceval_compat.official_reading`: file names
    parsed by the literal prefix ``audiomos2025-track1-``, the first ``_`` and the first
    ``.``; prompts through pandas, demo systems S001, S006, S013, S017, S018, S033 via
    ``demo_prompt_info.txt``; system truth from ``system_mos/system_mos_phase1.csv``) and
    compares each clip's system and prompt text with emoconvey's reading
    (:func:`load_musiceval`).

    Returns
    -------
    DataFrame
        ``file``, ``line``, ``tool``, ``problem``: one row per problem (empty when the
        official tools read the folder as emoconvey does).
    """
    root = Path(root)
    clips, problems = official_reading(root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        ds = load_musiceval(root)
    mine = ds.clip_prompts().set_index("clip_id")
    rows = []
    for r in clips.itertuples():
        cid = r.name[:-4] if r.name.endswith(".wav") else r.name
        if cid not in mine.index:
            continue
        if r.system != mine.at[cid, "system"]:
            rows.append({"file": r.file, "line": r.line, "tool": "official tools",
                         "problem": f"clip {cid!r}: system read as {r.system!r}, emoconvey "
                                    f"reads {mine.at[cid, 'system']!r}"})
        if r.text != mine.at[cid, "text"]:
            rows.append({"file": r.file, "line": r.line, "tool": "official tools",
                         "problem": f"clip {cid!r}: prompt text read as {r.text!r}, "
                                    f"emoconvey reads {mine.at[cid, 'text']!r}"})
    extra = pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS))
    return pd.concat([problems, extra], ignore_index=True) if rows else problems


def read_eval_list(path: str | Path) -> pd.DataFrame:
    """An evaluation list (``eval_list.txt``: one clip id per line, no scores).

    Lines may also be ``<name>.wav`` or carry scores (only the first field is used).

    Returns
    -------
    DataFrame
        ``clip_id`` and ``audio_file``: ``<release>/wav/<clip id>.wav`` for a list in
        ``<release>/sets/``, else ``wav/<clip id>.wav`` beside the list (absolute).
    """
    path = Path(path)
    if not path.is_file():
        raise EmoconveyError(f"evaluation list {str(path)!r} does not exist")
    root = path.parent.parent if path.parent.name == SETS_DIR else path.parent
    ids = []
    for i, raw in enumerate(_read_lines(path), start=1):
        if not raw.strip():
            continue
        name = raw.split(",")[0].strip()
        cid = name[:-4] if name.endswith(".wav") else name
        if not cid:
            raise DataValidationError("expected a clip id", file=path, row=i)
        ids.append(cid)
    if not ids:
        raise DataValidationError("the list holds no clip id", file=path)
    return pd.DataFrame({"clip_id": ids,
                         "audio_file": [str((root / WAV_DIR / f"{c}.wav").resolve())
                                        for c in ids]})


def prompt_texts(clip_ids: list[str], prompts: str | Path) -> list[str | None]:
    """The prompt text of each clip from a ``prompt_info.txt`` (and the
    ``demo_prompt_info.txt`` beside it), by the official tools' rule.

    A clip listed in ``demo_prompt_info.txt`` takes that text; every other clip the text
    of its prompt id: the id without ``audiomos2025-track1-``, after the first ``_`` and
    up to the next ``.``. None where neither file has it.
    """
    prompts = Path(prompts)
    if not prompts.is_file():
        raise EmoconveyError(f"--prompts: {str(prompts)!r} does not exist")
    shared = {r["prompt_id"]: r["text"] for r in _read_prompt_table(prompts, per_clip=False)}
    demo_path = prompts.parent / DEMO_PROMPTS_FILE
    demo = ({r["prompt_id"]: r["text"] for r in _read_prompt_table(demo_path, per_clip=True)}
            if demo_path.is_file() else {})
    out: list[str | None] = []
    for cid in clip_ids:
        cid = cid[:-4] if cid.endswith(".wav") else cid
        rest = cid.replace(OFFICIAL_PREFIX, "").split("_")
        pid = rest[1].split(".")[0] if len(rest) > 1 else None
        out.append(demo.get(cid, shared.get(pid) if pid is not None else None))
    return out
