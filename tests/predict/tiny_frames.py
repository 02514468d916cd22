"""Tiny randomly initialised MERT-like (HuBERT) and RoBERTa models saved locally, for tests."""

from __future__ import annotations

from pathlib import Path

from tiny_clap import tiny_roberta_tokenizer


def build_tiny_mert(folder: Path, *, seed: int = 0) -> Path:
    """A tiny ``HubertModel`` + ``Wav2Vec2FeatureExtractor`` (8 kHz) in ``folder``.

    MERT is a HuBERT-style model; the m-a-p checkpoints only add their own code on top.
    """
    import torch
    from transformers import HubertConfig, HubertModel, Wav2Vec2FeatureExtractor

    folder.mkdir(parents=True, exist_ok=True)
    config = HubertConfig(
        hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
        conv_dim=(8, 8), conv_stride=(5, 4), conv_kernel=(10, 4), num_conv_pos_embeddings=8,
        num_conv_pos_embedding_groups=2, feat_extract_norm="layer", do_stable_layer_norm=True,
    )
    torch.manual_seed(seed)
    HubertModel(config).save_pretrained(folder, safe_serialization=True)
    Wav2Vec2FeatureExtractor(sampling_rate=8000, do_normalize=True).save_pretrained(folder)
    return folder


def build_tiny_roberta(folder: Path, *, seed: int = 0) -> Path:
    """A tiny ``RobertaModel`` + tokenizer in ``folder`` (token-level text features)."""
    import torch
    from transformers import RobertaConfig, RobertaModel

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = tiny_roberta_tokenizer()
    config = RobertaConfig(vocab_size=len(tokenizer.get_vocab()), hidden_size=12,
                           num_hidden_layers=1, num_attention_heads=2, intermediate_size=24,
                           max_position_embeddings=40, pad_token_id=1)
    torch.manual_seed(seed)
    RobertaModel(config).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder
