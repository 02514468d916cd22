"""MOS studies (protocol: musiceval): init, invited raters, batches in the server, export."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emoconvey.data.musiceval import load_musiceval
from emoconvey.errors import EmoconveyError
from emoconvey.survey.cli import app
from emoconvey.survey.demo import write_wav
from emoconvey.survey.protocols.musiceval import (
    MosConfig,
    export_mos_study,
    init_mos_study,
    open_mos_study,
)

CONFIG = """\
protocol: musiceval
title: MOS test study
ratings_per_clip: 2
batch_size: 5
repeats_per_batch: 1
anchors:
  - {file: anchors/real1.wav, prompt: "A real string quartet"}
  - {file: anchors/real2.wav, prompt: "A real jazz trio"}
  - {file: anchors/real3.wav, prompt: "A real choir"}
"""


def make_files(root: Path, *, systems: int = 3, prompts: int = 4) -> dict[str, Path]:
    import numpy as np

    tone = 0.1 * np.sin(np.linspace(0, 200, 1600))
    rows = ["system,prompt_id,file"]
    for s in range(1, systems + 1):
        for p in range(1, prompts + 1):
            rel = f"clips/S{s:02d}_P{p:03d}.wav"
            write_wav(root / rel, tone)
            rows.append(f"S{s:02d},P{p:03d},{rel}")
    for a in (1, 2, 3):
        write_wav(root / f"anchors/real{a}.wav", tone)
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    (root / "prompt_info.txt").write_text(
        "id\ttext\tsource\n"
        + "".join(
            f"P{p:03d}\tPrompt number {p}: calm piano\tmanual\n" for p in range(1, prompts + 1)
        )
    )
    (root / "mos.yaml").write_text(CONFIG)
    return {
        "root": root,
        "manifest": root / "manifest.csv",
        "prompts": root / "prompt_info.txt",
        "config": root / "mos.yaml",
    }


@pytest.fixture
def mos_dir(tmp_path):
    files = make_files(tmp_path / "files")
    study_dir = tmp_path / "study"
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "init",
            str(study_dir),
            "--clips",
            str(files["root"]),
            "--manifest",
            str(files["manifest"]),
            "--prompts",
            str(files["prompts"]),
            "--config",
            str(files["config"]),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "MOS study created" in res.output
    res = runner.invoke(app, ["invite", str(study_dir), "--n", "3"])
    assert res.exit_code == 0, res.output
    return study_dir


def _links(study_dir: Path) -> dict[str, str]:
    with (study_dir / "invites.csv").open() as fh:
        return {r["rater"]: r["link"].rsplit("/", 1)[-1] for r in csv.DictReader(fh)}


def _client(study_dir: Path):
    from fastapi.testclient import TestClient

    from emoconvey.survey.mos_app import create_mos_app

    study = open_mos_study(study_dir / "mos.db", seed=0)
    return TestClient(create_mos_app(study, admin_token="admin-secret-0123456789")), study


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def _rate_batch(client, token: str, score=lambda prompt, pos: (4, 4), limit=None) -> int:
    n = 0
    while True:
        html = client.get(f"/r/{token}").text
        m = re.search(r'name="position" value="([0-9]+)"', html)
        if m is None or (limit is not None and n >= limit):
            return n
        batch = re.search(r'name="batch" value="([0-9]+)"', html).group(1)
        prompt = re.search(r'id="prompt">.*?</span> (.*?)</blockquote>', html)
        mi, ta = score(prompt.group(1) if prompt else None, int(m.group(1)))
        r = client.post(
            f"/r/{token}/rate",
            data={
                "csrf": _csrf(html),
                "batch": batch,
                "position": m.group(1),
                "MI": str(mi),
                "TA": str(ta),
            },
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        n += 1


def test_invited_raters_complete_the_study(mos_dir, tmp_path):
    client, study = _client(mos_dir)
    links = _links(mos_dir)
    with client:
        assert client.get("/").status_code == 200
        assert client.get("/r/" + "x" * 30).status_code == 404
        for _name, token in links.items():
            html = client.get(f"/r/{token}").text
            assert "Start" in html
            r = client.post(f"/r/{token}/start", data={"csrf": _csrf(html)}, follow_redirects=False)
            assert r.status_code == 303
        # every rater works through batches until nothing is left for them
        for _ in range(20):
            for _name, token in links.items():
                html = client.get(f"/r/{token}").text
                if "Next batch" in html:
                    client.post(f"/r/{token}/start", data={"csrf": _csrf(html)})
                _rate_batch(client, token)
        for token in links.values():
            html = client.get(f"/r/{token}").text
            if "Next batch" in html:
                client.post(f"/r/{token}/start", data={"csrf": _csrf(html)})
            assert "All done" in client.get(f"/r/{token}").text
        status = client.get("/admin?token=admin-secret-0123456789&format=json").json()
        assert client.get("/admin").status_code == 403
        html = client.get("/admin?token=admin-secret-0123456789").text
        assert "12 of 12 clips have all their ratings" in html
    assert [r["complete"] for r in status["systems"]] == [4, 4, 4]
    assert status["ratings_per_clip"] == {"2": 12} and status["complete_clips"] == 12
    assert status["invalid"] == []
    paths = export_mos_study(study, tmp_path / "me")
    ds = load_musiceval(tmp_path / "me")
    assert len(ds.clips) == 12
    assert ds.ratings.groupby(["clip_id", "scale"]).size().eq(2).all()
    assert (tmp_path / "me" / "study_report.md").read_text().count("invalid raters: none") == 1
    assert "invalid" in paths


def test_prompt_is_shown_and_clips_of_a_prompt_come_together(mos_dir):
    client, _study = _client(mos_dir)
    token = _links(mos_dir)["R01"]
    seen = []
    with client:
        html = client.get(f"/r/{token}").text
        client.post(f"/r/{token}/start", data={"csrf": _csrf(html)})
        _rate_batch(client, token, score=lambda prompt, pos: seen.append(prompt) or (3, 3))
    assert all(p for p in seen)
    mains = [p for p in seen if p.startswith("Prompt number")]
    runs = [p for i, p in enumerate(mains) if i == 0 or mains[i - 1] != p]
    # one run per prompt, except the repeat shown again later
    assert len(runs) - len(set(runs)) <= 1
    assert any(p.startswith("A real") for p in seen)  # the anchor with its own prompt


def test_probe_failures_are_reported_and_can_be_dropped(mos_dir, tmp_path):
    client, study = _client(mos_dir)
    links = _links(mos_dir)
    with client:
        for name, token in links.items():
            html = client.get(f"/r/{token}").text
            client.post(f"/r/{token}/start", data={"csrf": _csrf(html)})
            # R02 scores the anchors 1: invalid by the anchor rule
            bad = name == "R02"
            _rate_batch(
                client,
                token,
                score=lambda prompt, pos, bad=bad: (
                    (1, 1) if bad and prompt and prompt.startswith("A real") else (4, 4)
                ),
            )
    status = study.progress()
    assert {r["rater"] for r in status["invalid"]} == {"R02"}
    export_mos_study(study, tmp_path / "keep")
    export_mos_study(study, tmp_path / "drop", drop_invalid=True)
    keep = load_musiceval(tmp_path / "keep").ratings
    drop = load_musiceval(tmp_path / "drop").ratings
    assert "R02" in set(keep["rater"]) and "R02" not in set(drop["rater"])
    report = (tmp_path / "drop" / "study_report.md").read_text()
    assert "R02: anchor: scored anchor" in report and "(dropped)" in report
    # the CLI: export --format musiceval, then the MOS report
    res = CliRunner().invoke(
        app,
        [
            "export",
            str(mos_dir),
            "--out",
            str(tmp_path / "cli"),
            "--format",
            "musiceval",
            "--drop-flagged",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "R02" not in set(load_musiceval(tmp_path / "cli").ratings["rater"])
    from emoconvey.cli import app as main_app

    res = CliRunner().invoke(
        main_app,
        ["report", "--mos", str(tmp_path / "cli"), "-o", str(tmp_path / "rep"), "--no-figures"],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "rep" / "tables" / "mos_system.csv").is_file()


def test_answers_in_order_once_and_validated(mos_dir):
    client, study = _client(mos_dir)
    token = _links(mos_dir)["R01"]
    with client:
        html = client.get(f"/r/{token}").text
        csrf = _csrf(html)
        client.post(f"/r/{token}/start", data={"csrf": csrf})
        html = client.get(f"/r/{token}").text
        batch = re.search(r'name="batch" value="([0-9]+)"', html).group(1)
        base = {"csrf": csrf, "batch": batch, "position": "0", "MI": "3", "TA": "3"}
        assert client.post(f"/r/{token}/rate", data=base | {"MI": "6"}).status_code == 422
        assert client.post(f"/r/{token}/rate", data=base | {"csrf": "x"}).status_code == 403
        assert client.post(f"/r/{token}/rate", data=base | {"position": "2"}).status_code == 409
        r = client.post(f"/r/{token}/rate", data=base, follow_redirects=False)
        assert r.status_code == 303
        r = client.post(f"/r/{token}/rate", data=base, follow_redirects=False)
        assert r.status_code == 303  # a page submitted twice makes one rating
        assert len(study.answers()) == 1
        assert client.get(f"/r/{token}/audio/{batch}/0").status_code == 200
        assert client.get(f"/r/{token}/audio/{batch}/99").status_code == 404
    # the state survives a restart
    again = open_mos_study(mos_dir / "mos.db", seed=1)
    assert again.assigner.progress()["held"].sum() == study.assigner.progress()["held"].sum()
    assert again.current_batch("R01").answered == {0}


def test_init_and_config_errors(tmp_path):
    files = make_files(tmp_path / "f")
    with pytest.raises(EmoconveyError, match="batch_size: expected an integer >= 1"):
        MosConfig.from_dict({"protocol": "musiceval", "batch_size": 0})
    with pytest.raises(EmoconveyError, match="unknown setting"):
        MosConfig.from_dict({"protocol": "musiceval", "clips_per_participant": 3})
    with pytest.raises(EmoconveyError, match="scales: expected a mapping with keys MI and TA"):
        MosConfig.from_dict({"scales": {"valence": {}}})
    (files["root"] / "bad.csv").write_text("system,prompt_id,file\nS01,P999,clips/S01_P001.wav\n")
    with pytest.raises(EmoconveyError, match="line 2, column 'prompt_id': unknown prompt 'P999'"):
        init_mos_study(
            tmp_path / "a.db",
            files["root"],
            manifest=files["root"] / "bad.csv",
            prompts=files["prompts"],
        )
    (files["root"] / "bad.csv").write_text("system,prompt_id,file\nS01,P001,nope.wav\n")
    with pytest.raises(EmoconveyError, match="audio file 'nope.wav' not found"):
        init_mos_study(
            tmp_path / "b.db",
            files["root"],
            manifest=files["root"] / "bad.csv",
            prompts=files["prompts"],
        )
    runner = CliRunner()
    res = runner.invoke(app, ["init", str(tmp_path / "s"), "--config", str(files["config"])])
    assert res.exit_code == 2 and "give --clips, --manifest" in res.output
    # a failed init leaves no folder behind that it created itself (as AImoclips studies)
    res = runner.invoke(app, ["init", str(tmp_path / "s2"), "--config", str(files["config"]),
                              "--clips", str(files["root"]), "--manifest",
                              str(files["root"] / "bad.csv"), "--prompts", str(files["prompts"])])
    assert res.exit_code == 2 and "audio file 'nope.wav' not found" in res.output
    assert not (tmp_path / "s2").exists()
    # every clip is decoded at init: a broken file is refused by name (issue 15, defect 9)
    broken = files["root"] / "clips" / "S02_P003.wav"
    good = broken.read_bytes()
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(EmoconveyError, match="'clips/S02_P003.wav': cannot be decoded"):
        init_mos_study(tmp_path / "d.db", files["root"], manifest=files["manifest"],
                       prompts=files["prompts"])
    broken.write_bytes(good)
    init_mos_study(
        tmp_path / "c.db", files["root"], manifest=files["manifest"], prompts=files["prompts"]
    )
    with pytest.raises(EmoconveyError, match="already holds a study"):
        init_mos_study(
            tmp_path / "c.db", files["root"], manifest=files["manifest"], prompts=files["prompts"]
        )
    study = open_mos_study(tmp_path / "c.db")
    with pytest.raises(EmoconveyError, match="no ratings yet"):
        export_mos_study(study, tmp_path / "out")


def test_idle_batches_are_released_to_others(tmp_path):
    from emoconvey.survey.protocols.musiceval import invite_mos_raters

    files = make_files(tmp_path / "f", systems=2, prompts=2)
    cfg = MosConfig(ratings_per_clip=1, batch_size=4, repeats_per_batch=0, session_expiry_minutes=0)
    study = init_mos_study(
        tmp_path / "m.db",
        files["root"],
        manifest=files["manifest"],
        prompts=files["prompts"],
        config=cfg,
    )
    invite_mos_raters(study, tmp_path / "inv.csv", names=["A", "B"])
    a = study.start_batch("A")
    study.answer("A", a.batch_id, 0, 3, 3)
    assert study.start_batch("B") is not None  # A idle (expiry 0): released to B
    a = study.batch(a.batch_id)
    assert not a.open and a.reached == 2
    b = study.current_batch("B")
    assert sorted(b.main_clips) == sorted(a.main_clips[1:])
    with pytest.raises(EmoconveyError, match="batch was closed"):
        study.answer("A", a.batch_id, 1, 3, 3)
    reopened = open_mos_study(tmp_path / "m.db")
    assert reopened.assigner.progress()["done"].sum() == 1
    assert reopened.current_batch("A") is None
