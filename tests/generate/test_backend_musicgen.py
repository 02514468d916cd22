"""MusicGen backend on a tiny random checkpoint (real transformers loading code, CPU)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from backend_testing import (
    assert_clip,
    go_offline,
    hide_module,
    one_torch_thread,  # noqa: F401 - autouse fixture
    requests,
)

from emoconvey.errors import EmoconveyError
from emoconvey.generate.backends._torch import GenerationOOMError
from emoconvey.generate.backends.base import BackendUnavailableError
from emoconvey.generate.backends.musicgen import MusicGenBackend
from emoconvey.generate.tiny import TINY_SAMPLE_RATES, build_tiny_checkpoint

RATE = TINY_SAMPLE_RATES["musicgen"]
SECONDS = 0.2  # 10 frames at 50 Hz


@pytest.fixture(scope="session")
def musicgen_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_tiny_checkpoint("musicgen", tmp_path_factory.mktemp("tiny-musicgen"))


@pytest.fixture(scope="session")
def backend(musicgen_dir: str) -> MusicGenBackend:
    b = MusicGenBackend(musicgen_dir, device="cpu")
    b.load()
    return b


def test_class_attributes() -> None:
    assert MusicGenBackend.name == "musicgen"
    assert MusicGenBackend.extra == "generate"
    assert MusicGenBackend.default_checkpoint == "facebook/musicgen-medium"
    assert MusicGenBackend.native_sample_rate == 32000
    assert MusicGenBackend().checkpoint == "facebook/musicgen-medium"


def test_length_rate_channels_and_params(backend: MusicGenBackend) -> None:
    clips = backend.generate(requests(SECONDS, [1, 2]))
    assert len(clips) == 2
    for clip in clips:
        assert_clip(clip, seconds=SECONDS, rate=RATE, channels=1)
        assert clip.flags == []
        # 50 Hz frame rate: ceil(0.2 * 50) frames + one step per extra codebook (2 codebooks)
        assert clip.params["max_new_tokens"] == 10 + 2
        assert clip.params["guidance_scale"] == 3.0
        assert clip.params["do_sample"] is True
        assert clip.params["top_k"] == 20  # from the checkpoint's generation config
        assert clip.params["dtype"] == "float32"
    assert np.abs(clips[0].audio).max() > 0


def test_seeds_reproduce_and_differ(backend: MusicGenBackend) -> None:
    a = backend.generate(requests(SECONDS, [7]))[0].audio
    b = backend.generate(requests(SECONDS, [7]))[0].audio
    c = backend.generate(requests(SECONDS, [8]))[0].audio
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_batch_equals_singles(backend: MusicGenBackend) -> None:
    """Each item samples from its own generator: batching changes only rounding."""
    reqs = requests(SECONDS, [11, 12, 13])
    batch = backend.generate(reqs)
    # the same batch again (what a resumed or Ray run regenerates) is bit-identical
    for got, want in zip(backend.generate(reqs), batch, strict=True):
        np.testing.assert_array_equal(got.audio, want.audio)
    singles = [backend.generate([r])[0] for r in reqs]
    reordered = backend.generate([reqs[2], reqs[0]])
    for got, want in zip(batch, singles, strict=True):
        np.testing.assert_allclose(got.audio, want.audio, rtol=0, atol=1e-5)
    np.testing.assert_allclose(reordered[0].audio, singles[2].audio, rtol=0, atol=1e-5)
    np.testing.assert_allclose(reordered[1].audio, singles[0].audio, rtol=0, atol=1e-5)


def test_sequential_is_bit_identical_to_singles(
    backend: MusicGenBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    reqs = requests(SECONDS, [21, 22])
    singles = [backend.generate([r])[0].audio for r in reqs]
    monkeypatch.setitem(backend.options, "sequential", True)
    batch = backend.generate(reqs)
    for got, want in zip(batch, singles, strict=True):
        np.testing.assert_array_equal(got.audio, want)


def test_mixed_lengths_keep_order(backend: MusicGenBackend, monkeypatch) -> None:
    sizes = []
    batch = backend._generate_batch

    def spy(reqs):
        sizes.append(len(reqs))
        return batch(reqs)

    monkeypatch.setattr(backend, "_generate_batch", spy)
    reqs = [*requests(0.1, [1]), *requests(SECONDS, [2]), *requests(0.1, [3])]
    clips = backend.generate(reqs)
    assert [c.audio.shape[1] for c in clips] == [80, 160, 80]
    assert sizes == [2, 1]  # one call per length


def test_info_versions(backend: MusicGenBackend, musicgen_dir: str) -> None:
    info = backend.info()
    assert info["checkpoint"] == musicgen_dir
    assert info["revision"] == ""
    assert info["device"] == "cpu"
    import torch
    import transformers

    assert info["versions"]["torch"] == torch.__version__.split("+")[0] or info["versions"][
        "torch"
    ].startswith(torch.__version__.split("+")[0])
    assert info["versions"]["transformers"] == transformers.__version__


def test_oom_suggests_half_batch(backend: MusicGenBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    def boom(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(backend._model, "generate", boom)
    with pytest.raises(GenerationOOMError, match=r"batch of 4 clip\(s\); try --batch-size 2") as e:
        backend.generate(requests(SECONDS, [1, 2, 3, 4]))
    assert e.value.suggested_batch_size == 2
    with pytest.raises(GenerationOOMError, match="already one clip") as e:
        backend.generate(requests(SECONDS, [1]))
    assert e.value.suggested_batch_size is None
    assert isinstance(e.value, EmoconveyError)


def test_offline_missing_checkpoint(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    go_offline(monkeypatch, tmp_path / "hub")
    b = MusicGenBackend("facebook/musicgen-medium")
    with pytest.raises(BackendUnavailableError) as e:
        b.load()
    msg = str(e.value)
    assert "not in the Hugging Face cache" in msg
    assert str(tmp_path / "hub") in msg
    assert "huggingface-cli download facebook/musicgen-medium" in msg


def test_revision_from_cache_snapshot(monkeypatch: pytest.MonkeyPatch, tmp_path, musicgen_dir):
    """A hub id found in the cache loads offline and records the snapshot's commit hash."""
    import shutil

    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--acme--tiny-musicgen"
    shutil.copytree(musicgen_dir, repo / "snapshots" / commit)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    go_offline(monkeypatch, tmp_path / "hub")
    b = MusicGenBackend("acme/tiny-musicgen")
    b.load()
    assert b.info()["revision"] == commit
    assert_clip(b.generate(requests(0.1, [1]))[0], seconds=0.1, rate=RATE, channels=1)


def test_incomplete_cache_snapshot(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    commit = "89abcdef0123456789abcdef0123456789abcdef"
    repo = tmp_path / "hub" / "models--acme--half"
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "snapshots" / commit / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    go_offline(monkeypatch, tmp_path / "hub")
    with pytest.raises(BackendUnavailableError, match="download may be incomplete") as e:
        MusicGenBackend("acme/half").load()
    assert "huggingface-cli download acme/half" in str(e.value)


def test_missing_local_folder(tmp_path) -> None:
    with pytest.raises(BackendUnavailableError, match="does not exist or is not a folder"):
        MusicGenBackend(str(tmp_path / "nope")).load()


def test_unreadable_local_folder(tmp_path) -> None:
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(BackendUnavailableError, match="cannot load the checkpoint in"):
        MusicGenBackend(str(tmp_path)).load()


def test_missing_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_module(monkeypatch, "transformers")
    with pytest.raises(BackendUnavailableError, match=r'pip install "emoconvey\[generate\]"'):
        MusicGenBackend("facebook/musicgen-medium").load()


def test_bad_options_and_use_before_load() -> None:
    with pytest.raises(EmoconveyError, match="unknown option"):
        MusicGenBackend(None, top_p=0.9)
    with pytest.raises(EmoconveyError, match="call load"):
        MusicGenBackend(None).generate(requests(1.0, [1]))
    with pytest.raises(EmoconveyError, match="dtype"):
        b = MusicGenBackend("x/y", dtype="int8")
        from emoconvey.generate.backends import _torch

        _torch.torch_dtype(b.options["dtype"], _torch.torch_device("cpu"))


def test_bad_temperature(backend: MusicGenBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(backend.options, "temperature", 0)
    with pytest.raises(EmoconveyError, match="temperature must be > 0"):
        backend.generate(requests(SECONDS, [1]))


def test_gumbel_sampler_draws_from_the_top_k_softmax() -> None:
    """Arg-max of the perturbed scores is a draw from softmax(scores / T) over the top k."""
    import torch
    from scipy import stats

    from emoconvey.generate.backends._torch import item_generators
    from emoconvey.generate.backends.musicgen import _PerItemGumbelSampler

    scores = torch.tensor([[2.0, 1.0, 0.5, -1.0, 0.0], [0.0, 0.3, -0.2, 1.5, 1.0]])
    top_k, temperature, n = 3, 0.7, 4000
    sampler = _PerItemGumbelSampler(item_generators([1], torch.device("cpu")), top_k, temperature)
    ids = torch.zeros((2, 1), dtype=torch.long)  # one item, two codebooks
    draws = torch.stack([sampler(ids, scores).argmax(-1) for _ in range(n)])  # (n, 2)
    for row in range(2):
        kept = torch.topk(scores[row], top_k).indices
        probs = torch.zeros(5)
        probs[kept] = torch.softmax(scores[row, kept] / temperature, -1)
        counts = torch.bincount(draws[:, row], minlength=5)
        assert counts[probs == 0].sum() == 0  # never outside the top k
        expected = probs[kept].double().numpy()
        chi = stats.chisquare(counts[kept].numpy(), expected / expected.sum() * n)
        assert chi.pvalue > 1e-3


def test_unavailable_cuda(musicgen_dir: str) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(BackendUnavailableError, match="sees no CUDA device"):
        MusicGenBackend(musicgen_dir, device="cuda").load()
