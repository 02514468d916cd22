"""Helpers shared by the backend tests (tests/generate/test_backend_*.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from emoconvey.generate.backends.base import GeneratedAudio, GenerationRequest

PROMPTS = ("happy, instrumental", "sad, instrumental", "calm, instrumental")


def requests(seconds: float, seeds: list[int], prompts: tuple[str, ...] = PROMPTS):
    """One request per seed, cycling through ``prompts``."""
    return [
        GenerationRequest(prompt=prompts[i % len(prompts)], seconds=seconds, seed=s)
        for i, s in enumerate(seeds)
    ]


def assert_clip(clip: GeneratedAudio, *, seconds: float, rate: int, channels: int) -> None:
    """The contract of :class:`GeneratedAudio`: float32 (channels, samples) at the native rate."""
    assert isinstance(clip.audio, np.ndarray)
    assert clip.audio.dtype == np.float32
    assert clip.sample_rate == rate
    assert clip.audio.shape == (channels, round(seconds * rate))
    assert np.isfinite(clip.audio).all()
    assert clip.audio.flags.c_contiguous
    assert isinstance(clip.params, dict) and isinstance(clip.flags, list)
    json.dumps(clip.params)  # the manifest stores them as JSON


def go_offline(monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    """HF_HUB_OFFLINE=1 with an empty hub cache at ``cache``."""
    from huggingface_hub import constants

    cache.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def hide_module(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Make ``import name`` fail as if the package were not installed."""
    monkeypatch.setitem(sys.modules, name, None)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Run torch on one thread: tiny models spend most of their time in thread hand-offs
    when the CI machine's cores are shared (measured: 5.5 s -> 0.25 s per AudioLDM 2 call)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
