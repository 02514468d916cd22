"""``emoconvey predict train / run / score`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from test_datasets import write_musiceval_tree
from typer.testing import CliRunner

from emoconvey.cli import app

runner = CliRunner()


def _ok(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output


def _json(output: str) -> list[dict]:
    """The JSON records printed on stdout (after the lines on stderr)."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("["))
    return json.loads("\n".join(lines[start:]))


def _fails(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_train_run_score_handcrafted(
    synthetic_folder: Path, feature_cache: Path, tmp_path: Path
) -> None:
    model = tmp_path / "model"
    output = _ok([
        "predict", "train", "--table", str(synthetic_folder / "ratings.csv"), "--out",
        str(model), "--split", "by-system", "--seed", "3", "--n-boot", "50", "--workers", "2",
        "--cache-dir", str(feature_cache),
    ])
    assert "held-out agreement (by-system, 5 folds)" in output and "LCC" in output
    metrics = json.loads((model / "metrics.json").read_text())
    assert {(m["target"], m["level"]) for m in metrics} == {
        ("valence", "utterance"), ("valence", "system"), ("arousal", "utterance"),
        ("arousal", "system"),
    }
    assert all(m["split"] == "by-system" for m in metrics)
    pred = tmp_path / "out" / "predictions.csv"
    ran = _ok(["predict", "run", "--model", str(model), "--audio", str(synthetic_folder),
               "--out", str(pred), "--cache-dir", str(feature_cache)])
    assert "out of distribution: " in ran and "of 80 clip(s)" in ran
    table = pd.read_csv(pred)
    assert list(table.columns) == [
        "audio_file", "system", "intent", "valence", "arousal", "raw_valence", "raw_arousal",
        "ood_score", "ood_p", "ood", "extrapolated", "clamped", "flag_reason", "model",
    ]
    assert set(table["model"]) == {str(model.resolve())}
    assert table["ood"].mean() <= 0.15  # the training clips themselves
    assert len(table) == 80 and table["system"].nunique() == 8
    scored = _ok(["predict", "score", "--truth", str(synthetic_folder / "ratings.csv"),
                  "--pred", str(pred), "--json", "--n-boot", "0"])
    records = _json(scored)
    assert {r["level"] for r in records} == {"utterance", "system"}
    assert all(r["n"] in (80, 8) for r in records)
    utt = next(r for r in records if r["target"] == "arousal" and r["level"] == "utterance")
    assert utt["LCC"] > 0.8  # in-sample: the model was refitted on all clips


def test_musiceval_clap_mlp_and_audiomos_answer(tiny_clap: Path, tmp_path: Path) -> None:
    root = tmp_path / "musiceval"
    write_musiceval_tree(root)
    model = tmp_path / "model"
    _ok([
        "predict", "train", "--musiceval", str(root), "--extractor", "clap", "--clap-model",
        str(tiny_clap), "--head", "mlp", "--split", "official", "--n-boot", "0", "--out",
        str(model), "--cache-dir", str(tmp_path / "cache"),
    ])
    card = json.loads((model / "card.json").read_text())
    assert card["head"] == "mlp" and card["extractor"]["id"] == "clap"
    assert [(g["name"], g["targets"], g["uses_text"]) for g in card["groups"]] == [
        ("audio", ["MI"], False), ("audio_text", ["TA"], True)
    ]
    assert card["training"]["split"] == "official"
    assert card["training"]["trained_on"] == "train part of the split"
    assert {m["split"] for m in card["metrics"]} == {"official"}
    assert (model / "head_audio_text.safetensors").is_file()
    # a new system's clips, with their prompts, through a manifest
    manifest = tmp_path / "new.csv"
    lines = ["audio_file,text"]
    for p, text in (("P001", "a calm piano piece"), ("P002", "fast angry rock with drums")):
        for s in ("S001", "S002", "S003"):
            lines.append(f"{root}/wav/audiomos2025-track1-{s}_{p}.wav,{text}")
    manifest.write_text("\n".join(lines) + "\n")
    answer = tmp_path / "answer.txt"
    _ok(["predict", "run", "--model", str(model), "--audio", str(manifest), "--out",
         str(answer), "--format", "audiomos", "--cache-dir", str(tmp_path / "cache")])
    rows = answer.read_text().splitlines()
    assert len(rows) == 6 and rows[0].startswith("audiomos2025-track1-S001_P001,")
    assert all(len(r.split(",")) == 3 and ".wav" not in r for r in rows)
    scored = _json(_ok([
        "predict", "score", "--truth", str(root / "sets" / "test_mos_list.txt"), "--pred",
        str(answer), "--json", "--n-boot", "0",
    ]))
    assert {(r["target"], r["level"], r["n"]) for r in scored} == {
        ("MI", "utterance", 3), ("MI", "system", 3), ("TA", "utterance", 3),
        ("TA", "system", 3),
    }
    assert all(r["split"] == "test_mos_list" for r in scored)
    # the prompt text is required by the TA head
    bare = tmp_path / "bare.csv"
    bare.write_text(f"audio_file\n{root}/wav/audiomos2025-track1-S001_P001.wav\n")
    _fails(["predict", "run", "--model", str(model), "--audio", str(bare), "--out",
            str(tmp_path / "x.txt"), "--cache-dir", str(tmp_path / "cache")],
           "have no prompt text")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["predict", "train", "--out", "m"], "give exactly one of --ratings"),
        (["predict", "train", "--out", "m", "--ratings", "r.csv", "--table", "t.csv"],
         "got --ratings, --table"),
        (["predict", "train", "--out", "m", "--ratings", "r.csv"], "--ratings needs --audio-root"),
        (["predict", "train", "--out", "m", "--table", "absent.csv"], "--table: 'absent.csv'"),
        (["predict", "run", "--model", "nowhere", "--audio", ".", "--out", "p.csv"],
         "has no card.json"),
        (["predict", "run", "--model", "m", "--audio", ".", "--out", "p", "--format", "xml"],
         "--format: expected csv or audiomos"),
        (["predict", "score", "--truth", "absent.txt", "--pred", "p.txt"],
         "absent.txt: file not found"),
    ],
)
def test_cli_errors(args: list[str], message: str) -> None:
    _fails(args, message)


def test_train_option_errors(synthetic_folder: Path, feature_cache: Path, tmp_path: Path) -> None:
    base = ["predict", "train", "--table", str(synthetic_folder / "ratings.csv"), "--out",
            str(tmp_path / "m"), "--cache-dir", str(feature_cache), "--n-boot", "0"]
    _fails([*base, "--head", "forest"], "--head: unknown head 'forest'")
    _fails([*base, "--split", "by-day"], "--split: unknown split 'by-day'")
    _fails([*base, "--extractor", "mert9"], "unknown extractor 'mert9'")
    _fails([*base, "--targets", "dominance"], "unknown target(s) 'dominance'")
    _fails([*base, "--split", "by-intent"], "have no intent")


def test_audiomos_needs_mi_and_ta(
    synthetic_folder: Path, feature_cache: Path, tmp_path: Path
) -> None:
    model = tmp_path / "m"
    _ok(["predict", "train", "--table", str(synthetic_folder / "ratings.csv"), "--out",
         str(model), "--cache-dir", str(feature_cache), "--n-boot", "0", "--split", "random"])
    _fails(["predict", "run", "--model", str(model), "--audio", str(synthetic_folder), "--out",
            str(tmp_path / "a.txt"), "--format", "audiomos", "--cache-dir", str(feature_cache)],
           "needs a model predicting MI and TA")


def test_train_on_aimoclips_format_by_intent(tmp_path: Path) -> None:
    import numpy as np
    import soundfile as sf

    from emoconvey.predict.synthetic import synthesize_clip

    rows = ["user,audio_file,valence,arousal"]
    targets = {"happy": (8, 7), "angry": (2, 8), "sad": (2, 2), "calm": (7, 2)}
    for s, system in enumerate(("SysA", "SysB", "SysC")):
        folder = tmp_path / "audio" / "music_clips" / system
        folder.mkdir(parents=True)
        for intent, (v, a) in targets.items():
            sf.write(folder / f"{system}_{intent}_1.wav",
                     synthesize_clip(v, a, seed=s, duration=1.5), 22050)
            rows += [f"P{k},{system}_{intent}_1_crop.wav,{min(9, v + s)},{min(9, a + k % 2 + s)}"
                     for k in range(4)]
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("\n".join(rows) + "\n")
    model = tmp_path / "model"
    _ok(["predict", "train", "--ratings", str(ratings), "--audio-root", str(tmp_path / "audio"),
         "--split", "by-intent", "--n-boot", "0", "--workers", "1", "--out", str(model),
         "--cache-dir", str(tmp_path / "cache")])
    metrics = json.loads((model / "metrics.json").read_text())
    assert {m["split"] for m in metrics} == {"by-intent"}
    assert {m["n"] for m in metrics if m["level"] == "utterance"} == {12}
    pred = tmp_path / "p.csv"
    _ok(["predict", "run", "--model", str(model), "--audio", str(tmp_path / "audio"),
         "--out", str(pred), "--cache-dir", str(tmp_path / "cache")])
    table = pd.read_csv(pred)
    assert sorted(set(table["intent"])) == sorted(targets)
    assert set(table["system"]) == {"SysA", "SysB", "SysC"}
    assert np.isfinite(table[["valence", "arousal"]].to_numpy()).all()
