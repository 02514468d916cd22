"""Stable Audio Open (Evans et al., 2025) through diffusers' ``StableAudioPipeline``.

The model always denoises its full window (``transformer.config.sample_size`` latent
frames: 47.55 s at 44.1 kHz stereo for ``stabilityai/stable-audio-open-1.0``), is told
the wanted length through its ``seconds_end`` conditioning, and fills the rest of the
window with near-silence. This backend conditions on the asked length, decodes the
whole window and keeps the first ``round(seconds * 44100)`` samples; whenever the window
was longer it flags the clip ``trimmed_padding`` and records the window and the cut
length in the parameters. Lengths beyond the window are an error.

Seeds: each item's initial noise comes from its own ``torch.Generator``; the sampler
(``CosineDPMSolverMultistepScheduler``, an SDE solver) draws its Brownian noise from
one tree per item seeded with that generator's seed, so batching changes an item only
by floating-point rounding. That scheduler needs ``torchsde`` (in the ``generate``
extra). Defaults follow the model card: 200 steps, guidance 7.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from emoconvey.errors import EmoconveyError
from emoconvey.generate.backends.generic import DiffusersBackend

__all__ = ["StableAudioBackend"]


class StableAudioBackend(DiffusersBackend):
    """Stable Audio Open text-to-audio (diffusers ``StableAudioPipeline``).

    Options are those of :class:`~emoconvey.generate.backends.generic.DiffusersBackend`
    (``num_inference_steps`` 200, ``guidance_scale`` 7, ``negative_prompt``,
    ``dtype``, ``sequential``).
    """

    name: ClassVar[str] = "stable-audio"
    requires: ClassVar[tuple[str, ...]] = ("torch", "transformers", "diffusers", "torchsde")
    default_checkpoint: ClassVar[str | None] = "stabilityai/stable-audio-open-1.0"
    native_sample_rate: ClassVar[int | None] = 44100
    max_seconds: ClassVar[float | None] = 47.55
    description: ClassVar[str] = (
        "Stable Audio Open via diffusers (200 steps, guidance 7; 44.1 kHz stereo, <= 47 s)"
    )
    pipeline_class: ClassVar[str] = "StableAudioPipeline"
    default_options: ClassVar[dict[str, Any]] = {
        "num_inference_steps": 200,
        "guidance_scale": 7.0,
    }

    def window_seconds(self) -> float:
        """Length of the model's window in seconds (what it generates before trimming)."""
        if self._pipe is None:
            raise EmoconveyError(f"backend {self.name!r}: call load() before window_seconds()")
        pipe = self._pipe
        samples = pipe.transformer.config.sample_size * pipe.vae.hop_length
        return float(samples / pipe.vae.config.sampling_rate)

    def _generate_batch(self, requests: Sequence[Any]) -> list[Any]:
        window = self.window_seconds()
        seconds = float(requests[0].seconds)
        if seconds > window + 1e-9:
            raise EmoconveyError(
                f"backend {self.name!r}: {seconds:g} s asked for but this checkpoint makes at "
                f"most {window:.2f} s per clip; use --seconds {int(window)} or less"
            )
        return super()._generate_batch(requests)

    def _run(
        self, prompts: list[str], seconds: float, kwargs: dict[str, Any]
    ) -> tuple[Sequence[Any], list[str], dict[str, Any]]:
        # decode the whole window ourselves (output_type="latent") so that the cut is
        # ours, in samples, and we can tell what was thrown away
        output = self._pipe(prompt=prompts, output_type="latent", **kwargs)
        latents = output.audios
        audio = self._pipe.vae.decode(latents).sample  # (batch, channels, window samples)
        window = self.window_seconds()
        n_samples = round(seconds * self._sample_rate)
        flags: list[str] = []
        params: dict[str, Any] = {"window_s": round(window, 4)}
        if audio.shape[-1] > n_samples:
            flags.append("trimmed_padding")
            params["trimmed_s"] = round((audio.shape[-1] - n_samples) / self._sample_rate, 4)
        return list(audio.float().cpu().numpy()), flags, params
