"""The temporal head: each loss, text cross-attention, ensemble, save/load and errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emoconvey.errors import EmoconveyError, NotFittedError
from emoconvey.predict.heads import EnsembleHead, head_from_arrays, make_head
from emoconvey.predict.sequences import Sequences

FAST = {"d_model": 16, "n_heads": 2, "n_layers": 1, "max_epochs": 40, "patience": 40,
        "dropout": 0.0, "lr": 3e-3}


def _order_task(n: int, seed: int = 0, text: bool = False) -> tuple[Sequences, np.ndarray]:
    """Frames with one 'event' whose position (not presence) sets the target (1-9).

    Every clip holds the same multiset of frames, so pooled mean/sd carry no signal.
    """
    rng = np.random.default_rng(seed)
    seqs, texts, ys = [], [], []
    for _ in range(n):
        length = int(rng.integers(8, 13))
        frames = rng.normal(0, 0.1, (length, 3)).astype(np.float32)
        pos = int(rng.integers(0, length))
        frames[pos, 0] += 3.0
        y = 1 + 8 * pos / (length - 1)
        if text:  # the text says whether to count from the start or from the end
            flip = bool(rng.integers(0, 2))
            tok = np.zeros((2, 2), np.float32)
            tok[:, int(flip)] = 1.0
            y = 10 - y if flip else y
            texts.append(tok)
        seqs.append(frames)
        ys.append(y)
    X = Sequences.from_list(seqs)
    if text:
        X = X.with_text(Sequences.from_list(texts))
    return X, np.column_stack([ys, np.full(n, 5.0) + rng.normal(0, 0.1, n)])


@pytest.mark.parametrize("loss", ["l1", "distribution", "coral"])
def test_temporal_learns_when_things_happen(loss: str, tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    X, Y = _order_task(128)
    Xt, Yt = _order_task(40, seed=1)
    head = make_head("temporal", seed=2, loss=loss, **FAST)
    assert head.sequence_input and head.get_params()["loss"] == loss
    with pytest.raises(NotFittedError, match="temporal: the head is not fitted"):
        head.predict(Xt)
    head.fit(X, Y)
    pred = head.predict(Xt)
    assert pred.shape == (40, 2)
    r = np.corrcoef(pred[:, 0], Yt[:, 0])[0, 1]
    assert r > 0.8, r  # the position of the event is learnt
    if loss != "l1":  # expectations stay on the training grid
        assert pred.min() >= 1.0 - 1e-9 and pred.max() <= 9.0 + 1e-9
    # the same seed gives the same weights
    again = make_head("temporal", seed=2, loss=loss, **FAST).fit(X, Y)
    np.testing.assert_array_equal(again.predict(Xt), pred)
    # safetensors + JSON round trip (float64, as Predictor.save writes)
    save_file({k: np.ascontiguousarray(np.asarray(v, np.float64))
               for k, v in head.arrays().items()}, str(tmp_path / "t.safetensors"))
    loaded = head_from_arrays("temporal", load_file(str(tmp_path / "t.safetensors")),
                              head.config())
    np.testing.assert_allclose(loaded.predict(Xt), pred, rtol=1e-5, atol=1e-5)


def test_text_cross_attention_and_ensemble() -> None:
    X, Y = _order_task(200, text=True)
    Xt, Yt = _order_task(40, seed=1, text=True)
    ens = make_head("temporal", seed=0, ensemble=3, **FAST).fit(X, Y)
    assert isinstance(ens, EnsembleHead) and ens.sequence_input
    mean, sd = ens.predict_spread(Xt)
    members = np.stack([m.predict(Xt) for m in ens.members_])
    np.testing.assert_allclose(mean, members.mean(0))
    np.testing.assert_allclose(sd, members.std(0, ddof=1))
    assert (sd > 0).all()
    # the text decides the direction: only a model that reads it gets this right
    assert np.corrcoef(mean[:, 0], Yt[:, 0])[0, 1] > 0.7
    with pytest.raises(EmoconveyError, match="reads text tokens"):
        ens.members_[0].predict(Sequences(Xt.data, Xt.lengths))
    back = head_from_arrays("temporal", ens.arrays(), ens.config())
    np.testing.assert_allclose(back.predict_spread(Xt)[1], sd, rtol=1e-5, atol=1e-6)


def test_temporal_errors() -> None:
    X, Y = _order_task(10)
    with pytest.raises(EmoconveyError, match="--loss: expected one of l1, distribution, coral"):
        make_head("temporal", loss="mse")
    with pytest.raises(EmoconveyError, match="frame sequences"):
        make_head("temporal").fit(np.zeros((10, 3)), Y)
    with pytest.raises(EmoconveyError, match="at least 4 training clips"):
        make_head("temporal").fit(X[np.arange(3)], Y[:3])
    with pytest.raises(EmoconveyError, match="not divisible"):
        make_head("temporal", d_model=10, n_heads=4)


def test_pipeline_text_target_through_cross_attention(tmp_path: Path) -> None:
    """train_predictor/run_predictor with a frame extractor and a RoBERTa text encoder."""
    import pandas as pd
    from tiny_frames import build_tiny_roberta

    from emoconvey.predict.datasets import from_table
    from emoconvey.predict.extractors import get_extractor
    from emoconvey.predict.model import load_predictor
    from emoconvey.predict.pipeline import run_predictor, train_predictor
    from emoconvey.predict.synthetic import write_temporal_set

    folder = tmp_path / "set"
    table = write_temporal_set(folder, n_systems=4, clips_per_system=4, seed=3, duration=1.0,
                               segments=2)
    table["text"] = np.where(np.arange(len(table)) % 2, "calm piano", "sad")
    table["TA"] = np.where(np.arange(len(table)) % 2, 4.0, 2.0) + 0.1 * np.arange(len(table))
    table.to_csv(folder / "ratings.csv", index=False)
    data = from_table(folder / "ratings.csv")
    roberta = build_tiny_roberta(tmp_path / "roberta")
    ext = get_extractor("mel-frames", n_mels=4, hop_s=0.5, text_model=str(roberta))
    result = train_predictor(
        data, extractor=ext, head="temporal", folds=2, n_boot=0, cache_dir=tmp_path / "c",
        out=tmp_path / "model", head_params={**FAST, "max_epochs": 2},
    )
    groups = {g.name: g for g in result.model.groups}
    assert groups["audio_text"].targets == ("TA",) and groups["audio_text"].uses_text
    assert groups["audio_text"].head.dims_["d_text"] == 12  # the tiny RoBERTa's width
    assert groups["audio"].head.dims_["d_text"] == 0
    model = load_predictor(tmp_path / "model")
    assert model.sequence_input and model.extractor["options"]["text_model"] == str(roberta)
    manifest = folder / "manifest.csv"
    pd.DataFrame({"audio_file": table["audio_file"], "system": table["system"],
                  "text": table["text"]}).to_csv(manifest, index=False)
    pred = run_predictor(model, manifest, cache_dir=tmp_path / "c")
    assert list(pred.columns)[4:6] == ["buildup", "TA"] and len(pred) == 16
    assert {"raw_buildup", "raw_TA", "ood", "ood_score"} <= set(pred.columns)
    np.testing.assert_allclose(
        pred["TA"], result.model.predict(*_features(ext, folder, table))["TA"], rtol=1e-5)


def _features(ext, folder: Path, table) -> tuple[Sequences, Sequences]:
    from emoconvey.predict.pipeline import featurise

    X, T, _ = featurise(ext, [str(folder / f) for f in table["audio_file"]],
                        table["text"].tolist(), use_cache=False, frames=True)
    return X, T
