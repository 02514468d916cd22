"""``predict train --head musiceval-baseline --finetune-encoder``: end-to-end fine-tuning.

The MusicEval / AudioMOS 2025 track-1 baseline does not freeze CLAP: its optimiser
holds the CLAP parameters as well as the two heads, so each SGD step (lr 5e-4, momentum
0.9, batches of 64, summed L1 losses of MI and TA) also moves the audio and text
encoders. This module does the same with a transformers ``ClapModel`` (any local folder
saved with ``save_pretrained``): the heads are those of
:mod:`emoconvey.predict.baseline` (raw embeddings, affine, unclipped), early stopping
uses the official ``dev`` clips (else a seeded 15 %, with a warning), and the weights of
the best dev epoch are kept.

The fine-tuned encoder is written with ``save_pretrained`` (safetensors) into
``<model folder>/encoder`` and the model card points the ``clap`` extractor at it
(absolute path), so ``predict run`` embeds new clips with the fine-tuned CLAP. Clips
longer than the processor's window are cropped by the processor at random from NumPy's
global generator; it is seeded with the run's seed (and the epoch) and restored
afterwards, so training is reproducible.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from emoconvey.errors import EmoconveyError
from emoconvey.predict.baseline import (
    BATCH,
    DEV_BATCH,
    HIDDEN,
    LR,
    MAX_EPOCHS,
    MOMENTUM,
    PATIENCE,
    MusicEvalBaselineHead,
    dev_mask,
)
from emoconvey.predict.datasets import RatedClips
from emoconvey.predict.extractors.base import load_audio, load_pretrained
from emoconvey.predict.model import HeadGroup, Predictor

__all__ = ["finetune_baseline"]

log = logging.getLogger(__name__)


def _load_clap(name: str):
    processor, model = load_pretrained(
        "ClapProcessor", "ClapModel", name, what="CLAP", needs="--finetune-encoder needs"
    )
    return model, processor


def _pooled(out):
    return getattr(out, "pooler_output", out)


class _Embedder:
    """Audio and text embeddings of a batch through a trainable ClapModel."""

    def __init__(self, model, processor, seed: int) -> None:
        self.model, self.processor, self.seed = model, processor, seed
        self.sr = int(processor.feature_extractor.sampling_rate)

    def __call__(self, files: list[str], texts: list[str], epoch: int):
        waves = [load_audio(f, self.sr) for f in files]
        state = np.random.get_state()  # noqa: NPY002 - the processor crops with it
        np.random.seed(self.seed * 100003 + epoch)  # noqa: NPY002
        try:
            feats = self.processor.feature_extractor(waves, sampling_rate=self.sr,
                                                     return_tensors="pt")
        finally:
            np.random.set_state(state)  # noqa: NPY002
        tok = self.processor.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
        audio = _pooled(self.model.get_audio_features(
            input_features=feats["input_features"], is_longer=feats.get("is_longer")))
        text = _pooled(self.model.get_text_features(input_ids=tok["input_ids"],
                                                    attention_mask=tok["attention_mask"]))
        return audio, text


def _epoch_losses(emb, nets, clips, idx, targets, epoch, *, opt=None):
    """Train (``opt`` given, batches of 64) or evaluate (batches of 8) over ``idx``."""
    import torch

    l1 = torch.nn.L1Loss()
    size = BATCH if opt is not None else DEV_BATCH
    losses = []
    for start in range(0, len(idx), size):
        rows = idx[start:start + size]
        y = torch.tensor(clips[targets].iloc[rows].to_numpy(np.float32))
        with torch.set_grad_enabled(opt is not None):
            audio, text = emb(clips["audio_file"].iloc[rows].tolist(),
                              [str(t) for t in clips["text"].iloc[rows]], epoch)
            out_mi = nets[0](audio)
            out_ta = nets[1](torch.cat([audio, text], dim=1))
            loss = l1(out_mi, y[:, :1]) + l1(out_ta, y[:, 1:])
        if opt is not None:
            opt.zero_grad()
            loss.backward()
            opt.step()
        losses.append(float(loss.detach()) / 2)
    return float(np.mean(losses))


def finetune_baseline(
    data: RatedClips,
    *,
    clap_model: str,
    out: str | Path,
    seed: int = 0,
    max_epochs: int = MAX_EPOCHS,
    patience: int = PATIENCE,
    on_epoch: Callable[[int, float], None] | None = None,
) -> Predictor:
    """Train the MusicEval baseline end to end (CLAP and heads) and save it in ``out``.

    Parameters
    ----------
    data : RatedClips
        With targets ``MI`` and ``TA``, prompt ``text`` per clip and ``split`` (clips of
        ``train`` are trained on, ``dev`` stops training; without ``dev`` a seeded 15 %
        of the others does, with a warning; ``test`` clips are not used).
    clap_model : str
        transformers CLAP model id or local folder.
    out : path
        Model folder: ``encoder/`` (fine-tuned CLAP), heads and card.
    seed, max_epochs, patience : int
        ``max_epochs`` must be positive.
    on_epoch : callable, optional
        Called with (epoch, mean dev loss) after each epoch.

    Returns
    -------
    Predictor
        Saved in ``out``; its extractor is ``clap`` on ``out/encoder``.
    """
    import torch

    if isinstance(max_epochs, bool) or int(max_epochs) < 1:
        raise EmoconveyError(f"--max-epochs: expected a positive integer, got {max_epochs!r}")
    if tuple(data.targets) != ("MI", "TA"):
        raise EmoconveyError(
            f"--finetune-encoder: expected the targets MI and TA, got {', '.join(data.targets)}")
    clips = data.clips.reset_index(drop=True)
    if clips["text"].isna().any():
        raise EmoconveyError("--finetune-encoder: every clip needs its prompt text (for TA)")
    pool = np.flatnonzero(clips["split"].astype(str).ne("test").to_numpy())
    is_dev = dev_mask(len(pool), clips["split"].iloc[pool].astype(str).eq("dev").to_numpy(),
                      seed)
    train_idx, dev_idx = pool[~is_dev], pool[is_dev]
    model, processor = _load_clap(clap_model)
    model.train()
    torch.manual_seed(seed)
    d = int(model.config.projection_dim)
    nets = [torch.nn.Sequential(torch.nn.Linear(k, HIDDEN[0]), torch.nn.Linear(*HIDDEN),
                                torch.nn.Linear(HIDDEN[1], 1)) for k in (d, 2 * d)]
    params = [*model.parameters(), *nets[0].parameters(), *nets[1].parameters()]
    opt = torch.optim.SGD(params, lr=LR, momentum=MOMENTUM)
    emb = _Embedder(model, processor, seed)
    gen = np.random.default_rng(seed)
    best, best_epoch, waited, best_state = np.inf, 0, patience, None
    for epoch in range(1, max_epochs + 1):
        _epoch_losses(emb, nets, clips, train_idx[gen.permutation(len(train_idx))],
                      ["MI", "TA"], epoch, opt=opt)
        dev_loss = _epoch_losses(emb, nets, clips, dev_idx, ["MI", "TA"], 0)
        if on_epoch is not None:
            on_epoch(epoch, dev_loss)
        if dev_loss < best:
            best, best_epoch, waited = dev_loss, epoch, patience
            best_state = [{k: v.detach().clone() for k, v in m.state_dict().items()}
                          for m in (model, *nets)]
        else:
            waited -= 1
            if waited == 0:
                break
    return _save(data, model, processor, nets, best_state, Path(out),
                 seed=seed, best=(best_epoch, best), sizes=(len(train_idx), len(dev_idx)))


def _test_metrics(predictor: Predictor, data: RatedClips) -> list[dict[str, object]]:
    """Metrics on the ``test`` clips (system truth from the release file when present)."""
    from emoconvey.predict.metrics import score_predictions
    from emoconvey.predict.pipeline import run_predictor

    test = data.clips[data.clips["split"].astype(str).eq("test")].reset_index(drop=True)
    if test.empty:
        return []
    pred = run_predictor(predictor, test.assign(intent=None))
    table = data.system_mos
    records: list[dict[str, object]] = []
    for t in ("MI", "TA"):
        truth = None if table is None else dict(zip(table["system"], table[t], strict=True))
        records += score_predictions(test[t].to_numpy(float), pred[t].to_numpy(float),
                                     test["system"].to_numpy(), target=t, split="test",
                                     n_boot=0, system_truth=truth)
    return records


def _save(data, model, processor, nets, state, out, *, seed, best, sizes) -> Predictor:
    from emoconvey.predict.extractors.clap import ClapExtractor

    for m, s in zip((model, *nets), state, strict=True):
        m.load_state_dict(s)
    encoder = (out / "encoder").resolve()
    model.save_pretrained(encoder, safe_serialization=True)
    processor.save_pretrained(encoder)
    groups = []
    for (name, target, uses_text), net in zip((("audio", ("MI",), False),
                                               ("audio_text", ("TA",), True)), nets, strict=True):
        head = MusicEvalBaselineHead(seed=seed)
        head.params_ = {f"{w}{k + 1}": net[k].state_dict()["weight" if w == "w" else "bias"]
                       .detach().numpy().astype(np.float64) for k in range(3) for w in ("w", "b")}
        head.epochs_trained_, head.best_dev_loss_ = best
        groups.append(HeadGroup(name, target, uses_text, head))
    ext = ClapExtractor(model=str(encoder))
    predictor = Predictor(
        extractor={"id": ext.id, "version": ext.version, "options": ext.options(),
                   "cache_key": ext.cache_key},
        head_kind="musiceval-baseline", groups=groups, targets=("MI", "TA"),
        scales=dict(data.scales),
        info={"source": data.source, "seed": seed, "finetuned_encoder": True,
              "n_train": sizes[0], "n_dev": sizes[1], "best_epoch": best[0],
              "best_dev_loss": best[1], "data_hash": data.data_hash(), "split": "official",
              "trained_on": "train list; early stopping on the dev list"},
    )
    predictor.metrics = _test_metrics(predictor, data)
    predictor.save(out)
    log.info("fine-tuned CLAP + baseline heads written to %s (best epoch %d)", out, best[0])
    return predictor
