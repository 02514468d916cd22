from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emoconvey.errors import EmoconveyError
from emoconvey.generate.protocol import (
    build_prompt,
    check_crop_fits,
    check_system_name,
    crop_audio,
    crop_start,
    derive_seed,
    output_flags,
    relpath,
)


def test_prompts():
    assert build_prompt("happy") == "happy, instrumental"
    assert build_prompt("happy", template="{word}") == "happy"
    with pytest.raises(EmoconveyError, match=r"must contain \{word\}"):
        build_prompt("happy", template="no field")
    with pytest.raises(EmoconveyError, match="not a valid template"):
        build_prompt("happy", template="{word} {other}")


@pytest.mark.parametrize("name", ["", "a/b", "..", ".hidden", "with space", "x" * 65, "é"])
def test_bad_system_names(name):
    with pytest.raises(EmoconveyError, match="is not a valid folder name"):
        check_system_name(name)


@pytest.mark.parametrize("name", ["MusicGen", "AudioLDM2", "stable-audio_1.0", "Suno+v4"])
def test_good_system_names(name):
    assert check_system_name(name) == name


def test_seed_is_sha256_of_the_key_and_stable_across_processes():
    key = b"emoconvey|generate|7|MusicGen|happy|3"
    expected = int.from_bytes(hashlib.sha256(key).digest()[:4], "big") & 0x7FFFFFFF
    assert derive_seed(7, "MusicGen", "happy", 3) == expected
    code = ("from emoconvey.generate.protocol import derive_seed;"
            "print(derive_seed(7, 'MusicGen', 'happy', 3))")
    env_seeds = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env={"PYTHONHASHSEED": str(h), "PYTHONPATH": ":".join(sys.path)},
                       check=True).stdout.strip()
        for h in (1, 2)
    }
    assert env_seeds == {str(expected)}
    seeds = {derive_seed(0, s, i, n) for s in ("A", "B") for i in ("happy", "sad")
             for n in (1, 2)}
    assert len(seeds) == 8
    assert derive_seed(0, "A", "happy", 1) != derive_seed(0, "A", "happy", 1, purpose="crop")


@settings(max_examples=300, deadline=None)
@given(
    seconds=st.floats(min_value=0.5, max_value=400, allow_nan=False),
    frac=st.floats(min_value=0.01, max_value=1.0),
    rate=st.sampled_from([8000, 16000, 22050, 32000, 44100, 48000]),
    seed=st.integers(min_value=0, max_value=2**31 - 1),
    channels=st.integers(min_value=1, max_value=2),
)
def test_crop_rule_property(seconds, frac, rate, seed, channels):
    n = int(seconds * rate)
    crop = frac * 0.7 * seconds * 0.98
    length = round(crop * rate)
    if length < 1:
        return
    w = crop_start(n, rate, crop, seed)
    assert w.end - w.start == length
    assert 100 * w.start >= 15 * n  # exact: start >= 0.15 N
    assert 100 * w.end <= 85 * n
    assert w.start_s >= 0.15 * n / rate - 1e-12 and w.end_s <= 0.85 * n / rate + 1e-12
    assert crop_start(n, rate, crop, seed) == w  # seeded
    audio = np.zeros((channels, n), dtype=np.float32)
    seg = crop_audio(audio, w)
    assert seg.shape == (channels, length)


def test_crop_start_is_uniform_over_the_window():
    n, rate, crop = 3000, 100, 10.0  # 30 s: starts 4.5 s .. 15.5 s
    starts = np.array([crop_start(n, rate, crop, s).start for s in range(4000)])
    assert 450 <= starts.min() < 460 and 1540 < starts.max() <= 1550
    # mean of a discrete uniform on [450, 1550] is 1000, sd 317.8: 4000 draws -> se 5
    assert abs(starts.mean() - 1000) < 25


def test_crop_filling_the_window_exactly():
    # 10 s at 10 Hz, 7 s crop: the window [1.5 s, 8.5 s] admits exactly one start
    assert {crop_start(100, 10, 7.0, s).start for s in range(20)} == {15}


def test_too_short_clip_names_the_file_and_length():
    with pytest.raises(EmoconveyError, match=r"x\.wav: 12\.00 s is too short for a 10 s crop "
                       r"between the 15 % and 85 % marks \(needs at least 14\.29 s\)"):
        crop_start(12 * 100, 100, 10.0, 0, name="x.wav")


def test_crop_longer_than_window():
    check_crop_fits(30, 21)
    with pytest.raises(EmoconveyError, match=r"--crop: 25 s is longer than the 15-85 % window "
                       r"of a 30 s clip \(21 s\)"):
        check_crop_fits(30, 25)
    with pytest.raises(EmoconveyError, match="--crop: expected a positive"):
        check_crop_fits(30, 0)
    with pytest.raises(EmoconveyError, match="--seconds: expected a positive"):
        check_crop_fits(-1, 1)


def test_output_flags():
    rate = 100
    ok = np.full((1, 3000), 0.1, dtype=np.float32)
    assert output_flags(ok, rate, 30) == []
    assert output_flags(ok * 0, rate, 30) == ["near_silent"]
    assert output_flags(np.clip(ok * 20, -1, 1), rate, 30) == ["clipped"]
    bad = ok.copy()
    bad[0, 3] = np.nan
    assert output_flags(bad, rate, 30) == ["nan"]
    assert output_flags(ok[:, :2000], rate, 30) == ["shorter_than_asked"]


def test_layout():
    assert relpath("M", "happy", 3).as_posix() == "music_clips/M/M_happy_3.wav"
    assert relpath("M", "happy", 3, full=True).as_posix() == "full/M/M_happy_3.wav"
