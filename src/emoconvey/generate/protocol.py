"""The AImoclips generation protocol: prompts, seeds, the crop rule and output checks.

Go et al. (2025, section 3.2) prompt every open model with ``"<word>, instrumental"``
(services with an "instrumental" switch get the bare word with the switch on), generate
30 s per clip and crop one 10 s segment at a random start lying wholly between the 15 %
and 85 % marks of the full clip:

.. math::

    t_0 \\sim \\mathcal{U}\\,[0.15\\,L,\\; 0.85\\,L - c]

for a clip of length :math:`L` and a crop of :math:`c` seconds. In samples, with
:math:`N` samples at rate :math:`r`, the start is a uniform integer in
:math:`[\\lceil 0.15 N \\rceil, \\lfloor 0.85 N \\rfloor - \\mathrm{round}(c r)]`, so the
segment has exactly ``round(c * r)`` samples and never leaves the window.

Every random choice derives from (base seed, system, intent, index) through SHA-256, so
a rerun, a resumed run and a Ray run give bit-identical clips, independently of the
process, the Python hash seed and the order in which items are processed.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emoconvey.errors import EmoconveyError

__all__ = [
    "DEFAULT_PROMPT_TEMPLATE",
    "SERVICE_PROMPT_TEMPLATE",
    "WINDOW",
    "CropWindow",
    "build_prompt",
    "check_crop_fits",
    "check_system_name",
    "crop_audio",
    "crop_start",
    "derive_seed",
    "output_flags",
    "relpath",
]

DEFAULT_PROMPT_TEMPLATE = "{word}, instrumental"
"""Prompt of the open models in AImoclips."""
SERVICE_PROMPT_TEMPLATE = "{word}"
"""Prompt given to services with an "instrumental" switch (Suno, Udio)."""
WINDOW: tuple[float, float] = (0.15, 0.85)
"""The crop lies wholly between these fractions of the full clip."""

SILENCE_RMS = 1e-3  # -60 dBFS
CLIP_LEVEL = 0.999
_SYSTEM_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")


def build_prompt(word: str, *, template: str = DEFAULT_PROMPT_TEMPLATE) -> str:
    """The prompt for one intent word.

    Parameters
    ----------
    word : str
        The intent word (``"happy"``).
    template : str
        A :meth:`str.format` template with the field ``{word}``; the default is the
        protocol's ``"{word}, instrumental"``, services use ``"{word}"``.
    """
    if "{word}" not in template:
        raise EmoconveyError(
            f"--prompt-template: {template!r} must contain {{word}}, e.g. '{{word}}, instrumental'"
        )
    try:
        return template.format(word=word)
    except (KeyError, IndexError, ValueError) as exc:
        raise EmoconveyError(
            f"--prompt-template: {template!r} is not a valid template ({exc}); "
            "the only field is {word}"
        ) from None


def check_system_name(system: str) -> str:
    """Return ``system`` if it is a valid path segment, else raise.

    A system name becomes a folder and a file-name prefix, so it is 1-64 characters of
    letters, digits, ``.``, ``_``, ``+`` and ``-``, starting with a letter or digit.
    """
    if not isinstance(system, str) or not _SYSTEM_RE.match(system):
        raise EmoconveyError(
            f"--system: {system!r} is not a valid folder name; use 1-64 letters, digits, "
            "'.', '_', '+' or '-', starting with a letter or digit (e.g. MusicGen)"
        )
    return system


def derive_seed(base_seed: int, system: str, intent: str, index: int, *,
                purpose: str = "generate") -> int:
    """A 31-bit seed for one clip, stable across processes and platforms.

    The seed is the first four bytes of ``SHA-256("emoconvey|<purpose>|<base>|<system>|
    <intent>|<index>")``, masked to 31 bits (every library accepts it). ``purpose``
    separates the model's sampling seed (``"generate"``) from the crop's (``"crop"``).
    """
    key = f"emoconvey|{purpose}|{int(base_seed)}|{system}|{intent}|{int(index)}"
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "big") & 0x7FFFFFFF


@dataclass(frozen=True)
class CropWindow:
    """Where a crop lies in a clip, in samples (``end`` exclusive)."""

    start: int
    end: int
    sample_rate: int

    @property
    def start_s(self) -> float:
        return self.start / self.sample_rate

    @property
    def end_s(self) -> float:
        return self.end / self.sample_rate


def check_crop_fits(seconds: float, crop: float) -> None:
    """Raise when a ``crop`` cannot fit the 15-85 % window of a ``seconds``-long clip."""
    if not (math.isfinite(crop) and crop > 0):
        raise EmoconveyError(f"--crop: expected a positive number of seconds, got {crop}")
    if not (math.isfinite(seconds) and seconds > 0):
        raise EmoconveyError(f"--seconds: expected a positive number of seconds, got {seconds}")
    window = (WINDOW[1] - WINDOW[0]) * seconds
    if crop > window + 1e-9:
        raise EmoconveyError(
            f"--crop: {crop:g} s is longer than the 15-85 % window of a {seconds:g} s clip "
            f"({window:g} s); use --crop {window:g} or less, or --seconds "
            f"{crop / (WINDOW[1] - WINDOW[0]):.3g} or more"
        )


def crop_start(n_samples: int, sample_rate: int, crop: float, seed: int, *,
               name: str = "clip") -> CropWindow:
    """Draw the crop of one clip.

    Parameters
    ----------
    n_samples : int
        Length of the full clip in samples.
    sample_rate : int
        Its sample rate in Hz.
    crop : float
        Crop length in seconds.
    seed : int
        The clip's crop seed (:func:`derive_seed` with ``purpose="crop"``).
    name : str
        The file, for the error message.

    Raises
    ------
    EmoconveyError
        When the clip is too short for the crop to lie between the 15 % and 85 % marks,
        naming the file and its length.
    """
    length = round(crop * sample_rate)
    lo_pct, hi_pct = (round(100 * w) for w in WINDOW)  # exact integer arithmetic
    lo = -(-lo_pct * n_samples // 100)
    hi = hi_pct * n_samples // 100 - length
    if length <= 0 or hi < lo:
        seconds = n_samples / sample_rate if sample_rate else 0.0
        raise EmoconveyError(
            f"{name}: {seconds:.2f} s is too short for a {crop:g} s crop between the 15 % and "
            f"85 % marks (needs at least {crop / (WINDOW[1] - WINDOW[0]):.2f} s)"
        )
    start = int(np.random.default_rng(seed).integers(lo, hi + 1))
    return CropWindow(start=start, end=start + length, sample_rate=sample_rate)


def crop_audio(audio: np.ndarray, window: CropWindow) -> np.ndarray:
    """The ``(channels, samples)`` segment of ``audio`` under ``window``."""
    return audio[:, window.start : window.end]


def output_flags(audio: np.ndarray, sample_rate: int, requested_seconds: float | None
                 ) -> list[str]:
    """Quality flags of one full clip for the manifest's ``flags`` column.

    ``nan`` (non-finite samples, replaced by 0 before writing), ``near_silent`` (RMS below
    -60 dBFS), ``clipped`` (peak at full scale), ``shorter_than_asked`` (more than one
    sample period shorter than requested).
    """
    flags = []
    flat = audio.reshape(-1)
    peak = float(np.max(np.abs(flat))) if flat.size else 0.0
    if not np.isfinite(peak):  # NaN or inf somewhere: look again without them
        flags.append("nan")
        flat = np.where(np.isfinite(flat), flat, 0.0).astype(np.float32)
        peak = float(np.max(np.abs(flat)))
    rms = math.sqrt(float(np.dot(flat, flat)) / flat.size) if flat.size else 0.0
    if rms < SILENCE_RMS:
        flags.append("near_silent")
    if peak >= CLIP_LEVEL:
        flags.append("clipped")
    asked = None if requested_seconds is None else round(requested_seconds * sample_rate)
    if asked is not None and audio.shape[-1] < asked - 1:
        flags.append("shorter_than_asked")
    return flags


def relpath(system: str, intent: str, index: int, *, full: bool = False) -> Path:
    """Relative path of a clip in the output folder (release layout)."""
    top = "full" if full else "music_clips"
    return Path(top) / system / f"{system}_{intent}_{int(index)}.wav"
