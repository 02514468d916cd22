"""Generic backends: any diffusers or transformers text-to-audio checkpoint.

* :class:`DiffusersBackend` loads any diffusers text-to-audio pipeline with
  ``DiffusionPipeline.from_pretrained`` (AudioLDM, AudioLDM 2, MusicLDM, Stable Audio,
  ...). The sample rate comes from the pipeline's vocoder (``vocoder.config.
  sampling_rate``) or its VAE (``vae.config.sampling_rate``); the length is passed
  as ``audio_length_in_s`` (AudioLDM family) or ``audio_end_in_s`` (Stable Audio),
  whichever the pipeline accepts. Every item gets its own ``torch.Generator`` seeded
  with its seed, so batching does not change which noise an item starts from.
  :class:`~emoconvey.generate.backends.audioldm2.AudioLDM2Backend` and
  :class:`~emoconvey.generate.backends.stable_audio.StableAudioBackend` are this class
  with the model's own defaults.
* :class:`TransformersBackend` uses transformers' common entry point,
  ``pipeline("text-to-audio", model=...)`` (MusicGen, Bark, VITS/MMS-TTS...). Its
  sampling draws from the global torch random stream, so items are generated one at a
  time under ``torch.manual_seed(seed)`` (inside ``torch.random.fork_rng``: the
  caller's random state is left untouched), which makes each clip depend on its seed
  only.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from emoconvey.errors import EmoconveyError
from emoconvey.generate.backends import _torch
from emoconvey.generate.backends.base import (
    BackendUnavailableError,
    GeneratedAudio,
    GenerationRequest,
)

__all__ = ["DiffusersBackend", "TransformersBackend"]

logger = logging.getLogger(__name__)


def _group_by_seconds(
    requests: Sequence[GenerationRequest], run: Any
) -> list[GeneratedAudio]:
    """Call ``run(batch)`` once per distinct length, returning clips in request order."""
    out: list[GeneratedAudio | None] = [None] * len(requests)
    for seconds in dict.fromkeys(r.seconds for r in requests):
        if not (isinstance(seconds, int | float) and math.isfinite(seconds) and seconds > 0):
            raise EmoconveyError(f"seconds must be a finite number > 0, got {seconds!r}")
        idx = [i for i, r in enumerate(requests) if r.seconds == seconds]
        for i, clip in zip(idx, run([requests[i] for i in idx]), strict=True):
            out[i] = clip
    return [c for c in out if c is not None]


def _fit_length(audio: np.ndarray, n_samples: int, flags: list[str]) -> np.ndarray:
    """Cut to ``n_samples``; flag ``shorter_than_asked`` when the model gave fewer."""
    if audio.shape[1] < n_samples:
        flags.append("shorter_than_asked")
        return audio
    return np.ascontiguousarray(audio[:, :n_samples])


def _pipeline_class_name(source: str, default: str) -> str:
    index = Path(source) / "model_index.json"
    if index.is_file():
        try:
            return str(json.loads(index.read_text(encoding="utf-8")).get("_class_name", default))
        except (OSError, ValueError):
            return default
    return default


def _component_overrides(source: str, pipeline_class: str, dtype: Any) -> dict[str, Any]:
    """Components to load by hand because the saved class no longer fits the pipeline.

    AudioLDM 2 checkpoints (``cvssp/audioldm2*``) save their language model as
    ``GPT2Model``; diffusers' pipeline calls generation helpers
    (``_update_model_kwargs_for_generation``) that transformers 5 only gives to
    ``GPT2LMHeadModel``. Loading the same weights as ``GPT2LMHeadModel`` (its base model
    is the saved ``GPT2Model``; the language-model head is unused) restores them.
    """
    name = _pipeline_class_name(source, pipeline_class)
    if name != "AudioLDM2Pipeline":
        return {}
    from transformers import GPT2LMHeadModel, GPT2Model

    if hasattr(GPT2Model, "_update_model_kwargs_for_generation"):
        return {}
    model = GPT2LMHeadModel.from_pretrained(
        source, subfolder="language_model", **_torch.dtype_kwargs("transformers", dtype)
    )
    return {"language_model": model}


class DiffusersBackend(_torch.TorchBackend):
    """Any diffusers text-to-audio pipeline (``DiffusionPipeline.from_pretrained``).

    Options
    -------
    num_inference_steps : int
        Denoising steps (default: the pipeline's own default).
    guidance_scale : float
        Classifier-free guidance (default: the pipeline's own default).
    negative_prompt : str
        Passed to every item when given.
    dtype : {"auto", "float32", "float16", "bfloat16"}, default "auto"
        ``"auto"``: float16 on CUDA, float32 elsewhere.
    sample_rate : int
        Only for pipelines whose rate cannot be read from a vocoder or VAE config.
    sequential : bool, default False
        One item per pipeline call: bit-identical results whatever the batch size (a
        batched call differs from single calls only by floating-point rounding).
    """

    name: ClassVar[str] = "diffusers"
    requires: ClassVar[tuple[str, ...]] = ("torch", "transformers", "diffusers")
    default_checkpoint: ClassVar[str | None] = None
    native_sample_rate: ClassVar[int | None] = None
    max_seconds: ClassVar[float | None] = None
    description: ClassVar[str] = (
        "any diffusers text-to-audio pipeline (DiffusionPipeline.from_pretrained)"
    )
    #: diffusers class used to load (``DiffusionPipeline`` picks it from model_index.json)
    pipeline_class: ClassVar[str] = "DiffusionPipeline"
    #: options the subclasses fill in when the user gives none
    default_options: ClassVar[dict[str, Any]] = {}
    versioned: ClassVar[tuple[str, ...]] = ("diffusers", "transformers")
    allowed_options: ClassVar[frozenset[str]] = frozenset({
        "num_inference_steps", "guidance_scale", "negative_prompt", "dtype", "sample_rate",
        "sequential",
    })

    def __init__(
        self, checkpoint: str | None = None, *, device: str = "cpu", **options: Any
    ) -> None:
        super().__init__(checkpoint, device=device, **options)
        self._pipe: Any = None
        self._sample_rate = 0
        self._call_params: set[str] = set()

    # -- loading --------------------------------------------------------------------------

    def _load(self, resolved: _torch.ResolvedCheckpoint) -> None:
        import diffusers

        cls = getattr(diffusers, self.pipeline_class)

        def _load() -> Any:
            overrides = _component_overrides(resolved.source, self.pipeline_class, self._dtype)
            with warnings.catch_warnings():
                # diffusers >= 0.36 prefers dtype= but older versions only know torch_dtype=
                warnings.filterwarnings("ignore", message=".*torch_dtype.*")
                return cls.from_pretrained(
                    resolved.source, **_torch.dtype_kwargs("diffusers", self._dtype), **overrides
                )

        pipe = self._load_or_explain(_load, resolved).to(self._device)
        pipe.set_progress_bar_config(disable=True)
        self._pipe = pipe
        self._sample_rate = self._read_sample_rate(pipe)
        self._call_params = set(inspect.signature(pipe.__call__).parameters)
        logger.info(
            "%s: loaded %s (%s) on %s, %d Hz", self.name, self.checkpoint,
            type(pipe).__name__, self._device, self._sample_rate,
        )

    def _read_sample_rate(self, pipe: Any) -> int:
        if self.options.get("sample_rate"):
            return int(self.options["sample_rate"])
        for component in ("vocoder", "vae"):
            module = getattr(pipe, component, None)
            rate = getattr(getattr(module, "config", None), "sampling_rate", None)
            if rate:
                return int(rate)
        raise BackendUnavailableError(
            f"backend {self.name!r}: cannot tell the sample rate of {type(pipe).__name__} "
            "(no vocoder or VAE config with sampling_rate); pass the option sample_rate=HZ"
        )

    # -- generation -----------------------------------------------------------------------

    def _option(self, key: str) -> Any:
        return self.options.get(key, self.default_options.get(key))

    def _call_kwargs(self, seconds: float) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        if "audio_length_in_s" in self._call_params:
            kwargs["audio_length_in_s"] = self._frame_aligned_length(seconds)
        elif "audio_end_in_s" in self._call_params:
            kwargs["audio_end_in_s"] = seconds
        for key in ("num_inference_steps", "guidance_scale"):
            value = self._option(key)
            if value is not None and key in self._call_params:
                kwargs[key] = value
        return kwargs

    def _frame_aligned_length(self, seconds: float) -> float:
        """``audio_length_in_s`` that yields at least ``round(seconds * rate)`` samples.

        The AudioLDM family turns the length into ``int(seconds / frame)`` mel frames
        (``frame = prod(vocoder.upsample_rates) / rate``, 10 ms for the released models),
        which drops a partial frame: 0.125 s gives 12 frames, 1,920 of 2,000 samples. Asking
        for the whole number of frames that covers the request, plus half a frame against
        rounding, gives enough samples; the surplus is cut afterwards.
        """
        vocoder = getattr(self._pipe, "vocoder", None)
        rates = getattr(getattr(vocoder, "config", None), "upsample_rates", None)
        if not rates:
            return seconds
        hop = int(np.prod(rates))
        frames = math.ceil(round(seconds * self._sample_rate) / hop)
        # the pipelines refuse fewer mel frames than the VAE's downsampling factor
        frames = max(frames, int(getattr(self._pipe, "vae_scale_factor", 1) or 1))
        return (frames + 0.5) * hop / self._sample_rate

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GeneratedAudio]:
        if self._pipe is None:
            raise EmoconveyError(f"backend {self.name!r}: call load() before generate()")
        if not requests:
            return []
        if self.options.get("sequential", False) and len(requests) > 1:
            return [clip for r in requests for clip in self.generate([r])]
        return _group_by_seconds(requests, self._generate_batch)

    def _generate_batch(self, requests: Sequence[GenerationRequest]) -> list[GeneratedAudio]:
        import torch

        seconds = float(requests[0].seconds)
        if self.max_seconds is not None and seconds > self.max_seconds:
            raise EmoconveyError(
                f"backend {self.name!r}: {seconds:g} s asked for but the model makes at most "
                f"{self.max_seconds:g} s per clip"
            )
        kwargs = self._call_kwargs(seconds)
        negative = self._option("negative_prompt")
        if negative is not None and "negative_prompt" in self._call_params:
            kwargs["negative_prompt"] = [str(negative)] * len(requests)
        if "generator" in self._call_params:
            kwargs["generator"] = _torch.item_generators([r.seed for r in requests], self._device)
        with (
            _torch.oom_guard(batch_size=len(requests), device=self._device, backend=self.name),
            torch.inference_mode(),
        ):
            audios, extra_flags, extra_params = self._run(
                [r.prompt for r in requests], seconds, kwargs
            )
        n_samples = round(seconds * self._sample_rate)
        params = {
            **{k: v for k, v in kwargs.items() if k not in ("generator", "negative_prompt")},
            **({"negative_prompt": str(negative)} if "negative_prompt" in kwargs else {}),
            "pipeline": type(self._pipe).__name__,
            "dtype": str(self._dtype).removeprefix("torch."),
            **extra_params,
        }
        out = []
        for audio in audios:
            flags = list(extra_flags)
            clip = _fit_length(_torch.as_channels_first(audio), n_samples, flags)
            out.append(
                GeneratedAudio(
                    audio=clip, sample_rate=self._sample_rate, params=dict(params), flags=flags
                )
            )
        return out

    def _run(
        self, prompts: list[str], seconds: float, kwargs: dict[str, Any]
    ) -> tuple[Sequence[Any], list[str], dict[str, Any]]:
        """Call the pipeline; return one waveform per prompt plus flags and parameters."""
        output = self._pipe(prompt=prompts, **kwargs)
        audios = output.audios
        if len(audios) != len(prompts):
            raise EmoconveyError(
                f"backend {self.name!r}: {type(self._pipe).__name__} returned {len(audios)} "
                f"waveform(s) for {len(prompts)} prompt(s)"
            )
        return list(audios), [], {}



class TransformersBackend(_torch.TorchBackend):
    """Any transformers text-to-audio model through ``pipeline("text-to-audio")``.

    Options
    -------
    dtype : {"auto", "float32", "float16", "bfloat16"}, default "auto"
    do_sample : bool, default True
    guidance_scale : float, optional
        Passed to ``generate`` when given (MusicGen: 3).
    max_new_tokens : int, optional
        Overrides the length computed from ``seconds`` (models without an audio encoder
        frame rate, e.g. Bark, need it or make their own length).
    """

    name: ClassVar[str] = "transformers"
    requires: ClassVar[tuple[str, ...]] = ("torch", "transformers")
    default_checkpoint: ClassVar[str | None] = None
    native_sample_rate: ClassVar[int | None] = None
    max_seconds: ClassVar[float | None] = None
    description: ClassVar[str] = (
        'any transformers text-to-audio model (pipeline("text-to-audio"), one item at a time)'
    )

    allowed_options: ClassVar[frozenset[str]] = frozenset(
        {"dtype", "do_sample", "guidance_scale", "max_new_tokens"})
    _pipe: Any = None  # set by _load

    def _load(self, resolved: _torch.ResolvedCheckpoint) -> None:
        from transformers import pipeline

        def _load() -> Any:
            return pipeline(
                "text-to-audio", model=resolved.source, device=self._device,
                **_torch.dtype_kwargs("transformers", self._dtype),
            )

        self._pipe = self._load_or_explain(_load, resolved)

    def _forward_params(self, seconds: float) -> dict[str, Any]:
        params: dict[str, Any] = {"do_sample": bool(self.options.get("do_sample", True))}
        if self.options.get("guidance_scale") is not None:
            params["guidance_scale"] = float(self.options["guidance_scale"])
        config = self._pipe.model.config
        frame_rate = getattr(getattr(config, "audio_encoder", None), "frame_rate", None)
        if self.options.get("max_new_tokens") is not None:
            params["max_new_tokens"] = int(self.options["max_new_tokens"])
        elif frame_rate:
            codebooks = getattr(getattr(self._pipe.model, "decoder", None), "num_codebooks", 1)
            params["max_new_tokens"] = math.ceil(seconds * float(frame_rate)) + int(codebooks)
        return params

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GeneratedAudio]:
        if self._pipe is None:
            raise EmoconveyError(f"backend {self.name!r}: call load() before generate()")
        out = []
        for request in requests:
            seconds = float(request.seconds)
            if not (math.isfinite(seconds) and seconds > 0):
                raise EmoconveyError(f"seconds must be a finite number > 0, got {seconds!r}")
            forward = self._forward_params(seconds)
            with (
                _torch.oom_guard(batch_size=1, device=self._device, backend=self.name),
                _torch.seeded(request.seed, self._device),
            ):
                result = self._pipe(request.prompt, forward_params=forward)
            rate = int(result["sampling_rate"])
            audio = _torch.as_channels_first(np.asarray(result["audio"], dtype=np.float32))
            flags: list[str] = []
            audio = _fit_length(audio, round(seconds * rate), flags)
            params = {
                **forward,
                "pipeline": "text-to-audio",
                "dtype": str(self._dtype).removeprefix("torch."),
                "seeding": "torch.manual_seed(seed) per item",
            }
            out.append(GeneratedAudio(audio=audio, sample_rate=rate, params=params, flags=flags))
        return out


