"""The MOS report: ``emoconvey report --mos`` on a MusicEval folder and a study export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from emoconvey.analysis.mos import system_mos
from emoconvey.cli import app
from emoconvey.data.musiceval import (
    MusicEvalDataset,
    load_musiceval,
    system_mos_from_clips,
    write_musiceval,
)
from emoconvey.errors import EmoconveyError
from emoconvey.report.mos import analyse_mos, build_mos_report
from synthetic import synthetic_ratings

REF = json.loads((Path(__file__).resolve().parents[1] / "reference" / "mos_stats.json").read_text())
ROW_KEYS = {"system", "scale", "n_clips", "n_ratings", "mean", "ci_low", "ci_high", "rank"}


def _musiceval_folder(root: Path, *, with_ratings: bool = True) -> Path:
    r = pd.DataFrame(REF["ratings"])
    clips = r[["clip_id", "system", "prompt_id"]].drop_duplicates().reset_index(drop=True)
    means = r.pivot_table(index="clip_id", columns="scale", values="score")
    clips["MI"] = clips["clip_id"].map(means["MI"])
    clips["TA"] = clips["clip_id"].map(means["TA"])
    clips["split"] = "total"
    clips["audio_file"] = "wav/" + clips["clip_id"] + ".wav"
    src = r[["prompt_id", "source"]].drop_duplicates()
    prompts = pd.DataFrame(
        {
            "prompt_id": src["prompt_id"],
            "text": "a prompt " + src["prompt_id"],
            "source": src["source"],
            "per_clip": False,
        }
    )
    ds = MusicEvalDataset(
        clips=clips,
        prompts=prompts,
        system_mos=system_mos_from_clips(clips),
        ratings=r[["rater", "clip_id", "scale", "score"]] if with_ratings else None,
    )
    write_musiceval(ds, root)
    return root


@pytest.fixture(scope="module")
def mos_report(tmp_path_factory):
    base = tmp_path_factory.mktemp("mos")
    folder = _musiceval_folder(base / "release")
    return build_mos_report(folder, out=base / "report", formats=("png",)), folder


def test_mos_report_files_and_rows(mos_report):
    paths, _folder = mos_report
    assert paths.index.is_file() and paths.results.is_file()
    assert {p.stem for p in (paths.folder / "figures").glob("*.png")} == {
        "mos_histogram",
        "mos_system_distributions",
        "mos_system",
    }
    for name in (
        "mos_system",
        "mos_agreement",
        "mos_pairwise",
        "mos_by_source",
        "mos_distribution",
        "mos_correlation",
    ):
        assert (paths.folder / "tables" / f"{name}.csv").is_file()
    doc = json.loads(paths.results.read_text())
    rows = doc["mos"]["rows"]
    assert len(rows) == 10 and all(set(r) >= ROW_KEYS for r in rows)
    got = pd.DataFrame(rows).set_index(["system", "scale"])
    ref = pd.DataFrame(REF["system_mos"]).set_index(["system", "scale"]).loc[got.index]
    np.testing.assert_allclose(got["mean"], ref["mean"], rtol=1e-12)
    np.testing.assert_allclose(got["ci_low"], ref["ci_low"], rtol=1e-12)
    assert doc["mos"]["has_individual_ratings"] is True
    assert len(doc["mos"]["agreement"]) == 2
    assert {r["source"] for r in doc["mos"]["by_source"]} == {"manual", "MusicCaps"}
    html = paths.index.read_text()
    assert 'id="mos"' in html and "Krippendorff" in html and "data:image/png;base64," in html
    assert doc["summary"][0].startswith("MI: S01 has the highest MOS")


def test_mos_report_from_clip_means_only(tmp_path):
    folder = _musiceval_folder(tmp_path / "rel", with_ratings=False)
    paths = build_mos_report(folder, out=tmp_path / "r", figures=False)
    doc = json.loads(paths.results.read_text())
    assert doc["mos"]["has_individual_ratings"] is False
    assert doc["mos"]["agreement"] == [] and doc["mos"]["distribution"] == []
    assert all(r["n_ratings"] is None for r in doc["mos"]["rows"])
    # release clip means were written rounded by repr: same MOS as from the ratings
    ref = pd.DataFrame(REF["system_mos"]).set_index(["system", "scale"])
    got = pd.DataFrame(doc["mos"]["rows"]).set_index(["system", "scale"])
    np.testing.assert_allclose(got["mean"], ref.loc[got.index, "mean"], rtol=1e-12)


def _study_export(root: Path) -> Path:
    from emoconvey.data import load_dataset, write_dataset

    emo = load_dataset(synthetic_ratings(seed=3))
    write_dataset(emo, root)
    rng = np.random.default_rng(5)
    r = emo.ratings
    offset = r["system"].map({"SysA": 0.8, "SysB": 0.0, "SysC": -0.8})
    oi = np.clip(np.rint(3 + offset + rng.normal(0, 0.8, len(r))), 1, 5).astype(int)
    ta = np.clip(np.rint(3 + rng.normal(0, 1, len(r))), 1, 5).astype(int)
    pd.DataFrame(
        {
            "user": r["listener"],
            "audio_file": r["clip"],
            "overall_impression": oi,
            "text_alignment": ta,
        }
    ).to_csv(root / "extra_ratings.csv", index=False)
    return root


def test_combined_report_has_both_analyses(tmp_path):
    folder = _study_export(tmp_path / "export")
    runner = CliRunner()
    res = runner.invoke(
        app, ["report", "--mos", str(folder), "-o", str(tmp_path / "r"), "--no-figures"]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads((tmp_path / "r" / "results.json").read_text())
    assert "anova" in doc and "ranking" in doc  # the emotion report
    assert {r["scale"] for r in doc["mos"]["rows"]} == {"MI", "TA"}
    emotion = pd.DataFrame(doc["mos"]["emotion"]).set_index("system")
    assert list(emotion.index) == ["SysA", "SysB", "SysC", "(all systems)"]
    assert emotion.loc["(all systems)", "n"] == 3
    assert (tmp_path / "r" / "tables" / "mos_emotion.csv").is_file()
    html = (tmp_path / "r" / "index.html").read_text()
    assert html.count('id="mos"') == 1 and 'href="#mos"' in html
    assert "distance to the intended emotion" in html
    # inside the page, before Methods and the footer, and linked before Methods in the nav
    main = html[html.index("<main>"):html.index("</main>")]
    assert main.index('id="mos"') < main.index('id="methods"') < main.index("<footer>")
    nav = html[html.index("<nav>"):html.index("</nav>")]
    assert nav.index('href="#mos"') < nav.index('href="#methods"')


def test_emotion_correlation_is_the_distance_correlation(tmp_path):
    from emoconvey.data import load_dataset

    folder = _study_export(tmp_path / "export")
    from emoconvey.report.mos import load_mos_folder

    _, ratings, emo = load_mos_folder(folder)
    res = analyse_mos(ratings, emotion=emo)
    e = res.tables["mos_emotion"].set_index("system")
    clips = load_dataset(folder / "ratings_metadata.csv").clips
    dist = np.hypot(
        clips["valence"] - clips["norm_valence"], clips["arousal"] - clips["norm_arousal"]
    )
    mi = ratings[ratings["scale"] == "MI"].groupby("clip_id")["score"].mean()
    a = clips["system"] == "SysA"
    from scipy import stats

    r = stats.pearsonr(clips.loc[a, "clip"].map(mi), dist[a]).statistic
    assert e.loc["SysA", "pearson_r"] == pytest.approx(r, rel=1e-10)
    sm = system_mos(ratings, scales="MI").set_index("system")["mean"]
    assert e.loc["SysA", "mean_quality"] == pytest.approx(sm["SysA"])


def test_cli_errors(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["report", "--mos", str(tmp_path / "none")])
    assert res.exit_code == 2 and "is not a folder" in res.output
    (tmp_path / "empty").mkdir()
    res = runner.invoke(app, ["report", "--mos", str(tmp_path / "empty")])
    assert res.exit_code == 2 and "neither a MusicEval-layout folder" in res.output
    bad = _musiceval_folder(tmp_path / "bad")
    (bad / "sets" / "total_mos_list.txt").write_text("x-S1_P1.wav,7,3\n")
    res = runner.invoke(app, ["report", "--mos", str(bad), "-o", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "total_mos_list.txt, line 1, column 'MI'" in res.output
    with pytest.raises(EmoconveyError, match="expected a MusicEvalDataset or a DataFrame"):
        analyse_mos([1, 2])
    assert load_musiceval(_musiceval_folder(tmp_path / "ok")).ratings is not None


def test_report_reads_person_mos_of_the_full_release(tmp_path):
    """Issue 16: person_mos/ gives agreement and rater effects (pinned to a reference)."""
    from musiceval_helpers import make_official_release

    folder = make_official_release(tmp_path / "release")
    res = analyse_mos(load_musiceval(folder))
    agreement = res.tables["mos_agreement"].set_index("scale")
    assert agreement.loc["MI", "n_ratings"] == 90 and agreement.loc["MI", "n_raters"] == 7
    effects = res.tables["mos_rater_effects"]
    ref = json.loads(
        (Path(__file__).parents[1] / "reference" / "mos_rater_effects.json").read_text()
    )
    assert len(effects) == len(ref)
    for row in effects.itertuples():
        want = ref[f"{row.scale}|{row.rater}"]
        assert row.n_ratings == want["n"]
        assert row.effect == pytest.approx(want["effect"], abs=1e-12)
        assert row.effect_ci_low == pytest.approx(want["low"], abs=1e-12)
        assert row.effect_ci_high == pytest.approx(want["high"], abs=1e-12)
