"""AudioLDM 2 backend on a tiny random pipeline (real diffusers loading code, CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("diffusers")

from backend_testing import (
    assert_clip,
    go_offline,
    hide_module,
    one_torch_thread,  # noqa: F401 - autouse fixture
    requests,
)

from emoconvey.errors import EmoconveyError
from emoconvey.generate.backends.audioldm2 import AudioLDM2Backend
from emoconvey.generate.backends.base import BackendUnavailableError
from emoconvey.generate.tiny import TINY_SAMPLE_RATES, build_tiny_checkpoint

RATE = TINY_SAMPLE_RATES["audioldm2"]
SECONDS = 0.125  # 200 samples at 1.6 kHz: 12.5 mel frames of 16 samples


@pytest.fixture(scope="session")
def audioldm2_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_tiny_checkpoint("audioldm2", tmp_path_factory.mktemp("tiny-audioldm2"))


@pytest.fixture(scope="session")
def backend(audioldm2_dir: str) -> AudioLDM2Backend:
    b = AudioLDM2Backend(audioldm2_dir, num_inference_steps=2)
    b.load()
    return b


def test_class_attributes() -> None:
    assert AudioLDM2Backend.name == "audioldm2"
    assert AudioLDM2Backend.default_checkpoint == "cvssp/audioldm2-music"
    assert AudioLDM2Backend.native_sample_rate == 16000
    assert AudioLDM2Backend.default_options == {"num_inference_steps": 200, "guidance_scale": 3.5}


@pytest.mark.parametrize("seconds", [0.01, 0.125, 0.13, 1.0, 2.345])
def test_lengths_that_are_not_whole_frames(backend: AudioLDM2Backend, seconds: float) -> None:
    """The pipeline floors to whole mel frames; the backend asks for enough of them."""
    clip = backend.generate(requests(seconds, [1]))[0]
    assert_clip(clip, seconds=seconds, rate=RATE, channels=1)
    assert clip.flags == []


def test_saved_like_the_hub_checkpoint(audioldm2_dir: str) -> None:
    """The tiny pipeline keeps the hub layout, GPT2Model language model included."""
    index = json.loads((Path(audioldm2_dir) / "model_index.json").read_text())
    assert index["_class_name"] == "AudioLDM2Pipeline"
    assert index["language_model"] == ["transformers", "GPT2Model"]


def test_length_rate_channels_and_params(backend: AudioLDM2Backend) -> None:
    clips = backend.generate(requests(SECONDS, [1, 2]))
    for clip in clips:
        assert_clip(clip, seconds=SECONDS, rate=RATE, channels=1)
        assert clip.flags == []
        # whole frames covering the request, plus half a frame: (13 + 0.5) * 16 / 1600
        assert clip.params["audio_length_in_s"] == pytest.approx(0.135)
        assert clip.params["num_inference_steps"] == 2  # the option beats the default 200
        assert clip.params["guidance_scale"] == 3.5
        assert clip.params["pipeline"] == "AudioLDM2Pipeline"
    assert np.abs(clips[0].audio).max() > 0


def test_seeds_reproduce_differ_and_batch_equals_singles(backend: AudioLDM2Backend) -> None:
    reqs = requests(SECONDS, [5, 6])
    batch = backend.generate(reqs)
    singles = [backend.generate([r])[0] for r in reqs]
    again = backend.generate([reqs[0]])[0]
    np.testing.assert_array_equal(singles[0].audio, again.audio)
    assert not np.array_equal(singles[0].audio, singles[1].audio)
    other_seed = backend.generate(requests(SECONDS, [99]))[0]
    assert not np.array_equal(singles[0].audio, other_seed.audio)
    scale = np.abs(singles[0].audio).max()
    for got, want in zip(batch, singles, strict=True):
        np.testing.assert_allclose(got.audio, want.audio, rtol=0, atol=1e-4 * scale)


def test_negative_prompt_is_used_and_recorded(backend: AudioLDM2Backend, monkeypatch) -> None:
    plain = backend.generate(requests(SECONDS, [3]))[0]
    monkeypatch.setitem(backend.options, "negative_prompt", "low quality")
    neg = backend.generate(requests(SECONDS, [3]))[0]
    assert neg.params["negative_prompt"] == "low quality"
    assert not np.array_equal(plain.audio, neg.audio)


def test_info(backend: AudioLDM2Backend) -> None:
    import diffusers

    info = backend.info()
    assert info["versions"]["diffusers"] == diffusers.__version__
    assert set(info) == {"checkpoint", "revision", "versions", "device"}


def test_offline_missing_checkpoint(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    go_offline(monkeypatch, tmp_path / "hub")
    with pytest.raises(BackendUnavailableError) as e:
        AudioLDM2Backend().load()
    assert str(tmp_path / "hub") in str(e.value)
    assert "huggingface-cli download cvssp/audioldm2-music" in str(e.value)


def test_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_module(monkeypatch, "diffusers")
    with pytest.raises(BackendUnavailableError, match=r'emoconvey\[generate\]') as e:
        AudioLDM2Backend().load()
    assert "diffusers" in str(e.value)


def test_bad_seconds_and_options(backend: AudioLDM2Backend) -> None:
    with pytest.raises(EmoconveyError, match="seconds must be a finite number > 0"):
        backend.generate(requests(0.0, [1]))
    with pytest.raises(EmoconveyError, match="unknown option"):
        AudioLDM2Backend(None, steps=10)
