"""Stable Audio Open backend on a tiny random pipeline (real diffusers loading code, CPU)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")
pytest.importorskip("torchsde")

from backend_testing import (
    assert_clip,
    go_offline,
    hide_module,
    one_torch_thread,  # noqa: F401 - autouse fixture
    requests,
)

from emoconvey.errors import EmoconveyError
from emoconvey.generate.backends.base import BackendUnavailableError
from emoconvey.generate.backends.stable_audio import StableAudioBackend
from emoconvey.generate.tiny import TINY_SAMPLE_RATES, build_tiny_checkpoint

RATE = TINY_SAMPLE_RATES["stable-audio"]  # 64 Hz; the tiny window is 256 * 2 / 64 = 8 s

pytestmark = pytest.mark.filterwarnings("ignore:Should have:UserWarning")  # torchsde, tiny sigmas


@pytest.fixture(scope="session")
def stable_audio_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_tiny_checkpoint("stable-audio", tmp_path_factory.mktemp("tiny-stable-audio"))


@pytest.fixture(scope="session")
def backend(stable_audio_dir: str) -> StableAudioBackend:
    b = StableAudioBackend(stable_audio_dir, num_inference_steps=2)
    b.load()
    return b


def test_class_attributes() -> None:
    assert StableAudioBackend.name == "stable-audio"
    assert StableAudioBackend.default_checkpoint == "stabilityai/stable-audio-open-1.0"
    assert StableAudioBackend.native_sample_rate == 44100
    assert StableAudioBackend.max_seconds == pytest.approx(1024 * 2048 / 44100, abs=0.01)


def test_stereo_trimmed_to_the_asked_length_and_flagged(backend: StableAudioBackend) -> None:
    assert backend.window_seconds() == 8.0
    clips = backend.generate(requests(1.0, [1, 2]))
    for clip in clips:
        assert_clip(clip, seconds=1.0, rate=RATE, channels=2)
        assert clip.flags == ["trimmed_padding"]
        assert clip.params["audio_end_in_s"] == 1.0
        assert clip.params["window_s"] == 8.0
        # the tiny VAE decodes the window to 511 samples (one short of 256 * 2): 447 cut
        assert clip.params["trimmed_s"] == pytest.approx(447 / 64, abs=1e-4)
        assert clip.params["guidance_scale"] == 7.0
        assert clip.params["num_inference_steps"] == 2


def test_full_window_is_not_flagged(backend: StableAudioBackend) -> None:
    # 511 samples at 64 Hz, the whole decoded window
    clip = backend.generate(requests(511 / 64, [1]))[0]
    assert clip.audio.shape == (2, 511)
    assert clip.flags == []


def test_longer_than_window_is_an_error(backend: StableAudioBackend) -> None:
    with pytest.raises(EmoconveyError, match=r"at most 8\.00 s per clip; use --seconds 8"):
        backend.generate(requests(9.0, [1]))


def test_seeds_reproduce_differ_and_batch_equals_singles(backend: StableAudioBackend) -> None:
    reqs = requests(1.0, [5, 6])
    batch = backend.generate(reqs)
    for got, want in zip(backend.generate(reqs), batch, strict=True):
        np.testing.assert_array_equal(got.audio, want.audio)
    singles = [backend.generate([r])[0] for r in reqs]
    np.testing.assert_array_equal(singles[0].audio, backend.generate([reqs[0]])[0].audio)
    assert not np.array_equal(singles[0].audio, singles[1].audio)
    assert not np.array_equal(
        singles[0].audio, backend.generate(requests(1.0, [77]))[0].audio
    )
    for got, want in zip(batch, singles, strict=True):
        np.testing.assert_allclose(got.audio, want.audio, rtol=0, atol=1e-4)


def test_offline_missing_checkpoint(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    go_offline(monkeypatch, tmp_path / "hub")
    with pytest.raises(BackendUnavailableError) as e:
        StableAudioBackend().load()
    assert "huggingface-cli download stabilityai/stable-audio-open-1.0" in str(e.value)
    assert str(tmp_path / "hub") in str(e.value)


def test_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_module(monkeypatch, "torchsde")
    with pytest.raises(BackendUnavailableError, match=r"torchsde.*emoconvey\[generate\]"):
        StableAudioBackend().load()
