"""Generated output goes unchanged into ``survey init`` and ``load_dataset(audio_root=)``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from generate_helpers import run_kwargs
from typer.testing import CliRunner

from emoconvey.data import load_dataset
from emoconvey.generate.run import run_generation
from emoconvey.survey.cli import app as survey_app
from emoconvey.survey.study import open_study


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    run_generation(out=out, **run_kwargs(clips_per_intent=1))
    run_generation(backend="cues", system="Cues", out=out, clips_per_intent=1, seconds=3.0,
                   crop=1.0, options={"renderer": "numpy"})
    return out


@pytest.mark.parametrize("use_manifest", [False, True])
def test_survey_init_takes_the_output(tmp_path, generated, use_manifest, monkeypatch):
    monkeypatch.delenv("EMOCONVEY_ADMIN_TOKEN", raising=False)
    monkeypatch.delenv("EMOCONVEY_SURVEY_DB", raising=False)
    (tmp_path / "study.yaml").write_text("clips_per_participant: 12\n")
    args = ["init", str(tmp_path / "s"), "--clips", str(generated),
            "--config", str(tmp_path / "study.yaml")]
    if use_manifest:
        args += ["--manifest", str(generated / "manifest.csv")]
    res = CliRunner().invoke(survey_app, args)
    assert res.exit_code == 0, res.output
    study = open_study(tmp_path / "s" / "study.db")
    manifest = pd.read_csv(generated / "manifest.csv")
    with study.store.engine.connect() as conn:
        # the practice clip is stored with role 'sample' and no system
        rows = conn.execute(
            sa.text("select system, intent from clips where role = 'main'")
        ).fetchall()
    study.store.engine.dispose()
    assert sorted(map(tuple, rows)) == sorted(zip(manifest["system"], manifest["intent"],
                                                  strict=True))
    assert len(rows) == 24


def test_load_dataset_resolves_every_clip(generated):
    manifest = pd.read_csv(generated / "manifest.csv")
    ratings = pd.DataFrame([
        {"user": f"P{u}", "audio_file": Path(f).name.replace(".wav", "_crop.wav"),
         "valence": 1 + (u + i) % 9, "arousal": 1 + (2 * u + i) % 9}
        for i, f in enumerate(manifest["file"]) for u in range(2)
    ])
    ds = load_dataset(ratings, min_ratings=1, audio_root=generated)
    paths = ds.clips.set_index("clip")["audio_path"]
    assert len(paths) == len(manifest) and paths.notna().all()
    expected = {(generated / f).resolve().as_posix() for f in manifest["file"]}
    assert {Path(p).as_posix() for p in paths} == expected
