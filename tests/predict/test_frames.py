"""Frame-level extractors (mel-frames, clap-frames, mert, muq), their cache and text tokens."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from tiny_frames import build_tiny_mert, build_tiny_roberta

from emoconvey.errors import EmoconveyError
from emoconvey.predict.extractors import available_extractors, get_extractor
from emoconvey.predict.extractors.frames import (
    FrameExtractor,
    average_frames,
    extract_frame_features,
)
from emoconvey.predict.sequences import Sequences, join_features, pool_frames


@pytest.fixture(scope="module")
def wavs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("wavs")
    rng = np.random.default_rng(0)
    paths = []
    for i, dur in enumerate((1.0, 2.0, 1.5)):
        p = folder / f"s_{i}.wav"
        sf.write(p, (0.1 * rng.normal(size=int(16000 * dur))).astype(np.float32), 16000)
        paths.append(str(p))
    return paths


@pytest.fixture(scope="module")
def tiny_roberta(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_roberta(tmp_path_factory.mktemp("roberta"))


def test_average_frames_and_sequences() -> None:
    frames = np.arange(10, dtype=np.float32)[:, None] * [1, 2]
    out = average_frames(frames, rate=4.0, hop_s=1.0)  # windows of 4, 4, 2 frames
    np.testing.assert_allclose(out[:, 0], [1.5, 5.5, 8.5])
    assert average_frames(frames, rate=2.0, hop_s=0.25) is not None  # size 1: unchanged
    seq = Sequences.from_list([frames[:3], frames[:5], frames[:1]])
    assert seq.data.shape == (3, 5, 2) and seq.lengths.tolist() == [3, 5, 1]
    assert seq.mask.sum() == 9 and (seq.data[2, 1:] == 0).all()
    sub = seq[np.array([0, 2])]
    assert sub.data.shape == (2, 3, 2) and sub.lengths.tolist() == [3, 1]
    np.testing.assert_allclose(seq.pooled()[1], pool_frames(frames[:5]))
    np.testing.assert_allclose(pool_frames(frames[:5])[:2], frames[:5].mean(0))
    text = Sequences.from_list([frames[:2]] * 3)
    joined = join_features(seq, text)
    assert joined.text is text and joined[np.array([1])].text.lengths.tolist() == [2]
    with pytest.raises(EmoconveyError, match="expected 3 rows"):
        seq.with_text(text[np.array([0])])
    with pytest.raises(EmoconveyError, match="one dim"):
        Sequences.from_list([frames, frames[:, :1]])
    np.testing.assert_allclose(join_features(np.ones((2, 2)), np.zeros((2, 1))),
                               [[1, 1, 0], [1, 1, 0]])


def test_mel_frames_cache_and_pooling(wavs: list[str], tmp_path: Path) -> None:
    ext = get_extractor("mel-frames", n_mels=8, hop_s=0.5)
    assert isinstance(ext, FrameExtractor) and "mel-frames" in available_extractors()
    seq, extracted, cached = extract_frame_features(ext, wavs, cache_dir=tmp_path)
    assert (extracted, cached) == (3, 0) and seq.dim == 8
    assert seq.lengths.tolist() == [2, 4, 3]  # 1, 2, 1.5 s in 0.5-s windows (last partial)
    files = list((tmp_path / "frames" / ext.cache_key).iterdir())
    assert sorted(f.suffix for f in files) == [".safetensors"] * 3
    again, extracted, cached = extract_frame_features(ext, wavs, cache_dir=tmp_path)
    assert (extracted, cached) == (0, 3)
    np.testing.assert_array_equal(again.data, seq.data)
    # pooled use: the frames' mean and sd, as any extractor
    np.testing.assert_allclose(ext.extract(wavs[:1]), seq[np.array([0])].pooled(), rtol=1e-5)
    with pytest.raises(EmoconveyError, match="not frames"):
        extract_frame_features(get_extractor("handcrafted"), wavs, cache_dir=tmp_path)
    with pytest.raises(EmoconveyError, match="has no text encoder"):
        ext.embed_text_tokens(["calm"])
    with pytest.raises(EmoconveyError, match="hop_s"):
        get_extractor("mel-frames", hop_s=0)


def test_mert_frames_from_a_tiny_model(wavs: list[str], tmp_path: Path,
                                       tiny_roberta: Path) -> None:
    model = build_tiny_mert(tmp_path / "mert")
    ext = get_extractor("mert", model=str(model), hop_s=0.1, text_model=str(tiny_roberta))
    frames = ext.extract_frames(wavs)
    # HuBERT's convolutions (stride 20) give 400 frames/s at 8 kHz, averaged into 0.1-s windows
    assert [len(f) for f in frames] == [10, 20, 15] and frames[0].shape[1] == 16
    assert np.isfinite(frames[1]).all() and frames[1].std() > 0
    last = get_extractor("mert", model=str(model), hop_s=0.1, layer=2).extract_frames(wavs[:1])
    assert not np.allclose(last[0], frames[0])
    assert ext.cache_key == get_extractor("mert", model=str(model), hop_s=0.1).cache_key
    tokens = ext.embed_text_tokens(["calm piano", "sad"])
    assert [t.shape for t in tokens] == [(12, 12), (5, 12)]  # <s> chars </s>, character level
    np.testing.assert_allclose(ext.embed_texts(["sad"])[0], tokens[1].mean(0), rtol=1e-5)
    with pytest.raises(EmoconveyError, match="cannot load the MERT model"):
        get_extractor("mert", model=str(tmp_path / "missing")).extract_frames(wavs)


def test_clap_frames_with_its_text_tower(wavs: list[str], tiny_clap: Path) -> None:
    ext = get_extractor("clap-frames", model=str(tiny_clap), hop_s=0.01)
    assert ext.supports_text
    frames = ext.extract_frames(wavs[:2])
    # the tiny HTSAT gives 32 time steps per window, averaged over frequency
    assert all(f.shape == (32, 16) for f in frames)
    assert not np.allclose(frames[0], frames[1])
    tokens = ext.embed_text_tokens(["calm piano", "sad"])
    assert [t.shape for t in tokens] == [(12, 16), (5, 16)]


def test_muq_needs_its_package() -> None:
    pytest.importorskip("torch")
    try:
        import muq  # noqa: F401
    except ImportError:
        with pytest.raises(EmoconveyError, match="needs the muq package"):
            get_extractor("muq")
    else:  # pragma: no cover - only where muq is installed
        pytest.skip("muq installed: this test checks the message without it")


def test_muq_loader_with_a_stand_in_package(wavs: list[str], monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    """The muq extractor's own code (loading, layers, windows) with a stand-in ``muq``.

    The real package is not installed here (it pulls torchaudio, nnAudio and x_clip); the
    stand-in has its API: ``MuQ.from_pretrained(name)`` and a forward pass on a
    ``(batch, samples)`` 24 kHz waveform returning ``last_hidden_state`` and
    ``hidden_states`` at 25 frames/s.
    """
    import sys
    import types

    import torch

    class TinyMuQ(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            torch.manual_seed(0)
            self.proj = torch.nn.Linear(960, 6)
            self.deeper = torch.nn.Linear(6, 6)

        @classmethod
        def from_pretrained(cls, name: str) -> TinyMuQ:
            if name != "tiny":
                raise OSError(f"{name} not found")
            return cls()

        def forward(self, wavs: torch.Tensor, output_hidden_states: bool = True):
            n = wavs.shape[1] // 960  # 25 frames/s at 24 kHz
            h0 = self.proj(wavs[:, : n * 960].reshape(len(wavs), n, 960))
            h1 = self.deeper(h0)
            return types.SimpleNamespace(last_hidden_state=h1, hidden_states=(h0, h1))

    monkeypatch.setitem(sys.modules, "muq", types.SimpleNamespace(MuQ=TinyMuQ))
    frames = get_extractor("muq", model="tiny", hop_s=0.2).extract_frames(wavs)
    assert [f.shape for f in frames] == [(5, 6), (10, 6), (8, 6)]  # 5 frames per 0.2 s
    first = get_extractor("muq", model="tiny", hop_s=0.2, layer=0).extract_frames(wavs[:1])
    assert not np.allclose(first[0], frames[0])
    with pytest.raises(EmoconveyError, match="cannot load the MuQ model 'other'"):
        get_extractor("muq", model="other").extract_frames(wavs[:1])
