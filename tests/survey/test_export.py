"""The export of a study and its path into ``emoconvey report`` (defects of issue 6)."""

from __future__ import annotations

from importlib import resources

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from survey_helpers import finish_session, start_session, to_ratings
from typer.testing import CliRunner

from emoconvey.cli import app as main_app
from emoconvey.survey.app import create_app
from emoconvey.survey.cli import app as survey_app
from emoconvey.survey.study import open_study

runner = CliRunner()


@pytest.fixture
def exported(tmp_path, monkeypatch):
    """A demo study with two finished listeners and one without demographics, exported."""
    monkeypatch.delenv("EMOCONVEY_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("EMOCONVEY_SURVEY_DB", raising=False)
    res = runner.invoke(survey_app, ["init", str(tmp_path / "s"), "--demo"])
    assert res.exit_code == 0, res.output
    study = open_study(tmp_path / "s" / "study.db")
    with TestClient(create_app(study, admin_token=None, seed=3)) as c:
        for age in (30, 41):
            tok = start_session(c)
            to_ratings(c, tok, age=age)
            finish_session(c, tok, answer=lambda i: (1 + i % 9, 9 - i % 9))
        start_session(c)  # consented, never answered the demographics
    study.store.engine.dispose()
    res = runner.invoke(survey_app, ["export", str(tmp_path / "s"), "--out",
                                     str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    return tmp_path / "o", res.output


def test_exported_intents_are_byte_identical_and_report_with_reference_runs(exported,
                                                                              tmp_path):
    out, _ = exported
    bundled = resources.files("emoconvey.data").joinpath(
        "aimoclips/emotion_intents_metadata.csv").read_text(encoding="utf-8")
    written = (out / "emotion_intents_metadata.csv").read_text(encoding="utf-8")
    assert "0000000" not in written
    assert written.splitlines() == bundled.splitlines()
    res = runner.invoke(main_app, [
        "validate", "--ratings", str(out / "ratings_metadata.csv"),
        "--clips", str(out / "clips_metadata.csv"),
        "--intents", str(out / "emotion_intents_metadata.csv"), "--min-ratings", "1"])
    assert res.exit_code == 0, res.output
    from emoconvey.cli import _load

    combined, reference = _load(out / "ratings_metadata.csv", out / "clips_metadata.csv",
                                out / "emotion_intents_metadata.csv", 1, with_reference=True)
    assert len(reference) == 6 and len(combined.systems) == 9


def test_small_study_error_names_the_threshold(exported, tmp_path):
    out, export_output = exported
    assert "--min-ratings 2" in export_output  # the demo study's own min_ratings
    report_dir = tmp_path / "rep"
    res = runner.invoke(main_app, [
        "report", "--ratings", str(out / "ratings_metadata.csv"),
        "--clips", str(out / "clips_metadata.csv"),
        "--intents", str(out / "emotion_intents_metadata.csv"), "--out", str(report_dir),
        "--no-figures"])
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert "fewer than 4 ratings" in text and "--min-ratings" in text
    assert "excluded" in text and "clip(s)" in text
    assert "data row(s)" not in text
    assert not (report_dir / "tables").exists()


def test_demographics_ages_are_whole_numbers(exported):
    out, _ = exported
    lines = (out / "demographics.csv").read_text().splitlines()
    assert lines[0] == "user,gender,age,fluency,completed,n_ratings"
    ages = [line.split(",")[2] for line in lines[1:]]
    assert ages == ["30", "41"]
    demo = pd.read_csv(out / "demographics.csv")
    assert list(demo["age"]) == [30, 41]


def test_age_blank_when_a_listener_gave_none(demo_study, client, tmp_path):
    from sqlalchemy import update

    from emoconvey.survey.export import export_study
    from emoconvey.survey.storage import Participant

    for age in (25, 52):
        tok = start_session(client)
        to_ratings(client, tok, age=age)
        finish_session(client, tok, limit=2)
    with demo_study.store.write() as s:  # a listener whose demographics were not kept
        s.execute(update(Participant).where(Participant.age == 52).values(age=None))
    paths = export_study(demo_study, tmp_path / "x")
    rows = [line.split(",") for line in paths["demographics"].read_text().splitlines()[1:]]
    assert [r[2] for r in rows] == ["25", ""]
