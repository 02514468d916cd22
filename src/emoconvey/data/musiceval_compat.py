"""How the official MusicEval tools read a release folder (for compatibility checks).

The AudioMOS 2025 track-1 baseline and the track-1 winner's loaders (read as facts,
not copied) parse a MusicEval folder with these rules:

* a mos list line is split on ``,``: ``<name>,<MI>,<TA>``, both scores through
  ``float``; the file name ends in ``.wav``;
* the clip's system and prompt come from the file name alone: the literal
  ``audiomos2025-track1-`` is removed wherever it occurs, the system is the text before
  the first ``_``, the prompt the text after it up to the first ``.``;
* prompt texts are read with ``pandas.read_csv(path, sep="\\t")`` (default quoting and
  missing-value rules) from ``prompt_info.txt`` (row ``id == prompt``), except for the
  systems :data:`DEMO_SYSTEMS`, whose text is the ``demo_prompt_info.txt`` row
  ``id == "audiomos2025-track1-<system>_<prompt>.wav"``; both files are always opened;
* the system-level truth is ``system_mos/system_mos_phase1.csv``, header-less
  ``system,MI,TA``, and must list every system that has clips;
* ``answer.txt`` ids are the file name cut at its first ``.``;
* the winner reads ``person_mos/<split>_person_mos.txt`` with
  ``pandas.read_csv(header=None)`` as ``filename,rater_id,MI,TA``.

:func:`official_reading` applies these rules and lists what would make the tools crash;
:func:`emoconvey.data.musiceval.check_compatibility` compares its reading with
emoconvey's.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["DEMO_SYSTEMS", "OFFICIAL_PREFIX", "PROBLEM_COLUMNS", "official_reading"]

OFFICIAL_PREFIX = "audiomos2025-track1-"
"""The literal prefix the official tools strip from every file name."""
DEMO_SYSTEMS: frozenset[str] = frozenset({"S001", "S006", "S013", "S017", "S018", "S033"})
"""Systems whose prompts the official tools look up in ``demo_prompt_info.txt``."""
PROBLEM_COLUMNS = ("file", "line", "tool", "problem")
"""Columns of a compatibility report."""

_BASELINE = "AudioMOS 2025 track-1 baseline"
_WINNER = "track-1 winner's loader"


def _problem(rows: list[dict], file: str, line: int | None, tool: str, problem: str) -> None:
    rows.append({"file": file, "line": line, "tool": tool, "problem": problem})


def _score_lines(path: Path, rows: list[dict], *, rel: str, form: str):
    """Yield (line number, fields) of the lines whose fields 2 and 3 ``float`` accepts."""
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.strip().split(",")
        try:
            float(parts[1]), float(parts[2])
        except (IndexError, ValueError):
            _problem(rows, rel, i, _BASELINE, f"line {line!r} is not {form!r}")
            continue
        yield i, parts


def _read_table(path: Path, rows: list[dict], *, rel: str) -> pd.DataFrame | None:
    if not path.is_file():
        _problem(rows, rel, None, _BASELINE, "missing (the baseline always opens it)")
        return None
    try:
        table = pd.read_csv(path, sep="\t")
    except Exception as exc:
        _problem(rows, rel, None, _BASELINE, f"pandas.read_csv(sep='\\t') fails: {exc}")
        return None
    if not {"id", "text"} <= set(table.columns):
        _problem(rows, rel, 1, _BASELINE, "pandas finds no 'id' and 'text' columns")
        return None
    return table


def _lists(root: Path, rows: list[dict]) -> pd.DataFrame:
    clips = []
    for path in sorted((root / "sets").glob("*_mos_list.txt")):
        rel = f"sets/{path.name}"
        for i, parts in _score_lines(path, rows, rel=rel, form="<name>,MI,TA"):
            name = parts[0]
            if not name.endswith(".wav"):
                _problem(rows, rel, i, _WINNER, f"{name!r} does not end in '.wav'")
            if name.split(".")[0] != name[:-4]:
                _problem(rows, rel, i, _BASELINE,
                         f"answer.txt would name {name!r} {name.split('.')[0]!r} (cut at '.')")
            fn = name.replace(OFFICIAL_PREFIX, "")
            if "_" not in fn:
                _problem(rows, rel, i, _BASELINE, f"{name!r} has no '_' (system_prompt)")
                continue
            clips.append({"name": name, "file": rel, "line": i, "system": fn.split("_")[0],
                          "prompt": fn.split("_")[1].split(".")[0]})
    return pd.DataFrame(clips, columns=["name", "file", "line", "system", "prompt"])


def _system_file(root: Path, systems: set[str], rows: list[dict]) -> None:
    rel = "system_mos/system_mos_phase1.csv"
    path = root / rel
    if not path.is_file():
        _problem(rows, rel, None, _BASELINE, "missing (the official scorer reads it)")
        return
    listed = {parts[0] for _, parts in _score_lines(path, rows, rel=rel,
                                                    form="system,MI,TA (no header)")}
    for s in sorted(systems - listed):
        _problem(rows, rel, None, _BASELINE, f"system {s!r} has clips but no row")


def _person(root: Path, rows: list[dict]) -> None:
    for path in sorted((root / "person_mos").glob("*_person_mos.txt")):
        rel = f"person_mos/{path.name}"
        try:
            df = pd.read_csv(path, header=None, names=["filename", "rater_id", "MI", "TA"])
        except Exception as exc:
            _problem(rows, rel, None, _WINNER, f"pandas.read_csv(header=None) fails: {exc}")
            continue
        for col in ("MI", "TA"):
            if not pd.api.types.is_numeric_dtype(df[col]):
                _problem(rows, rel, None, _WINNER, f"column {col} is not numeric (a header?)")


def official_reading(root: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read ``root`` as the official tools do.

    Returns
    -------
    clips : DataFrame
        ``name`` (file name as listed), ``file``, ``line``, ``system`` and ``prompt`` (as
        the tools parse them) and ``text`` (the prompt they look up; None when missing).
    problems : DataFrame
        :data:`PROBLEM_COLUMNS`: what would make the tools crash or misread.
    """
    root = Path(root)
    rows: list[dict] = []
    clips = _lists(root, rows)
    shared = _read_table(root / "prompt_info.txt", rows, rel="prompt_info.txt")
    demo = _read_table(root / "demo_prompt_info.txt", rows, rel="demo_prompt_info.txt")
    for name, table in (("prompt_info.txt", shared), ("demo_prompt_info.txt", demo)):
        if table is not None and pd.api.types.is_numeric_dtype(table["id"]) and len(table):
            _problem(rows, name, None, _BASELINE,
                     "pandas reads the ids as numbers, so no string id matches")
    texts = []
    for s, p in zip(clips["system"], clips["prompt"], strict=True):
        table, key = (demo, f"{OFFICIAL_PREFIX}{s}_{p}.wav") if s in DEMO_SYSTEMS else (shared, p)
        found = [] if table is None else table.loc[table["id"] == key, "text"].tolist()
        texts.append(found[0] if found else None)
    clips["text"] = texts
    _system_file(root, set(clips["system"]), rows)
    _person(root, rows)
    return clips, pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS))
