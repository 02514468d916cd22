"""MusicEval fidelity: the official scorer's system level, answer.txt, eval lists."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from emoconvey.cli import app
from emoconvey.predict.metrics import read_scores, score_frames, system_truth_table
from musiceval_helpers import make_official_release, official_answer

runner = CliRunner()
REF = json.loads(
    (Path(__file__).parents[1] / "reference" / "musiceval_official_scorer.json").read_text()
)


def _score(args: list[str]) -> list[dict]:
    result = runner.invoke(app, ["predict", "score", *args, "--json", "--n-boot", "0"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # the unmatched-clip lines go to stderr


@pytest.fixture
def release(tmp_path: Path) -> Path:
    root = make_official_release(tmp_path / "rel")
    (tmp_path / "answer.txt").write_text(official_answer())
    return root


def _check(records: list[dict], level: str, key: str, truth: str) -> None:
    for target in ("MI", "TA"):
        (rec,) = [r for r in records if r["target"] == target and r["level"] == level]
        assert rec["system_truth"] == truth
        for m in ("MSE", "LCC", "SRCC", "KTAU"):
            assert rec[m] == pytest.approx(REF[target][key][m], abs=1e-12), (target, m)


def test_score_defaults_to_the_release_system_file(release: Path) -> None:
    args = ["--truth", str(release / "sets" / "test_mos_list.txt"),
            "--pred", str(release.parent / "answer.txt")]
    records = _score(args)
    _check(records, "utterance", "utterance", "file")
    _check(records, "system", "system_file", "file")
    clip_mean = _score([*args, "--system-truth", "clip-mean"])
    _check(clip_mean, "system", "system_clip_mean", "clip-mean")
    explicit = _score([*args, "--system-truth", "file", "--system-mos",
                       str(release / "system_mos" / "system_mos_phase1.csv")])
    _check(explicit, "system", "system_file", "file")


def test_clip_mean_when_there_is_no_system_file(release: Path, tmp_path: Path) -> None:
    truth = tmp_path / "truth.txt"
    truth.write_text((release / "sets" / "test_mos_list.txt").read_text())
    records = _score(["--truth", str(truth), "--pred", str(tmp_path / "answer.txt")])
    _check(records, "system", "system_clip_mean", "clip-mean")
    result = runner.invoke(app, ["predict", "score", "--truth", str(truth), "--pred",
                                 str(tmp_path / "answer.txt"), "--system-truth", "file"])
    assert result.exit_code == 2 and "no system MOS file" in result.output
    result = runner.invoke(app, ["predict", "score", "--truth", str(truth), "--pred",
                                 str(tmp_path / "answer.txt"), "--system-truth", "median"])
    assert result.exit_code == 2 and "expected file or clip-mean" in result.output


def test_system_file_lacking_a_system_is_an_error(release: Path) -> None:
    path = release / "system_mos" / "system_mos_phase1.csv"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[1:]))
    truth = release / "sets" / "test_mos_list.txt"
    with pytest.raises(Exception, match="no system truth for system"):
        score_frames(read_scores(truth), read_scores(release.parent / "answer.txt"),
                     n_boot=0, system_truth=system_truth_table(truth))


def test_training_metrics_use_the_release_system_file(release: Path) -> None:
    import numpy as np

    from emoconvey.predict.datasets import from_musiceval
    from emoconvey.predict.metrics import score_predictions
    from emoconvey.predict.model import cross_validate

    data = from_musiceval(release, check=False)
    assert data.system_mos is not None and len(data.system_mos) == 5
    X = np.random.default_rng(0).normal(size=(len(data.clips), 4))
    metrics, heldout = cross_validate(data, X, split="official", n_boot=0)
    assert set(metrics["system_truth"]) == {"file"}
    file_map = dict(zip(data.system_mos["system"], data.system_mos["MI"], strict=True))
    want = score_predictions(heldout["MI"], heldout["MI_pred"], heldout["system"], n_boot=0,
                             system_truth=file_map)[1]
    got = metrics[(metrics["target"] == "MI") & (metrics["level"] == "system")].iloc[0]
    assert got["MSE"] == pytest.approx(want["MSE"]) and got["LCC"] == pytest.approx(want["LCC"])
    means, _ = cross_validate(data, X, split="official", n_boot=0, system_truth="clip-mean")
    assert set(means["system_truth"]) == {"clip-mean"}
    assert means["MSE"].iloc[1] != pytest.approx(got["MSE"])


def test_one_system_rule_for_metrics_and_data() -> None:
    from emoconvey.data.musiceval import parse_clip_id
    from emoconvey.predict.metrics import system_of

    for cid in ("emoconvey-musicgen.small_happy.2", "audiomos2025-track1-S002_P044.wav",
                "myprefix-S9_P1", "S1_P2"):
        assert system_of(cid) == parse_clip_id(cid)[0]
    assert system_of("musicgen_happy_1") == "musicgen"  # AImoclips-style names
    assert system_of("nounderscore") is None
