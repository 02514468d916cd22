"""The output folder of a generation run: files, manifest and resume.

Layout (the AImoclips release layout plus the full-length clips)::

    OUT/music_clips/<System>/<System>_<intent>_<n>.wav   the crops
    OUT/full/<System>/<System>_<intent>_<n>.wav          the full clips
    OUT/manifest.csv                                     one row per clip (MANIFEST_COLUMNS)

Files are written as 16-bit PCM WAV at the native rate and channel count, first under a
temporary name (``.<stem>.<pid>.tmp.wav``) and then renamed, so a crash never leaves a file that
looks finished. Rows are appended to the manifest as clips are finished, and the
manifest is rewritten sorted (system, intent, index) at the end of a run. Several
systems share one ``OUT`` and one manifest.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emoconvey._files import replace_atomically, sha256_file
from emoconvey._json import json_value
from emoconvey.errors import EmoconveyError
from emoconvey.generate.protocol import (
    CLIP_LEVEL,
    CropWindow,
    crop_start,
    output_flags,
    relpath,
)

__all__ = [
    "MANIFEST_COLUMNS",
    "MANIFEST_NAME",
    "finish_clip",
    "read_manifest",
    "remove_temp_files",
    "sha256_file",
    "typed_manifest",
    "write_manifest",
]

log = logging.getLogger(__name__)

MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS: tuple[str, ...] = (
    "system",          # the system name (folder and file prefix)
    "backend",         # registry name, or "import"
    "checkpoint",      # hub id or folder; "" for imports
    "revision",        # commit hash when known
    "intent",          # the intent word
    "index",           # 1..N within (system, intent)
    "prompt",          # the text given to the model or service
    "instrumental",    # whether a service's instrumental switch was on
    "base_seed",       # --seed
    "seed",            # the model's sampling seed (empty for imports)
    "crop_seed",       # the crop's seed
    "requested_seconds",  # length asked for (empty for imports)
    "full_seconds",    # length of the full clip
    "crop_seconds",    # --crop
    "crop_start",      # crop start in the full clip, seconds
    "crop_end",        # crop end, seconds
    "sample_rate",     # Hz, native
    "channels",        # native channel count
    "file",            # the crop, relative to OUT (what survey init reads)
    "full_file",       # the full clip, relative to OUT
    "sha256",          # SHA-256 of the crop file
    "full_sha256",     # SHA-256 of the full file
    "params",          # generation parameters, JSON
    "versions",        # library versions, JSON
    "device",          # cpu, cuda, ...
    "wall_seconds",    # generation time of the clip (batch time / batch size)
    "flags",           # ';'-separated: nan, near_silent, clipped, shorter_than_asked, ...
)
_KEY = ["system", "intent", "index"]


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    """``(channels, samples)`` float audio as interleaved ``(samples, channels)`` int16.

    Samples are clipped to [-1, 1], scaled by 32767 and rounded to nearest.
    """
    scaled = np.clip(audio.T, -1.0, 1.0) * np.float32(32767.0)
    np.rint(scaled, out=scaled)
    return scaled.astype("<i2")


def wav_parts(pcm: np.ndarray, sample_rate: int) -> tuple[bytes, memoryview]:
    """Header and data of a 16-bit PCM WAV file of ``pcm`` (from :func:`to_pcm16`),
    without copying the samples."""
    pcm = np.ascontiguousarray(pcm)
    channels = pcm.shape[1]
    data = memoryview(pcm).cast("B")
    block = 2 * channels
    header = b"".join([
        b"RIFF", struct.pack("<I", 36 + data.nbytes), b"WAVE",
        b"fmt ", struct.pack("<IHHIIHH", 16, 1, channels, sample_rate, sample_rate * block,
                             block, 16),
        b"data", struct.pack("<I", data.nbytes),
    ])
    return header, data


def wav_bytes(audio: np.ndarray, sample_rate: int) -> bytes:
    """A 16-bit PCM WAV file of ``(channels, samples)`` float ``audio``."""
    header, data = wav_parts(to_pcm16(audio), sample_rate)
    return header + data.tobytes()


def _write_wav(path: Path, pcm: np.ndarray, sample_rate: int) -> str:
    """Write ``pcm`` as WAV under a temporary name, rename it, return its SHA-256."""
    header, data = wav_parts(pcm, sample_rate)
    h = hashlib.sha256(header)
    h.update(data)
    _atomic_write(path, header, data)
    return h.hexdigest()


def _atomic_write(path: Path, *chunks: Any) -> None:
    """Write ``chunks`` (bytes-like) under a temporary name, then rename it to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)

    replace_atomically(path, write)


def remove_temp_files(out: Path, system: str) -> int:
    """Delete temporary files a crashed run left in ``system``'s folders."""
    n = 0
    for top in ("music_clips", "full"):
        # ".<stem>.<pid>.tmp.wav" (replace_atomically), ".<name>.tmp" (older runs)
        for tmp in (out / top / system).glob(".*.tmp*"):
            tmp.unlink()
            n += 1
    if n:
        log.info("removed %d half-written file(s) of %s", n, system)
    return n


def read_manifest(out: str | Path) -> pd.DataFrame:
    """The manifest of ``out`` (empty when there is none), one row per clip.

    A row whose line was cut by a crash is dropped; when a clip appears twice (it was
    redone) the last row wins.
    """
    path = Path(out) / MANIFEST_NAME
    if not path.is_file():
        return pd.DataFrame(columns=list(MANIFEST_COLUMNS))
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, on_bad_lines="skip",
                         engine="python")
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=list(MANIFEST_COLUMNS))
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise EmoconveyError(f"{path}: not a readable manifest ({exc})") from None
    missing = [c for c in [*_KEY, "file", "sha256"] if c not in df.columns]
    if missing:
        raise EmoconveyError(
            f"{path}: not an emoconvey generation manifest (missing {', '.join(missing)}); "
            "use another --out"
        )
    for col in MANIFEST_COLUMNS:
        if col not in df.columns:
            df[col] = ""
    df = df[df["full_sha256"].str.len() == 64]  # a row cut short by a crash
    df = df.drop_duplicates(_KEY, keep="last")
    return df.loc[:, list(MANIFEST_COLUMNS)].reset_index(drop=True)


_INT_COLUMNS = ("index", "base_seed", "seed", "crop_seed", "sample_rate", "channels")
_FLOAT_COLUMNS = ("requested_seconds", "full_seconds", "crop_seconds", "crop_start",
                  "crop_end", "wall_seconds")


def typed_manifest(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of manifest rows with numbers as numbers and ``instrumental`` as bool."""
    df = df.copy()
    for col in _INT_COLUMNS:
        df[col] = pd.to_numeric(df[col].replace("", pd.NA)).astype("Int64")
    for col in _FLOAT_COLUMNS:
        df[col] = pd.to_numeric(df[col].replace("", pd.NA)).astype(float)
    df["instrumental"] = df["instrumental"].astype(str).str.lower() == "true"
    return df


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    key = df.assign(_i=pd.to_numeric(df["index"], errors="coerce"))
    return df.loc[key.sort_values(["system", "intent", "_i"], kind="stable").index]


def write_manifest(out: str | Path, df: pd.DataFrame) -> Path:
    """Write the manifest sorted by system, intent and index (atomically)."""
    path = Path(out) / MANIFEST_NAME
    text = _sorted(df.loc[:, list(MANIFEST_COLUMNS)]).to_csv(index=False, lineterminator="\n")
    _atomic_write(path, text.encode("utf-8"))
    return path


def append_rows(out: str | Path, rows: Iterable[Mapping[str, Any]]) -> None:
    """Append finished clips' rows to the manifest (the header first when it is new)."""
    path = Path(out) / MANIFEST_NAME
    new = not path.is_file() or path.stat().st_size == 0
    with open(path, "a", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(MANIFEST_COLUMNS), lineterminator="\n")
        if new:
            w.writeheader()
        for row in rows:
            w.writerow({k: _cell(row.get(k, "")) for k in MANIFEST_COLUMNS})
        fh.flush()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(round(value, 6))
    return str(value)


def finish_clip(
    out: Path,
    *,
    system: str,
    intent: str,
    index: int,
    audio: np.ndarray,
    sample_rate: int,
    crop: float,
    crop_seed: int,
    requested_seconds: float | None,
    extra_flags: Iterable[str] = (),
    name: str | None = None,
    whole: bool = False,
) -> dict[str, Any]:
    """Crop one full clip, write both files and return their manifest fields.

    ``audio`` is ``(channels, samples)`` (a 1-D array is one channel). Non-finite samples
    are flagged and written as 0. The flags of
    :func:`~emoconvey.generate.protocol.output_flags` are judged on the full clip, except
    ``clipped``, judged on the crop that listeners hear. Raises :class:`EmoconveyError`
    (naming ``name`` or the crop's path and the length) when the clip is too short for
    the crop.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[None, :]
    crop_rel = relpath(system, intent, index)
    full_rel = relpath(system, intent, index, full=True)
    if audio.ndim != 2 or audio.shape[0] > 16:
        raise EmoconveyError(
            f"{name or crop_rel}: expected audio of shape (channels, samples), got {audio.shape}"
        )
    flags = [f for f in output_flags(audio, sample_rate, requested_seconds) if f != "clipped"]
    if "nan" in flags:
        audio = np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0)
    if whole:  # no crop: the "crop" file is the whole clip
        window = CropWindow(0, audio.shape[1], sample_rate)
        flags.append("uncropped")
    else:
        window = crop_start(audio.shape[1], sample_rate, crop, crop_seed,
                            name=name or str(out / full_rel))
    cropped = audio[:, window.start : window.end]
    if cropped.size and float(np.max(np.abs(cropped))) >= CLIP_LEVEL:
        flags.append("clipped")
    pcm = to_pcm16(audio)  # the crop's samples are a slice of the full clip's
    full_sha = _write_wav(out / full_rel, pcm, sample_rate)
    crop_sha = _write_wav(out / crop_rel, pcm[window.start : window.end], sample_rate)
    for f in extra_flags:
        if f not in flags:
            flags.append(f)
    return {
        "full_seconds": audio.shape[1] / sample_rate,
        "crop_seconds": crop,
        "crop_start": window.start_s,
        "crop_end": window.end_s,
        "sample_rate": int(sample_rate),
        "channels": int(audio.shape[0]),
        "file": crop_rel.as_posix(),
        "full_file": full_rel.as_posix(),
        "sha256": crop_sha,
        "full_sha256": full_sha,
        "flags": ";".join(flags),
    }


def files_match(out: Path, row: Mapping[str, Any]) -> bool:
    """Whether both files of a manifest row exist with the recorded hashes."""
    for col, hcol in (("file", "sha256"), ("full_file", "full_sha256")):
        rel = str(row.get(col, ""))
        path = out / rel
        if not rel or not path.is_file() or sha256_file(path) != row.get(hcol):
            return False
    return True


def to_json(value: Any) -> str:
    """Compact, key-sorted JSON (numpy scalars turned into Python numbers)."""
    def default(o: Any) -> Any:
        if isinstance(o, np.generic):
            return json_value(o)
        if isinstance(o, np.ndarray):
            return o.tolist()
        return str(o)

    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=default)
