"""A trained predictor: extractor reference + heads, saved as safetensors and a JSON card.

A model folder holds

* ``card.json``: format and emoconvey version, the extractor (id, version, options,
  cache key), the targets with their rating scales, the heads (kind, hyper-parameters,
  targets, whether they read the text embedding), the training data (source, clips,
  systems, SHA-256 of clip ids, systems and scores), split, seed and the held-out
  metrics;
* ``head_<group>.safetensors``: every fitted array of a head (for ``ridge`` the scaler
  mean/scale, coefficients, intercepts and chosen alphas);
* ``metrics.json``: the held-out metrics records (see :mod:`emoconvey.predict.metrics`);
* ``ood.safetensors``: the out-of-distribution detector's arrays (standardised training
  features and their cross-fitted k-NN distances; :mod:`emoconvey.predict.ood`), its
  settings in ``card.json["ood"]``. Models saved without it load, and their predictions
  carry no OOD flags.

Loading reads JSON and safetensors only: nothing in the folder is unpickled or executed.

Text-conditioned targets (by default ``TA``, MusicEval's textual alignment) get their own
head on the audio and text embeddings joined, as in MusicEval, when the extractor has a
text tower; every other target shares one head on the audio features. Sequence heads
(``temporal``) take frame sequences (:class:`~emoconvey.predict.sequences.Sequences`)
instead of a matrix, with the text tokens attached for text-conditioned targets. An
ensemble head (``--ensemble K``) adds a ``<target>_sd`` column: the spread of its members.
"""


from __future__ import annotations

import datetime as _dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from emoconvey import __version__
from emoconvey.errors import EmoconveyError
from emoconvey.predict.baseline import BASELINE_KIND, train_baseline_heads
from emoconvey.predict.datasets import RatedClips
from emoconvey.predict.heads import Head, head_from_arrays, make_head
from emoconvey.predict.metrics import metrics_table, records_to_json, score_predictions
from emoconvey.predict.ood import OODDetector
from emoconvey.predict.sequences import Sequences, join_features
from emoconvey.predict.splits import make_folds

__all__ = [
    "CARD_FORMAT",
    "DEFAULT_TEXT_TARGETS",
    "MIN_SYSTEMS_FOR_SYSTEM_METRICS",
    "HeadGroup",
    "Predictor",
    "cross_validate",
    "describe_model",
    "fit_predictor",
    "load_predictor",
]

log = logging.getLogger(__name__)


def _as_input(X: np.ndarray | Sequences) -> np.ndarray | Sequences:
    return X if isinstance(X, Sequences) else np.asarray(X, dtype=np.float64)

CARD_FORMAT = "emoconvey-predictor"
CARD_VERSION = 1
DEFAULT_TEXT_TARGETS: tuple[str, ...] = ("TA",)
"""Targets predicted from audio and text embeddings joined, when a text tower exists."""


@dataclass
class HeadGroup:
    """One head and the targets it predicts."""

    name: str
    targets: tuple[str, ...]
    uses_text: bool
    head: Head


@dataclass
class Predictor:
    """A trained rating predictor (see the module docstring)."""

    extractor: dict[str, object]
    head_kind: str
    groups: list[HeadGroup]
    targets: tuple[str, ...]
    scales: dict[str, tuple[float, float]]
    info: dict[str, object] = field(default_factory=dict)
    metrics: list[dict[str, object]] = field(default_factory=list)
    ood: OODDetector | None = None

    @property
    def needs_text(self) -> bool:
        """Whether a head reads text embeddings (the clips' prompts are needed)."""
        return any(g.uses_text for g in self.groups)

    @property
    def sequence_input(self) -> bool:
        """Whether the heads read frame sequences (a frame-level extractor's frames)."""
        return any(g.head.sequence_input for g in self.groups)

    def output_scales(self) -> dict[str, tuple[float, float]]:
        """Each target's clipping range: its rating scale, or unbounded for the targets of
        heads with ``clip_output = False`` (``musiceval-baseline``, unclipped as released)."""
        out: dict[str, tuple[float, float]] = {}
        for g in self.groups:
            clip = getattr(g.head, "clip_output", True)
            for t in g.targets:
                out[t] = self.scales.get(t, (-np.inf, np.inf)) if clip else (-np.inf, np.inf)
        return out

    def predict(self, X: np.ndarray | Sequences, T: np.ndarray | Sequences | None = None
                ) -> pd.DataFrame:
        """Predicted scores, one column per target, clipped to :meth:`output_scales`.

        An ensemble's heads add ``<target>_sd``, the members' standard deviation.
        """
        out = self.predict_raw(X, T)
        for t, (lo, hi) in self.output_scales().items():
            out[t] = np.clip(out[t].to_numpy(float), lo, hi)
        return out

    def predict_raw(self, X: np.ndarray | Sequences, T: np.ndarray | Sequences | None = None
                    ) -> pd.DataFrame:
        """The heads' outputs before clipping (and ``<target>_sd`` for ensembles)."""
        X = _as_input(X)
        out = pd.DataFrame(index=range(len(X)))
        for g in self.groups:
            if g.uses_text and T is None:
                raise EmoconveyError(
                    f"target(s) {', '.join(g.targets)} need the clips' prompt texts"
                )
            pred, spread = g.head.predict_spread(join_features(X, T) if g.uses_text else X)
            for j, t in enumerate(g.targets):
                out[t] = pred[:, j]
                if spread is not None:
                    out[f"{t}_sd"] = spread[:, j]
        return out[[c for t in self.targets for c in (t, f"{t}_sd") if c in out]]

    def card(self) -> dict[str, object]:
        """The JSON card (see the module docstring)."""
        return {
            "format": CARD_FORMAT,
            "format_version": CARD_VERSION,
            "emoconvey_version": __version__,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "extractor": self.extractor,
            "head": self.head_kind,
            "targets": list(self.targets),
            "scales": {t: list(v) for t, v in self.scales.items()},
            "groups": [
                {"name": g.name, "targets": list(g.targets), "uses_text": g.uses_text,
                 "file": f"head_{g.name}.safetensors", "config": g.head.config()}
                for g in self.groups
            ],
            "training": self.info,
            "metrics": json.loads(records_to_json(self.metrics)),
            "ood": None if self.ood is None else self.ood.config(),
        }

    def save(self, folder: str | Path) -> Path:
        """Write ``card.json``, ``head_<group>.safetensors`` and ``metrics.json``."""
        from safetensors.numpy import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for g in self.groups:
            arrays = {k: np.ascontiguousarray(np.asarray(v, dtype=np.float64))
                      for k, v in g.head.arrays().items()}
            save_file(arrays, str(folder / f"head_{g.name}.safetensors"),
                      metadata={"format": CARD_FORMAT, "head": g.head.kind})
        if self.ood is not None:
            save_file({k: np.ascontiguousarray(v, dtype=np.float64)
                       for k, v in self.ood.arrays().items()},
                      str(folder / "ood.safetensors"), metadata={"format": CARD_FORMAT})
        (folder / "card.json").write_text(json.dumps(self.card(), indent=2, allow_nan=False))
        (folder / "metrics.json").write_text(records_to_json(self.metrics) + "\n")
        return folder


def load_predictor(folder: str | Path) -> Predictor:
    """Read a model folder written by :meth:`Predictor.save` (JSON and safetensors only)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    folder = Path(folder)
    card_path = folder / "card.json"
    if not card_path.is_file():
        raise EmoconveyError(f"--model: {str(folder)!r} has no card.json (not a model folder)")
    try:
        card = json.loads(card_path.read_text())
    except json.JSONDecodeError as exc:
        raise EmoconveyError(
            f"{card_path}: not valid JSON ({exc.msg}, line {exc.lineno})"
        ) from None
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise EmoconveyError(f"{card_path}: expected \"format\": \"{CARD_FORMAT}\"")
    if int(card.get("format_version", 0)) > CARD_VERSION:
        raise EmoconveyError(
            f"{card_path}: model format {card.get('format_version')} is newer than this "
            f"emoconvey reads ({CARD_VERSION}); upgrade emoconvey"
        )
    missing = [k for k in ("extractor", "head", "targets", "scales", "groups") if k not in card]
    if missing:
        raise EmoconveyError(f"{card_path}: missing key(s) {', '.join(missing)}")
    groups = []
    for g in card["groups"]:
        name = str(g["name"])
        if not name.replace("_", "").isalnum():
            raise EmoconveyError(f"{card_path}: bad head name {name!r}")
        path = folder / f"head_{name}.safetensors"
        if not path.is_file():
            raise EmoconveyError(f"{path}: missing head weights")
        try:
            arrays = load_file(str(path))
        except (SafetensorError, OSError) as exc:
            raise EmoconveyError(f"{path}: not a readable safetensors file ({exc})") from None
        head = head_from_arrays(str(card["head"]), arrays, dict(g.get("config", {})))
        groups.append(HeadGroup(name, tuple(g["targets"]), bool(g["uses_text"]), head))
    return Predictor(
        extractor=dict(card["extractor"]),
        head_kind=str(card["head"]),
        groups=groups,
        targets=tuple(card["targets"]),
        scales={t: (float(v[0]), float(v[1])) for t, v in card["scales"].items()},
        info=dict(card.get("training", {})),
        metrics=list(card.get("metrics", [])),
        ood=_load_ood(folder, card.get("ood")),
    )


def _load_ood(folder: Path, config: object) -> OODDetector | None:
    """The saved OOD detector, or None for a model saved without one."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    if not isinstance(config, dict):
        log.warning("%s has no OOD calibration (saved by an older emoconvey): predictions "
                    "carry no OOD flags; retrain the model to get them", folder)
        return None
    path = folder / "ood.safetensors"
    try:
        arrays = load_file(str(path))
    except (SafetensorError, OSError) as exc:
        raise EmoconveyError(f"{path}: not a readable safetensors file ({exc})") from None
    return OODDetector.from_arrays(arrays, config)


# ----------------------------------------------------------------------------- fitting


def _groups_for(
    targets: Sequence[str], text_targets: Sequence[str], have_text: bool
) -> list[tuple[str, tuple[str, ...], bool]]:
    text = tuple(t for t in targets if have_text and t in text_targets)
    audio = tuple(t for t in targets if t not in text)
    out = []
    if audio:
        out.append(("audio", audio, False))
    if text:
        out.append(("audio_text", text, True))
    return out


def _fit_groups(
    data_Y: pd.DataFrame, X: np.ndarray | Sequences, T: np.ndarray | Sequences | None, *,
    head: str, seed: int, text_targets: Sequence[str], head_params: dict[str, object] | None,
    dev: np.ndarray | None = None,
) -> list[HeadGroup]:
    spec = _groups_for(list(data_Y.columns), text_targets, T is not None)
    if head == BASELINE_KIND:  # all groups trained together, early stopping on ``dev``
        heads = train_baseline_heads(
            [np.hstack([X, T]) if uses_text else X for _, _, uses_text in spec],  # type: ignore[list-item]
            [data_Y[list(targets)].to_numpy(float) for _, targets, _ in spec],
            dev=dev, seed=seed,
        )
        return [HeadGroup(n, t, u, h) for (n, t, u), h in zip(spec, heads, strict=True)]  # type: ignore[arg-type]
    groups = []
    for name, targets, uses_text in spec:
        feats = join_features(X, T) if uses_text else X
        h = make_head(head, seed=seed, **(head_params or {}))
        h.fit(feats, data_Y[list(targets)].to_numpy(float))
        groups.append(HeadGroup(name, targets, uses_text, h))
    return groups


def _official_dev(data: RatedClips, rows: np.ndarray) -> np.ndarray:
    """Which of ``rows`` are in the official ``dev`` list (early stopping of the baseline)."""
    return data.clips["split"].iloc[rows].astype(str).eq("dev").to_numpy()


def _check_features(data: RatedClips, X: np.ndarray | Sequences,
                    T: np.ndarray | Sequences | None) -> None:
    if isinstance(X, Sequences):
        if len(X) != len(data.clips) or (T is not None and len(T) != len(data.clips)):
            raise EmoconveyError(
                f"frame features: expected {len(data.clips)} clips, got {len(X)}"
            )
        if not X.is_finite().all():
            bad = int(np.flatnonzero(~X.is_finite())[0])
            raise EmoconveyError(
                f"frames of {data.clips['audio_file'].iloc[bad]} are not finite (silent or "
                "corrupt audio?)"
            )
        return
    if X.ndim != 2 or X.shape[0] != len(data.clips):
        raise EmoconveyError(
            f"features: expected {len(data.clips)} rows (one per clip), got shape {X.shape}"
        )
    if T is not None and (T.ndim != 2 or T.shape[0] != len(data.clips)):
        raise EmoconveyError(f"text features: expected {len(data.clips)} rows, got {T.shape}")
    if not np.isfinite(X).all():
        bad = int(np.flatnonzero(~np.isfinite(X).all(axis=1))[0])
        raise EmoconveyError(
            f"features of {data.clips['audio_file'].iloc[bad]} are not finite (silent or "
            "corrupt audio?)"
        )


def fit_predictor(
    data: RatedClips,
    X: np.ndarray | Sequences,
    T: np.ndarray | Sequences | None = None,
    *,
    extractor: dict[str, object],
    head: str = "ridge",
    text_targets: Sequence[str] = DEFAULT_TEXT_TARGETS,
    seed: int = 0,
    rows: np.ndarray | None = None,
    info: dict[str, object] | None = None,
    head_params: dict[str, object] | None = None,
) -> Predictor:
    """Fit the heads on features ``X`` (and text embeddings ``T``) of ``data``'s clips.

    ``rows`` restricts training to those row positions (default: all); ``head_params``
    go to :func:`~emoconvey.predict.heads.make_head` (e.g. ``loss``, ``ensemble``).
    """
    X = _as_input(X)
    _check_features(data, X, T)
    idx = np.arange(len(X)) if rows is None else np.asarray(rows)
    Y = data.clips[list(data.targets)].iloc[idx].reset_index(drop=True)
    groups = _fit_groups(Y, X[idx], None if T is None else T[idx], head=head, seed=seed,
                         text_targets=text_targets, head_params=head_params,
                         dev=_official_dev(data, idx))
    base_info = {
        "source": data.source,
        "n_clips": len(idx),
        "n_systems": int(data.clips["system"].iloc[idx].nunique()),
        "data_hash": data.data_hash(),
        "seed": seed,
    }
    base_info.update(info or {})
    return Predictor(extractor=extractor, head_kind=head, groups=groups,
                     targets=tuple(data.targets), scales=dict(data.scales), info=base_info)


def _system_truth(data: RatedClips, mode: str) -> dict[str, dict[str, float]] | None:
    """Per target, the released system score of each system (None: clip means)."""
    if mode not in ("auto", "file", "clip-mean"):
        raise EmoconveyError(f"--system-truth: expected file or clip-mean, got {mode!r}")
    table = data.system_mos
    if mode == "clip-mean" or (mode == "auto" and table is None):
        return None
    if table is None:
        raise EmoconveyError(
            "--system-truth file: the data has no system scores (a MusicEval release "
            "with system_mos/system_mos_phase1.csv)"
        )
    return {t: dict(zip(table["system"].astype(str), table[t].astype(float), strict=True))
            for t in data.targets if t in table}


def cross_validate(
    data: RatedClips,
    X: np.ndarray | Sequences,
    T: np.ndarray | Sequences | None = None,
    *,
    split: str = "by-system",
    head: str = "ridge",
    text_targets: Sequence[str] = DEFAULT_TEXT_TARGETS,
    seed: int = 0,
    folds: int | None = None,
    shuffle_labels: bool = False,
    n_boot: int = 1000,
    system_truth: str = "auto",
    head_params: dict[str, object] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Held-out metrics of ``head`` on ``split``.

    ``system_truth`` picks the system-level truth: ``file`` (the released system scores
    :attr:`RatedClips.system_mos`, as the official MusicEval scorer), ``clip-mean`` (the
    mean of each system's held-out clips) or ``auto`` (``file`` when the data has
    them). Each record names the one used (``system_truth``).

    Every fold trains on its training clips and predicts its test clips; the metrics
    (:func:`~emoconvey.predict.metrics.score_predictions`) are computed once over all the
    held-out predictions (pooled over folds), per target, at utterance and system level.
    With ``shuffle_labels`` the targets are permuted across all clips (seeded) before
    the split and the predictions compared with the true targets: a control whose
    agreement should be near zero. (Permuting within each training fold would not do:
    a held-out group's mean is then anti-correlated with the training mean, which biases
    grouped cross-validation towards negative agreement.)

    Returns
    -------
    metrics : DataFrame
        Records (``split`` is the split name, with ``+shuffled`` for the control).
    heldout : DataFrame
        ``clip_id``, ``system``, ``fold`` and ``<target>`` / ``<target>_pred`` columns.
    """
    X = _as_input(X)
    _check_features(data, X, T)
    sys_truth = _system_truth(data, system_truth)
    fold_list = make_folds(data.clips, split, seed=seed, k=folds)
    targets = list(data.targets)
    Y = data.clips[targets].reset_index(drop=True)
    Y_fit = Y
    if shuffle_labels:
        perm = np.random.default_rng(seed + 1).permutation(len(Y))
        Y_fit = Y.iloc[perm].reset_index(drop=True)
    parts = []
    for fold in fold_list:
        if len(fold.train) < 3 or len(fold.test) == 0:
            raise EmoconveyError(
                f"split {fold.name}: {len(fold.train)} training and {len(fold.test)} test "
                "clips; expected at least 3 and 1"
            )
        y_train = Y_fit.iloc[fold.train].reset_index(drop=True)
        groups = _fit_groups(y_train, X[fold.train], None if T is None else T[fold.train],
                             head=head, seed=seed, text_targets=text_targets,
                             head_params=head_params, dev=_official_dev(data, fold.train))
        model = Predictor({}, head, groups, tuple(targets), dict(data.scales))
        pred = model.predict(X[fold.test], None if T is None else T[fold.test])
        part = data.clips.iloc[fold.test][["clip_id", "system", *targets]].reset_index(drop=True)
        part.insert(2, "fold", fold.name)
        for t in targets:
            part[f"{t}_pred"] = pred[t].to_numpy()
        parts.append(part)
    heldout = pd.concat(parts, ignore_index=True)
    name = split + ("+shuffled" if shuffle_labels else "")
    records = []
    for t in targets:
        records += score_predictions(
            heldout[t].to_numpy(float), heldout[f"{t}_pred"].to_numpy(float),
            heldout["system"].to_numpy(), target=t, split=name, n_boot=n_boot, seed=seed,
            system_truth=None if sys_truth is None else sys_truth[t],
        )
    return metrics_table(records), heldout


MIN_SYSTEMS_FOR_SYSTEM_METRICS = 5
"""System-level metrics over fewer systems than this are reported with a warning."""


def describe_model(folder: str | Path) -> dict[str, object]:
    """What a predicted report says about the model in ``folder`` (JSON only, no weights).

    Returns
    -------
    dict
        ``folder``, ``extractor`` (id), ``extractor_version``, ``head``, ``targets``,
        ``training`` (``source``, ``n_clips``, ``n_systems``, ``split``, ``folds``,
        ``trained_on``), ``metrics`` (the held-out records of ``metrics.json``, with
        their bootstrap CIs), ``ood`` (the OOD settings, or None) and ``warnings``
        (e.g. system-level metrics over fewer than
        :data:`MIN_SYSTEMS_FOR_SYSTEM_METRICS` systems).

    Raises
    ------
    EmoconveyError
        The folder has no readable ``card.json``.
    """
    folder = Path(folder)
    path = folder / "card.json"
    try:
        card = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise EmoconveyError(f"model {str(folder)!r}: cannot read card.json ({exc})") from None
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise EmoconveyError(f"{path}: expected \"format\": \"{CARD_FORMAT}\"")
    metrics = card.get("metrics", [])
    if (folder / "metrics.json").is_file():
        metrics = json.loads((folder / "metrics.json").read_text())
    training = dict(card.get("training", {}))
    ext = dict(card.get("extractor", {}))
    warnings = [
        f"{m['target']}: system-level metrics over {m['n']} systems (fewer than "
        f"{MIN_SYSTEMS_FOR_SYSTEM_METRICS}) mean little"
        for m in metrics
        if m.get("level") == "system" and int(m.get("n", 0)) < MIN_SYSTEMS_FOR_SYSTEM_METRICS
    ]
    return {
        "folder": str(folder.resolve()),
        "extractor": str(ext.get("id", "")),
        "extractor_version": str(ext.get("version", "")),
        "head": str(card.get("head", "")),
        "targets": list(card.get("targets", [])),
        "training": {k: training.get(k) for k in
                     ("source", "n_clips", "n_systems", "split", "folds", "trained_on")},
        "metrics": metrics,
        "ood": card.get("ood"),
        "warnings": warnings,
    }
