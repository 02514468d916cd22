"""Read, validate and write the MusicEval release layout (AudioMOS 2025 track 1).

MusicEval (Liu et al., ICASSP 2025) rates text-to-music clips on two 5-point mean
opinion score (MOS) scales: overall musical impression (``MI``) and textual alignment
(``TA``). Its release, also used as AudioMOS 2025 challenge track 1, is a folder::

    <root>/
        sets/<split>_mos_list.txt      # "<clip id>.wav,MI,TA" per line, no header;
                                       # MI and TA are the clip means
        prompt_info.txt                # tab-separated, header "id<TAB>text", one row
                                       # per prompt id (P001 ...); emoconvey may add a
                                       # third column "source" (manual, MusicCaps, ...)
        demo_prompt_info.txt           # optional, tab-separated, header "id<TAB>text",
                                       # keyed by the full clip file name: the prompts
                                       # of systems only available as demo pages
        system_mos/system_mos_<set>.csv  # "system,MI,TA" per line (optional header)
        wav/<clip id>.wav
        individual_ratings.csv         # emoconvey's addition (the release lacks it):
                                       # header "rater,clip_id,scale,score", one row per
                                       # rating, integer scores 1-5

A clip id is ``[<prefix>-]<system>_<prompt>``, e.g. ``audiomos2025-track1-S002_P044``:
system ``S002``, prompt ``P044``. Neither the system nor the prompt part may contain
``_`` or ``-``.

Every reader error is a :class:`~emoconvey.errors.DataValidationError` naming the file,
the line (1-based, as an editor shows it) and the column (field) that is wrong.
:func:`write_musiceval` writes what :func:`load_musiceval` reads byte for byte.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emoconvey.errors import DataValidationError, EmoconveyError

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
    "clip_id_for",
    "load_musiceval",
    "parse_clip_id",
    "split_by_prompt",
    "system_mos_from_clips",
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
WAV_DIR = "wav"
RATINGS_FILE = "individual_ratings.csv"
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
    """

    clips: pd.DataFrame
    prompts: pd.DataFrame
    system_mos: pd.DataFrame
    ratings: pd.DataFrame | None = None
    root: Path | None = None

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
        fields = raw.split("\t")
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
        elif not _NAME_RE.match(key):
            raise DataValidationError(
                f"expected a prompt id of letters, digits and dots (e.g. 'P044'), found {key!r}",
                file=path,
                row=i,
                column="id",
            )
        if key in seen:
            raise DataValidationError(
                f"duplicated id {key!r} (first on line {seen[key]}); expected each id once",
                file=path,
                row=i,
                column="id",
            )
        seen[key] = i
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
        if not _NAME_RE.match(system):
            raise DataValidationError(
                f"expected a system id (e.g. 'S002'), found {system!r}",
                file=path,
                row=i,
                column="system",
            )
        if system in seen:
            raise DataValidationError(
                f"duplicated system {system!r} (first on line {seen[system]})",
                file=path,
                row=i,
                column="system",
            )
        seen[system] = i
        rows.append(
            {
                "system": system,
                "MI": _score(fields[1], path=path, line=i, column="MI"),
                "TA": _score(fields[2], path=path, line=i, column="TA"),
                "set": set_name,
                "_where": (path, i),
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
        key = (rater, clip, scale)
        if key in seen:
            raise DataValidationError(
                f"rater {rater!r} scored clip {clip!r} on {scale!r} twice (first on line "
                f"{seen[key]}); expected one score per rater, clip and scale",
                file=path,
                row=i,
                column="score",
            )
        seen[key] = i
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
        listed twice (in one or two mos lists), a clip whose prompt is in neither prompt
        file, a system MOS for a system no clip has, a rating of an unknown clip.
    """
    root = Path(root)
    if not root.is_dir():
        raise EmoconveyError(f"MusicEval folder {str(root)!r} does not exist or is not a folder")
    sets_dir = root / SETS_DIR
    lists = sorted(sets_dir.glob(f"*{MOS_LIST_SUFFIX}")) if sets_dir.is_dir() else []
    if not lists:
        raise EmoconveyError(
            f"{str(root)!r}: expected at least one {SETS_DIR}/<split>{MOS_LIST_SUFFIX} file "
            "(a MusicEval-layout folder)"
        )
    clip_rows: list[dict] = []
    seen: dict[str, tuple[Path, int]] = {}
    for path in lists:
        split = path.name[: -len(MOS_LIST_SUFFIX)]
        for row in _read_mos_list(path, split):
            cid = row["clip_id"]
            if cid in seen:
                first_path, first_line = seen[cid]
                raise DataValidationError(
                    f"duplicated clip id {cid!r} (first in {first_path.name} line "
                    f"{first_line}); expected each clip once across all mos lists",
                    file=row["_where"][0],
                    row=row["_where"][1],
                    column="clip",
                )
            seen[cid] = row["_where"]
            clip_rows.append(row)
    if not clip_rows:
        raise DataValidationError(
            "the mos lists hold no clips; expected lines '<clip id>.wav,MI,TA'", file=lists[0]
        )

    prompts_path = root / PROMPTS_FILE
    if not prompts_path.is_file():
        raise EmoconveyError(f"{str(root)!r}: {PROMPTS_FILE} is missing")
    prompt_rows = _read_prompt_table(prompts_path, per_clip=False)
    demo_path = root / DEMO_PROMPTS_FILE
    demo_rows = _read_prompt_table(demo_path, per_clip=True) if demo_path.is_file() else []
    shared_ids = {r["prompt_id"] for r in prompt_rows}
    demo_ids = {r["prompt_id"] for r in demo_rows}
    for r in demo_rows:
        if r["prompt_id"] not in seen:
            raise DataValidationError(
                f"unknown clip {r['prompt_id']!r}: it is in no {SETS_DIR}/*{MOS_LIST_SUFFIX} file",
                file=r["_where"][0],
                row=r["_where"][1],
                column="id",
            )
    for r in clip_rows:
        if r["clip_id"] not in demo_ids and r["prompt_id"] not in shared_ids:
            raise DataValidationError(
                f"unknown prompt {r['prompt_id']!r} of clip {r['clip_id']!r}: it is neither in "
                f"{PROMPTS_FILE} nor is the clip in {DEMO_PROMPTS_FILE}",
                file=r["_where"][0],
                row=r["_where"][1],
                column="clip",
            )

    systems = {r["system"] for r in clip_rows}
    sys_rows: list[dict] = []
    sys_dir = root / SYSTEM_MOS_DIR
    if sys_dir.is_dir():
        for path in sorted(sys_dir.glob("*.csv")):
            stem = path.stem
            set_name = (
                stem[len(SYSTEM_MOS_PREFIX) :] if stem.startswith(SYSTEM_MOS_PREFIX) else stem
            )
            for r in _read_system_mos(path, set_name):
                if r["system"] not in systems:
                    raise DataValidationError(
                        f"unknown system {r['system']!r}: no clip in the mos lists is from it",
                        file=path,
                        row=r["_where"][1],
                        column="system",
                    )
                sys_rows.append(r)

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

    ratings_path = root / RATINGS_FILE
    ratings = _read_ratings(ratings_path, set(seen)) if ratings_path.is_file() else None

    if check_audio:
        for r in clip_rows:
            if not (root / r["audio_file"]).is_file():
                raise DataValidationError(
                    f"audio file {r['audio_file']!r} is missing under {str(root)!r}",
                    file=r["_where"][0],
                    row=r["_where"][1],
                    column="clip",
                )
    log.info("read %d MusicEval clips from %s", len(clips), root)
    return MusicEvalDataset(
        clips=clips, prompts=prompts, system_mos=system_mos, ratings=ratings, root=root
    )


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


def system_mos_from_clips(clips: pd.DataFrame, *, set_name: str = "all") -> pd.DataFrame:
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

    Returns
    -------
    list of Path
        The files written.
    """
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
    written: list[Path] = []

    lines: dict[str, list[str]] = {}
    for cid, mi, ta, s in zip(clips["clip_id"], clips["MI"], clips["TA"], splits, strict=True):
        parse_clip_id(str(cid))
        lines.setdefault(str(s), []).append(
            f"{_check_field(cid, what='clip id', sep=',')}.wav,{_fmt(mi)},{_fmt(ta)}\n"
        )
    for name, body in lines.items():
        path = root / SETS_DIR / f"{name}{MOS_LIST_SUFFIX}"
        path.write_text("".join(body), encoding="utf-8", newline="")
        written.append(path)

    prompts = dataset.prompts
    shared = prompts[~prompts["per_clip"].astype(bool)]
    per_clip = prompts[prompts["per_clip"].astype(bool)]
    with_source = shared["source"].notna().any()
    out = ["id\ttext\tsource\n" if with_source else "id\ttext\n"]
    for pid, text, source in zip(
        shared["prompt_id"], shared["text"], shared["source"], strict=True
    ):
        fields = [
            _check_field(pid, what="prompt id", sep="\t"),
            _check_field(text, what=f"prompt {pid} text", sep="\t"),
        ]
        if with_source:
            src = (
                "" if source is None or (isinstance(source, float) and np.isnan(source)) else source
            )
            fields.append(_check_field(src, what=f"prompt {pid} source", sep="\t"))
        out.append("\t".join(fields) + "\n")
    path = root / PROMPTS_FILE
    path.write_text("".join(out), encoding="utf-8", newline="")
    written.append(path)
    if len(per_clip):
        out = ["id\ttext\n"]
        for pid, text in zip(per_clip["prompt_id"], per_clip["text"], strict=True):
            out.append(
                f"{_check_field(pid, what='clip id', sep=chr(9))}.wav\t"
                f"{_check_field(text, what=f'prompt of {pid}', sep=chr(9))}\n"
            )
        path = root / DEMO_PROMPTS_FILE
        path.write_text("".join(out), encoding="utf-8", newline="")
        written.append(path)

    sm = dataset.system_mos
    if len(sm):
        (root / SYSTEM_MOS_DIR).mkdir(exist_ok=True)
        for set_name in pd.unique(sm["set"]):
            part = sm[sm["set"] == set_name]
            body = "".join(
                f"{_check_field(s, what='system', sep=',')},{_fmt(mi)},{_fmt(ta)}\n"
                for s, mi, ta in zip(part["system"], part["MI"], part["TA"], strict=True)
            )
            path = root / SYSTEM_MOS_DIR / f"{SYSTEM_MOS_PREFIX}{set_name}.csv"
            path.write_text(body, encoding="utf-8", newline="")
            written.append(path)

    if dataset.ratings is not None:
        r = dataset.ratings
        body = [",".join(RATING_COLUMNS) + "\n"]
        for rater, cid, scale, score in zip(
            r["rater"], r["clip_id"], r["scale"], r["score"], strict=True
        ):
            body.append(
                f"{_check_field(rater, what='rater', sep=',')},"
                f"{_check_field(cid, what='clip id', sep=',')},"
                f"{_check_field(scale, what='scale', sep=',')},{int(score)}\n"
            )
        path = root / RATINGS_FILE
        path.write_text("".join(body), encoding="utf-8", newline="")
        written.append(path)

    if audio_from is not None:
        src_root = Path(audio_from)
        (root / WAV_DIR).mkdir(exist_ok=True)
        for rel in clips["audio_file"]:
            src = src_root / rel
            if not src.is_file():
                raise EmoconveyError(f"audio_from: {str(src)!r} does not exist")
            dst = root / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            written.append(dst)
    log.info("wrote %d MusicEval clips to %s", len(clips), root)
    return written
