"""Tests of emoconvey.plots.io and emoconvey.plots.style."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from emoconvey.errors import EmoconveyError
from emoconvey.plots.distribution import plot_ratings_per_clip
from emoconvey.plots.io import save_figure
from emoconvey.plots.style import (
    QUADRANT_COLORS,
    SYSTEM_PALETTE,
    system_colors,
    system_markers,
)

# The helper lives next to the tests; make it importable whatever pytest's import mode.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from _plot_frames import per_clip  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_save_png_and_svg(tmp_path):
    ax = plot_ratings_per_clip(per_clip())
    out = tmp_path / "new" / "folder"
    paths = save_figure(ax.get_figure(root=True), out, "ratings")
    assert paths == [out / "ratings.png", out / "ratings.svg"]
    png, svg = paths
    assert png.stat().st_size > 0 and svg.stat().st_size > 0
    assert png.read_bytes()[:8] == PNG_MAGIC
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_save_single_format_pdf_and_axes(tmp_path):
    ax = plot_ratings_per_clip(per_clip())
    (pdf,) = save_figure(ax, tmp_path, "fig", formats="pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    (png,) = save_figure(ax.get_figure(root=True), tmp_path, "fig", formats=[".PNG"], dpi=50)
    assert png.name == "fig.png"


def test_svg_is_reproducible(tmp_path):
    fig = plot_ratings_per_clip(per_clip()).get_figure(root=True)
    (a,) = save_figure(fig, tmp_path / "a", "x", formats="svg")
    (b,) = save_figure(fig, tmp_path / "b", "x", formats="svg")
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"formats": ("png", "gif")}, "gif"),
        ({"formats": ()}, "formats"),
        ({"stem": "a/b"}, "stem"),
        ({"stem": ""}, "stem"),
        ({"dpi": 0}, "dpi"),
    ],
)
def test_save_rejects_bad_arguments(tmp_path, kwargs, match):
    fig = Figure()
    args = {"stem": "fig", **kwargs}
    stem = args.pop("stem")
    with pytest.raises(EmoconveyError, match=match):
        save_figure(fig, tmp_path, stem, **args)
    assert not list(tmp_path.iterdir())


def test_save_rejects_non_figure(tmp_path):
    with pytest.raises(EmoconveyError, match="fig"):
        save_figure("figure", tmp_path, "x")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(EmoconveyError, match="folder"):
        save_figure(Figure(), blocker, "x")


def test_system_colors_stable_and_safe():
    cols = system_colors(["Suno", "Udio", "Suno", "MusicGen"])
    assert list(cols) == ["Suno", "Udio", "MusicGen"]
    assert cols == system_colors(["Suno", "Udio", "MusicGen"])
    assert len(set(cols.values())) == 3
    many = system_colors([f"S{i}" for i in range(20)])
    assert list(many.values())[:16] == list(SYSTEM_PALETTE)
    markers = system_markers([f"S{i}" for i in range(20)])
    pairs = {(many[s], markers[s]) for s in many}
    assert len(pairs) == 20  # colour + marker tell all 20 apart
    assert system_colors(["a", "b"], palette=["red"]) == {"a": "red", "b": "red"}
    with pytest.raises(EmoconveyError, match="systems"):
        system_colors("Suno")
    assert set(QUADRANT_COLORS) == {"hv_ha", "lv_ha", "lv_la", "hv_la"}


def test_plots_do_not_import_pyplot():
    code = (
        "import sys\n"
        "import emoconvey.plots.distribution, emoconvey.plots.deviation, "
        "emoconvey.plots.plane, emoconvey.plots.io, emoconvey.plots.style\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
