"""Extractor interface, registry, audio loading and the content-hash feature cache."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emoconvey._files import replace_atomically, sha256_file
from emoconvey.errors import DataValidationError, EmoconveyError

__all__ = [
    "Extractor",
    "Features",
    "cached_arrays",
    "default_cache_dir",
    "extract_features",
    "file_hash",
    "load_audio",
    "load_pretrained",
    "model_load_error",
    "torch_device",
]

log = logging.getLogger(__name__)

class Extractor(ABC):
    """An audio representation: files in, one fixed-length float vector per file out.

    Subclasses set :attr:`id` (stable registry name), :attr:`version` (bump when the
    features change: it is part of the cache key) and implement :meth:`extract`.
    Text-capable extractors (a text tower, e.g. CLAP) set :attr:`supports_text` and
    implement :meth:`embed_texts`.
    """

    id: str = ""
    version: str = "1"
    supports_text: bool = False
    frame_level: bool = False
    """Whether the extractor also gives frames (see :mod:`.frames`)."""

    def options(self) -> dict[str, object]:
        """JSON-serialisable options that change the features (part of the cache key)."""
        return {}

    def cache_options(self) -> dict[str, object]:
        """The options that key the feature cache (default: all of :meth:`options`)."""
        return self.options()

    @property
    def cache_key(self) -> str:
        """``<id>-v<version>-<hash of cache_options()>``: the cache folder name."""
        opts = json.dumps(self.cache_options(), sort_keys=True, default=str)
        digest = hashlib.sha256(opts.encode()).hexdigest()[:12]
        return f"{self.id}-v{self.version}-{digest}"

    @abstractmethod
    def extract(self, paths: Sequence[str], *, progress: Callable[[int], None] | None = None
                ) -> np.ndarray:
        """Features of each file, shape ``(len(paths), dim)``; calls ``progress(k)``."""

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Text embeddings, shape ``(len(texts), dim)`` (text-capable extractors only)."""
        raise EmoconveyError(f"extractor {self.id!r} has no text tower")


def model_load_error(what: str, name: str, exc: Exception) -> EmoconveyError:
    """The error for a pretrained model that ``from_pretrained`` could not load."""
    return EmoconveyError(
        f"cannot load the {what} model {name!r} ({exc.__class__.__name__}): give a local "
        "folder saved with save_pretrained, or a model id that can be downloaded"
    )


def torch_device(device: str | None) -> str:
    """``device``, else CUDA when available, else CPU."""
    import torch

    if device:
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def load_pretrained(
    processor: str, model: str, name: str, *, what: str, needs: str,
    inference: bool = False, device: str | None = None,
) -> tuple[Any, Any]:
    """A transformers processor and model, both loaded from ``name``.

    The model is as ``from_pretrained`` returns it, or with ``inference`` in evaluation
    mode on ``torch_device(device)``.

    Parameters
    ----------
    processor, model : str
        Names of the transformers classes (e.g. ``"ClapProcessor"``, ``"ClapModel"``);
        the model's weights are read from safetensors only (never pickle).
    name : str
        A model id or a local folder saved with ``save_pretrained``.
    what : str
        The model named in the load error (e.g. ``"CLAP"``).
    needs : str
        Who needs the missing package, as the start of the import error
        (e.g. ``"the clap extractor needs"``).
    inference : bool, default False
        Put the model in evaluation mode on ``device``.
    device : str, optional
        With ``inference``: the torch device (default :func:`torch_device`'s choice).

    Raises
    ------
    EmoconveyError
        When transformers (or torch) is missing, or the model cannot be loaded
        (:func:`model_load_error`).
    """
    try:
        import transformers

        processor_cls = getattr(transformers, processor)
        model_cls = getattr(transformers, model)
    except ImportError as exc:
        raise EmoconveyError(f"{needs} {exc.name}: pip install 'emoconvey[predict]'") from None
    try:
        loaded = processor_cls.from_pretrained(name)
        net = model_cls.from_pretrained(name, use_safetensors=True)
    except (OSError, ValueError) as exc:  # missing files, bad repo id, no network
        raise model_load_error(what, name, exc) from None
    if inference:
        net = net.eval().to(torch_device(device))
    return loaded, net


def load_audio(path: str | Path, sr: int) -> np.ndarray:
    """Mono float32 samples of ``path`` at ``sr`` Hz (soundfile, resampled with soxr)."""
    import soundfile as sf

    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:
        raise DataValidationError(
            f"cannot read the audio ({type(exc).__name__})", file=path
        ) from None
    y = data.mean(axis=1)
    if rate != sr:
        import soxr

        y = soxr.resample(y, rate, sr)
    return np.ascontiguousarray(y, dtype=np.float32)


def file_hash(path: str | Path) -> str:
    """SHA-256 of the file's bytes (:func:`emoconvey._files.sha256_file`)."""
    return sha256_file(path)


def default_cache_dir() -> Path:
    """``$EMOCONVEY_CACHE`` or ``$XDG_CACHE_HOME/emoconvey`` (``~/.cache/emoconvey``)."""
    env = os.environ.get("EMOCONVEY_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "emoconvey"


@dataclass(frozen=True)
class Features:
    """Extracted features and where they came from."""

    matrix: np.ndarray
    """Shape ``(n_files, dim)``, float32."""
    extracted: int
    """Files computed in this call."""
    cached: int
    """Files read from the cache."""


def cached_arrays(
    extractor: Extractor,
    paths: Sequence[str],
    *,
    kind: str,
    compute: Callable[[list[str]], list[np.ndarray]],
    read: Callable[[Path], np.ndarray],
    write: Callable[[Path, np.ndarray], None],
    cache_dir: str | Path | None,
    use_cache: bool,
    progress: Callable[[int], None] | None,
) -> tuple[list[np.ndarray], int, int]:
    """Per-file arrays of ``paths``, read from and written to the content-hash cache.

    The entries live under ``<cache_dir>/<kind>/<extractor.cache_key>/<sha256 of the
    file bytes>.<ext>`` (``read``/``write`` choose the format, never pickle); identical
    files are computed once. Returns the arrays, the files computed and those cached.
    """
    folder = Path(cache_dir if cache_dir is not None else default_cache_dir())
    folder = folder / kind / extractor.cache_key
    hashes = [file_hash(p) for p in paths]
    rows: list[np.ndarray | None] = [None] * len(paths)
    if use_cache:
        for i, h in enumerate(hashes):
            try:
                rows[i] = read(folder / h)
            except FileNotFoundError:
                pass
            except (OSError, ValueError):
                log.warning("ignoring the unreadable cache entry %s", folder / h)
    todo = [i for i, r in enumerate(rows) if r is None]
    cached = len(paths) - len(todo)
    if progress is not None and cached:
        progress(cached)
    first: dict[str, int] = {}
    for i in todo:
        first.setdefault(hashes[i], i)
    unique = list(first.values())
    if unique:
        computed = compute([paths[i] for i in unique])
        if len(computed) != len(unique):
            raise EmoconveyError(
                f"extractor {extractor.id!r} returned {len(computed)} rows for "
                f"{len(unique)} files"
            )
        by_hash = dict(zip((hashes[i] for i in unique), computed, strict=True))
        for i in todo:
            rows[i] = by_hash[hashes[i]]
        if use_cache:
            folder.mkdir(parents=True, exist_ok=True)
            for h, value in by_hash.items():
                write(folder / h, value)
    return rows, len(unique), cached  # type: ignore[return-value]


def _read_npy(stem: Path) -> np.ndarray:
    return np.load(stem.with_suffix(".npy"), allow_pickle=False)


def _write_npy(stem: Path, value: np.ndarray) -> None:
    def save(tmp: Path) -> None:
        np.save(tmp, value, allow_pickle=False)

    replace_atomically(stem.with_suffix(".npy"), save)


def extract_features(
    extractor: Extractor,
    paths: Sequence[str | Path],
    *,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    progress: Callable[[int], None] | None = None,
) -> Features:
    """Features of ``paths``, reading and filling the cache.

    The cache holds one ``.npy`` per file under
    ``<cache_dir>/features/<extractor.cache_key>/<sha256 of the file bytes>.npy``, so a
    renamed or moved file is still a hit and an edited one is not. Files are read with
    ``allow_pickle=False``.
    """
    paths = [str(p) for p in paths]

    def compute(todo: list[str]) -> list[np.ndarray]:
        return list(np.asarray(extractor.extract(todo, progress=progress), dtype=np.float32))

    rows, extracted, cached = cached_arrays(
        extractor, paths, kind="features", compute=compute, read=_read_npy, write=_write_npy,
        cache_dir=cache_dir, use_cache=use_cache, progress=progress,
    )
    if not paths:
        return Features(np.zeros((0, 0), np.float32), 0, 0)
    matrix = np.vstack([np.asarray(r, np.float32)[None, :] for r in rows])
    log.info("%s features: %d extracted, %d from the cache", extractor.id, extracted, cached)
    return Features(matrix, extracted, cached)
