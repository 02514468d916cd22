from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from generate_helpers import folder_digest, manifest_without_wall

from emoconvey.errors import EmoconveyError
from emoconvey.generate.importer import decode_audio, import_clips

av = pytest.importorskip("av")

RATE = 16000


def tone(seconds: float, channels: int = 1, f: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return np.stack([0.3 * np.sin(2 * np.pi * f * (c + 1) * t) for c in range(channels)]
                    ).astype(np.float32)


def write_av(path: Path, audio: np.ndarray, codec: str) -> None:
    layout = "mono" if audio.shape[0] == 1 else "stereo"
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=RATE, layout=layout)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio.T.reshape(1, -1)),
                                           format="flt", layout=layout)
        frame.sample_rate = RATE
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode(None):
            c.mux(p)


@pytest.fixture
def downloads(tmp_path) -> Path:
    src = tmp_path / "suno"
    src.mkdir()
    sf.write(src / "happy_1.wav", tone(5).T, RATE)
    sf.write(src / "happy_2.flac", tone(6, 2).T, RATE)
    sf.write(src / "sad_1.ogg", tone(5, f=220).T, RATE)
    write_av(src / "sad_2.mp3", tone(5, f=330), "mp3")
    write_av(src / "angry_1.m4a", tone(5, 2, f=550), "aac")
    (src / "notes.txt").write_text("ignored")
    return src


def test_import_mixed_formats(tmp_path, downloads):
    out = tmp_path / "out"
    df = import_clips(system="Suno", source=downloads, out=out, seed=3, crop=2.0)
    assert sorted(zip(df["intent"], df["index"], strict=True)) == [
        ("angry", 1), ("happy", 1), ("happy", 2), ("sad", 1), ("sad", 2)]
    assert (df["backend"] == "import").all() and df["instrumental"].all()
    assert (df["prompt"] == df["intent"]).all()
    assert df["seed"].isna().all() and df["requested_seconds"].isna().all()
    formats = {json.loads(p)["source_format"] for p in df["params"]}
    assert formats == {"wav", "flac", "ogg", "mp3", "m4a"}
    for row in df.itertuples():
        crop, rate = sf.read(out / row.file, always_2d=True)
        assert rate == RATE == row.sample_rate and crop.shape == (2 * RATE, row.channels)
        assert row.crop_start >= 0.15 * row.full_seconds - 1e-9
        assert row.crop_end <= 0.85 * row.full_seconds + 1e-9
        assert (out / row.full_file).is_file()
    assert df.set_index(["intent", "index"]).loc[("happy", 2), "channels"] == 2
    # rerun: nothing changes
    digest = folder_digest(out)
    import_clips(system="Suno", source=downloads, out=out, seed=3, crop=2.0)
    assert folder_digest(out) == digest
    again = tmp_path / "again"
    import_clips(system="Suno", source=downloads, out=again, seed=3, crop=2.0)
    assert folder_digest(again) == digest
    pd.testing.assert_frame_equal(manifest_without_wall(again), manifest_without_wall(out))


def test_decode_matches_the_source(downloads):
    audio, rate = decode_audio(downloads / "happy_2.flac")
    ref, _ = sf.read(downloads / "happy_2.flac", dtype="float32", always_2d=True)
    np.testing.assert_array_equal(audio, ref.T)
    mp3, rate = decode_audio(downloads / "sad_2.mp3")
    assert rate == RATE and abs(mp3.shape[1] / rate - 5) < 0.2


def test_mapping_csv(tmp_path, downloads):
    (downloads / "happy_1.wav").rename(downloads / "Suno - Bright Morning.wav")
    mapping = tmp_path / "map.csv"
    mapping.write_text("file,intent,index\nSuno - Bright Morning.wav,happy,4\n")
    df = import_clips(system="Suno", source=downloads, out=tmp_path / "o", mapping=mapping,
                      crop=2.0)
    assert df["file"].tolist() == ["music_clips/Suno/Suno_happy_4.wav"]


@pytest.mark.parametrize(("setup", "message"), [
    (lambda d: (d / "happy_1.wav").write_bytes(b"not audio"),
     r"happy_1\.wav: cannot read audio"),
    (lambda d: sf.write(d / "banana_1.wav", tone(5).T, RATE),
     r"banana_1\.wav: unknown intent 'banana'; expected one of"),
    (lambda d: sf.write(d / "happy_1.flac", tone(5).T, RATE),
     r"happy_1\.wav: duplicate clip \(happy, 1\); .*happy_1\.flac is the same clip"),
    (lambda d: sf.write(d / "mysong.wav", tone(5).T, RATE),
     r"mysong\.wav: expected a name <intent>_<n>\.wav \(e\.g\. happy_1\.wav\), or give "
     r"--mapping"),
    (lambda d: sf.write(d / "sad_3.wav", tone(2.5).T, RATE),
     r"sad_3\.wav: 2\.50 s is too short for a 2 s crop between the 15 % and 85 % marks "
     r"\(needs at least 2\.86 s\)"),
    (lambda d: write_av(d / "sad_4.mp3", tone(1), "mp3"),
     r"sad_4\.mp3: 1\.\d\d s is too short for a 2 s crop"),
    (lambda d: sf.write(d / "sad_5.ogg", np.zeros((0, 1), np.float32), RATE),
     r"sad_5\.ogg: undecodable audio: no samples could be decoded \(a truncated or "
     r"header-only file\?\)"),
])
def test_bad_files(tmp_path, downloads, setup, message):
    setup(downloads)
    with pytest.raises(EmoconveyError, match=message):
        import_clips(system="Suno", source=downloads, out=tmp_path / "o", crop=2.0)
    assert not (tmp_path / "o").exists()  # nothing written


@pytest.mark.parametrize(("text", "message"), [
    ("file,intent\nx.wav,happy\n", r"map\.csv: missing column\(s\) index"),
    ("file,intent,index\nnope.wav,happy,1\n", r"map\.csv, line 2, column 'file': file .* "
     "does not exist"),
    ("file,intent,index\nhappy_1.wav,banana,1\n", r"line 2, column 'intent': unknown intent"),
    ("file,intent,index\nhappy_1.wav,happy,0\n", r"line 2, column 'index': expected a "
     "positive integer, got '0'"),
    ("file,intent,index\nhappy_1.wav,happy,1\nhappy_2.flac,happy,1\n",
     r"map\.csv, line 3, column 'index': duplicate clip \(happy, 1\); line 2 is the same "
     "clip"),
])
def test_bad_mapping(tmp_path, downloads, text, message):
    mapping = tmp_path / "map.csv"
    mapping.write_text(text)
    with pytest.raises(EmoconveyError, match=message):
        import_clips(system="Suno", source=downloads, out=tmp_path / "o", mapping=mapping,
                     crop=2.0)


def test_argument_errors(tmp_path, downloads):
    with pytest.raises(EmoconveyError, match="--from: folder .* does not exist"):
        import_clips(system="Suno", source=tmp_path / "none", out=tmp_path / "o")
    with pytest.raises(EmoconveyError, match="--system: 'a b' is not a valid folder name"):
        import_clips(system="a b", source=downloads, out=tmp_path / "o")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EmoconveyError, match="--from: no audio files"):
        import_clips(system="Suno", source=empty, out=tmp_path / "o")


def test_undecodable_file_is_named_when_decoding(tmp_path):
    from emoconvey.generate.importer import decode_audio

    path = tmp_path / "empty.wav"
    sf.write(path, np.zeros((0, 2), np.float32), RATE)
    with pytest.raises(EmoconveyError, match=r"empty\.wav: undecodable audio"):
        decode_audio(path)


def test_reimport_counts_what_was_skipped(tmp_path, downloads):
    first = import_clips(system="Suno", source=downloads, out=tmp_path / "o", crop=2.0)
    assert (first.attrs["made"], first.attrs["skipped"]) == (5, 0)
    again = import_clips(system="Suno", source=downloads, out=tmp_path / "o", crop=2.0)
    assert (again.attrs["made"], again.attrs["skipped"]) == (0, 5)
