"""Zero-shot valence and arousal from a CLAP model and a norms file (no rated audio).

For users without rated audio, a joint audio-text model (CLAP; Wu et al., 2023) can place
a clip in the valence-arousal plane through words whose valence and arousal are known:

1. every emotion word :math:`w` (by default :data:`DEFAULT_WORDS`, those found in the
   norms file) becomes a text descriptor ``template.format(word=w)`` (default
   ``"{word} music"``), embedded by CLAP's text tower;
2. each clip's audio embedding :math:`a` and each descriptor embedding :math:`t_w` are
   L2-normalised and compared by cosine similarity :math:`s_w = a \\cdot t_w`;
3. the :math:`k` most similar words (default :data:`DEFAULT_TOP_K`) are weighted by a
   softmax with temperature :math:`\\tau` (default :data:`DEFAULT_TEMPERATURE`),
   :math:`p_w = e^{s_w/\\tau} / \\sum_{v \\in \\text{top-}k} e^{s_v/\\tau}`, and the clip's
   valence and arousal are the weighted means of the words' norms,
   :math:`\\hat v = \\sum_w p_w V_w`, :math:`\\hat a = \\sum_w p_w A_w`.

A small :math:`\\tau` approaches the single nearest word's norms; a large one the mean of
the top :math:`k`. The result is therefore always inside the range of the chosen words'
norms (a weighted mean), and its accuracy is unknown: nothing was fitted to ratings.
Predictions are marked ``zero-shot`` in ``predictions.csv`` (``method``) and in the
report. The norms come from a file the user gives (e.g. Warriner et al., 2013, whose
licence forbids redistribution: emoconvey ships no norms, only the word list).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from emoconvey.errors import EmoconveyError
from emoconvey.predict.extractors import Extractor, extract_features

__all__ = [
    "DEFAULT_TEMPERATURE",
    "DEFAULT_TEMPLATE",
    "DEFAULT_TOP_K",
    "DEFAULT_WORDS",
    "zero_shot_predict",
]

log = logging.getLogger(__name__)

DEFAULT_TEMPLATE = "{word} music"
"""Text descriptor of an emotion word."""

DEFAULT_TOP_K = 10
"""Words whose norms are averaged per clip."""

DEFAULT_TEMPERATURE = 0.05
"""Softmax temperature over cosine similarities (CLAP similarities differ by a few
hundredths between words, so 0.05 weights the nearest words most without ignoring the
others)."""

DEFAULT_WORDS: tuple[str, ...] = (
    "happy", "joyful", "cheerful", "excited", "energetic", "triumphant", "playful",
    "upbeat", "euphoric", "lively", "heroic", "epic", "angry", "aggressive", "furious",
    "anxious", "tense", "scared", "fearful", "nervous", "agitated", "dramatic", "sad",
    "gloomy", "melancholy", "depressed", "sorrowful", "lonely", "dull", "bored", "tired",
    "dark", "somber", "solemn", "relaxed", "calm", "tranquil", "peaceful", "serene",
    "gentle", "tender", "romantic", "dreamy", "nostalgic", "hopeful", "soothing",
    "mysterious", "bright",
)
"""Emotion words tried by default (the AImoclips intents and common music-emotion terms);
only those present in the norms file are used."""


def _check(top_k: int, temperature: float, template: str) -> None:
    if isinstance(top_k, bool) or int(top_k) < 1:
        raise EmoconveyError(f"--top-k: expected at least 1, got {top_k!r}")
    if not np.isfinite(temperature) or temperature <= 0:
        raise EmoconveyError(f"--temperature: expected a positive number, got {temperature!r}")
    if "{word}" not in template:
        raise EmoconveyError(f"--template: expected a text with {{word}}, got {template!r}")


def _vocabulary(norms: pd.DataFrame, words: Sequence[str] | None) -> pd.DataFrame:
    wanted = [str(w).strip() for w in (DEFAULT_WORDS if words is None else words)]
    table = norms.drop_duplicates("word").set_index("word")
    found = [w for w in dict.fromkeys(wanted) if w in table.index]
    missing = [w for w in wanted if w not in table.index]
    if not found:
        raise EmoconveyError(
            "--norms: none of the emotion words is in the norms file (tried "
            + ", ".join(wanted[:8]) + (" ..." if len(wanted) > 8 else "") + ")"
        )
    if missing:
        log.info("zero-shot: %d word(s) not in the norms file: %s", len(missing),
                 ", ".join(missing[:10]))
    return table.loc[found, ["valence", "arousal"]].reset_index()


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.where(norm > 0, norm, 1.0)


def zero_shot_predict(
    extractor: Extractor,
    audio_files: Sequence[str],
    norms: pd.DataFrame,
    *,
    words: Sequence[str] | None = None,
    template: str = DEFAULT_TEMPLATE,
    top_k: int = DEFAULT_TOP_K,
    temperature: float = DEFAULT_TEMPERATURE,
    cache_dir: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[pd.DataFrame, dict[str, object]]:
    """Zero-shot valence and arousal of ``audio_files`` (see the module docstring).

    Parameters
    ----------
    extractor : Extractor
        A CLAP extractor (it must have a text tower).
    audio_files : sequence of str
    norms : DataFrame
        ``word``, ``valence``, ``arousal`` (:func:`emoconvey.intents.load_norms`).
    words, template, top_k, temperature
        The descriptors and the weighting; ``words`` default :data:`DEFAULT_WORDS`.
    cache_dir : path, optional
        Feature cache of the audio embeddings.

    Returns
    -------
    predictions : DataFrame
        ``valence``, ``arousal`` and ``top_words`` (the three heaviest words with their
        weights), one row per file.
    settings : dict
        ``method``, ``template``, ``top_k``, ``temperature``, ``words`` (those used).
    """
    _check(top_k, temperature, template)
    if not extractor.supports_text:
        raise EmoconveyError(f"--zero-shot needs a model with a text tower; {extractor.id} "
                             "has none")
    vocab = _vocabulary(norms, words)
    texts = [template.format(word=w) for w in vocab["word"]]
    T = _unit(np.asarray(extractor.embed_texts(texts), dtype=np.float64))
    feats = extract_features(extractor, list(audio_files), cache_dir=cache_dir,
                             progress=progress)
    A = _unit(np.asarray(feats.matrix, dtype=np.float64))
    S = A @ T.T  # (clips, words) cosine similarities
    k = min(int(top_k), len(vocab))
    top = np.argsort(-S, axis=1, kind="stable")[:, :k]
    s_top = np.take_along_axis(S, top, axis=1) / temperature
    w = np.exp(s_top - s_top.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    V, Ar = vocab["valence"].to_numpy(float), vocab["arousal"].to_numpy(float)
    out = pd.DataFrame({
        "valence": (w * V[top]).sum(axis=1),
        "arousal": (w * Ar[top]).sum(axis=1),
        "top_words": [
            "; ".join(f"{vocab['word'].iloc[j]} {p:.2f}" for j, p in zip(row[:3], wr[:3],
                                                                       strict=True))
            for row, wr in zip(top, w, strict=True)
        ],
    })
    settings = {"method": f"zero-shot {extractor.id}", "template": template, "top_k": k,
                "temperature": float(temperature), "words": vocab["word"].tolist()}
    return out, settings
