"""A tiny randomly initialised CLAP model saved locally (no download), for the tests."""

from __future__ import annotations

from pathlib import Path

_WORDS = ["calm", "happy", "sad", "angry", "piano", "music", "fast", "slow", "a", "the"]


def tiny_roberta_tokenizer():
    """A character-level RoBERTa tokenizer over the letters of a few words."""
    from transformers import RobertaTokenizerFast

    chars = sorted({c for w in _WORDS for c in w})
    vocab = {t: i for i, t in enumerate(["<s>", "<pad>", "</s>", "<unk>", "<mask>"])}
    for tok in [*chars, *(f"\u0120{c}" for c in chars), "\u0120"]:
        vocab.setdefault(tok, len(vocab))
    return RobertaTokenizerFast(vocab=vocab, merges=[], model_max_length=32)


def build_tiny_clap(folder: Path, *, seed: int = 0) -> Path:
    """Save a tiny ``ClapModel`` + ``ClapProcessor`` in ``folder`` and return it."""
    import torch
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel, ClapProcessor

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = tiny_roberta_tokenizer()
    text_config = {
        "vocab_size": len(tokenizer.get_vocab()), "hidden_size": 16, "num_hidden_layers": 1,
        "num_attention_heads": 2, "intermediate_size": 32, "max_position_embeddings": 40,
        "projection_dim": 8, "initializer_range": 0.5,
    }
    audio_config = {
        "depths": [1, 1], "num_attention_heads": [1, 1], "hidden_size": 16,
        "patch_embeds_hidden_size": 8, "window_size": 4, "spec_size": 64,
        "num_mel_bins": 16, "patch_stride": [4, 4], "projection_dim": 8,
        "enable_fusion": False,
    }
    config = ClapConfig(text_config=text_config, audio_config=audio_config, projection_dim=8)
    torch.manual_seed(seed)
    model = ClapModel(config)
    fe = ClapFeatureExtractor(
        feature_size=16, sampling_rate=8000, hop_length=160, max_length_s=2,
        fft_window_size=512, frequency_min=50, frequency_max=4000, truncation="rand_trunc",
        padding="repeatpad",
    )
    ClapProcessor(feature_extractor=fe, tokenizer=tokenizer).save_pretrained(folder)
    model.save_pretrained(folder, safe_serialization=True)
    return folder
