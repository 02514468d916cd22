"""Tests of the MusicEval release reader/writer (emoconvey.data.musiceval)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from emoconvey.data.musiceval import (
    MusicEvalDataset,
    check_compatibility,
    clip_id_for,
    load_musiceval,
    parse_clip_id,
    split_by_prompt,
    system_mos_from_clips,
    write_musiceval,
)
from emoconvey.data.musiceval_compat import official_reading
from emoconvey.errors import DataValidationError, DegenerateDataWarning, EmoconveyError
from musiceval_helpers import P, make_official_release, make_release, official_files


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_load_tables(tmp_path):
    ds = load_musiceval(make_release(tmp_path / "rel"))
    assert list(ds.clips.columns) == [
        "clip_id",
        "system",
        "prompt_id",
        "MI",
        "TA",
        "split",
        "audio_file",
    ]
    first = ds.clips.iloc[0]
    assert first["clip_id"] == f"{P}S002_P001"
    assert (first["system"], first["prompt_id"], first["split"]) == ("S002", "P001", "dev")
    assert first["audio_file"] == f"wav/{P}S002_P001.wav"
    assert ds.clips["split"].tolist() == ["dev", "dev", "train", "train", "train"]
    assert ds.clips["MI"].tolist() == [3.4, 2.2, 4.2, 1.0, 3.0]
    assert ds.systems == ["S002", "S003", "S001"]
    assert ds.prompts["prompt_id"].tolist() == ["P001", "P002", f"{P}S001_P007"]
    assert ds.prompts["source"].tolist() == ["manual", "MusicCaps", "demo"]
    assert ds.prompts["per_clip"].tolist() == [False, False, True]
    assert ds.system_mos["system"].tolist() == ["S002", "S003", "S001"]
    assert ds.system_mos["set"].unique().tolist() == ["all"]
    assert ds.ratings["score"].tolist() == [3, 4, 4, 5]
    assert ds.ratings["scale"].tolist() == ["MI", "TA", "MI", "TA"]
    cp = ds.clip_prompts().set_index("clip_id")
    assert cp.loc[f"{P}S001_P007", "text"] == "A demo prompt"
    assert cp.loc[f"{P}S003_P002", "text"] == "Upbeat rock, loud drums"
    assert cp.loc[f"{P}S003_P002", "source"] == "MusicCaps"
    assert "5 clips" in repr(ds)


def test_round_trip_byte_identical(tmp_path):
    src = make_release(tmp_path / "rel")
    ds = load_musiceval(src)
    written = write_musiceval(ds, tmp_path / "out")
    assert len(written) == 6
    assert _files(tmp_path / "out") == _files(src)
    again = load_musiceval(tmp_path / "out")
    pd.testing.assert_frame_equal(again.clips, ds.clips)
    pd.testing.assert_frame_equal(again.ratings, ds.ratings)


def test_round_trip_without_optional_files(tmp_path):
    src = make_release(
        tmp_path / "rel",
        prompt_info_DOT_txt="id\ttext\nP001\tx\nP002\ty\nP007\tz\n",
        demo_prompt_info_DOT_txt=None,
        system_mos__system_mos_all_DOT_csv=None,
        individual_ratings_DOT_csv=None,
    )
    ds = load_musiceval(src)
    assert ds.ratings is None and ds.system_mos.empty
    assert ds.prompts["source"].isna().all()
    write_musiceval(ds, tmp_path / "out")
    expected = {**_files(src), "demo_prompt_info.txt": b"id\ttext\n"}
    assert _files(tmp_path / "out") == expected


def test_header_in_system_mos_is_accepted(tmp_path):
    src = make_release(
        tmp_path / "rel", system_mos__system_mos_all_DOT_csv="system,MI,TA\nS002,3.8,3.8\n"
    )
    assert load_musiceval(src).system_mos["MI"].tolist() == [3.8]


def test_split_by_prompt_is_seeded_and_grouped(tmp_path):
    clips = pd.DataFrame(
        {
            "clip_id": [f"S{s}_P{p:03d}" for p in range(20) for s in range(3)],
            "prompt_id": [f"P{p:03d}" for p in range(20) for s in range(3)],
        }
    )
    a = split_by_prompt(clips, {"train": 0.8, "dev": 0.1, "test": 0.1}, seed=3)
    b = split_by_prompt(clips, {"train": 0.8, "dev": 0.1, "test": 0.1}, seed=3)
    c = split_by_prompt(clips, {"train": 0.8, "dev": 0.1, "test": 0.1}, seed=4)
    assert a.equals(b) and not a.equals(c)
    per_prompt = pd.DataFrame({"p": clips["prompt_id"], "s": a}).groupby("p")["s"].nunique()
    assert (per_prompt == 1).all()
    assert a.value_counts().to_dict() == {"train": 48, "dev": 6, "test": 6}


def test_write_with_split(tmp_path):
    ds = load_musiceval(make_release(tmp_path / "rel"))
    write_musiceval(ds, tmp_path / "a", split={"train": 0.5, "test": 0.5}, seed=1)
    out = load_musiceval(tmp_path / "a")
    assert set(out.clips["split"]) <= {"train", "test"}
    assert out.clips.groupby("prompt_id")["split"].nunique().max() == 1
    explicit = {cid: ("x" if i % 2 else "y") for i, cid in enumerate(ds.clips["clip_id"])}
    write_musiceval(ds, tmp_path / "b", split=explicit)
    got = load_musiceval(tmp_path / "b").clips.set_index("clip_id")["split"].to_dict()
    assert got == explicit


def test_write_copies_audio(tmp_path):
    src = make_release(tmp_path / "rel")
    ds = load_musiceval(src)
    for rel in ds.clips["audio_file"]:
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(b"RIFF" + rel.encode())
    write_musiceval(ds, tmp_path / "out", audio_from=src)
    assert load_musiceval(tmp_path / "out", check_audio=True).clips.shape[0] == 5
    assert _files(tmp_path / "out") == _files(src)


def test_clip_id_helpers():
    assert parse_clip_id(f"{P}S002_P044.wav") == ("S002", "P044")
    assert parse_clip_id("S1_P2") == ("S1", "P2")
    assert clip_id_for("S002", "P044", prefix="audiomos2025-track1") == f"{P}S002_P044"
    with pytest.raises(EmoconveyError, match="expected"):
        parse_clip_id("no-underscore")
    with pytest.raises(EmoconveyError, match="system"):
        clip_id_for("my_system", "P1")


def test_system_mos_from_clips(tmp_path):
    ds = load_musiceval(make_release(tmp_path / "rel"))
    sm = system_mos_from_clips(ds.clips).set_index("system")
    assert sm.loc["S002", "MI"] == pytest.approx((3.4 + 4.2) / 2)
    assert sm.loc["S003", "TA"] == pytest.approx((1.8 + 5.0) / 2)


BAD = [
    (
        {"sets__dev_mos_list_DOT_txt": f"{P}S002_P001.wav,3.4,4.0\n{P}S003_P001.wav,5.2,1.8\n"},
        r"dev_mos_list.txt, line 2, column 'MI': expected a score from 1 to 5, found '5.2'",
    ),
    (
        {"sets__dev_mos_list_DOT_txt": f"{P}S002_P001.wav,3.4,four\n"},
        r"line 1, column 'TA': expected a score from 1 to 5, found 'four'",
    ),
    (
        {"sets__dev_mos_list_DOT_txt": f"{P}S002_P001.wav,3.4\n"},
        r"dev_mos_list.txt, line 1: expected 3 comma-separated fields",
    ),
    (
        {"sets__dev_mos_list_DOT_txt": f"{P}S002_P001.mp3,3.4,4\n"},
        r"line 1, column 'clip': expected a wav file name",
    ),
    (
        {"sets__dev_mos_list_DOT_txt": "nounderscore.wav,3.4,4\n"},
        r"line 1, column 'clip': clip id 'nounderscore'",
    ),
    (
        {"sets__dev_mos_list_DOT_txt": f"{P}S002_P002.wav,3.4,4\n"},
        r"train_mos_list.txt, line 1, column 'clip': duplicated clip id '"
        + P
        + r"S002_P002' \(first in dev_mos_list.txt line 1\)",
    ),
    (
        {"sets__dev_mos_list_DOT_txt": f"{P}S002_P009.wav,3.4,4\n"},
        r"line 1, column 'clip': unknown prompt 'P009'",
    ),
    (
        {"system_mos__system_mos_all_DOT_csv": "S002,3.8,3.8\nS002,1.6,3.4\n"},
        r"line 2, column 'system': duplicated system 'S002' \(first on line 1\)",
    ),
    (
        {"system_mos__system_mos_all_DOT_csv": "S002,0.5,3.8\n"},
        r"line 1, column 'MI': expected a score from 1 to 5, found '0.5'",
    ),
    (
        {"prompt_info_DOT_txt": "id,text\nP001,x\n"},
        r"prompt_info.txt, line 1: expected the tab-separated header",
    ),
    (
        {"prompt_info_DOT_txt": "id\ttext\nP001\tx\nP002\n"},
        r"prompt_info.txt, line 3: expected 2 tab-separated fields, found 1",
    ),
    (
        {"prompt_info_DOT_txt": "id\ttext\nP001\tx\nP002\ty\nP001\tz\n"},
        r"line 4, column 'id': duplicated id 'P001' \(first on line 2\)",
    ),
    (
        {"prompt_info_DOT_txt": ""},
        r"prompt_info.txt, line 1: the file is empty",
    ),
    (
        {"individual_ratings_DOT_csv": f"rater,clip_id,scale,score\nR1,{P}S002_P001,MI,6\n"},
        r"individual_ratings.csv, line 2, column 'score': expected an integer score from 1 to 5",
    ),
    (
        {"individual_ratings_DOT_csv": f"rater,clip_id,scale,score\nR1,{P}S002_P001,MI,2.5\n"},
        r"line 2, column 'score': expected an integer score from 1 to 5, found '2.5'",
    ),
    (
        {"individual_ratings_DOT_csv": "rater,clip_id,scale,score\nR1,S9_P1,MI,2\n"},
        r"line 2, column 'clip_id': unknown clip 'S9_P1'",
    ),
    (
        {
            "individual_ratings_DOT_csv": f"rater,clip_id,scale,score\nR1,{P}S002_P001,MI,2\n"
            f"R1,{P}S002_P001,MI,3\n"
        },
        r"line 3, column 'score': rater 'R1' scored clip .* twice \(first on line 2\)",
    ),
    (
        {"individual_ratings_DOT_csv": "rater,clip,score\n"},
        r"individual_ratings.csv, line 1: expected the header 'rater,clip_id,scale,score'",
    ),
    (
        {"individual_ratings_DOT_csv": f"rater,clip_id,scale,score\n,{P}S002_P001,MI,2\n"},
        r"line 2, column 'rater': expected a non-empty value",
    ),
]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"system_mos__system_mos_all_DOT_csv": "S002,3.8,3.8\nS999,1.6,3.4\n"},
            r"system_mos_all.csv, line 2: system 'S999' has no clip",
        ),
        (
            {"demo_prompt_info_DOT_txt":
             f"id\ttext\n{P}S001_P007.wav\tx\n{P}S009_P001.wav\ty\n"},
            r"demo_prompt_info.txt, line 3: clip '" + P + "S009_P001' is in no",
        ),
    ],
)
def test_folders_the_baseline_runs_on_load_with_a_warning(tmp_path, changes, message):
    """Defect 8: the baseline runs on these; emoconvey used to refuse them."""
    root = make_release(tmp_path / "rel", **changes)
    with pytest.warns(DegenerateDataWarning, match=message):
        ds = load_musiceval(root)
    assert len(ds.clips) == 5


@pytest.mark.parametrize(("changes", "message"), BAD)
def test_bad_input_messages(tmp_path, changes, message):
    root = make_release(tmp_path / "rel", **changes)
    with pytest.raises(DataValidationError, match=message):
        load_musiceval(root)


def test_missing_pieces(tmp_path):
    with pytest.raises(EmoconveyError, match="does not exist or is not a folder"):
        load_musiceval(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EmoconveyError, match=r"expected at least one sets/<split>_mos_list.txt"):
        load_musiceval(tmp_path / "empty")
    root = make_release(tmp_path / "rel", prompt_info_DOT_txt=None)
    with pytest.raises(EmoconveyError, match="prompt_info.txt is missing"):
        load_musiceval(root)
    root = make_release(tmp_path / "rel2")
    with pytest.raises(DataValidationError, match=r"audio file 'wav/.*' is missing"):
        load_musiceval(root, check_audio=True)


def test_write_errors(tmp_path):
    ds = load_musiceval(make_release(tmp_path / "rel"))
    with pytest.raises(EmoconveyError, match="expected a MusicEvalDataset"):
        write_musiceval(ds.clips, tmp_path / "o")
    bad = MusicEvalDataset(
        clips=ds.clips.assign(MI=[9.0, 1, 1, 1, 1]), prompts=ds.prompts, system_mos=ds.system_mos
    )
    with pytest.raises(EmoconveyError, match="has MI 9.0; expected 1-5"):
        write_musiceval(bad, tmp_path / "o")
    with pytest.raises(EmoconveyError, match="no split given for clip"):
        write_musiceval(ds, tmp_path / "o", split={"x": "train"})
    with pytest.raises(EmoconveyError, match="expected a weight >= 0"):
        write_musiceval(ds, tmp_path / "o", split={"train": -1.0})
    tabbed = MusicEvalDataset(
        clips=ds.clips, prompts=ds.prompts.assign(text=["a\tb", "c", "d"]), system_mos=ds.system_mos
    )
    with pytest.raises(EmoconveyError, match="holds a tab or a line break"):
        write_musiceval(tabbed, tmp_path / "o")
    assert ds.clips["MI"].iloc[0] == 3.4  # the caller's data is untouched


# ---------------------------------------------------------------- official layout (issue 16)


def test_official_layout_loads_and_round_trips(tmp_path):
    """total_mos_list.txt, person_mos/, 6-decimal scores and system_mos_phase1.csv."""
    src = make_official_release(tmp_path / "rel")
    ds = load_musiceval(src)
    assert len(ds.clips) == 30 and set(ds.splits) == {"train", "dev", "test"}
    assert ds.score_decimals == 6 and len(ds.total_order) == 30
    assert ds.ratings["rater"].nunique() == 7 and len(ds.ratings) == 30 * 3 * 2
    mean = ds.ratings.groupby(["clip_id", "scale"])["score"].mean().unstack()
    clips = ds.clips.set_index("clip_id")
    assert (mean["MI"] - clips["MI"]).abs().max() < 1e-6
    write_musiceval(ds, tmp_path / "out")
    assert _files(tmp_path / "out") == _files(src)
    assert check_compatibility(src).empty


def test_total_list_must_repeat_the_split_lists(tmp_path):
    total = official_files()["sets/total_mos_list.txt"].replace(",3.333333,", ",3.400000,", 1)
    src = make_official_release(tmp_path / "rel", sets__total_mos_list_DOT_txt=total)
    with pytest.raises(DataValidationError, match="other scores than in"):
        load_musiceval(src)


def test_quoted_prompt_reads_back_in_pandas(tmp_path):
    ds = load_musiceval(make_release(tmp_path / "rel"))
    prompts = ds.prompts.copy()
    texts = ['"Hello", she said; calm piano', 'Rock with "loud" drums']
    prompts.loc[0:1, "text"] = texts
    ds = MusicEvalDataset(ds.clips, prompts, ds.system_mos, ds.ratings)
    write_musiceval(ds, tmp_path / "out")
    read = pd.read_csv(tmp_path / "out" / "prompt_info.txt", sep="\t")
    assert read["text"].tolist() == texts
    assert load_musiceval(tmp_path / "out").prompts["text"].tolist()[:2] == texts


def test_export_always_has_demo_file_and_phase1_system_file(tmp_path):
    ds = load_musiceval(make_release(tmp_path / "rel", demo_prompt_info_DOT_txt=None,
                                     prompt_info_DOT_txt="id\ttext\nP001\tx\nP002\ty\nP007\tz\n"))
    ds = MusicEvalDataset(ds.clips, ds.prompts, system_mos_from_clips(ds.clips), ds.ratings)
    write_musiceval(ds, tmp_path / "out")
    assert (tmp_path / "out" / "demo_prompt_info.txt").read_text() == "id\ttext\n"
    assert (tmp_path / "out" / "system_mos" / "system_mos_phase1.csv").is_file()


def _emoconvey_ids(tmp_path):
    clips = pd.DataFrame({
        "clip_id": ["emoconvey-musicgen.small_happy.2", "emoconvey-musicgen.small_sad.1",
                    "emoconvey-S001_calm.1", "emoconvey-audioldm_happy.2"],
        "system": ["musicgen.small", "musicgen.small", "S001", "audioldm"],
        "prompt_id": ["happy.2", "sad.1", "calm.1", "happy.2"],
        "MI": [3.0, 2.5, 4.0, 1.5], "TA": [2.0, 3.5, 4.5, 2.0],
        "split": ["train", "train", "dev", "dev"],
    })
    clips["audio_file"] = "wav/" + clips["clip_id"] + ".wav"
    prompts = pd.DataFrame({"prompt_id": ["happy.2", "sad.1", "calm.1"],
                            "text": ["happy", '"sad", slow', "calm"],
                            "source": "intent", "per_clip": False})
    ratings = pd.DataFrame({"rater": ["R1", "R1", "R2"],
                            "clip_id": ["emoconvey-S001_calm.1"] * 2
                            + ["emoconvey-audioldm_happy.2"],
                            "scale": ["MI", "TA", "MI"], "score": [4, 5, 2]})
    return MusicEvalDataset(clips, prompts, system_mos_from_clips(clips), ratings)


def test_check_compatibility_finds_what_the_official_tools_misread(tmp_path, caplog):
    ds = _emoconvey_ids(tmp_path)
    with caplog.at_level("WARNING"):
        write_musiceval(ds, tmp_path / "keep")
    assert "official MusicEval tools would misread" in caplog.text
    problems = check_compatibility(tmp_path / "keep")
    text = " ".join(problems["problem"])
    assert "system read as 'emoconvey-musicgen.small'" in text
    assert "answer.txt would name" in text
    assert "prompt text read as nan" in text or "prompt text read as None" in text
    again = load_musiceval(tmp_path / "keep")  # emoconvey's own ids stay readable
    assert sorted(again.clips["system"]) == ["S001", "audioldm", "musicgen.small",
                                             "musicgen.small"]


def test_audiomos_ids_resolve_every_clip_in_the_official_tools(tmp_path):
    ds = _emoconvey_ids(tmp_path)
    write_musiceval(ds, tmp_path / "am", ids="audiomos")
    out = tmp_path / "am"
    assert check_compatibility(out).empty
    systems = pd.read_csv(out / "sets" / "systems.csv")
    assert systems.to_dict("list") == {"system_id": ["S002", "S003", "S004"],
                                       "system": ["musicgen.small", "S001", "audioldm"]}
    clips, problems = official_reading(out)
    assert problems.empty
    back = dict(zip(systems["system_id"], systems["system"], strict=True))
    want = sorted(zip(ds.clips["system"], ds.clips["MI"], ds.clip_prompts()["text"],
                      strict=True))
    mi = {c: v for c, v in zip(load_musiceval(out).clips["clip_id"],
                               load_musiceval(out).clips["MI"], strict=True)}
    got = sorted(zip(clips["system"].map(back), clips["name"].str[:-4].map(mi), clips["text"],
                     strict=True))
    assert got == want
    assert (out / "individual_ratings.csv").is_file()  # incomplete MI/TA pairs


def test_audiomos_export_refuses_what_cannot_be_fixed(tmp_path):
    ds = _emoconvey_ids(tmp_path)
    prompts = ds.prompts.copy()
    prompts.loc[0, "text"] = "NA"  # pandas reads it as a missing value
    ds = MusicEvalDataset(ds.clips, prompts, ds.system_mos, ds.ratings)
    with pytest.raises(EmoconveyError, match="official MusicEval tools would misread"):
        write_musiceval(ds, tmp_path / "am", ids="audiomos")


def test_check_compatibility_on_a_release_the_official_tools_would_misread(tmp_path):
    sys_file = "system,MI,TA\n" + official_files()["system_mos/system_mos_phase1.csv"]
    sys_file = "".join(sys_file.splitlines(keepends=True)[:-1])  # S005 has no row
    prompts = official_files()["prompt_info.txt"].replace("prompt number 004", '"quoted" 4')
    src = make_official_release(tmp_path / "rel", system_mos__system_mos_phase1_DOT_csv=sys_file,
                                prompt_info_DOT_txt=prompts)
    problems = check_compatibility(src)
    text = list(problems["problem"])
    assert any("is not 'system,MI,TA (no header)'" in p for p in text)
    assert any("system 'S005' has clips but no row" in p for p in text)
    # a field starting with '"' is read as pandas reads it, so the texts agree
    assert not any("prompt text" in p for p in text)
    texts = load_musiceval(src).prompts.set_index("prompt_id")["text"]
    assert texts["P004"] == "quoted 4, instrumental"
    assert set(problems.columns) == {"file", "line", "tool", "problem"}
