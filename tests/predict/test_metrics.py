"""MusicEval / AudioMOS metrics pinned to scipy (scripts/reference/predict_metrics.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from emoconvey.errors import DataValidationError, DegenerateDataWarning, EmoconveyError
from emoconvey.predict.metrics import (
    METRIC_NAMES,
    RECORD_KEYS,
    read_scores,
    records_to_json,
    score_frames,
    score_predictions,
    system_of,
)

REF = json.loads(
    (Path(__file__).resolve().parents[1] / "reference" / "predict_metrics.json").read_text()
)


def test_metrics_match_scipy_reference() -> None:
    recs = score_predictions(
        REF["truth"], REF["pred"], REF["system"], target="MI", split="test",
        n_boot=REF["n_boot"], seed=REF["seed"],
    )
    assert [r["level"] for r in recs] == ["utterance", "system"]
    for rec, key in zip(recs, ("utterance", "system_level"), strict=True):
        ref = REF[key]
        assert set(RECORD_KEYS) <= set(rec)
        assert rec["target"] == "MI" and rec["split"] == "test"
        for name, value in ref.items():
            assert rec[name] == pytest.approx(value, rel=1e-9, abs=1e-12), (key, name)
    assert recs[0]["n"] == len(REF["truth"])
    assert recs[1]["n"] == len(set(REF["system"]))


def test_bootstrap_is_seeded_and_zero_disables_it() -> None:
    a = score_predictions(REF["truth"], REF["pred"], n_boot=50, seed=3)
    b = score_predictions(REF["truth"], REF["pred"], n_boot=50, seed=3)
    c = score_predictions(REF["truth"], REF["pred"], n_boot=50, seed=4)
    assert a == b
    assert a[0]["LCC_ci_low"] != c[0]["LCC_ci_low"]
    none = score_predictions(REF["truth"], REF["pred"], n_boot=0)[0]
    assert math.isnan(none["LCC_ci_low"]) and not math.isnan(none["LCC"])


def test_constant_prediction_warns_and_gives_nan_and_json_null() -> None:
    with pytest.warns(DegenerateDataWarning, match="constant"):
        rec = score_predictions([1.0, 2.0, 3.0], [2.0, 2.0, 2.0], n_boot=0)[0]
    assert math.isnan(rec["LCC"]) and rec["MSE"] == pytest.approx(2 / 3)
    payload = json.loads(records_to_json([rec]))
    assert payload[0]["LCC"] is None and payload[0]["n"] == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"y_true": [1, 2], "y_pred": [1, 2, 3]}, "same length"),
        ({"y_true": [1, np.nan], "y_pred": [1, 2]}, "finite"),
        ({"y_true": [], "y_pred": []}, "no clips"),
        ({"y_true": [1, 2], "y_pred": [1, 2], "systems": ["a"]}, "one system per clip"),
        ({"y_true": [1, 2], "y_pred": [1, 2], "n_boot": -1}, "n_boot"),
        ({"y_true": [1, 2], "y_pred": [1, 2], "ci": 1.5}, "ci"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(EmoconveyError, match=message):
        score_predictions(**kwargs)


def test_system_of() -> None:
    assert system_of("audiomos2025-track1-S002_P044.wav") == "S002"
    assert system_of("audiomos2025-track1-S002_P044") == "S002"
    assert system_of("noseparator") is None


def test_mos_list_and_answer_txt_score_end_to_end(tmp_path: Path) -> None:
    ids = [f"audiomos2025-track1-{s}_P{k:03d}" for s in ("S001", "S002", "S003") for k in range(4)]
    rng = np.random.default_rng(0)
    mi = rng.uniform(1, 5, len(ids))
    ta = rng.uniform(1, 5, len(ids))
    truth = tmp_path / "test_mos_list.txt"
    truth.write_text("".join(f"{i}.wav,{a},{b}\n" for i, a, b in zip(ids, mi, ta, strict=True)))
    answer = tmp_path / "answer.txt"
    answer.write_text(
        "".join(f"{i},{a + 0.1},{b - 0.2}\n" for i, a, b in zip(ids, mi, ta, strict=True))
    )
    t, p = read_scores(truth), read_scores(answer)
    assert list(t.columns) == ["clip_id", "system", "MI", "TA"]
    assert t["system"].tolist()[:1] == ["S001"]
    table = score_frames(t, p, n_boot=20)
    assert list(table.columns[: len(RECORD_KEYS)]) == list(RECORD_KEYS)
    assert len(table) == 4
    row = table[(table.target == "MI") & (table.level == "utterance")].iloc[0]
    assert row["LCC"] == pytest.approx(1.0) and row["MSE"] == pytest.approx(0.01)
    assert set(METRIC_NAMES) <= set(table.columns)


def test_csv_truth_with_system_column(tmp_path: Path) -> None:
    truth = tmp_path / "truth.csv"
    truth.write_text("audio_file,system,valence,arousal\na.wav,X,5,6\nb.wav,X,4,3\nc.wav,Y,7,2\n")
    pred = tmp_path / "pred.csv"
    pred.write_text("audio_file,valence,arousal\na.wav,5.5,6\nb.wav,4,3.5\nc.wav,6,2\n")
    table = score_frames(read_scores(truth), read_scores(pred), n_boot=0)
    assert sorted(set(table.target)) == ["arousal", "valence"]
    assert set(table.level) == {"utterance", "system"}


def test_bad_files(tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    f.write_text("")
    with pytest.raises(DataValidationError, match="x.txt: the file is empty"):
        read_scores(f)
    f.write_text("a.wav,1,2\nb.wav,3\n")
    with pytest.raises(DataValidationError, match="x.txt, line 2: expected 3 comma-separated"):
        read_scores(f)
    f.write_text("a.wav,1,2\nb.wav,3,zz\n")
    with pytest.raises(DataValidationError, match=r"line 2, column 'TA': expected a number"):
        read_scores(f)
    f.write_text("a.wav,1,2\na.wav,3,3\n")
    with pytest.raises(DataValidationError, match="line 2: clip 'a' appears twice"):
        read_scores(f)
    f.write_text("a.wav,1,2,3\n")
    with pytest.raises(DataValidationError, match="3 score columns but only 2"):
        read_scores(f)
    g = tmp_path / "g.csv"
    g.write_text("name,MI\na,1\n")
    with pytest.raises(DataValidationError, match="expected a clip column"):
        read_scores(g)
    g.write_text("clip_id,MI\na,1\nb,oops\n")
    with pytest.raises(DataValidationError, match=r"g.csv, line 3, column 'MI'"):
        read_scores(g)
    with pytest.raises(EmoconveyError, match="not found"):
        read_scores(tmp_path / "absent.txt")


def test_score_frames_errors(tmp_path: Path) -> None:
    t = tmp_path / "t.txt"
    t.write_text("a_1.wav,1,2\nb_1.wav,3,4\n")
    p = tmp_path / "p.txt"
    p.write_text("a_1,1,2\n")
    with pytest.raises(EmoconveyError, match="1 clip\\(s\\) of the truth have no prediction"):
        score_frames(read_scores(t), read_scores(p))
    q = tmp_path / "q.csv"
    q.write_text("clip_id,valence\na_1,1\nb_1,2\n")
    with pytest.raises(EmoconveyError, match="no target in common"):
        score_frames(read_scores(t), read_scores(q))


def test_cli_and_metrics_do_not_import_the_heavy_stack() -> None:
    import subprocess
    import sys

    code = (
        "import sys, emoconvey.cli, emoconvey.predict, emoconvey.report.predicted\n"
        "heavy = [m for m in ('torch', 'librosa', 'sklearn', 'transformers', 'soundfile',"
        " 'safetensors') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == ""
