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
  Seeded: the same data and seed give the same weights.
* ``musiceval-baseline`` (:mod:`emoconvey.predict.baseline`): the MusicEval baseline
  itself (affine heads on raw embeddings, summed L1, SGD, unclipped).
* ``temporal`` (:mod:`emoconvey.predict.temporal`): transformer layers over frame-level
  features, for frame extractors.

Heads follow scikit-learn's estimator conventions: hyper-parameters are keyword
arguments of ``__init__`` stored under their own names (:meth:`Head.get_params`,
:meth:`Head.set_params`), :meth:`Head.fit` returns the head, fitted state lives in
attributes with a trailing underscore that exist only after fitting, and using an unfitted
head raises :class:`emoconvey.errors.NotFittedError`.

Heads are found by name in a registry: the built-in ones, those added with
:func:`register_head`, and those third-party packages declare in the entry-point group
``emoconvey.heads`` (``name = "pkg.module:HeadClass"``). ``make_head(kind, ensemble=K)``
wraps K members trained with seeds ``seed, seed+1, ...`` (:class:`EnsembleHead`).
"""

from __future__ import annotations

import inspect
import logging
from abc import ABC, abstractmethod

import numpy as np

from emoconvey._registry import Registry
from emoconvey.errors import EmoconveyError, NotFittedError
from emoconvey.predict._threads import single_threaded

__all__ = [
    "ENTRY_POINT_GROUP",
    "HEADS",
    "EnsembleHead",
    "Head",
    "MLPHead",
    "RidgeHead",
    "available_heads",
    "get_head_class",
    "head_from_arrays",
    "make_head",
    "register_head",
]

log = logging.getLogger(__name__)

ALPHAS = np.logspace(-3, 5, 17)


def _standardise(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-12] = 1.0
    return mean, scale


def _training_arrays(
    X: np.ndarray, Y: np.ndarray, *, kind: str, minimum: int
) -> tuple[np.ndarray, np.ndarray]:
    """``X`` and ``Y`` as float64 arrays; raise unless there are ``minimum`` clips."""
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if len(X) < minimum:
        raise EmoconveyError(f"{kind}: expected at least {minimum} training clips, got {len(X)}")
    return X, Y


class Head(ABC):
    """A fitted or unfitted multi-target regressor (scikit-learn conventions).

    Subclasses set :attr:`kind`, take their hyper-parameters as keyword arguments of
    ``__init__`` stored under the same names, and list in :attr:`fitted_attributes` the
    trailing-underscore attributes :meth:`fit` creates.
    """

    kind: str = ""
    fitted_attributes: tuple[str, ...] = ()
    sequence_input: bool = False
    """Whether :meth:`fit`/:meth:`predict` take frame sequences (see
    :class:`emoconvey.predict.sequences.Sequences`) instead of a feature matrix."""

    @abstractmethod
    def fit(self, X: np.ndarray, Y: np.ndarray) -> Head:
        """Fit on features ``X`` (n, d) and targets ``Y`` (n, t); returns self."""

    @abstractmethod
    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions (n, t)."""

    def predict_spread(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Predictions and their uncertainty (n, t), or ``None`` where a head has none."""
        return self.predict(X), None

    @abstractmethod
    def arrays(self) -> dict[str, np.ndarray]:
        """Every fitted parameter as a named float array (for safetensors)."""

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values()
                if p.name != "self" and p.kind is p.KEYWORD_ONLY]

    def get_params(self, deep: bool = True) -> dict[str, object]:
        """Hyper-parameters by name (scikit-learn's ``get_params``)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: object) -> Head:
        """Set hyper-parameters by name; an unknown name is an error. Returns self."""
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise EmoconveyError(
                    f"{self.kind}: unknown parameter {name!r}; expected one of {', '.join(valid)}"
                )
            setattr(self, name, value)
        return self

    def is_fitted(self) -> bool:
        """Whether every fitted attribute exists."""
        return all(hasattr(self, a) for a in self.fitted_attributes)

    def check_fitted(self) -> None:
        """Raise :class:`~emoconvey.errors.NotFittedError` unless the head is fitted."""
        if not self.is_fitted():
            raise NotFittedError(
                f"{self.kind}: the head is not fitted; call fit() before predict() or arrays()"
            )

    def config(self) -> dict[str, object]:
        """JSON-serialisable hyper-parameters and fitted scalars."""
        return {"kind": self.kind, **self.get_params()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


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
    fitted_attributes = ("mean_", "scale_", "coef_", "intercept_", "alpha_")

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed

    def fit(self, X: np.ndarray, Y: np.ndarray) -> RidgeHead:
        with single_threaded():
            return self._fit(X, Y)

    def _fit(self, X: np.ndarray, Y: np.ndarray) -> RidgeHead:
        X, Y = _training_arrays(X, Y, kind=self.kind, minimum=3)
        mean, scale = _standardise(X)
        Z = (X - mean) / scale
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
        self.mean_, self.scale_ = mean, scale
        self.alpha_ = ALPHAS[best]
        self.coef_ = coef[best, :, cols]
        self.intercept_ = intercept[best, cols]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        self.check_fitted()
        Z = (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_
        return Z @ self.coef_.T + self.intercept_

    def arrays(self) -> dict[str, np.ndarray]:
        self.check_fitted()
        # saved under the names without the underscore (the format of saved models)
        return {a[:-1]: getattr(self, a) for a in self.fitted_attributes}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], config: dict[str, object]) -> RidgeHead:
        head = cls(seed=int(config.get("seed", 0)))  # type: ignore[arg-type]
        for a in cls.fitted_attributes:
            setattr(head, a, arrays[a[:-1]])
        return head

    def config(self) -> dict[str, object]:
        return {"kind": self.kind, "seed": self.seed, "alphas_searched": ALPHAS.tolist()}


class MLPHead(Head):
    """The MusicEval 3-layer head with ReLU, L1 loss and early stopping (see module doc)."""

    kind = "mlp"
    fitted_attributes = ("params_", "epochs_trained_")

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

        X, Y = _training_arrays(X, Y, kind=self.kind, minimum=4)
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
        best, best_state, waited, best_epoch = np.inf, None, 0, 0
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
                best_epoch = epoch + 1
            else:
                waited += 1
                if waited >= self.patience:
                    break
        assert best_state is not None  # at least one epoch ran
        self.params_ = {f"net.{k}": v.numpy().copy() for k, v in best_state.items()}
        self.params_.update(x_mean=x_mean, x_scale=x_scale, y_mean=y_mean, y_scale=y_scale)
        self.epochs_trained_ = best_epoch
        log.info("mlp: best dev L1 %.4f at epoch %d", best, best_epoch)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        with single_threaded(torch_too=True):
            return self._predict(X)

    def _predict(self, X: np.ndarray) -> np.ndarray:
        import torch

        self.check_fitted()
        p = self.params_
        net = self._net(p["x_mean"].shape[0], p["y_mean"].shape[0])
        net.load_state_dict({k[4:]: torch.from_numpy(np.asarray(v)) for k, v in p.items()
                             if k.startswith("net.")})
        net.eval()
        Z = ((np.asarray(X, dtype=np.float64) - p["x_mean"]) / p["x_scale"]).astype(np.float32)
        with torch.no_grad():
            out = net(torch.from_numpy(Z)).numpy().astype(np.float64)
        return out * p["y_scale"] + p["y_mean"]

    def arrays(self) -> dict[str, np.ndarray]:
        self.check_fitted()
        return dict(self.params_)

    def config(self) -> dict[str, object]:
        cfg = {"kind": self.kind, **self.get_params(), "hidden": list(self.hidden),
               "activation": "relu", "loss": "l1", "optimizer": "adam"}
        if self.is_fitted():
            cfg["epochs_trained"] = self.epochs_trained_
        return cfg

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], config: dict[str, object]) -> MLPHead:
        head = cls(**{k: v for k, v in config.items() if k in cls._param_names()})  # type: ignore[arg-type]
        head.params_ = dict(arrays)
        head.epochs_trained_ = int(config.get("epochs_trained", 0))  # type: ignore[arg-type]
        return head




class EnsembleHead(Head):
    """K heads of one kind trained with seeds ``seed, seed + 1, ..., seed + K - 1``.

    The prediction is the members' mean and its uncertainty their standard deviation
    (ddof 1), :math:`\\hat y = \\frac1K\\sum_k \\hat y_k`,
    :math:`s = \\sqrt{\\frac{1}{K-1}\\sum_k (\\hat y_k - \\hat y)^2}`: a deep ensemble
    (Lakshminarayanan et al., 2017), as in the AudioMOS 2025 winning system, which
    averaged 8 models.

    Parameters
    ----------
    member : str
        The members' head kind.
    ensemble : int
        Number of members, K >= 2.
    seed : int
        Seed of the first member.
    member_params : dict, optional
        Hyper-parameters of every member.
    """

    kind = "ensemble"
    fitted_attributes = ("members_",)

    def __init__(self, *, member: str, ensemble: int, seed: int = 0,
                 member_params: dict[str, object] | None = None) -> None:
        if isinstance(ensemble, bool) or int(ensemble) < 2:
            raise EmoconveyError(f"--ensemble: expected at least 2 members, got {ensemble!r}")
        self.member = member
        self.ensemble = int(ensemble)
        self.seed = seed
        self.member_params = dict(member_params or {})
        self.sequence_input = get_head_class(member).sequence_input

    def _new(self, k: int) -> Head:
        return get_head_class(self.member)(seed=self.seed + k, **self.member_params)

    def fit(self, X: np.ndarray, Y: np.ndarray) -> EnsembleHead:
        self.members_ = [self._new(k).fit(X, Y) for k in range(self.ensemble)]
        return self

    def predict_spread(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        self.check_fitted()
        preds = np.stack([m.predict(X) for m in self.members_])
        return preds.mean(axis=0), preds.std(axis=0, ddof=1)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_spread(X)[0]

    def arrays(self) -> dict[str, np.ndarray]:
        self.check_fitted()
        return {f"m{k}.{name}": v for k, m in enumerate(self.members_)
                for name, v in m.arrays().items()}

    def config(self) -> dict[str, object]:
        cfg: dict[str, object] = {"kind": self.member, "ensemble": self.ensemble,
                                  "seed": self.seed, "member_params": self.member_params}
        if self.is_fitted():
            cfg["members"] = [m.config() for m in self.members_]
        return cfg

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], config: dict[str, object]
                    ) -> EnsembleHead:
        head = cls(member=str(config["kind"]), ensemble=int(config["ensemble"]),  # type: ignore[arg-type]
                   seed=int(config.get("seed", 0)),  # type: ignore[arg-type]
                   member_params=dict(config.get("member_params", {})))  # type: ignore[arg-type]
        member_cls = get_head_class(head.member)
        members = []
        for k, mcfg in enumerate(config.get("members", [])):  # type: ignore[arg-type]
            prefix = f"m{k}."
            sub = {n[len(prefix):]: v for n, v in arrays.items() if n.startswith(prefix)}
            members.append(member_cls.from_arrays(sub, dict(mcfg)))  # type: ignore[attr-defined]
        if len(members) != head.ensemble:
            raise EmoconveyError(
                f"model card: the ensemble has {len(members)} member configs, expected "
                f"{head.ensemble}"
            )
        head.members_ = members
        return head


ENTRY_POINT_GROUP = "emoconvey.heads"
"""Entry-point group under which third-party packages register heads."""

_BUILTIN: dict[str, str] = {
    "temporal": "emoconvey.predict.temporal:TemporalHead",
    "musiceval-baseline": "emoconvey.predict.baseline:MusicEvalBaselineHead"}
"""Built-in torch heads, imported when first asked for (``ridge``, ``mlp``: :data:`HEADS`)."""

HEADS: dict[str, type[Head]] = {"ridge": RidgeHead, "mlp": MLPHead}
"""Heads registered in this process by name (the registry :func:`register_head` fills)."""


def _check_head(name: str, cls: object) -> None:
    if not (isinstance(cls, type) and issubclass(cls, Head)):
        raise EmoconveyError(f"head {name!r}: expected a Head subclass, got {cls!r}")


REGISTRY: Registry[type[Head]] = Registry(
    "head", ENTRY_POINT_GROUP, _BUILTIN, registered=HEADS, check=_check_head,
    unknown="--head: unknown head {name!r}; expected one of {choices}")
"""Built-in, registered and entry-point heads (:class:`emoconvey._registry.Registry`)."""


def register_head(name: str, cls: type[Head]) -> None:
    """Make ``make_head(name, ...)`` build ``cls`` (a :class:`Head` subclass)."""
    REGISTRY.register(name, cls)


def available_heads() -> list[str]:
    """Names of the built-in, registered and entry-point heads."""
    return sorted(REGISTRY.names())


def get_head_class(kind: str) -> type[Head]:
    """The head class registered as ``kind`` (an unknown name is an error naming them all)."""
    return REGISTRY.get(kind)


def make_head(kind: str, *, seed: int = 0, ensemble: int = 1, **params: object) -> Head:
    """An unfitted head of ``kind`` with hyper-parameters ``params``.

    With ``ensemble`` K > 1, an :class:`EnsembleHead` of K such heads.
    """
    cls = get_head_class(kind)
    if ensemble != 1:
        return EnsembleHead(member=kind, ensemble=ensemble, seed=seed, member_params=params)
    unknown = sorted(set(params) - set(cls._param_names()))
    if unknown:
        raise EmoconveyError(
            f"--head {kind}: unknown option(s) {', '.join(unknown)}; expected one of "
            f"{', '.join(cls._param_names())}"
        )
    return cls(seed=seed, **params)


def head_from_arrays(kind: str, arrays: dict[str, np.ndarray], config: dict[str, object]) -> Head:
    """Rebuild a fitted head from its arrays and config (as saved)."""
    try:
        cls = get_head_class(kind)
    except EmoconveyError:
        raise EmoconveyError(f"model card: unknown head {kind!r}") from None
    if "ensemble" in config:
        return EnsembleHead.from_arrays(arrays, config)
    return cls.from_arrays(arrays, config)  # type: ignore[attr-defined]
