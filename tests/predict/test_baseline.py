"""The MusicEval baseline head (``--head musiceval-baseline``), issue 16 defect 7."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emoconvey.errors import DegenerateDataWarning
from emoconvey.predict.baseline import (
    LR,
    MusicEvalBaselineHead,
    train_baseline_heads,
)
from emoconvey.predict.heads import head_from_arrays, make_head


def _data(n: int = 40, d: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    T = rng.normal(size=(n, d))
    mi = 3 + X[:, 0] + 0.1 * rng.normal(size=n)
    ta = 3 + X[:, 1] - T[:, 2] + 0.1 * rng.normal(size=n)
    dev = np.zeros(n, dtype=bool)
    dev[-10:] = True
    return X, T, mi[:, None], ta[:, None], dev


def test_two_affine_heads_raw_inputs_unclipped():
    X, T, mi, ta, dev = _data()
    h_mi, h_ta = train_baseline_heads([X, np.hstack([X, T])], [mi, ta], dev=dev, seed=1,
                                      max_epochs=30)
    assert [h_mi.params_[f"w{k}"].shape for k in (1, 2, 3)] == [(256, 8), (64, 256), (1, 64)]
    assert h_ta.params_["w1"].shape == (256, 16)
    # no activation: the head is one affine map
    a, b = X[:2], X[2:4]
    mix = h_mi.predict(0.3 * a + 0.7 * b)
    assert np.allclose(mix, 0.3 * h_mi.predict(a) + 0.7 * h_mi.predict(b), atol=1e-4)
    # raw inputs: a huge feature offset changes the output (no standardisation)
    assert not np.allclose(h_mi.predict(X + 100), h_mi.predict(X))
    # unclipped
    assert h_mi.clip_output is False and h_mi.config()["clipped"] is False
    assert np.abs(h_mi.predict(X * 1e4)).max() > 5
    # saved as arrays + JSON config, rebuilt exactly
    again = head_from_arrays("musiceval-baseline", h_mi.arrays(), h_mi.config())
    np.testing.assert_array_equal(again.predict(X), h_mi.predict(X))
    assert isinstance(make_head("musiceval-baseline", seed=3), MusicEvalBaselineHead)


def test_early_stopping_on_the_official_dev_clips():
    X, T, mi, ta, dev = _data()
    heads = train_baseline_heads([X, np.hstack([X, T])], [mi, ta], dev=dev, seed=0,
                                 max_epochs=60)
    # the recorded best dev loss is the mean over dev batches of 8 of (L1_MI + L1_TA) / 2
    idx = np.flatnonzero(dev)
    p_mi = heads[0].predict(X[idx])[:, 0].astype(np.float32)
    p_ta = heads[1].predict(np.hstack([X, T])[idx])[:, 0].astype(np.float32)
    batches = [slice(i, i + 8) for i in range(0, len(idx), 8)]
    want = np.mean([(np.abs(p_mi[s] - mi[idx, 0][s]).mean() + np.abs(p_ta[s] - ta[idx, 0][s])
                     .mean()) / 2 for s in batches])
    assert heads[0].best_dev_loss_ == pytest.approx(want, rel=1e-4)
    assert 1 <= heads[0].epochs_trained_ <= 60
    with pytest.warns(DegenerateDataWarning, match="no official dev clips"):
        train_baseline_heads([X], [mi], dev=None, seed=0, max_epochs=2)


def test_one_step_is_sgd_on_the_summed_l1_losses():
    """One epoch of one batch (< 64 clips): w1 = w0 - lr * grad(L1_MI + L1_TA)."""
    X, T, mi, ta, dev = _data(n=30)
    XT = np.hstack([X, T])
    heads = train_baseline_heads([X, XT], [mi, ta], dev=dev, seed=7, max_epochs=1)
    torch.manual_seed(7)
    nets = [torch.nn.Sequential(torch.nn.Linear(d, 256), torch.nn.Linear(256, 64),
                                torch.nn.Linear(64, 1)) for d in (8, 16)]
    train = np.flatnonzero(~dev)
    loss = sum(
        torch.nn.functional.l1_loss(net(torch.tensor(x[train], dtype=torch.float32)),
                                    torch.tensor(y[train], dtype=torch.float32))
        for net, x, y in zip(nets, (X, XT), (mi, ta), strict=True)
    )
    loss.backward()
    for head, net in zip(heads, nets, strict=True):
        w0 = net[0].weight.detach().numpy()
        g = net[0].weight.grad.numpy()
        np.testing.assert_allclose(head.params_["w1"], w0 - LR * g, atol=1e-6)
