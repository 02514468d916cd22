"""Training, cross-validation and the model folder (handcrafted + ridge on synthetic audio)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emoconvey.errors import EmoconveyError
from emoconvey.predict.datasets import RatedClips
from emoconvey.predict.extractors import get_extractor
from emoconvey.predict.model import cross_validate, fit_predictor, load_predictor
from emoconvey.predict.pipeline import featurise, run_predictor, train_predictor


@pytest.fixture(scope="module")
def features(synthetic_data: RatedClips, feature_cache: Path) -> np.ndarray:
    X, _, _ = featurise(get_extractor("handcrafted", workers=2),
                        synthetic_data.clips["audio_file"].tolist(), cache_dir=feature_cache)
    return X.astype(np.float64)


def _get(table, target: str, level: str) -> dict:
    return table[(table.target == target) & (table.level == level)].iloc[0].to_dict()


def test_held_out_systems_agree_and_shuffled_control_does_not(
    synthetic_data: RatedClips, features: np.ndarray
) -> None:
    metrics, heldout = cross_validate(synthetic_data, features, split="by-system", n_boot=200)
    assert set(heldout["fold"]) == {f"by-system-{i}" for i in range(1, 6)}
    # every clip held out exactly once, and no system in two folds
    assert sorted(heldout["clip_id"]) == sorted(synthetic_data.clips["clip_id"])
    assert (heldout.groupby("system")["fold"].nunique() == 1).all()
    for target in ("valence", "arousal"):
        utt = _get(metrics, target, "utterance")
        assert utt["LCC"] > 0.8, (target, utt)
        assert utt["SRCC"] > 0.8
        assert utt["LCC_ci_low"] < utt["LCC"] < utt["LCC_ci_high"]
    assert _get(metrics, "arousal", "system")["LCC"] > 0.8
    # the shuffled-label control: one permutation scatters (sd about 0.2 here), the
    # mean over several stays near zero
    lcc = {"valence": [], "arousal": []}
    for seed in range(6):
        control, _ = cross_validate(synthetic_data, features, split="by-system",
                                    shuffle_labels=True, n_boot=0, seed=seed)
        assert set(control["split"]) == {"by-system+shuffled"}
        for target in lcc:
            lcc[target].append(_get(control, target, "utterance")["LCC"])
    for target, values in lcc.items():
        assert abs(np.mean(values)) < 0.25, (target, values)
        assert np.mean(values) < _get(metrics, target, "utterance")["LCC"] - 0.5


def test_other_splits(synthetic_data: RatedClips, features: np.ndarray) -> None:
    rand, held = cross_validate(synthetic_data, features, split="random", n_boot=0)
    assert len(held) == 12  # 15 % of 80
    assert _get(rand, "arousal", "utterance")["LCC"] > 0.7
    with pytest.raises(EmoconveyError, match="by-intent: 80 clip\\(s\\) have no intent"):
        cross_validate(synthetic_data, features, split="by-intent")
    with pytest.raises(EmoconveyError, match="official: the data has no official split"):
        cross_validate(synthetic_data, features, split="official")
    with pytest.raises(EmoconveyError, match="expected 80 rows"):
        cross_validate(synthetic_data, features[:5])


def test_model_folder_round_trip(
    synthetic_data: RatedClips, synthetic_folder: Path, feature_cache: Path, tmp_path: Path
) -> None:
    out = tmp_path / "model"
    result = train_predictor(synthetic_data, extractor=get_extractor("handcrafted", workers=2),
                             cache_dir=feature_cache, out=out, n_boot=50)
    assert result.extracted == 0  # every clip came from the cache
    assert sorted(p.name for p in out.iterdir()) == [
        "card.json", "head_audio.safetensors", "heldout_predictions.csv", "metrics.json",
        "ood.safetensors",
    ]
    card = json.loads((out / "card.json").read_text())
    assert card["extractor"]["id"] == "handcrafted" and card["head"] == "ridge"
    assert card["targets"] == ["valence", "arousal"]
    assert card["training"]["data_hash"] == synthetic_data.data_hash()
    assert card["emoconvey_version"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert {m["level"] for m in metrics} == {"utterance", "system"}
    assert all(isinstance(m["LCC"], float) for m in metrics)
    loaded = load_predictor(out)
    X, _, _ = featurise(get_extractor("handcrafted"), synthetic_data.clips["audio_file"],
                        cache_dir=feature_cache)
    np.testing.assert_allclose(loaded.predict(X).to_numpy(), result.model.predict(X).to_numpy())
    pd.testing.assert_frame_equal(loaded.ood.score(X), result.model.ood.score(X))
    ridge = loaded.groups[0].head
    assert ridge.coef_.shape == (2, X.shape[1]) and ridge.alpha_.shape == (2,)
    pred = run_predictor(out, synthetic_folder, cache_dir=feature_cache)
    assert len(pred) == 80 and set(pred["system"]) == set(synthetic_data.clips["system"])
    assert pred[["valence", "arousal"]].to_numpy().min() >= 1.0


def test_ridge_matches_a_direct_solution(synthetic_data: RatedClips, features: np.ndarray) -> None:
    from sklearn.linear_model import Ridge

    model = fit_predictor(synthetic_data, features, extractor={"id": "handcrafted"})
    head = model.groups[0].head
    Z = (features - features.mean(0)) / np.where(features.std(0) > 1e-12, features.std(0), 1)
    for j, t in enumerate(("valence", "arousal")):
        ref = Ridge(alpha=head.alpha_[j]).fit(Z, synthetic_data.clips[t])
        np.testing.assert_allclose(head.coef_[j], ref.coef_, rtol=1e-5, atol=1e-8)


def test_loading_errors(tmp_path: Path, synthetic_data: RatedClips, features: np.ndarray) -> None:
    with pytest.raises(EmoconveyError, match="has no card.json"):
        load_predictor(tmp_path)
    model = fit_predictor(synthetic_data, features, extractor={"id": "handcrafted",
                                                               "version": "1"})
    folder = model.save(tmp_path / "m")
    card = json.loads((folder / "card.json").read_text())
    (folder / "card.json").write_text("{not json")
    with pytest.raises(EmoconveyError, match="not valid JSON"):
        load_predictor(folder)
    (folder / "card.json").write_text(json.dumps({**card, "format": "pickle"}))
    with pytest.raises(EmoconveyError, match='expected "format": "emoconvey-predictor"'):
        load_predictor(folder)
    (folder / "card.json").write_text(json.dumps({**card, "format_version": 99}))
    with pytest.raises(EmoconveyError, match="newer than this emoconvey reads"):
        load_predictor(folder)
    (folder / "card.json").write_text(json.dumps(card))
    (folder / "head_audio.safetensors").write_bytes(b"\x80\x04garbage")
    with pytest.raises(EmoconveyError, match="not a readable safetensors file"):
        load_predictor(folder)
    (folder / "head_audio.safetensors").unlink()
    with pytest.raises(EmoconveyError, match="missing head weights"):
        load_predictor(folder)
