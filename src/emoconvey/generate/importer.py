"""Import clips made elsewhere (Suno, Udio, any API) under the same protocol.

Files are named ``<intent>_<n>.<ext>`` (``happy_3.mp3``) or listed in a mapping CSV with
the columns ``file`` (relative to the source folder), ``intent`` and ``index``. WAV, FLAC
and OGG are read with soundfile, MP3 and M4A with PyAV (soundfile is tried first for MP3).
Each file is cropped with the same seeded 15-85 % rule as generated clips and written to
the same layout and manifest; the manifest records the bare-word prompt and the
"instrumental" switch of the services. All names, intents and lengths are checked before
anything is written.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emoconvey.errors import DataValidationError, EmoconveyError
from emoconvey.generate.output import (
    append_rows,
    files_match,
    finish_clip,
    read_manifest,
    remove_temp_files,
    sha256_file,
    to_json,
    typed_manifest,
    write_manifest,
)
from emoconvey.generate.progress import ProgressBar
from emoconvey.generate.protocol import (
    SERVICE_PROMPT_TEMPLATE,
    WINDOW,
    build_prompt,
    check_crop_fits,
    check_system_name,
    derive_seed,
)

__all__ = ["IMPORT_SUFFIXES", "decode_audio", "import_clips"]

log = logging.getLogger(__name__)

IMPORT_SUFFIXES = (".wav", ".flac", ".mp3", ".ogg", ".m4a")
_NAME_RE = re.compile(r"^(?P<intent>.+)_(?P<index>[0-9]+)$")


@dataclass(frozen=True)
class _Source:
    path: Path
    intent: str
    index: int


_UNDECODABLE = ("{path}: undecodable audio: no samples could be decoded (a truncated or "
                "header-only file?)")


def _decode_av(path: Path) -> tuple[np.ndarray, int]:
    try:
        import av
    except ImportError:
        raise EmoconveyError(
            f"{path}: reading {path.suffix} needs PyAV; install it with "
            "pip install \"emoconvey[generate]\""
        ) from None
    try:
        with av.open(str(path)) as container:
            stream = next((s for s in container.streams if s.type == "audio"), None)
            if stream is None:
                raise EmoconveyError(f"{path}: no audio stream found")
            chunks = []
            rate = stream.codec_context.sample_rate or stream.rate
            for frame in container.decode(stream):
                arr = frame.to_ndarray()
                if frame.format.is_planar:
                    chunks.append(arr.reshape(len(frame.layout.channels), -1))
                else:
                    chunks.append(arr.reshape(-1, len(frame.layout.channels)).T)
    except EmoconveyError:
        raise
    except Exception as exc:
        raise EmoconveyError(f"{path}: cannot read audio ({type(exc).__name__}: {exc})") from None
    if not chunks:
        raise EmoconveyError(_UNDECODABLE.format(path=path))
    audio = np.concatenate(chunks, axis=1)
    if np.issubdtype(audio.dtype, np.integer):
        audio = audio.astype(np.float32) / float(np.iinfo(audio.dtype).max)
    return audio.astype(np.float32), int(rate)


def decode_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Decode an audio file to ``(channels, samples)`` float32 and its sample rate.

    Raises
    ------
    EmoconveyError
        Naming the file when it cannot be read.
    """
    path = Path(path)
    if path.suffix.lower() != ".m4a":
        try:
            import soundfile as sf

            audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
            if not audio.size:
                raise EmoconveyError(_UNDECODABLE.format(path=path))
            return np.ascontiguousarray(audio.T), int(rate)
        except EmoconveyError:
            raise
        except ImportError:
            pass
        except Exception as exc:
            if path.suffix.lower() != ".mp3":
                raise EmoconveyError(
                    f"{path}: cannot read audio ({type(exc).__name__}: {exc})"
                ) from None
    return _decode_av(path)


def _probe_seconds(path: Path) -> float:
    """Length in seconds from the header (cheap); decodes when the header says nothing."""
    if path.suffix.lower() in (".wav", ".flac", ".ogg"):
        try:
            import soundfile as sf

            info = sf.info(str(path))
            if info.frames <= 0:
                raise EmoconveyError(_UNDECODABLE.format(path=path))
            return info.frames / info.samplerate
        except EmoconveyError:
            raise
        except Exception as exc:
            raise EmoconveyError(
                f"{path}: cannot read audio ({type(exc).__name__}: {exc})"
            ) from None
    try:
        import av

        with av.open(str(path)) as container:
            if container.duration:
                return container.duration / 1_000_000
    except ImportError:
        pass
    except Exception as exc:
        raise EmoconveyError(f"{path}: cannot read audio ({type(exc).__name__}: {exc})") from None
    audio, rate = decode_audio(path)
    return audio.shape[1] / rate


def _from_names(folder: Path, known: set[str]) -> list[_Source]:
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and not p.name.startswith(".")
                   and p.suffix.lower() in IMPORT_SUFFIXES)
    if not files:
        raise EmoconveyError(
            f"--from: no audio files ({', '.join(IMPORT_SUFFIXES)}) in {str(folder)!r}"
        )
    out = []
    for p in files:
        m = _NAME_RE.match(p.stem)
        if not m:
            raise EmoconveyError(
                f"{p}: expected a name <intent>_<n>{p.suffix} (e.g. happy_1{p.suffix}), "
                "or give --mapping"
            )
        if m["intent"] not in known:
            raise EmoconveyError(
                f"{p}: unknown intent {m['intent']!r}; expected one of {', '.join(sorted(known))}"
            )
        out.append(_Source(p, m["intent"], int(m["index"])))
    return out


def _from_mapping(folder: Path, mapping: Path, known: set[str]) -> list[_Source]:
    from emoconvey.data.formats import read_csv

    df = read_csv(mapping, what="--mapping")
    missing = [c for c in ("file", "intent", "index") if c not in df.columns]
    if missing:
        raise DataValidationError(
            f"missing column(s) {', '.join(missing)}; expected file, intent, index",
            file=mapping,
        )
    out = []
    first: dict[tuple[str, int], int] = {}
    for pos, rec in enumerate(df.loc[:, ["file", "intent", "index"]].itertuples(index=False)):
        line = pos + 2
        file, intent, index = (str(v).strip() for v in rec)
        if not file:
            raise DataValidationError("expected a file name", file=mapping, row=line,
                                      column="file")
        path = Path(file) if Path(file).is_absolute() else folder / file
        if not path.is_file():
            raise DataValidationError(f"file {str(path)!r} does not exist", file=mapping,
                                      row=line, column="file")
        if intent not in known:
            raise DataValidationError(
                f"unknown intent {intent!r}; expected one of {', '.join(sorted(known))}",
                file=mapping, row=line, column="intent",
            )
        if not index.isdigit() or int(index) < 1:
            raise DataValidationError(f"expected a positive integer, got {index!r}",
                                      file=mapping, row=line, column="index")
        if (intent, int(index)) in first:
            raise DataValidationError(
                f"duplicate clip ({intent}, {index}); line {first[(intent, int(index))]} "
                "is the same clip", file=mapping, row=line, column="index")
        first[(intent, int(index))] = line
        out.append(_Source(path, intent, int(index)))
    return out


def import_clips(
    *,
    system: str,
    source: str | Path,
    out: str | Path,
    seed: int = 0,
    mapping: str | Path | None = None,
    intents: str | Path | pd.DataFrame = "aimoclips",
    crop: float = 10.0,
    prompt_template: str = SERVICE_PROMPT_TEMPLATE,
    instrumental: bool = True,
    progress: bool = False,
) -> pd.DataFrame:
    """Crop and file clips made elsewhere as system ``system`` in ``out``.

    Parameters
    ----------
    system : str
        System name (a valid path segment).
    source : path
        Folder with ``<intent>_<n>.<ext>`` files (or the files of ``mapping``).
    out : path
        Output folder (same layout and manifest as :func:`run_generation`).
    seed : int
        Base seed of the crops (crop seed from (seed, system, intent, index)).
    mapping : path, optional
        CSV with ``file``, ``intent``, ``index``.
    intents : "aimoclips", path or DataFrame
        Known intents.
    crop : float
        Crop length in seconds.
    prompt_template : str
        The prompt the service was given (recorded): default the bare word.
    instrumental : bool
        Whether the service's instrumental switch was on (recorded).
    progress : bool
        Show a progress bar.

    Returns
    -------
    DataFrame
        This system's manifest rows, sorted by intent and index; ``attrs["made"]`` and
        ``attrs["skipped"]`` count the clips imported by this call and those already
        present.
    """
    from emoconvey.generate.run import load_intents

    check_system_name(system)
    crop = float(crop)
    check_crop_fits(crop / (WINDOW[1] - WINDOW[0]), crop)
    folder = Path(source)
    if not folder.is_dir():
        raise EmoconveyError(f"--from: folder {str(folder)!r} does not exist")
    table = load_intents(intents)
    known = set(table["intent"])
    sources = (_from_mapping(folder, Path(mapping), known) if mapping is not None
               else _from_names(folder, known))
    seen: dict[tuple[str, int], Path] = {}
    for s in sources:
        if (s.intent, s.index) in seen:
            raise EmoconveyError(
                f"{s.path}: duplicate clip ({s.intent}, {s.index}); "
                f"{seen[(s.intent, s.index)]} is the same clip"
            )
        seen[(s.intent, s.index)] = s.path
    need = crop / (WINDOW[1] - WINDOW[0])
    for s in sources:
        length = _probe_seconds(s.path)
        if length + 1e-6 < need:
            raise EmoconveyError(
                f"{s.path}: {length:.2f} s is too short for a {crop:g} s crop between the 15 % "
                f"and 85 % marks (needs at least {need:.2f} s)"
            )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    remove_temp_files(out, system)
    manifest = read_manifest(out)
    write_manifest(out, manifest)
    done = {(r["intent"], r["index"]): r for r in
            manifest[manifest["system"] == system].to_dict("records")}
    bar = ProgressBar(len(sources), f"import {system}", progress)
    skipped, failed = 0, True
    try:
        for s in sorted(sources, key=lambda s: (s.intent, s.index)):
            crop_seed = derive_seed(seed, system, s.intent, s.index, purpose="crop")
            params: dict[str, Any] = {"source": s.path.name, "source_sha256": sha256_file(s.path),
                                      "source_format": s.path.suffix.lower().lstrip(".")}
            prompt = build_prompt(s.intent, template=prompt_template)
            row: Mapping[str, Any] | None = done.get((s.intent, str(s.index)))
            if (row is not None and row["params"] == to_json(params)
                    and row["crop_seed"] == str(crop_seed)
                    and row["crop_seconds"] == repr(round(crop, 6))
                    and row["prompt"] == prompt and files_match(out, row)):
                bar.advance(1)
                skipped += 1
                continue
            audio, rate = decode_audio(s.path)
            fields = finish_clip(out, system=system, intent=s.intent, index=s.index,
                                 audio=audio, sample_rate=rate, crop=crop, crop_seed=crop_seed,
                                 requested_seconds=None, name=str(s.path))
            append_rows(out, [{
                "system": system, "backend": "import", "checkpoint": "", "revision": "",
                "intent": s.intent, "index": s.index, "prompt": prompt,
                "instrumental": instrumental, "base_seed": seed, "seed": None,
                "crop_seed": crop_seed, "requested_seconds": None, **fields,
                "params": to_json(params), "versions": to_json(_versions()),
                "device": "", "wall_seconds": 0.0,
            }])
            bar.advance(1)
        failed = False
    finally:
        bar.close(failed=failed)
    final = read_manifest(out)
    write_manifest(out, final)
    keys = {(s.intent, str(s.index)) for s in sources}
    mine = final[[(r.system == system and (r.intent, str(r.index)) in keys)
                  for r in final.itertuples()]]
    result = typed_manifest(mine.reset_index(drop=True))
    result.attrs.update(made=len(sources) - skipped, skipped=skipped)
    return result


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("soundfile", "av"):
        with contextlib.suppress(PackageNotFoundError):
            out[pkg] = version(pkg)
    return out
