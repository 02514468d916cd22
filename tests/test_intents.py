"""Emotion intents: AImoclips table, Warriner norms, selection rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emoconvey.errors import DataValidationError, EmoconveyError, EmoconveyWarning
from emoconvey.intents import (
    INTENT_COLUMNS,
    aimoclips_intents,
    intents_from_words,
    load_norms,
    quadrant_of,
    screen_candidates,
    select_intents,
    validate_intents,
)

AIMOCLIPS_WORDS = [
    "happy", "excited", "energetic", "angry", "anxious", "scared",
    "sad", "gloomy", "dull", "relaxed", "calm", "tranquil",
]


def test_aimoclips_intents_table():
    df = aimoclips_intents()
    assert list(df.columns) == list(INTENT_COLUMNS)
    assert df["intent"].tolist() == AIMOCLIPS_WORDS
    assert df.groupby("quadrant").size().to_dict() == {
        "hv_ha": 3, "hv_la": 3, "lv_ha": 3, "lv_la": 3
    }
    assert df.set_index("intent").loc["calm", ["norm_valence", "norm_arousal"]].tolist() == [
        6.89, 1.67
    ]
    df.loc[0, "intent"] = "changed"
    assert aimoclips_intents().loc[0, "intent"] == "happy"  # no shared state


def test_quadrant_of_scalar_array_and_split_line():
    assert quadrant_of(8, 7) == "hv_ha"
    assert quadrant_of(2, 7) == "lv_ha"
    assert quadrant_of(2, 2) == "lv_la"
    assert quadrant_of(8, 2) == "hv_la"
    assert quadrant_of(5.0, 7) is None
    out = quadrant_of(np.array([6.0, 4.0]), np.array([5.0, 4.0]))
    assert out.tolist() == [None, "lv_la"]
    assert quadrant_of(5.5, 5.5, split=6.0) == "lv_la"
    with pytest.raises(EmoconveyError, match="same shape"):
        quadrant_of([1, 2], [3])


def test_warriner_norms_reproduce_aimoclips_targets(warriner_path):
    norms = load_norms(warriner_path)
    assert len(norms) == 13915
    built = intents_from_words(AIMOCLIPS_WORDS, norms)
    pd.testing.assert_frame_equal(built, aimoclips_intents())


def test_selection_rule_reproduces_aimoclips(warriner_path):
    norms = load_norms(warriner_path)
    candidates = ["joyful", "table", *AIMOCLIPS_WORDS, "furious", "serene", "zzzz"]
    # joyful: arousal 5.53; table: valence 5.49; serene: arousal 4.67; furious is lv_ha
    screened = screen_candidates(candidates, norms)
    reasons = screened.set_index("word")["reason"]
    assert reasons["joyful"] == "neutral_arousal"  # arousal 5.53
    assert reasons["table"] == "neutral_valence"  # valence 5.49
    assert reasons["zzzz"] == "not_in_norms"
    assert reasons["furious"] == "quadrant_full"
    assert reasons["serene"] == "neutral_arousal"
    chosen = select_intents(candidates, norms)
    pd.testing.assert_frame_equal(chosen, aimoclips_intents())


def test_selection_warns_when_quadrant_short(warriner_path):
    norms = load_norms(warriner_path)
    with pytest.warns(EmoconveyWarning, match="fewer than 2 words"):
        out = select_intents(["happy", "sad", "calm", "angry", "gloomy"], norms, per_quadrant=2)
    assert out["intent"].tolist() == ["happy", "angry", "sad", "gloomy", "calm"]


def test_selection_argument_errors(warriner_path):
    norms = load_norms(warriner_path)
    with pytest.raises(EmoconveyError, match="per_quadrant"):
        select_intents(["happy"], norms, per_quadrant=0)
    with pytest.raises(EmoconveyError, match="neutral_band"):
        select_intents(["happy"], norms, neutral_band=(6.0, 7.0))
    with pytest.raises(EmoconveyError, match="listed twice"):
        select_intents(["happy", "Happy"], norms)
    with (
        pytest.warns(EmoconveyWarning),
        pytest.raises(EmoconveyError, match="no candidate"),
    ):
        select_intents(["table"], norms)


def test_custom_words_keep_spelling_and_warn_on_neutral(warriner_path):
    norms = load_norms(warriner_path)
    out = intents_from_words(["Sad"], norms)
    assert out["intent"].tolist() == ["Sad"]
    with pytest.warns(EmoconveyWarning, match="neutral band"):
        intents_from_words(["joyful"], norms)
    with pytest.raises(EmoconveyError, match="not found in the norms: 'qwerty'"):
        intents_from_words(["qwerty"], norms)


def test_norms_exact_case_first(warriner_path):
    norms = load_norms(warriner_path)
    lower = intents_from_words(["aids"], norms)
    assert lower["norm_valence"].item() == 3.52
    # 'AIDS' has arousal exactly 5.0: on the split line, so it has no quadrant
    with pytest.raises(EmoconveyError, match="no quadrant: 'AIDS'"):
        intents_from_words(["AIDS"], norms)


def test_load_norms_errors(tmp_path):
    with pytest.raises(EmoconveyError, match="does not exist"):
        load_norms(tmp_path / "none.csv")
    bad = tmp_path / "n.csv"
    bad.write_text("Word,V.Mean.Sum\nhappy,8\n")
    with pytest.raises(DataValidationError, match="'A.Mean.Sum'"):
        load_norms(bad)
    bad.write_text("Word,V.Mean.Sum,A.Mean.Sum\nhappy,8,x\n")
    with pytest.raises(DataValidationError) as exc:
        load_norms(bad)
    assert exc.value.row == 2 and exc.value.column == "A.Mean.Sum"
    bad.write_text("Word,V.Mean.Sum,A.Mean.Sum\nhappy,8,6\nhappy,8,6\n")
    with pytest.raises(DataValidationError, match="appears twice") as exc:
        load_norms(bad)
    assert exc.value.row == 3
    bad.write_text("")
    with pytest.raises(DataValidationError, match="empty"):
        load_norms(bad)


def test_validate_intents_errors():
    good = aimoclips_intents()
    with pytest.raises(DataValidationError, match="'norm_arousal'"):
        validate_intents(good.drop(columns="norm_arousal"))
    dup = pd.concat([good, good.iloc[[0]]], ignore_index=True)
    with pytest.raises(DataValidationError, match="listed twice") as exc:
        validate_intents(dup, name="x.csv")
    assert exc.value.row == 14 and exc.value.file == "x.csv"
    blank = good.copy()
    blank.loc[2, "intent"] = " "
    with pytest.raises(DataValidationError, match="non-empty") as exc:
        validate_intents(blank)
    assert exc.value.row == 4
    with pytest.raises(DataValidationError, match="at least 1"):
        validate_intents(good.iloc[:0])
