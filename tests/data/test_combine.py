"""Combining a user's study with the AImoclips reference."""

from __future__ import annotations

import pandas as pd
import pytest

from emoconvey.data import load_dataset
from emoconvey.data.combine import combine_datasets
from emoconvey.errors import EmoconveyError
from synthetic import synthetic_ratings


def test_combine_with_reference(aimoclips):
    mine = load_dataset(synthetic_ratings(systems=("MyTTM",), seed=3))
    both = combine_datasets([mine, aimoclips], labels=["yours", "aimoclips"])
    assert both.systems == ["MyTTM", *aimoclips.systems]
    assert len(both.clips) == len(mine.clips) + 991
    assert len(both.ratings) == len(mine.ratings) + 6162
    # P1 of one study is not P1 of the other
    assert both.ratings["listener"].nunique() == (
        mine.ratings["listener"].nunique() + 111
    )
    assert both.ratings["listener"].str.startswith(("yours:", "aimoclips:")).all()
    pd.testing.assert_frame_equal(both.intents, aimoclips.intents)
    assert "+" in both.source


def test_combine_rejects_shared_system(aimoclips):
    clash = load_dataset(synthetic_ratings(systems=("Suno",)))
    with pytest.raises(EmoconveyError, match="system 'Suno' appears in both"):
        combine_datasets([clash, aimoclips], labels=["yours", "aimoclips"])


def test_combine_rejects_conflicting_norms(aimoclips, tmp_path):
    intents = aimoclips.intents.copy()
    intents.loc[intents["intent"] == "happy", "norm_valence"] = 7.9
    mine = load_dataset(synthetic_ratings(systems=("X",)), intents=intents)
    with pytest.raises(EmoconveyError, match="intent 'happy' has norm_valence"):
        combine_datasets([mine, aimoclips])


def test_combine_adds_new_intents(aimoclips):
    intents = pd.concat(
        [aimoclips.intents,
         pd.DataFrame([{"intent": "furious", "quadrant": "lv_ha",
                        "norm_valence": 2.57, "norm_arousal": 6.09}])],
        ignore_index=True,
    )
    ratings = pd.DataFrame(
        {"user": [f"P{i}" for i in range(5)], "audio_file": ["New_furious_1.wav"] * 5,
         "valence": [2, 3, 2, 1, 3], "arousal": [7, 8, 6, 7, 9]}
    )
    mine = load_dataset(ratings, intents=intents)
    both = combine_datasets([aimoclips, mine])
    assert both.intents["intent"].tolist()[-1] == "furious"
    assert len(both.intents) == 13


def test_combine_argument_errors(aimoclips):
    with pytest.raises(EmoconveyError, match="at least one"):
        combine_datasets([])
    with pytest.raises(EmoconveyError, match="labels"):
        combine_datasets([aimoclips], labels=["a", "b"])


def test_combine_tolerates_float_noise_but_not_real_differences(aimoclips):
    # 2.53 read back through a lossy float path is 2.5300000000000002 (one ulp away)
    noisy = aimoclips.intents.copy()
    noisy["norm_valence"] = [float(repr(v + 0.0)) for v in noisy["norm_valence"]]
    angry = noisy["intent"] == "angry"
    noisy.loc[angry, "norm_valence"] = 2.5300000000000002
    assert noisy.loc[angry, "norm_valence"].iloc[0] != 2.53
    mine = load_dataset(synthetic_ratings(systems=("Noisy",)), intents=noisy)
    both = combine_datasets([mine, aimoclips], labels=["yours", "aimoclips"])
    assert set(both.systems) == {"Noisy", *aimoclips.systems}
    # a difference in the 8th significant digit is a different norm
    close = aimoclips.intents.copy()
    close.loc[close["intent"] == "angry", "norm_valence"] = 2.5300001
    other = load_dataset(synthetic_ratings(systems=("Close",)), intents=close)
    with pytest.raises(EmoconveyError, match=r"norm_valence 2\.5300001 in 'yours' but 2\.53"):
        combine_datasets([other, aimoclips], labels=["yours", "aimoclips"])
