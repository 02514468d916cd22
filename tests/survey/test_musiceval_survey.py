"""MusicEval export and personal invitations of the survey (emoconvey.survey.musiceval)."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import pandas as pd
import pytest
from survey_helpers import ADMIN, current_position, session_csrf, start_session, to_ratings
from typer.testing import CliRunner

from emoconvey.data.musiceval import load_musiceval
from emoconvey.errors import EmoconveyError
from emoconvey.survey.cli import app
from emoconvey.survey.config import load_config
from emoconvey.survey.demo import make_demo_files
from emoconvey.survey.musiceval import (
    export_musiceval,
    invite_raters,
    musiceval_from_export,
    parse_split,
)
from emoconvey.survey.study import init_study, open_study

CONFIG = """\
title: MOS demo
clips_per_participant: 6
min_ratings: 1
extra_scales: [overall_impression, text_alignment]
"""


@pytest.fixture
def mos_study(tmp_path):
    clips, _ = make_demo_files(tmp_path / "demo")
    (tmp_path / "study.yaml").write_text(CONFIG)
    db = str(tmp_path / "study.db")
    init_study(db, clips, config=load_config(tmp_path / "study.yaml"))
    study = open_study(db)
    yield study
    study.store.engine.dispose()


def _rate_all(client, token: str, mi: int, ta: int) -> int:
    csrf = session_csrf(client, token)
    n = 0
    while (pos := current_position(client, token)) is not None:
        r = client.post(
            f"/s/{token}/rate",
            data={
                "csrf": csrf,
                "position": str(pos),
                "valence": "5",
                "arousal": "5",
                "overall_impression": str(mi),
                "text_alignment": str(ta),
                "played": "1",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        n += 1
    return n


def _run_sessions(study, k: int = 3) -> None:
    from fastapi.testclient import TestClient

    from emoconvey.survey.app import create_app

    with TestClient(create_app(study, admin_token=ADMIN, seed=0)) as client:
        for i in range(k):
            token = start_session(client)
            to_ratings(client, token)
            assert _rate_all(client, token, mi=1 + i, ta=5 - i) == 6


def test_export_musiceval_round_trip(mos_study, tmp_path):
    _run_sessions(mos_study)
    paths = export_musiceval(mos_study, tmp_path / "me")
    assert {
        "sets/total_mos_list.txt",
        "prompt_info.txt",
        "demo_prompt_info.txt",
        "person_mos/total_person_mos.txt",
        "system_mos/system_mos_phase1.csv",
        "flags",
        "report",
    } <= set(paths)
    ds = load_musiceval(tmp_path / "me")
    assert len(ds.clips) == 18 and ds.ratings["rater"].nunique() == 3
    assert set(ds.ratings["scale"]) == {"MI", "TA"}
    assert ds.clips["clip_id"].str.startswith("emoconvey-").all()
    # clip means are the means of the individual ratings
    means = ds.ratings.pivot_table(index="clip_id", columns="scale", values="score")
    got = ds.clips.set_index("clip_id")
    pd.testing.assert_series_equal(got["MI"], means.loc[got.index, "MI"], check_names=False)
    assert ds.prompts["source"].eq("intent").all()


def test_cli_export_with_audiomos_ids(mos_study, tmp_path):
    """Issue 16: ``--ids audiomos`` ships a folder the official MusicEval tools read."""
    from emoconvey.data.musiceval import check_compatibility

    _run_sessions(mos_study, k=2)
    study_dir = Path(mos_study.store.engine.url.database).parent
    res = CliRunner().invoke(app, ["export", str(study_dir), "--out", str(tmp_path / "am"),
                                   "--format", "musiceval", "--ids", "audiomos"])
    assert res.exit_code == 0, res.output
    assert check_compatibility(tmp_path / "am").empty
    systems = pd.read_csv(tmp_path / "am" / "sets" / "systems.csv")
    ds = load_musiceval(tmp_path / "am")
    assert set(ds.systems) == set(systems["system_id"])
    assert ds.clips["clip_id"].str.match(r"^audiomos2025-track1-S\d{3}_P\d{3}$").all()


def test_cli_export_with_split_and_report(mos_study, tmp_path):
    _run_sessions(mos_study, k=2)
    study_dir = Path(mos_study.store.engine.url.database).parent
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "export",
            str(study_dir),
            "--out",
            str(tmp_path / "me"),
            "--format",
            "musiceval",
            "--split",
            "train=0.5,test=0.5",
            "--seed",
            "3",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "emoconvey report --mos" in res.output
    ds = load_musiceval(tmp_path / "me")
    assert set(ds.clips["split"]) <= {"train", "test"}
    assert ds.clips.groupby("prompt_id")["split"].nunique().max() == 1
    res = runner.invoke(
        app,
        [
            "export",
            str(study_dir),
            "--out",
            str(tmp_path / "x"),
            "--format",
            "musiceval",
            "--split",
            "train:0.5",
        ],
    )
    assert res.exit_code == 2 and "--split: expected 'name=weight" in res.output
    res = runner.invoke(
        app, ["export", str(study_dir), "--out", str(tmp_path / "x"), "--format", "csv"]
    )
    assert res.exit_code == 2 and "--format: expected aimoclips or musiceval" in res.output


def test_export_without_mos_scales_fails(demo_study, client, tmp_path):
    from survey_helpers import finish_session

    token = start_session(client)
    to_ratings(client, token)
    finish_session(client, token)
    with pytest.raises(EmoconveyError, match="has no MOS scales"):
        export_musiceval(demo_study, tmp_path / "me")


def test_musiceval_from_export_bad_scores(tmp_path):
    (tmp_path / "clips_metadata.csv").write_text(
        "index,audio_file,model,emotion,file_index,valence,arousal,num_annotators\n"
        "0,A_happy_1.wav,A,happy,1,5,5,1\n"
    )
    (tmp_path / "extra_ratings.csv").write_text(
        "user,audio_file,overall_impression,text_alignment\nP1,A_happy_1.wav,7,3\n"
    )
    with pytest.raises(EmoconveyError, match="expected integer scores 1-5, found '7'"):
        musiceval_from_export(tmp_path)
    (tmp_path / "extra_ratings.csv").write_text("user,audio_file,fun\nP1,A_happy_1.wav,3\n")
    with pytest.raises(EmoconveyError, match="no MOS scale column"):
        musiceval_from_export(tmp_path)


def test_parse_split():
    assert parse_split("train=0.8, dev=0.1,test=0.1") == {"train": 0.8, "dev": 0.1, "test": 0.1}
    assert parse_split(None) is None
    with pytest.raises(EmoconveyError, match="--split"):
        parse_split("train=-1")


def test_invite_links_open_personal_sessions(mos_study, tmp_path):
    from fastapi.testclient import TestClient

    from emoconvey.survey.app import create_app

    names = tmp_path / "names.txt"
    names.write_text("Ada\nBea\n\nCem\n")
    study_dir = Path(mos_study.store.engine.url.database).parent
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "invite",
            str(study_dir),
            "--names",
            str(names),
            "--base-url",
            "https://mos.example.org/study",
        ],
    )
    assert res.exit_code == 0, res.output
    path = study_dir / "invites.csv"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    rows = list(csv.DictReader(path.open()))
    assert [r["rater"] for r in rows] == ["Ada", "Bea", "Cem"]
    assert all(r["link"].startswith("https://mos.example.org/study/s/") for r in rows)
    token = rows[0]["link"].rsplit("/", 1)[-1]
    with TestClient(create_app(mos_study, admin_token=ADMIN, seed=0)) as client:
        r = client.get(f"/s/{token}")
        assert r.status_code == 200 and 'name="csrf"' in r.text
        to_ratings(client, token)
        assert _rate_all(client, token, 4, 4) == 6
    # a name cannot be invited twice; --n and --names must agree
    with pytest.raises(EmoconveyError, match=r"already invited: \['Ada'\]"):
        invite_raters(mos_study, tmp_path / "again.csv", names=["Ada"])
    res = runner.invoke(
        app,
        [
            "invite",
            str(study_dir),
            "--n",
            "2",
            "--names",
            str(names),
            "--out",
            str(tmp_path / "x.csv"),
        ],
    )
    assert res.exit_code == 2 and "lists 3 raters" in res.output
    res = runner.invoke(
        app, ["invite", str(study_dir), "--n", "2", "--out", str(tmp_path / "n.csv")]
    )
    assert res.exit_code == 0, res.output
    assert [r["rater"] for r in csv.DictReader((tmp_path / "n.csv").open())] == ["R01", "R02"]
    res = runner.invoke(app, ["invite", str(study_dir)])
    assert res.exit_code == 2 and "give --n or --names" in res.output
    res = runner.invoke(
        app, ["invite", str(study_dir), "--n", "0", "--out", str(tmp_path / "z.csv")]
    )
    assert res.exit_code == 2 and "--n: expected a positive number" in res.output
    with pytest.raises(EmoconveyError, match="exists; links are written once"):
        invite_raters(mos_study, tmp_path / "n.csv", n=1)
    with pytest.raises(EmoconveyError, match="--base-url"):
        invite_raters(mos_study, tmp_path / "b.csv", n=1, base_url="mos.example.org")
