"""Where systems come from, fold counts and few-system warnings (issue 18, item 3)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from typer.testing import CliRunner

from emoconvey.cli import app
from emoconvey.errors import EmoconveyError
from emoconvey.predict.pipeline import audio_manifest
from emoconvey.predict.splits import make_folds

runner = CliRunner()


def _wav(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros(22050, dtype=np.float32), 22050)


def test_systems_only_from_known_name_patterns(tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    for name in ("MyTTM_happy_1", "MyTTM_sad_2", "audiomos2025-track1-S007_P001"):
        _wav(flat / f"{name}.wav")
    df = audio_manifest(flat).set_index("clip_id")
    assert df.loc["MyTTM_happy_1", "system"] == "MyTTM"
    assert df.loc["MyTTM_sad_2", "intent"] == "sad"
    assert df.loc["audiomos2025-track1-S007_P001", "system"] == "S007"
    # free-form names: no system invented from the first underscore token
    _wav(flat / "the_love_song.wav")
    _wav(flat / "into_the_night.wav")
    with pytest.raises(EmoconveyError, match=r"2 of 5 clip\(s\) have no system \(e\.g\. "
                       r"'into_the_night\.wav', 'the_love_song\.wav'\).*--system NAME"):
        audio_manifest(flat)
    named = audio_manifest(flat, system="Band")
    assert set(named["system"]) == {"Band"}
    with pytest.raises(EmoconveyError, match="--system: expected a system name"):
        audio_manifest(flat, system=" ")
    # a sub-folder names the system; a manifest column wins over everything
    _wav(tmp_path / "nested" / "SysX" / "the_love_song.wav")
    assert audio_manifest(tmp_path / "nested")["system"].tolist() == ["SysX"]
    manifest = tmp_path / "m.csv"
    manifest.write_text("audio_file,system\nflat/the_love_song.wav,Col\n"
                        "flat/MyTTM_happy_1.wav,\n")
    got = audio_manifest(manifest, system="Given")
    assert got["system"].tolist() == ["Col", "Given"]
    bare = tmp_path / "bare.csv"
    bare.write_text("audio_file\nflat/the_love_song.wav\n")
    with pytest.raises(EmoconveyError, match="have no system"):
        audio_manifest(bare)


def test_more_folds_than_systems_is_an_error() -> None:
    clips = pd.DataFrame({"system": list("AABB"), "intent": ["x", "y"] * 2})
    with pytest.raises(EmoconveyError, match=r"--split by-system --folds 5: only 2 systems to "
                       r"hold out; give --folds 2 or fewer"):
        make_folds(clips, "by-system", k=5)
    assert len(make_folds(clips, "by-system")) == 2  # not asked for: min(5, 2)
    with pytest.raises(EmoconveyError, match="--folds 3: only 2 intents"):
        make_folds(clips, "by-intent", k=3)


def test_cli_system_option_folds_and_few_system_warning(
    synthetic_folder: Path, feature_cache: Path, tmp_path: Path
) -> None:
    table = pd.read_csv(synthetic_folder / "ratings.csv")
    two = table[table["system"].isin(["Sys01", "Sys02"])]
    two.assign(audio_file=[str(synthetic_folder / a) for a in two["audio_file"]]).to_csv(
        tmp_path / "two.csv", index=False)
    base = ["predict", "train", "--table", str(tmp_path / "two.csv"), "--cache-dir",
            str(feature_cache), "--n-boot", "0", "--out", str(tmp_path / "m")]
    res = runner.invoke(app, [*base, "--folds", "5"])
    assert res.exit_code == 2 and "--folds 5: only 2 systems" in res.output
    res = runner.invoke(app, base)
    assert res.exit_code == 0, res.output
    assert "by-system, 2 folds" in res.output
    assert "system-level metrics over 2 systems (fewer than 5) mean little" in res.output
    # predict run: free-form names need --system
    loose = tmp_path / "loose"
    loose.mkdir()
    for i, f in enumerate(sorted((synthetic_folder / "Sys03").glob("*.wav"))[:2]):
        (loose / f"my_song_{'ab'[i]}.wav").write_bytes(f.read_bytes())
    run = ["predict", "run", "--model", str(tmp_path / "m"), "--audio", str(loose), "--out",
           str(tmp_path / "p.csv"), "--cache-dir", str(feature_cache)]
    res = runner.invoke(app, run)
    assert res.exit_code == 2 and "2 of 2 clip(s) have no system" in res.output
    res = runner.invoke(app, [*run, "--system", "Mine"])
    assert res.exit_code == 0, res.output
    assert set(pd.read_csv(tmp_path / "p.csv")["system"]) == {"Mine"}


def test_score_reports_unmatched_clips_on_both_sides(tmp_path: Path) -> None:
    truth = tmp_path / "truth.csv"
    pred = tmp_path / "pred.csv"
    truth.write_text("clip_id,system,MI\n" + "".join(
        f"c{i},S{i % 3},{1 + i % 5}\n" for i in range(9)))
    pred.write_text("clip_id,MI\n" + "".join(f"c{i},{2 + i % 4}\n" for i in range(12)))
    res = runner.invoke(app, ["predict", "score", "--truth", str(truth), "--pred", str(pred),
                              "--n-boot", "0", "--json"])
    assert res.exit_code == 0, res.output
    assert "scoring 9 clip(s) present in both files" in res.output
    assert "3 clip(s) only in the predictions: c10, c11, c9" in res.output
    assert "system-level metrics over 3 systems" in res.output
    records = json.loads(res.stdout[res.stdout.index("["):])
    assert {r["n"] for r in records} == {9, 3}
    pred.write_text("clip_id,MI\n" + "".join(f"c{i},{2 + i % 4}\n" for i in range(4)))
    res = runner.invoke(app, ["predict", "score", "--truth", str(truth), "--pred", str(pred)])
    assert res.exit_code == 2
    assert "5 clip(s) only in the truth: c4, c5, c6 and 2 more" in res.output
