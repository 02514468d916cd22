"""Generic diffusers / transformers backends on tiny checkpoints (CPU)."""

from __future__ import annotations

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
from emoconvey.generate.backends.base import BackendUnavailableError
from emoconvey.generate.backends.generic import DiffusersBackend, TransformersBackend
from emoconvey.generate.tiny import TINY_SAMPLE_RATES, build_tiny_checkpoint


@pytest.fixture(scope="session")
def diffusers_backend(tmp_path_factory: pytest.TempPathFactory) -> DiffusersBackend:
    folder = build_tiny_checkpoint("diffusers", tmp_path_factory.mktemp("tiny-diffusers"))
    b = DiffusersBackend(folder, num_inference_steps=2, guidance_scale=2.5)
    b.load()
    return b


@pytest.fixture(scope="session")
def transformers_backend(tmp_path_factory: pytest.TempPathFactory) -> TransformersBackend:
    folder = build_tiny_checkpoint("transformers", tmp_path_factory.mktemp("tiny-transformers"))
    b = TransformersBackend(folder, guidance_scale=3.0)
    b.load()
    return b


def test_diffusers_reads_rate_and_length_argument(diffusers_backend: DiffusersBackend) -> None:
    rate = TINY_SAMPLE_RATES["diffusers"]
    assert diffusers_backend.default_checkpoint is None
    clips = diffusers_backend.generate(requests(0.125, [1, 2]))
    for clip in clips:
        assert_clip(clip, seconds=0.125, rate=rate, channels=1)
        assert clip.params["audio_length_in_s"] == pytest.approx(0.135)  # whole mel frames
        assert clip.params["guidance_scale"] == 2.5
        assert clip.params["pipeline"] == "AudioLDM2Pipeline"  # picked from model_index.json
    single = diffusers_backend.generate(requests(0.125, [1]))[0].audio
    np.testing.assert_array_equal(single, diffusers_backend.generate(requests(0.125, [1]))[0].audio)
    scale = np.abs(single).max()
    np.testing.assert_allclose(clips[0].audio, single, rtol=0, atol=1e-4 * scale)
    assert not np.array_equal(clips[0].audio, clips[1].audio)


def test_diffusers_sample_rate_option_and_missing_rate(diffusers_backend, monkeypatch) -> None:
    monkeypatch.setitem(diffusers_backend.options, "sample_rate", 22050)
    assert diffusers_backend._read_sample_rate(diffusers_backend._pipe) == 22050

    class Bare:
        pass

    monkeypatch.delitem(diffusers_backend.options, "sample_rate")
    with pytest.raises(BackendUnavailableError, match="pass the option sample_rate=HZ"):
        diffusers_backend._read_sample_rate(Bare())


def test_diffusers_needs_a_checkpoint() -> None:
    with pytest.raises(BackendUnavailableError, match="no checkpoint given"):
        DiffusersBackend().load()


def test_transformers_pipeline(transformers_backend: TransformersBackend) -> None:
    rate = TINY_SAMPLE_RATES["transformers"]
    reqs = requests(0.2, [3, 4])
    clips = transformers_backend.generate(reqs)
    for clip in clips:
        assert_clip(clip, seconds=0.2, rate=rate, channels=1)
        assert clip.params["max_new_tokens"] == 12  # 0.2 s * 50 Hz + 2 codebooks
        assert clip.params["do_sample"] is True
    # one item at a time under its own seed: batch composition cannot matter
    alone = transformers_backend.generate([reqs[1]])[0].audio
    np.testing.assert_array_equal(clips[1].audio, alone)
    assert not np.array_equal(clips[0].audio, clips[1].audio)


def test_transformers_leaves_global_rng_alone(transformers_backend: TransformersBackend) -> None:
    import torch

    torch.manual_seed(123)
    want = torch.rand(3)
    torch.manual_seed(123)
    transformers_backend.generate(requests(0.1, [9]))
    np.testing.assert_array_equal(torch.rand(3).numpy(), want.numpy())


def test_offline_and_missing_extra(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    go_offline(monkeypatch, tmp_path / "hub")
    with pytest.raises(BackendUnavailableError, match="huggingface-cli download acme/t2a"):
        TransformersBackend("acme/t2a").load()
    with pytest.raises(BackendUnavailableError, match="huggingface-cli download acme/t2a"):
        DiffusersBackend("acme/t2a").load()
    hide_module(monkeypatch, "torch")
    with pytest.raises(BackendUnavailableError, match=r'pip install "emoconvey\[generate\]"'):
        TransformersBackend("acme/t2a").load()


def test_unknown_options() -> None:
    with pytest.raises(EmoconveyError, match="unknown option"):
        TransformersBackend("x/y", top_k=3)
    with pytest.raises(EmoconveyError, match="unknown option"):
        DiffusersBackend("x/y", eta=0.3)


@pytest.mark.filterwarnings("ignore:Should have:UserWarning")
def test_diffusers_with_a_stable_audio_checkpoint(tmp_path) -> None:
    """Pipelines that take ``audio_end_in_s`` get it; the VAE config gives the rate."""
    pytest.importorskip("torchsde")
    folder = build_tiny_checkpoint("stable-audio", tmp_path / "sa")
    b = DiffusersBackend(folder, num_inference_steps=2)
    b.load()
    clip = b.generate(requests(2.0, [1]))[0]
    assert_clip(clip, seconds=2.0, rate=TINY_SAMPLE_RATES["stable-audio"], channels=2)
    assert clip.params["audio_end_in_s"] == 2.0
    assert clip.params["pipeline"] == "StableAudioPipeline"


def test_backend_modules_import_without_torch() -> None:
    """The heavy libraries load only inside load(): listing backends stays cheap."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import emoconvey.generate.backends.musicgen, emoconvey.generate.backends.audioldm2\n"
        "import emoconvey.generate.backends.stable_audio, emoconvey.generate.backends.mustango\n"
        "import emoconvey.generate.backends.generic, emoconvey.generate.tiny\n"
        "heavy = {'torch', 'transformers', 'diffusers'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
