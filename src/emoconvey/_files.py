"""File helpers every floor may use (ground floor, beside :mod:`emoconvey._validation`)."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["replace_atomically", "sha256_file"]

_CHUNK = 1 << 20


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks (any size, little memory).

    Parameters
    ----------
    path : str or Path
        The file.

    Returns
    -------
    str
        64 lowercase hex digits, as ``sha256sum`` prints them.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def replace_atomically(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Write ``path`` through a temporary file beside it, renamed over ``path`` when done.

    Readers (and a crash) never see a half-written ``path``: ``write(tmp)`` writes the
    whole file under the name ``.<stem>.<process id>.tmp<suffix>`` (the suffix is kept
    for writers that add their own, such as :func:`numpy.save`), which
    :func:`os.replace` then renames to ``path`` in one step. If ``write`` fails, the
    temporary file is removed and the error propagates; ``path`` is left as it was.

    Parameters
    ----------
    path : str or Path
        The file to write (its folder must exist).
    write : callable
        ``write(tmp)`` writes the complete content to the path ``tmp``.

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path
