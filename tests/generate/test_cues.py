from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pytest

from emoconvey.errors import EmoconveyError
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


def test_fluidsynth_missing_message(tmp_path):
    with pytest.raises(EmoconveyError, match="cues: the fluidsynth renderer needs the "
                       "fluidsynth program, soundfile and the soundfont"):
        render_cues(5, 5, seconds=1, renderer="fluidsynth", soundfont=tmp_path / "none.sf2")
    with pytest.raises(EmoconveyError, match="renderer must be auto, fluidsynth or numpy"):
        render_cues(5, 5, seconds=1, renderer="midi")


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
