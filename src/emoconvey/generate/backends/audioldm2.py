"""AudioLDM 2 (Liu et al., 2024) through diffusers' ``AudioLDM2Pipeline``.

The default checkpoint ``cvssp/audioldm2-music`` makes 16 kHz mono audio of any length
given as ``audio_length_in_s``. Each item's initial latent noise comes from its own
``torch.Generator`` seeded with the item's seed, and the DDIM sampler is deterministic
(``eta=0``), so batching changes an item only by floating-point rounding.
Defaults follow the diffusers documentation: 200 denoising steps, guidance 3.5.
"""

from __future__ import annotations

from typing import Any, ClassVar

from emoconvey.generate.backends.generic import DiffusersBackend

__all__ = ["AudioLDM2Backend"]


class AudioLDM2Backend(DiffusersBackend):
    """AudioLDM 2 text-to-music (diffusers ``AudioLDM2Pipeline``).

    Options are those of :class:`~emoconvey.generate.backends.generic.DiffusersBackend`
    (``num_inference_steps`` 200, ``guidance_scale`` 3.5, ``negative_prompt``,
    ``dtype``, ``sequential``).
    """

    name: ClassVar[str] = "audioldm2"
    default_checkpoint: ClassVar[str | None] = "cvssp/audioldm2-music"
    native_sample_rate: ClassVar[int | None] = 16000
    max_seconds: ClassVar[float | None] = None
    description: ClassVar[str] = "AudioLDM 2 via diffusers (200 steps, guidance 3.5; 16 kHz mono)"
    pipeline_class: ClassVar[str] = "AudioLDM2Pipeline"
    default_options: ClassVar[dict[str, Any]] = {
        "num_inference_steps": 200,
        "guidance_scale": 3.5,
    }
