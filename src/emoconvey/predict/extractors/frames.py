"""Frame-level extractors: one feature vector per time step, cached, and token-level text.

A :class:`FrameExtractor` gives each clip a ``(frames, dim)`` array (averaged into windows
of ``hop_s`` seconds), which sequence heads such as ``temporal`` read whole; pooled heads
(``ridge``, ``mlp``) get the clip-level mean and standard deviation of the frames
(:func:`~emoconvey.predict.sequences.pool_frames`), so every frame extractor also works
as an ordinary :class:`~emoconvey.predict.extractors.base.Extractor`.

Frames are cached like pooled features, keyed by the file's SHA-256 and the extractor's
cache key, one safetensors file per clip (variable length; never pickle):
``<cache>/frames/<cache_key>/<sha256>.safetensors``.

Text for text-conditioned targets comes as token-level features from a transformers text
encoder (``text_model``, e.g. ``roberta-base`` as in the AudioMOS 2025 winning system, or
any local folder saved with ``save_pretrained``); ``clap-frames`` defaults to CLAP's own
text tower.

Built in here: ``mel-frames``, log-mel energies (weight-free, for tests and benchmarks).
:mod:`emoconvey.predict.extractors.pretrained_frames` adds ``clap-frames``, ``mert`` and
``muq``.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from emoconvey._files import replace_atomically
from emoconvey.errors import EmoconveyError
from emoconvey.predict.extractors.base import (
    Extractor,
    cached_arrays,
    load_audio,
    load_pretrained,
)
from emoconvey.predict.sequences import Sequences, pool_frames

__all__ = [
    "FrameExtractor",
    "MelFramesExtractor",
    "TokenTextEncoder",
    "average_frames",
    "extract_frame_features",
]

log = logging.getLogger(__name__)


def average_frames(frames: np.ndarray, rate: float, hop_s: float) -> np.ndarray:
    """Average consecutive frames of a ``(frames, dim)`` array into ``hop_s``-second windows.

    ``rate`` is the frames per second of ``frames``; each window holds
    ``max(1, round(hop_s * rate))`` frames (the last may hold fewer).
    """
    frames = np.asarray(frames, dtype=np.float32)
    size = max(1, round(hop_s * rate))
    if size == 1:
        return frames
    starts = np.arange(0, len(frames), size)
    counts = np.diff(np.append(starts, len(frames)))[:, None]
    return np.add.reduceat(frames, starts, axis=0) / counts


class TokenTextEncoder:
    """Token-level text features from a transformers encoder (RoBERTa or alike).

    Parameters
    ----------
    model : str
        A model id or a local folder saved with ``save_pretrained`` (tokenizer and model).
    device : str, optional
        torch device.
    """

    def __init__(self, model: str, *, device: str | None = None) -> None:
        self.model_name = str(model)
        self.device = device
        self._model = None
        self._tokenizer = None

    def _load(self) -> None:
        if self._model is None:
            self._tokenizer, self._model = load_pretrained(
                "AutoTokenizer", "AutoModel", self.model_name, what="text",
                needs="text features need", inference=True, device=self.device)

    def encode(self, texts: Sequence[str]) -> list[np.ndarray]:
        """One ``(tokens, dim)`` array per text: the last hidden states of its tokens."""
        import torch

        self._load()
        out: list[np.ndarray] = []
        for start in range(0, len(texts), 32):
            chunk = [str(t) for t in texts[start:start + 32]]
            tok = self._tokenizer(chunk, padding=True, truncation=True,  # type: ignore[misc]
                                  max_length=256, return_tensors="pt")
            dev = next(self._model.parameters()).device  # type: ignore[union-attr]
            with torch.inference_mode():
                hidden = self._model(input_ids=tok["input_ids"].to(dev),  # type: ignore[misc]
                                     attention_mask=tok["attention_mask"].to(dev)
                                     ).last_hidden_state
            for row, mask in zip(hidden.float().cpu().numpy(), tok["attention_mask"].numpy(),
                                 strict=True):
                out.append(row[mask.astype(bool)])
        return out


class FrameExtractor(Extractor):
    """An extractor with one feature vector per time step (see the module docstring).

    Subclasses implement :meth:`extract_frames`. ``hop_s`` and ``text_model`` are
    options of every frame extractor.
    """

    frame_level = True

    def __init__(self, *, hop_s: float = 0.25, text_model: str | None = None,
                 device: str | None = None) -> None:
        if isinstance(hop_s, bool) or not float(hop_s) > 0:
            raise EmoconveyError(f"hop_s: expected a positive number of seconds, got {hop_s!r}")
        self.hop_s = float(hop_s)
        self.text_model = None if text_model is None else str(text_model)
        self.device = device
        self._text: TokenTextEncoder | None = None
        self.supports_text = self.text_model is not None

    def options(self) -> dict[str, object]:
        opts: dict[str, object] = {"hop_s": self.hop_s}
        if self.text_model is not None:
            opts["text_model"] = self.text_model
        return opts

    def cache_options(self) -> dict[str, object]:
        """The options without the text model: frames are audio only."""
        return {k: v for k, v in self.options().items() if k != "text_model"}

    @abstractmethod
    def extract_frames(self, paths: Sequence[str], *,
                       progress: Callable[[int], None] | None = None) -> list[np.ndarray]:
        """One ``(frames, dim)`` float32 array per file; calls ``progress(k)``."""

    def extract(self, paths: Sequence[str], *, progress: Callable[[int], None] | None = None
                ) -> np.ndarray:
        """Pooled features: each clip's frame mean and standard deviation."""
        frames = self.extract_frames(paths, progress=progress)
        return np.vstack([pool_frames(f) for f in frames]) if frames else np.zeros((0, 0))

    def embed_text_tokens(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Token-level text features, one ``(tokens, dim)`` array per text."""
        if self.text_model is None:
            raise EmoconveyError(
                f"extractor {self.id!r} has no text encoder: give text_model (e.g. a RoBERTa "
                "model id or folder, --text-model)"
            )
        if self._text is None:
            self._text = TokenTextEncoder(self.text_model, device=self.device)
        return self._text.encode(texts)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Pooled text features: the mean over each text's tokens."""
        tokens = self.embed_text_tokens(texts)
        return np.vstack([t.mean(axis=0) for t in tokens]) if tokens else np.zeros((0, 0))


def _read_frames(stem: Path) -> np.ndarray:
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    try:
        return load_file(str(stem.with_suffix(".safetensors")))["frames"]
    except (SafetensorError, KeyError) as exc:
        raise ValueError(str(exc)) from None


def _write_frames(stem: Path, frames: np.ndarray) -> None:
    from safetensors.numpy import save_file

    arrays = {"frames": np.ascontiguousarray(frames, dtype=np.float32)}
    replace_atomically(stem.with_suffix(".safetensors"), lambda tmp: save_file(arrays, str(tmp)))


def extract_frame_features(
    extractor: FrameExtractor,
    paths: Sequence[str | Path],
    *,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    progress: Callable[[int], None] | None = None,
) -> tuple[Sequences, int, int]:
    """Frames of ``paths`` as :class:`Sequences`, the files extracted and those cached.

    Reads and fills ``<cache_dir>/frames/<cache_key>/<sha256>.safetensors``.
    """
    if not isinstance(extractor, FrameExtractor):
        raise EmoconveyError(
            f"extractor {extractor.id!r} gives one vector per clip, not frames; a sequence "
            "head needs a frame-level extractor (mel-frames, clap-frames, mert, muq)"
        )
    paths = [str(p) for p in paths]
    rows, extracted, cached = cached_arrays(
        extractor, paths, kind="frames",
        compute=lambda todo: extractor.extract_frames(todo, progress=progress),
        read=_read_frames, write=_write_frames,
        cache_dir=cache_dir, use_cache=use_cache, progress=progress,
    )
    log.info("%s frames: %d extracted, %d from the cache", extractor.id, extracted, cached)
    return Sequences.from_list([np.asarray(r, np.float32) for r in rows]), extracted, cached


class MelFramesExtractor(FrameExtractor):
    """``mel-frames``: log-mel energies per ``hop_s`` window (weight-free).

    Parameters
    ----------
    n_mels : int, default 32
        Mel bands (50 Hz to 8 kHz at 22.05 kHz).
    hop_s : float, default 0.25
        Window length in seconds.
    text_model : str, optional
        Text encoder for text-conditioned targets.
    """

    id = "mel-frames"
    version = "1"
    SR = 22050
    HOP = 512

    def __init__(self, *, n_mels: int = 32, hop_s: float = 0.25, text_model: str | None = None,
                 device: str | None = None) -> None:
        super().__init__(hop_s=hop_s, text_model=text_model, device=device)
        if isinstance(n_mels, bool) or int(n_mels) < 1:
            raise EmoconveyError(f"n_mels: expected a positive integer, got {n_mels!r}")
        self.n_mels = int(n_mels)

    def options(self) -> dict[str, object]:
        return {**super().options(), "n_mels": self.n_mels}

    def extract_frames(self, paths: Sequence[str], *,
                       progress: Callable[[int], None] | None = None) -> list[np.ndarray]:
        import librosa

        out = []
        for p in paths:
            y = load_audio(p, self.SR)
            mel = librosa.feature.melspectrogram(y=y, sr=self.SR, n_fft=2048, hop_length=self.HOP,
                                                 n_mels=self.n_mels, fmin=50, fmax=8000)
            logmel = np.log10(mel.T + 1e-6).astype(np.float32)  # (frames, n_mels)
            out.append(average_frames(logmel, self.SR / self.HOP, self.hop_s))
            if progress is not None:
                progress(1)
        return out
