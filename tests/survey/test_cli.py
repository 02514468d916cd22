"""The ``emoconvey survey`` Typer app: init (manifest, release layout, demo), export."""

from __future__ import annotations

import importlib
import logging
import shutil

import pytest
from fastapi.testclient import TestClient
from survey_helpers import finish_session, start_session, to_ratings
from typer.testing import CliRunner

from emoconvey.data import load_dataset
from emoconvey.survey.app import create_app
from emoconvey.survey.cli import app
from emoconvey.survey.study import open_study

runner = CliRunner()


def test_demo_init_session_export(tmp_path, monkeypatch):
    monkeypatch.delenv("EMOCONVEY_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("EMOCONVEY_SURVEY_DB", raising=False)
    res = runner.invoke(app, ["init", str(tmp_path / "s"), "--demo"])
    assert res.exit_code == 0, res.output
    token_file = tmp_path / "s" / "admin_token"
    assert token_file.stat().st_mode & 0o077 == 0
    study = open_study(tmp_path / "s" / "study.db")
    with TestClient(create_app(study, admin_token="x" * 20, seed=3)) as c:
        for _ in range(2):
            tok = start_session(c)
            to_ratings(c, tok)
            finish_session(c, tok, answer=lambda i: (1 + i % 9, 9 - i % 9))
    res = runner.invoke(app, ["export", str(tmp_path / "s"), "--out", str(tmp_path / "o"),
                              "--contacts", str(tmp_path / "contacts.csv")])
    assert res.exit_code == 0, res.output
    analyse = next(line for line in res.output.splitlines() if line.startswith("analyse with:"))
    assert analyse.startswith("analyse with: emoconvey report --ratings ")
    assert analyse.endswith("--with-reference")  # the published systems beside the study's
    out = tmp_path / "o"
    ds = load_dataset(out / "ratings_metadata.csv", out / "clips_metadata.csv",
                      out / "emotion_intents_metadata.csv", min_ratings=1)
    assert ds.listeners == ["P1", "P2"] and len(ds.ratings) == 12
    assert "Quality-control flags" in (out / "study_report.md").read_text()
    build = getattr(importlib.import_module("emoconvey.report"), "build_report", None)
    if build is not None:  # the report builder runs unchanged on the export
        build(ds, out=tmp_path / "report", figures=False)
        assert any((tmp_path / "report").iterdir())


def test_init_from_manifest_and_errors(tmp_path, demo_files):
    clips, _ = demo_files
    rows = ["system,intent,file"]
    for sysname in ("ToneGen", "PulseNet"):
        for intent in ("happy", "sad"):
            rows.append(f"{sysname},{intent},music_clips/{sysname}/{sysname}_{intent}_1.wav")
    (tmp_path / "m.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "c.toml").write_text('clips_per_participant = 4\ncompletion_code = "XYZ"\n'
                                     '[texts]\nconsent_title = "연구 참여 안내"\n')
    res = runner.invoke(app, ["init", str(tmp_path / "a"), "--clips", str(clips),
                              "--manifest", str(tmp_path / "m.csv"),
                              "--config", str(tmp_path / "c.toml")])
    assert res.exit_code == 0, res.output
    study = open_study(tmp_path / "a" / "study.db")
    assert study.config.text("consent_title") == "연구 참여 안내"
    with TestClient(create_app(study, admin_token=None)) as c:
        assert "연구 참여 안내" in c.get("/").text
    # second init on the same database, too many clips, traversal in manifest, bad config
    res = runner.invoke(app, ["init", str(tmp_path / "a"), "--clips", str(clips),
                              "--manifest", str(tmp_path / "m.csv"),
                              "--config", str(tmp_path / "c.toml")])
    assert res.exit_code == 2 and "already holds a study" in res.output
    (tmp_path / "k40.yaml").write_text("clips_per_participant: 40\n")
    res = runner.invoke(app, ["init", str(tmp_path / "b"), "--clips", str(clips),
                              "--manifest", str(tmp_path / "m.csv"),
                              "--config", str(tmp_path / "k40.yaml")])
    assert res.exit_code == 2 and "distinct (system, intent) pairs" in res.output
    assert "set clips_per_participant: 4 (or fewer) in the study config" in res.output
    (tmp_path / "bad.csv").write_text("system,intent,file\nX,happy,../../etc/passwd\n")
    res = runner.invoke(app, ["init", str(tmp_path / "c"), "--clips", str(clips),
                              "--manifest", str(tmp_path / "bad.csv")])
    assert res.exit_code == 2 and "line 2" in res.output and "'file'" in res.output
    (tmp_path / "bad.yaml").write_text("clips_per_particpant: 3\n")
    res = runner.invoke(app, ["init", str(tmp_path / "d"), "--clips", str(clips),
                              "--config", str(tmp_path / "bad.yaml")])
    assert res.exit_code == 2 and "clips_per_particpant" in res.output


def test_release_layout_scan(tmp_path, demo_files):
    clips, _ = demo_files
    res = runner.invoke(app, ["init", str(tmp_path / "r"), "--clips", str(clips)])
    assert res.exit_code == 0, res.output  # the default 56 > 36 pairs: fitted, and said so
    assert "clips per participant: 36" in res.output
    (tmp_path / "k.yaml").write_text("clips_per_participant: 36\n")
    res = runner.invoke(app, ["init", str(tmp_path / "r2"), "--clips", str(clips),
                              "--config", str(tmp_path / "k.yaml")])
    assert res.exit_code == 0, res.output


def _small_clip_folder(tmp_path, demo_files):
    """4 clips (2 systems x 2 intents) copied from the demo, with a manifest beside them."""
    clips, _ = demo_files
    root = tmp_path / "gen"
    rows = ["system,intent,file"]
    for sysname in ("ToneGen", "PulseNet"):
        for intent in ("happy", "sad"):
            rel = f"music_clips/{sysname}/{sysname}_{intent}_1.wav"
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(clips / rel, root / rel)
            rows.append(f"{sysname},{intent},{rel}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root


def test_small_study_fits_clips_per_participant_with_a_warning(tmp_path, demo_files, caplog):
    root = _small_clip_folder(tmp_path, demo_files)
    with caplog.at_level(logging.WARNING, logger="emoconvey.survey.study"):
        res = runner.invoke(app, ["init", str(tmp_path / "s"), "--manifest",
                                  str(root / "manifest.csv")])  # --manifest alone (README)
    assert res.exit_code == 0, res.output
    assert "clips per participant: 4" in res.output
    assert "only 4 distinct (system, intent) pairs" in caplog.text
    assert "instead of the default 56" in caplog.text
    study = open_study(tmp_path / "s" / "study.db")
    assert study.config.clips_per_participant == 4 and study.clips_root == root.resolve()
    study.store.engine.dispose()


def test_init_refuses_a_clip_that_cannot_be_decoded(tmp_path, demo_files):
    root = _small_clip_folder(tmp_path, demo_files)
    bad = "music_clips/PulseNet/PulseNet_happy_1.wav"  # the first clip: the practice clip
    (root / bad).write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(64))
    res = runner.invoke(app, ["init", str(tmp_path / "s"), "--clips", str(root),
                              "--manifest", str(root / "manifest.csv")])
    assert res.exit_code == 2 and bad in res.output and "cannot be decoded" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "s").exists()
    (root / bad).write_bytes(b"")  # an empty file too
    res = runner.invoke(app, ["init", str(tmp_path / "s"), "--clips", str(root),
                              "--manifest", str(root / "manifest.csv")])
    assert res.exit_code == 2 and bad in res.output


def test_init_on_an_existing_file_is_one_line(tmp_path, demo_files):
    (tmp_path / "taken").write_text("not a study\n")
    res = runner.invoke(app, ["init", str(tmp_path / "taken"), "--clips",
                              str(_small_clip_folder(tmp_path, demo_files))])
    assert res.exit_code == 2
    assert "is a file, not a folder" in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert (tmp_path / "taken").read_text() == "not a study\n"


@pytest.mark.parametrize("cmd", ["serve", "export"])
def test_missing_study(tmp_path, cmd):
    args = [cmd, str(tmp_path / "none")] + (["--out", str(tmp_path / "o")]
                                            if cmd == "export" else [])
    res = runner.invoke(app, args)
    assert res.exit_code == 2 and "does not exist" in res.output


def test_failed_init_leaves_no_folder_and_demo_config_says_how_to_change(tmp_path, demo_files,
                                                                          monkeypatch):
    monkeypatch.delenv("EMOCONVEY_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("EMOCONVEY_SURVEY_DB", raising=False)
    clips, _ = demo_files
    (tmp_path / "bad.yaml").write_text("clips_per_particpant: 3\n")
    res = runner.invoke(app, ["init", str(tmp_path / "new"), "--clips", str(clips),
                              "--config", str(tmp_path / "bad.yaml")])
    assert res.exit_code == 2 and not (tmp_path / "new").exists()
    (tmp_path / "kept").mkdir()  # a folder the user made is never removed
    res = runner.invoke(app, ["init", str(tmp_path / "kept"), "--clips", str(clips),
                              "--config", str(tmp_path / "bad.yaml")])
    assert res.exit_code == 2 and (tmp_path / "kept").is_dir()
    # the demo's study.yaml: its advice to change settings works as written
    res = runner.invoke(app, ["init", str(tmp_path / "d"), "--demo"])
    assert res.exit_code == 0, res.output
    yaml_text = (tmp_path / "d" / "study.yaml").read_text()
    assert "re-run init" not in yaml_text
    assert "emoconvey survey init NEW_FOLDER --clips THIS_FOLDER/clips" in yaml_text
    (tmp_path / "d" / "study.yaml").write_text(
        yaml_text.replace("clips_per_participant: 6", "clips_per_participant: 4"))
    res = runner.invoke(app, ["init", str(tmp_path / "d2"), "--clips",
                              str(tmp_path / "d" / "clips"), "--config",
                              str(tmp_path / "d" / "study.yaml")])
    assert res.exit_code == 0, res.output
    assert open_study(tmp_path / "d2" / "study.db").config.clips_per_participant == 4


def test_study_without_sample_clip_still_has_the_practice_step(tmp_path, demo_files):
    clips, _ = demo_files
    (tmp_path / "k.yaml").write_text("clips_per_participant: 4\ncompletion_code: K\n")
    res = runner.invoke(app, ["init", str(tmp_path / "n"), "--clips", str(clips),
                              "--config", str(tmp_path / "k.yaml")])
    assert res.exit_code == 0, res.output
    study = open_study(tmp_path / "n" / "study.db")
    assert study.config.sample_clip is None
    with TestClient(create_app(study, admin_token=None, seed=1)) as c:
        tok = start_session(c)
        from survey_helpers import session_csrf

        csrf = session_csrf(c, tok)
        c.post(f"/s/{tok}/demographics",
               data={"csrf": csrf, "gender": "Male", "age": "40", "fluency": "yes"})
        page = c.get(f"/s/{tok}").text
        assert study.config.text("sample_title") in page and "<audio" in page
        audio = c.get(f"/s/{tok}/audio/sample")
        assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
        to_ratings(c, tok)
        assert finish_session(c, tok) == 4  # the practice clip adds no rating slot
    study.store.engine.dispose()


def test_release_command(tmp_path, demo_files, monkeypatch):
    monkeypatch.delenv("EMOCONVEY_SURVEY_DB", raising=False)
    clips, config = demo_files
    res = runner.invoke(app, ["init", str(tmp_path / "r"), "--clips", str(clips),
                              "--config", str(config)])
    assert res.exit_code == 0, res.output
    study = open_study(tmp_path / "r" / "study.db")
    application = create_app(study, admin_token=None)
    with TestClient(application) as first:
        token = start_session(first, pid="LOST1")
    second = TestClient(application)
    assert second.get("/?PROLIFIC_PID=LOST1", follow_redirects=False).status_code == 409
    res = runner.invoke(app, ["release", str(tmp_path / "r"), "--pid", "NOBODY"])
    assert res.exit_code == 2 and "no session has the platform ID 'NOBODY'" in res.output
    res = runner.invoke(app, ["release", str(tmp_path / "r"), "--pid", "LOST1"])
    assert res.exit_code == 0 and "released 1 session(s)" in res.output
    from survey_helpers import csrf_of

    r = second.get("/?PROLIFIC_PID=LOST1")
    r = second.post("/start", data={"csrf": csrf_of(r.text), "consent": "yes", "pid": "LOST1"},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith(token)
    study.store.engine.dispose()
