"""Lexicon method: valence/arousal of a text from the norms of the words it contains.

A text is tokenised, each content word is looked up in the norms (its spelling first,
then its lemma from ``simplemma``, then a few derivational rules such as
*happily* → *happy*), and the found words are combined into one point:

.. math::

    \\hat v = \\frac{\\sum_i w_i v_i}{\\sum_i w_i}, \\qquad
    w_i = 1 + \\sqrt{(v_i - 5)^2 + (a_i - 5)^2},

so that emotionally loaded words (far from the neutral point (5, 5)) count more than
neutral ones (*piano*, *song*); arousal likewise. A word preceded by a negator (*not*,
*no*, *never*, *without*, *…n't*) within ``window`` tokens and no punctuation in between
is negated with the shifted-reflection heuristic of sentiment lexica (Taboada et al.,
2011): valence is mirrored about the scale centre and shrunk,
:math:`v' = 5 - f (v - 5)`, arousal is shrunk towards the centre,
:math:`a' = 5 + f (a - 5)`, with :math:`f` = ``negation_factor`` (0.5).

References
----------
Taboada, M., Brooke, J., Tofiloski, M., Voll, K., & Stede, M. (2011). Lexicon-based
methods for sentiment analysis. Computational Linguistics, 37, 267-307.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from emoconvey._validation import SCALE_CENTRE, require_columns
from emoconvey.errors import EmoconveyError

__all__ = [
    "NEGATORS",
    "STOPWORDS",
    "FoundWord",
    "Lexicon",
    "LexiconScore",
    "tokenize",
]

NEGATORS: frozenset[str] = frozenset(
    {"not", "no", "never", "without", "nor", "neither", "none", "nothing", "cannot", "hardly"}
)
"""Words that negate the next content word (plus any token ending in ``n't``)."""

STOPWORDS: frozenset[str] = frozenset(
    (
        "a", "an", "the", "and", "or", "but", "if", "then", "than", "so", "as", "of", "at",
        "by", "for", "from", "in", "into", "on", "onto", "to", "with", "within", "about",
        "above", "across", "after", "against", "along", "among", "around", "before",
        "behind", "below", "beneath", "beside", "between", "beyond", "during", "except",
        "inside", "near", "off", "out", "outside", "over", "past", "since", "through",
        "throughout", "till", "toward", "towards", "under", "until", "up", "upon", "via",
        "i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "you", "your",
        "yours", "he", "him", "his", "she", "her", "hers", "it", "its", "they", "them",
        "their", "theirs", "this", "that", "these", "those", "who", "whom", "whose",
        "which", "what", "where", "when", "why", "how", "is", "am", "are", "was", "were",
        "be", "been", "being", "have", "has", "had", "having", "do", "does", "did", "doing",
        "will", "would", "shall", "should", "can", "could", "may", "might", "must", "very",
        "really", "quite", "rather", "too", "also", "just", "only", "even", "still", "more",
        "most", "much", "many", "some", "any", "each", "every", "all", "both", "few",
        "such", "own", "same", "other", "another", "there", "here", "s", "t", "d", "ll",
        "m", "re", "ve",
    )
)
"""Function words skipped by the lexicon method (they carry no emotion norm of their own)."""

_TOKEN = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)*|[.,;:!?()]")
_PUNCT = frozenset(".,;:!?()")

# derivational fallbacks tried after the lemma: (suffix, replacements)
_SUFFIX_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ily", ("y",)),
    ("ly", ("", "le")),
    ("ness", ("",)),
    ("ful", ("",)),
    ("ic", ("y", "")),
    ("ical", ("y", "")),
)


def tokenize(text: str) -> list[str]:
    """Word and punctuation tokens of ``text`` (letters and apostrophes form words)."""
    return _TOKEN.findall(text)


def _is_negator(token: str) -> bool:
    t = token.lower().replace("’", "'")
    return t in NEGATORS or t.endswith("n't")


@dataclass(frozen=True)
class FoundWord:
    """A text token found in the norms.

    Attributes
    ----------
    token : str
        The token as written.
    word : str
        The norms entry it matched (the token, its lemma or a derived form).
    valence, arousal : float
        The entry's norms.
    negated : bool
        Whether a negator preceded it (the values above are before negation).
    """

    token: str
    word: str
    valence: float
    arousal: float
    negated: bool


@dataclass(frozen=True)
class LexiconScore:
    """The lexicon method's result for one text.

    Attributes
    ----------
    valence, arousal : float
        Combined point (NaN when no content word was found).
    found : list of FoundWord
    content_words : int
        Content tokens (not function words, not negators, not punctuation).
    coverage : float
        ``len(found) / content_words`` (0 when the text has no content word).
    """

    valence: float
    arousal: float
    found: list[FoundWord] = field(default_factory=list)
    content_words: int = 0
    coverage: float = 0.0

    def describe(self) -> str:
        """``word=V/A`` for each found word (``not word=…`` when negated), ``; ``-joined."""
        return "; ".join(
            f"{'not ' if f.negated else ''}{f.word}={f.valence:.2f}/{f.arousal:.2f}"
            for f in self.found
        )


def _default_lemmatizer() -> Callable[[str], str]:
    try:
        import simplemma
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise EmoconveyError(
            "the lexicon method needs simplemma; install it with pip install 'emoconvey[text]'"
        ) from exc

    def lemmatize(token: str) -> str:
        return str(simplemma.lemmatize(token, lang="en"))

    return lemmatize


class Lexicon:
    """Word lookup in lexicon norms with lemmatisation and negation.

    Parameters
    ----------
    norms : DataFrame
        Columns ``word``, ``valence``, ``arousal`` (as from
        :func:`emoconvey.intents.load_norms`). Not modified.
    negation_factor : float, default 0.5
        :math:`f` in the module docstring, in [0, 1].
    window : int, default 3
        How many tokens after a negator it reaches.
    lemmatizer : callable, optional
        ``token -> lemma``; default ``simplemma`` for English (its dictionaries ship in
        the package: nothing is downloaded).
    """

    def __init__(
        self,
        norms: pd.DataFrame,
        *,
        negation_factor: float = 0.5,
        window: int = 3,
        lemmatizer: Callable[[str], str] | None = None,
    ) -> None:
        require_columns(norms, ["word", "valence", "arousal"], name="norms")
        if not 0.0 <= float(negation_factor) <= 1.0:
            raise EmoconveyError(
                f"negation_factor: expected a number in [0, 1], got {negation_factor!r}"
            )
        if int(window) < 1:
            raise EmoconveyError(f"window: expected an integer >= 1, got {window!r}")
        self.negation_factor = float(negation_factor)
        self.window = int(window)
        self._lemmatize = lemmatizer or _default_lemmatizer()
        words = norms["word"].astype(str).tolist()
        val = norms["valence"].to_numpy(dtype=float)
        aro = norms["arousal"].to_numpy(dtype=float)
        self._exact: dict[str, tuple[str, float, float]] = {}
        self._lower: dict[str, tuple[str, float, float]] = {}
        for w, v, a in zip(words, val, aro, strict=True):
            self._exact.setdefault(w, (w, float(v), float(a)))
            # a lower-case entry wins over a capitalised one ('aids' over 'AIDS')
            if w == w.lower() or w.lower() not in self._lower:
                self._lower[w.lower()] = (w, float(v), float(a))

    def lookup(self, token: str) -> tuple[str, float, float] | None:
        """The norms entry ``(word, valence, arousal)`` for a token, or None.

        Order: exact spelling, lower case, lemma, derivational rules on the lower-case
        token and on the lemma.
        """
        if token in self._exact:
            return self._exact[token]
        low = token.lower().replace("’", "'")
        if low in self._lower:
            return self._lower[low]
        lemma = self._lemmatize(low).lower()
        if lemma in self._lower:
            return self._lower[lemma]
        for base in dict.fromkeys((low, lemma)):
            for suffix, repl in _SUFFIX_RULES:
                if base.endswith(suffix) and len(base) > len(suffix) + 2:
                    stem = base[: -len(suffix)]
                    for r in repl:
                        hit = self._lower.get(stem + r)
                        if hit is not None:
                            return hit
        return None

    def score(self, text: str) -> LexiconScore:
        """Score one text (see the module docstring)."""
        if not isinstance(text, str) or not text.strip():
            raise EmoconveyError(f"text: expected a non-empty text, got {text!r}")
        found: list[FoundWord] = []
        content = 0
        negate_left = 0
        for token in tokenize(text):
            if token in _PUNCT:
                negate_left = 0
                continue
            if _is_negator(token):
                negate_left = self.window
                continue
            if token.lower() in STOPWORDS:
                negate_left = max(negate_left - 1, 0)
                continue
            content += 1
            hit = self.lookup(token)
            if hit is not None:
                found.append(FoundWord(token, hit[0], hit[1], hit[2], negate_left > 0))
                negate_left = 0
            else:
                negate_left = max(negate_left - 1, 0)
        if not found:
            return LexiconScore(np.nan, np.nan, [], content, 0.0)
        v = np.array([f.valence for f in found])
        a = np.array([f.arousal for f in found])
        neg = np.array([f.negated for f in found])
        c, f = SCALE_CENTRE, self.negation_factor
        v = np.where(neg, c - f * (v - c), v)
        a = np.where(neg, c + f * (a - c), a)
        w = 1.0 + np.hypot(v - c, a - c)
        return LexiconScore(
            float(np.sum(w * v) / np.sum(w)),
            float(np.sum(w * a) / np.sum(w)),
            found,
            content,
            len(found) / content if content else 0.0,
        )

    def score_many(self, texts: Iterable[str]) -> list[LexiconScore]:
        """:meth:`score` for each text."""
        return [self.score(t) for t in texts]
