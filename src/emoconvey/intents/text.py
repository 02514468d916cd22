"""Intents from any text: predicted valence/arousal targets with prediction intervals.

Four methods (see :mod:`emoconvey.intents.lexicon`, :mod:`emoconvey.intents.embedding`
and :mod:`emoconvey.intents.finetune`):

``lexicon``
    Norms of the words the text contains (lemmatised, negation-aware), combined.
``embedding``
    A regressor from sentence embeddings to the norms, trained from the user's norms file
    on first use and cached in the user's cache folder.
``hybrid`` (default)
    The norm itself when the text is a single word of the norms; for a single word found
    through another form of itself (lemma, derivation), a learned blend of that form's
    norm and the embedding regressor (:func:`hybrid_weights`); the embedding regressor
    otherwise.
``finetune``
    The packaged sentence model fine-tuned on the norms (top layers + a regression
    head, with topic phrases so that topic words carry little emotion), trained on first
    use (or by ``emoconvey intents train``) and cached; intervals are split-conformal
    from calibration words held out of training (single words, or phrases built from
    them for texts of several words).

A text in which no lexicon word is found and whose model interval (valence or arousal)
covers the whole neutral band [4, 6] has no recognisable emotional content: it is left
out (NaN targets) with a warning, as the ``lexicon`` method leaves out texts without a
lexicon word.

Intervals are split-conformal (:mod:`emoconvey.intents.conformal`) with 10-fold
out-of-fold residuals on the lexicon words as calibration set; their coverage is stated
for *single lexicon words* (the only texts with known targets) and is an assumption for
phrases. A text whose norm is the lexicon's own (``hybrid``/``lexicon`` on an exact
entry) gets the confidence interval of the mean rating, :math:`v \\pm z\\,s/\\sqrt{n}`,
when the norms file has SDs and rating counts, and a zero-width interval otherwise.

The AImoclips exclusion rule is applied to the interval: ``quadrant_or_band`` is
``"neutral band"`` when the valence or the arousal interval overlaps [4, 6], and the
quadrant otherwise.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from emoconvey._files import sha256_file
from emoconvey._validation import check_choice, check_positive_int, warn_degenerate
from emoconvey.errors import EmoconveyError, EmoconveyWarning
from emoconvey.intents import NEUTRAL_BAND, load_norms, quadrant_of
from emoconvey.intents.conformal import check_coverage, conformal_quantile, interval_coverage
from emoconvey.intents.lexicon import Lexicon

__all__ = [
    "METHODS",
    "TEXT_INTENT_COLUMNS",
    "evaluate_text_methods",
    "finetuned_model",
    "hybrid_weights",
    "intents_from_text",
    "norms_fingerprint",
    "text_regressor",
    "write_text_intents",
]

log = logging.getLogger(__name__)

METHODS: tuple[str, ...] = ("lexicon", "embedding", "hybrid", "finetune")

PROTOCOLS: tuple[str, ...] = ("10-fold", "8:1:1")
"""Evaluation protocols: k-fold cross-validation (any ``k-fold``) or one seeded 8:1:1
split (train / calibration / test), as in Plisiecki & Sobieszek (2023)."""

TEXT_INTENT_COLUMNS: tuple[str, ...] = (
    "text",
    "intent",
    "quadrant",
    "norm_valence",
    "norm_arousal",
    "valence_low",
    "valence_high",
    "arousal_low",
    "arousal_high",
    "coverage",
    "quadrant_or_band",
    "source",
    "lexicon_words",
    "lexicon_coverage",
    "neighbours",
)
"""Columns of :func:`intents_from_text` (the first four make an intents table)."""


def norms_fingerprint(path: str | Path) -> str:
    """SHA-256 of a norms file's bytes (part of the cache key of trained regressors)."""
    return sha256_file(path)


def _clean_texts(texts: Iterable[str] | str) -> list[str]:
    if isinstance(texts, str):
        texts = [texts]
    out = []
    for i, t in enumerate(texts):
        if not isinstance(t, str) or not t.strip():
            raise EmoconveyError(f"texts[{i}]: expected a non-empty text, got {t!r}")
        out.append(re.sub(r"\s+", " ", t.strip()))
    if not out:
        raise EmoconveyError("texts: expected at least one text")
    seen: set[str] = set()
    for t in out:
        if t in seen:
            raise EmoconveyError(f"texts: {t!r} is listed twice; expected each text once")
        seen.add(t)
    return out


def _targets(norms: pd.DataFrame) -> list[str]:
    has_d = "dominance" in norms.columns and np.isfinite(
        pd.to_numeric(norms["dominance"], errors="coerce")
    ).all()
    return ["valence", "arousal", "dominance"] if has_d else ["valence", "arousal"]


def text_regressor(
    norms: str | Path,
    *,
    model: str | Path | None = None,
    cache_dir: str | Path | None = None,
    device: str | None = None,
    retrain: bool = False,
    progress: bool = False,
):
    """The embedding regressor for a norms file, trained on first use and then cached.

    The cache key is the norms file's SHA-256, the model id and
    :data:`~emoconvey.intents.embedding.METHOD_VERSION`; the regressor is stored under
    ``<cache>/regressors/<key>/`` as safetensors + JSON.

    Returns
    -------
    (TextRegressor, Encoder)
    """
    from emoconvey.intents.embedding import (
        METHOD_VERSION,
        HeadParams,
        TextRegressor,
        cache_folder,
        load_encoder,
    )

    norms = Path(norms)
    table = load_norms(norms)
    encoder = load_encoder(model, device=device)
    cache = cache_folder(cache_dir)
    params = HeadParams()
    fp = norms_fingerprint(norms)
    key = hashlib.sha256(
        f"{fp}|{encoder.model_id}|{METHOD_VERSION}|{params}".encode()
    ).hexdigest()[:32]
    folder = cache / "regressors" / key
    if not retrain and (folder / "regressor.json").is_file():
        log.info("regressor from cache %s", folder)
        return TextRegressor.load(folder), encoder
    t0 = time.perf_counter()
    words = table["word"].tolist()
    x = encoder.embed_cached(words, cache=cache, progress=progress)
    targets = _targets(table)
    reg = TextRegressor.fit(
        x,
        table[targets].to_numpy(dtype=float),
        words=words,
        targets=targets,
        model_id=encoder.model_id,
        params=params,
        meta={"norms_sha256": fp, "norms_file": norms.name},
    )
    # the hybrid blend for words found through another form (same folds as the CV above)
    y2 = table[["valence", "arousal"]].to_numpy(dtype=float)
    lex = _lexicon_oof(table, _fold_ids(len(table), reg.meta["folds"], reg.meta["seed"]))
    w = hybrid_weights(lex, reg.oof[:, :2], y2)
    found = np.isfinite(lex).all(1)
    blended = reg.oof[found, :2] + w * (lex[found] - reg.oof[found, :2])
    reg.meta["hybrid_weights"] = w.tolist()
    reg.meta["hybrid_residuals"] = np.abs(blended - y2[found]).round(4).tolist()
    reg.save(folder)
    log.info("trained the regressor in %.1f s; cached in %s", time.perf_counter() - t0, folder)
    return reg, encoder


def finetuned_model(
    norms: str | Path,
    *,
    model: str | Path | None = None,
    cache_dir: str | Path | None = None,
    retrain: bool = False,
    progress: bool = False,
    params=None,
):
    """The fine-tuned model for a norms file, trained on first use and then cached.

    A seeded tenth of the words (fold 0 of :func:`_fold_ids` with 10 folds) is held out
    of training to calibrate the split-conformal intervals. The cache key is the norms
    file's SHA-256, the base model id,
    :data:`~emoconvey.intents.finetune.FINETUNE_VERSION` and the settings; the model is
    stored under ``<cache>/finetuned/<key>/`` as safetensors + JSON.

    Parameters
    ----------
    params : FinetuneParams, optional
        Fine-tuning settings (default :class:`~emoconvey.intents.finetune.FinetuneParams`).

    Returns
    -------
    FinetunedModel
    """
    from emoconvey.intents.embedding import cache_folder, resolve_model
    from emoconvey.intents.finetune import (
        FINETUNE_VERSION,
        FinetunedModel,
        FinetuneParams,
        fit_finetuned,
    )

    norms = Path(norms)
    table = load_norms(norms)
    params = params or FinetuneParams()
    _, model_id = resolve_model(model)
    fp = norms_fingerprint(norms)
    key = hashlib.sha256(
        f"{fp}|{model_id}|{FINETUNE_VERSION}|{params}".encode()
    ).hexdigest()[:32]
    folder = cache_folder(cache_dir) / "finetuned" / key
    if not retrain and (folder / "finetuned.json").is_file():
        log.info("fine-tuned model from cache %s", folder)
        return FinetunedModel.load(folder, model=model)
    if len(table) < 3:
        raise EmoconveyError(f"norms: expected at least 3 words to fine-tune, got {len(table)}")
    targets = _targets(table)
    y = table[targets].to_numpy(dtype=float)
    words = table["word"].astype(str).to_numpy()
    cal = _fold_ids(len(table), 10, params.seed) == 0
    fitted = fit_finetuned(
        words[~cal].tolist(), y[~cal], targets=targets, model=model, params=params,
        calibration=(words[cal].tolist(), y[cal]), progress=progress,
        meta={"norms_sha256": fp, "norms_file": norms.name},
    )
    fitted.save(folder)
    log.info("fine-tuned model cached in %s", folder)
    return fitted


def _norm_ci(table: pd.DataFrame, i: int, axis: str, z: float) -> tuple[float, float]:
    v = float(table[axis].iloc[i])
    sd_col, n_col = f"{axis}_sd", f"{axis}_n"
    if sd_col in table.columns and n_col in table.columns:
        sd = pd.to_numeric(table[sd_col], errors="coerce").iloc[i]
        n = pd.to_numeric(table[n_col], errors="coerce").iloc[i]
        if np.isfinite(sd) and np.isfinite(n) and n > 0:
            half = z * float(sd) / np.sqrt(float(n))
            return max(v - half, 1.0), min(v + half, 9.0)
    return v, v


def _fold_ids(n: int, folds: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    fold = np.empty(n, dtype=np.int64)
    fold[rng.permutation(n)] = np.arange(n) % folds
    return fold


def _lexicon_oof(table: pd.DataFrame, fold: np.ndarray, lemmatizer=None) -> np.ndarray:
    """Lexicon-method predictions of each word from the norms of the other folds."""
    out = np.full((len(table), 2), np.nan)
    words = table["word"].astype(str).to_numpy()
    for f in np.unique(fold):
        te = fold == f
        lex = Lexicon(table.loc[~te], lemmatizer=lemmatizer)
        for i in np.flatnonzero(te):
            s = lex.score(words[i])
            out[i] = (s.valence, s.arousal)
    return out


def hybrid_weights(
    lexicon: np.ndarray, embedding: np.ndarray, truth: np.ndarray
) -> np.ndarray:
    """Least-squares weight of the lexicon in the hybrid blend, per axis, clipped to [0, 1].

    For words the lexicon finds through another form of themselves, the hybrid
    prediction is :math:`\\hat y = \\hat y_e + w (\\hat y_l - \\hat y_e)` with
    :math:`w = \\sum (\\hat y_l - \\hat y_e)(y - \\hat y_e) / \\sum (\\hat y_l - \\hat y_e)^2`
    fitted on out-of-fold predictions (NaN rows of ``lexicon`` are ignored).
    """
    found = np.isfinite(lexicon).all(1)
    d = lexicon[found] - embedding[found]
    e = truth[found] - embedding[found]
    den = np.sum(d * d, axis=0)
    w = np.divide(np.sum(d * e, axis=0), den, out=np.zeros(d.shape[1]), where=den > 0)
    return np.clip(w, 0.0, 1.0)


def _band(lo_v, hi_v, lo_a, hi_a, quadrant, band=NEUTRAL_BAND):
    lo, hi = band
    crosses = (np.asarray(hi_v) >= lo) & (np.asarray(lo_v) <= hi)
    crosses |= (np.asarray(hi_a) >= lo) & (np.asarray(lo_a) <= hi)
    return np.where(crosses, "neutral band", np.asarray(quadrant, dtype=object))


def _model_rows(
    texts: list[str],
    need: list[int],
    scores: list,
    blend: list[bool],
    *,
    norms: str | Path,
    method: str,
    coverage: float,
    neighbours: int,
    options: dict,
) -> dict[str, np.ndarray]:
    """Model predictions of ``texts[need]``: values, intervals, source, neighbours."""
    n = len(need)
    out = {k: np.full(n, np.nan) for k in ("val", "aro", "lo_v", "hi_v", "lo_a", "hi_a")}
    out["source"] = np.full(n, method if method == "finetune" else "embedding", dtype=object)
    out["neigh"] = np.full(n, "", dtype=object)
    sub = [texts[i] for i in need]
    if method == "finetune":
        fm = finetuned_model(norms, **options)
        pred = fm.predict(sub, progress=options["progress"])
        q = {
            unit: [conformal_quantile(r[:, k], coverage=coverage) if len(r) else np.inf
                   for k in (0, 1)]
            for unit, r in fm.residuals.items()
        }
        qs = [q["phrase"] if len(t.split()) > 1 else q["word"] for t in sub]
    else:
        reg, encoder = text_regressor(norms, **options)
        pred, idx, _ = reg.predict(encoder.embed(sub))
        q = [conformal_quantile(reg.residuals[:, k], coverage=coverage) for k in (0, 1)]
        hres = np.asarray(reg.meta.get("hybrid_residuals", []), dtype=float).reshape(-1, 2)
        hw = np.asarray(reg.meta.get("hybrid_weights", [0.0, 0.0]), dtype=float)
        qh = [conformal_quantile(hres[:, k], coverage=coverage) for k in (0, 1)] if len(
            hres) else q
        qs = [q] * n
        for r, i in enumerate(need):
            if blend[i] and len(hres):
                pred[r, 0] += hw[0] * (scores[i].valence - pred[r, 0])
                pred[r, 1] += hw[1] * (scores[i].arousal - pred[r, 1])
                qs[r] = qh
                out["source"][r] = "hybrid"
            out["neigh"][r] = "; ".join(
                f"{reg.words[j]} ({reg.train_y[j, 0]:.2f}/{reg.train_y[j, 1]:.2f})"
                for j in idx[r, :neighbours]
            )
    out["val"], out["aro"] = pred[:, 0].astype(float), pred[:, 1].astype(float)
    qv = np.array([qi[0] for qi in qs])
    qa = np.array([qi[1] for qi in qs])
    out["lo_v"], out["hi_v"] = out["val"] - qv, out["val"] + qv
    out["lo_a"], out["hi_a"] = out["aro"] - qa, out["aro"] + qa
    return out


def _single_words(scores: list, method: str) -> tuple[list[bool], list[bool]]:
    """Texts whose target is a norm (``single``) or a norm blended with the model."""
    # single content word found in the norms: the norm is the target (lexicon, hybrid)
    single = [
        method in ("lexicon", "hybrid") and s.content_words == 1 and len(s.found) == 1
        and not s.found[0].negated for s in scores
    ]
    # hybrid: a word found through another form of itself is blended with the model
    blend = [
        method == "hybrid" and single[i]
        and s.found[0].word.lower() != s.found[0].token.lower().replace("’", "'")
        for i, s in enumerate(scores)
    ]
    return [a and not b for a, b in zip(single, blend, strict=True)], blend


def _no_content(lo_v, hi_v, lo_a, hi_a, found: np.ndarray, band=NEUTRAL_BAND) -> np.ndarray:
    """Rows without a lexicon word whose valence or arousal interval covers the band."""
    lo, hi = band
    covers = ((np.asarray(lo_v) <= lo) & (np.asarray(hi_v) >= hi)) | (
        (np.asarray(lo_a) <= lo) & (np.asarray(hi_a) >= hi)
    )
    return ~np.asarray(found, dtype=bool) & covers


def intents_from_text(
    texts: Iterable[str] | str,
    *,
    norms: str | Path,
    method: str = "hybrid",
    model: str | Path | None = None,
    coverage: float = 0.9,
    neighbours: int = 5,
    cache_dir: str | Path | None = None,
    device: str | None = None,
    progress: bool = False,
    finetune_params=None,
) -> pd.DataFrame:
    """Predicted valence/arousal targets, intervals and quadrants for free texts.

    Parameters
    ----------
    texts : str or iterable of str
        Prompts, captions or words (non-empty, distinct).
    norms : str or Path
        Norms file in the format of Warriner et al. (2013) (read, never copied).
    method : {"hybrid", "lexicon", "embedding", "finetune"}
    model : str or Path, optional
        sentence-transformers model (default: the packaged all-MiniLM-L6-v2).
    coverage : float, default 0.9
        Nominal coverage of the prediction intervals.
    neighbours : int, default 5
        Nearest lexicon words to list (embedding and hybrid).
    cache_dir : str or Path, optional
        Cache folder (default ``$EMOCONVEY_CACHE_DIR`` or the user cache folder).
    finetune_params : FinetuneParams, optional
        Settings of the ``finetune`` model (part of its cache key).

    Returns
    -------
    DataFrame
        Columns :data:`TEXT_INTENT_COLUMNS`, one row per text in input order. ``intent``
        is the text; ``norm_valence``/``norm_arousal`` the predicted targets (NaN when
        the text is left out: the lexicon method finds no word, or a model method finds
        no lexicon word and its interval covers the neutral band); ``quadrant`` None on a
        split line or NaN; ``source`` says which method gave the row (``lexicon_word``,
        ``lexicon``, ``embedding``, ``hybrid``, ``finetune``); ``lexicon_words`` lists
        ``word=V/A`` of the words found; ``neighbours`` the nearest lexicon words
        ``word (V/A)`` in embedding space (embedding and hybrid).
    """
    texts = _clean_texts(texts)
    method = check_choice(method, METHODS, name="method")
    coverage = check_coverage(coverage)
    neighbours = check_positive_int(neighbours, name="neighbours")
    table = load_norms(norms)
    z = float(stats.norm.ppf(0.5 + coverage / 2))
    scores = Lexicon(table).score_many(texts)
    n = len(texts)
    val, aro, lo_v, hi_v, lo_a, hi_a = (np.full(n, np.nan) for _ in range(6))
    source = np.full(n, "", dtype=object)
    neigh = np.full(n, "", dtype=object)
    index = {w: i for i, w in enumerate(table["word"].astype(str))}

    single, blend = _single_words(scores, method)
    if method in ("lexicon", "hybrid"):
        q_lex = None
        for i, s in enumerate(scores):
            if single[i]:
                j = index[s.found[0].word]
                val[i], aro[i] = s.valence, s.arousal
                lo_v[i], hi_v[i] = _norm_ci(table, j, "valence", z)
                lo_a[i], hi_a[i] = _norm_ci(table, j, "arousal", z)
                source[i] = "lexicon_word"
            elif method == "lexicon" and s.found:
                if q_lex is None:
                    q_lex = _lexicon_quantiles(table, coverage)
                val[i], aro[i] = s.valence, s.arousal
                lo_v[i], hi_v[i] = val[i] - q_lex[0], val[i] + q_lex[0]
                lo_a[i], hi_a[i] = aro[i] - q_lex[1], aro[i] + q_lex[1]
                source[i] = "lexicon"
    need = [i for i in range(n) if not source[i]] if method != "lexicon" else []
    empty = np.zeros(n, dtype=bool)
    if need:
        options = {"model": model, "cache_dir": cache_dir, "progress": progress}
        if method == "finetune":
            options["params"] = finetune_params
        else:
            options["device"] = device
        got = _model_rows(texts, need, scores, blend, norms=norms, method=method,
                          coverage=coverage, neighbours=neighbours, options=options)
        for arr, key in ((val, "val"), (aro, "aro"), (lo_v, "lo_v"), (hi_v, "hi_v"),
                         (lo_a, "lo_a"), (hi_a, "hi_a"), (source, "source"),
                         (neigh, "neigh")):
            arr[need] = got[key]
        empty[need] = _no_content(got["lo_v"], got["hi_v"], got["lo_a"], got["hi_a"],
                                  [bool(scores[i].found) for i in need])
        val[empty] = aro[empty] = np.nan
    lo_v, hi_v, lo_a, hi_a = (np.clip(a, 1.0, 9.0) for a in (lo_v, hi_v, lo_a, hi_a))
    quadrant = np.full(n, None, dtype=object)
    ok = np.isfinite(val) & np.isfinite(aro)
    if ok.any():
        quadrant[ok] = quadrant_of(val[ok], aro[ok])
    band = _band(lo_v, hi_v, lo_a, hi_a, quadrant)
    band[~ok] = None
    _warn_left_out(texts, ~ok & ~empty, empty)
    return pd.DataFrame(
        {
            "text": texts, "intent": texts, "quadrant": quadrant,
            "norm_valence": val, "norm_arousal": aro,
            "valence_low": lo_v, "valence_high": hi_v,
            "arousal_low": lo_a, "arousal_high": hi_a,
            "coverage": coverage, "quadrant_or_band": band, "source": source,
            "lexicon_words": [s.describe() for s in scores],
            "lexicon_coverage": [s.coverage for s in scores],
            "neighbours": neigh,
        },
        columns=list(TEXT_INTENT_COLUMNS),
    )


def _lexicon_quantiles(table: pd.DataFrame, coverage: float) -> list[float]:
    """Conformal half-widths of the lexicon method from its out-of-fold residuals."""
    oof = _lexicon_oof(table, _fold_ids(len(table), 10, 0))
    res = np.abs(oof - table[["valence", "arousal"]].to_numpy(float))
    ok = np.isfinite(res).all(1)
    if ok.any():
        return [conformal_quantile(res[ok, k], coverage=coverage) for k in (0, 1)]
    warn_degenerate(
        "no lexicon word is found through another form of itself, so the "
        "lexicon method cannot be calibrated; its intervals span the scale"
    )
    return [np.inf, np.inf]


def _warn_left_out(texts: list[str], no_word: np.ndarray, no_content: np.ndarray) -> None:
    if no_word.any():
        warnings.warn(
            "no lexicon word found in: "
            + ", ".join(repr(texts[i]) for i in np.flatnonzero(no_word))
            + "; use --method hybrid, embedding or finetune for such texts",
            EmoconveyWarning,
            stacklevel=3,
        )
    if no_content.any():
        warnings.warn(
            "no emotional content found in: "
            + ", ".join(repr(texts[i]) for i in np.flatnonzero(no_content))
            + f" (no lexicon word, and the model's interval covers the neutral band "
            f"[{NEUTRAL_BAND[0]:g}, {NEUTRAL_BAND[1]:g}]); left out",
            EmoconveyWarning,
            stacklevel=3,
        )


def write_text_intents(df: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """Write :func:`intents_from_text` output as an ``emotion_intents_metadata.csv``.

    The file has the release columns ``quadrant``, ``emotion``, ``gt_valence``,
    ``gt_arousal`` first (values rounded to 2 decimals like the norms) and the other
    columns after them. Rows without a quadrant (no word found, or a target on the 5.0
    split line) are left out with an :class:`~emoconvey.errors.EmoconveyWarning`.

    Returns
    -------
    DataFrame
        What was written.
    """
    from emoconvey.intents import validate_intents

    out = df.copy()
    for col in ("norm_valence", "norm_arousal", "valence_low", "valence_high",
                "arousal_low", "arousal_high"):
        out[col] = out[col].round(2)
    out["quadrant"] = quadrant_of(out["norm_valence"], out["norm_arousal"])
    drop = out["quadrant"].isna() | out["norm_valence"].isna()
    if drop.any():
        warnings.warn(
            "left out (no quadrant: no word found or a target on the 5.0 split line): "
            + ", ".join(map(repr, out.loc[drop, "text"])),
            EmoconveyWarning,
            stacklevel=2,
        )
        out = out.loc[~drop]
    if out.empty:
        raise EmoconveyError("texts: no text has a target with a quadrant; nothing to write")
    validate_intents(out, name=str(path))
    release = out.rename(
        columns={"intent": "emotion", "norm_valence": "gt_valence", "norm_arousal": "gt_arousal"}
    )
    first = ["quadrant", "emotion", "gt_valence", "gt_arousal"]
    rest = [c for c in release.columns if c not in first and c != "text"]
    release = release.loc[:, first + rest]
    release.to_csv(path, index=False)
    return release


def _parse_protocol(protocol: str | None, folds: int) -> tuple[str, int]:
    """``(protocol, folds)``: ``"8:1:1"`` has 10 parts (8 train, 1 calibration, 1 test)."""
    if protocol is None:
        protocol = f"{folds}-fold"
    if protocol == "8:1:1":
        return protocol, 10
    m = re.fullmatch(r"(\d+)-fold", str(protocol))
    if not m:
        raise EmoconveyError(
            f"protocol: expected one of {', '.join(map(repr, PROTOCOLS))} (or any 'k-fold'), "
            f"got {protocol!r}"
        )
    return protocol, int(m.group(1))


def _score(p: np.ndarray, y: np.ndarray, groups: list, coverage: float) -> list[dict]:
    """r, MAE and split-conformal coverage per axis over the test rows of ``groups``.

    ``groups`` lists ``(calibration, test)`` boolean masks: the half-width for a test
    group is the conformal quantile of the residuals of its calibration rows.
    """
    rows = []
    for k, axis in enumerate(("valence", "arousal")):
        ok = np.isfinite(p[:, k])
        res = np.abs(p[:, k] - y[:, k])
        scored = np.zeros(len(p), dtype=bool)
        inside = 0.0
        for cal, test in groups:
            cal, te = ok & cal, ok & test
            scored |= te
            if not te.any() or not cal.any():
                continue
            q = conformal_quantile(res[cal], coverage=coverage)
            inside += interval_coverage(y[te, k], p[te, k] - q, p[te, k] + q) * te.sum()
        n_ok = int(scored.sum())
        r = (float(np.corrcoef(p[scored, k], y[scored, k])[0, 1]) if n_ok > 2
             else float("nan"))
        rows.append({
            "axis": axis, "r": r,
            "mae": float(res[scored].mean()) if n_ok else float("nan"),
            "coverage": float(inside / n_ok) if n_ok else float("nan"),
            "n": n_ok,
        })
    return rows


def _finetune_oof(
    table: pd.DataFrame, fold: np.ndarray, protocol: str, *, model, params, progress: bool
) -> tuple[np.ndarray, np.ndarray, list]:
    """Held-out predictions of the fine-tuned model for words and their topic phrases.

    k-fold: one training per fold, every word predicted by the model of the other
    folds. 8:1:1: one training on parts 0-7, predictions for part 8 (calibration) and
    part 9 (test). Returns word predictions ``(n, 2)`` and phrase predictions
    ``(n * len(PHRASES), 2)`` (NaN where not predicted) and the ``(calibration, test)``
    word masks.
    """
    from emoconvey.intents.finetune import PHRASES, fit_finetuned, phrases_of

    targets = _targets(table)
    words = table["word"].astype(str).to_numpy()
    y = table[targets].to_numpy(dtype=float)
    pw = np.full((len(table), 2), np.nan)
    pp = np.full((len(table) * len(PHRASES), 2), np.nan)
    if protocol == "8:1:1":
        runs = [(fold < 8, fold >= 8)]
        groups = [(fold == 8, fold == 9)]
    else:
        runs = [(fold != f, fold == f) for f in np.unique(fold)]
        groups = [(fold != f, fold == f) for f in np.unique(fold)]
    for i, (train, held) in enumerate(runs):
        log.info("fine-tuning %d of %d", i + 1, len(runs))
        fm = fit_finetuned(words[train].tolist(), y[train], targets=targets, model=model,
                           params=params, progress=progress)
        sub = words[held].tolist()
        pred = fm.predict(sub + phrases_of(sub), progress=progress)[:, :2]
        pw[held] = pred[: len(sub)]
        pp[np.repeat(held, len(PHRASES))] = pred[len(sub):]
    return pw, pp, groups


def evaluate_text_methods(
    norms: str | Path,
    *,
    methods: Sequence[str] = METHODS[:3],
    model: str | Path | None = None,
    folds: int = 10,
    protocol: str | None = None,
    seed: int = 0,
    coverage: float = 0.9,
    cache_dir: str | Path | None = None,
    device: str | None = None,
    progress: bool = False,
    finetune_params=None,
) -> pd.DataFrame:
    """Held-out accuracy of the methods on the lexicon words (and, for finetune, phrases).

    Protocol ``"k-fold"`` (default ``folds``-fold): each word is predicted from the
    other folds' norms (seeded folds); interval coverage is cross-conformal: the
    half-width for fold *k* is the conformal quantile of the out-of-fold residuals of
    the other folds. Protocol ``"8:1:1"`` (``finetune`` only, the protocol of
    Plisiecki & Sobieszek, 2023): one seeded split into training (8 parts), calibration
    (1) and test (1) words; one training; the figures are those of the test words, the
    half-width the conformal quantile of the calibration words' residuals.

    For ``lexicon`` a held-out word is found only through a lemma or a derived form
    present in the training folds, so only those words are scored (``n``). For
    ``finetune`` the held-out words are also scored inside the topic phrases
    :data:`~emoconvey.intents.finetune.PHRASES` (``unit`` ``phrase``; targets = the
    word's norms), calibrated on phrases of calibration words.

    Returns
    -------
    DataFrame
        One row per method, unit and axis: ``method``, ``unit`` (``word`` or
        ``phrase``), ``protocol``, ``axis``, ``r`` (Pearson), ``mae``, ``coverage``
        (empirical), ``nominal`` (requested), ``n`` (texts scored), ``seconds`` (time
        of that method).
    """
    methods = [check_choice(m, METHODS, name="method") for m in methods]
    if not methods:
        raise EmoconveyError("methods: expected at least one method")
    coverage = check_coverage(coverage)
    table = load_norms(norms)
    folds = check_positive_int(folds, name="folds", minimum=2)
    protocol, folds = _parse_protocol(protocol, folds)
    if folds < 2 or folds > len(table):
        raise EmoconveyError(
            f"folds: expected 2 to {len(table)} (the words), got {folds}"
        )
    if protocol == "8:1:1" and set(methods) - {"finetune"}:
        raise EmoconveyError(
            "protocol '8:1:1': available for --method finetune only; evaluate the other "
            "methods with k-fold cross-validation"
        )
    y = table[["valence", "arousal"]].to_numpy(dtype=float)
    fold = _fold_ids(len(table), folds, seed)
    kfold = [(fold != f, fold == f) for f in range(folds)]
    memo: dict[str, np.ndarray] = {}
    rows = []
    for m in methods:
        t0 = time.perf_counter()
        if m == "finetune":
            from emoconvey.intents.finetune import PHRASES

            pw, pp, groups = _finetune_oof(table, fold, protocol, model=model,
                                           params=finetune_params, progress=progress)
            k = len(PHRASES)
            units = [("word", pw, y, groups),
                     ("phrase", pp, np.repeat(y, k, axis=0),
                      [(np.repeat(c, k), np.repeat(t, k)) for c, t in groups])]
        else:
            units = [("word", _oof_of(m, table, fold, folds=folds, seed=seed, model=model,
                                      cache_dir=cache_dir, device=device, progress=progress,
                                      memo=memo),
                      y, kfold)]
        seconds = time.perf_counter() - t0
        for unit, p, truth, grp in units:
            for rec in _score(p, truth, grp, coverage):
                rows.append({"method": m, "unit": unit, "protocol": protocol, **rec,
                             "nominal": coverage, "seconds": seconds})
    cols = ["method", "unit", "protocol", "axis", "r", "mae", "coverage", "nominal", "n",
            "seconds"]
    return pd.DataFrame(rows, columns=cols)


def _oof_of(
    method: str, table: pd.DataFrame, fold: np.ndarray, *, memo: dict, **options
) -> np.ndarray:
    """Out-of-fold word predictions ``(n, 2)`` of lexicon, embedding or hybrid.

    ``memo`` keeps the lexicon and embedding predictions for the hybrid.
    """
    y = table[["valence", "arousal"]].to_numpy(dtype=float)
    if method in ("lexicon", "hybrid") and "lexicon" not in memo:
        memo["lexicon"] = _lexicon_oof(table, fold)
    if method in ("embedding", "hybrid") and "embedding" not in memo:
        memo["embedding"] = _embedding_oof(table, **options)
    if method != "hybrid":
        return memo[method]
    lex, emb = memo["lexicon"], memo["embedding"]
    found = np.isfinite(lex).all(1)
    hyb = emb.copy()
    for f in np.unique(fold):
        te = found & (fold == f)
        cal = fold != f
        w = hybrid_weights(lex[cal], emb[cal], y[cal])
        hyb[te] = emb[te] + w * (lex[te] - emb[te])
    return hyb


def _embedding_oof(table: pd.DataFrame, *, folds: int, seed: int, model, cache_dir, device,
                   progress: bool) -> np.ndarray:
    from emoconvey.intents.embedding import (
        cache_folder,
        cross_validated_predictions,
        load_encoder,
    )

    encoder = load_encoder(model, device=device)
    x = encoder.embed_cached(
        table["word"].tolist(), cache=cache_folder(cache_dir), progress=progress
    )
    emb, _ = cross_validated_predictions(
        x, table[_targets(table)].to_numpy(float), folds=folds, seed=seed
    )
    return emb[:, :2]
