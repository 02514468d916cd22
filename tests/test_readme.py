"""The README documents every table and figure the report writes."""

from __future__ import annotations

import re
from pathlib import Path

from emoconvey.analysis.pipeline import TABLES, analyse
from emoconvey.report.figures import figure_specs

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _documented_names() -> set[str]:
    names: set[str] = set()
    for cell in re.findall(r"^\| ([^|]+) \|", README, flags=re.MULTILINE):
        for code in re.findall(r"`([^`]+)`", cell):
            # expand `ci_deviation_system_{valence,arousal}`
            m = re.fullmatch(r"(.*)\{(.+)\}(.*)", code)
            if m:
                names.update(m.group(1) + part + m.group(3) for part in m.group(2).split(","))
            else:
                names.add(code)
    return names


def test_every_table_is_documented():
    missing = set(TABLES) - _documented_names()
    assert not missing, f"tables missing from the README: {sorted(missing)}"


def test_every_figure_is_documented(synthetic):
    names = {spec.name for spec in figure_specs(analyse(synthetic))}
    missing = names - _documented_names()
    assert not missing, f"figures missing from the README: {sorted(missing)}"


def test_readme_states_the_two_commands():
    assert "make report" in README and "make test" in README
