"""The report folder: files, results.json contract, HTML, narrative."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from emoconvey.analysis.anova import quadrant_effect, system_effect
from emoconvey.analysis.pipeline import TABLES, analyse
from emoconvey.data.combine import combine_datasets
from emoconvey.errors import EmoconveyError
from emoconvey.report import build_report, render_table, summarise


@pytest.fixture(scope="module")
def report(tmp_path_factory, aimoclips):
    out = tmp_path_factory.mktemp("report")
    return build_report(aimoclips, out=out / "r")


def test_report_folder_layout(report):
    assert report.index.is_file()
    assert report.results.is_file()
    assert sorted(p.stem for p in (report.folder / "tables").glob("*.csv")) == sorted(TABLES)
    for name, paths in report.figures.items():
        suffixes = sorted(p.suffix for p in paths)
        assert suffixes == [".png", ".svg"], name
        for p in paths:
            assert p.stat().st_size > 1000
    expected = {
        "ratings_per_clip", "deviation_plane_system", "deviation_quadrant",
        "ci_deviation_system_valence", "ci_deviation_system_arousal",
        "ci_absdev_quadrant_valence", "ci_absdev_quadrant_arousal", "va_planes",
    }
    assert expected <= set(report.figures)


def test_results_json_contract(report, aimoclips):
    doc = json.loads(report.results.read_text())
    d = doc["dataset"]
    assert d["clips"] == 991 and d["ratings"] == 6162 and d["listeners"] == 111
    assert sorted(d["systems"]) == sorted(aimoclips.systems)
    assert d["excluded_clips"] == 0
    assert doc["schema_version"] == 1
    rows = doc["anova"]
    assert {(r["test"], r["axis"], r["source"]) for r in rows} == {
        (t, a, s)
        for t, sources in (("system_effect", ("system", "intent")),
                           ("quadrant_effect", ("quadrant", "system")))
        for a in ("valence", "arousal")
        for s in sources
    }
    expected = pd.concat([system_effect(aimoclips.clips), quadrant_effect(aimoclips.clips)])
    for r in rows:
        assert set(r) >= {"test", "axis", "source", "df", "df_resid", "F", "p", "eta_sq"}
        for key in ("df", "df_resid", "F", "p", "eta_sq"):
            assert isinstance(r[key], int | float) and math.isfinite(r[key])
        e = expected[(expected["test"] == r["test"]) & (expected["axis"] == r["axis"])
                     & (expected["source"] == r["source"])].iloc[0]
        # unrounded: exactly the statistic computed by the analysis module
        assert r["F"] == float(e["F"]) and r["p"] == float(e["p"])
        assert r["eta_sq"] == float(e["eta_sq"])
    assert set(doc["tables"]) == set(TABLES) - {"clip_deviations"}
    assert doc["summary"] and all(isinstance(s, str) for s in doc["summary"])
    for f in doc["figures"]:
        assert (report.folder / f).is_file()


def test_results_json_is_strict_json(report):
    text = report.results.read_text()
    assert "NaN" not in text and "Infinity" not in text


def test_tables_csv_match_analysis(report, aimoclips):
    from emoconvey.report.build import reorder_systems

    results = reorder_systems(analyse(aimoclips))  # the report's one system order
    for name, df in results.tables.items():
        disk = pd.read_csv(report.tables[name])
        assert list(disk.columns) == [str(c) for c in df.columns], name
        assert len(disk) == len(df), name
        for col in df.columns:
            if pd.api.types.is_float_dtype(df[col]):
                np.testing.assert_allclose(disk[col].to_numpy(float), df[col].to_numpy(float),
                                           rtol=1e-12, equal_nan=True, err_msg=name)


def test_index_html_is_self_contained(report):
    html = report.index.read_text()
    assert html.startswith("<!DOCTYPE html>")
    n_figures = len(report.figures)
    assert html.count("data:image/png;base64,") == n_figures
    # nothing fetched from elsewhere: no external scripts, styles or images
    assert not re.search(r"<(script|link)\b", html)
    assert not re.search(r'src="(?!data:)', html)
    for heading in ("Summary", "Ranking", "Deviation from the intended emotion",
                    "Valence&ndash;arousal plane", "Bias toward neutrality",
                    "Inter-rater agreement and robustness", "Methods and credits"):
        assert heading in html
    assert "arXiv:2509.00813" in html and "CC BY 4.0" in html
    assert "991" in html and "6162" in html


def test_narrative_is_generated_from_numbers(aimoclips):
    results = analyse(aimoclips)
    lines = summarise(results)
    assert lines[0].startswith("991 clips from 6 systems")
    assert "111 listeners" in lines[0]
    best = results["ranking"].iloc[0]["system"]
    assert any(f"overall: {best}" in s for s in lines)
    row = results["anova"][(results["anova"]["test"] == "system_effect")
                           & (results["anova"]["axis"] == "valence")
                           & (results["anova"]["source"] == "system")].iloc[0]
    expected_f = f"F({int(row['df'])}, {int(row['df_resid'])}) = {row['F']:.2f}"
    assert any(expected_f in s for s in lines)
    rho = results["ranking_zscore"].query("axis == 'valence'")["spearman_rho"].iloc[0]
    assert any(f"valence \u03c1 = {rho:.2f}" in s for s in lines)


def test_without_figures(tmp_path, synthetic):
    paths = build_report(synthetic, out=tmp_path / "nofig", figures=False)
    assert paths.figures == {}
    assert not (tmp_path / "nofig" / "figures").exists()
    html = paths.index.read_text()
    assert "data:image/png" not in html
    assert json.loads(paths.results.read_text())["figures"] == []


def test_with_reference_highlights_own_systems(tmp_path, aimoclips, synthetic):
    both = combine_datasets([synthetic, aimoclips], labels=["yours", "aimoclips"])
    paths = build_report(both, out=tmp_path / "ref", figures=False,
                         reference_systems=aimoclips.systems)
    doc = json.loads(paths.results.read_text())
    assert doc["dataset"]["reference_systems"] == aimoclips.systems
    assert len(doc["ranking"]) == 9
    html = paths.index.read_text()
    assert html.count('class="highlight"') >= 3
    with pytest.raises(EmoconveyError, match="reference_systems"):
        build_report(synthetic, out=tmp_path / "bad", reference_systems=["Nope"])


def test_out_must_be_a_folder(tmp_path, synthetic):
    file = tmp_path / "file.txt"
    file.write_text("x")
    with pytest.raises(EmoconveyError, match="not a folder"):
        build_report(synthetic, out=file, figures=False)


def test_render_table_formats_numbers():
    df = pd.DataFrame({"system": ["A", "B"], "F": [12.34567, np.nan], "p": [0.0001, 0.0456],
                       "n": [3, 4], "flag": [True, False]})
    html = str(render_table(df, highlight=["B"]))
    assert "12.346" in html and "n/a" in html and "&lt; .001" in html and ".046" in html
    assert html.count('class="highlight"') == 1
    assert "yes" in html and "no" in html
    many = pd.DataFrame({"x": range(10)})
    assert "Showing 3 of 10 rows" in str(render_table(many, max_rows=3))


def test_render_table_escapes_html():
    html = str(render_table(pd.DataFrame({"system": ["<script>x</script>"]})))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_narrative_degenerate_study_words_and_ties():
    import warnings

    from emoconvey.data import load_dataset

    rows = [(f"P{i}", f"{s}_calm_1.wav", v, 3)
            for s in ("A", "B") for i, v in zip(range(4), [5, 6, 7, 8], strict=True)]
    ds = load_dataset(pd.DataFrame(rows, columns=["user", "audio_file", "valence", "arousal"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = analyse(ds)
    lines = summarise(results)
    assert lines[0].startswith("2 clips from 2 systems (A and B) on 1 intent were rated by")
    assert any(s.startswith("All systems are equally close") for s in lines)
    assert any("could not be tested" in s for s in lines)
    assert results.warnings  # degenerate steps are reported, not hidden


def test_caller_sections_banner_and_extra_results(tmp_path, aimoclips):
    from emoconvey.report.build import ReportSection

    top = ReportSection("card", "Model card", '<section id="card"><h2>Card</h2>TOP</section>',
                        where="top")
    end = ReportSection("extra", "Extra part", '<section id="extra"><h2>X</h2>END</section>')
    paths = build_report(aimoclips, out=tmp_path / "r", figures=False, sections=[top, end],
                         banner='<div id="bnr">BANNER</div>',
                         extra_results={"model": {"head": "ridge"}},
                         extra_figures=["figures/extra.png"])
    html = paths.index.read_text()
    main = html[html.index("<main>"):html.index("</main>")]
    assert (main.index("BANNER") < main.index("TOP") < main.index('id="summary"')
            < main.index("END") < main.index('id="methods"') < main.index("<footer>"))
    nav = html[html.index("<nav>"):html.index("</nav>")]
    assert (nav.index('href="#card"') < nav.index('href="#summary"')
            < nav.index('href="#extra"') < nav.index('href="#methods"'))
    assert ">Model card</a>" in nav and ">Extra part</a>" in nav
    doc = json.loads(paths.results.read_text())
    assert doc["model"] == {"head": "ridge"} and doc["figures"] == ["figures/extra.png"]
    with pytest.raises(EmoconveyError, match="'anova' is a standard results.json key"):
        build_report(aimoclips, out=tmp_path / "r2", figures=False,
                     extra_results={"anova": []})
    with pytest.raises(EmoconveyError, match='no element with id="x"'):
        ReportSection("x", "X", "<section>no anchor</section>")
    with pytest.raises(EmoconveyError, match="expected 'top' or 'end'"):
        ReportSection("x", "X", '<p id="x"></p>', where="middle")


def test_summary_counts_print_as_integers(report):
    html = report.index.read_text()
    summary = html[html.index('href="tables/summary.csv"'):]
    summary = summary[:summary.index("</table>")]
    clips = re.search(r"<td class=\"txt\">clips</td><td class=\"num\">([^<]+)</td>", summary)
    assert clips is not None and re.fullmatch(r"\d+", clips.group(1)), summary[:500]
