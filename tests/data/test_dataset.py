"""Tests of the dataset layer: loading, validation errors, exclusion, writing."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emoconvey.data import (
    bundled_path,
    derive_clips,
    load_aimoclips,
    load_dataset,
    read_clips,
    read_intents,
    read_ratings,
    write_dataset,
)
from emoconvey.data.formats import CLIPS_COLUMNS, RATINGS_COLUMNS
from emoconvey.errors import DataValidationError, EmoconveyError
from emoconvey.intents import aimoclips_intents

RATINGS = "user,audio_file,valence,arousal\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def small_study(tmp_path: Path, *, extra_ratings: str = "", clips_text: str | None = None):
    """4 ratings each for two clips, release format."""
    lines = [RATINGS]
    for clip in ("SysA_happy_1_crop.wav", "SysB_sad_1_crop.wav"):
        for p, (v, a) in enumerate([(7, 6), (8, 7), (6, 5), (9, 6)], start=1):
            lines.append(f"P{p},{clip},{v},{a}\n")
    ratings = write(tmp_path, "ratings.csv", "".join(lines) + extra_ratings)
    if clips_text is None:
        clips_text = (
            "index,audio_file,model,emotion,file_index,valence,arousal,num_annotators\n"
            "1,SysA_happy_1_crop.wav,SysA,happy,1,7.5,6.0,4\n"
            "2,SysB_sad_1_crop.wav,SysB,sad,1,7.5,6.0,4\n"
        )
    clips = write(tmp_path, "clips.csv", clips_text)
    return ratings, clips


# ------------------------------------------------------------------ bundled release


def test_bundled_release_counts(aimoclips):
    assert len(aimoclips.clips) == 991
    assert len(aimoclips.ratings) == 6162
    assert aimoclips.ratings["listener"].nunique() == 111
    assert sorted(aimoclips.systems) == [
        "AudioLDM2", "MusicGen", "Mustango", "StableAudio", "Suno", "Udio"
    ]
    assert len(aimoclips.intents) == 12
    assert aimoclips.excluded.empty
    assert list(aimoclips.clips.columns) == list(CLIPS_COLUMNS)
    assert list(aimoclips.ratings.columns) == list(RATINGS_COLUMNS)
    assert aimoclips.clips["n_ratings"].sum() == len(aimoclips.ratings)


def test_clip_means_match_release_to_rounding(aimoclips):
    release = pd.read_csv(bundled_path("clips_metadata.csv")).set_index("audio_file")
    ours = aimoclips.clips.set_index("clip")
    for axis in ("valence", "arousal"):
        diff = (ours[axis] - release.loc[ours.index, axis]).abs()
        assert diff.max() <= 0.0005 + 1e-12
        np.testing.assert_array_equal(ours[axis].round(3), release.loc[ours.index, axis])
    np.testing.assert_array_equal(
        ours["n_ratings"], release.loc[ours.index, "num_annotators"]
    )


def test_norms_attached_from_intents(aimoclips):
    sad = aimoclips.clips[aimoclips.clips["intent"] == "sad"]
    assert (sad["norm_valence"] == 2.10).all()
    assert (sad["norm_arousal"] == 3.49).all()
    assert (sad["quadrant"] == "lv_la").all()


def test_ratings_only_gives_same_clip_table(aimoclips):
    only = load_dataset(bundled_path("ratings_metadata.csv"))
    a = only.clips.sort_values("clip").reset_index(drop=True)
    b = aimoclips.clips.sort_values("clip").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_write_round_trip_is_byte_identical(aimoclips, tmp_path):
    paths = write_dataset(aimoclips, tmp_path)
    for key, name in (
        ("ratings", "ratings_metadata.csv"),
        ("clips", "clips_metadata.csv"),
        ("intents", "emotion_intents_metadata.csv"),
    ):
        assert paths[key].read_bytes() == bundled_path(name).read_bytes()
    again = load_dataset(paths["ratings"], paths["clips"], paths["intents"])
    pd.testing.assert_frame_equal(again.clips, aimoclips.clips)


def test_dataframe_input_is_not_modified(aimoclips):
    ratings = aimoclips.ratings.copy()
    before = ratings.copy()
    ds = load_dataset(ratings, aimoclips.clips, aimoclips.intents)
    pd.testing.assert_frame_equal(ratings, before)
    assert len(ds.clips) == 991


def test_repr_mentions_counts(aimoclips):
    text = repr(aimoclips)
    assert "991 clips" in text and "6162 ratings" in text and "111 listeners" in text


# ------------------------------------------------------------------ exclusion rule


def test_exclusion_threshold_is_configurable(aimoclips):
    ds = load_aimoclips(min_ratings=6)
    expected = int((aimoclips.clips["n_ratings"] < 6).sum())
    assert len(ds.excluded) == expected == 67 + 205
    assert (ds.excluded["n_ratings"] < 6).all()
    assert set(ds.excluded["clip"]).isdisjoint(ds.clips["clip"])
    assert set(ds.excluded["clip"]).isdisjoint(ds.ratings["clip"])
    assert len(ds.ratings) == ds.clips["n_ratings"].sum()
    assert (ds.excluded["reason"] == "fewer than 6 ratings").all()


def test_three_ratings_are_excluded_four_kept(tmp_path):
    text = RATINGS + "".join(f"P{p},SysA_happy_1.wav,7,6\n" for p in range(1, 4))
    text += "".join(f"P{p},SysA_sad_1.wav,3,3\n" for p in range(1, 5))
    ds = load_dataset(write(tmp_path, "r.csv", text))
    assert list(ds.clips["clip"]) == ["SysA_sad_1.wav"]
    assert list(ds.excluded["clip"]) == ["SysA_happy_1.wav"]
    assert ds.excluded["n_ratings"].tolist() == [3]


def test_unrated_clip_in_clips_file_is_reported_excluded(tmp_path):
    ratings, clips = small_study(
        tmp_path,
        clips_text=(
            "audio_file,model,emotion\n"
            "SysA_happy_1_crop.wav,SysA,happy\n"
            "SysB_sad_1_crop.wav,SysB,sad\n"
            "SysB_calm_1_crop.wav,SysB,calm\n"
        ),
    )
    ds = load_dataset(ratings, clips)
    assert ds.excluded.to_dict("records") == [
        {"clip": "SysB_calm_1_crop.wav", "system": "SysB", "intent": "calm",
         "n_ratings": 0, "reason": "no ratings"}
    ]


def test_min_ratings_argument_checked(tmp_path):
    ratings, _ = small_study(tmp_path)
    with pytest.raises(EmoconveyError, match="min_ratings"):
        load_dataset(ratings, min_ratings=0)


# ------------------------------------------------------------------ custom systems/intents


def test_extra_systems_and_intents(tmp_path):
    intents = write(
        tmp_path,
        "intents.csv",
        "quadrant,emotion,gt_valence,gt_arousal\n"
        "hv_ha,happy,8.47,6.05\nlv_la,melancholic,3.0,3.2\n",
    )
    lines = [RATINGS]
    for clip in ("my_model_v2_melancholic_3.wav", "my_model_v2_happy_1.wav"):
        lines += [f"P{p},{clip},{p + 2},{p + 1}\n" for p in range(1, 6)]
    ds = load_dataset(write(tmp_path, "r.csv", "".join(lines)), intents=intents)
    assert ds.systems == ["my_model_v2"]
    row = ds.clips.set_index("clip").loc["my_model_v2_melancholic_3.wav"]
    assert row["intent"] == "melancholic"
    assert row["file_index"] == 3
    assert row["quadrant"] == "lv_la"
    assert row["valence"] == pytest.approx(5.0)


def test_free_form_names_accepted_with_clips_file(tmp_path):
    lines = [RATINGS] + [f"P{p},take{p % 1}.wav,5,5\n" for p in range(1, 6)]
    ratings = write(tmp_path, "r.csv", "".join(lines))
    clips = write(tmp_path, "c.csv", "audio_file,model,emotion\ntake0.wav,Mine,calm\n")
    ds = load_dataset(ratings, clips)
    assert ds.clips["system"].tolist() == ["Mine"]
    assert ds.clips["file_index"].isna().all()


# ------------------------------------------------------------------ bad input: each names the place


def check(exc: pytest.ExceptionInfo, *, file: Path | str, row: int | None, column: str | None):
    err = exc.value
    assert isinstance(err, DataValidationError)
    assert isinstance(err, ValueError)
    assert err.file == str(file)
    assert err.row == row
    assert err.column == column
    message = str(err)
    assert str(file) in message
    if row is not None:
        assert f"line {row}" in message
    if column is not None:
        assert repr(column) in message


@pytest.mark.parametrize(
    ("value", "found"),
    [("10", "'10'"), ("0", "'0'"), ("5.5", "'5.5'"), ("high", "'high'"), ("", "''")],
)
def test_rating_outside_scale_or_not_integer(tmp_path, value, found):
    text = RATINGS + "P1,SysA_happy_1.wav,5,5\n" + f"P2,SysA_happy_1.wav,{value},5\n"
    path = write(tmp_path, "r.csv", text)
    with pytest.raises(DataValidationError) as exc:
        load_dataset(path)
    check(exc, file=path, row=3, column="valence")
    assert "integer rating from 1 to 9" in str(exc.value)
    assert found in str(exc.value)


def test_integer_valued_float_is_accepted(tmp_path):
    text = RATINGS + "".join(f"P{p},SysA_happy_1.wav,5.0,{p}\n" for p in range(1, 5))
    ds = load_dataset(write(tmp_path, "r.csv", text))
    assert ds.ratings["valence"].dtype == np.int64


def test_arousal_checked_too(tmp_path):
    path = write(tmp_path, "r.csv", RATINGS + "P1,SysA_happy_1.wav,5,-1\n")
    with pytest.raises(DataValidationError) as exc:
        read_ratings(path)
    check(exc, file=path, row=2, column="arousal")


def test_unknown_intent_in_file_name(tmp_path):
    path = write(tmp_path, "r.csv", RATINGS + "P1,SysA_happy_1.wav,5,5\nP1,SysA_joyous_1.wav,5,5\n")
    with pytest.raises(DataValidationError) as exc:
        load_dataset(path)
    check(exc, file=path, row=3, column="audio_file")
    assert "joyous" in str(exc.value) and "clips file" in str(exc.value)


def test_unknown_intent_in_clips_file(tmp_path):
    ratings, clips = small_study(
        tmp_path,
        clips_text=(
            "audio_file,model,emotion\n"
            "SysA_happy_1_crop.wav,SysA,happy\n"
            "SysB_sad_1_crop.wav,SysB,melancholy\n"
        ),
    )
    with pytest.raises(DataValidationError) as exc:
        load_dataset(ratings, clips)
    check(exc, file=clips, row=3, column="emotion")
    assert "unknown intent 'melancholy'" in str(exc.value)


def test_clip_rated_twice_by_same_listener(tmp_path):
    path = write(
        tmp_path,
        "r.csv",
        RATINGS + "P1,SysA_happy_1.wav,5,5\nP2,SysA_happy_1.wav,5,5\nP1,SysA_happy_1.wav,6,6\n",
    )
    with pytest.raises(DataValidationError) as exc:
        load_dataset(path)
    check(exc, file=path, row=4, column="audio_file")
    assert "'P1' rated clip 'SysA_happy_1.wav' twice (first on line 2)" in str(exc.value)


def test_rating_for_clip_absent_from_clips_file(tmp_path):
    ratings, clips = small_study(tmp_path, extra_ratings="P9,SysC_calm_2_crop.wav,4,4\n")
    with pytest.raises(DataValidationError) as exc:
        load_dataset(ratings, clips)
    check(exc, file=ratings, row=10, column="audio_file")
    assert "SysC_calm_2_crop.wav" in str(exc.value)
    assert str(clips) in str(exc.value)


@pytest.mark.parametrize(
    ("row", "column", "needle"),
    [
        ("SysA_happy_1_crop.wav,SysB,happy,1", "model", "names system 'SysA'"),
        ("SysA_happy_1_crop.wav,SysA,sad,1", "emotion", "names intent 'happy'"),
        ("SysA_happy_1_crop.wav,SysA,happy,2", "file_index", "has index 1"),
    ],
)
def test_file_name_contradicts_columns(tmp_path, row, column, needle):
    ratings, clips = small_study(
        tmp_path,
        clips_text=(
            "audio_file,model,emotion,file_index\n"
            "SysB_sad_1_crop.wav,SysB,sad,1\n" + row + "\n"
        ),
    )
    with pytest.raises(DataValidationError) as exc:
        load_dataset(ratings, clips)
    check(exc, file=clips, row=3, column=column)
    assert needle in str(exc.value)


def test_ratings_model_column_contradicting_name(tmp_path):
    path = write(
        tmp_path,
        "r.csv",
        "user,audio_file,model,emotion,valence,arousal\n"
        "P1,SysA_happy_1.wav,SysA,happy,5,5\nP2,SysA_happy_1.wav,SysB,happy,5,5\n",
    )
    with pytest.raises(DataValidationError) as exc:
        load_dataset(path)
    check(exc, file=path, row=3, column="model")


@pytest.mark.parametrize(
    ("header", "missing"),
    [
        ("user,audio_file,valence\n", "'arousal'"),
        ("listener,audio_file,valence,arousal\n", "'user'"),
    ],
)
def test_missing_ratings_columns(tmp_path, header, missing):
    path = write(tmp_path, "r.csv", header + "P1,SysA_happy_1.wav,5\n")
    with pytest.raises(DataValidationError) as exc:
        read_ratings(path)
    check(exc, file=path, row=None, column=None)
    assert "missing column(s)" in str(exc.value) and missing in str(exc.value)


def test_missing_clips_columns(tmp_path):
    ratings, clips = small_study(tmp_path, clips_text="audio_file,emotion\nx.wav,happy\n")
    with pytest.raises(DataValidationError, match=r"missing column\(s\) 'model'") as exc:
        load_dataset(ratings, clips)
    assert exc.value.file == str(clips)


def test_missing_intents_columns(tmp_path):
    path = write(tmp_path, "i.csv", "quadrant,emotion,gt_valence\nhv_ha,happy,8\n")
    with pytest.raises(DataValidationError, match="'gt_arousal'") as exc:
        read_intents(path)
    assert exc.value.file == str(path)


@pytest.mark.parametrize("text", ["", RATINGS])
def test_empty_ratings_file(tmp_path, text):
    path = write(tmp_path, "r.csv", text)
    with pytest.raises(DataValidationError, match="empty|no data rows") as exc:
        load_dataset(path)
    assert exc.value.file == str(path)


@pytest.mark.parametrize("reader", [read_clips, read_intents])
def test_empty_other_files(tmp_path, reader):
    path = write(tmp_path, "x.csv", "")
    with pytest.raises(DataValidationError, match="empty") as exc:
        reader(path)
    assert exc.value.file == str(path)


def test_missing_file_named(tmp_path):
    with pytest.raises(EmoconveyError, match=re.escape(str(tmp_path / "nope.csv"))):
        load_dataset(tmp_path / "nope.csv")


def test_blank_listener(tmp_path):
    path = write(tmp_path, "r.csv", RATINGS + "P1,SysA_happy_1.wav,5,5\n,SysA_happy_1.wav,5,5\n")
    with pytest.raises(DataValidationError) as exc:
        read_ratings(path)
    check(exc, file=path, row=3, column="listener")


def test_clip_listed_twice_in_clips_file(tmp_path):
    ratings, clips = small_study(
        tmp_path,
        clips_text=(
            "audio_file,model,emotion\n"
            "SysA_happy_1_crop.wav,SysA,happy\n"
            "SysB_sad_1_crop.wav,SysB,sad\n"
            "SysA_happy_1_crop.wav,SysA,happy\n"
        ),
    )
    with pytest.raises(DataValidationError) as exc:
        load_dataset(ratings, clips)
    check(exc, file=clips, row=4, column="audio_file")


def test_clips_count_disagrees_with_ratings(tmp_path):
    ratings, clips = small_study(
        tmp_path,
        clips_text=(
            "audio_file,model,emotion,num_annotators\n"
            "SysA_happy_1_crop.wav,SysA,happy,4\n"
            "SysB_sad_1_crop.wav,SysB,sad,5\n"
        ),
    )
    with pytest.raises(DataValidationError, match="num_annotators 5 but") as exc:
        load_dataset(ratings, clips)
    check(exc, file=clips, row=3, column="num_annotators")


def test_clips_mean_disagrees_with_ratings(tmp_path):
    ratings, clips = small_study(
        tmp_path,
        clips_text=(
            "audio_file,model,emotion,valence,arousal\n"
            "SysA_happy_1_crop.wav,SysA,happy,7.5,6.0\n"
            "SysB_sad_1_crop.wav,SysB,sad,7.5,6.002\n"
        ),
    )
    with pytest.raises(DataValidationError, match="mean arousal 6.002") as exc:
        load_dataset(ratings, clips)
    check(exc, file=clips, row=3, column="arousal")


def test_clips_mean_within_rounding_accepted(tmp_path):
    ratings, clips = small_study(
        tmp_path,
        clips_text=(
            "audio_file,model,emotion,valence,arousal\n"
            "SysA_happy_1_crop.wav,SysA,happy,7.5004,6.0\n"
            "SysB_sad_1_crop.wav,SysB,sad,7.5,5.9996\n"
        ),
    )
    assert len(load_dataset(ratings, clips).clips) == 2


def test_bad_number_in_clips_file(tmp_path):
    _, clips = small_study(
        tmp_path,
        clips_text=(
            "audio_file,model,emotion,num_annotators\n"
            "SysA_happy_1_crop.wav,SysA,happy,four\n"
        ),
    )
    with pytest.raises(DataValidationError) as exc:
        read_clips(clips)
    check(exc, file=clips, row=2, column="num_annotators")


@pytest.mark.parametrize(
    ("line", "column", "needle"),
    [
        ("hv_ha,happy,8.47,16.05", "gt_arousal", "between 1 and 9"),
        ("hv_ha,happy,x,6.05", "gt_valence", "finite number"),
        ("lv_ha,happy,8.47,6.05", "quadrant", "lie in quadrant 'hv_ha'"),
        ("top,happy,8.47,6.05", "quadrant", "expected one of"),
    ],
)
def test_bad_intents_file(tmp_path, line, column, needle):
    path = write(tmp_path, "i.csv", "quadrant,emotion,gt_valence,gt_arousal\n" + line + "\n")
    with pytest.raises(DataValidationError) as exc:
        read_intents(path)
    check(exc, file=path, row=2, column=column)
    assert needle in str(exc.value)


def test_dataframe_errors_name_the_table():
    bad = pd.DataFrame(
        {"listener": ["P1"], "clip": ["SysA_happy_1.wav"], "valence": [12], "arousal": [3]}
    )
    with pytest.raises(DataValidationError) as exc:
        load_dataset(bad)
    assert exc.value.file == "ratings" and exc.value.row == 2 and exc.value.column == "valence"


def test_derive_clips_rejects_conflicting_attribution():
    ratings = pd.DataFrame(
        {
            "clip": ["a.wav", "a.wav"],
            "system": ["S1", "S2"],
            "intent": ["happy", "happy"],
            "valence": [5, 6],
            "arousal": [5, 6],
        }
    )
    with pytest.raises(EmoconveyError, match="'a.wav'"):
        derive_clips(ratings, aimoclips_intents())


def test_bundled_intents_file_matches_intents_module():
    pd.testing.assert_frame_equal(read_intents(bundled_path("emotion_intents_metadata.csv")),
                                  aimoclips_intents())
