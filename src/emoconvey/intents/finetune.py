"""Fine-tuned method: the sentence model fine-tuned on the norms with a regression head.

Model
    A BERT-like encoder (by default the packaged all-MiniLM-L6-v2; Wang et al., 2020;
    Reimers & Gurevych, 2019) whose lower layers stay frozen and whose top
    ``trained_layers`` layers are fine-tuned together with a head on the mean-pooled
    token states :math:`h`:
    :math:`\\hat z = W_2\\,\\mathrm{GELU}(W_1 h + b_1) + b_2`, predicting the standardised
    norms :math:`z_k = (y_k - \\bar y_k) / s_k` of valence, arousal and, when the norms
    file has it, dominance as an auxiliary target. As in Plisiecki & Sobieszek (2023),
    the transformer is trained end to end on the norms (here: its top layers).
Loss
    :math:`L = \\frac{1}{B} \\sum_b \\sum_k w_k (\\hat z_{bk} - z_{bk})^2` with
    :math:`w = (1, 1, w_D)`, :math:`w_D` = ``dominance_weight``; AdamW, linear warm-up
    over the first 5 % of the steps and linear decay to zero.
Inputs
    Every training word is seen in the contexts :data:`CONTEXTS` (the bare word,
    "I feel {}.", "{} music") and in the topic phrases :data:`PHRASES` ("a {} piano
    ballad", "{} music with strings"), with the word's norms as targets, so that
    neutral topic words learn to carry little emotion of their own: in epoch *e* word *i*
    appears once, in template :math:`(o_i + e) \bmod T` of the :math:`T` templates
    (:math:`o_i` a seeded random offset), so ``epochs`` >= *T* shows every template. A
    text is predicted as the mean of the head's outputs over :data:`CONTEXTS`.
Compute
    The frozen layers' hidden states of each epoch's inputs are computed once (kept in
    float16, sequences sorted by length to limit padding), so training runs only the
    trained layers and the head; ``threads`` torch threads; ``max_seq_length`` tokens.

Intervals are split-conformal (:mod:`emoconvey.intents.conformal`) from the absolute
residuals of calibration words held out of training, separately for single words and for
topic phrases built from them.

References
----------
Plisiecki, H., & Sobieszek, A. (2023). Extrapolation of affective norms using
transformer-based neural networks and its application to experimental stimuli selection.
Behavior Research Methods. https://doi.org/10.3758/s13428-023-02212-3
Reimers, N., & Gurevych, I. (2019). Sentence-BERT. EMNLP-IJCNLP, 3982-3992.
Wang, W., Wei, F., Dong, L., Bao, H., Yang, N., & Zhou, M. (2020). MiniLM. NeurIPS 33.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emoconvey.errors import EmoconveyError
from emoconvey.intents.embedding import _install_hint, resolve_model

__all__ = [
    "CONTEXTS",
    "FINETUNE_VERSION",
    "PHRASES",
    "FinetuneParams",
    "FinetunedModel",
    "fit_finetuned",
    "load_transformer",
    "phrases_of",
]

log = logging.getLogger(__name__)

FINETUNE_VERSION = "1"
"""Bumped whenever inputs, model or training change, so that cached models are retrained."""

CONTEXTS: tuple[str, ...] = ("{}", "I feel {}.", "{} music")
"""Contexts a text is read in (training inputs and predictions)."""

PHRASES: tuple[str, ...] = ("a {} piano ballad", "{} music with strings")
"""Topic phrases built around a norm word (training inputs and phrase evaluation)."""


@dataclass(frozen=True)
class FinetuneParams:
    """Settings of the fine-tuning (see the module docstring).

    ``max_steps`` = 0 means no limit beyond ``epochs``.
    """

    trained_layers: int = 2
    max_seq_length: int = 16
    epochs: int = 3
    batch_size: int = 32
    learning_rate: float = 5e-4
    head_learning_rate: float = 3e-3
    hidden: int = 256
    dropout: float = 0.1
    dominance_weight: float = 0.5
    max_steps: int = 0
    seed: int = 0
    threads: int = 2


def phrases_of(words: Sequence[str]) -> list[str]:
    """The :data:`PHRASES` of each word, word by word (``len(PHRASES)`` per word)."""
    return [p.format(w) for w in words for p in PHRASES]


def load_transformer(model: str | Path | None = None) -> tuple[Any, Any, str]:
    """Load a BERT-like encoder and its tokenizer from a local folder, never the network.

    Returns
    -------
    (model, tokenizer, model_id)
        A ``transformers`` model in eval mode, its tokenizer and the model id of
        :func:`~emoconvey.intents.embedding.resolve_model`.
    """
    try:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise EmoconveyError(
            "the finetune method needs torch and transformers; install them with "
            "pip install 'emoconvey[text]'"
        ) from exc
    target, model_id = resolve_model(model)
    hf_logging.disable_progress_bar()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(target), local_files_only=True)
        net = AutoModel.from_pretrained(str(target), local_files_only=True)
    except Exception as exc:  # any loading failure: missing or broken files
        name = "all-MiniLM-L6-v2" if model is None else str(model)
        raise EmoconveyError(_install_hint(name) + f" ({type(exc).__name__})") from None
    if not hasattr(net, "embeddings") or not hasattr(getattr(net, "encoder", None), "layer"):
        raise EmoconveyError(
            f"model {model_id!r}: the finetune method needs a BERT-like encoder "
            "(embeddings + encoder layers)"
        )
    net.eval()
    return net, tokenizer, model_id


@contextlib.contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """A rich progress bar (or None): ``bar.add_task``/``bar.update`` as in rich."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("[bold]{task.description:<34}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), transient=True,
        console=Console(stderr=True),
    ) as bar:
        yield bar


@contextlib.contextmanager
def _threads(n: int) -> Iterator[None]:
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _tokenize(tokenizer: Any, texts: Sequence[str], max_len: int) -> list[list[int]]:
    enc = tokenizer(list(texts), truncation=True, max_length=max_len)
    return [list(ids) for ids in enc["input_ids"]]


def _batches(ids: list[list[int]], order: np.ndarray, size: int, pad: int):
    """Padded ``(rows, input_ids, mask)`` batches of ``ids`` taken in ``order``."""
    import torch

    for s in range(0, len(order), size):
        rows = order[s : s + size]
        width = max(len(ids[r]) for r in rows)
        x = torch.full((len(rows), width), pad, dtype=torch.long)
        m = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            x[i, : len(ids[r])] = torch.tensor(ids[r])
            m[i, : len(ids[r])] = 1
        yield rows, x, m


def _additive(mask: Any) -> Any:
    import torch

    return (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min


def _run_layers(layers: Sequence[Any], h: Any, mask: Any) -> Any:
    ext = _additive(mask)
    for layer in layers:
        out = layer(h, attention_mask=ext)
        h = out[0] if isinstance(out, tuple) else out
    return h


def _pool(h: Any, mask: Any) -> Any:
    m = mask[:, :, None].to(h.dtype)
    return (h * m).sum(1) / m.sum(1).clamp(min=1.0)


def _make_head(dim: int, hidden: int, outputs: int, dropout: float) -> Any:
    from torch import nn

    return nn.Sequential(
        nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, outputs)
    )


class FinetunedModel:
    """A fine-tuned encoder with its head, target scaling and calibration residuals.

    Build one with :func:`fit_finetuned` or :meth:`load`.

    Attributes
    ----------
    targets : list of str
        Output names (``valence``, ``arousal`` and possibly ``dominance``).
    mean, std : ndarray ``(m,)``
        Target standardisation.
    residuals : dict of str to ndarray ``(n, m)``
        Absolute residuals of held-out calibration words: ``word`` (the words
        themselves) and ``phrase`` (their :data:`PHRASES`); empty arrays when none.
    meta : dict
        Provenance and training figures (norms hash, seconds, steps, final loss).
    """

    def __init__(
        self, net: Any, tokenizer: Any, head: Any, *, model_id: str, targets: list[str],
        mean: np.ndarray, std: np.ndarray, params: FinetuneParams,
        residuals: dict[str, np.ndarray] | None = None, meta: dict[str, Any] | None = None,
    ) -> None:
        self.net = net
        self.tokenizer = tokenizer
        self.head = head
        self.model_id = model_id
        self.targets = list(targets)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        self.params = params
        empty = np.zeros((0, len(self.targets)))
        self.residuals = residuals or {"word": empty, "phrase": empty}
        self.meta = dict(meta or {})

    @property
    def n_frozen(self) -> int:
        """Number of frozen lower layers."""
        return len(self.net.encoder.layer) - self.params.trained_layers

    def predict(
        self, texts: Sequence[str], *, progress: bool = False, batch_size: int = 128
    ) -> np.ndarray:
        """Predicted norms ``(len(texts), m)``: mean over :data:`CONTEXTS` of the head."""
        import torch

        texts = list(texts)
        inputs = [c.format(t) for c in CONTEXTS for t in texts]
        ids = _tokenize(self.tokenizer, inputs, self.params.max_seq_length)
        order = np.argsort([len(i) for i in ids], kind="stable")
        z = np.empty((len(inputs), len(self.targets)))
        self.net.eval()
        self.head.eval()
        pad = self.tokenizer.pad_token_id or 0
        with _threads(self.params.threads), torch.no_grad(), _progress(progress) as bar:
            task = bar.add_task("predicting", total=len(inputs)) if bar is not None else None
            for rows, x, m in _batches(ids, order, batch_size, pad):
                h = self.net.embeddings(input_ids=x)
                h = _run_layers(self.net.encoder.layer, h, m)
                z[rows] = self.head(_pool(h, m)).double().numpy()
                if bar is not None:
                    bar.update(task, advance=len(rows))
        y = z * self.std + self.mean
        return y.reshape(len(CONTEXTS), len(texts), -1).mean(0)

    def trained_state(self) -> dict[str, Any]:
        """Tensors that differ from the base model: the trained layers and the head."""
        state = {}
        for i, layer in enumerate(self.net.encoder.layer):
            if i >= self.n_frozen:
                for k, v in layer.state_dict().items():
                    state[f"layer.{i}.{k}"] = v.detach().contiguous()
        for k, v in self.head.state_dict().items():
            state[f"head.{k}"] = v.detach().contiguous()
        return state

    def save(self, folder: str | Path) -> Path:
        """Write ``finetuned.safetensors`` (trained tensors, residuals) and ``finetuned.json``."""
        import torch
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = dict(self.trained_state())
        tensors["target.mean"] = torch.from_numpy(self.mean)
        tensors["target.std"] = torch.from_numpy(self.std)
        for unit, r in self.residuals.items():
            tensors[f"residuals.{unit}"] = torch.from_numpy(np.ascontiguousarray(r, float))
        tmp = folder / "finetuned.safetensors.tmp"
        save_file(tensors, str(tmp))
        tmp.replace(folder / "finetuned.safetensors")
        meta = {
            "model_id": self.model_id, "targets": self.targets, "params": asdict(self.params),
            "contexts": list(CONTEXTS), "phrases": list(PHRASES), "version": FINETUNE_VERSION,
            "meta": self.meta,
        }
        (folder / "finetuned.json").write_text(json.dumps(meta, indent=1))
        return folder

    @classmethod
    def load(cls, folder: str | Path, *, model: str | Path | None = None) -> FinetunedModel:
        """Read what :meth:`save` wrote; ``model`` is the base model it was trained from."""
        from safetensors.torch import load_file

        folder = Path(folder)
        try:
            meta = json.loads((folder / "finetuned.json").read_text())
            tensors = load_file(str(folder / "finetuned.safetensors"))
        except (OSError, ValueError) as exc:
            raise EmoconveyError(f"fine-tuned model {str(folder)!r}: cannot read it ({exc})"
                                 ) from exc
        net, tokenizer, model_id = load_transformer(model)
        if model_id != meta["model_id"]:
            raise EmoconveyError(
                f"fine-tuned model {str(folder)!r}: trained from {meta['model_id']!r}, "
                f"not from {model_id!r}; expected the same base model"
            )
        params = FinetuneParams(**meta["params"])
        head = _make_head(net.config.hidden_size, params.hidden, len(meta["targets"]),
                          params.dropout)
        out = cls(
            net, tokenizer, head, model_id=model_id, targets=meta["targets"],
            mean=tensors.pop("target.mean").numpy(), std=tensors.pop("target.std").numpy(),
            params=params, meta=meta["meta"],
            residuals={k.split(".", 1)[1]: tensors.pop(k).numpy()
                       for k in [k for k in tensors if k.startswith("residuals.")]},
        )
        head.load_state_dict({k[5:]: v for k, v in tensors.items() if k.startswith("head.")})
        for i, layer in enumerate(net.encoder.layer):
            if i >= out.n_frozen:
                pre = f"layer.{i}."
                layer.load_state_dict(
                    {k[len(pre):]: v for k, v in tensors.items() if k.startswith(pre)}
                )
        head.eval()
        return out


def _cache_frozen(model: FinetunedModel, words: Sequence[str], bar: Any,
                  rng: np.random.Generator) -> list[list[tuple[Any, Any, np.ndarray]]]:
    """Frozen layers' hidden states of each epoch's inputs, in length-sorted batches."""
    import torch

    p = model.params
    templates = CONTEXTS + PHRASES
    offset = rng.integers(len(templates), size=len(words))
    task = bar.add_task("frozen layers", total=p.epochs * len(words)) if bar is not None else None
    lower = model.net.encoder.layer[: model.n_frozen]
    epochs = []
    for e in range(p.epochs):
        texts = [templates[(o + e) % len(templates)].format(w) for w, o in zip(words, offset,
                                                                                strict=True)]
        ids = _tokenize(model.tokenizer, texts, p.max_seq_length)
        perm = rng.permutation(len(ids))
        order = perm[np.argsort([len(ids[i]) for i in perm], kind="stable")]
        cached = []
        with torch.no_grad():
            for r, x, m in _batches(ids, order, p.batch_size, model.tokenizer.pad_token_id or 0):
                h = _run_layers(lower, model.net.embeddings(input_ids=x), m)
                cached.append((h.to(torch.float16), m, r))
                if bar is not None:
                    bar.update(task, advance=len(r))
        epochs.append(cached)
    return epochs


def _train(model: FinetunedModel, cached: list[list], z: np.ndarray, bar: Any,
           rng: np.random.Generator) -> dict[str, Any]:
    """Fine-tune the top layers and the head on cached frozen states; training figures."""
    import torch

    p = model.params
    upper = model.net.encoder.layer[model.n_frozen :]
    for prm in model.net.parameters():
        prm.requires_grad_(False)
    layer_params = [prm for layer in upper for prm in layer.parameters()]
    for prm in layer_params:
        prm.requires_grad_(True)
    opt = torch.optim.AdamW([
        {"params": layer_params, "lr": p.learning_rate},
        {"params": list(model.head.parameters()), "lr": p.head_learning_rate},
    ], weight_decay=0.01, foreach=True)
    total = sum(len(c) for c in cached)
    if p.max_steps:
        total = min(total, p.max_steps)
    warm = max(1, total // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    w = torch.tensor([1.0, 1.0, p.dominance_weight][: z.shape[1]])
    zt = torch.from_numpy(z).float()
    task = bar.add_task("fine-tuning", total=total) if bar is not None else None
    for layer in upper:
        layer.train()
    model.head.train()
    step, losses = 0, []
    for epoch in cached:
        for b in rng.permutation(len(epoch)):
            if step >= total:
                break
            h, m, rows = epoch[b]
            pred = model.head(_pool(_run_layers(upper, h.float(), m), m))
            loss = (((pred - zt[rows]) ** 2) * w).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(loss.detach()))
            step += 1
            if bar is not None:
                bar.update(task, advance=1,
                           description=f"fine-tuning (loss {np.mean(losses[-50:]):.3f})")
    for layer in upper:
        layer.eval()
    model.head.eval()
    return {"steps": step, "final_loss": float(np.mean(losses[-50:])) if losses else None}


def fit_finetuned(
    words: Sequence[str],
    y: np.ndarray,
    *,
    targets: Sequence[str],
    model: str | Path | None = None,
    params: FinetuneParams | None = None,
    calibration: tuple[Sequence[str], np.ndarray] | None = None,
    progress: bool = False,
    meta: dict[str, Any] | None = None,
) -> FinetunedModel:
    """Fine-tune the encoder's top layers and a regression head on word norms.

    Parameters
    ----------
    words : sequence of str
        Training words.
    y : ndarray ``(n, m)``
        Their norms, columns in the order of ``targets`` (valence, arousal[, dominance]).
    targets : sequence of str
    model : str or Path, optional
        Base model (default: the packaged all-MiniLM-L6-v2).
    params : FinetuneParams, optional
    calibration : (words, norms), optional
        Held-out words whose residuals (as words and as :data:`PHRASES`) calibrate the
        split-conformal intervals.
    progress : bool
        Show a rich progress bar.

    Returns
    -------
    FinetunedModel
    """
    import torch

    params = params or FinetuneParams()
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2 or y.shape != (len(words), len(targets)) or not np.isfinite(y).all():
        raise EmoconveyError(
            f"y: expected finite norms of shape ({len(words)}, {len(targets)}), got {y.shape}"
        )
    if len(words) < 2:
        raise EmoconveyError(f"words: expected at least 2 training words, got {len(words)}")
    t0 = time.perf_counter()
    net, tokenizer, model_id = load_transformer(model)
    n_layers = len(net.encoder.layer)
    if not 1 <= params.trained_layers <= n_layers:
        raise EmoconveyError(
            f"trained_layers: expected 1 to {n_layers}, got {params.trained_layers}"
        )
    mean, std = y.mean(0), np.maximum(y.std(0), 1e-6)
    # fork_rng: the seed drives this training without changing the caller's torch RNG
    with _threads(params.threads), _progress(progress) as bar, torch.random.fork_rng(
        devices=[]
    ):
        torch.manual_seed(params.seed)
        rng = np.random.default_rng(params.seed)
        head = _make_head(net.config.hidden_size, params.hidden, len(targets), params.dropout)
        out = FinetunedModel(net, tokenizer, head, model_id=model_id, targets=list(targets),
                             mean=mean, std=std, params=params, meta=meta)
        cached = _cache_frozen(out, words, bar, rng)
        figures = _train(out, cached, (y - mean) / std, bar, rng)
    del cached
    out.meta.update(figures, train_words=len(words), seconds=round(time.perf_counter() - t0, 1))
    if calibration is not None:
        cal_words, cal_y = list(calibration[0]), np.asarray(calibration[1], dtype=np.float64)
        pred = out.predict(cal_words + phrases_of(cal_words), progress=progress)
        k = len(cal_words)
        out.residuals = {
            "word": np.abs(pred[:k] - cal_y),
            "phrase": np.abs(pred[k:] - np.repeat(cal_y, len(PHRASES), axis=0)),
        }
        out.meta["calibration_words"] = k
    log.info("fine-tuned %s in %.1f s", model_id, time.perf_counter() - t0)
    return out
