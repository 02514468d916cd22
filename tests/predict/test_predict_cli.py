"""``emoconvey predict train / run / score`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
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
    # the evaluation phase's eval_list.txt (ids only) with the release's prompt files
    ids = [r.split(",")[0] for r in rows]
    (root / "sets" / "eval_list.txt").write_text("\n".join(ids) + "\n")
    answer2 = tmp_path / "answer2.txt"
    _ok(["predict", "run", "--model", str(model), "--audio",
         str(root / "sets" / "eval_list.txt"), "--prompts", str(root / "prompt_info.txt"),
         "--out", str(answer2), "--format", "audiomos", "--cache-dir", str(tmp_path / "cache")])
    rows2 = answer2.read_text().splitlines()
    assert [r.split(",")[0] for r in rows2] == ids
    for row in rows2:  # the baseline writes str() of its float32 outputs
        for value in row.split(",")[1:]:
            assert value == str(np.float32(float(value)))
    by_id = dict(r.split(",", 1) for r in rows)
    assert all(by_id[i] == v for i, v in (r.split(",", 1) for r in rows2))
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


def test_train_out_that_is_a_file_is_one_line(tmp_path: Path) -> None:
    """Was a FileExistsError traceback (issue 14)."""
    existing = tmp_path / "model"
    existing.write_text("x")
    _fails(["predict", "train", "--table", "t.csv", "--out", str(existing)],
           f"error: --out: {str(existing)!r} is a file; give a folder")
    _fails(["predict", "train", "--table", "t.csv", "--out", str(existing / "sub")],
           f"error: --out: {str(existing)!r} (part of {str(existing / 'sub')!r}) is a file")


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


def test_musiceval_baseline_head_and_finetuned_encoder(tiny_clap: Path, tmp_path: Path) -> None:
    """Issue 16 (defect 7): ``--head musiceval-baseline``, with and without fine-tuning."""
    from safetensors.numpy import load_file

    root = tmp_path / "musiceval"
    write_musiceval_tree(root)
    train = (root / "sets" / "train_mos_list.txt").read_text().splitlines(keepends=True)
    (root / "sets" / "train_mos_list.txt").write_text("".join(train[:-3]))
    (root / "sets" / "dev_mos_list.txt").write_text("".join(train[-3:]))  # the official dev
    model = tmp_path / "baseline"
    _ok(["predict", "train", "--musiceval", str(root), "--extractor", "clap", "--clap-model",
         str(tiny_clap), "--head", "musiceval-baseline", "--split", "official", "--n-boot", "0",
         "--out", str(model), "--cache-dir", str(tmp_path / "cache")])
    card = json.loads((model / "card.json").read_text())
    assert card["head"] == "musiceval-baseline"
    cfg = {g["name"]: g["config"] for g in card["groups"]}
    assert cfg["audio"]["activation"] is None and cfg["audio"]["optimizer"] == "sgd"
    assert cfg["audio"]["clipped"] is False and cfg["audio"]["standardised"] is False
    w = load_file(str(model / "head_audio_text.safetensors"))
    assert w["w1"].shape == (256, 16) and w["w3"].shape == (1, 64)  # tiny CLAP: 8-d
    # end to end: CLAP and heads under one SGD, the encoder saved beside the heads
    tuned = tmp_path / "tuned"
    _ok(["predict", "train", "--musiceval", str(root), "--extractor", "clap", "--clap-model",
         str(tiny_clap), "--head", "musiceval-baseline", "--finetune-encoder", "--out",
         str(tuned), "--max-epochs", "3"])
    card = json.loads((tuned / "card.json").read_text())
    assert card["training"]["finetuned_encoder"] is True and card["training"]["n_dev"] == 3
    assert 1 <= card["training"]["best_epoch"] <= 3
    assert card["extractor"]["options"]["model"] == str((tuned / "encoder").resolve())
    before = load_file(str(tiny_clap / "model.safetensors"))
    after = load_file(str(tuned / "encoder" / "model.safetensors"))
    assert any(not np.array_equal(before[k], after[k]) for k in before)
    assert {(m["target"], m["level"]) for m in card["metrics"]} >= {("MI", "utterance")}
    out_file = tmp_path / "answer.txt"
    _ok(["predict", "run", "--model", str(tuned), "--audio",
         str(root / "sets" / "test_mos_list.txt"), "--prompts", str(root / "prompt_info.txt"),
         "--out", str(out_file), "--format", "audiomos", "--cache-dir", str(tmp_path / "c2")])
    assert len(out_file.read_text().splitlines()) == len(
        (root / "sets" / "test_mos_list.txt").read_text().splitlines())
    _fails(["predict", "train", "--musiceval", str(root), "--head", "mlp",
            "--finetune-encoder", "--out", str(tmp_path / "x")], "--finetune-encoder: needs")


@pytest.fixture(scope="module")
def temporal_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small order-dependent rated set (4 systems x 6 clips of 2 s)."""
    from emoconvey.predict.synthetic import write_temporal_set

    folder = tmp_path_factory.mktemp("temporal")
    write_temporal_set(folder, n_systems=4, clips_per_system=6, seed=2, duration=2.0,
                       segments=4)
    return folder


def test_train_run_temporal_ensemble(temporal_folder: Path, feature_cache: Path,
                                     tmp_path: Path) -> None:
    model = tmp_path / "model"
    fast = ["--head-option", "d_model=8", "--head-option", "n_heads=2", "--head-option",
            "n_layers=1", "--head-option", "max_epochs=3", "--head-option", "bins=9"]
    output = _ok([
        "predict", "train", "--table", str(temporal_folder / "ratings.csv"), "--out",
        str(model), "--extractor", "mel-frames", "--head", "temporal", "--loss", "distribution",
        "--ensemble", "2", "--folds", "2", "--n-boot", "0", "--cache-dir", str(feature_cache),
        *fast,
    ])
    assert "held-out agreement (by-system, 2 folds)" in output
    card = json.loads((model / "card.json").read_text())
    assert card["head"] == "temporal" and card["extractor"]["id"] == "mel-frames"
    (group,) = card["groups"]
    assert group["config"]["ensemble"] == 2 and len(group["config"]["members"]) == 2
    assert group["config"]["members"][0]["loss"] == "distribution"
    assert group["config"]["members"][0]["d_model"] == 8
    assert {p.suffix for p in model.iterdir()} == {".json", ".safetensors", ".csv"}
    cached = list((feature_cache / "frames").rglob("*.safetensors"))
    assert len(cached) >= 24
    pred = tmp_path / "predictions.csv"
    _ok(["predict", "run", "--model", str(model), "--audio", str(temporal_folder), "--out",
         str(pred), "--cache-dir", str(feature_cache)])
    table = pd.read_csv(pred)
    from emoconvey.predict.cli import PREDICTION_FLAG_COLUMNS

    assert list(table.columns) == ["audio_file", "system", "intent", "buildup", "buildup_sd",
                                   "raw_buildup", *PREDICTION_FLAG_COLUMNS, "model"]
    assert len(table) == 24 and (table["buildup_sd"] >= 0).all()
    assert table["buildup"].between(1, 9).all()


def test_temporal_cli_errors(temporal_folder: Path, feature_cache: Path, tmp_path: Path) -> None:
    base = ["predict", "train", "--table", str(temporal_folder / "ratings.csv"), "--out",
            str(tmp_path / "m"), "--cache-dir", str(feature_cache), "--folds", "2"]
    _fails([*base, "--head", "temporal"], "--head temporal reads frames: use a frame-level")
    _fails([*base, "--extractor", "mel-frames", "--head", "temporal", "--loss", "mse"],
           "--loss: expected one of l1, distribution, coral")
    _fails([*base, "--loss", "coral"], "--head ridge: unknown option(s) loss")
    _fails([*base, "--head-option", "oops"], "--head-option: expected KEY=VALUE")
    _fails([*base, "--extractor", "mel-frames", "--head", "temporal", "--ensemble", "0"],
           "--ensemble: expected at least 2 members")
