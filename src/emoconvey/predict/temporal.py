"""The ``temporal`` head: transformer layers over frame-level features (torch).

The design of the best system of the AudioMOS 2025 challenge, track 1 (ASTAR-NTU;
frozen MuQ and RoBERTa features), on any frame extractor
(:mod:`emoconvey.predict.extractors.frames`):

1. frames are standardised (training mean and sd per dimension), projected to
   ``d_model`` and given sinusoidal positions (Vaswani et al., 2017), so that *when*
   something happens is visible to the model;
2. ``n_layers`` pre-norm transformer encoder layers model time;
3. attentive pooling, :math:`h = \\sum_t a_t x_t`, :math:`a = \\mathrm{softmax}(w^\\top x_t)`
   over the valid frames, gives the clip vector;
4. for text-conditioned targets (a :class:`~emoconvey.predict.sequences.Sequences` with
   ``text``), the prompt's tokens attend to the encoded frames (cross-attention, queries
   from the text) and are pooled the same way; the two vectors are joined;
5. the output depends on ``loss``:

   * ``l1``: one value per target, L1 loss on standardised targets (MusicEval);
   * ``distribution``: ``bins`` logits per target over a score grid from
     :math:`\\lfloor\\min y\\rfloor` to :math:`\\lceil\\max y\\rceil` of the training
     targets; the training target is a Gaussian around the score,
     :math:`p_b \\propto \\exp(-(g_b - y)^2 / 2\\sigma^2)` with :math:`\\sigma` =
     ``sigma`` x the grid's span, the loss :math:`\\mathrm{KL}(p \\| q)` and the
     prediction the expectation :math:`\\sum_b q_b g_b`;
   * ``coral``: ordinal regression (Cao, Mirjalili & Raschka, 2020, "Rank consistent
     ordinal regression for neural networks"): ``bins - 1`` binary tasks
     :math:`y > \\theta_k` at the midpoints of the grid, one shared weight vector and
     ``bins - 1`` biases per target, binary cross-entropy; the prediction is
     :math:`g_0 + \\Delta \\sum_k \\sigma(z_k)` (the expected rank on the grid).

Training: AdamW (lr ``lr``, weight decay ``weight_decay``), batches of ``batch_size``,
early stopping on the L1 error of the predicted scores on a seeded ``dev_fraction``
split (``patience`` epochs, at most ``max_epochs``), the best dev epoch kept. Seeded: the
same data and seed give the same weights. ``make_head("temporal", ensemble=K)`` averages K
seeds and reports their spread (:class:`~emoconvey.predict.heads.EnsembleHead`).
"""

from __future__ import annotations

import logging
import math

import numpy as np

from emoconvey.errors import EmoconveyError
from emoconvey.predict._threads import single_threaded
from emoconvey.predict.heads import Head
from emoconvey.predict.sequences import Sequences

__all__ = ["LOSSES", "TemporalHead"]

log = logging.getLogger(__name__)

LOSSES = ("l1", "distribution", "coral")
"""Losses of the temporal head."""


def _frame_stats(seq: Sequences) -> tuple[np.ndarray, np.ndarray]:
    valid = seq.data[seq.mask].astype(np.float64)
    mean, scale = valid.mean(axis=0), valid.std(axis=0)
    scale[scale < 1e-12] = 1.0
    return mean, scale


def _build_net(dims: dict[str, int], head: TemporalHead):
    import torch
    from torch import nn

    d, heads = head.d_model, head.n_heads

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.audio_in = nn.Linear(dims["d_audio"], d)
            layer = nn.TransformerEncoderLayer(d, heads, 2 * d, head.dropout,
                                               batch_first=True, norm_first=True)
            self.encoder = nn.TransformerEncoder(layer, head.n_layers,
                                                 enable_nested_tensor=False)
            self.audio_pool = nn.Linear(d, 1)
            width = d
            if dims["d_text"]:
                self.text_in = nn.Linear(dims["d_text"], d)
                self.cross = nn.MultiheadAttention(d, heads, dropout=head.dropout,
                                                   batch_first=True)
                self.cross_norm = nn.LayerNorm(d)
                self.text_pool = nn.Linear(d, 1)
                width = 2 * d
            t, b = dims["n_targets"], head.bins
            n_out = {"l1": t, "distribution": t * b, "coral": t}[head.loss]
            self.out = nn.Linear(width, n_out, bias=head.loss != "coral")
            if head.loss == "coral":
                self.coral_bias = nn.Parameter(torch.linspace(1.0, -1.0, b - 1).repeat(t, 1))

        @staticmethod
        def _pool(proj: nn.Linear, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            score = proj(h).squeeze(-1).masked_fill(~mask, float("-inf"))
            return (torch.softmax(score, dim=1).unsqueeze(-1) * h).sum(dim=1)

        def forward(self, audio, amask, text=None, tmask=None):
            pos = _positions(audio.shape[1], d, audio.device)
            h = self.encoder(self.audio_in(audio) + pos, src_key_padding_mask=~amask)
            pooled = self._pool(self.audio_pool, h, amask)
            if text is not None:
                q = self.text_in(text)
                ctx, _ = self.cross(q, h, h, key_padding_mask=~amask, need_weights=False)
                tvec = self._pool(self.text_pool, self.cross_norm(q + ctx), tmask)
                pooled = torch.cat([pooled, tvec], dim=1)
            out = self.out(pooled)
            if head.loss == "distribution":
                return out.view(len(out), dims["n_targets"], head.bins)
            if head.loss == "coral":
                return out.unsqueeze(-1) + self.coral_bias  # (n, t, bins - 1)
            return out

    return Net()


def _positions(length: int, d: int, device: object):
    """Sinusoidal position encodings ``(1, length, d)``."""
    import torch

    pos = torch.arange(length, dtype=torch.float32, device=device)[:, None]  # type: ignore[arg-type]
    freq = torch.exp(torch.arange(0, d, 2, dtype=torch.float32, device=device)  # type: ignore[arg-type]
                     * (-math.log(10000.0) / d))
    enc = torch.zeros(length, d, device=device)  # type: ignore[arg-type]
    enc[:, 0::2] = torch.sin(pos * freq)
    enc[:, 1::2] = torch.cos(pos * freq)[:, : d // 2]
    return enc[None]


class TemporalHead(Head):
    """Transformer layers over frames, attentive pooling, text cross-attention (module doc).

    Parameters
    ----------
    seed : int
        Seed of the dev split, the initial weights, dropout and batch order.
    loss : {"l1", "distribution", "coral"}
        Training objective (see the module docstring).
    d_model, n_layers, n_heads, dropout
        Size of the transformer (``d_model`` divisible by ``n_heads``).
    bins : int
        Grid points of the ``distribution`` and ``coral`` outputs.
    sigma : float
        Width of the smoothed targets as a fraction of the grid's span (``distribution``).
    lr, weight_decay, batch_size, max_epochs, patience, dev_fraction
        Training (see the module docstring).
    """

    kind = "temporal"
    sequence_input = True
    fitted_attributes = ("params_", "dims_", "epochs_trained_")

    def __init__(self, *, seed: int = 0, loss: str = "l1", d_model: int = 64, n_layers: int = 2,
                 n_heads: int = 4, dropout: float = 0.1, bins: int = 33, sigma: float = 0.0625,
                 lr: float = 1e-3, weight_decay: float = 1e-4, batch_size: int = 32,
                 max_epochs: int = 150, patience: int = 15, dev_fraction: float = 0.15) -> None:
        if loss not in LOSSES:
            raise EmoconveyError(f"--loss: expected one of {', '.join(LOSSES)}, got {loss!r}")
        if int(d_model) % int(n_heads):
            raise EmoconveyError(f"d_model {d_model} is not divisible by n_heads {n_heads}")
        if int(bins) < 3:
            raise EmoconveyError(f"bins: expected at least 3, got {bins!r}")
        self.seed, self.loss = seed, loss
        self.d_model, self.n_layers, self.n_heads = int(d_model), int(n_layers), int(n_heads)
        self.dropout, self.bins, self.sigma = float(dropout), int(bins), float(sigma)
        self.lr, self.weight_decay = float(lr), float(weight_decay)
        self.batch_size, self.max_epochs = int(batch_size), int(max_epochs)
        self.patience, self.dev_fraction = int(patience), float(dev_fraction)

    # ------------------------------------------------------------------ data

    def _check(self, X: object) -> Sequences:
        if not isinstance(X, Sequences):
            raise EmoconveyError(
                "the temporal head reads frame sequences: use a frame-level extractor "
                "(mel-frames, clap-frames, mert, muq)"
            )
        return X

    def _tensors(self, X: Sequences, rows: np.ndarray):
        import torch

        p = self.params_
        sub = X[rows]
        audio = (sub.data - p["audio_mean"]) / p["audio_scale"] * sub.mask[..., None]
        out = [torch.from_numpy(audio.astype(np.float32)), torch.from_numpy(sub.mask)]
        if self.dims_["d_text"]:
            if sub.text is None:
                raise EmoconveyError("this temporal head reads text tokens; none were given")
            t = sub.text
            text = (t.data - p["text_mean"]) / p["text_scale"] * t.mask[..., None]
            out += [torch.from_numpy(text.astype(np.float32)), torch.from_numpy(t.mask)]
        return out

    def _decode(self, out):
        """Scores (n, t) in the targets' units from the network's output."""
        import torch

        p = self.params_
        if self.loss == "l1":
            return out.double().numpy() * p["y_scale"] + p["y_mean"]
        lo, hi = p["grid_low"], p["grid_high"]
        if self.loss == "distribution":
            grid = torch.linspace(0.0, 1.0, self.bins)
            frac = (torch.softmax(out, dim=-1) * grid).sum(-1).double().numpy()
        else:
            frac = torch.sigmoid(out).sum(-1).double().numpy() / (self.bins - 1)
        return lo + frac * (hi - lo)

    def _loss(self, out, y):
        """The training loss of a batch; ``y`` (n, t) in the targets' units."""
        import torch
        import torch.nn.functional as F

        p = self.params_
        if self.loss == "l1":
            z = (y - torch.from_numpy(p["y_mean"]).float()) / torch.from_numpy(p["y_scale"]).float()
            return F.l1_loss(out, z)
        lo = torch.from_numpy(p["grid_low"]).float()
        span = torch.from_numpy(p["grid_high"]).float() - lo
        frac = ((y - lo) / span).unsqueeze(-1)  # (n, t, 1) on the unit grid
        grid = torch.linspace(0.0, 1.0, self.bins)
        if self.loss == "distribution":
            target = torch.softmax(-((grid - frac) ** 2) / (2 * self.sigma**2), dim=-1)
            logq = torch.log_softmax(out, dim=-1)
            return (target * (torch.log(target.clamp_min(1e-12)) - logq)).sum(-1).mean()
        thresholds = (grid[1:] + grid[:-1]) / 2
        return F.binary_cross_entropy_with_logits(out, (frac > thresholds).float())

    # ------------------------------------------------------------------ fit / predict

    def fit(self, X: Sequences, Y: np.ndarray) -> TemporalHead:
        """Fit on frame sequences ``X`` (with text tokens for text targets) and ``Y``."""
        with single_threaded(torch_too=True):
            return self._fit(self._check(X), np.asarray(Y, dtype=np.float64))

    def _setup(self, X: Sequences, Y: np.ndarray) -> None:
        if len(X) < 4 or len(X) != len(Y):
            raise EmoconveyError(
                f"temporal: expected at least 4 training clips with one target row each, got "
                f"{len(X)} clips and {len(Y)} rows"
            )
        if not X.is_finite().all():
            raise EmoconveyError("temporal: the frame features are not finite")
        params: dict[str, np.ndarray] = {}
        params["audio_mean"], params["audio_scale"] = _frame_stats(X)
        d_text = 0
        if X.text is not None:
            params["text_mean"], params["text_scale"] = _frame_stats(X.text)
            d_text = X.text.dim
        params["y_mean"], params["y_scale"] = Y.mean(axis=0), Y.std(axis=0)
        params["y_scale"][params["y_scale"] < 1e-12] = 1.0
        lo, hi = np.floor(Y.min(axis=0)), np.ceil(Y.max(axis=0))
        params["grid_low"], params["grid_high"] = lo, np.where(hi > lo, hi, lo + 1)
        self.params_ = params
        self.dims_ = {"d_audio": X.dim, "d_text": d_text, "n_targets": Y.shape[1]}

    def _fit(self, X: Sequences, Y: np.ndarray) -> TemporalHead:
        import torch

        self._setup(X, Y)
        rng = np.random.default_rng(self.seed)
        order = rng.permutation(len(X))
        n_dev = max(1, round(self.dev_fraction * len(X)))
        dev, train = np.sort(order[:n_dev]), order[n_dev:]
        torch.manual_seed(self.seed)
        gen = torch.Generator().manual_seed(self.seed)
        net = _build_net(self.dims_, self)
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        dev_in = self._tensors(X, dev)
        yt = torch.from_numpy(Y.astype(np.float32))
        best, best_state, waited, best_epoch = np.inf, None, 0, 0
        for epoch in range(self.max_epochs):
            net.train()
            perm = train[torch.randperm(len(train), generator=gen).numpy()]
            for start in range(0, len(perm), self.batch_size):
                rows = perm[start:start + self.batch_size]
                opt.zero_grad()
                loss = self._loss(net(*self._tensors(X, rows)), yt[rows])
                loss.backward()
                opt.step()
            net.eval()
            with torch.no_grad():
                dev_l1 = float(np.abs(self._decode(net(*dev_in)) - Y[dev]).mean())
            if dev_l1 < best - 1e-6:
                best, waited, best_epoch = dev_l1, 0, epoch + 1
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            else:
                waited += 1
                if waited >= self.patience:
                    break
        self.params_.update({f"net.{k}": v.numpy().copy() for k, v in best_state.items()})  # type: ignore[union-attr]
        self.epochs_trained_ = best_epoch
        log.info("temporal (%s): best dev L1 %.4f at epoch %d", self.loss, best, best_epoch)
        return self

    def predict(self, X: Sequences) -> np.ndarray:
        """Predicted scores ``(n, targets)``."""
        self.check_fitted()
        X = self._check(X)
        with single_threaded(torch_too=True):
            import torch

            net = _build_net(self.dims_, self)
            net.load_state_dict({k[4:]: torch.from_numpy(np.asarray(v, np.float32))
                                 for k, v in self.params_.items() if k.startswith("net.")})
            net.eval()
            outs = []
            with torch.no_grad():
                for start in range(0, len(X), 64):
                    rows = np.arange(start, min(start + 64, len(X)))
                    outs.append(self._decode(net(*self._tensors(X, rows))))
        return np.vstack(outs) if outs else np.zeros((0, self.dims_["n_targets"]))

    # ------------------------------------------------------------------ persistence

    def arrays(self) -> dict[str, np.ndarray]:
        self.check_fitted()
        return dict(self.params_)

    def config(self) -> dict[str, object]:
        cfg: dict[str, object] = {"kind": self.kind, **self.get_params(),
                                  "optimizer": "adamw", "pooling": "attentive"}
        if self.is_fitted():
            cfg.update(dims=dict(self.dims_), epochs_trained=self.epochs_trained_)
        return cfg

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], config: dict[str, object]
                    ) -> TemporalHead:
        head = cls(**{k: v for k, v in config.items() if k in cls._param_names()})  # type: ignore[arg-type]
        head.params_ = {k: np.asarray(v) for k, v in arrays.items()}
        head.dims_ = {k: int(v) for k, v in dict(config["dims"]).items()}  # type: ignore[call-overload]
        head.epochs_trained_ = int(config.get("epochs_trained", 0))  # type: ignore[arg-type]
        return head
