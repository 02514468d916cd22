"""Out-of-distribution flags and extrapolation checks (:mod:`emoconvey.predict.ood`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from emoconvey.errors import EmoconveyError
from emoconvey.predict.datasets import RatedClips, from_table
from emoconvey.predict.model import load_predictor
from emoconvey.predict.ood import OODDetector, extrapolation
from emoconvey.predict.pipeline import run_predictor, train_predictor
from emoconvey.predict.synthetic import write_synthetic_set


def test_nominal_rate_in_distribution_and_flags_far_points() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 12)) * rng.uniform(0.1, 10, 12)
    systems = np.repeat([f"S{i}" for i in range(20)], 20)
    det = OODDetector.fit(X, groups=systems, seed=1)
    assert det.calibration == "by-system"
    scale = X.std(axis=0)
    fresh = rng.normal(size=(4000, 12)) * scale
    flags = det.score(fresh)
    # cross-conformal p-values: about alpha = 5 % of exchangeable clips flagged
    assert 0.03 <= flags["ood"].mean() <= 0.07
    assert flags["ood_p"].between(1 / 401, 1).all()
    np.testing.assert_allclose(flags["ood_score"], 1 - flags["ood_p"])
    # the same at 1 % when asked for
    assert 0.003 <= det.with_alpha(0.01).score(fresh)["ood"].mean() <= 0.02
    shifted = det.score(fresh[:200] + 4 * scale)
    assert shifted["ood"].all() and (shifted["ood_score"] > 0.99).all()


def test_p_value_matches_a_direct_computation() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 3))
    det = OODDetector.fit(X, seed=0, k=2)
    assert det.calibration == "random"  # no groups
    x = rng.normal(size=(1, 3)) * 2
    Z = (X - X.mean(0)) / X.std(0)
    z = (x - X.mean(0)) / X.std(0)
    exceed = 0
    for j in range(5):
        inside = det.fold == j
        null_j = [np.sort(np.linalg.norm(Z[~inside] - Z[i], axis=1))[:2].mean()
                  for i in np.flatnonzero(inside)]
        d_j = np.sort(np.linalg.norm(Z[~inside] - z, axis=1))[:2].mean()
        exceed += sum(v >= d_j for v in null_j)
    assert det.score(x)["ood_p"].iloc[0] == pytest.approx((1 + exceed) / 31)


def test_errors_and_extrapolation() -> None:
    with pytest.raises(EmoconveyError, match="at least 10 training clips"):
        OODDetector.fit(np.zeros((5, 2)))
    det = OODDetector.fit(np.random.default_rng(0).normal(size=(20, 2)))
    with pytest.raises(EmoconveyError, match="--ood-alpha"):
        det.with_alpha(1.5)
    with pytest.raises(EmoconveyError, match="expected features with 2 columns"):
        det.score(np.zeros((1, 3)))
    raw = pd.DataFrame({"valence": [5.0, 8.9, 12.3], "arousal": [5.0, 0.2, 3.0]})
    ex = extrapolation(raw, target_ranges={"valence": (2, 8), "arousal": (1.5, 8.5)},
                       scales={"valence": (1, 9), "arousal": (1, 9)})
    assert ex["extrapolated"].tolist() == [False, True, True]
    assert ex["clamped"].tolist() == [False, True, True]
    assert "valence 12.30 clamped to 9" in ex["clamped_targets"].iloc[2]
    assert "arousal 0.20 outside training 1.5-8.5" in ex["extrapolated_targets"].iloc[1]


def _noise_folder(folder: Path, n: int = 6) -> Path:
    (folder / "Noise").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        sf.write(folder / "Noise" / f"noise_{i}.wav", (0.3 * rng.standard_normal(22050 * 3)).astype(
            np.float32), 22050)
    return folder


@pytest.fixture(scope="module")
def trained(synthetic_data: RatedClips, feature_cache: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ood_model") / "model"
    train_predictor(synthetic_data, extractor="handcrafted", n_boot=0, cache_dir=feature_cache,
                    out=out, seed=0)
    return out


def test_model_flags_white_noise_not_new_in_domain_systems(
    trained: Path, feature_cache: Path, tmp_path: Path
) -> None:
    card = json.loads((trained / "card.json").read_text())
    assert card["ood"]["method"] == "knn-crossfit" and card["ood"]["alpha"] == 0.05
    assert card["ood"]["calibration"] == "by-system" and card["ood"]["n_reference"] == 80
    assert set(card["ood"]["target_ranges"]) == {"valence", "arousal"}
    assert (trained / "ood.safetensors").is_file()
    model = load_predictor(trained)
    noise = run_predictor(model, _noise_folder(tmp_path / "noise"), cache_dir=feature_cache)
    assert noise["ood"].all(), noise[["ood_score", "ood_p"]]
    assert noise["flag_reason"].str.contains("farther from the training set").all()
    # held-out in-domain clips: new systems from the same generator
    fresh = tmp_path / "fresh"
    write_synthetic_set(fresh, n_systems=6, clips_per_system=10, seed=7)
    pred = run_predictor(model, fresh, cache_dir=feature_cache)
    assert pred["ood"].mean() <= 0.15, pred["ood"].mean()
    for t in ("valence", "arousal"):
        assert np.array_equal(pred[t], pred[f"raw_{t}"].clip(1, 9))
        clamped = (pred[f"raw_{t}"] < 1) | (pred[f"raw_{t}"] > 9)
        assert (pred.loc[clamped, "clamped"]).all()


def test_old_model_without_ood_loads_with_a_warning(
    trained: Path, feature_cache: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import shutil

    old = tmp_path / "old"
    shutil.copytree(trained, old)
    card = json.loads((old / "card.json").read_text())
    del card["ood"]
    (old / "card.json").write_text(json.dumps(card))
    (old / "ood.safetensors").unlink()
    model = load_predictor(old)
    assert model.ood is None
    assert "no OOD calibration" in caplog.text
    data = from_table(Path(str(model.info["source"])))
    pred = run_predictor(model, data.clips.head(3).assign(intent=None), cache_dir=feature_cache)
    assert pred["ood"].isna().all() and pred["ood_score"].isna().all()


def test_cli_prints_flagged_clips_and_reasons(
    trained: Path, feature_cache: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from emoconvey.cli import app

    noise = _noise_folder(tmp_path / "noise", n=7)
    out = tmp_path / "p.csv"
    result = CliRunner().invoke(app, [
        "predict", "run", "--model", str(trained), "--audio", str(noise), "--out", str(out),
        "--cache-dir", str(feature_cache), "--ood-alpha", "0.1",
    ])
    assert result.exit_code == 0, result.output
    assert "out of distribution: 7 of 7 clip(s)" in result.output
    assert "at the 0.1 level" in result.output and "and 2 more" in result.output
    assert "not to be trusted" in result.output
    table = pd.read_csv(out)
    assert table["ood"].all() and table["flag_reason"].str.contains("<= 0.1").all()
    bad = CliRunner().invoke(app, [
        "predict", "run", "--model", str(trained), "--audio", str(noise), "--out", str(out),
        "--cache-dir", str(feature_cache), "--ood-alpha", "2",
    ])
    assert bad.exit_code == 2 and "--ood-alpha: expected a number in (0, 1)" in bad.output
