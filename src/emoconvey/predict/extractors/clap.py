"""``clap``: CLAP audio embeddings (and text embeddings from its text tower).

CLAP (Wu et al., 2023, "Large-scale contrastive language-audio pretraining") maps audio
and text into one 512-d space. MusicEval's baseline (Liu et al., 2025) feeds the audio
embedding to its musical-impression head and the audio and text embeddings joined to its
textual-alignment head; :class:`emoconvey.predict.model.Predictor` does the same for
text-conditioned targets.

Two back ends:

* transformers ``ClapModel`` + ``ClapProcessor`` (default ``laion/larger_clap_music``, or
  any local folder saved with ``save_pretrained``); audio is resampled to the model's
  own rate (48 kHz for the LAION checkpoints; MusicEval's code feeds 16 kHz audio);
* the ``laion_clap`` package for an original LAION-CLAP checkpoint file such as
  MusicEval's ``music_audioset_epoch_15_esc_90.14.pt`` (``checkpoint=...``), when that
  package is installed.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from emoconvey.errors import EmoconveyError
from emoconvey.predict.extractors.base import (
    Extractor,
    load_audio,
    load_pretrained,
)

__all__ = ["DEFAULT_CLAP_MODEL", "ClapExtractor"]

log = logging.getLogger(__name__)

LAION_WINDOW_S = 10.0
"""LAION-CLAP's audio window (seconds): longer clips are cropped to it."""

DEFAULT_CLAP_MODEL = "laion/larger_clap_music"
"""The transformers CLAP checkpoint used by default (LAION, trained with music)."""


class ClapExtractor(Extractor):
    """CLAP audio (and text) embeddings.

    Parameters
    ----------
    model : str
        A transformers CLAP model id or local folder (default :data:`DEFAULT_CLAP_MODEL`).
    checkpoint : str, optional
        A LAION-CLAP ``.pt`` checkpoint (needs the ``laion_clap`` package), e.g.
        MusicEval's ``music_audioset_epoch_15_esc_90.14.pt``; overrides ``model``.
    amodel : str, default "HTSAT-base"
        The LAION-CLAP audio model of ``checkpoint``.
    device : str, optional
        torch device (default: CUDA when available, else CPU).
    batch_size : int, default 8
        Clips per forward pass.
    seed : int, default 0
        Seed of the crop of clips longer than LAION-CLAP's 10-s window (``checkpoint``
        only): each such clip is cropped to a window starting at a sample drawn from
        ``numpy.random.default_rng([seed, crc32(file name)])`` before it reaches
        ``laion_clap`` (which would otherwise crop at random from NumPy's global,
        unseeded generator), so embeddings are reproducible and do not depend on the
        order of the clips.
    """

    id = "clap"
    version = "1"
    supports_text = True

    def __init__(
        self,
        *,
        model: str = DEFAULT_CLAP_MODEL,
        checkpoint: str | None = None,
        amodel: str = "HTSAT-base",
        device: str | None = None,
        batch_size: int = 8,
        seed: int = 0,
    ) -> None:
        if isinstance(batch_size, bool) or int(batch_size) < 1:
            raise EmoconveyError(f"batch_size: expected a positive integer, got {batch_size!r}")
        self.model_name = str(model)
        self.checkpoint = None if checkpoint is None else str(checkpoint)
        self.amodel = amodel
        self.device = device
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self._model = None
        self._processor = None
        self._laion = None
        if self.checkpoint is not None:
            try:
                import laion_clap  # noqa: F401
            except ImportError:
                raise EmoconveyError(
                    f"--clap-checkpoint {self.checkpoint}: reading an original LAION-CLAP "
                    "checkpoint needs the laion_clap package (pip install laion-clap); without "
                    "it use a transformers CLAP model (--clap-model, default "
                    f"{DEFAULT_CLAP_MODEL})"
                ) from None
            if not Path(self.checkpoint).is_file():
                raise EmoconveyError(f"--clap-checkpoint: {self.checkpoint!r} not found")

    def options(self) -> dict[str, object]:
        if self.checkpoint is not None:
            return {"checkpoint": self.checkpoint, "amodel": self.amodel, "seed": self.seed}
        return {"model": self.model_name}

    # ----------------------------------------------------------------- loading

    def _load(self) -> None:
        if self._model is not None or self._laion is not None:
            return
        if self.checkpoint is not None:
            import laion_clap

            module = laion_clap.CLAP_Module(enable_fusion=False, amodel=self.amodel)
            module.load_ckpt(self.checkpoint)
            self._laion = module
            return
        self._processor, self._model = load_pretrained(
            "ClapProcessor", "ClapModel", self.model_name, what="CLAP",
            needs="the clap extractor needs", inference=True,
            device=self.device)

    @property
    def sample_rate(self) -> int:
        """The rate audio is resampled to (the model's own)."""
        self._load()
        if self._laion is not None:
            return 48000
        return int(self._processor.feature_extractor.sampling_rate)  # type: ignore[union-attr]

    # ----------------------------------------------------------------- embeddings

    @staticmethod
    def _pooled(output: object) -> np.ndarray:
        tensor = getattr(output, "pooler_output", output)
        return tensor.detach().float().cpu().numpy()  # type: ignore[union-attr]

    def extract(self, paths: Sequence[str], *, progress: Callable[[int], None] | None = None
                ) -> np.ndarray:
        import torch

        self._load()
        sr = self.sample_rate
        rows: list[np.ndarray] = []
        for start in range(0, len(paths), self.batch_size):
            names = paths[start:start + self.batch_size]
            batch = [load_audio(p, sr) for p in names]
            if self._laion is not None:
                batch = [self._crop(y, p, sr) for y, p in zip(batch, names, strict=True)]
            with torch.inference_mode():
                if self._laion is not None:
                    emb = np.vstack([
                        self._laion.get_audio_embedding_from_data(x=y[None, :], use_tensor=False)
                        for y in batch
                    ])
                else:
                    fe = self._processor.feature_extractor  # type: ignore[union-attr]
                    # The processor crops clips longer than its window at random (numpy's
                    # global generator): seed it for reproducible features, then restore it.
                    state = np.random.get_state()  # noqa: NPY002
                    np.random.seed(0)  # noqa: NPY002
                    try:
                        inputs = fe(batch, sampling_rate=sr, return_tensors="pt")
                    finally:
                        np.random.set_state(state)  # noqa: NPY002
                    dev = next(self._model.parameters()).device  # type: ignore[union-attr]
                    inputs = {k: v.to(dev) for k, v in inputs.items()
                              if k in ("input_features", "is_longer")}
                    emb = self._pooled(self._model.get_audio_features(**inputs))  # type: ignore[union-attr]
            rows.append(np.asarray(emb, dtype=np.float32))
            if progress is not None:
                progress(len(batch))
        return np.vstack(rows) if rows else np.zeros((0, 0), np.float32)

    def _crop(self, y: np.ndarray, path: str, sr: int) -> np.ndarray:
        """A seeded :data:`LAION_WINDOW_S` window of a longer clip (see ``seed``)."""
        window = round(LAION_WINDOW_S * sr)
        if len(y) <= window:
            return y
        key = zlib.crc32(Path(str(path)).name.encode("utf-8"))
        start = int(np.random.default_rng([self.seed, key]).integers(0, len(y) - window + 1))
        return y[start:start + window]

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        self._load()
        texts = [str(t) for t in texts]
        rows: list[np.ndarray] = []
        for start in range(0, len(texts), 64):
            chunk = texts[start:start + 64]
            with torch.inference_mode():
                if self._laion is not None:
                    emb = self._laion.get_text_embedding(chunk, use_tensor=False)
                else:
                    tok = self._processor.tokenizer(  # type: ignore[union-attr]
                        chunk, padding=True, truncation=True, return_tensors="pt"
                    )
                    dev = next(self._model.parameters()).device  # type: ignore[union-attr]
                    emb = self._pooled(self._model.get_text_features(  # type: ignore[union-attr]
                        input_ids=tok["input_ids"].to(dev),
                        attention_mask=tok["attention_mask"].to(dev),
                    ))
            rows.append(np.asarray(emb, dtype=np.float32))
        return np.vstack(rows) if rows else np.zeros((0, 0), np.float32)
