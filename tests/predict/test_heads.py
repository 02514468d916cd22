"""Heads (ridge, mlp) and splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emoconvey.errors import EmoconveyError
from emoconvey.predict.heads import MLPHead, head_from_arrays, make_head
from emoconvey.predict.splits import make_folds


def _data(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)) * [1, 10, 0.1, 1, 1, 1] + 5
    Y = np.column_stack([
        np.tanh(X[:, 0] - 5) + 0.05 * X[:, 1],
        (X[:, 3] - 5) ** 2 / 3,
    ]) + rng.normal(0, 0.05, (n, 2))
    return X, Y


def test_mlp_is_seeded_nonlinear_and_round_trips() -> None:
    X, Y = _data()
    a = make_head("mlp", seed=4).fit(X[:100], Y[:100])
    b = make_head("mlp", seed=4).fit(X[:100], Y[:100])
    np.testing.assert_array_equal(a.predict(X[100:]), b.predict(X[100:]))
    # the square of x3 is not linear: the MLP beats ridge on it
    ridge = make_head("ridge").fit(X[:100], Y[:100])
    err_mlp = np.abs(a.predict(X[100:])[:, 1] - Y[100:, 1]).mean()
    err_ridge = np.abs(ridge.predict(X[100:])[:, 1] - Y[100:, 1]).mean()
    assert err_mlp < err_ridge
    assert 0 < a.epochs_trained_ <= a.max_epochs
    again = head_from_arrays("mlp", a.arrays(), a.config())
    np.testing.assert_allclose(again.predict(X), a.predict(X), rtol=1e-6)
    assert isinstance(again, MLPHead)
    assert a.config()["loss"] == "l1" and a.config()["activation"] == "relu"


def test_ridge_round_trip_and_errors() -> None:
    X, Y = _data()
    ridge = make_head("ridge").fit(X, Y)
    again = head_from_arrays("ridge", ridge.arrays(), ridge.config())
    np.testing.assert_array_equal(again.predict(X), ridge.predict(X))
    with pytest.raises(EmoconveyError, match="unknown head 'svm'"):
        make_head("svm")
    with pytest.raises(EmoconveyError, match="at least 3 training clips"):
        make_head("ridge").fit(X[:2], Y[:2])
    with pytest.raises(EmoconveyError, match="at least 4 training clips"):
        make_head("mlp").fit(X[:3], Y[:3])
    with pytest.raises(EmoconveyError, match="not fitted"):
        make_head("ridge").predict(X)
    with pytest.raises(EmoconveyError, match="model card: unknown head"):
        head_from_arrays("tree", {}, {})


def test_splits() -> None:
    clips = pd.DataFrame({
        "system": np.repeat(list("ABCDEFG"), 4),
        "intent": np.tile(["happy", "sad", "calm", "angry"], 7),
        "split": ["train"] * 20 + ["dev"] * 4 + ["test"] * 4,
    })
    folds = make_folds(clips, "by-system", seed=1)
    assert len(folds) == 5
    held = np.concatenate([f.test for f in folds])
    assert sorted(held) == list(range(28))
    for f in folds:
        assert not set(clips["system"].iloc[f.train]) & set(clips["system"].iloc[f.test])
    assert make_folds(clips, "by-system", seed=1)[0].test.tolist() == folds[0].test.tolist()
    by_intent = make_folds(clips, "by-intent")
    assert len(by_intent) == 4
    (rand,) = make_folds(clips, "random", seed=2)
    assert len(rand.test) == 4 and len(rand.train) == 24
    (off,) = make_folds(clips, "official")
    assert off.name == "official-test" and len(off.train) == 24 and len(off.test) == 4
    with pytest.raises(EmoconveyError, match="at least 2 systems"):
        make_folds(clips.assign(system="A"), "by-system")
    with pytest.raises(EmoconveyError, match="expected a 'train' list"):
        make_folds(clips.assign(split="test"), "official")
    with pytest.raises(EmoconveyError, match="--folds: expected at least 2"):
        make_folds(clips, "by-system", k=1)
    with pytest.raises(EmoconveyError, match="at least 7 clips"):
        make_folds(clips.head(5), "random")


def test_ridge_is_pinned_to_scikit_learn() -> None:
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import PredefinedSplit, cross_val_score

    from emoconvey.predict.heads import ALPHAS

    X, Y = _data(90, seed=3)
    head = make_head("ridge", seed=5).fit(X, Y)
    Z = (X - X.mean(0)) / X.std(0)
    # the same seeded inner folds, scored by scikit-learn
    order = np.random.default_rng(5).permutation(len(X))
    fold = np.empty(len(X), int)
    for k, part in enumerate(np.array_split(order, 5)):
        fold[part] = k
    for j in range(2):
        # fold sizes differ by at most one: weight as the head does (per clip)
        sizes = np.bincount(fold)
        weighted = [
            sum(-s * n for s, n in zip(
                cross_val_score(Ridge(alpha=a), Z, Y[:, j], cv=PredefinedSplit(fold),
                                scoring="neg_mean_squared_error"), sizes, strict=True))
            for a in ALPHAS
        ]
        assert head.alpha_[j] == ALPHAS[int(np.argmin(weighted))]
        ref = Ridge(alpha=head.alpha_[j]).fit(Z, Y[:, j])
        np.testing.assert_allclose(head.coef_[j], ref.coef_, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(head.intercept_[j], ref.intercept_, rtol=1e-8)


@pytest.mark.parametrize("kind", ["ridge", "mlp"])
def test_heads_follow_scikit_learn_conventions(kind: str, tmp_path) -> None:
    from safetensors.numpy import load_file, save_file

    from emoconvey.errors import NotFittedError

    X, Y = _data(60)
    head = make_head(kind, seed=3)
    params = head.get_params()
    assert params["seed"] == 3 and set(params) == set(type(head)._param_names())
    assert make_head(kind, seed=3).set_params(**params).get_params() == params
    with pytest.raises(EmoconveyError, match="unknown parameter 'nope'"):
        head.set_params(nope=1)
    # fitted state exists only after fit, under trailing-underscore names
    assert not any(hasattr(head, a) for a in head.fitted_attributes)
    assert head.fitted_attributes and all(a.endswith("_") for a in head.fitted_attributes)
    assert not any(k.endswith("_") for k in vars(head))
    with pytest.raises(NotFittedError, match=f"{kind}: the head is not fitted"):
        head.predict(X)
    with pytest.raises(NotFittedError):
        head.arrays()
    assert issubclass(NotFittedError, EmoconveyError)
    assert head.fit(X, Y) is head and head.is_fitted()
    assert head.get_params() == params  # fitting does not change hyper-parameters
    # save/load round trip through safetensors (float64, as Predictor.save writes)
    save_file({k: np.ascontiguousarray(np.asarray(v, np.float64))
               for k, v in head.arrays().items()}, str(tmp_path / "h.safetensors"))
    again = head_from_arrays(kind, load_file(str(tmp_path / "h.safetensors")), head.config())
    np.testing.assert_allclose(again.predict(X), head.predict(X), rtol=1e-6)
    assert again.get_params() == params


def test_head_registry_and_ensemble() -> None:
    from emoconvey.predict.heads import (
        EnsembleHead,
        RidgeHead,
        available_heads,
        get_head_class,
        register_head,
    )

    class Shrunk(RidgeHead):
        kind = "shrunk"

    register_head("shrunk", Shrunk)
    assert {"ridge", "mlp", "temporal", "shrunk"} <= set(available_heads())
    assert get_head_class("shrunk") is Shrunk and isinstance(make_head("shrunk"), Shrunk)
    with pytest.raises(EmoconveyError, match="expected a Head subclass"):
        register_head("bad", dict)  # type: ignore[arg-type]
    with pytest.raises(EmoconveyError, match="unknown option"):
        make_head("ridge", lr=1.0)
    X, Y = _data(60)
    ens = make_head("ridge", seed=1, ensemble=3)
    assert isinstance(ens, EnsembleHead) and ens.get_params()["ensemble"] == 3
    mean, sd = ens.fit(X, Y).predict_spread(X)
    members = np.stack([make_head("ridge", seed=s).fit(X, Y).predict(X) for s in (1, 2, 3)])
    np.testing.assert_allclose(mean, members.mean(0))
    np.testing.assert_allclose(sd, members.std(0, ddof=1))
    again = head_from_arrays("ridge", ens.arrays(), ens.config())
    np.testing.assert_allclose(again.predict_spread(X)[1], sd)
    with pytest.raises(EmoconveyError, match="at least 2 members"):
        make_head("ridge", ensemble=0)
    from emoconvey.predict.heads import HEADS

    HEADS.pop("shrunk")


def test_heads_from_the_entry_point_group(monkeypatch: pytest.MonkeyPatch) -> None:
    from emoconvey.predict import heads
    from emoconvey.predict.heads import RidgeHead

    class ThirdParty(RidgeHead):
        kind = "third-party"

    class EntryPoint:
        name = "third-party"

        def load(self) -> type:
            return ThirdParty

    monkeypatch.setattr(heads.REGISTRY, "entry_points", lambda: {"third-party": EntryPoint()})
    monkeypatch.delitem(heads.HEADS, "third-party", raising=False)
    assert "third-party" in heads.available_heads()
    X, Y = _data(40)
    head = make_head("third-party", seed=2).fit(X, Y)
    assert isinstance(head, ThirdParty)
    again = head_from_arrays("third-party", head.arrays(), head.config())
    np.testing.assert_array_equal(again.predict(X), head.predict(X))
    monkeypatch.delitem(heads.HEADS, "third-party")
    with pytest.raises(EmoconveyError, match="unknown head 'nope'; expected one of .*temporal"):
        make_head("nope")
