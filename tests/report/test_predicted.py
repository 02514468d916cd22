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
