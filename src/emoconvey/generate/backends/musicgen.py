"""MusicGen (Copet et al., 2023) through transformers' ``MusicgenForConditionalGeneration``.

Length. MusicGen predicts EnCodec tokens at ``model.config.audio_encoder.frame_rate``
frames per second (50 Hz for the released checkpoints, 32 kHz audio), so ``seconds``
maps to ``max_new_tokens = ceil(seconds * frame_rate) + num_codebooks`` (the delay
pattern costs one step per extra codebook) and the decoded audio is cut to exactly
``round(seconds * sample_rate)`` samples.

Sampling and seeds. The published recipe samples (``do_sample=True``, top-k 250,
temperature 1) with classifier-free guidance 3. ``generate`` draws all samples of a
batch from the one global torch random stream, so an item's tokens would depend on
which other items share its batch. This backend keeps the same distribution but gives
every item its own ``torch.Generator`` seeded with the item's seed, through the
Gumbel-max trick (Gumbel, 1954; Maddison et al., 2014): after guidance, top-k and
temperature, each row's log-probabilities get i.i.d. Gumbel noise drawn from that
item's generator and the arg-max is taken, which is an exact draw from
``softmax(scores)``. Hence batch size and batch composition do not change which
token is drawn; only floating-point rounding of batched matrix products can differ, and
with ``sequential=True`` (one item per call) not even that.
"""

from __future__ import annotations

import copy
import functools
import logging
import math
from collections.abc import Sequence
from typing import Any, ClassVar

from emoconvey.errors import EmoconveyError
from emoconvey.generate.backends import _torch
from emoconvey.generate.backends.base import GeneratedAudio, GenerationRequest

__all__ = ["MusicGenBackend"]

logger = logging.getLogger(__name__)


class MusicGenBackend(_torch.TorchBackend):
    """Meta's MusicGen text-to-music model (transformers).

    Options
    -------
    guidance_scale : float, default 3.0
        Classifier-free guidance weight.
    top_k : int, default from the checkpoint's generation config (250)
    temperature : float, default from the checkpoint's generation config (1.0)
    dtype : {"auto", "float32", "float16", "bfloat16"}, default "auto"
        ``"auto"``: float16 on CUDA (MusicGen is released and commonly run in half
        precision), float32 elsewhere.
    sequential : bool, default False
        Generate one item per call; bit-identical results whatever the batch size.
    """

    name: ClassVar[str] = "musicgen"
    requires: ClassVar[tuple[str, ...]] = ("torch", "transformers")
    default_checkpoint: ClassVar[str | None] = "facebook/musicgen-medium"
    native_sample_rate: ClassVar[int | None] = 32000
    max_seconds: ClassVar[float | None] = None
    description: ClassVar[str] = (
        "MusicGen via transformers (sampling, top-k 250, guidance 3; 32 kHz mono)"
    )

    allowed_options: ClassVar[frozenset[str]] = frozenset(
        {"guidance_scale", "top_k", "temperature", "dtype", "sequential"})
    _processor: Any = None  # set by _load

    def _load(self, resolved: _torch.ResolvedCheckpoint) -> None:
        from transformers import AutoProcessor, MusicgenForConditionalGeneration

        def _load() -> tuple[Any, Any]:
            processor = AutoProcessor.from_pretrained(resolved.source)
            model = MusicgenForConditionalGeneration.from_pretrained(
                resolved.source, **_torch.dtype_kwargs("transformers", self._dtype)
            )
            return processor, model

        self._processor, model = self._load_or_explain(_load, resolved)
        self._model = model.to(self._device).eval()
        self._revision = resolved.revision or str(getattr(model.config, "_commit_hash", "") or "")

    # -- generation ---------------------------------------------------------------------

    def _settings(self) -> dict[str, Any]:
        gen = self._model.generation_config
        top_k = self.options.get("top_k", gen.top_k if gen.top_k is not None else 250)
        temperature = self.options.get(
            "temperature", gen.temperature if gen.temperature is not None else 1.0
        )
        settings = {
            "guidance_scale": float(self.options.get("guidance_scale", 3.0)),
            "top_k": int(top_k or 0),
            "temperature": float(temperature),
        }
        if not settings["temperature"] > 0:
            raise EmoconveyError(
                f"backend {self.name!r}: option temperature must be > 0, got {temperature!r}"
            )
        if settings["top_k"] < 0:
            raise EmoconveyError(f"backend {self.name!r}: option top_k must be >= 0, got {top_k!r}")
        return settings

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GeneratedAudio]:
        if self._model is None:
            raise EmoconveyError(f"backend {self.name!r}: call load() before generate()")
        if not requests:
            return []
        if len({r.seconds for r in requests}) != 1:
            # one max_new_tokens per call: split by length, keep the order
            out: list[GeneratedAudio | None] = [None] * len(requests)
            for seconds in dict.fromkeys(r.seconds for r in requests):
                idx = [i for i, r in enumerate(requests) if r.seconds == seconds]
                for i, clip in zip(idx, self.generate([requests[i] for i in idx]), strict=True):
                    out[i] = clip
            return [c for c in out if c is not None]
        if self.options.get("sequential", False) and len(requests) > 1:
            return [clip for r in requests for clip in self.generate([r])]
        return self._generate_batch(requests)

    def _generate_batch(self, requests: Sequence[GenerationRequest]) -> list[GeneratedAudio]:
        import torch

        settings = self._settings()
        config = self._model.config
        frame_rate = float(config.audio_encoder.frame_rate)
        sample_rate = int(config.audio_encoder.sampling_rate)
        num_codebooks = int(self._model.decoder.num_codebooks)
        seconds = float(requests[0].seconds)
        if not seconds > 0:
            raise EmoconveyError(f"backend {self.name!r}: seconds must be > 0, got {seconds}")
        max_new_tokens = math.ceil(seconds * frame_rate) + num_codebooks
        n_samples = round(seconds * sample_rate)

        gen_config = copy.deepcopy(self._model.generation_config)
        gen_config.do_sample = False  # the arg-max over Gumbel-perturbed scores samples
        gen_config.top_k = None
        gen_config.top_p = None
        gen_config.temperature = None
        gen_config.guidance_scale = settings["guidance_scale"]
        gen_config.max_new_tokens = max_new_tokens
        gen_config.max_length = None

        generators = _torch.item_generators([r.seed for r in requests], self._device)
        processors = _cfg_first(
            [_PerItemGumbelSampler(generators, settings["top_k"], settings["temperature"])]
        )
        inputs = self._processor(
            text=[r.prompt for r in requests], padding=True, return_tensors="pt"
        ).to(self._device)
        with (
            _torch.oom_guard(batch_size=len(requests), device=self._device, backend=self.name),
            torch.inference_mode(),
        ):
            audio = self._model.generate(
                **inputs, generation_config=gen_config, logits_processor=processors
            )
        audio = audio.float().cpu().numpy()  # (batch, channels, samples)
        params = {
            "do_sample": True,
            "sampling": "per-item Gumbel-max (exact categorical draw)",
            **settings,
            "max_new_tokens": max_new_tokens,
            "frame_rate": frame_rate,
            "dtype": str(self._dtype).removeprefix("torch."),
        }
        out = []
        for row in audio:
            clip = _torch.as_channels_first(row)
            flags = []
            if clip.shape[1] < n_samples:
                flags.append("shorter_than_asked")
            out.append(
                GeneratedAudio(
                    audio=clip[:, :n_samples].copy(), sample_rate=sample_rate,
                    params=dict(params), flags=flags,
                )
            )
        return out



@functools.cache
def _cfg_first_list_class() -> type:
    from transformers import ClassifierFreeGuidanceLogitsProcessor, LogitsProcessorList

    class CFGFirstList(LogitsProcessorList):
        """A processor list where MusicGen's guidance step goes first.

        ``MusicgenForConditionalGeneration.generate`` appends its classifier-free guidance
        processor to the caller's list; it must run before the sampler, which expects the
        guided (un-doubled) batch.
        """

        def append(self, processor: Any) -> None:
            if isinstance(processor, ClassifierFreeGuidanceLogitsProcessor):
                self.insert(0, processor)
            else:
                super().append(processor)

    return CFGFirstList


def _cfg_first(processors: list[Any]) -> Any:
    """A ``LogitsProcessorList`` of ``processors`` that puts guidance in front."""
    return _cfg_first_list_class()(processors)


class _PerItemGumbelSampler:
    """Top-k, temperature, then Gumbel noise from each item's own generator.

    ``scores`` has ``batch * num_codebooks`` rows (MusicGen flattens the codebooks into
    the batch axis), item ``i`` owning rows ``i*K .. i*K+K-1``. The arg-max of
    ``log_softmax(scores / T) + G`` with ``G ~ Gumbel(0, 1)`` i.i.d. is a draw from
    ``softmax(scores / T)`` restricted to the top k.
    """

    def __init__(self, generators: list[Any], top_k: int, temperature: float) -> None:
        self.generators = generators
        self.top_k = top_k
        self.temperature = temperature

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        n_items = len(self.generators)
        rows, vocab = scores.shape
        if rows != input_ids.shape[0] or rows % n_items:
            raise EmoconveyError(
                f"musicgen: unexpected logits of shape {tuple(scores.shape)} for {n_items} "
                "item(s); this transformers version orders generation steps differently"
            )
        per_item = rows // n_items
        scores = scores.float()
        if self.temperature != 1.0:
            scores = scores / self.temperature
        if 0 < self.top_k < vocab:
            kth = torch.topk(scores, self.top_k, dim=-1).values[..., -1:]
            scores = scores.masked_fill(scores < kth, float("-inf"))
        logp = torch.log_softmax(scores, dim=-1)
        noise = torch.cat(
            [
                torch.empty((per_item, vocab), dtype=torch.float32, device=g.device)
                .exponential_(generator=g)
                .log()
                .neg()
                for g in self.generators
            ]
        ).to(logp.device)
        return logp + noise
