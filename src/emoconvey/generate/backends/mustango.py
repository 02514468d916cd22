"""Mustango (Melechovsky et al., 2024) through its own ``mustango`` package.

Mustango is not on PyPI: it lives in its own repository and pins old torch, diffusers
and transformers versions, so it belongs in a separate environment. When a ``mustango``
module is importable (the repository on ``PYTHONPATH``, or installed), this adapter
uses its public API::

    from mustango import Mustango          # the repository's class is spelt MusTango
    model = Mustango("declare-lab/mustango", device="cuda:0")
    wave = model.generate(prompt, steps=100, guidance=3)   # 16 kHz, 10 s

Mustango always makes 10 s at 16 kHz mono: a longer request (the protocol's 30 s) is
answered with 10 s, flagged ``native_length_10s`` with ``native_seconds`` and
``asked_seconds`` in the parameters, so the manifest records the deviation. Its sampler
draws from the global torch random stream, so items are generated one at a time under
``torch.manual_seed(seed)`` (inside ``torch.random.fork_rng``).
"""

from __future__ import annotations

import importlib
import logging
import math
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from emoconvey.errors import EmoconveyError
from emoconvey.generate.backends import _torch
from emoconvey.generate.backends.base import (
    BackendUnavailableError,
    GeneratedAudio,
    GenerationRequest,
)

__all__ = ["MUSTANGO_INSTALL", "MustangoBackend"]

logger = logging.getLogger(__name__)

MUSTANGO_INSTALL = (
    "Mustango is not on PyPI and pins old torch/diffusers/transformers: install it in a "
    "separate environment with `git clone https://github.com/AMAAI-Lab/mustango && "
    "cd mustango && pip install -r requirements.txt && pip install -e diffusers`, then "
    'add the clone to PYTHONPATH and `pip install -e /path/to/emoconvey[generate]` there'
)


class MustangoBackend(_torch.TorchBackend):
    """Mustango controllable text-to-music (10 s, 16 kHz mono), when installed.

    Options
    -------
    steps : int, default 100
        Denoising steps (Mustango's ``generate(steps=...)``).
    guidance : float, default 3
        Classifier-free guidance (``generate(guidance=...)``).
    """

    name: ClassVar[str] = "mustango"
    requires: ClassVar[tuple[str, ...]] = ("torch", "mustango")
    install_hint: ClassVar[str | None] = MUSTANGO_INSTALL
    default_checkpoint: ClassVar[str | None] = "declare-lab/mustango"
    native_sample_rate: ClassVar[int | None] = 16000
    max_seconds: ClassVar[float | None] = 10.0
    description: ClassVar[str] = (
        "Mustango from its own repository (not on PyPI; 10 s, 16 kHz mono)"
    )
    native_seconds: ClassVar[float] = 10.0

    allowed_options: ClassVar[frozenset[str]] = frozenset({"steps", "guidance"})
    load_requires: ClassVar[tuple[str, ...] | None] = ("torch",)  # mustango: checked below
    versioned: ClassVar[tuple[str, ...]] = ("diffusers", "transformers", "mustango")
    _cls: Any = None  # the Mustango class, found by _before_resolve

    def _before_resolve(self) -> None:
        try:
            module = importlib.import_module("mustango")
        except ImportError as exc:
            raise BackendUnavailableError(
                f"backend {self.name!r}: no importable 'mustango' module ({exc}). "
                + MUSTANGO_INSTALL
            ) from exc
        self._cls = getattr(module, "Mustango", None) or getattr(module, "MusTango", None)
        if self._cls is None:
            raise BackendUnavailableError(
                f"backend {self.name!r}: the installed 'mustango' module "
                f"({getattr(module, '__file__', '?')}) has no Mustango class. "
                + MUSTANGO_INSTALL
            )

    def _load(self, resolved: _torch.ResolvedCheckpoint) -> None:
        cls = self._cls
        self._model = self._load_or_explain(
            lambda: cls(str(self.checkpoint), device=str(self._device)), resolved)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GeneratedAudio]:
        if self._model is None:
            raise EmoconveyError(f"backend {self.name!r}: call load() before generate()")
        steps = int(self.options.get("steps", 100))
        guidance = float(self.options.get("guidance", 3.0))
        rate = int(self.native_sample_rate or 16000)
        out = []
        for request in requests:
            seconds = float(request.seconds)
            if not (math.isfinite(seconds) and seconds > 0):
                raise EmoconveyError(f"seconds must be a finite number > 0, got {seconds!r}")
            with (
                _torch.oom_guard(batch_size=1, device=self._device, backend=self.name),
                _torch.seeded(request.seed, self._device),
            ):
                wave = self._model.generate(request.prompt, steps=steps, guidance=guidance)
            audio = _to_float(wave)
            flags: list[str] = []
            params: dict[str, Any] = {
                "steps": steps,
                "guidance": guidance,
                "seeding": "torch.manual_seed(seed) per item",
                "native_seconds": self.native_seconds,
                "asked_seconds": seconds,
            }
            n_asked = round(seconds * rate)
            if audio.shape[1] >= n_asked:
                audio = np.ascontiguousarray(audio[:, :n_asked])
            else:
                flags.append(f"native_length_{self.native_seconds:g}s")
            out.append(GeneratedAudio(audio=audio, sample_rate=rate, params=params, flags=flags))
        return out


def _to_float(wave: Any) -> np.ndarray:
    """float32 (1, samples) from Mustango's output (int16 PCM or float, any 1-D/2-D shape)."""
    if hasattr(wave, "detach"):
        wave = wave.detach().cpu().numpy()
    arr = np.asarray(wave)
    if np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max + 1)
    arr = _torch.as_channels_first(arr)
    if arr.shape[0] > arr.shape[1]:
        arr = np.ascontiguousarray(arr.T)
    return arr
