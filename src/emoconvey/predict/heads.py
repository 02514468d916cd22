"""Regression heads on top of extracted features: ``ridge`` and ``mlp``, multi-target.

Both standardise the inputs (z-scores with the training mean and standard deviation) and
are stored as plain arrays (:meth:`Head.arrays`, written as safetensors), so that a saved
model is loaded and applied with numpy/torch tensors only, never by unpickling.

* ``ridge``: ridge regression on standardised features (the estimator of scikit-learn's
  ``Ridge``, solved for all strengths at once by one eigen-decomposition; the tests pin
  it to scikit-learn), one regularisation strength per target chosen by seeded inner
  K-fold cross-validation (K = min(5, n), lowest mean squared error) over
  :math:`\\alpha \\in \\{10^{-3}, 10^{-2.5}, \\dots, 10^{5}\\}`; prediction
  :math:`\\hat y = z(x) W^\\top + b`.
* ``mlp``: emoconvey's non-linear variant of the MusicEval head shape (Liu et al., 2025;
  d -> 256 -> 64 -> targets) with ReLU activations and dropout between the layers (the
  released head has no activation at all), L1 loss, Adam (lr 1e-3, batch 64), inputs
  and targets standardised, early stopping on a seeded 15 % dev split (patience 20
  epochs, at most 300), the best dev epoch kept, predictions clipped to the scale.
  Seeded: the same data and seed give the same weights. The baseline itself is
  ``musiceval-baseline`` (:mod:`emoconvey.predict.baseline`).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

import numpy as np

from emoconvey.errors import EmoconveyError
from emoconvey.predict._threads import single_threaded
from emoconvey.predict.baseline import BASELINE_KIND, MusicEvalBaselineHead

__all__ = ["HEADS", "Head", "MLPHead", "RidgeHead", "head_from_arrays", "make_head"]

log = logging.getLogger(__name__)

ALPHAS = np.logspace(-3, 5, 17)


def _standardise(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-12] = 1.0
    return mean, scale


class Head(ABC):
    """A fitted or unfitted multi-target regressor."""

    kind: str = ""

    @abstractmethod
    def fit(self, X: np.ndarray, Y: np.ndarray) -> Head:
        """Fit on features ``X`` (n, d) and targets ``Y`` (n, t); returns self."""

    @abstractmethod
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions (n, t)."""

    @abstractmethod
    def arrays(self) -> dict[str, np.ndarray]:
        """Every fitted parameter as a named float array (for safetensors)."""

    def config(self) -> dict[str, object]:
        """JSON-serialisable hyper-parameters and fitted scalars."""
        return {"kind": self.kind}


def _ridge_path(Z: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ridge solutions for every alpha of :data:`ALPHAS` with an unpenalised intercept.

    With the centred data :math:`Z_c` and the eigen-decomposition
    :math:`Z_c^\\top Z_c = V \\Lambda V^\\top` (d x d, cheap for the few dozen to few
    thousand features of a head), the coefficients are
    :math:`W_\\alpha = V (\\Lambda + \\alpha I)^{-1} V^\\top Z_c^\\top Y_c` (Hoerl & Kennard,
    1970) and the intercept :math:`\\bar y - \\bar z W_\\alpha`. Returns coefficients
    ``(n_alphas, d, t)`` and intercepts ``(n_alphas, t)``.
    """
    z_mean, y_mean = Z.mean(axis=0), Y.mean(axis=0)
    Zc = Z - z_mean
    eig, V = np.linalg.eigh(Zc.T @ Zc)
    eig = np.clip(eig, 0.0, None)
    VtZtY = V.T @ (Zc.T @ (Y - y_mean))  # (d, t)
    inv = 1.0 / (eig[None, :] + ALPHAS[:, None])  # (a, d)
    coef = np.einsum("dr,ar,rt->adt", V, inv, VtZtY, optimize=True)
    intercept = y_mean[None, :] - np.einsum("d,adt->at", z_mean, coef)
    return coef, intercept


class RidgeHead(Head):
    """Standardised ridge regression, alpha per target by inner cross-validation."""

    kind = "ridge"

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed
        self.mean: np.ndarray | None = None
        self.scale: np.ndarray | None = None
        self.coef: np.ndarray | None = None
        self.intercept: np.ndarray | None = None
        self.alpha: np.ndarray | None = None

    def fit(self, X: np.ndarray, Y: np.ndarray) -> RidgeHead:
        with single_threaded():
            return self._fit(X, Y)

    def _fit(self, X: np.ndarray, Y: np.ndarray) -> RidgeHead:
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        if len(X) < 3:
            raise EmoconveyError(f"ridge: expected at least 3 training clips, got {len(X)}")
        self.mean, self.scale = _standardise(X)
        Z = (X - self.mean) / self.scale
        k = min(5, len(X))
        order = np.random.default_rng(self.seed).permutation(len(X))
        mse = np.zeros((len(ALPHAS), Y.shape[1]))
        for test in np.array_split(order, k):
            train = np.setdiff1d(order, test)
            coef, intercept = _ridge_path(Z[train], Y[train])
            pred = np.einsum("nd,adt->ant", Z[test], coef) + intercept[:, None, :]
            mse += ((pred - Y[test][None]) ** 2).mean(axis=1) * len(test)
        best = mse.argmin(axis=0)
        coef, intercept = _ridge_path(Z, Y)
        cols = np.arange(Y.shape[1])
        self.alpha = ALPHAS[best]
        self.coef = coef[best, :, cols]
        self.intercept = intercept[best, cols]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.coef is None:
            raise EmoconveyError("ridge: the head is not fitted")
        Z = (np.asarray(X, dtype=np.float64) - self.mean) / self.scale
        return Z @ self.coef.T + self.intercept

    def arrays(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "scale": self.scale, "coef": self.coef,
                "intercept": self.intercept, "alpha": self.alpha}  # type: ignore[dict-item]

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], config: dict[str, object]) -> RidgeHead:
        head = cls(seed=int(config.get("seed", 0)))  # type: ignore[arg-type]
        head.mean, head.scale = arrays["mean"], arrays["scale"]
        head.coef, head.intercept, head.alpha = arrays["coef"], arrays["intercept"], arrays["alpha"]
        return head

    def config(self) -> dict[str, object]:
        return {"kind": self.kind, "seed": self.seed, "alphas_searched": ALPHAS.tolist()}


class MLPHead(Head):
    """The MusicEval 3-layer head with ReLU, L1 loss and early stopping (see module doc)."""

    kind = "mlp"

    def __init__(
        self,
        *,
        seed: int = 0,
        hidden: tuple[int, int] = (256, 64),
        dropout: float = 0.1,
        lr: float = 1e-3,
        batch_size: int = 64,
        max_epochs: int = 300,
        patience: int = 20,
        dev_fraction: float = 0.15,
    ) -> None:
        self.seed = seed
        self.hidden = tuple(int(h) for h in hidden)
        self.dropout = float(dropout)
        self.lr = float(lr)
        self.batch_size = int(batch_size)
        self.max_epochs = int(max_epochs)
        self.patience = int(patience)
        self.dev_fraction = float(dev_fraction)
        self.params: dict[str, np.ndarray] = {}
        self.epochs_trained = 0

    def _net(self, d_in: int, d_out: int):
        import torch.nn as nn

        h1, h2 = self.hidden
        return nn.Sequential(
            nn.Linear(d_in, h1), nn.ReLU(), nn.Dropout(self.dropout),
            nn.Linear(h1, h2), nn.ReLU(), nn.Dropout(self.dropout),
            nn.Linear(h2, d_out),
        )

    def fit(self, X: np.ndarray, Y: np.ndarray) -> MLPHead:
        with single_threaded(torch_too=True):
            return self._fit(X, Y)

    def _fit(self, X: np.ndarray, Y: np.ndarray) -> MLPHead:
        import torch

        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        if len(X) < 4:
            raise EmoconveyError(f"mlp: expected at least 4 training clips, got {len(X)}")
        x_mean, x_scale = _standardise(X)
        y_mean, y_scale = _standardise(Y)
        Z = ((X - x_mean) / x_scale).astype(np.float32)
        T = ((Y - y_mean) / y_scale).astype(np.float32)
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(len(X))
        n_dev = max(1, round(self.dev_fraction * len(X)))
        dev, train = order[:n_dev], order[n_dev:]
        gen = torch.Generator().manual_seed(self.seed)
        torch.manual_seed(self.seed)
        net = self._net(X.shape[1], Y.shape[1])
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        loss_fn = torch.nn.L1Loss()
        zt, tt = torch.from_numpy(Z[train]), torch.from_numpy(T[train])
        zd, td = torch.from_numpy(Z[dev]), torch.from_numpy(T[dev])
        best, best_state, waited = np.inf, None, 0
        for epoch in range(self.max_epochs):
            net.train()
            perm = torch.randperm(len(train), generator=gen)
            for start in range(0, len(train), self.batch_size):
                idx = perm[start:start + self.batch_size]
                opt.zero_grad()
                loss = loss_fn(net(zt[idx]), tt[idx])
                loss.backward()
                opt.step()
            net.eval()
            with torch.no_grad():
                dev_loss = float(loss_fn(net(zd), td))
            if dev_loss < best - 1e-6:
                best, waited = dev_loss, 0
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                self.epochs_trained = epoch + 1
            else:
                waited += 1
                if waited >= self.patience:
                    break
        assert best_state is not None  # at least one epoch ran
        self.params = {f"net.{k}": v.numpy().copy() for k, v in best_state.items()}
        self.params.update(x_mean=x_mean, x_scale=x_scale, y_mean=y_mean, y_scale=y_scale)
        log.info("mlp: best dev L1 %.4f at epoch %d", best, self.epochs_trained)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        with single_threaded(torch_too=True):
            return self._predict(X)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        import torch

        if not self.params:
            raise EmoconveyError("mlp: the head is not fitted")
        p = self.params
        net = self._net(p["x_mean"].shape[0], p["y_mean"].shape[0])
        net.load_state_dict({k[4:]: torch.from_numpy(np.asarray(v)) for k, v in p.items()
                             if k.startswith("net.")})
        net.eval()
        Z = ((np.asarray(X, dtype=np.float64) - p["x_mean"]) / p["x_scale"]).astype(np.float32)
        with torch.no_grad():
            out = net(torch.from_numpy(Z)).numpy().astype(np.float64)
        return out * p["y_scale"] + p["y_mean"]

    def arrays(self) -> dict[str, np.ndarray]:
        return dict(self.params)

    def config(self) -> dict[str, object]:
        return {"kind": self.kind, "seed": self.seed, "hidden": list(self.hidden),
                "dropout": self.dropout, "lr": self.lr, "batch_size": self.batch_size,
                "max_epochs": self.max_epochs, "patience": self.patience,
                "dev_fraction": self.dev_fraction, "epochs_trained": self.epochs_trained,
                "activation": "relu", "loss": "l1", "optimizer": "adam"}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], config: dict[str, object]) -> MLPHead:
        head = cls(
            seed=int(config.get("seed", 0)),  # type: ignore[arg-type]
            hidden=tuple(config.get("hidden", (256, 64))),  # type: ignore[arg-type]
            dropout=float(config.get("dropout", 0.1)),  # type: ignore[arg-type]
        )
        head.params = dict(arrays)
        head.epochs_trained = int(config.get("epochs_trained", 0))  # type: ignore[arg-type]
        return head


Head.register(MusicEvalBaselineHead)
HEADS: dict[str, type[Head]] = {
    "ridge": RidgeHead, "mlp": MLPHead, BASELINE_KIND: MusicEvalBaselineHead,  # type: ignore[dict-item]
}
"""Head kinds by name (``musiceval-baseline``: :mod:`emoconvey.predict.baseline`)."""


def make_head(kind: str, *, seed: int = 0) -> Head:
    """An unfitted head of ``kind`` (``ridge``, ``mlp`` or ``musiceval-baseline``)."""
    if kind not in HEADS:
        raise EmoconveyError(f"--head: unknown head {kind!r}; expected one of {', '.join(HEADS)}")
    return HEADS[kind](seed=seed)


def head_from_arrays(kind: str, arrays: dict[str, np.ndarray], config: dict[str, object]) -> Head:
    """Rebuild a fitted head from its arrays and config (as saved)."""
    if kind not in HEADS:
        raise EmoconveyError(f"model card: unknown head {kind!r}")
    return HEADS[kind].from_arrays(arrays, config)  # type: ignore[attr-defined]
