"""Mustango adapter, with a fake ``mustango`` module standing in for the real package."""

from __future__ import annotations

import sys
import types
from typing import ClassVar

import numpy as np
import pytest

pytest.importorskip("torch")

import torch
from backend_testing import assert_clip, go_offline, hide_module, requests

from emoconvey.errors import EmoconveyError
from emoconvey.generate.backends.base import BackendUnavailableError
from emoconvey.generate.backends.mustango import MustangoBackend

RATE = 16000


class FakeMustango:
    """Mimics mustango.Mustango: 10 s of int16 PCM at 16 kHz from the global torch RNG."""

    instances: ClassVar[list[FakeMustango]] = []

    def __init__(self, name: str = "declare-lab/mustango", device: str = "cuda:0") -> None:
        self.name = name
        self.device = device
        self.calls: list[tuple[str, int, float]] = []
        FakeMustango.instances.append(self)

    def generate(self, prompt, steps=100, guidance=3, samples=1, disable_progress=True):
        self.calls.append((prompt, steps, guidance))
        wave = torch.rand(10 * RATE) * 2 - 1  # global stream, as the real sampler
        return (wave.numpy() * 32767).astype(np.int16)


@pytest.fixture
def fake_mustango(monkeypatch: pytest.MonkeyPatch) -> type[FakeMustango]:
    module = types.ModuleType("mustango")
    module.Mustango = FakeMustango  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mustango", module)
    FakeMustango.instances.clear()
    return FakeMustango


@pytest.fixture
def backend(fake_mustango, tmp_path) -> MustangoBackend:
    b = MustangoBackend(str(tmp_path), device="cpu", steps=20, guidance=2.5)
    b.load()
    return b


def test_class_attributes() -> None:
    assert MustangoBackend.name == "mustango"
    assert MustangoBackend.default_checkpoint == "declare-lab/mustango"
    assert MustangoBackend.native_sample_rate == 16000
    assert MustangoBackend.max_seconds == 10.0


def test_loads_through_the_package_api(backend, fake_mustango, tmp_path) -> None:
    (model,) = fake_mustango.instances
    assert model.name == str(tmp_path)
    assert model.device == "cpu"


def test_thirty_seconds_asked_gives_ten_and_records_it(backend, fake_mustango) -> None:
    clips = backend.generate(requests(30.0, [1, 2]))
    for clip in clips:
        assert_clip(clip, seconds=10.0, rate=RATE, channels=1)
        assert clip.flags == ["native_length_10s"]
        assert clip.params["native_seconds"] == 10.0
        assert clip.params["asked_seconds"] == 30.0
        assert clip.params["steps"] == 20 and clip.params["guidance"] == 2.5
        assert np.abs(clip.audio).max() <= 1.0
    assert fake_mustango.instances[0].calls[0] == ("happy, instrumental", 20, 2.5)


def test_shorter_request_is_cut_without_flag(backend) -> None:
    clip = backend.generate(requests(4.0, [1]))[0]
    assert_clip(clip, seconds=4.0, rate=RATE, channels=1)
    assert clip.flags == []


def test_int16_is_scaled_to_unit_range(backend) -> None:
    clip = backend.generate(requests(10.0, [3]))[0]
    with torch.random.fork_rng():
        torch.manual_seed(3)
        want = ((torch.rand(10 * RATE) * 2 - 1).numpy() * 32767).astype(np.int16)
    np.testing.assert_array_equal(clip.audio[0], want.astype(np.float32) / 32768)


def test_seeds_reproduce_differ_and_leave_global_rng_alone(backend) -> None:
    torch.manual_seed(5)
    expected_next = torch.rand(2)
    torch.manual_seed(5)
    a = backend.generate(requests(10.0, [7, 8]))
    np.testing.assert_array_equal(torch.rand(2).numpy(), expected_next.numpy())
    b = backend.generate(requests(10.0, [8]))
    np.testing.assert_array_equal(a[1].audio, b[0].audio)
    assert not np.array_equal(a[0].audio, a[1].audio)


def test_repository_class_name_is_accepted(monkeypatch, tmp_path) -> None:
    module = types.ModuleType("mustango")
    module.MusTango = FakeMustango  # type: ignore[attr-defined]  # the repo's spelling
    monkeypatch.setitem(sys.modules, "mustango", module)
    b = MustangoBackend(str(tmp_path))
    b.load()
    assert b.generate(requests(1.0, [1]))[0].audio.shape == (1, RATE)


def test_not_installed_says_how_to_install(monkeypatch) -> None:
    hide_module(monkeypatch, "mustango")
    with pytest.raises(BackendUnavailableError) as e:
        MustangoBackend().load()
    msg = str(e.value)
    assert "git clone https://github.com/AMAAI-Lab/mustango" in msg
    assert "separate environment" in msg
    assert "not on PyPI" in msg


def test_module_without_the_class(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "mustango", types.ModuleType("mustango"))
    with pytest.raises(BackendUnavailableError, match="has no Mustango class"):
        MustangoBackend().load()


def test_offline_uncached_checkpoint(fake_mustango, monkeypatch, tmp_path) -> None:
    go_offline(monkeypatch, tmp_path / "hub")
    with pytest.raises(BackendUnavailableError, match="huggingface-cli download declare-lab"):
        MustangoBackend().load()
    assert fake_mustango.instances == []


def test_info_and_options(backend) -> None:
    info = backend.info()
    assert info["versions"]["mustango"] == ""  # the fake is not an installed distribution
    assert "torch" in info["versions"]
    with pytest.raises(EmoconveyError, match="unknown option"):
        MustangoBackend(None, guidance_scale=3)
