from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pytest

from emoconvey.errors import EmoconveyError
from emoconvey.generate.backends import cues as cues_module
from emoconvey.generate.backends.base import GenerationRequest
from emoconvey.generate.backends.cues import (
    CuesBackend,
    compose,
    cue_parameters,
    fluidsynth_available,
    render_cues,
    write_midi,
)

needs_fluidsynth = pytest.mark.skipif(
    not fluidsynth_available(),
    reason="fluidsynth or Debian's fluid-soundfont-gm is not installed",
)


def test_cue_directions_follow_gabrielsson_lindstrom():
    calm, excited = cue_parameters(6, 2), cue_parameters(6, 8)
    assert excited.tempo_bpm > calm.tempo_bpm
    assert excited.velocity > calm.velocity
    assert excited.articulation < calm.articulation  # staccato when aroused
    assert excited.brightness > calm.brightness
    sad, happy = cue_parameters(2, 4), cue_parameters(8, 4)
    assert (sad.mode, happy.mode) == ("minor", "major")
    assert happy.register > sad.register
    angry = cue_parameters(2, 8)
    assert angry.dissonance > 0 and happy.dissonance == 0
    # the formulas of the module docs at one point: x = 0.5, y = -0.25
    p = cue_parameters(7, 4)
    assert p.tempo_bpm == pytest.approx(60 + 55 * 0.75 + 8 * 0.5)
    assert p.register == pytest.approx(62 + 3.5 - 1.25)
    assert p.velocity == pytest.approx(64 - 9 + 3)
    assert p.articulation == pytest.approx(0.95 - 0.25 * 0.75 - 0.05)


@pytest.mark.parametrize("bad", [0.5, 9.5, float("nan"), "5"])
def test_cue_range_errors(bad):
    with pytest.raises(EmoconveyError, match=r"cues: valence must be a number in \[1, 9\]"):
        cue_parameters(bad, 5)


def test_every_point_of_the_plane_is_different():
    grid = [1.5, 3.0, 4.6, 5.4, 7.0, 8.5]
    digests = set()
    for v, a in itertools.product(grid, grid):
        g = render_cues(v, a, seconds=2.0, seed=3, renderer="numpy")
        digests.add(hashlib.sha256(g.audio.tobytes()).hexdigest())
    assert len(digests) == len(grid) ** 2


def test_seeded_and_seed_dependent():
    a = render_cues(7, 7, seconds=3, seed=1, renderer="numpy").audio
    b = render_cues(7, 7, seconds=3, seed=1, renderer="numpy").audio
    c = render_cues(7, 7, seconds=3, seed=2, renderer="numpy").audio
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert a.shape == (1, 3 * 22050) and a.dtype == np.float32
    assert 0 < np.abs(a).max() <= 0.95


def test_score_stays_inside_the_clip():
    notes = compose(cue_parameters(8, 8), seconds=5.0, seed=0)
    assert notes and all(n.start >= 0 and n.start + n.duration <= 5.0 + 1e-9 for n in notes)
    assert {n.part for n in notes} == {0, 1, 2}


def test_midi_file_is_well_formed(tmp_path):
    cues = cue_parameters(3, 7)
    path = tmp_path / "x.mid"
    write_midi(compose(cues, seconds=3, seed=0), cues, 3.0, path)
    data = path.read_bytes()
    assert data[:4] == b"MThd" and data[14:18] == b"MTrk"
    assert int.from_bytes(data[18:22], "big") == len(data) - 22
    assert data.endswith(b"\xff\x2f\x00")


@needs_fluidsynth
def test_fluidsynth_renderer_is_deterministic():
    a = render_cues(8, 8, seconds=2, seed=5, renderer="fluidsynth")
    b = render_cues(8, 8, seconds=2, seed=5, renderer="fluidsynth")
    assert a.sample_rate == 44100 and a.audio.shape == (2, 88200)
    assert np.array_equal(a.audio, b.audio)
    assert a.params["renderer"] == "fluidsynth" and a.params["soundfont"] == "FluidR3_GM.sf2"
    assert np.abs(a.audio).max() > 0.01


def test_fluidsynth_missing_message(tmp_path, monkeypatch):
    with pytest.raises(EmoconveyError, match="renderer must be auto, fluidsynth or numpy"):
        render_cues(5, 5, seconds=1, renderer="midi")
    with pytest.raises(EmoconveyError, match=r"cues: soundfont '.*none\.sf2' is not a file"):
        render_cues(5, 5, seconds=1, soundfont=tmp_path / "none.sf2")
    monkeypatch.setattr(cues_module.shutil, "which", lambda name: None)
    with pytest.raises(EmoconveyError, match="cues: the fluidsynth renderer needs the "
                       "fluidsynth program, soundfile and the soundfont"):
        render_cues(5, 5, seconds=1, renderer="fluidsynth")
    with pytest.raises(EmoconveyError, match="the fluidsynth renderer needs"):
        CuesBackend(renderer="fluidsynth").load()


def test_backend_options_are_checked(tmp_path):
    with pytest.raises(EmoconveyError, match=r"backend 'cues': unknown option\(s\) renderr; "
                       r"expected norms, renderer, sample_rate, soundfont"):
        CuesBackend(renderr="numpy").load()
    with pytest.raises(EmoconveyError, match=r"cues: soundfont '/nonexistent\.sf2' is not a "
                       "file; expected a General MIDI .sf2"):
        CuesBackend(soundfont="/nonexistent.sf2").load()
    with pytest.raises(EmoconveyError, match="sample_rate must be an integer of at least"):
        CuesBackend(renderer="numpy", sample_rate="fast").load()


def test_default_fallback_to_numpy_is_reported(monkeypatch, caplog):
    monkeypatch.setattr(cues_module, "fluidsynth_available", lambda soundfont=None: False)
    be = CuesBackend()
    with caplog.at_level("WARNING", logger=cues_module.__name__):
        be.load()
    assert "rendering with the numpy synthesiser (22.05 kHz mono)" in caplog.text
    out = be.generate([GenerationRequest("calm, instrumental", 1.0, 0)])
    assert out[0].params["renderer"] == "numpy" and out[0].sample_rate == 22050
    caplog.clear()
    with caplog.at_level("WARNING", logger=cues_module.__name__):
        CuesBackend(renderer="numpy").load()
    assert caplog.text == ""


def test_backend_reads_the_word_from_the_prompt():
    be = CuesBackend(renderer="numpy", norms={"happy": (8.0, 6.0), "very sad": (1.5, 3.0)})
    be.load()
    assert be.point_of("happy, instrumental") == (8.0, 6.0)
    assert be.point_of("Very Sad, instrumental") == (1.5, 3.0)
    assert be.point_of("valence=7.2 arousal=3.1") == (7.2, 3.1)
    with pytest.raises(EmoconveyError, match=r"cues: no known intent word in prompt 'unhappy, "
                       r"instrumental'; expected one of happy, very sad"):
        be.point_of("unhappy, instrumental")
    out = be.generate([GenerationRequest("happy, instrumental", 1.0, 4)])
    assert out[0].params["valence"] == 8.0 and out[0].params["renderer"] == "numpy"


def test_backend_defaults_to_aimoclips_norms():
    be = CuesBackend(renderer="numpy")
    be.load()
    v, a = be.point_of("excited, instrumental")
    assert v > 5 and a > 5


# ----------------------------------------------------------------------------- audible valence
# Krumhansl & Kessler's (1982) probe-tone key profiles, C major and C minor (Krumhansl,
# 1990, table 2.1), typed here independently of the handcrafted extractor.
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def kk_key(chroma: np.ndarray) -> tuple[int, str]:
    """Key of a 12-bin chroma profile: the best Pearson correlation with the 24 rotated
    Krumhansl-Kessler profiles (Krumhansl, 1990). Returns (tonic pitch class, mode)."""
    best = max(
        (np.corrcoef(chroma, np.roll(prof, k))[0, 1], k, mode)
        for mode, prof in (("major", KK_MAJOR), ("minor", KK_MINOR))
        for k in range(12)
    )
    return best[1], best[2]


def audio_key(audio: np.ndarray, rate: int) -> tuple[int, str]:
    """:func:`kk_key` of the time-averaged constant-Q chroma (librosa) of a clip."""
    import librosa

    y = audio.mean(axis=0)
    if rate != 22050:
        y = librosa.resample(y, orig_sr=rate, target_sr=22050)
    return kk_key(librosa.feature.chroma_cqt(y=y, sr=22050).mean(axis=1))


def _tones(pitches: list[int], seconds: float = 0.4, rate: int = 22050) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return np.concatenate([np.sin(2 * np.pi * 440 * 2 ** ((p - 69) / 12) * t)
                           for p in pitches])[None, :].astype(np.float32)


def test_key_estimator_pinned_on_profiles_and_scales():
    for k in range(12):
        assert kk_key(np.roll(KK_MAJOR, k)) == (k, "major")
        assert kk_key(np.roll(KK_MINOR, k)) == (k, "minor")
    # librosa chroma of pure tones: C-major cadence, A harmonic-minor cadence
    c_major = [60, 64, 67, 72, 65, 69, 72, 67, 71, 74, 60, 64, 67, 72]
    a_minor = [57, 60, 64, 69, 62, 65, 69, 64, 68, 71, 57, 60, 64, 69]
    assert audio_key(_tones(c_major), 22050) == (0, "major")
    assert audio_key(_tones(a_minor), 22050) == (9, "minor")


def _mode_hits(renderer: str, seconds: float) -> list[str]:
    from emoconvey.intents import aimoclips_intents

    wrong = []
    for i, row in enumerate(aimoclips_intents().itertuples()):
        g = render_cues(row.norm_valence, row.norm_arousal, seconds=seconds, seed=i,
                        renderer=renderer)
        _tonic, mode = audio_key(g.audio, g.sample_rate)
        if mode != ("major" if row.norm_valence >= 5 else "minor"):
            wrong.append(f"{row.intent}: {mode}")
    return wrong


def test_mode_is_heard_for_the_aimoclips_intents():
    wrong = _mode_hits("numpy", 8.0)
    assert len(wrong) <= 1, wrong


@needs_fluidsynth
def test_mode_is_heard_with_fluidsynth():
    wrong = _mode_hits("fluidsynth", 8.0)
    assert len(wrong) <= 1, wrong


def test_tonic_is_the_key_the_seed_chose():
    # seed 3 draws tonic pitch class 9 (A) first; the estimate should find A
    assert int(np.random.default_rng(3).integers(0, 12)) == 9
    for v, mode in ((8.0, "major"), (2.5, "minor")):
        g = render_cues(v, 6.0, seconds=8, seed=3, renderer="numpy")
        assert audio_key(g.audio, g.sample_rate) == (9, mode)


def test_handcrafted_features_separate_the_quadrants():
    """Nearest-centroid on standardised handcrafted features: trained on seeds 0-2,
    tested on held-out seeds 3-4 of all 12 AImoclips intents (24 clips), accuracy
    at least 0.9."""
    from emoconvey.intents import aimoclips_intents
    from emoconvey.predict.extractors.handcrafted import clip_features

    rows = list(aimoclips_intents().itertuples())
    X, quad, seeds = [], [], []
    for seed in range(5):
        for row in rows:
            g = render_cues(row.norm_valence, row.norm_arousal, seconds=3, seed=10 + seed,
                            renderer="numpy")
            X.append(clip_features(g.audio[0], g.sample_rate))
            quad.append(row.quadrant)
            seeds.append(seed)
    X, quad, seeds = np.asarray(X, dtype=np.float64), np.asarray(quad), np.asarray(seeds)
    train = seeds < 3
    mu, sd = X[train].mean(axis=0), X[train].std(axis=0)
    Z = (X - mu) / np.where(sd > 0, sd, 1.0)
    labels = sorted(set(quad))
    centroids = np.stack([Z[train & (quad == q)].mean(axis=0) for q in labels])
    dist = ((Z[~train, None, :] - centroids[None]) ** 2).sum(axis=2)
    predicted = np.asarray(labels)[dist.argmin(axis=1)]
    accuracy = float((predicted == quad[~train]).mean())
    assert accuracy >= 0.9, (accuracy, list(zip(quad[~train], predicted, strict=True)))


def test_happy_and_angry_differ_in_loudness_and_roughness():
    happy = cue_parameters(8.47, 6.05)
    angry = cue_parameters(2.53, 6.20)
    assert angry.roughness > 0.7 and happy.roughness == 0
    assert angry.velocity > happy.velocity + 4
    dbfs = {}
    for name, (v, a) in {"happy": (8.47, 6.05), "angry": (2.53, 6.20)}.items():
        x = render_cues(v, a, seconds=6, seed=1, renderer="numpy").audio.astype(np.float64)
        dbfs[name] = 20 * np.log10(np.sqrt(np.mean(x**2)))
    assert dbfs["angry"] > dbfs["happy"] + 2, dbfs


def test_minor_uses_harmonic_minor_triads_and_major_only_major_triads():
    for v, third, seventh in ((8.0, 4, 11), (2.0, 3, 11)):
        cues = cue_parameters(v, 3.0)
        notes = compose(cues, seconds=20, seed=0)
        tonic_pc = int(np.random.default_rng(0).integers(0, 12))
        pcs = {(n.pitch - tonic_pc) % 12 for n in notes}
        assert third in pcs and seventh in pcs  # major/minor third; leading tone
        assert (7 - third) not in pcs  # never the other mode's third
        first_bass = min((n for n in notes if n.part == 2), key=lambda n: n.start)
        assert (first_bass.pitch - tonic_pc) % 12 == 0
