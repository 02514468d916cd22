"""Extractor registry, content-hash cache, handcrafted cues and the CLAP extractor."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emoconvey.errors import EmoconveyError
from emoconvey.predict.extractors import (
    Extractor,
    available_extractors,
    extract_features,
    get_extractor,
    register_extractor,
)
from emoconvey.predict.extractors.handcrafted import FEATURE_NAMES, clip_features
from emoconvey.predict.synthetic import synthesize_clip


class CountingExtractor(Extractor):
    """Duration and RMS of each file, counting the files it computes."""

    id = "counting-test"
    version = "3"

    def __init__(self, *, scale: float = 1.0) -> None:
        self.scale = scale
        self.seen: list[str] = []

    def options(self) -> dict[str, object]:
        return {"scale": self.scale}

    def extract(self, paths: Sequence[str], *, progress=None) -> np.ndarray:
        self.seen += list(paths)
        rows = []
        for p in paths:
            y, sr = sf.read(p)
            rows.append([len(y) / sr * self.scale, float(np.sqrt(np.mean(y**2)))])
        return np.asarray(rows)


def _wav(path: Path, freq: float, seconds: float = 1.2) -> Path:
    t = np.arange(int(8000 * seconds)) / 8000
    sf.write(path, (0.2 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 8000)
    return path


def test_registry() -> None:
    register_extractor("counting-test", CountingExtractor)
    assert {"handcrafted", "clap", "counting-test"} <= set(available_extractors())
    ext = get_extractor("counting-test", scale=2.0)
    assert isinstance(ext, CountingExtractor) and ext.scale == 2.0
    assert ext.cache_key.startswith("counting-test-v3-")
    assert ext.cache_key != CountingExtractor(scale=1.0).cache_key
    with pytest.raises(EmoconveyError, match="unknown extractor 'nope'; available: .*handcrafted"):
        get_extractor("nope")
    register_extractor("not-an-extractor", lambda: object())
    with pytest.raises(EmoconveyError, match="did not return an Extractor"):
        get_extractor("not-an-extractor")
    with pytest.raises(EmoconveyError, match="extractor name"):
        register_extractor("", CountingExtractor)
    with pytest.raises(EmoconveyError, match="workers: expected a positive integer"):
        get_extractor("handcrafted", workers=0)
    with pytest.raises(EmoconveyError, match="has no text tower"):
        get_extractor("handcrafted").embed_texts(["x"])


def test_cache_is_keyed_by_content_and_extractor(tmp_path: Path) -> None:
    a = _wav(tmp_path / "a.wav", 220)
    b = _wav(tmp_path / "b.wav", 330, seconds=1.5)
    dup = tmp_path / "copy_of_a.wav"
    shutil.copy(a, dup)
    cache = tmp_path / "cache"
    ext = CountingExtractor()
    first = extract_features(ext, [a, b, dup], cache_dir=cache)
    assert (first.extracted, first.cached) == (2, 0)  # identical content extracted once
    np.testing.assert_array_equal(first.matrix[0], first.matrix[2])
    again = CountingExtractor()
    second = extract_features(again, [b, a, dup], cache_dir=cache)
    assert (second.extracted, second.cached) == (0, 3) and again.seen == []
    np.testing.assert_array_equal(second.matrix, first.matrix[[1, 0, 2]])
    moved = tmp_path / "elsewhere" / "renamed.wav"
    moved.parent.mkdir()
    shutil.copy(b, moved)
    assert extract_features(CountingExtractor(), [moved], cache_dir=cache).extracted == 0
    _wav(a, 440)  # edited content: a miss
    third = CountingExtractor()
    assert extract_features(third, [a, b], cache_dir=cache).extracted == 1
    assert third.seen == [str(a)]
    other = CountingExtractor(scale=2.0)  # other options: another cache folder
    assert extract_features(other, [a, b], cache_dir=cache).extracted == 2
    entries = list((cache / "features").rglob("*.npy"))
    assert entries and all(np.load(e, allow_pickle=False).shape == (2,) for e in entries)
    assert extract_features(CountingExtractor(), [b], cache_dir=cache,
                            use_cache=False).extracted == 1


def test_handcrafted_cues_follow_the_music() -> None:
    sr = 22050
    happy_fast = clip_features(synthesize_clip(8.5, 8.5, seed=1), sr)
    sad_slow = clip_features(synthesize_clip(1.5, 1.5, seed=1), sr)
    assert happy_fast.shape == (len(FEATURE_NAMES),)
    f = dict(zip(FEATURE_NAMES, happy_fast, strict=True))
    g = dict(zip(FEATURE_NAMES, sad_slow, strict=True))
    assert f["mode"] > 0 > g["mode"]  # major vs minor
    assert f["loudness_db_mean"] > g["loudness_db_mean"] + 10
    assert f["onset_rate"] > g["onset_rate"]
    assert f["centroid_mean"] > g["centroid_mean"]
    assert 0 <= g["harmonic_ratio"] <= 1 and 0 <= f["pulse_clarity"] <= 1
    assert np.isfinite(happy_fast).all() and np.isfinite(sad_slow).all()


def test_handcrafted_parallel_equals_serial(tmp_path: Path) -> None:
    paths = []
    for k in range(3):
        p = tmp_path / f"c{k}.wav"
        sf.write(p, synthesize_clip(2 + 3 * k, 8 - 3 * k, seed=k, duration=1.5), 22050)
        paths.append(str(p))
    serial = get_extractor("handcrafted", workers=1).extract(paths)
    ticks: list[int] = []
    parallel = get_extractor("handcrafted", workers=2).extract(paths, progress=ticks.append)
    np.testing.assert_allclose(parallel, serial, rtol=1e-6)
    assert sum(ticks) == 3


def test_clap_extractor_on_a_tiny_local_model(tiny_clap: Path, tmp_path: Path) -> None:
    paths = [str(_wav(tmp_path / f"{f}.wav", f, seconds=2.5)) for f in (200, 400, 800)]
    ext = get_extractor("clap", model=str(tiny_clap), batch_size=2)
    assert ext.supports_text and ext.sample_rate == 8000
    ticks: list[int] = []
    X = ext.extract(paths, progress=ticks.append)
    assert X.shape == (3, 8) and ticks == [2, 1]
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-5)
    T = ext.embed_texts(["calm piano", "happy fast music"])
    assert T.shape == (2, 8)
    feats = extract_features(ext, paths, cache_dir=tmp_path / "cache")
    np.testing.assert_allclose(feats.matrix, X, rtol=1e-5, atol=1e-6)
    assert ext.options() == {"model": str(tiny_clap)}
    assert not ext._model.training  # loaded for inference
    from emoconvey.predict.extractors.base import load_pretrained

    _, net = load_pretrained("ClapProcessor", "ClapModel", str(tiny_clap), what="CLAP",
                             needs="x", inference=True, device="cpu")
    assert not net.training and next(net.parameters()).device.type == "cpu"


def test_clap_errors(tmp_path: Path) -> None:
    ext = get_extractor("clap", model=str(tmp_path / "no_model_here"))
    with pytest.raises(EmoconveyError, match="cannot load the CLAP model"):
        ext.extract([str(_wav(tmp_path / "x.wav", 300))])
    with pytest.raises(EmoconveyError, match="batch_size"):
        get_extractor("clap", batch_size=0)
    try:
        import laion_clap  # noqa: F401
    except ImportError:
        with pytest.raises(EmoconveyError, match="needs the laion_clap package"):
            get_extractor("clap", checkpoint=str(tmp_path / "music_audioset_epoch_15.pt"))


def test_load_pretrained_names_the_model_and_who_needs_a_missing_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from emoconvey.predict.extractors.base import load_pretrained

    with pytest.raises(EmoconveyError, match=r"cannot load the text model '.*nothing' \("):
        load_pretrained("AutoTokenizer", "AutoModel", str(tmp_path / "nothing"), what="text",
                        needs="text features need")
    monkeypatch.setitem(sys.modules, "transformers", None)  # as if not installed
    with pytest.raises(EmoconveyError, match=r"^text features need transformers: pip install"):
        load_pretrained("AutoTokenizer", "AutoModel", "x", what="text",
                        needs="text features need")


def test_entry_point_extractors_are_found(monkeypatch: pytest.MonkeyPatch) -> None:
    from emoconvey.predict.extractors import registry

    class FakeEntryPoint:
        name = "thirdparty-test"

        def load(self) -> type[CountingExtractor]:
            return CountingExtractor

    monkeypatch.setattr(registry.REGISTRY, "entry_points",
                        lambda: {"thirdparty-test": FakeEntryPoint()})
    assert "thirdparty-test" in available_extractors()
    assert isinstance(get_extractor("thirdparty-test", scale=3.0), CountingExtractor)


class _FakeLaion:
    """Stands in for laion_clap.CLAP_Module: records what it is given."""

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def get_audio_embedding_from_data(self, x: np.ndarray, use_tensor: bool) -> np.ndarray:
        if x.shape[1] > 480000:  # what laion_clap does: a crop from NumPy's global generator
            start = np.random.randint(0, x.shape[1] - 480000 + 1)  # noqa: NPY002
            x = x[:, start:start + 480000]
        self.seen.append(x[0].copy())
        return np.array([[float(x.mean()), float(x.std()), float(x.shape[1])]])


def test_laion_clap_crop_is_seeded(tmp_path: Path) -> None:
    """Issue 16 (defect 5): clips over 10 s are cropped reproducibly, from the run's seed."""
    from emoconvey.predict.extractors.clap import ClapExtractor

    rng = np.random.default_rng(5)
    paths = []
    for name, seconds in (("a.wav", 22.0), ("b.wav", 7.0)):
        sf.write(tmp_path / name, rng.normal(0, 0.1, int(48000 * seconds)), 48000)
        paths.append(str(tmp_path / name))

    def run(seed: int, order: list[str]) -> dict[str, np.ndarray]:
        ext = ClapExtractor(seed=seed, batch_size=1)
        ext._laion = _FakeLaion()
        np.random.seed(int(rng.integers(0, 2**31)))  # noqa: NPY002 - global state must not matter
        return dict(zip(order, ext.extract(order), strict=True))

    first = run(0, paths)
    again = run(0, paths[::-1])
    other = run(1, paths)
    for p in paths:
        np.testing.assert_array_equal(first[p], again[p])
    assert first[paths[0]][2] == 480000 and first[paths[1]][2] == 7 * 48000
    assert not np.array_equal(first[paths[0]], other[paths[0]])
    np.testing.assert_array_equal(first[paths[1]], other[paths[1]])  # short clip: no crop
