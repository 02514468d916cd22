"""``emoconvey report --predicted``: the report of predicted ratings, marked and compared."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from emoconvey.cli import app
from emoconvey.data import load_dataset
from emoconvey.errors import DataValidationError
from emoconvey.report.predicted import (
    PREDICTED_LISTENER,
    compare_with_human,
    predicted_dataset,
    read_predictions,
)
from synthetic import synthetic_ratings

runner = CliRunner()


def _predictions(human_clips: pd.DataFrame, noise: float, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "audio_file": "/audio/" + human_clips["clip"].str.replace("_crop", "", regex=False),
        "system": human_clips["system"],
        "intent": human_clips["intent"],
        "valence": np.clip(human_clips["valence"] + rng.normal(0, noise, len(human_clips)), 1, 9),
        "arousal": np.clip(human_clips["arousal"] + rng.normal(0, noise, len(human_clips)), 1, 9),
    })


@pytest.fixture
def human(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    path = tmp_path / "human.csv"
    synthetic_ratings(clips_per_pair=2).to_csv(path, index=False)
    return path, load_dataset(path).clips


def test_predicted_dataset_keeps_continuous_values(human: tuple[Path, pd.DataFrame]) -> None:
    _, clips = human
    pred = _predictions(clips, 0.3)
    ds = predicted_dataset(pred)
    assert set(ds.ratings["listener"]) == {PREDICTED_LISTENER}
    assert len(ds.ratings) == len(pred) == len(ds.clips)
    merged = ds.clips.set_index("clip_file").loc[pred["audio_file"]]
    np.testing.assert_allclose(merged["valence"], pred["valence"])
    np.testing.assert_allclose(merged["arousal"], pred["arousal"])
    assert not np.allclose(ds.ratings["valence"], np.round(ds.ratings["valence"]))


def test_comparison_with_human_ratings(human: tuple[Path, pd.DataFrame]) -> None:
    path, clips = human
    hds = load_dataset(path)
    perfect = compare_with_human(predicted_dataset(_predictions(clips, 0.0)), hds, n_boot=0)
    assert perfect is not None
    agree = perfect["agreement"].set_index(["target", "level"])
    assert agree.loc[("valence", "utterance"), "LCC"] == pytest.approx(1.0)
    assert agree.loc[("arousal", "system"), "n"] == 3
    ranking = perfect["ranking"]
    assert (ranking["rank_human"] == ranking["rank_predicted"]).all()
    np.testing.assert_allclose(ranking["diff_mean_distance"], 0, atol=1e-9)
    kt = perfect["ranking_agreement"].set_index("statistic").loc["kendall_tau_b", "value"]
    assert kt == pytest.approx(1.0)
    other = clips.assign(clip="Other" + clips["clip"], system="Other" + clips["system"])
    assert compare_with_human(predicted_dataset(_predictions(other, 0.1)), hds) is None


def test_report_cli_marks_everything_predicted(
    human: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    path, clips = human
    pred_csv = tmp_path / "predictions.csv"
    _predictions(clips, 0.5).to_csv(pred_csv, index=False)
    out = tmp_path / "report"
    result = runner.invoke(app, ["report", "--predicted", str(pred_csv), "--ratings", str(path),
                                 "--no-figures", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "PREDICTED" in result.output
    page = (out / "index.html").read_text()
    assert "PREDICTED ratings (no listening test)" in page
    assert 'id="predicted-banner"' in page and 'id="predicted-vs-human"' in page
    doc = json.loads((out / "results.json").read_text())
    assert doc["predicted"] is True and doc["source"].startswith("PREDICTED")
    assert doc["dataset"]["listeners"] == 1
    comp = doc["prediction"]["comparison"]
    assert {r["target"] for r in comp["agreement"]} == {"valence", "arousal"}
    assert len(comp["ranking"]) == 3
    assert (out / "tables" / "PREDICTED.txt").is_file()
    ranking = pd.read_csv(out / "comparison" / "ranking.csv")
    assert list(ranking.columns[:3]) == ["system", "rank_human", "rank_predicted"]
    # without human ratings: marked, no comparison
    result = runner.invoke(app, ["report", "--predicted", str(pred_csv), "--no-figures",
                                 "--out", str(tmp_path / "alone")])
    assert result.exit_code == 0, result.output
    alone = json.loads((tmp_path / "alone" / "results.json").read_text())
    assert alone["predicted"] is True and alone["prediction"]["comparison"] is None


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("audio_file,system,valence,arousal\na.wav,S,5,5\n", "missing column(s) 'intent'"),
        ("audio_file,system,intent,valence,arousal\n", "no data rows"),
        ("audio_file,system,intent,valence,arousal\na.wav,S,,5,5\n",
         "line 2, column 'intent': empty intent"),
        ("audio_file,system,intent,valence,arousal\na.wav,S,happy,5,12\n",
         "line 2, column 'arousal': expected a predicted rating from 1 to 9, found '12'"),
    ],
)
def test_bad_predictions(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "p.csv"
    f.write_text(content)
    with pytest.raises(DataValidationError, match=None) as info:
        read_predictions(f)
    assert message in str(info.value)
    result = runner.invoke(app, ["report", "--predicted", str(f), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and message in result.output


def test_ratings_and_reference_together_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--predicted", "p.csv", "--ratings", "r.csv",
                                 "--with-reference", "--out", str(tmp_path / "r")])
    assert result.exit_code == 2 and "not both" in result.output


def _model_folder(folder: Path, n_systems: int = 8) -> Path:
    """A model folder's JSON (card and metrics) as predict train writes it."""
    folder.mkdir(parents=True)
    metrics = [
        {"target": t, "level": lvl, "split": "by-system", "n": n, "MSE": 0.5, "LCC": 0.8,
         "SRCC": 0.7, "KTAU": 0.6, "LCC_ci_low": 0.7, "LCC_ci_high": 0.9,
         "SRCC_ci_low": 0.6, "SRCC_ci_high": 0.8}
        for t in ("valence", "arousal") for lvl, n in (("utterance", 80), ("system", n_systems))
    ]
    card = {"format": "emoconvey-predictor", "format_version": 1,
            "extractor": {"id": "handcrafted", "version": "3"}, "head": "ridge",
            "targets": ["valence", "arousal"], "scales": {}, "groups": [],
            "training": {"source": "ratings.csv", "n_clips": 80, "n_systems": n_systems,
                         "split": "by-system", "folds": 5, "trained_on": "all clips"},
            "metrics": metrics, "ood": {"method": "knn-crossfit", "alpha": 0.05,
                                        "calibration": "by-system"}}
    (folder / "card.json").write_text(json.dumps(card))
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder


def _main_and_nav(page: str) -> tuple[str, str]:
    return page[page.index("<main>"):page.index("</main>")], page[
        page.index("<nav>"):page.index("</nav>")]


def test_model_card_first_flags_and_listener_free_page(
    human: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    path, clips = human
    model = _model_folder(tmp_path / "model")
    pred = _predictions(clips, 0.5).assign(model=str(model), ood=False, extrapolated=False,
                                           clamped=False)
    pred.loc[:3, "ood"] = True
    pred.loc[0, "clamped"] = True
    csv = tmp_path / "predictions.csv"
    pred.to_csv(csv, index=False)
    out = tmp_path / "report"
    result = runner.invoke(app, ["report", "--predicted", str(csv), "--ratings", str(path),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = (out / "index.html").read_text()
    main, nav = _main_and_nav(page)
    # banner, then the model card, then everything else
    assert (main.index('id="predicted-banner"') < main.index('id="flagged-banner"')
            < main.index('id="model-card"') < main.index('id="summary"'))
    assert "4 of 72 clips are unlike the model" in main and "1 of 72 clips had predictions" in main
    assert nav.index('href="#model-card"') < nav.index('href="#summary"')
    card = main[main.index('id="model-card"'):main.index('id="summary"')]
    for text in (str(model.resolve()), "handcrafted (version 3)", "ridge", "ratings.csv: 80 clips",
                 "by-system (5 fold(s))", "0.800 [0.700, 0.900]", "4 of 72 clips (5.6 %)"):
        assert text in card, text
    # the comparison inside the page and the navigation, before Methods
    assert main.index('id="predicted-vs-human"') < main.index('id="methods"')
    assert nav.index('href="#predicted-vs-human"') < nav.index('href="#methods"')
    # listener-only wording and sections gone; counts as integers
    for gone in ("rated by 1 listener", "No clip had fewer than", "valence \u03b1 =",
                 "z-scored",
                 "clips excluded", 'id="agreement"', "Inter-rater", 'id="mixed"',
                 "fewer than 2 clips with at least 2 ratings"):
        assert gone not in page, gone
    assert '<td class="txt">clips</td><td class="num">72</td>' in page
    assert "rated by an automatic predictor" in page
    # every table and figure file marked as predicted
    tables = {p.name for p in (out / "tables").iterdir()}
    assert tables and all(n.endswith("_predicted.csv") for n in tables - {"PREDICTED.txt"})
    assert "agreement_predicted.csv" not in tables
    figures = {p.name for p in (out / "figures").iterdir()} - {"PREDICTED.txt"}
    assert figures and all(p.rsplit(".", 1)[0].endswith("_predicted") for p in figures)
    assert "PREDICTED ratings. " in page
    doc = json.loads((out / "results.json").read_text())
    assert doc["model"]["folder"] == str(model.resolve())
    assert doc["model"]["extractor"] == "handcrafted" and doc["model"]["head"] == "ridge"
    assert doc["model"]["training"]["n_clips"] == 80
    assert doc["model"]["training"]["split"] == "by-system"
    assert doc["model"]["metrics"][0]["LCC_ci_low"] == 0.7
    assert doc["model"]["n_ood"] == 4 and doc["model"]["ood_share"] == pytest.approx(4 / 72)
    assert doc["prediction"]["flags"]["clamped"] == 1


def test_unknown_model_one_system_and_few_systems(
    human: tuple[Path, pd.DataFrame], tmp_path: Path
) -> None:
    from emoconvey.report.predicted import build_predicted_report

    _, clips = human
    one = _predictions(clips[clips["system"] == clips["system"].iloc[0]], 0.3)
    folder = build_predicted_report(one, out=tmp_path / "r1", figures=False, n_boot=0)
    page = (folder / "index.html").read_text()
    assert "The model that made these predictions is unknown" in page
    assert "F(0," not in page and "only one system level" in page
    assert "the predictions carry no out-of-distribution check" in page
    assert json.loads((folder / "results.json").read_text())["model"] is None
    few = _model_folder(tmp_path / "few", n_systems=3)
    folder = build_predicted_report(_predictions(clips, 0.3).assign(ood=False), out=tmp_path / "r2",
                                    figures=False, n_boot=0, model=few)
    page = (folder / "index.html").read_text()
    assert "system-level metrics over 3 systems (fewer than 5) mean little" in page
    assert 'id="flagged-banner"' not in page
    doc = json.loads((folder / "results.json").read_text())
    assert doc["model"]["warnings"][0].startswith("valence: system-level metrics over 3")
    missing = build_predicted_report(_predictions(clips, 0.3).assign(model="/nowhere"),
                                     out=tmp_path / "r3", figures=False, n_boot=0)
    assert "cannot read card.json" in (missing / "index.html").read_text()
