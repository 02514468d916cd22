"""``musiceval-baseline``: the MusicEval / AudioMOS 2025 track-1 baseline predictor.

The baseline of Liu et al. (2025, MusicEval) as its public code trains it (read as
facts, not copied):

* inputs are the **raw** CLAP embeddings (512-d audio, 512-d text), targets the **raw**
  clip MOS (no standardisation);
* the musical-impression (MI) head reads the audio embedding, the textual-alignment
  (TA) head the audio and text embeddings joined (1,024-d); each head is three affine
  layers ``d -> 256 -> 64 -> 1`` **without activation** (so each head is one affine
  map, written as a product of three);
* both heads are trained **together**: the L1 losses of MI and TA are summed and one
  SGD optimiser (lr 5e-4, momentum 0.9) takes a step per batch of 64 shuffled training
  clips;
* up to 1,000 epochs; after each, the mean dev loss (mean over dev batches of 8 of
  ``(L1_MI + L1_TA) / 2``) on the official ``dev_mos_list.txt`` clips; training stops
  when it has not decreased for 20 epochs and the best epoch's weights are kept;
* the output is **not clipped** to 1-5.

Differences to emoconvey's ``mlp`` head: ``mlp`` standardises inputs and targets, puts
ReLU and dropout between its layers, trains each head group alone with Adam (lr 1e-3)
on a seeded 15 % dev split, stops after at most 300 epochs, and its predictions are
clipped to the scale.

Seeded: the initial weights (``torch.manual_seed(seed)``, MI layers first, then TA) and
the batch order (a ``torch.Generator`` seeded with ``seed``) are reproducible. The dev
batches are taken in clip order (the baseline shuffles them, which changes the mean
only through the weight of a last, smaller batch). Without an official dev list (a
split other than ``official``, or no ``dev`` clips) a seeded 15 % of the training clips
is the dev set and a warning says so.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import numpy as np

from emoconvey.errors import DegenerateDataWarning, EmoconveyError
from emoconvey.predict._threads import single_threaded
from emoconvey.predict.heads import Head

__all__ = ["BASELINE_KIND", "MusicEvalBaselineHead", "dev_mask", "train_baseline_heads"]

log = logging.getLogger(__name__)

BASELINE_KIND = "musiceval-baseline"
"""The head name of ``predict train --head``."""

HIDDEN = (256, 64)
LR, MOMENTUM, BATCH, DEV_BATCH, MAX_EPOCHS, PATIENCE = 5e-4, 0.9, 64, 8, 1000, 20


class MusicEvalBaselineHead(Head):
    """One baseline head: three affine layers ``d -> 256 -> 64 -> t``, no activation.

    Fitted by :func:`train_baseline_heads` (jointly with the other heads of a model);
    :meth:`fit` alone trains this one head the same way with a seeded 15 % dev split.
    """

    kind = BASELINE_KIND
    fitted_attributes = ("params_", "epochs_trained_")
    clip_output = False
    """The baseline does not clip its output to the rating scale."""

    def __init__(self, *, seed: int = 0, max_epochs: int = MAX_EPOCHS,
                 patience: int = PATIENCE) -> None:
        self.seed = int(seed)
        self.max_epochs = int(max_epochs)
        self.patience = int(patience)

    def fit(self, X: np.ndarray, Y: np.ndarray) -> MusicEvalBaselineHead:
        """Train this head alone (dev: a seeded 15 % of the clips)."""
        (head,) = train_baseline_heads([X], [Y], dev=None, seed=self.seed,
                                       max_epochs=self.max_epochs, patience=self.patience)
        self.params_, self.epochs_trained_ = head.params_, head.epochs_trained_
        self.best_dev_loss_ = head.best_dev_loss_
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """``((X W1' + b1) W2' + b2) W3' + b3`` (float32, as the baseline), unclipped."""
        self.check_fitted()
        h = np.asarray(X, dtype=np.float32)
        for k in (1, 2, 3):
            h = h @ self.params_[f"w{k}"].astype(np.float32).T + self.params_[f"b{k}"].astype(
                np.float32)
        return h.astype(np.float64)

    def arrays(self) -> dict[str, np.ndarray]:
        """The six weight and bias arrays."""
        self.check_fitted()
        return dict(self.params_)

    def config(self) -> dict[str, object]:
        """Hyper-parameters and what training reached (JSON)."""
        return {"kind": self.kind, "seed": self.seed, "hidden": list(HIDDEN),
                "activation": None, "loss": "l1 (summed over heads)", "optimizer": "sgd",
                "lr": LR, "momentum": MOMENTUM, "batch_size": BATCH,
                "max_epochs": self.max_epochs, "patience": self.patience,
                "epochs_trained": getattr(self, "epochs_trained_", 0),
                "best_dev_loss": getattr(self, "best_dev_loss_", float("nan")),
                "standardised": False, "clipped": False}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray],
                    config: dict[str, object]) -> MusicEvalBaselineHead:
        """Rebuild a fitted head from its saved arrays and config."""
        head = cls(seed=int(config.get("seed", 0)))  # type: ignore[arg-type]
        head.params_ = {k: np.asarray(v) for k, v in arrays.items()}
        head.epochs_trained_ = int(config.get("epochs_trained", 0))  # type: ignore[arg-type]
        return head


def dev_mask(n: int, dev: np.ndarray | None, seed: int) -> np.ndarray:
    """``dev`` when it marks some but not all clips, else a seeded 15 % (with a warning)."""
    if dev is not None and np.asarray(dev, dtype=bool).any() and not np.asarray(dev).all():
        return np.asarray(dev, dtype=bool)
    warnings.warn(
        f"{BASELINE_KIND}: no official dev clips among the training clips; early stopping "
        "uses a seeded 15 % of them instead", DegenerateDataWarning, stacklevel=3,
    )
    mask = np.zeros(n, dtype=bool)
    mask[np.random.default_rng(seed).permutation(n)[:max(1, round(0.15 * n))]] = True
    return mask


def train_baseline_heads(
    inputs: Sequence[np.ndarray],
    targets: Sequence[np.ndarray],
    *,
    dev: np.ndarray | None,
    seed: int = 0,
    max_epochs: int = MAX_EPOCHS,
    patience: int = PATIENCE,
) -> list[MusicEvalBaselineHead]:
    """Train one baseline head per (input, target) pair jointly, as the baseline does.

    Parameters
    ----------
    inputs : sequence of array (n, d_k)
        Raw features of each head (e.g. audio embeddings; audio and text joined).
    targets : sequence of array (n, t_k)
        Raw scores of each head.
    dev : bool array (n,) or None
        Clips of the dev set (the official ``dev`` list); the others are trained on.
    seed : int
    max_epochs, patience : int
        1,000 and 20 in the baseline.

    Returns
    -------
    list of MusicEvalBaselineHead
        Fitted at the epoch of lowest mean dev loss.
    """
    with single_threaded(torch_too=True):
        return _train(inputs, targets, dev=dev, seed=seed, max_epochs=max_epochs,
                      patience=patience)


def _train(inputs, targets, *, dev, seed, max_epochs, patience):
    import torch
    from torch import nn

    n = len(inputs[0])
    if n < 4:
        raise EmoconveyError(f"{BASELINE_KIND}: expected at least 4 training clips, got {n}")
    mask = dev_mask(n, dev, seed)
    torch.manual_seed(seed)
    nets = [nn.Sequential(nn.Linear(x.shape[1], HIDDEN[0]), nn.Linear(*HIDDEN),
                          nn.Linear(HIDDEN[1], np.asarray(y).reshape(n, -1).shape[1]))
            for x, y in zip(inputs, targets, strict=True)]
    params = [p for net in nets for p in net.parameters()]
    opt = torch.optim.SGD(params, lr=LR, momentum=MOMENTUM)
    l1 = nn.L1Loss()
    xs = [torch.from_numpy(np.asarray(x, dtype=np.float32)) for x in inputs]
    ys = [torch.from_numpy(np.asarray(y, dtype=np.float32).reshape(n, -1)) for y in targets]
    train_idx = torch.from_numpy(np.flatnonzero(~mask))
    dev_idx = torch.from_numpy(np.flatnonzero(mask))
    gen = torch.Generator().manual_seed(seed)
    best, best_state, waited, best_epoch = np.inf, None, patience, 0
    for epoch in range(1, max_epochs + 1):
        for net in nets:
            net.train()
        order = train_idx[torch.randperm(len(train_idx), generator=gen)]
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            opt.zero_grad()
            loss = sum(l1(net(x[idx]), y[idx]) for net, x, y in zip(nets, xs, ys, strict=True))
            loss.backward()
            opt.step()
        with torch.no_grad():
            losses = [float(sum(l1(net(x[idx]), y[idx]) for net, x, y in zip(nets, xs, ys,
                                                                            strict=True)))
                      / len(nets) for idx in torch.split(dev_idx, DEV_BATCH)]
        dev_loss = float(np.mean(losses))
        if dev_loss < best:
            best, best_epoch, waited = dev_loss, epoch, patience
            best_state = [{k: v.detach().clone() for k, v in net.state_dict().items()}
                          for net in nets]
        else:
            waited -= 1
            if waited == 0:
                break
    log.info("%s: best mean dev L1 %.4f at epoch %d", BASELINE_KIND, best, best_epoch)
    heads = []
    for state in best_state or []:
        head = MusicEvalBaselineHead(seed=seed, max_epochs=max_epochs, patience=patience)
        head.params_ = {f"{w}{k + 1}": state[f"{k}.{'weight' if w == 'w' else 'bias'}"].numpy()
                       .astype(np.float64) for k in range(3) for w in ("w", "b")}
        head.epochs_trained_, head.best_dev_loss_ = best_epoch, best
        heads.append(head)
    return heads
