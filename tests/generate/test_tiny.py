"""Tiny checkpoints: unknown names are refused; the same seed gives the same weights."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")

from emoconvey.errors import EmoconveyError
from emoconvey.generate.tiny import TINY_BACKENDS, build_tiny_checkpoint


def _digest(folder: str) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(folder).rglob("*.safetensors"))
    }


def test_unknown_backend(tmp_path) -> None:
    with pytest.raises(EmoconveyError, match="unknown backend 'bark'; expected one of musicgen"):
        build_tiny_checkpoint("bark", tmp_path)
    assert "stable-audio" in TINY_BACKENDS


def test_same_seed_same_weights(tmp_path) -> None:
    a = build_tiny_checkpoint("stable-audio", tmp_path / "a", seed=1)
    b = build_tiny_checkpoint("stable-audio", tmp_path / "b", seed=1)
    c = build_tiny_checkpoint("stable-audio", tmp_path / "c", seed=2)
    assert _digest(a) and _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)
    assert (Path(a) / "model_index.json").is_file()


def test_leaves_global_rng_alone(tmp_path) -> None:
    import torch

    torch.manual_seed(0)
    want = torch.rand(2)
    torch.manual_seed(0)
    build_tiny_checkpoint("stable-audio", tmp_path)
    assert torch.equal(torch.rand(2), want)
