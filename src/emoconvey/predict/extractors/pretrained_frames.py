"""Frame-level features of pretrained music encoders: ``clap-frames``, ``mert``, ``muq``.

* ``clap-frames``: the last layer of CLAP's HTSAT audio encoder (Wu et al., 2023) before
  pooling, averaged over frequency: 32 frames per 10-s window for the LAION
  checkpoints, through transformers ``ClapModel``; text tokens from CLAP's own RoBERTa
  text tower unless ``text_model`` is given.
* ``mert``: MERT (Li et al., 2024, "MERT: acoustic music understanding model with
  large-scale self-supervised training"), through transformers ``AutoModel`` (default
  ``m-a-p/MERT-v1-95M``, 75 frames/s at 24 kHz; the m-a-p checkpoints ship their own
  model code, so loading them needs ``trust_remote_code=True``), the hidden states
  averaged over layers (or one ``layer``).
* ``muq``: MuQ (Zhu et al., 2025), the frozen music encoder of the AudioMOS 2025
  track-1 winner (ASTAR-NTU), from the ``muq`` package (``pip install muq``; default
  ``OpenMuQ/MuQ-large-msd-iter``, 25 frames/s at 24 kHz).

Every extractor averages its frames into ``hop_s``-second windows (default 0.25 s) and
processes one clip at a time (no padding between clips of different lengths).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from emoconvey.errors import EmoconveyError
from emoconvey.predict.extractors.base import (
    load_audio,
    load_pretrained,
    model_load_error,
    torch_device,
)
from emoconvey.predict.extractors.frames import (
    FrameExtractor,
    TokenTextEncoder,
    average_frames,
)

__all__ = ["DEFAULT_MERT_MODEL", "DEFAULT_MUQ_MODEL", "ClapFramesExtractor", "MertExtractor",
           "MuqExtractor"]

DEFAULT_MERT_MODEL = "m-a-p/MERT-v1-95M"
DEFAULT_MUQ_MODEL = "OpenMuQ/MuQ-large-msd-iter"


class ClapFramesExtractor(FrameExtractor):
    """``clap-frames`` (see the module docstring).

    Parameters
    ----------
    model : str
        A transformers CLAP model id or local folder.
    hop_s, text_model, device
        As :class:`~emoconvey.predict.extractors.frames.FrameExtractor`; without
        ``text_model`` the text tokens come from CLAP's text tower.
    """

    id = "clap-frames"
    version = "1"

    def __init__(self, *, model: str | None = None, hop_s: float = 0.25,
                 text_model: str | None = None, device: str | None = None) -> None:
        from emoconvey.predict.extractors.clap import DEFAULT_CLAP_MODEL

        super().__init__(hop_s=hop_s, text_model=text_model, device=device)
        self.model_name = str(model or DEFAULT_CLAP_MODEL)
        self.supports_text = True
        self._model = None
        self._processor = None

    def options(self) -> dict[str, object]:
        return {**super().options(), "model": self.model_name}

    def _load(self) -> None:
        if self._model is None:
            self._processor, self._model = load_pretrained(
                "ClapProcessor", "ClapModel", self.model_name, what="CLAP",
                needs="the clap-frames extractor needs", inference=True,
                device=self.device)

    def extract_frames(self, paths: Sequence[str], *,
                       progress: Callable[[int], None] | None = None) -> list[np.ndarray]:
        import torch

        self._load()
        fe = self._processor.feature_extractor  # type: ignore[union-attr]
        sr = int(fe.sampling_rate)
        dev = next(self._model.parameters()).device  # type: ignore[union-attr]
        out = []
        for p in paths:
            y = load_audio(p, sr)
            state = np.random.get_state()  # noqa: NPY002 (the processor crops at random)
            np.random.seed(0)  # noqa: NPY002
            try:
                inputs = fe([y], sampling_rate=sr, return_tensors="pt")
            finally:
                np.random.set_state(state)  # noqa: NPY002
            with torch.inference_mode():
                hidden = self._model.audio_model(  # type: ignore[union-attr]
                    input_features=inputs["input_features"].to(dev),
                    is_longer=inputs["is_longer"].to(dev),
                ).last_hidden_state  # (1, channels, freq, time)
            frames = hidden[0].mean(dim=1).T.float().cpu().numpy()  # (time, channels)
            window = min(len(y) / sr, float(fe.nb_max_samples) / sr)
            out.append(average_frames(frames, len(frames) / max(window, 1e-3), self.hop_s))
            if progress is not None:
                progress(1)
        return out

    def embed_text_tokens(self, texts: Sequence[str]) -> list[np.ndarray]:
        if self.text_model is not None:
            return super().embed_text_tokens(texts)
        import torch

        self._load()
        enc = TokenTextEncoder(self.model_name)
        enc._tokenizer = self._processor.tokenizer  # type: ignore[union-attr]
        enc._model = self._model.text_model  # type: ignore[union-attr]
        with torch.inference_mode():
            return enc.encode(texts)


class MertExtractor(FrameExtractor):
    """``mert`` (see the module docstring).

    Parameters
    ----------
    model : str
        A transformers model id or local folder with a feature extractor (default
        :data:`DEFAULT_MERT_MODEL`).
    layer : int, optional
        The hidden state to keep (0 = the convolutional features); default: the mean of
        all layers.
    trust_remote_code : bool, default False
        Let transformers run the model code shipped with the checkpoint (the m-a-p MERT
        checkpoints need it).
    hop_s, text_model, device
        As :class:`~emoconvey.predict.extractors.frames.FrameExtractor`.
    """

    id = "mert"
    version = "1"

    def __init__(self, *, model: str = DEFAULT_MERT_MODEL, layer: int | None = None,
                 trust_remote_code: bool = False, hop_s: float = 0.25,
                 text_model: str | None = None, device: str | None = None) -> None:
        super().__init__(hop_s=hop_s, text_model=text_model, device=device)
        self.model_name = str(model)
        self.layer = None if layer is None else int(layer)
        self.trust_remote_code = bool(trust_remote_code)
        self._model = None
        self._fe = None

    def options(self) -> dict[str, object]:
        opts = {**super().options(), "model": self.model_name, "layer": self.layer}
        if self.trust_remote_code:
            opts["trust_remote_code"] = True
        return opts

    def _load(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoFeatureExtractor, AutoModel

        trust = self.trust_remote_code
        try:
            self._fe = AutoFeatureExtractor.from_pretrained(self.model_name,
                                                            trust_remote_code=trust)
            model = AutoModel.from_pretrained(self.model_name, trust_remote_code=trust)
        except (OSError, ValueError) as exc:
            err = model_load_error("MERT", self.model_name, exc)
            if not trust and "trust_remote_code" in str(exc):
                err = EmoconveyError(f"{err}; this checkpoint ships its own model code: pass "
                                     "trust_remote_code=true if you trust it")
            raise err from None
        self._model = model.eval().to(torch_device(self.device))

    def extract_frames(self, paths: Sequence[str], *,
                       progress: Callable[[int], None] | None = None) -> list[np.ndarray]:
        import torch

        self._load()
        sr = int(self._fe.sampling_rate)  # type: ignore[union-attr]
        dev = next(self._model.parameters()).device  # type: ignore[union-attr]
        out = []
        for p in paths:
            y = load_audio(p, sr)
            inputs = self._fe(y, sampling_rate=sr, return_tensors="pt")  # type: ignore[misc]
            with torch.inference_mode():
                states = self._model(  # type: ignore[misc]
                    input_values=inputs["input_values"].to(dev), output_hidden_states=True
                ).hidden_states
            stack = torch.stack(states)[:, 0]  # (layers, time, dim)
            frames = stack.mean(0) if self.layer is None else stack[self.layer]
            frames = frames.float().cpu().numpy()
            out.append(average_frames(frames, len(frames) / max(len(y) / sr, 1e-3), self.hop_s))
            if progress is not None:
                progress(1)
        return out


class MuqExtractor(FrameExtractor):
    """``muq`` (see the module docstring); needs the ``muq`` package.

    Parameters
    ----------
    model : str
        A MuQ model id or local folder (default :data:`DEFAULT_MUQ_MODEL`).
    layer : int, optional
        The hidden state to keep; default: the last.
    hop_s, text_model, device
        As :class:`~emoconvey.predict.extractors.frames.FrameExtractor`.
    """

    id = "muq"
    version = "1"
    SR = 24000

    def __init__(self, *, model: str = DEFAULT_MUQ_MODEL, layer: int | None = None,
                 hop_s: float = 0.25, text_model: str | None = None,
                 device: str | None = None) -> None:
        super().__init__(hop_s=hop_s, text_model=text_model, device=device)
        try:
            import muq  # noqa: F401
        except ImportError:
            raise EmoconveyError(
                "the muq extractor needs the muq package (pip install muq; it also installs "
                "torchaudio, nnAudio and x_clip); without it use mert or clap-frames"
            ) from None
        self.model_name = str(model)
        self.layer = None if layer is None else int(layer)
        self._model = None

    def options(self) -> dict[str, object]:
        return {**super().options(), "model": self.model_name, "layer": self.layer}

    def extract_frames(self, paths: Sequence[str], *,
                       progress: Callable[[int], None] | None = None) -> list[np.ndarray]:
        import torch
        from muq import MuQ

        if self._model is None:
            try:
                self._model = MuQ.from_pretrained(self.model_name).eval().to(
                    torch_device(self.device))
            except (OSError, ValueError) as exc:
                raise model_load_error("MuQ", self.model_name, exc) from None
        dev = next(self._model.parameters()).device
        out = []
        for p in paths:
            y = load_audio(p, self.SR)
            with torch.inference_mode():
                res = self._model(torch.from_numpy(y)[None].to(dev), output_hidden_states=True)
            hidden = res.last_hidden_state if self.layer is None else res.hidden_states[self.layer]
            frames = hidden[0].float().cpu().numpy()
            out.append(average_frames(frames, len(frames) / max(len(y) / self.SR, 1e-3),
                                      self.hop_s))
            if progress is not None:
                progress(1)
        return out
