"""``emoconvey generate``: run, import, backends; errors are one line with exit status 2."""

from __future__ import annotations

import pandas as pd
import pytest
import soundfile as sf
from typer.testing import CliRunner

from emoconvey.cli import app

runner = CliRunner()


def test_backends_lists_every_builtin():
    res = runner.invoke(app, ["generate", "backends"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    for name in ("musicgen", "audioldm2", "stable-audio", "mustango", "diffusers",
                 "transformers", "cues"):
        assert name in res.output
    assert 'pip install "emoconvey[generate]"' in res.output


def test_backends_readable_at_80_columns():
    res = runner.invoke(app, ["generate", "backends"], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "cues  ready" in lines
    assert any(line.startswith("  --option renderer=auto|fluidsynth|numpy") for line in lines)
    assert any(line.startswith("  --option soundfont=PATH") for line in lines)


def test_cues_option_typo_is_an_error(tmp_path):
    res = runner.invoke(app, ["generate", "run", "--backend", "cues", "--system", "S",
                              "--out", str(tmp_path / "o"), "--option", "renderr=numpy",
                              "--no-progress"], env={"COLUMNS": "400"})
    assert res.exit_code == 2, res.output
    assert "unknown option(s) renderr; expected norms, renderer, sample_rate, soundfont" in (
        res.output)
    res = runner.invoke(app, ["generate", "run", "--backend", "cues", "--system", "S",
                              "--out", str(tmp_path / "o"), "--option",
                              "soundfont=/nonexistent.sf2", "--no-progress"],
                        env={"COLUMNS": "400"})
    assert res.exit_code == 2, res.output
    assert "cues: soundfont '/nonexistent.sf2' is not a file" in res.output


def test_run_and_import(tmp_path):
    intents = tmp_path / "intents.csv"
    intents.write_text("intent,quadrant,norm_valence,norm_arousal,source\n"
                       "happy,hv_ha,8.47,6.05,warriner\nsad,lv_la,2.1,3.49,warriner\n")
    res = runner.invoke(app, ["generate", "run", "--backend", "cues", "--system", "Cues",
                              "--out", str(tmp_path / "o"), "--intents", str(intents),
                              "--clips-per-intent", "2", "--seconds", "3", "--crop", "1",
                              "--option", "renderer=numpy", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "4 generated, 0 already present (skipped): 4 clips of Cues" in res.output
    res = runner.invoke(app, ["generate", "run", "--backend", "cues", "--system", "Cues",
                              "--out", str(tmp_path / "o"), "--intents", str(intents),
                              "--clips-per-intent", "2", "--seconds", "3", "--crop", "1",
                              "--option", "renderer=numpy", "--no-progress"])
    assert "0 generated, 4 already present (skipped): 4 clips of Cues" in res.output
    assert "next: emoconvey survey init STUDY --clips" in res.output
    src = tmp_path / "udio"
    src.mkdir()
    sf.write(src / "sad_1.wav", [0.1, -0.1] * 32000, 16000)
    res = runner.invoke(app, ["generate", "import", "--system", "Udio", "--from", str(src),
                              "--out", str(tmp_path / "o"), "--intents", str(intents),
                              "--crop", "2", "--no-progress"])
    assert res.exit_code == 0, res.output
    m = pd.read_csv(tmp_path / "o" / "manifest.csv")
    assert sorted(m["system"].unique()) == ["Cues", "Udio"] and len(m) == 5


def test_errors_are_one_line_with_status_2(tmp_path):
    cases = [
        (["run", "--backend", "nope", "--system", "S", "--out", str(tmp_path)],
         "error: --backend: unknown backend 'nope'"),
        (["run", "--backend", "cues", "--system", "a/b", "--out", str(tmp_path)],
         "error: --system: 'a/b' is not a valid folder name"),
        (["run", "--backend", "cues", "--system", "S", "--out", str(tmp_path), "--crop", "25"],
         "error: --crop: 25 s is longer than the 15-85 % window of a 30 s clip (21 s)"),
        (["run", "--backend", "cues", "--system", "S", "--out", str(tmp_path), "--option",
          "renderer"], "error: --option: expected KEY=VALUE, got 'renderer'"),
        (["import", "--system", "S", "--from", str(tmp_path / "none"), "--out", str(tmp_path)],
         "error: --from: folder"),
    ]
    for args, message in cases:
        res = runner.invoke(app, ["generate", *args], env={"COLUMNS": "400"})
        assert res.exit_code == 2, (args, res.output)
        assert message in res.output, res.output
        assert res.output.strip().count("\n") == 0, res.output


def test_out_that_is_a_file_is_one_line(tmp_path):
    """Was a FileExistsError traceback (issue 14)."""
    existing = tmp_path / "clips"
    existing.write_text("not a folder")
    for args in (["run", "--backend", "cues", "--system", "S"],
                 ["import", "--system", "S", "--from", str(tmp_path)]):
        res = runner.invoke(app, ["generate", *args, "--out", str(existing)],
                            env={"COLUMNS": "400"})
        assert res.exit_code == 2, res.output
        assert res.output.strip() == f"error: --out: {str(existing)!r} is a file; give a folder"
    assert existing.read_text() == "not a folder"


@pytest.fixture
def tone_backend(monkeypatch):
    from emoconvey.generate.backends import registry

    monkeypatch.setitem(registry.BUILTIN_BACKENDS, "tone", "generate_helpers:ToneBackend")


def test_flagged_clips_are_listed_with_their_flags(tmp_path, tone_backend):
    res = runner.invoke(app, ["generate", "run", "--backend", "tone", "--system", "Tone",
                              "--out", str(tmp_path), "--clips-per-intent", "1",
                              "--seconds", "3", "--crop", "1", "--option", "kind=silent",
                              "--no-progress"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "flagged: 12 of 12 clips (flags column of the manifest):" in res.output
    assert "  Tone_happy_1.wav: near_silent" in res.output
    assert "  ... and 2 more" in res.output


def test_error_is_not_preceded_by_a_progress_bar(tmp_path, tone_backend):
    res = runner.invoke(app, ["generate", "run", "--backend", "tone",
                              "--system", "Tone", "--out", str(tmp_path / "o"),
                              "--clips-per-intent", "1", "--seconds", "3", "--crop", "1",
                              "--option", "seconds_out=1.0", "--progress"],
                        env={"COLUMNS": "200"})
    assert res.exit_code == 2, res.output
    assert res.output.startswith("error: ") and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
