"""The interface every generation backend implements.

A backend turns a batch of :class:`GenerationRequest` into the same number of
:class:`GeneratedAudio`, at the model's native sample rate and channel count. It knows
nothing of the protocol: the caller builds prompts, derives seeds, crops, writes files
and the manifest. A backend is loaded once per worker (:meth:`Backend.load`) and then
called many times (:meth:`Backend.generate`).

Third-party packages add backends through the ``emoconvey.backends`` entry-point group;
each entry point names a :class:`Backend` subclass.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from emoconvey.errors import EmoconveyError

__all__ = ["Backend", "BackendUnavailableError", "GeneratedAudio", "GenerationRequest"]


class BackendUnavailableError(EmoconveyError):
    """A backend cannot run here: its extra is missing or its checkpoint cannot be loaded.

    The message says what to install (``pip install "emoconvey[generate]"``) or where the
    checkpoint was looked for and how to download it ahead of time.
    """


@dataclass(frozen=True)
class GenerationRequest:
    """One clip to generate.

    Attributes
    ----------
    prompt : str
        The text given to the model (already built from the intent word and template).
    seconds : float
        Length asked for, in seconds (the protocol's 30 s by default).
    seed : int
        Seed for the model's sampling, derived from (base seed, system, intent, index).
    instrumental : bool
        Whether the service's "instrumental" switch is on (services only).
    """

    prompt: str
    seconds: float
    seed: int
    instrumental: bool = False


@dataclass
class GeneratedAudio:
    """What a backend returns for one request.

    Attributes
    ----------
    audio : ndarray of float32, shape (channels, samples)
        Samples in [-1, 1] at ``sample_rate``; never resampled by the backend.
    sample_rate : int
        The model's native sample rate in Hz.
    params : dict
        Generation parameters actually used (JSON-serialisable), for the manifest.
    flags : list of str
        Backend-side remarks for the manifest's ``flags`` column, e.g.
        ``"trimmed_padding"`` or ``"native_length_10s"``.
    """

    audio: np.ndarray
    sample_rate: int
    params: dict[str, Any] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)


class Backend(ABC):
    """A text-to-music model behind the generation protocol.

    Parameters
    ----------
    checkpoint : str, optional
        A hub id or a local folder; ``None`` takes :attr:`default_checkpoint`.
    device : str
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``; ``"auto"`` is resolved by the caller.
    options : dict
        Backend-specific generation options (guidance scale, steps, ...), recorded in
        the manifest's parameters.

    Class attributes
    ----------------
    name : str
        Registry name (``emoconvey generate run --backend NAME``).
    extra : str
        The pip extra that installs what the backend needs (``"generate"``).
    requires : tuple of str
        Importable module names the backend needs (checked before loading).
    default_checkpoint : str or None
        The checkpoint used when none is given.
    native_sample_rate : int or None
        Sample rate of the default checkpoint, for ``generate backends`` (the real rate
        comes from the loaded model).
    max_seconds : float or None
        Longest clip the model can make in one call; ``None`` when unlimited.
    instrumental_switch : bool
        ``True`` for services with an "instrumental" switch (the prompt is the bare word).
    description : str
        One line for ``emoconvey generate backends``.
    install_hint : str or None
        How to install what the backend needs when a pip extra is not enough (a model
        that is not on PyPI); ``None`` means ``pip install "emoconvey[<extra>]"``.
    option_help : dict of str to str
        The backend's options and one line of help each (``KEY: "VALUES (default)"``),
        for ``emoconvey generate backends``; empty when not documented there.
    """

    name: ClassVar[str] = ""
    extra: ClassVar[str] = "generate"
    requires: ClassVar[tuple[str, ...]] = ()
    default_checkpoint: ClassVar[str | None] = None
    native_sample_rate: ClassVar[int | None] = None
    max_seconds: ClassVar[float | None] = None
    instrumental_switch: ClassVar[bool] = False
    description: ClassVar[str] = ""
    install_hint: ClassVar[str | None] = None
    option_help: ClassVar[dict[str, str]] = {}

    def check_options(self, allowed: Iterable[str]) -> None:
        """Raise :class:`EmoconveyError` naming any option not in ``allowed``."""
        allowed = set(allowed)
        unknown = set(self.options) - allowed
        if unknown:
            raise EmoconveyError(
                f"backend {self.name!r}: unknown option(s) {', '.join(sorted(unknown))}; "
                f"expected {', '.join(sorted(allowed))}"
            )

    @classmethod
    def install_command(cls) -> str:
        """What to run to make this backend available (for messages and listings)."""
        if cls.install_hint:
            return cls.install_hint
        return f'pip install "emoconvey[{cls.extra}]"' if cls.extra else ""

    def __init__(
        self, checkpoint: str | None = None, *, device: str = "cpu", **options: Any
    ) -> None:
        self.checkpoint = checkpoint if checkpoint is not None else self.default_checkpoint
        self.device = device
        self.options = dict(options)

    @abstractmethod
    def load(self) -> None:
        """Load the model once (``from_pretrained`` and friends); raise
        :class:`BackendUnavailableError` with a clear message when it cannot."""

    @abstractmethod
    def generate(self, requests: Sequence[GenerationRequest]) -> list[GeneratedAudio]:
        """Generate one clip per request, in order; batched where the library allows."""

    def info(self) -> dict[str, Any]:
        """Checkpoint, revision and library versions for the manifest.

        Keys: ``checkpoint``, ``revision`` (commit hash when known, else ``""``),
        ``versions`` (``{"torch": "2.13.0", ...}``), ``device``.
        """
        return {
            "checkpoint": self.checkpoint or "",
            "revision": "",
            "versions": {},
            "device": self.device,
        }
