"""MusicEval / AudioMOS metrics at utterance and system level, with bootstrap CIs.

The VoiceMOS / AudioMOS challenges (Huang et al., 2022; Liu et al., 2025, MusicEval) score
a predictor by four numbers, at two levels:

* **utterance level**: over clips, truth :math:`y_i` and prediction :math:`\\hat y_i`;
* **system level**: over systems, prediction :math:`\\bar{\\hat y}_s` the **mean over the
  system's clips**, truth :math:`\\bar y_s` either the mean over the system's scored clips
  (``system_truth="clip-mean"``) or the system score of the release's file
  ``system_mos/system_mos_phase1.csv`` (``system_truth="file"``), which is what the
  official AudioMOS 2025 track-1 scorer uses; that file may average more clips (e.g.
  train and dev) than the ones scored, so the two truths give different numbers. Every
  record says which one it used (key ``system_truth``). The systems scored are those
  with predicted clips, in sorted order, as in the official scorer.

With :math:`n` pairs,

* ``MSE`` :math:`= \\frac1n\\sum (y_i - \\hat y_i)^2`;
* ``LCC``: Pearson's linear correlation coefficient;
* ``SRCC``: Spearman's rank correlation (Pearson's r of the mid-ranks);
* ``KTAU``: Kendall's tau-b,
  :math:`\\tau_b = (P - Q)/\\sqrt{(P + Q + T_y)(P + Q + T_{\\hat y})}` with concordant pairs
  :math:`P`, discordant pairs :math:`Q` and pairs tied in only one variable :math:`T`.

Each comes with a percentile bootstrap 95 % confidence interval (Efron & Tibshirani, 1993):
``n_boot`` resamples with replacement of the clips (utterance level) or of the systems
(system level), seeded. Records have the keys of :data:`RECORD_KEYS` plus
``<METRIC>_ci_low`` and ``<METRIC>_ci_high``; undefined values (a constant column, fewer
than two pairs) are ``NaN`` in Python and ``null`` in JSON.
"""

from __future__ import annotations

import json
import logging
import math
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from emoconvey._json import json_records, json_value
from emoconvey.errors import DataValidationError, DegenerateDataWarning, EmoconveyError

__all__ = [
    "METRIC_NAMES",
    "RECORD_KEYS",
    "SYSTEM_TRUTHS",
    "audiomos_system_of",
    "metrics_table",
    "read_scores",
    "records_to_json",
    "score_frames",
    "score_predictions",
    "system_of",
    "system_truth_table",
]

log = logging.getLogger(__name__)

METRIC_NAMES: tuple[str, ...] = ("MSE", "LCC", "SRCC", "KTAU")
"""The four challenge metrics, in the order every table uses."""

RECORD_KEYS: tuple[str, ...] = ("target", "level", "split", "n", *METRIC_NAMES)
"""Keys every metrics record has (CI keys and ``system_truth`` come in addition)."""

SYSTEM_TRUTHS: tuple[str, ...] = ("file", "clip-mean")
"""Where system-level truth comes from: the release's system MOS file, or clip means."""

_MUSICEVAL_ID = re.compile(r"^(?:audiomos2025-track1-)?(?P<system>S\d+)_(?P<prompt>P\d+)$")
_SCORE_ID = re.compile(r"^(?:audiomos2025-track1-)?(?P<system>[^_]+)_(?P<prompt>.+)$")
_AUDIO_SUFFIX = re.compile(r"\.(?:wav|flac|mp3|ogg)$", re.IGNORECASE)


def _point(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """The four metrics of one sample (NaN where undefined)."""
    n = len(y)
    out = {"MSE": float(np.mean((y - p) ** 2)) if n else math.nan}
    if n < 2 or np.ptp(y) == 0 or np.ptp(p) == 0:
        out.update(LCC=math.nan, SRCC=math.nan, KTAU=math.nan)
        return out
    out["LCC"] = float(stats.pearsonr(y, p).statistic)
    out["SRCC"] = float(stats.spearmanr(y, p).statistic)
    out["KTAU"] = float(stats.kendalltau(y, p, variant="b").statistic)
    return out


def _rowwise_pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * b).sum(axis=1) / den
    r[den == 0] = np.nan
    return np.clip(r, -1.0, 1.0)


def _bootstrap(
    y: np.ndarray, p: np.ndarray, *, n_boot: int, seed: int, ci: float
) -> dict[str, float]:
    """Percentile bootstrap CIs of the four metrics (resampling pairs)."""
    keys = [f"{m}_ci_{s}" for m in METRIC_NAMES for s in ("low", "high")]
    n = len(y)
    if n_boot == 0 or n < 3:
        return dict.fromkeys(keys, math.nan)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    yb, pb = y[idx], p[idx]
    boots = {
        "MSE": np.mean((yb - pb) ** 2, axis=1),
        "LCC": _rowwise_pearson(yb, pb),
        "SRCC": _rowwise_pearson(
            stats.rankdata(yb, axis=1), stats.rankdata(pb, axis=1)
        ),
    }
    kt = np.empty(n_boot)
    for b in range(n_boot):
        if np.ptp(yb[b]) == 0 or np.ptp(pb[b]) == 0:
            kt[b] = np.nan
        else:
            kt[b] = stats.kendalltau(yb[b], pb[b], variant="b").statistic
    boots["KTAU"] = kt
    alpha = (1.0 - ci) / 2.0
    out: dict[str, float] = {}
    for m in METRIC_NAMES:
        vals = boots[m][np.isfinite(boots[m])]
        if len(vals) < max(10, n_boot // 2):
            lo = hi = math.nan
        else:
            lo, hi = (float(v) for v in np.quantile(vals, [alpha, 1.0 - alpha]))
        out[f"{m}_ci_low"], out[f"{m}_ci_high"] = lo, hi
    return out


def _check_options(n_boot: object, ci: object) -> tuple[int, float]:
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 0:
        raise EmoconveyError(f"n_boot: expected a non-negative integer, got {n_boot!r}")
    if not isinstance(ci, float | int) or not 0.0 < float(ci) < 1.0:
        raise EmoconveyError(f"ci: expected a confidence level between 0 and 1, got {ci!r}")
    return int(n_boot), float(ci)


def score_predictions(
    y_true: Sequence[float] | np.ndarray,
    y_pred: Sequence[float] | np.ndarray,
    systems: Sequence[object] | np.ndarray | None = None,
    *,
    target: str = "score",
    split: str = "",
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    system_truth: Mapping[str, float] | None = None,
) -> list[dict[str, object]]:
    """MSE, LCC, SRCC and KTAU of one target, utterance level and (with ``systems``) system level.

    Parameters
    ----------
    y_true, y_pred : array-like of float
        Truth and prediction per clip, same length, finite.
    systems : array-like, optional
        Each clip's system. Predicted system scores are the means over each system's
        clips; true ones too unless ``system_truth`` is given.
    target : str
        Name written into the records.
    split : str
        Name of the evaluation split written into the records.
    n_boot : int, default 1000
        Bootstrap resamples (0 skips the CIs, which are then NaN).
    ci : float, default 0.95
        Confidence level of the percentile intervals.
    seed : int, default 0
        Seed of the bootstrap.
    system_truth : mapping of str to float, optional
        The true score of each system (e.g. from ``system_mos_phase1.csv``), used instead
        of the clip means, as the official scorer does; every system with clips must
        have one.

    Returns
    -------
    list of dict
        One record for ``level="utterance"`` and, with ``systems``, one for
        ``level="system"``; keys :data:`RECORD_KEYS`, ``system_truth`` (``"file"`` or
        ``"clip-mean"``) and the CI bounds.

    Warns
    -----
    DegenerateDataWarning
        When a correlation is undefined (fewer than two pairs or a constant column).
    """
    n_boot, ci = _check_options(n_boot, ci)
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float)
    if y.ndim != 1 or y.shape != p.shape:
        raise EmoconveyError(
            f"y_true and y_pred: expected two 1-d arrays of the same length, got shapes "
            f"{y.shape} and {p.shape}"
        )
    if not (np.isfinite(y).all() and np.isfinite(p).all()):
        raise EmoconveyError(f"target {target!r}: y_true and y_pred must be finite numbers")
    if len(y) == 0:
        raise EmoconveyError(f"target {target!r}: no clips to score")
    levels: list[tuple[str, np.ndarray, np.ndarray]] = [("utterance", y, p)]
    if systems is not None:
        sys_arr = np.asarray(systems, dtype=object)
        if sys_arr.shape != y.shape:
            raise EmoconveyError(
                f"systems: expected one system per clip ({len(y)}), got {sys_arr.shape[0]}"
            )
        frame = pd.DataFrame({"system": sys_arr.astype(str), "y": y, "p": p})
        means = frame.groupby("system", sort=True)[["y", "p"]].mean()
        if system_truth is not None:
            lacking = [s for s in means.index if s not in system_truth]
            if lacking:
                raise EmoconveyError(
                    f"target {target!r}: no system truth for system(s) "
                    f"{', '.join(map(repr, lacking[:3]))} (the system MOS file lists "
                    f"{len(system_truth)} system(s)); use the clip means instead "
                    "(--system-truth clip-mean)"
                )
            means["y"] = [float(system_truth[s]) for s in means.index]
        levels.append(("system", means["y"].to_numpy(), means["p"].to_numpy()))
    records: list[dict[str, object]] = []
    for level, yy, pp in levels:
        point = _point(yy, pp)
        if any(math.isnan(point[m]) for m in ("LCC", "SRCC", "KTAU")):
            warnings.warn(
                f"target {target!r}, {level} level: correlations undefined for {len(yy)} "
                "pair(s) with a constant column; reported as NaN",
                DegenerateDataWarning,
                stacklevel=2,
            )
        rec: dict[str, object] = {
            "target": target, "level": level, "split": split, "n": len(yy), **point,
            "system_truth": "clip-mean" if system_truth is None else "file",
        }
        rec.update(_bootstrap(yy, pp, n_boot=n_boot, seed=seed, ci=ci))
        records.append(rec)
    return records


def system_of(clip_id: str) -> str | None:
    """System of a MusicEval clip id, by the one rule of
    :func:`emoconvey.data.musiceval.parse_clip_id` (the baseline's).

    ``[<prefix>-]<system>_<prompt>`` gives ``<system>`` for any prefix (so metrics and
    data agree); other ids with a ``_`` give the text before the first ``_`` (after
    ``audiomos2025-track1-``, e.g. AImoclips-style ``<system>_<intent>_<n>``); None when
    there is no ``_``. Used for the ids of truth and prediction files; audio file names
    use the stricter :func:`audiomos_system_of`.
    """
    from emoconvey.data.musiceval import parse_clip_id

    name = _AUDIO_SUFFIX.sub("", Path(str(clip_id)).name)
    try:
        return parse_clip_id(name)[0]
    except EmoconveyError:
        m = _SCORE_ID.match(name)
        return None if m is None else m.group("system")


def audiomos_system_of(clip_id: str) -> str | None:
    """System of an AudioMOS-style id ``[audiomos2025-track1-]S<nnn>_P<nnn>`` (else None).

    Nothing is guessed from free-form names (``the_love_song`` has no system).
    """
    m = _MUSICEVAL_ID.match(_AUDIO_SUFFIX.sub("", Path(str(clip_id)).name))
    return None if m is None else m.group("system")


def _clip_key(values: pd.Series) -> pd.Series:
    return values.astype(str).map(lambda v: _AUDIO_SUFFIX.sub("", Path(v.strip()).name))


def read_scores(path: str | Path, *, targets: Sequence[str] = ("MI", "TA")) -> pd.DataFrame:
    """Read a truth or prediction file.

    Two formats are recognised:

    * header-less challenge lists: a MusicEval ``*_mos_list.txt`` (``clipid.wav,MI,TA``) or
      an AudioMOS ``answer.txt`` (``wavID,MI,TA``, no extension); the numeric columns are
      named after ``targets`` in order;
    * a CSV with a header: a clip column (``clip_id``, ``audio_file``, ``clip`` or
      ``wavID``), optionally ``system``, and one numeric column per target (any other
      numeric column is taken as a target too).

    Returns
    -------
    DataFrame
        ``clip_id`` (file name without folder and extension), ``system`` (from the file or
        parsed from the clip id, missing if neither), then the target columns.
    """
    path = Path(path)
    if not path.is_file():
        raise EmoconveyError(f"{path}: file not found")
    text = path.read_text(encoding="utf-8-sig")
    lines = [ln for ln in text.splitlines()]
    if not any(ln.strip() for ln in lines):
        raise DataValidationError("the file is empty; expected one line per clip", file=path)
    first = next(ln for ln in lines if ln.strip()).split(",")
    header = len(first) < 2 or not _is_number(first[1])
    if header:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=True)
        raw.columns = [str(c).strip() for c in raw.columns]
        id_col = next(
            (c for c in ("clip_id", "audio_file", "clip", "wavID", "wav_id") if c in raw), None
        )
        if id_col is None:
            raise DataValidationError(
                "expected a clip column named clip_id, audio_file, clip or wavID; found "
                + ", ".join(map(repr, raw.columns)),
                file=path,
            )
        value_cols = [c for c in raw.columns if c not in (id_col, "system", "prompt_id",
                                                           "intent", "split", "text")]
        out = pd.DataFrame({"clip_id": _clip_key(raw[id_col])})
        out["system"] = raw["system"].str.strip() if "system" in raw else None
        line_of = np.arange(len(raw)) + 2
        for col in value_cols:
            num = pd.to_numeric(raw[col].str.strip(), errors="coerce")
            if num.isna().all():
                continue  # a text column (e.g. intent names): not a score
            out[col] = num.to_numpy()
        body = raw
    else:
        rows = []
        line_of_list = []
        for i, ln in enumerate(lines, start=1):
            if not ln.strip():
                continue
            rows.append([c.strip() for c in ln.split(",")])
            line_of_list.append(i)
        width = len(rows[0])
        for row, ln_no in zip(rows, line_of_list, strict=True):
            if len(row) != width:
                raise DataValidationError(
                    f"expected {width} comma-separated fields like the first line, found "
                    f"{len(row)}",
                    file=path,
                    row=ln_no,
                )
        if width - 1 > len(targets):
            raise DataValidationError(
                f"found {width - 1} score columns but only {len(targets)} target name(s) "
                f"({', '.join(targets)})",
                file=path,
            )
        value_cols = list(targets[: width - 1])
        body = pd.DataFrame(rows, columns=["clip_id", *value_cols])
        out = pd.DataFrame({"clip_id": _clip_key(body["clip_id"])})
        out["system"] = None
        line_of = np.asarray(line_of_list)
        for col in value_cols:
            out[col] = pd.to_numeric(body[col], errors="coerce").to_numpy()
    score_cols = [c for c in out.columns if c not in ("clip_id", "system")]
    if not score_cols:
        raise DataValidationError("no numeric score column found", file=path)
    for col in score_cols:
        bad = ~np.isfinite(out[col].to_numpy(dtype=float))
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise DataValidationError(
                f"expected a number, found {str(body[col].iloc[pos]).strip()!r}",
                file=path,
                row=int(line_of[pos]),
                column=col,
            )
    empty = out["clip_id"].eq("")
    if empty.any():
        pos = int(np.flatnonzero(empty.to_numpy())[0])
        raise DataValidationError("empty clip id", file=path, row=int(line_of[pos]))
    dup = out["clip_id"].duplicated()
    if dup.any():
        pos = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataValidationError(
            f"clip {out['clip_id'].iloc[pos]!r} appears twice; expected one line per clip",
            file=path,
            row=int(line_of[pos]),
        )
    missing_sys = out["system"].isna() | out["system"].astype(str).eq("")
    if missing_sys.any():
        out.loc[missing_sys, "system"] = out.loc[missing_sys, "clip_id"].map(system_of)
    return out.reset_index(drop=True)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def score_frames(
    truth: pd.DataFrame,
    pred: pd.DataFrame,
    *,
    targets: Iterable[str] | None = None,
    split: str = "",
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    system_truth: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Score a prediction table against a truth table (both as from :func:`read_scores`).

    Clips are matched on ``clip_id``; the system is taken from the truth (then from the
    prediction). Every truth clip must have a prediction; predictions of clips absent
    from the truth are ignored (logged). System level is computed when every clip has a
    system; its truth is the clip means, or with ``system_truth`` (a table ``system``
    plus one column per target, e.g. the release's ``system_mos_phase1.csv`` as read by
    :func:`emoconvey.data.musiceval.read_system_mos`) that table, as the official
    scorer does.

    Returns
    -------
    DataFrame
        One row per target and level, columns :data:`RECORD_KEYS` then the CI bounds.
    """
    for name, df in (("truth", truth), ("pred", pred)):
        if not isinstance(df, pd.DataFrame) or "clip_id" not in df:
            raise EmoconveyError(f"{name}: expected a DataFrame with a clip_id column")
    common = [c for c in truth.columns if c not in ("clip_id", "system") and c in pred.columns]
    if targets is None:
        targets = common
    targets = list(targets)
    if not targets:
        raise EmoconveyError(
            "no target in common between truth (" + ", ".join(map(str, truth.columns[2:]))
            + ") and predictions (" + ", ".join(map(str, pred.columns[2:])) + ")"
        )
    for t in targets:
        for name, df in (("truth", truth), ("pred", pred)):
            if t not in df:
                raise EmoconveyError(f"{name}: no column for target {t!r}")
    lacking = ~truth["clip_id"].isin(pred["clip_id"])
    if lacking.any():
        ids = truth.loc[lacking, "clip_id"].head(3).tolist()
        raise EmoconveyError(
            f"{int(lacking.sum())} clip(s) of the truth have no prediction, e.g. "
            + ", ".join(map(repr, ids))
        )
    extra = int((~pred["clip_id"].isin(truth["clip_id"])).sum())
    if extra:
        log.info("ignoring %d predicted clip(s) absent from the truth", extra)
    merged = truth.merge(pred, on="clip_id", suffixes=("", "_pred"), how="left")
    system = merged["system"]
    if "system_pred" in merged:
        system = system.where(system.notna(), merged["system_pred"])
    have_systems = bool(system.notna().all())
    if not have_systems:
        log.warning("some clips have no system: scoring the utterance level only")
    records = []
    for t in targets:
        truth_map = None
        if system_truth is not None:
            if t not in system_truth or "system" not in system_truth:
                raise EmoconveyError(f"system_truth: expected columns 'system' and {t!r}")
            truth_map = dict(zip(system_truth["system"].astype(str),
                                 system_truth[t].astype(float), strict=True))
        records += score_predictions(
            merged[t].to_numpy(float),
            merged[f"{t}_pred"].to_numpy(float),
            system.to_numpy() if have_systems else None,
            target=t, split=split, n_boot=n_boot, ci=ci, seed=seed, system_truth=truth_map,
        )
    return metrics_table(records)


def system_truth_table(
    truth: str | Path, mode: str = "auto", *, system_mos: str | Path | None = None
) -> pd.DataFrame | None:
    """The system-level truth to score ``truth`` with (None: the clip means).

    Parameters
    ----------
    truth : path
        The truth file (e.g. ``<root>/sets/test_mos_list.txt``).
    mode : {"auto", "file", "clip-mean"}
        ``auto`` is ``file`` when ``system_mos`` is given or ``truth`` lies in a release
        folder with a system MOS file (what the official scorer reads), else
        ``clip-mean``.
    system_mos : path, optional
        The system MOS file; default the release's
        (:func:`emoconvey.data.musiceval.system_mos_file`).
    """
    from emoconvey.data.musiceval import read_system_mos, release_root, system_mos_file

    if mode not in ("auto", *SYSTEM_TRUTHS):
        raise EmoconveyError(
            f"--system-truth: expected file or clip-mean, got {mode!r}"
        )
    if mode == "clip-mean":
        return None
    path = Path(system_mos) if system_mos is not None else None
    if path is None:
        root = release_root(truth)
        path = None if root is None else system_mos_file(root)
    if path is None:
        if mode == "file":
            raise EmoconveyError(
                f"--system-truth file: no system MOS file for {str(truth)!r} (expected "
                "<release>/system_mos/system_mos_phase1.csv, or give --system-mos)"
            )
        return None
    log.info("system-level truth from %s", path)
    return read_system_mos(path)


def metrics_table(records: Iterable[dict[str, object]]) -> pd.DataFrame:
    """Records as a DataFrame with columns :data:`RECORD_KEYS` first."""
    df = pd.DataFrame(list(records))
    if df.empty:
        return pd.DataFrame(columns=list(RECORD_KEYS))
    rest = [c for c in df.columns if c not in RECORD_KEYS]
    return df[[*RECORD_KEYS, *rest]]


def records_to_json(records: pd.DataFrame | Iterable[dict[str, object]]) -> str:
    """JSON text of metrics records: plain numbers, ``null`` for NaN (:func:`json_records`)."""
    if isinstance(records, pd.DataFrame):
        clean = json_records(records)
    else:
        clean = [{str(k): json_value(v) for k, v in row.items()} for row in records]
    return json.dumps(clean, indent=2, allow_nan=False)
