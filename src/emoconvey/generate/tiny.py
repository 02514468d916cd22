"""Tiny randomly initialised checkpoints for tests and benchmarks.

:func:`build_tiny_checkpoint` saves, in a local folder, a checkpoint with the same
architecture and file layout as a real one (``save_pretrained``), only with a few
hundred parameters per block and a tokenizer built from a small vocabulary. The
backends then load it with their real ``from_pretrained`` code, so tests and
``benchmarks/generation.py`` exercise everything but the weights, with no download.
Building any of them takes a few seconds on one CPU core.

The configurations follow the dummy components of the libraries' own test suites
(diffusers ``tests/pipelines/audioldm2``, ``tests/pipelines/stable_audio``; transformers
``tests/models/musicgen``), with sample rates chosen so that a clip of a second or two
stays cheap: the audio is noise, not music.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from emoconvey.errors import EmoconveyError

__all__ = ["TINY_BACKENDS", "TINY_OPTIONS", "TINY_SAMPLE_RATES", "build_tiny_checkpoint"]

logger = logging.getLogger(__name__)

#: Backends :func:`build_tiny_checkpoint` can build a checkpoint for.
TINY_BACKENDS = ("musicgen", "audioldm2", "stable-audio", "diffusers", "transformers")

#: Native sample rate (Hz) of each tiny checkpoint.
TINY_SAMPLE_RATES = {
    "musicgen": 800,
    "audioldm2": 1600,
    "stable-audio": 64,
    "diffusers": 1600,
    "transformers": 800,
}

#: Backend options that keep a tiny checkpoint fast (two denoising steps instead of 200);
#: the tiny MusicGen's own generation config already says top-k 20.
TINY_OPTIONS: dict[str, dict[str, int]] = {
    "musicgen": {},
    "audioldm2": {"num_inference_steps": 2},
    "stable-audio": {"num_inference_steps": 2},
    "diffusers": {"num_inference_steps": 2},
    "transformers": {},
}

# Words the tiny tokenizers know as whole pieces (the AImoclips intents and the prompt
# template); every other lower-case text falls back to single letters.
_WORDS = (
    "instrumental", "happy", "excited", "joyful", "delighted", "tense", "angry",
    "frustrated", "afraid", "sad", "depressed", "bored", "tired", "calm", "relaxed",
    "content", "serene", "peaceful", "music", "a", "the", "of",
)
_LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789,.'-"


def build_tiny_checkpoint(backend: str, folder: str | Path, *, seed: int = 0) -> str:
    """Build and save a tiny randomly initialised checkpoint for ``backend``.

    Parameters
    ----------
    backend : str
        One of :data:`TINY_BACKENDS`: ``"musicgen"`` (and ``"transformers"``, the same
        model for the generic ``text-to-audio`` pipeline), ``"audioldm2"`` (and
        ``"diffusers"``, the same pipeline loaded through ``DiffusionPipeline``) or
        ``"stable-audio"``.
    folder : str or Path
        Where to save; created if missing. Existing files of the same names are replaced.
    seed : int
        Seed of the random initial weights: the same seed gives the same weights.

    Returns
    -------
    str
        The folder, as a string, ready for ``Backend(checkpoint=...)``.

    Raises
    ------
    EmoconveyError
        For an unknown ``backend``.
    BackendUnavailableError
        When torch, transformers or diffusers are not installed.
    """
    if backend not in TINY_BACKENDS:
        raise EmoconveyError(
            f"build_tiny_checkpoint: unknown backend {backend!r}; expected one of "
            f"{', '.join(TINY_BACKENDS)}"
        )
    from emoconvey.generate.backends._torch import require_modules

    require_modules(("torch", "transformers", "diffusers"), backend=backend)
    import torch

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if backend in ("musicgen", "transformers"):
            _build_musicgen(out)
        elif backend in ("audioldm2", "diffusers"):
            _build_audioldm2(out)
        else:
            _build_stable_audio(out)
    logger.info("built a tiny %s checkpoint in %s", backend, out)
    return str(out)


def _t5_tokenizer(model_max_length: int = 32) -> Any:
    """A T5 (Unigram, metaspace) tokenizer over :data:`_WORDS` and single letters."""
    from transformers import T5Tokenizer

    vocab: list[tuple[str, float]] = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [("\u2581" + w, -2.0) for w in _WORDS]
    vocab += [("\u2581", -3.0)]
    vocab += [(c, -5.0) for c in _LETTERS]
    return T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=model_max_length)


def _roberta_tokenizer(model_max_length: int = 32) -> Any:
    """A byte-level BPE (RoBERTa) tokenizer with a letter vocabulary and no merges."""
    from transformers import RobertaTokenizer

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    vocab = {tok: i for i, tok in enumerate(specials)}
    for ch in _LETTERS + "\u0120":  # \u0120 is the byte-level form of a space
        vocab.setdefault(ch, len(vocab))
    return RobertaTokenizer(vocab=vocab, merges=[], model_max_length=model_max_length)


def _build_musicgen(out: Path) -> None:
    from transformers import (
        EncodecConfig,
        EncodecFeatureExtractor,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        MusicgenProcessor,
        T5Config,
    )

    tokenizer = _t5_tokenizer()
    text = T5Config(
        vocab_size=len(tokenizer), d_model=16, d_ff=32, d_kv=4, num_heads=2, num_layers=1,
        pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
    )
    # frame rate ceil(800 / (4*4)) = 50 Hz; 1000*0.6 // (50 * log2(64)) = 2 codebooks
    audio = EncodecConfig(
        sampling_rate=800, audio_channels=1, target_bandwidths=[0.6], upsampling_ratios=[4, 4],
        hidden_size=8, num_filters=2, num_residual_layers=1, num_lstm_layers=1,
        codebook_size=64, codebook_dim=8, chunk_length_s=None, overlap=None,
    )
    decoder = MusicgenDecoderConfig(
        vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, ffn_dim=32,
        max_position_embeddings=512, num_codebooks=audio.num_quantizers, audio_channels=1,
        pad_token_id=64, bos_token_id=64, decoder_start_token_id=64,
    )
    config = MusicgenConfig(text_encoder=text, audio_encoder=audio, decoder=decoder)
    model = MusicgenForConditionalGeneration(config)
    # EnCodec initialises its codebooks to zeros (they are learnt by k-means): give them
    # random entries so that different tokens decode to different audio
    import torch

    with torch.no_grad():
        for layer in model.audio_encoder.quantizer.layers:
            layer.codebook.embed.normal_()
            layer.codebook.embed_avg.copy_(layer.codebook.embed)
    model.generation_config.decoder_start_token_id = 64
    model.generation_config.pad_token_id = 64
    model.generation_config.bos_token_id = 64
    model.generation_config.do_sample = True
    model.generation_config.guidance_scale = 3.0
    model.generation_config.max_length = 1500
    model.generation_config.top_k = 20
    model.save_pretrained(out)
    extractor = EncodecFeatureExtractor(feature_size=1, sampling_rate=800)
    MusicgenProcessor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(out)


def _build_audioldm2(out: Path) -> None:
    from diffusers import (
        AudioLDM2Pipeline,
        AudioLDM2ProjectionModel,
        AudioLDM2UNet2DConditionModel,
        AutoencoderKL,
        DDIMScheduler,
    )
    from transformers import (
        ClapAudioConfig,
        ClapConfig,
        ClapFeatureExtractor,
        ClapModel,
        ClapTextConfig,
        GPT2Config,
        GPT2LMHeadModel,
        SpeechT5HifiGan,
        SpeechT5HifiGanConfig,
        T5Config,
        T5EncoderModel,
    )

    unet = AudioLDM2UNet2DConditionModel(
        block_out_channels=(8, 16), layers_per_block=1, sample_size=16, in_channels=4,
        out_channels=4, norm_num_groups=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=([None, 16, 16], [None, 16, 16]), attention_head_dim=4,
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        clip_sample=False, set_alpha_to_one=False,
    )
    vae = AutoencoderKL(
        block_out_channels=[8, 16], in_channels=1, out_channels=1, norm_num_groups=4,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"], latent_channels=4,
    )
    tokenizer = _roberta_tokenizer()
    text_cfg = ClapTextConfig(
        bos_token_id=0, eos_token_id=2, pad_token_id=1, vocab_size=len(tokenizer),
        hidden_size=16, intermediate_size=32, num_attention_heads=2, num_hidden_layers=1,
        projection_dim=16, max_position_embeddings=40,
    )
    audio_cfg = ClapAudioConfig(
        spec_size=16, window_size=4, num_mel_bins=16, intermediate_size=32, depths=[1, 1],
        num_attention_heads=[2, 2], num_hidden_layers=2, hidden_size=32, projection_dim=16,
        patch_size=2, patch_stride=2, patch_embeds_hidden_size=8,
    )
    text_encoder = ClapModel(
        ClapConfig(text_config=text_cfg.to_dict(), audio_config=audio_cfg.to_dict(),
                   projection_dim=16)
    )
    feature_extractor = ClapFeatureExtractor(feature_size=16, sampling_rate=1600, hop_length=790)
    tokenizer_2 = _t5_tokenizer()
    text_encoder_2 = T5EncoderModel(
        T5Config(vocab_size=len(tokenizer_2), d_model=16, d_ff=32, d_kv=4, num_heads=2,
                 num_layers=1, pad_token_id=0, eos_token_id=1)
    )
    language_model = GPT2LMHeadModel(
        GPT2Config(n_embd=16, n_head=2, n_layer=1, vocab_size=64, n_ctx=64, n_positions=64)
    ).transformer
    language_model.config.max_new_tokens = 4
    projection_model = AudioLDM2ProjectionModel(
        text_encoder_dim=16, text_encoder_1_dim=16, langauge_model_dim=16
    )
    # 8 mel bins (model_in_dim); hop 4*4 = 16 samples per mel frame,
    # 100 frames per second at 1.6 kHz (the real model: hop 160 at 16 kHz, also 100 per second)
    vocoder = SpeechT5HifiGan(
        SpeechT5HifiGanConfig(
            model_in_dim=8, sampling_rate=1600, upsample_initial_channel=8,
            upsample_rates=[4, 4], upsample_kernel_sizes=[8, 8], resblock_kernel_sizes=[3],
            resblock_dilation_sizes=[[1, 3]], normalize_before=False,
        )
    )
    pipe = AudioLDM2Pipeline(
        vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2,
        projection_model=projection_model, language_model=language_model,
        tokenizer=tokenizer, tokenizer_2=tokenizer_2, feature_extractor=feature_extractor,
        unet=unet, scheduler=scheduler, vocoder=vocoder,
    )
    pipe.save_pretrained(out)


def _build_stable_audio(out: Path) -> None:
    from diffusers import (
        AutoencoderOobleck,
        CosineDPMSolverMultistepScheduler,
        StableAudioDiTModel,
        StableAudioPipeline,
        StableAudioProjectionModel,
    )
    from transformers import T5Config, T5EncoderModel

    # window = sample_size * hop / sampling_rate = 256 * 2 / 64 = 8 s
    transformer = StableAudioDiTModel(
        sample_size=256, in_channels=3, num_layers=1, attention_head_dim=4,
        num_attention_heads=2, num_key_value_attention_heads=2, out_channels=3,
        cross_attention_dim=8, time_proj_dim=8, global_states_input_dim=8,
        cross_attention_input_dim=4,
    )
    scheduler = CosineDPMSolverMultistepScheduler(
        solver_order=2, prediction_type="v_prediction", sigma_data=1.0,
        sigma_schedule="exponential",
    )
    vae = AutoencoderOobleck(
        encoder_hidden_size=6, downsampling_ratios=[1, 2], decoder_channels=3,
        decoder_input_channels=3, audio_channels=2, channel_multiples=[2, 4], sampling_rate=64,
    )
    tokenizer = _t5_tokenizer()
    text_encoder = T5EncoderModel(
        T5Config(vocab_size=len(tokenizer), d_model=8, d_ff=16, d_kv=4, num_heads=2,
                 num_layers=1, pad_token_id=0, eos_token_id=1)
    )
    projection_model = StableAudioProjectionModel(
        text_encoder_dim=8, conditioning_dim=4, min_value=0, max_value=32
    )
    pipe = StableAudioPipeline(
        vae=vae, text_encoder=text_encoder, projection_model=projection_model,
        tokenizer=tokenizer, transformer=transformer, scheduler=scheduler,
    )
    pipe.save_pretrained(out)
