"""Lexicon method: lookup through lemmas and derivations, negation, combination."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emoconvey.errors import EmoconveyError
from emoconvey.intents.lexicon import Lexicon, tokenize

NORMS = pd.DataFrame(
    {
        "word": ["happy", "sad", "calm", "piano", "melancholy", "child", "dance", "AIDS", "aids"],
        "valence": [8.47, 2.10, 6.89, 6.40, 3.74, 6.50, 7.27, 1.50, 3.52],
        "arousal": [6.05, 3.49, 1.67, 3.61, 4.13, 4.80, 5.48, 5.00, 4.00],
    }
)


def _weighted(points):
    v = np.array([p[0] for p in points])
    a = np.array([p[1] for p in points])
    w = 1 + np.hypot(v - 5, a - 5)
    return float(np.sum(w * v) / w.sum()), float(np.sum(w * a) / w.sum())


def test_tokenize_keeps_apostrophes_and_punctuation():
    assert tokenize("I don't feel happy, really!") == [
        "I", "don't", "feel", "happy", ",", "really", "!"
    ]


def test_single_word_is_its_norm_and_lemmas_are_found():
    lex = Lexicon(NORMS)
    s = lex.score("happy")
    assert (s.valence, s.arousal, s.coverage) == (8.47, 6.05, 1.0)
    assert lex.score("happier").found[0].word == "happy"  # simplemma lemma
    assert lex.score("children").found[0].word == "child"
    assert lex.score("happily").found[0].word == "happy"  # derivational rule -ily -> -y
    assert lex.score("melancholic").found[0].word == "melancholy"  # -ic -> -y
    assert lex.score("calmly").found[0].word == "calm"
    assert lex.score("AIDS").valence == 1.50  # exact spelling first
    assert lex.score("Aids").valence == 3.52


def test_phrase_combines_found_words_weighted_by_distance_from_neutral():
    s = Lexicon(NORMS).score("a melancholic piano ballad")
    assert [f.word for f in s.found] == ["melancholy", "piano"]
    assert s.content_words == 3  # melancholic, piano, ballad (not in these norms)
    assert s.coverage == pytest.approx(2 / 3)
    exp = _weighted([(3.74, 4.13), (6.40, 3.61)])
    assert (s.valence, s.arousal) == pytest.approx(exp)
    assert s.describe() == "melancholy=3.74/4.13; piano=6.40/3.61"


def test_negation_reflects_valence_and_shrinks_arousal():
    lex = Lexicon(NORMS)
    for text in ("not happy", "I'm not very happy", "never happy", "isn't happy", "no happy"):
        s = lex.score(text)
        assert s.found[0].negated, text
        assert s.valence == pytest.approx(5 - 0.5 * (8.47 - 5))
        assert s.arousal == pytest.approx(5 + 0.5 * (6.05 - 5))
    # punctuation ends the scope, and only the next found word is negated
    s = lex.score("not now, happy")
    assert not s.found[0].negated
    s = lex.score("not sad but happy")
    assert [f.negated for f in s.found] == [True, False]
    exp = _weighted([(5 + 0.5 * (5 - 2.10), 5 + 0.5 * (3.49 - 5)), (8.47, 6.05)])
    assert (s.valence, s.arousal) == pytest.approx(exp)
    # the window: 'not' reaches 3 tokens
    assert not lex.score("not x y z happy").found[0].negated
    assert Lexicon(NORMS, negation_factor=1.0).score("not happy").valence == pytest.approx(
        5 - (8.47 - 5)
    )


def test_no_word_found_and_errors():
    lex = Lexicon(NORMS)
    s = lex.score("the of and")
    assert np.isnan(s.valence) and s.content_words == 0 and s.coverage == 0.0
    s = lex.score("zzz qqq")
    assert np.isnan(s.arousal) and s.content_words == 2 and s.coverage == 0.0
    with pytest.raises(EmoconveyError, match="non-empty text"):
        lex.score("   ")
    with pytest.raises(EmoconveyError, match="negation_factor"):
        Lexicon(NORMS, negation_factor=2)
    with pytest.raises(EmoconveyError, match="'arousal'"):
        Lexicon(NORMS.drop(columns="arousal"))
    assert "arousal" in NORMS.columns  # the caller's table is untouched
