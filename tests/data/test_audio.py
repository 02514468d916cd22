"""Clip names and audio path resolution (release layout vs CSV `_crop` names)."""

from __future__ import annotations

import logging

import pandas as pd

from emoconvey.data import load_dataset, parse_clip_names, resolve_audio_paths
from emoconvey.data.audio import clip_stem


def test_clip_stem_strips_crop_and_extension():
    assert clip_stem("Udio_calm_1_crop.wav") == "Udio_calm_1"
    assert clip_stem("music_clips/Udio/Udio_calm_1.wav") == "Udio_calm_1"
    assert clip_stem("x_crop.FLAC") == "x"


def test_parse_names_with_underscored_system_and_longest_intent():
    parts = parse_clip_names(
        ["my_sys_very_sad_3_crop.wav", "Suno_sad_12.wav", "random.wav"],
        ["sad", "very_sad", "happy"],
    )
    assert parts.loc[0, "system"] == "my_sys" and parts.loc[0, "intent"] == "very_sad"
    assert parts.loc[0, "file_index"] == 3
    assert parts.loc[1, "system"] == "Suno" and parts.loc[1, "file_index"] == 12
    assert parts.loc[2].isna().all()


def test_resolve_release_layout_and_crop_names(tmp_path, caplog):
    (tmp_path / "music_clips" / "Udio").mkdir(parents=True)
    release = tmp_path / "music_clips" / "Udio" / "Udio_calm_1.wav"
    release.write_bytes(b"RIFF")
    (tmp_path / "Suno").mkdir()
    flat = tmp_path / "Suno" / "Suno_sad_2_crop.wav"
    flat.write_bytes(b"RIFF")
    clips = pd.DataFrame(
        {
            "clip": ["Udio_calm_1_crop.wav", "Suno_sad_2_crop.wav", "Udio_sad_9_crop.wav"],
            "system": ["Udio", "Suno", "Udio"],
        }
    )
    with caplog.at_level(logging.WARNING):
        paths = resolve_audio_paths(clips, tmp_path)
    assert paths[0] == str(release.resolve())
    assert paths[1] == str(flat.resolve())
    assert pd.isna(paths[2])
    assert "1 of 3" in caplog.text


def test_load_dataset_adds_audio_paths(tmp_path):
    (tmp_path / "audio" / "music_clips" / "SysA").mkdir(parents=True)
    wav = tmp_path / "audio" / "music_clips" / "SysA" / "SysA_happy_1.wav"
    wav.write_bytes(b"RIFF")
    ratings = tmp_path / "r.csv"
    ratings.write_text(
        "user,audio_file,valence,arousal\n"
        + "".join(f"P{p},SysA_happy_1_crop.wav,7,6\n" for p in range(1, 5))
    )
    ds = load_dataset(ratings, audio_root=tmp_path / "audio")
    assert ds.clips["audio_path"].tolist() == [str(wav.resolve())]
