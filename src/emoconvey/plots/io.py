"""Write figures to disk in one or more formats."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure, SubFigure

from emoconvey.errors import EmoconveyError

__all__ = ["FIGURE_FORMATS", "save_figure"]

FIGURE_FORMATS: tuple[str, ...] = ("png", "svg", "pdf")
"""Formats :func:`save_figure` writes."""


def _check_formats(formats: str | Iterable[str]) -> list[str]:
    if isinstance(formats, str):
        formats = (formats,)
    try:
        out = [str(f).lower().lstrip(".") for f in formats]
    except TypeError:
        raise EmoconveyError(
            f"formats: expected a list of formats, got {type(formats).__name__}"
        ) from None
    if not out:
        raise EmoconveyError("formats: expected at least one format")
    unknown = [f for f in out if f not in FIGURE_FORMATS]
    if unknown:
        raise EmoconveyError(
            f"formats: unknown format(s) {', '.join(map(repr, unknown))}; "
            f"expected some of {', '.join(map(repr, FIGURE_FORMATS))}"
        )
    return list(dict.fromkeys(out))


def save_figure(
    fig: Figure,
    folder: str | Path,
    stem: str,
    *,
    formats: str | Iterable[str] = ("png", "svg"),
    dpi: int = 150,
) -> list[Path]:
    """Save ``fig`` as ``folder/stem.<format>`` for each format.

    Parameters
    ----------
    fig : Figure
        The figure (an Axes is accepted too: its figure is saved).
    folder : str or Path
        Output folder; created (with parents) if missing.
    stem : str
        File name without extension; must not contain a path separator.
    formats : str or iterable of str, default ("png", "svg")
        Any of :data:`FIGURE_FORMATS`.
    dpi : int, default 150
        Resolution of PNG files and of rasterized parts (large point clouds) of SVG/PDF.

    Returns
    -------
    list of Path
        The files written, in the order of ``formats``. Files carry no date, so saving
        the same figure twice gives identical files.

    Raises
    ------
    EmoconveyError
        For an unknown format, a bad stem or dpi, or if ``fig`` is not a figure.
    """
    if isinstance(fig, Axes):
        fig = fig.get_figure(root=True)
    if isinstance(fig, SubFigure):
        fig = fig.get_figure(root=True)
    if not isinstance(fig, Figure):
        raise EmoconveyError(f"fig: expected a matplotlib Figure, got {type(fig).__name__}")
    fmts = _check_formats(formats)
    stem = str(stem)
    if not stem or stem in {".", ".."} or "/" in stem or "\\" in stem:
        raise EmoconveyError(f"stem: expected a file name without folders, got {stem!r}")
    if isinstance(dpi, bool) or not isinstance(dpi, int | float) or not dpi > 0:
        raise EmoconveyError(f"dpi: expected a positive number, got {dpi!r}")
    out_dir = Path(folder)
    if out_dir.exists() and not out_dir.is_dir():
        raise EmoconveyError(f"folder: {str(out_dir)!r} exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    engine = fig.get_layout_engine()
    try:
        for i, fmt in enumerate(fmts):
            if i == 1 and engine is not None:
                # The first save settled the layout (in figure-relative units); keep it
                # for the other formats instead of recomputing it, which for a grid of
                # 20 panels costs seconds.
                fig.set_layout_engine("none")
            written.append(_save_one(fig, out_dir, stem, fmt, dpi))
    finally:
        if engine is not None:
            fig.set_layout_engine(engine)
    return written


def _save_one(fig: Figure, out_dir: Path, stem: str, fmt: str, dpi: float) -> Path:
    path = out_dir / f"{stem}.{fmt}"
    # Dates and software versions are left out so that re-running gives the same file.
    metadata: dict[str, None] = (
        {"Date": None} if fmt == "svg" else {"CreationDate": None} if fmt == "pdf" else {}
    )
    # A fixed salt makes SVG element ids deterministic (unless the user set one).
    salt = {} if matplotlib.rcParams["svg.hashsalt"] else {"svg.hashsalt": "emoconvey"}
    with matplotlib.rc_context(salt):
        fig.savefig(path, format=fmt, dpi=dpi, metadata=metadata)
    return path
