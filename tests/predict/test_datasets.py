"""Rated-clip sources: plain CSV, AImoclips format + audio, MusicEval release layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emoconvey.errors import DataValidationError, EmoconveyError
from emoconvey.predict.datasets import (
    BASE_COLUMNS,
    check_audio,
    from_aimoclips,
    from_musiceval,
    from_table,
)

SR = 8000


def _wav(path: Path, seconds: float = 1.5, freq: float = 220.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * SR)) / SR
    sf.write(path, (0.1 * np.sin(2 * np.pi * freq * t)).astype(np.float32), SR)
    return path


def test_check_audio_names_the_file(tmp_path: Path) -> None:
    good = _wav(tmp_path / "good.wav")
    check_audio([good])
    with pytest.raises(DataValidationError, match=r"absent.wav: audio file not found"):
        check_audio([tmp_path / "absent.wav"])
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"this is not audio")
    with pytest.raises(DataValidationError, match=r"bad.wav: cannot read the audio"):
        check_audio([bad])
    empty = tmp_path / "empty.wav"
    sf.write(empty, np.zeros(0, np.float32), SR)
    with pytest.raises(DataValidationError, match=r"empty.wav: the audio is empty"):
        check_audio([empty])
    short = _wav(tmp_path / "short.wav", seconds=0.5)
    with pytest.raises(DataValidationError, match=r"short.wav: the audio lasts 0.50 s; expected"):
        check_audio([short])


def test_table(tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        _wav(tmp_path / "audio" / f"{name}.wav")
    csv = tmp_path / "t.csv"
    csv.write_text(
        "audio_file,system,intent,MI,TA\naudio/a.wav,S1,happy,3.5,4\n"
        "audio/b.wav,S1,,2,1\naudio/c.wav,S2,sad,4,4.5\n"
    )
    data = from_table(csv)
    assert data.targets == ("MI", "TA")
    assert list(data.clips.columns) == [*BASE_COLUMNS, "MI", "TA"]
    assert data.clips["audio_file"].map(lambda p: Path(p).is_absolute()).all()
    intents = data.clips["intent"].tolist()
    assert intents[0] == "happy" and intents[1] is None and intents[2] == "sad"
    assert data.scales["MI"] == (2.0, 4.0)
    assert data.select(["TA"]).targets == ("TA",)
    with pytest.raises(EmoconveyError, match="unknown target\\(s\\) 'XX'; this data has MI, TA"):
        data.select(["XX"])
    assert data.data_hash() == from_table(csv).data_hash()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("audio_file,MI\na.wav,3\n", r"t.csv: missing column 'system'"),
        ("audio_file,system\n", r"t.csv: no data rows"),
        ("audio_file,system\naudio/a.wav,S1\n", r"t.csv: no target column"),
        ("audio_file,system,MI\naudio/a.wav,S1,3\naudio/b.wav,S1,lots\n",
         r"t.csv, line 3, column 'MI': expected a number, found 'lots'"),
        ("audio_file,system,MI\naudio/a.wav,,3\n", r"t.csv, line 2, column 'system': empty"),
        ("audio_file,system,MI\naudio/a.wav,S,3\naudio/a.wav,S,2\n",
         r"t.csv, line 3, column 'audio_file': audio file 'audio/a.wav' listed twice"),
        ("audio_file,system,MI\naudio/zz.wav,S,3\n", r"zz.wav: audio file not found"),
        ("", r"t.csv: the file is empty"),
    ],
)
def test_table_errors(tmp_path: Path, content: str, message: str) -> None:
    _wav(tmp_path / "audio" / "a.wav")
    _wav(tmp_path / "audio" / "b.wav")
    csv = tmp_path / "t.csv"
    csv.write_text(content)
    with pytest.raises(EmoconveyError, match=message):
        from_table(csv)


def test_aimoclips_format(tmp_path: Path) -> None:
    rows = ["user,audio_file,valence,arousal"]
    for system in ("SysA", "SysB"):
        for intent, v in (("happy", 7), ("sad", 2)):
            clip = f"{system}_{intent}_1_crop.wav"
            _wav(tmp_path / "audio" / "music_clips" / system / f"{system}_{intent}_1.wav")
            rows += [f"P{k},{clip},{v + (k % 2)},{5}" for k in range(4)]
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("\n".join(rows) + "\n")
    data = from_aimoclips(ratings, audio_root=tmp_path / "audio")
    assert data.targets == ("valence", "arousal")
    row = data.clips.set_index("clip_id").loc["SysA_happy_1"]
    assert row["valence"] == pytest.approx(7.5) and row["intent"] == "happy"
    assert row["system"] == "SysA" and Path(row["audio_file"]).is_file()
    assert data.scales["valence"] == (1.0, 9.0)
    (tmp_path / "audio" / "music_clips" / "SysB" / "SysB_sad_1.wav").unlink()
    with pytest.raises(DataValidationError, match=r"no audio for clip 'SysB_sad_1_crop.wav'"):
        from_aimoclips(ratings, audio_root=tmp_path / "audio")
    with pytest.raises(EmoconveyError, match="--audio-root: .* is not a folder"):
        from_aimoclips(ratings, audio_root=tmp_path / "nope")
    ratings.write_text("user,audio_file,valence,arousal\nP1,SysA_happy_1_crop.wav,12,5\n")
    with pytest.raises(DataValidationError, match=r"ratings.csv, line 2, column 'valence'"):
        from_aimoclips(ratings, audio_root=tmp_path / "audio")


def write_musiceval_tree(root: Path) -> None:
    """A miniature MusicEval / AudioMOS 2025 track 1 release, exact layout."""
    (root / "sets").mkdir(parents=True)
    (root / "system_mos").mkdir()
    lines = {"train": [], "test": []}
    for s in ("S001", "S002", "S003"):
        for p in ("P001", "P002"):
            cid = f"audiomos2025-track1-{s}_{p}"
            _wav(root / "wav" / f"{cid}.wav", freq=200 + 50 * int(s[-1]))
            split = "test" if p == "P002" else "train"
            ta = 3 + int(p[-1]) / 4 + int(s[-1]) / 10
            lines[split].append(f"{cid}.wav,{2 + int(s[-1]) / 2},{ta:g}")
    demo = "audiomos2025-track1-S009_P777"
    _wav(root / "wav" / f"{demo}.wav")
    lines["train"].append(f"{demo}.wav,2.5,3.25")
    for split, ls in lines.items():
        (root / "sets" / f"{split}_mos_list.txt").write_text("\n".join(ls) + "\n")
    (root / "prompt_info.txt").write_text(
        "id\ttext\nP001\ta calm piano piece\nP002\tfast angry rock with drums\n"
    )
    (root / "demo_prompt_info.txt").write_text(f"id\ttext\n{demo}\thappy demo music\n")
    (root / "system_mos" / "system_mos_all.csv").write_text(
        "S001,2.5,3.4\nS002,3.0,3.4\nS003,3.5,3.4\nS009,2.5,3.25\n"
    )


def test_musiceval_layout(tmp_path: Path) -> None:
    write_musiceval_tree(tmp_path / "me")
    data = from_musiceval(tmp_path / "me")
    assert data.targets == ("MI", "TA")
    c = data.clips.set_index("clip_id")
    assert len(c) == 7
    row = c.loc["audiomos2025-track1-S002_P001"]
    assert (row["system"], row["prompt_id"], row["split"]) == ("S002", "P001", "train")
    assert row["MI"] == 3.0 and row["TA"] == pytest.approx(3.45)
    assert row["text"] == "a calm piano piece"
    assert c.loc["audiomos2025-track1-S009_P777", "text"] == "happy demo music"
    assert c.loc["audiomos2025-track1-S001_P002", "split"] == "test"
    assert Path(row["audio_file"]).is_file()
    assert data.scales == {"MI": (1.0, 5.0), "TA": (1.0, 5.0)}


def test_musiceval_errors(tmp_path: Path) -> None:
    with pytest.raises(EmoconveyError, match="not a folder|does not exist"):
        from_musiceval(tmp_path / "absent")
    root = tmp_path / "me"
    write_musiceval_tree(root)
    listing = root / "sets" / "train_mos_list.txt"
    listing.write_text(listing.read_text() + "audiomos2025-track1-S001_P002.wav,9,3\n")
    with pytest.raises(DataValidationError, match=r"train_mos_list.txt, line 5"):
        from_musiceval(root)
    write_musiceval_tree(tmp_path / "me2")
    (tmp_path / "me2" / "wav" / "audiomos2025-track1-S001_P001.wav").unlink()
    with pytest.raises(DataValidationError, match=r"S001_P001.wav: audio file not found"):
        from_musiceval(tmp_path / "me2")
