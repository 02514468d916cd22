"""Intents from any text: predicted valence/arousal targets with prediction intervals.

Three methods (see :mod:`emoconvey.intents.lexicon` and
:mod:`emoconvey.intents.embedding`):

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
    "hybrid_weights",
    "intents_from_text",
    "norms_fingerprint",
    "text_regressor",
    "write_text_intents",
]

log = logging.getLogger(__name__)

METHODS: tuple[str, ...] = ("lexicon", "embedding", "hybrid")

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
) -> pd.DataFrame:
    """Predicted valence/arousal targets, intervals and quadrants for free texts.

    Parameters
    ----------
    texts : str or iterable of str
        Prompts, captions or words (non-empty, distinct).
    norms : str or Path
        Norms file in the format of Warriner et al. (2013) (read, never copied).
    method : {"hybrid", "lexicon", "embedding"}
    model : str or Path, optional
        sentence-transformers model (default: the packaged all-MiniLM-L6-v2).
    coverage : float, default 0.9
        Nominal coverage of the prediction intervals.
    neighbours : int, default 5
        Nearest lexicon words to list (embedding and hybrid).
    cache_dir : str or Path, optional
        Cache folder (default ``$EMOCONVEY_CACHE_DIR`` or the user cache folder).

    Returns
    -------
    DataFrame
        Columns :data:`TEXT_INTENT_COLUMNS`, one row per text in input order. ``intent``
        is the text; ``norm_valence``/``norm_arousal`` the predicted targets (NaN when
        the lexicon method finds no word); ``quadrant`` None on a split line or NaN;
        ``source`` says which method gave the row (``lexicon_word``, ``lexicon``,
        ``embedding``, ``hybrid``); ``lexicon_words`` lists ``word=V/A`` of the words found;
        ``neighbours`` the nearest lexicon words ``word (V/A)`` in embedding space.
    """
    texts = _clean_texts(texts)
    method = check_choice(method, METHODS, name="method")
    coverage = check_coverage(coverage)
    neighbours = check_positive_int(neighbours, name="neighbours")
    table = load_norms(norms)
    z = float(stats.norm.ppf(0.5 + coverage / 2))
    lex = Lexicon(table)
    scores = lex.score_many(texts)
    n = len(texts)
    val = np.full(n, np.nan)
    aro = np.full(n, np.nan)
    lo_v, hi_v, lo_a, hi_a = (np.full(n, np.nan) for _ in range(4))
    source = np.full(n, "", dtype=object)
    neigh = np.full(n, "", dtype=object)
    index = {w: i for i, w in enumerate(table["word"].astype(str))}

    # single content word found in the norms: the norm is the target (lexicon, hybrid)
    single = [
        method != "embedding" and s.content_words == 1 and len(s.found) == 1 and not
        s.found[0].negated for s in scores
    ]
    # hybrid: a word found through another form of itself is blended with the model
    blend = [
        method == "hybrid" and single[i]
        and s.found[0].word.lower() != s.found[0].token.lower().replace("’", "'")
        for i, s in enumerate(scores)
    ]
    single = [a and not b for a, b in zip(single, blend, strict=True)]
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
                    oof = _lexicon_oof(table, _fold_ids(len(table), 10, 0))
                    res = np.abs(oof - table[["valence", "arousal"]].to_numpy(float))
                    ok = np.isfinite(res).all(1)
                    if ok.any():
                        q_lex = [
                            conformal_quantile(res[ok, k], coverage=coverage) for k in (0, 1)
                        ]
                    else:
                        warn_degenerate(
                            "no lexicon word is found through another form of itself, so the "
                            "lexicon method cannot be calibrated; its intervals span the scale"
                        )
                        q_lex = [np.inf, np.inf]
                val[i], aro[i] = s.valence, s.arousal
                lo_v[i], hi_v[i] = val[i] - q_lex[0], val[i] + q_lex[0]
                lo_a[i], hi_a[i] = aro[i] - q_lex[1], aro[i] + q_lex[1]
                source[i] = "lexicon"
    need = [i for i in range(n) if not source[i]] if method != "lexicon" else []
    if need:
        reg, encoder = text_regressor(
            norms, model=model, cache_dir=cache_dir, device=device, progress=progress
        )
        x = encoder.embed([texts[i] for i in need])
        pred, idx, _ = reg.predict(x)
        q = [conformal_quantile(reg.residuals[:, k], coverage=coverage) for k in (0, 1)]
        hres = np.asarray(reg.meta.get("hybrid_residuals", []), dtype=float).reshape(-1, 2)
        hw = np.asarray(reg.meta.get("hybrid_weights", [0.0, 0.0]), dtype=float)
        for r, i in enumerate(need):
            val[i], aro[i] = pred[r, 0], pred[r, 1]
            qi = q
            source[i] = "embedding"
            if blend[i] and len(hres):
                val[i] += hw[0] * (scores[i].valence - val[i])
                aro[i] += hw[1] * (scores[i].arousal - aro[i])
                qi = [conformal_quantile(hres[:, k], coverage=coverage) for k in (0, 1)]
                source[i] = "hybrid"
            lo_v[i], hi_v[i] = val[i] - qi[0], val[i] + qi[0]
            lo_a[i], hi_a[i] = aro[i] - qi[1], aro[i] + qi[1]
        for r, i in enumerate(need):
            neigh[i] = "; ".join(
                f"{reg.words[j]} ({reg.train_y[j, 0]:.2f}/{reg.train_y[j, 1]:.2f})"
                for j in idx[r, :neighbours]
            )
    lo_v, hi_v, lo_a, hi_a = (np.clip(a, 1.0, 9.0) for a in (lo_v, hi_v, lo_a, hi_a))
    quadrant = np.full(n, None, dtype=object)
    ok = np.isfinite(val) & np.isfinite(aro)
    if ok.any():
        quadrant[ok] = quadrant_of(val[ok], aro[ok])
    band = _band(lo_v, hi_v, lo_a, hi_a, quadrant)
    band[~ok] = None
    if (~ok).any():
        warnings.warn(
            "no lexicon word found in: "
            + ", ".join(repr(texts[i]) for i in np.flatnonzero(~ok))
            + "; use --method hybrid or embedding for such texts",
            EmoconveyWarning,
            stacklevel=2,
        )
    return pd.DataFrame(
        {
            "text": texts,
            "intent": texts,
            "quadrant": quadrant,
            "norm_valence": val,
            "norm_arousal": aro,
            "valence_low": lo_v,
            "valence_high": hi_v,
            "arousal_low": lo_a,
            "arousal_high": hi_a,
            "coverage": coverage,
            "quadrant_or_band": band,
            "source": source,
            "lexicon_words": [s.describe() for s in scores],
            "lexicon_coverage": [s.coverage for s in scores],
            "neighbours": neigh,
        },
        columns=list(TEXT_INTENT_COLUMNS),
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


def evaluate_text_methods(
    norms: str | Path,
    *,
    methods: Sequence[str] = METHODS,
    model: str | Path | None = None,
    folds: int = 10,
    seed: int = 0,
    coverage: float = 0.9,
    cache_dir: str | Path | None = None,
    device: str | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Cross-validated accuracy of the methods on the lexicon words.

    Each word is predicted from the other folds' norms (``folds``-fold, seeded). For
    ``lexicon`` a held-out word is found only through a lemma or a derived form present
    in the training folds, so only those words are scored (``n``). Interval coverage is
    cross-conformal: the half-width for fold *k* is the conformal quantile of the
    out-of-fold residuals of the other folds.

    Returns
    -------
    DataFrame
        One row per method and axis: ``method``, ``axis``, ``r`` (Pearson),
        ``mae``, ``coverage`` (empirical), ``nominal`` (requested), ``n`` (words
        scored), ``seconds`` (time of that method).
    """
    methods = [check_choice(m, METHODS, name="method") for m in methods]
    if not methods:
        raise EmoconveyError("methods: expected at least one method")
    coverage = check_coverage(coverage)
    table = load_norms(norms)
    folds = check_positive_int(folds, name="folds", minimum=2)
    if folds > len(table):
        raise EmoconveyError(f"folds: expected at most {len(table)} (the words), got {folds}")
    y = table[["valence", "arousal"]].to_numpy(dtype=float)
    fold = _fold_ids(len(table), folds, seed)
    preds: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    emb = None
    lex = None
    for m in methods:
        t0 = time.perf_counter()
        if m in ("embedding", "hybrid") and emb is None:
            from emoconvey.intents.embedding import (
                cache_folder,
                cross_validated_predictions,
                load_encoder,
            )

            encoder = load_encoder(model, device=device)
            x = encoder.embed_cached(
                table["word"].tolist(), cache=cache_folder(cache_dir), progress=progress
            )
            targets = _targets(table)
            emb, _ = cross_validated_predictions(
                x, table[targets].to_numpy(float), folds=folds, seed=seed
            )
            emb = emb[:, :2]
        if m in ("lexicon", "hybrid") and lex is None:
            lex = _lexicon_oof(table, fold)
        if m == "embedding":
            preds[m] = emb
        elif m == "lexicon":
            preds[m] = lex
        else:
            found = np.isfinite(lex).all(1)
            hyb = emb.copy()
            for f in range(folds):
                te = found & (fold == f)
                cal = fold != f
                w = hybrid_weights(lex[cal], emb[cal], y[cal])
                hyb[te] = emb[te] + w * (lex[te] - emb[te])
            preds[m] = hyb
        seconds[m] = time.perf_counter() - t0
    rows = []
    for m, p in preds.items():
        for k, axis in enumerate(("valence", "arousal")):
            ok = np.isfinite(p[:, k])
            res = np.abs(p[:, k] - y[:, k])
            inside = []
            for f in range(folds):
                cal = ok & (fold != f)
                te = ok & (fold == f)
                if not te.any() or not cal.any():
                    continue
                q = conformal_quantile(res[cal], coverage=coverage)
                inside.append(
                    interval_coverage(y[te, k], p[te, k] - q, p[te, k] + q) * te.sum()
                )
            n_ok = int(ok.sum())
            r = float(np.corrcoef(p[ok, k], y[ok, k])[0, 1]) if n_ok > 2 else float("nan")
            rows.append(
                {
                    "method": m,
                    "axis": axis,
                    "r": r,
                    "mae": float(res[ok].mean()) if n_ok else float("nan"),
                    "coverage": float(np.sum(inside) / n_ok) if n_ok else float("nan"),
                    "nominal": coverage,
                    "n": n_ok,
                    "seconds": seconds[m],
                }
            )
    return pd.DataFrame(rows)
